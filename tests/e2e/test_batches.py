"""Batched commands and the holiday cache, on each store: ``fire --all`` and ``tick`` over more
instances than one batch holds, and business-day arithmetic that does not import the
``holidays`` package once the store has cached the year."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from frontdesk.service import BATCH, Engine
from frontdesk.settings import Options

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

COUNT = BATCH * 2 + 7  # three batches, the last one partial


def engine_for(fd: Frontdesk) -> Engine:
    return Engine(Options(home=str(fd.home), db=fd.store_url, now=fd.now,
                          playbooks=(str(fd.playbooks),), env={}))


def test_fire_all_and_tick_across_batches(frontdesk: Frontdesk) -> None:
    """Every instance of several batches is handled once; refusals do not stop the others."""
    fd = frontdesk
    engine = engine_for(fd)
    try:
        ids = [engine.start("rt-intake", {"client": f"C{n}", "visits": 9 if n % 3 == 0 else 1},
                            fd.user).id for n in range(COUNT)]
    finally:
        engine.close()
    high = {i for n, i in enumerate(ids) if n % 3 == 0}  # cancel's guard is false for these

    ticked = json.loads(fd.ok("tick", "--json", now="2026-01-08T09:00"))
    assert sorted(f["instance"] for f in ticked["fired"]) == sorted(ids)
    assert {f["event"] for f in ticked["fired"]} == {"remind"}
    assert json.loads(fd.ok("tick", "--json", now="2026-01-08T09:00"))["fired"] == []

    result = fd.json("fire", "--all", "rt-intake", "cancel")
    assert sorted(result["fired"]) == sorted(set(ids) - high)
    assert sorted(result["not_allowed"]) == sorted(high)
    states = dict(fd.query("SELECT id, state FROM instances"))
    assert {i for i, s in states.items() if s == "cancelled"} == set(ids) - high
    [(messages,)] = fd.query("SELECT count(*) FROM outbox")
    assert messages == COUNT
    assert "audit log ok" in fd.ok("audit", "verify")


def test_business_days_use_the_cached_holidays(frontdesk: Frontdesk) -> None:
    """The first command that counts business days caches the year's holidays in the store;
    the next ones do not import the holidays package."""
    fd = frontdesk
    script = ("import sys\nfrom frontdesk.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
              "print(code, 'holidays' in sys.modules, file=sys.stderr)\n")

    def start() -> tuple[str, str]:
        result = subprocess.run(
            [sys.executable, "-c", script, "--playbooks", str(fd.playbooks), "start",
             "rt-intake", "--set", "client=Ann"], env=fd.env(), capture_output=True,
            text=True, timeout=120, check=True)
        *_, last = result.stderr.splitlines()
        return result.stdout.strip(), last

    first, imported = start()
    assert imported == "0 True"
    assert fd.query("SELECT year FROM holiday_cache") == [(2026,)]
    second, imported = start()
    assert imported == "0 False"
    due = [json.loads(fd.ok("show", i, "--json"))["tasks"][0]["due"] for i in (first, second)]
    assert due == ["2026-01-07", "2026-01-07"]
