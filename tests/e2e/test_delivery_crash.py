"""``frontdesk send`` killed (SIGKILL) at random points while it delivers to a real SMTP
server, on both stores: every message is delivered at least once, every copy of a message
carries its one Message-ID, and none is lost."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from delivery_testing import SmtpServer
from frontdesk_testing import REPO, Frontdesk, frontdesk_argv

MESSAGES = 24


@pytest.mark.slow
def test_sigkill_during_send_loses_nothing(tmp_path: Path, store_kind: str,
                                           request: pytest.FixtureRequest) -> None:
    server = SmtpServer("none").start()
    server.handler.delay = 0.04  # a slow relay: a run lasts long enough to be cut
    try:
        home = tmp_path / "home"
        home.mkdir()
        (home / "practice.yaml").write_text(server.practice())
        playbooks = tmp_path / "playbooks"
        shutil.copytree(REPO / "tests" / "playbooks" / "delivery", playbooks)
        db_url = request.getfixturevalue("postgres").database() \
            if store_kind == "postgresql" else None
        fd = Frontdesk(home, playbooks, tuple(frontdesk_argv()), db_url=db_url)
        for n in range(MESSAGES):
            fd.ok("start", "notify", "--set", f"client=C{n}")
        rng = random.Random(16)
        kills = 0
        for _ in range(12):
            process = subprocess.Popen(fd.command(["send"]), env=fd.env(),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 0.9))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=60)
        final = fd.run_process("send", "--json")
        assert final.returncode == 0, final.stderr
        assert kills > 0
        received = server.received
        outbox = fd.json("outbox")
        assert [m["status"] for m in outbox] == ["sent"] * MESSAGES
        copies: dict[int, set[str]] = {}
        for message in received:
            copies.setdefault(message.outbox_id, set()).add(message.message_id)
        assert sorted(copies) == [m["id"] for m in outbox]  # every message, at least once
        assert all(copies[m["id"]] == {m["message_id"]} for m in outbox)  # one id each
    finally:
        server.stop()
