"""Daily corrections (docs/reference.md, "Corrections and assignment"): ``cancel`` and
``correct`` by administrators, ``assign``, a playbook's ``unique`` inputs and a task's
``assign`` template; each refusal leaves the audit head unchanged, and ``audit verify``
replays every new audit action."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from frontdesk_testing import Frontdesk

PEOPLE = """\
practice: Test Practice
timezone: America/New_York
people:
  maria: {name: Maria, roles: [front_desk]}
  sam: {name: Sam, roles: [front_desk]}
  drlee: {name: Dr. Lee, roles: [clinician, owner]}
  drkim: {name: Dr. Kim, roles: [clinician]}
"""

VISIT = """\
playbook: rt-visit
version: 1
title: A visit
subject: "Visit {{ client }}"
roles: [front_desk, clinician]
inputs:
  client: {type: string, required: true}
  chart: {type: integer, required: true}
  clinician: {type: string, default: ""}
unique: [chart]
initial: open
states:
  open:
    tasks:
      - id: call
        title: "Call {{ client }}"
        role: front_desk
        due: 1 day
      - id: see
        title: "See {{ client }}"
        role: clinician
        assign: "{{ clinician }}"
        due: 1 day
    timers:
      - {after: 3 days, event: remind}
    on:
      remind: {}
      confirm:
        to: confirmed
        fields:
          visit_on: {type: date, required: true}
  confirmed:
    on:
      seen: {to: done}
  done:
    final: true
    outcome: seen
