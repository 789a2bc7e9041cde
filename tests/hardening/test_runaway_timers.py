"""Run-away timers and recurrences through the CLI (``frontdesk.cli.main`` in process, a real
SQLite store): a zero-length timer leading back to its own state is fired once by ``tick`` and
spent with ``applied: false``; a second ``tick`` does nothing and ``audit verify`` replays it; a
one-minute recurring task done ten years late is completed at once; a recurrence of zero is
refused (exit 5) with nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from frontdesk_testing import hang_guard, run_main
from hardening_support import clean_stderr_problems, store_dump

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

PLAYBOOK = """\
playbook: runaway
version: 1
title: Run-away timers and recurrences
roles: [clerk]
inputs:
  delay: {type: integer, default: 5}
  period: {type: integer, default: 1}
initial: a
states:
  a:
    tasks:
      - {id: check, title: Check, role: clerk, every: "{{ period }} minutes"}
    on:
      go: {to: b}
  b:
    timers:
      - {after: "{{ delay }} minutes", event: again}
    on:
      again:
        to: b
        set: {rounds: "{{ (rounds | default(0)) + 1 }}"}
      stop: {to: c}
  c: {final: true}
"""




@pytest.fixture
def fd(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    home = make_frontdesk(tmp_path)
    (home.playbooks / "runaway.yaml").write_text(PLAYBOOK, "utf-8")
    return home


def cli(fd: Frontdesk, *args: str, now: str = "2026-01-05T09:00") -> tuple[int, str, str]:
    result = run_main(["--playbooks", str(fd.playbooks), "--now", now, *args], fd.env())
    code, out, err = result.returncode, result.stdout, result.stderr
    assert not clean_stderr_problems(err, code), err
    return code, out, err


def ok(fd: Frontdesk, *args: str, now: str = "2026-01-05T09:00") -> str:
    code, out, err = cli(fd, *args, now=now)
    assert code == 0, (args, err)
    return out


def test_zero_length_timer_back_into_its_state_fires_once_per_instance(fd: Frontdesk) -> None:
    """``tick`` ends: the timer is spent, not applied, and the reason names the state and the
    timer; the next tick at the same clock does nothing; the log still replays."""
    instance = ok(fd, "start", "runaway", "--set", "delay=0").strip()
    ok(fd, "fire", instance, "go")
    with hang_guard():
        ticked = json.loads(ok(fd, "tick", "--json"))
    assert ticked["fired"] == [] and ticked["not_applied"] == [
        {"instance": instance, "event": "again"}]
    assert json.loads(ok(fd, "tick", "--json")) == {"fired": [], "not_applied": []}
    shown = json.loads(ok(fd, "show", instance, "--json"))
    assert shown["state"] == "b" and "rounds" not in shown["vars"]
    assert [t["status"] for t in shown["timers"]] == ["fired"]
    [record] = [r for r in shown["history"] if r["action"] == "timer_fired"]
    assert record["data"]["applied"] is False
    assert record["data"]["reason"].startswith("state 'b': timer 'again' would be armed again")
    ok(fd, "audit", "verify")


def test_one_minute_recurrence_done_ten_years_late(fd: Frontdesk) -> None:
    """The next occurrence is the first minute of the series after the completion."""
    started = json.loads(ok(fd, "start", "runaway", "--json"))
    [task] = [t["id"] for t in started["tasks"] if t["status"] == "open"]
    with hang_guard():
        after = json.loads(ok(fd, "done", task, "--json", now="2036-01-08T10:00:30"))
    assert [(t["status"], t["due"]) for t in after["tasks"]] == [
        ("done", "2026-01-05T09:01:00-05:00"), ("open", "2036-01-08T10:01:00-05:00")]
    ok(fd, "audit", "verify", now="2036-01-08T10:01")


def test_zero_recurrence_is_refused_and_nothing_is_written(fd: Frontdesk) -> None:
    """``every`` of zero minutes: ``start`` exits 5 naming the instance, the state and the
    task; the audit head and the store are as they were."""
    ok(fd, "start", "runaway")
    head = ok(fd, "audit", "head")
    before = store_dump(fd.db)
    code, _, err = cli(fd, "start", "runaway", "--set", "period=0")
    assert code == 5, err
    assert "state 'a': task 'check': every '0 minutes' never moves on" in err
    assert err.startswith("frontdesk: error: instance '"), err
    assert ok(fd, "audit", "head") == head
    assert store_dump(fd.db) == before
