"""The ``send`` figure: ``frontdesk send`` delivering 1,000 pending messages to a local SMTP
server (aiosmtpd on loopback, in this process), in messages per second, against a bare
``smtplib`` loop sending the same messages over one connection. Skipped without aiosmtpd
(the ``dev`` extra)."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from .common import Result, alternate, clean_env, frontdesk_argv, run
from .fixtures import BASE_TEXT, base_time

MESSAGES = 1_000


class _Counter:
    """An aiosmtpd handler that accepts and counts every message."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _practice(port: int) -> str:
    return ("practice: Bench Practice\ntimezone: America/New_York\n"
            "people:\n  maria: {roles: [office], email: maria@bench.example}\n"
            "delivery:\n  from: frontdesk@bench.example\n"
            f"  smtp: {{host: 127.0.0.1, port: {port}, security: none}}\n")


def _pending_store(home: Path, count: int) -> None:
    """A home whose store holds ``count`` pending messages (untimed setup)."""
    from frontdesk.runtime.instance import Message
    from frontdesk.service import Engine
    from frontdesk.settings import Options

    with Engine(Options(home=str(home), now=BASE_TEXT,
                        env={"FRONTDESK_HOME": str(home)})) as engine:
        engine.store.enqueue([
            Message(None, base_time(), "maria", f"Call client {n}", f"Reminder {n}\n" * 5,
                    to_kind="person", facts={"playbook": "bench", "instance": f"b{n:05d}"})
            for n in range(count)])


BARE_LOOP = """\
import smtplib, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
messages = [(f"From: frontdesk@bench.example\\r\\nTo: maria@bench.example\\r\\n"
             f"Subject: Call client {n}\\r\\nMessage-ID: <bare{n}@bench.example>\\r\\n"
             f"\\r\\n" + f"Reminder {n}\\r\\n" * 5).encode() for n in range(count)]
with smtplib.SMTP("127.0.0.1", port) as conn:
    for message in messages:
        conn.sendmail("frontdesk@bench.example", ["maria@bench.example"], message)
"""
"""The floor: a bare smtplib loop in its own process (as ``frontdesk send`` is), sending
prebuilt messages of the same size over one connection."""


def send_figure(ctx: Any) -> Result:
    """``frontdesk send`` messages per second against a bare smtplib loop: at least 0.5.
    Both run as processes of their own, the server in this one."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return Result("send", skipped="aiosmtpd is not installed (pip install -e '.[dev]')")
    count = 50 if ctx.settings.quick else MESSAGES
    port = _free_port()
    counter = _Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        built, home = ctx.scratch / "send-built", ctx.scratch / "send-home"
        built.mkdir()
        (built / "practice.yaml").write_text(_practice(port))
        _pending_store(built, count)
        env = clean_env(FRONTDESK_HOME=str(home), FRONTDESK_NOW=BASE_TEXT)

        def prepare() -> None:
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(built, home)

        def bare_loop() -> None:
            run([sys.executable, "-c", BARE_LOOP, str(port), str(count)], env)

        def frontdesk_send() -> None:
            run([*frontdesk_argv(), "send"], env)

        before = counter.count
        floor, figure = alternate([bare_loop, frontdesk_send], ctx.settings.repeat, prepare)
        delivered = counter.count - before
    finally:
        controller.stop()
    expected = 2 * count * ctx.settings.repeat
    return Result("send", count / figure, count / floor, unit="msg/s", target=0.5,
                  higher_is_better=True,
                  note=f"{count:,} messages, a commit each (synchronous=NORMAL while sending); "
                       "floor: bare smtplib loop process, one connection"
                       + ("" if delivered == expected else f"; {delivered}/{expected} arrived"))
