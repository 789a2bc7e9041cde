"""``signal`` actions: an event fired at other open instances chosen by playbook and matching
variables, in the same transaction, audited on both sides; a refusal by a target is
recorded, not fatal; more targets than the limit refuses the whole change; ``audit verify``
still proves the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from frontdesk_testing import CliResult, Frontdesk

EMPLOYMENT = """\
playbook: employment
version: 1
title: Employment
roles: [staff]
inputs:
  employee: {type: string, required: true}
initial: employed
states:
  employed:
    on:
      separated:
        to: gone
        do:
          - signal:
              playbook: refresher
              event: separated
              match: {employee: "{{ employee }}"}
              with: {reason: "left on {{ today }}"}
              limit: 2
  gone:
    final: true
    outcome: separated
"""

REFRESHER = """\
playbook: refresher
version: 1
title: Refresher
roles: [staff]
inputs:
  employee: {type: string, required: true}
initial: waiting
states:
  waiting:
    on:
      paused: {to: paused}
      separated:
        to: ended
        fields:
          reason: {type: string, required: true}
  paused:
    on:
      resume: {to: waiting}
  ended:
    final: true
    outcome: ended
"""


def _setup(fd: Frontdesk) -> None:
    (fd.playbooks / "employment.yaml").write_text(EMPLOYMENT, "utf-8")
    (fd.playbooks / "refresher.yaml").write_text(REFRESHER, "utf-8")
    fd.ok("db", "migrate")


def _history(fd: Frontdesk, instance: str) -> list[dict[str, object]]:
    history: list[dict[str, object]] = fd.json("show", instance)["history"]
    return history


def test_a_signal_moves_the_matching_instance_and_both_sides_are_audited(
        frontdesk: Frontdesk) -> None:
    """Ana's separation ends Ana's refresher (with the event's field), not Ben's; one paused
    refresher of Ana's refuses the event, which is recorded on both sides and not fatal."""
    fd = frontdesk
    _setup(fd)
    ana = fd.ok("start", "refresher", "--set", "employee=ana").strip()
    paused = fd.ok("start", "refresher", "--set", "employee=ana").strip()
    fd.ok("fire", paused, "paused")
    ben = fd.ok("start", "refresher", "--set", "employee=ben").strip()
    job = fd.ok("start", "employment", "--set", "employee=ana").strip()
    after = fd.json("fire", job, "separated")
    assert after["status"] == "closed"
    ended = fd.json("show", ana)
    assert (ended["status"], ended["vars"]["reason"]) == ("closed", "left on 2026-01-05")
    assert fd.json("show", ben)["state"] == "waiting"
    assert fd.json("show", paused)["state"] == "paused"
    (record,) = [r for r in _history(fd, job) if r["action"] == "signal"]
    assert record["data"]["delivered"] == [ana]
    assert [r["instance"] for r in record["data"]["refused"]] == [paused]  # type: ignore[index]
    received = [r for r in _history(fd, ana) if r["action"] == "signalled"]
    assert received[0]["data"] == {"from": job, "from_playbook": "employment", "applied": True}
    refused = [r for r in _history(fd, paused) if r["action"] == "signalled"]
    assert refused[0]["data"]["applied"] is False  # type: ignore[index]
    assert "not allowed in state 'paused'" in str(refused[0]["data"])
    fd.ok("audit", "verify")


def test_more_targets_than_the_limit_refuses_the_change_with_nothing_written(
        frontdesk: Frontdesk) -> None:
    """Three matching refreshers and a limit of two: exit 5, the audit head unchanged."""
    fd = frontdesk
    _setup(fd)
    for _ in range(3):
        fd.ok("start", "refresher", "--set", "employee=ana")
    job = fd.ok("start", "employment", "--set", "employee=ana").strip()
    head = fd.ok("audit", "head")
    result = fd.run("fire", job, "separated")
    assert result.returncode == 5, result.stderr
    assert "matches 3 open instances, more than its limit 2" in result.stderr
    assert fd.ok("audit", "head") == head
    states = json.loads(fd.ok("list", "--playbook", "refresher", "--json"))
    assert {i["state"] for i in states} == {"waiting"}


SCENARIO = """\
playbook: employment
start: {at: 2026-01-05T09:00, with: {employee: ana}}
others:
  - {playbook: refresher, with: {employee: ana}}
  - {playbook: refresher, with: {employee: ben}}
steps:
  - fire: separated
  - expect: {status: closed, others: {refresher: [STATES]}}
"""


def test_scenarios_start_others_for_signals_to_reach(tmp_path: Path,
                                                     run_cli: Callable[..., CliResult]) -> None:
    """A scenario's ``others`` are started first; ``expect.others`` checks their states."""
    (tmp_path / "employment.yaml").write_text(EMPLOYMENT, "utf-8")
    (tmp_path / "refresher.yaml").write_text(REFRESHER, "utf-8")
    (tmp_path / "good.yaml").write_text(SCENARIO.replace("STATES", "ended, waiting"), "utf-8")
    (tmp_path / "bad.yaml").write_text(SCENARIO.replace("STATES", "waiting, waiting"), "utf-8")
    result = run_cli("test", "good.yaml", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 5  # a failing scenario is a refusal (docs/reference.md)
    assert "PASS good.yaml#1" in result.stdout
    assert "expected others {'refresher': ['waiting', 'waiting']}" in result.stdout
    assert "1 passed, 1 failed" in result.stdout