"""


@pytest.fixture
def fd(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    """A practice with people and an owner, and the ``rt-visit`` playbook."""
    made = make_frontdesk(tmp_path, PEOPLE)
    (made.playbooks / "visit.yaml").write_text(VISIT, encoding="utf-8")
    return made


def _start(fd: Frontdesk, *sets: str) -> dict[str, Any]:
    args = [item for pair in (("--set", s) for s in sets) for item in pair]
    started: dict[str, Any] = fd.json("start", "rt-visit", *args, "--as", "maria")
    return started


def _task(instance: dict[str, Any], task: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in instance["tasks"] if t["task"] == task)
    return found


def _refused(fd: Frontdesk, code: int, text: str, *args: str) -> None:
    """``args`` fails with ``code`` naming ``text`` and writes no audit record."""
    head = fd.ok("audit", "head")
    result = fd.run(*args)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert text in result.stderr, result.stderr
    assert fd.ok("audit", "head") == head


def _history(fd: Frontdesk, instance: str, action: str) -> list[dict[str, Any]]:
    shown = fd.json("show", instance)
    return [r for r in shown["history"] if r["action"] == action]


def test_cancel_closes_an_open_instance_for_administrators(fd: Frontdesk) -> None:
    """Cancelled where it stands: status closed, outcome cancelled, its open tasks cancelled,
    its timers disarmed; the reason in the audit record; audit verify replays it."""
    inst = _start(fd, "client=Ann", "chart=7")["id"]
    _refused(fd, 5, "administrators (drlee)", "cancel", inst, "--reason", "dup", "--as",
             "maria")
    _refused(fd, 4, "unknown instance", "cancel", "nope", "--reason", "x", "--as", "drlee")
    _refused(fd, 2, "--reason", "cancel", inst, "--as", "drlee")
    after = fd.json("cancel", inst, "--reason", "entered twice", "--as", "drlee")
    assert (after["status"], after["outcome"], after["state"]) == ("closed", "cancelled", "open")
    assert {t["status"] for t in after["tasks"]} == {"cancelled"}
    shown = fd.json("show", inst)
    assert {t["status"] for t in shown["timers"]} == {"cancelled"}
    [record] = _history(fd, inst, "cancelled")
    assert record["data"] == {"reason": "entered twice"} and record["actor"] == "drlee"
    assert len(_history(fd, inst, "task_cancelled")) == 2
    _refused(fd, 5, "closed", "cancel", inst, "--reason", "again", "--as", "drlee")
    _refused(fd, 5, "closed", "fire", inst, "confirm", "--set", "visit_on=2026-03-01",
             "--as", "drlee")
    assert "--now" not in fd.ok("tick")  # the disarmed timer never fires
    assert fd.run("audit", "verify").returncode == 0


def test_correct_sets_typed_variables_without_moving(fd: Frontdesk) -> None:
    """Values are converted by their declared type; the subject is rendered again; the state
    and tasks stay; unknown names and ill-typed values are refused."""
    inst = _start(fd, "client=Ann", "chart=7")["id"]
    _refused(fd, 5, "administrators", "correct", inst, "--set", "client=Anne", "--reason",
             "typo", "--as", "maria")
    _refused(fd, 5, "no variable 'clinet'", "correct", inst, "--set", "clinet=Anne",
             "--reason", "typo", "--as", "drlee")
    _refused(fd, 5, "variable 'chart'", "correct", inst, "--set", "chart=seven", "--reason",
             "typo", "--as", "drlee")
    after = fd.json("correct", inst, "--set", "client=Anne", "--set", "chart=8",
                    "--set", "visit_on=2026-03-02", "--reason", "typo", "--as", "drlee")
    assert after["vars"]["client"] == "Anne" and after["vars"]["chart"] == 8
    assert after["vars"]["visit_on"] == "2026-03-02"  # typed by the event field: a date
    assert (after["state"], after["status"], after["subject"]) == ("open", "open", "Visit Anne")
    [record] = _history(fd, inst, "corrected")
    assert record["data"] == {"vars": {"client": "Anne", "chart": 8,
                                       "visit_on": "2026-03-02"}, "reason": "typo"}
    assert fd.run("audit", "verify").returncode == 0


def test_correct_takes_values_from_an_input_file(fd: Frontdesk, tmp_path: Path) -> None:
    inst = _start(fd, "client=Ann", "chart=7")["id"]
    values = tmp_path / "fix.yaml"
    values.write_text("client: Annabel\nchart: '9'\n", encoding="utf-8")
    after = fd.json("correct", inst, "--input", str(values), "--reason", "from the chart",
                    "--as", "drlee")
    assert (after["vars"]["client"], after["vars"]["chart"]) == ("Annabel", 9)
    fd.ok("cancel", inst, "--reason", "done with it", "--as", "drlee")
    _refused(fd, 5, "closed", "correct", inst, "--set", "chart=1", "--reason", "late",
             "--as", "drlee")


def test_unique_inputs_refuse_a_duplicate_open_instance(fd: Frontdesk) -> None:
    """Same converted values as an open instance: refused naming it; --allow-duplicate
    insists; a closed instance does not count."""
    first = _start(fd, "client=Ann", "chart=7")["id"]
    _refused(fd, 5, f"open instance '{first}'", "start", "rt-visit", "--set", "client=Bo",
             "--set", "chart=007", "--as", "maria")
    second = fd.ok("start", "rt-visit", "--set", "client=Bo", "--set", "chart=7",
                   "--allow-duplicate", "--as", "maria").strip()
    assert second != first
    fd.ok("start", "rt-visit", "--set", "client=Cy", "--set", "chart=8", "--as", "maria")
    for inst in (first, second):
        fd.ok("cancel", inst, "--reason", "duplicate", "--as", "drlee")
    fd.ok("start", "rt-visit", "--set", "client=Ann", "--set", "chart=7", "--as", "maria")


def test_unique_names_a_declared_input(fd: Frontdesk) -> None:
    """``unique`` naming something that is not an input is a located validation error."""
    bad = fd.playbooks / "visit.yaml"
    bad.write_text(VISIT.replace("unique: [chart]", "unique: [chrat]"), encoding="utf-8")
    result = fd.run("validate", str(bad))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "visit.yaml:10:10: error[unknown-input]" in result.stdout
    assert "did you mean 'chart'?" in result.stdout


def test_assign_gives_a_task_to_a_role_holder(fd: Frontdesk) -> None:
    """Any known person may assign; the assignee must hold the role; only the assignee may
    do it then; --clear gives it back to the role."""
    inst = _start(fd, "client=Ann", "chart=7")
    call = _task(inst, "call")["id"]
    _refused(fd, 5, "does not hold the task's role 'front_desk'", "assign", call, "drlee",
             "--as", "maria")
    _refused(fd, 5, "not a person of the practice", "assign", call, "nobody", "--as", "maria")
    _refused(fd, 4, "unknown task", "assign", "nope-1", "sam", "--as", "maria")
    _refused(fd, 5, "unknown person", "assign", call, "sam", "--as", "stranger")
    _refused(fd, 2, "PERSON or --clear", "assign", call, "--as", "maria")
    after = fd.json("assign", call, "sam", "--as", "drkim")
    assert _task(after, "call")["assignee"] == "sam"
    [record] = _history(fd, inst["id"], "assigned")
    assert record["data"] == {"task": "call", "id": call, "assignee": "sam"}
    _refused(fd, 5, "assigned to sam", "done", call, "--as", "maria")
    fd.ok("assign", call, "--clear", "--as", "sam")
    assert _history(fd, inst["id"], "assigned")[-1]["data"]["assignee"] is None
    fd.ok("done", call, "--as", "maria")
    _refused(fd, 5, "is done", "assign", call, "sam", "--as", "maria")
    assert fd.run("audit", "verify").returncode == 0


def test_a_task_assign_template_assigns_at_creation(fd: Frontdesk) -> None:
    """``assign: "{{ clinician }}"``: a role holder is assigned; an empty value or a person
    without the role leaves it unassigned, the reason noted in the task_created record."""
    given = _start(fd, "client=Ann", "chart=1", "clinician=drkim")
    assert _task(given, "see")["assignee"] == "drkim"
    empty = _start(fd, "client=Bo", "chart=2")
    assert _task(empty, "see")["assignee"] is None
    wrong = _start(fd, "client=Cy", "chart=3", "clinician=maria")
    assert _task(wrong, "see")["assignee"] is None
    created = [r for r in _history(fd, wrong["id"], "task_created")
               if r["data"]["task"] == "see"]
    assert created[0]["data"]["not_assigned"] == \
        "'maria' does not hold the task's role 'clinician'"
    assert fd.run("audit", "verify").returncode == 0


def test_today_as_a_person_hides_tasks_assigned_to_others(fd: Frontdesk) -> None:
    """``today --as P``: P's assigned tasks and the unassigned ones of P's roles; ``--role``
    and ``--everyone`` show every task with its assignee."""
    kim = _task(_start(fd, "client=Ann", "chart=1", "clinician=drkim"), "see")["id"]
    pool = _task(_start(fd, "client=Bo", "chart=2"), "see")["id"]

    def ids(*args: str) -> dict[str, Any]:
        rows = json.loads(fd.ok("today", "--days", "3", "--format", "json", *args))
        return {row["id"]: row["assignee"] for row in rows if row["task"] == "see"}

    assert ids("--as", "drkim") == {kim: "drkim", pool: None}
    assert ids("--as", "drlee") == {pool: None}
    assert ids("--role", "clinician") == {kim: "drkim", pool: None}
    assert ids("--everyone") == {kim: "drkim", pool: None}
    calls = json.loads(fd.ok("today", "--days", "3", "--format", "json", "--as", "maria"))
    assert {row["task"] for row in calls} == {"call"}
