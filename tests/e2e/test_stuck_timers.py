"""A due timer that cannot fire because of the playbook (an expression that fails on the
instance's values) is an error, not a quiet "not applicable" (docs/reference.md, "Timers and
tick"): ``tick`` names the instance and the timer without variable values and exits 5, fires
and commits every other due timer, keeps the faulty one armed (recorded once, ``timer_failed``),
and the instance is flagged in ``list``, ``show`` and ``today --everyone`` until it is fixed or
cancelled. A guard that merely does not hold stays "not applicable". On both stores."""

from __future__ import annotations

import pytest
from frontdesk_testing import Frontdesk

STUCK = """\
playbook: rt-stuck
version: 1
title: Timers that cannot fire
subject: "Case {{ client }}"
roles: [front_desk]
inputs:
  client: {type: string, required: true}
  code: {type: string, default: abc}
  visits: {type: integer, default: 1}
initial: new
states:
  new:
    timers:
      - {after: 1 day, event: remind}
      - {after: 1 day, event: nudge}
      - {after: 1 day, event: recheck}
    on:
      remind: {to: waiting, when: "code.startswith('x') or code > 3"}
      recheck: {to: waiting, when: "visits > 5"}
      nudge: {set: {nudged: true}}
  waiting:
    on:
      finish: {to: done}
  done: {final: true, outcome: ok}
"""
SECRET = "Ann Secretname"


@pytest.fixture
def fd(frontdesk: Frontdesk) -> Frontdesk:
    (frontdesk.playbooks / "rt-stuck.yaml").write_text(STUCK)
    return frontdesk


def _records(fd: Frontdesk) -> int:
    return int(fd.query("SELECT count(*) FROM audit_log")[0][0])


def test_a_timer_the_playbook_cannot_fire_is_an_error_and_flags_its_instance(
        fd: Frontdesk) -> None:
    stuck = fd.ok("start", "rt-stuck", "--set", f"client={SECRET}").strip()
    fine = fd.ok("start", "rt-stuck", "--set", "client=Bo", "--set", "code=xyz").strip()
    tick = fd.run("tick", now="2026-01-06T10:00")
    assert tick.returncode == 5, tick.stderr
    assert f"{fine}: remind" in tick.stdout and f"{stuck}: nudge" in tick.stdout
    assert (f"{stuck}: error: timer 'remind' ({stuck}-timer-1) cannot fire: guard 'when': "
            "TypeError") in tick.stderr
    assert "1 not applicable, 1 cannot fire" in tick.stderr  # recheck: its guard is false
    assert SECRET not in tick.stdout + tick.stderr
    assert fd.json("show", fine)["state"] == "waiting"  # committed despite the error
    assert fd.query("SELECT status, error FROM timers WHERE id = ?", (f"{stuck}-timer-1",)) == [
        ("armed", "guard 'when': TypeError: invalid value")]

    records = _records(fd)
    again = fd.run("tick", "--json", now="2026-01-06T11:00")
    assert again.returncode == 5
    assert '"failed"' in again.stdout and f"{stuck}-timer-1" in again.stdout
    assert _records(fd) == records  # the same error is recorded once

    listed = fd.run("list")
    assert f"{stuck}  rt-stuck  new      open (stuck)" in listed.stdout, listed.stdout
    assert f"stuck, a timer cannot fire: {stuck}" in listed.stderr
    shown = fd.ok("show", stuck)
    assert "STUCK: timer 'remind' (due 2026-01-06) cannot fire: guard 'when'" in shown
    assert fd.json("show", stuck)["problems"] == [{
        "timer": f"{stuck}-timer-1", "event": "remind", "due": "2026-01-06",
        "reason": "guard 'when': TypeError: invalid value"}]
    assert fd.json("show", fine)["problems"] == []
    today = fd.ok("today", "--everyone")
    assert today.startswith("NEEDS ATTENTION (1)") and stuck in today, today
    assert "timer 'remind' cannot fire" in today
    assert fd.ok("audit", "verify").startswith("audit log ok")

    fd.ok("cancel", stuck, "--reason", "playbook to be fixed", now="2026-01-06T12:00")
    assert fd.run("tick", now="2026-01-06T12:30").returncode == 0
    assert "(stuck)" not in fd.ok("list") and "NEEDS" not in fd.ok("today", "--everyone")
    assert fd.ok("audit", "verify").startswith("audit log ok")


def test_a_scenario_fails_at_a_timer_its_playbook_cannot_fire(fd: Frontdesk) -> None:
    """``frontdesk test``: an ``advance`` whose tick meets such a timer fails that step."""
    scenario = fd.home.parent / "stuck.scenario.yaml"
    scenario.write_text("playbook: rt-stuck\nstart: {at: 2026-01-05T09:00, with: {client: Ann}}\n"
                        "steps:\n  - advance: 2 days\n  - expect: {state: waiting}\n")
    result = fd.run("test", str(scenario))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "step 1 (advance): timer 'remind' cannot fire: guard 'when'" in (
        result.stdout + result.stderr)
