"""Soak: a busy practice's year. Instances of the four shipped playbooks start every simulated
day of a year on SQLite; each day ``tick`` runs and every task due that day is done.
Afterwards the store is consistent with its audit log, ``audit verify`` passes, and the peak
memory of one ``frontdesk today`` stayed flat as the store grew.

Sizes: ``$FRONTDESK_SOAK_INSTANCES`` (default 1,000: about four a working day, sized for the
suite's ten minutes on two cores; 10,000 is the long run) and ``$FRONTDESK_SOAK_DAYS`` (365).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from frontdesk.errors import RefusedError
from frontdesk.model import FieldSpec
from frontdesk.service import Engine
from frontdesk.settings import Options
from frontdesk_testing import Figures, frontdesk_argv

INSTANCES = int(os.environ.get("FRONTDESK_SOAK_INSTANCES", "1000"))
DAYS = int(os.environ.get("FRONTDESK_SOAK_DAYS", "365"))
FIRST = dt.date(2026, 1, 5)
PLAYBOOKS = ("intake", "claim-denial", "hipaa-annual-refresh", "onboarding-90-day")
RSS_AT = sorted({min(30, DAYS - 1), DAYS // 2, DAYS - 1})
# Peak RSS from VmHWM, the high-water mark of this process's own memory map: ru_maxrss would
# also count the parent's memory at the fork (vfork) before exec, i.e. the soak's own growth.
RSS_SCRIPT = ("import sys\nfrom frontdesk.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
              "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
              "print(code, hwm[0], file=sys.stderr)\n")


def inputs(playbook: str, n: int, day: dt.date) -> dict[str, Any]:
    if playbook == "intake":
        return {"client_name": f"Client {n}", "referral_source": "web"}
    if playbook == "claim-denial":
        medicare = n % 2 == 0
        return {"claim_id": f"C{n}", "payer_type": "medicare" if medicare else "commercial",
                "group": "CO", "carc": "50" if medicare else "16", "amount": 100 + n % 900,
                "denied_on": day, "service_date": day - dt.timedelta(days=20)}
    if playbook == "hipaa-annual-refresh":
        return {"employee": f"Staff {n}", "last_trained_on": day - dt.timedelta(days=300)}
    return {"employee": f"Hire {n}", "start_date": day, "hired_on": day}


def sample(spec: FieldSpec, today: dt.date) -> Any:
    """A plausible value for a required task field."""
    if spec.enum:
        return spec.enum[0]
    return {"boolean": True, "date": today, "datetime": f"{today}T10:00",
            "integer": max(1, int(spec.minimum or 0)), "number": max(1.0, spec.minimum or 0),
            }.get(spec.type, "ok")


def today_rss(home: Path, day: dt.date) -> tuple[int, int]:
    """Exit code and peak RSS (KiB) of one ``frontdesk today --everyone`` process at the end
    of the simulated ``day``."""
    result = subprocess.run([sys.executable, "-c", RSS_SCRIPT, "--home", str(home),
                             "--now", f"{day}T17:00", "today", "--everyone", "--format", "json"],
                            capture_output=True, text=True, timeout=300, check=False)
    code, rss = result.stderr.splitlines()[-1].split()
    return int(code), int(rss)


@pytest.mark.slow
def test_a_year_of_a_busy_practice(tmp_path: Path, figures: Figures) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text("practice: Soak\ntimezone: America/New_York\n", "utf-8")
    engine = Engine(Options(home=str(home), now=f"{FIRST}T09:00", env={}))
    counts: Counter[str] = Counter()
    rss: list[tuple[int, int, int]] = []  # (day, open instances, KiB)
    began = time.perf_counter()
    try:
        started = 0
        for day_index in range(DAYS):
            day = FIRST + dt.timedelta(days=day_index)
            engine.workspace.use_clock(_clock(engine, day))
            due_starts = (day_index + 1) * INSTANCES // DAYS
            while started < due_starts:
                playbook = PLAYBOOKS[started % len(PLAYBOOKS)]
                engine.start(playbook, inputs(playbook, started, day), "soak")
                started += 1
            counts["fired"] += len(engine.tick().fired)
            for task, _owner in engine.store.open_tasks(until=day):
                playbook = engine.playbook_of(engine.get_instance(task.instance))
                spec = playbook.task(task.task)
                fields = {f.name: sample(f, day) for f in (spec.fields if spec else ())
                          if f.required}
                try:
                    engine.done(task.id, fields, "soak")
                    counts["done"] += 1
                except RefusedError:
                    counts["refused"] += 1
            if day_index in RSS_AT:
                code, kib = today_rss(home, day)
                assert code == 0
                rss.append((day_index, len(engine.store.list_instances(status="open")), kib))
    finally:
        engine.close()
    elapsed = time.perf_counter() - began

    verify = subprocess.run([*frontdesk_argv(), "--home", str(home), "audit", "verify"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert verify.returncode == 0, verify.stderr
    check_consistency(home)
    first, last = rss[0][2], rss[-1][2]
    assert last <= first * 1.25 + 8192, rss  # flat: not growing with the store
    figures.add("soak", f"{INSTANCES} instances over {DAYS} days on SQLite in {elapsed:.0f} s: "
                        f"{counts['done']} tasks done, {counts['fired']} timers fired, "
                        f"{counts['refused']} refused; {verify.stdout.strip()}")
    for day_index, open_count, kib in rss:
        figures.add("soak", f"day {day_index + 1}: {open_count} open instances, "
                            f"frontdesk today peak RSS {kib / 1024:.1f} MiB")


def _clock(engine: Engine, day: dt.date) -> Any:
    from frontdesk.runtime.clock import FixedClock

    return FixedClock(dt.datetime.combine(day, dt.time(9, 0), engine.workspace.tz))


def check_consistency(home: Path) -> None:
    """Every instance's state is where its audit records left it; every task was created
    once and every timer fired at most once."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(home / "frontdesk.db")) as conn:
        states = dict(conn.execute("SELECT id, state FROM instances"))
        last: dict[str, str] = {}
        created: Counter[str] = Counter()
        fired: Counter[str] = Counter()
        for instance, action, to, data in conn.execute(
                'SELECT instance, action, "to", data FROM audit_log ORDER BY seq'):
            if action in ("start", "transition") and to:
                last[instance] = to
            elif action == "task_created":
                created[json.loads(data)["id"]] += 1
            elif action == "timer_fired":
                fired[json.loads(data)["timer"]] += 1
        tasks = {task_id for (task_id,) in conn.execute("SELECT id FROM tasks")}
    assert last == states
    assert set(created) == tasks and max(created.values()) == 1
    assert not fired or max(fired.values()) == 1
