"""Tests of the pure runtime (engine.runtime.step): one test per construct, fixed clock, no I/O."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk.errors import RefusedError
from frontdesk.loading.loader import content_hash, load_playbook_text
from frontdesk.model import Offset, Person, Practice, Tailoring, TaskOverride
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.compiled import CompiledPlaybook, compile_playbook
from frontdesk.runtime.instance import Instance, TaskOccurrence

NY = ZoneInfo("America/New_York")
MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)  # Monday 2026-01-05 09:00 New York
US = BusinessCalendar(package_holidays("US"))


# -- helpers -----------------------------------------------------------------------------------
def compile_text(text: str) -> CompiledPlaybook:
    """Load, validate and compile a playbook given as YAML text."""
    loaded = load_playbook_text(text, "test.yaml")
    assert not loaded.errors, "\n".join(i.format() for i in loaded.errors)
    return compile_playbook(loaded.require(), content_hash(text), text)


def ctx(now: dt.datetime = MONDAY, *, actor: str = "ann", practice: Practice | None = None,
        calendar: BusinessCalendar | None = None) -> step.RunContext:
    """A run context with a fixed clock, New York time and US federal holidays."""
    counter = itertools.count(1)
    return step.RunContext(now=now, tz=NY, calendar=calendar or US,
                           practice=practice or Practice(), actor=actor,
                           new_id=lambda: f"inst{next(counter)}")


def at(day: int, hour: int = 9, minute: int = 0, month: int = 1, year: int = 2026) -> dt.datetime:
    """A New York moment (default January 2026, 09:00)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


def started(cp: CompiledPlaybook, inputs: Mapping[str, Any] | None = None,
            **kw: Any) -> Instance:
    """A freshly started instance."""
    return step.start(cp, inputs or {}, ctx(**kw)).instance


def fired(cp: CompiledPlaybook, inst: Instance, event: str,
          fields: Mapping[str, Any] | None = None, **kw: Any) -> Instance:
    """The instance after firing ``event``."""
    return step.fire(cp, inst, event, fields or {}, ctx(**kw)).instance


def completed(cp: CompiledPlaybook, inst: Instance, task: str,
              fields: Mapping[str, Any] | None = None, **kw: Any) -> Instance:
    """The instance after completing the open occurrence of playbook task ``task``."""
    return step.complete(cp, inst, open_task(inst, task).id, fields or {}, ctx(**kw)).instance


def open_task(inst: Instance, task: str) -> TaskOccurrence:
    """The single open occurrence of playbook task ``task``."""
    found = [t for t in inst.open_tasks() if t.task == task]
    assert len(found) == 1, f"open occurrences of {task}: {found}"
    return found[0]


def refuse_fire(cp: CompiledPlaybook, inst: Instance, event: str,
                fields: Mapping[str, Any] | None = None, match: str | None = None,
                **kw: Any) -> RefusedError:
    """Assert that firing is refused and leaves the given instance untouched."""
    before = copy.deepcopy(inst)
    with pytest.raises(RefusedError, match=match) as info:
        step.fire(cp, inst, event, fields or {}, ctx(**kw))
    assert inst == before
    return info.value


def refuse_done(cp: CompiledPlaybook, inst: Instance, task_id: str,
                fields: Mapping[str, Any] | None = None, match: str | None = None,
                **kw: Any) -> RefusedError:
    """Assert that completing is refused and leaves the given instance untouched."""
    before = copy.deepcopy(inst)
    with pytest.raises(RefusedError, match=match) as info:
        step.complete(cp, inst, task_id, fields or {}, ctx(**kw))
    assert inst == before
    return info.value


# -- choice states -----------------------------------------------------------------------------
CHOICE = """
playbook: u-choice
version: 1
title: Choice chain
roles: [clerk]
inputs:
  amount: {type: number, required: true}
  urgent: {type: boolean, default: false}
initial: triage
states:
  triage:
    choose:
      - when: amount < 10
        to: small
      - to: route
  route:
    choose:
      - when: urgent
        to: fast
      - to: slow
  fast:
    tasks:
      - {id: rush, title: Rush it, role: clerk, due: 1 day}
    on:
      finish: {to: small}
  slow:
    on:
      recheck: {to: triage, set: {amount: 1}}
  small: {final: true, outcome: small}
"""


def test_choice_states_and_chains() -> None:
    """Entering a choice state takes the first rule that holds at once; chains are followed."""
    cp = compile_text(CHOICE)
    outcome = step.start(cp, {"amount": "5"}, ctx())
    assert (outcome.instance.state, outcome.instance.status) == ("small", "closed")
    assert outcome.instance.outcome == "small"

    outcome = step.start(cp, {"amount": "50", "urgent": "true"}, ctx())
    inst = outcome.instance
    assert inst.state == "fast" and inst.status == "open"
    assert [t.task for t in inst.open_tasks()] == ["rush"]
    moves = [(r.from_state, r.to_state, r.data) for r in outcome.change.audit
             if r.action == "transition"]
    assert moves == [("triage", "route", {"choice": True}), ("route", "fast", {"choice": True})]

    slow = started(cp, {"amount": 50})
    assert slow.state == "slow"
    # a transition into a choice state follows the chain too, with the variables just set
    after = fired(cp, slow, "recheck")
    assert (after.state, after.status, after.vars["amount"]) == ("small", "closed", 1)


def chain_of_choices(length: int) -> str:
    """A playbook whose initial state starts a chain of ``length`` choice states."""
    states = "".join(f"  c{i}:\n    choose:\n      - to: c{i + 1}\n" for i in range(length))
    return (f"playbook: u-chain\nversion: 1\ntitle: Chain\nroles: [clerk]\ninitial: c0\n"
            f"states:\n{states}  c{length}: {{final: true}}\n")


def test_long_choice_chains() -> None:
    """A chain of choice states is followed however long (no recursion per choice state), up to
    ``MAX_CHOICE_CHAIN`` rules in a row; a longer one is refused."""
    longest = step.MAX_CHOICE_CHAIN + 1  # choice states: the last is entered after 100 rules
    inst = started(compile_text(chain_of_choices(longest)))
    assert (inst.state, inst.status) == (f"c{longest}", "closed")
    with pytest.raises(RefusedError, match="choice states chain more than"):
        started(compile_text(chain_of_choices(longest + 1)))


# -- internal transitions ------------------------------------------------------------------------
INTERNAL = """
playbook: u-internal
version: 1
title: Internal transitions
roles: [clerk]
inputs:
  count: {type: integer, default: 0}
initial: open
states:
  open:
    tasks:
      - {id: review, title: Review, role: clerk, due: 2 days}
    timers:
      - {after: 3 days, event: ping}
    on:
      bump:
        set: {count: "{{ count + 1 }}"}
      ping:
        do:
          - message: {to: clerk, subject: ping}
      close: {to: closed}
  closed: {final: true}
"""


def test_internal_transition_keeps_state_tasks_and_timers() -> None:
    """A transition without ``to`` stays in the state: tasks and timers stay, ``set`` applies."""
    cp = compile_text(INTERNAL)
    inst = started(cp)
    outcome = step.fire(cp, inst, "bump", {}, ctx(at(6)))
    after = step.fire(cp, outcome.instance, "bump", {}, ctx(at(6))).instance
    assert after.state == "open" and after.vars["count"] == 2
    assert after.tasks == inst.tasks  # same occurrences, still open, nothing new
    assert after.timers == inst.timers and after.timers[0].status == "armed"
    actions = [r.action for r in outcome.change.audit]
    assert actions == ["transition", "set"]
    transition = outcome.change.audit[0]
    assert (transition.from_state, transition.to_state, transition.event) == (
        "open", "open", "bump")


# -- transition lists --------------------------------------------------------------------------
ORDERED = """
playbook: u-ordered
version: 1
title: Transition lists
roles: [clerk]
inputs:
  amount: {type: number, required: true}
initial: review
states:
  review:
    on:
      decide:
        - {when: amount > 1000, to: big}
        - {when: amount > 100, to: medium}
        - {to: small}
      strict:
        - {when: amount > 1000, to: big}
        - {when: amount > 500, to: medium}
  big: {final: true, outcome: big}
  medium: {final: true, outcome: medium}
  small: {final: true, outcome: small}
"""


@pytest.mark.parametrize(("amount", "outcome"), [(5000, "big"), (500, "medium"), (5, "small")])
def test_transition_list_first_holding_when_wins(amount: int, outcome: str) -> None:
    """A list of transitions is tried in order; the first whose ``when`` holds is taken."""
    cp = compile_text(ORDERED)
    after = fired(cp, started(cp, {"amount": amount}), "decide")
    assert after.outcome == outcome and after.status == "closed"


def test_transition_list_none_holding_is_refused() -> None:
    """When no transition's ``when`` holds, the event is refused."""
    cp = compile_text(ORDERED)
    refuse_fire(cp, started(cp, {"amount": 5}), "strict", match="strict")


# -- roles ---------------------------------------------------------------------------------------
ROLES = """
playbook: u-roles
version: 1
title: Roles
roles: [biller, owner]
initial: open
states:
  open:
    tasks:
      - {id: bill, title: Bill it, role: biller, due: 1 day}
    on:
      approve: {to: approved, by: [owner]}
      post: {to: posted, by: biller}
      comment: {note: "a comment by {{ actor }}"}
  approved: {final: true}
  posted: {final: true}
"""

PEOPLE = {"maria": Person("maria", "Maria", ("billing",)),
          "drlee": Person("drlee", "Dr. Lee", ("owner", "clinician"))}


def test_by_roles_with_people_and_tailoring() -> None:
    """``by`` checks the actor's practice roles, through the tailoring's role mapping."""
    cp = compile_text(ROLES)
    practice = Practice(people=PEOPLE,
                        playbooks={"u-roles": Tailoring(roles={"biller": "billing"})})
    inst = started(cp, practice=practice, actor="maria")
    assert open_task(inst, "bill").role == "billing"  # the task's role is mapped too
    assert fired(cp, inst, "post", practice=practice, actor="maria").state == "posted"
    refuse_fire(cp, inst, "post", practice=practice, actor="drlee", match="billing")
    refuse_fire(cp, inst, "approve", practice=practice, actor="maria", match="owner")
    refuse_fire(cp, inst, "approve", practice=practice, actor="stranger", match="owner")
    assert fired(cp, inst, "approve", practice=practice, actor="drlee").state == "approved"
    # a transition without ``by`` is open to anyone
    assert fired(cp, inst, "comment", practice=practice, actor="drlee").state == "open"


def test_by_roles_without_tailoring_or_people() -> None:
    """Unmapped roles must match literally; without people every actor holds every role."""
    cp = compile_text(ROLES)
    practice = Practice(people=PEOPLE)
    inst = started(cp, practice=practice)
    assert open_task(inst, "bill").role == "biller"
    refuse_fire(cp, inst, "post", practice=practice, actor="maria", match="biller")
    alone = started(cp)
    assert fired(cp, alone, "approve", actor="anyone").state == "approved"
    assert fired(cp, alone, "post", actor="anyone").state == "posted"


# -- event fields --------------------------------------------------------------------------------
FIELDS = """
playbook: u-fields
version: 1
title: Event fields
roles: [clerk]
initial: open
states:
  open:
    on:
      record:
        to: recorded
        fields:
          count: {type: integer, required: true, minimum: 1}
          on_date: {type: date, required: true}
          ok: {type: boolean, default: false}
          price: {type: number}
          seen_at: {type: datetime}
          tags: {type: list}
          kind: {type: string, enum: [a, b]}
          code: {type: string, pattern: "^[0-9]{3}$"}
        set: {next_day: "{{ add_duration(on_date, '1 day') }}"}
  recorded: {final: true}
"""

GOOD_FIELDS = {"count": "3", "on_date": "2026-02-01", "ok": "yes", "price": "12.5",
               "seen_at": "2026-02-01T10:00", "tags": "a, b", "kind": "a", "code": "016"}


def test_event_fields_are_converted_to_their_types() -> None:
    """Event fields given as text become typed variables (defaults applied)."""
    cp = compile_text(FIELDS)
    outcome = step.fire(cp, started(cp), "record", GOOD_FIELDS, ctx())
    values = outcome.instance.vars
    assert values == {"count": 3, "on_date": dt.date(2026, 2, 1), "ok": True, "price": 12.5,
                      "seen_at": dt.datetime(2026, 2, 1, 10, 0, tzinfo=NY), "tags": ["a", "b"],
                      "kind": "a", "code": "016", "next_day": dt.date(2026, 2, 2)}
    assert outcome.instance.state == "recorded"
    defaults = fired(cp, started(cp), "record", {"count": 1, "on_date": dt.date(2026, 2, 1)})
    assert defaults.vars["ok"] is False and "price" not in defaults.vars


@pytest.mark.parametrize(("change", "field"), [
    ({"count": "three"}, "count"),
    ({"count": "0"}, "count"),
    ({"count": None}, "count"),
    ({"on_date": "2026-02-30"}, "on_date"),
    ({"on_date": None}, "on_date"),
    ({"ok": "maybe"}, "ok"),
    ({"price": "cheap"}, "price"),
    ({"seen_at": "soon"}, "seen_at"),
    ({"kind": "c"}, "kind"),
    ({"code": "16"}, "code"),
    ({"bogus": "1"}, "bogus"),
])
def test_event_fields_bad_or_missing_are_refused(change: dict[str, Any], field: str) -> None:
    """A missing, ill-typed, out-of-range or unknown field is refused, naming the field."""
    cp = compile_text(FIELDS)
    given = {k: v for k, v in {**GOOD_FIELDS, **change}.items() if v is not None}
    error = refuse_fire(cp, started(cp), "record", given)
    assert f"'{field}'" in error.message


# -- tasks ---------------------------------------------------------------------------------------
TASKS = """
playbook: u-tasks
version: 1
title: Tasks
roles: [clerk, owner]
inputs:
  deadline: {type: date, required: true}
  client: {type: string, required: true}
initial: work
states:
  work:
    tasks:
      - id: plain
        title: "Call {{ client }}"
        role: clerk
        due: 3 days
        checklist: [Dial, Leave a message]
      - id: early
        title: Before the deadline
        role: owner
        due: {before: 2 days, from: deadline}
      - id: late
        title: After the deadline
        due: {after: 1 week, from: deadline}
      - id: soon
        title: Within hours
        due: 2 hours
      - id: whenever
        title: Whenever
      - id: record
        title: Record the result
        role: clerk
        fields:
          result: {type: string, required: true, enum: [pass, fail]}
          score: {type: integer}
        done: recorded
    on:
      recorded:
        - {when: "result == 'pass'", to: passed}
  passed: {final: true, outcome: passed}
"""
TASK_INPUTS = {"deadline": "2026-01-20", "client": "Ann"}


def test_tasks_role_due_forms_and_checklist() -> None:
    """Tasks get their role, a rendered title and due dates: relative, before/after a var."""
    cp = compile_text(TASKS)
    inst = started(cp, TASK_INPUTS)
    by_task = {t.task: t for t in inst.tasks}
    assert list(by_task) == ["plain", "early", "late", "soon", "whenever", "record"]
    assert all(t.status == "open" and t.state == "work" for t in inst.tasks)
    assert (by_task["plain"].title, by_task["plain"].role) == ("Call Ann", "clerk")
    assert by_task["plain"].due == dt.date(2026, 1, 8)
    # 2 days before Tuesday 01-20 is Sunday 01-18: a before-due moves back to Friday
    assert by_task["early"].due == dt.date(2026, 1, 16) and by_task["early"].role == "owner"
    assert by_task["late"].due == dt.date(2026, 1, 27) and by_task["late"].role is None
    assert by_task["soon"].due == at(5, 11)
    assert isinstance(by_task["soon"].due, dt.datetime)
    assert by_task["whenever"].due is None
    assert len({t.id for t in inst.tasks}) == 6
    spec = cp.playbook.task("plain")
    assert spec is not None and spec.checklist == ("Dial", "Leave a message")


def test_task_fields_become_variables_and_fire_done_event() -> None:
    """A task's fields become instance variables and its ``done`` event fires."""
    cp = compile_text(TASKS)
    inst = started(cp, TASK_INPUTS)
    outcome = step.complete(cp, inst, open_task(inst, "record").id,
                            {"result": "pass", "score": "7"}, ctx(at(6), actor="bob"))
    after = outcome.instance
    assert after.vars["result"] == "pass" and after.vars["score"] == 7
    assert (after.state, after.status, after.outcome) == ("passed", "closed", "passed")
    statuses = {t.task: t.status for t in after.tasks}
    assert statuses["record"] == "done"
    assert statuses["plain"] == "cancelled"  # left the state
    done = next(t for t in after.tasks if t.task == "record")
    assert (done.closed_by, done.closed_at) == ("bob", at(6))
    actions = [r.action for r in outcome.change.audit]
    assert actions[:2] == ["task_done", "transition"]


def test_done_event_refused_refuses_the_completion() -> None:
    """When the task's ``done`` event is refused (guard false), the completion is too."""
    cp = compile_text(TASKS)
    inst = started(cp, TASK_INPUTS)
    task_id = open_task(inst, "record").id
    refuse_done(cp, inst, task_id, {"result": "fail"}, match="recorded")
    assert open_task(inst, "record").status == "open"


@pytest.mark.parametrize(("fields", "name"), [
    ({}, "result"), ({"result": "maybe"}, "result"), ({"result": "pass", "score": "x"}, "score"),
    ({"result": "pass", "other": "1"}, "other"),
])
def test_task_fields_bad_or_missing_are_refused(fields: dict[str, str], name: str) -> None:
    """``done`` with a missing, ill-typed or unknown task field is refused, naming it."""
    cp = compile_text(TASKS)
    inst = started(cp, TASK_INPUTS)
    error = refuse_done(cp, inst, open_task(inst, "record").id, fields)
    assert f"'{name}'" in error.message


def test_done_refuses_unknown_and_closed_occurrences() -> None:
    """Completing an unknown or already done occurrence is refused."""
    cp = compile_text(TASKS)
    inst = started(cp, TASK_INPUTS)
    refuse_done(cp, inst, "no-such-task", match="no-such-task")
    after = completed(cp, inst, "plain")
    refuse_done(cp, after, open_task(inst, "plain").id, match="done")


# -- recurring tasks -----------------------------------------------------------------------------
RECURRING = """
playbook: u-recurring
version: 1
title: Recurring task
roles: [clerk]
initial: active
states:
  active:
    tasks:
      - {id: weekly, title: Weekly check, role: clerk, every: 1 week}
    on:
      stop: {to: finished}
  finished: {final: true}
"""


def weekly(inst: Instance) -> list[tuple[dt.date | dt.datetime | None, str]]:
    return [(t.due, t.status) for t in inst.tasks if t.task == "weekly"]


def test_recurring_task_series_without_retroactive_occurrences() -> None:
    """``every``: due entry + P, then the first series date after completion; none missed."""
    cp = compile_text(RECURRING)
    inst = started(cp)  # entered Monday 2026-01-05
    assert weekly(inst) == [(dt.date(2026, 1, 12), "open")]
    inst = completed(cp, inst, "weekly", now=at(14))  # two days late
    # the series date 01-19 is Martin Luther King Day: the occurrence is due the day after
    assert weekly(inst)[-1] == (dt.date(2026, 1, 20), "open")
    inst = completed(cp, inst, "weekly", now=at(3, month=2))  # 01-26 and 02-02 missed
    assert weekly(inst) == [(dt.date(2026, 1, 12), "done"), (dt.date(2026, 1, 20), "done"),
                            (dt.date(2026, 2, 9), "open")]
    inst = completed(cp, inst, "weekly", now=at(9, month=2))  # done on its due date
    # 02-16 is Presidents' Day: moved to 02-17, while the series stays on Mondays
    assert weekly(inst)[-1] == (dt.date(2026, 2, 17), "open")
    assert len([t for t in inst.open_tasks() if t.task == "weekly"]) == 1
    assert fired(cp, inst, "stop").tasks[-1].status == "cancelled"


def test_recurring_task_done_early_moves_to_the_next_occurrence() -> None:
    """Completing an occurrence before its due date schedules the next one in the series."""
    cp = compile_text(RECURRING)
    inst = completed(cp, started(cp), "weekly", now=at(7))  # due 01-12, done 01-07
    # the series date 01-19 is Martin Luther King Day: due the next business day
    assert weekly(inst) == [(dt.date(2026, 1, 12), "done"), (dt.date(2026, 1, 20), "open")]


MONTHLY = """
playbook: u-monthly
version: 1
title: Monthly and hourly recurring tasks
roles: [clerk]
initial: active
states:
  active:
    tasks:
      - {id: monthly, title: Monthly, every: 1 month}
      - {id: hourly, title: Hourly, every: 2 hours}
    on:
      stop: {to: finished}
  finished: {final: true}
"""


def test_recurring_series_counts_from_the_entry_not_the_last_due() -> None:
    """A series is entry + k*P: Jan 31 monthly gives Feb 28 then Mar 31; hours keep times."""
    cp = compile_text(MONTHLY)
    inst = started(cp, now=at(31, 10))  # a Saturday
    # Saturday 02-28 and Saturday 01-31 12:00 fall on closed days: due the next Monday (at
    # the same time of day); the series stays entry + k*P
    assert [t.due for t in inst.tasks] == [dt.date(2026, 3, 2), at(2, 12, month=2)]
    assert [t.anchor for t in inst.tasks] == [at(31, 10), at(31, 10)]
    monthly = completed(cp, inst, "monthly", now=at(1, month=3))
    assert open_task(monthly, "monthly").due == dt.date(2026, 3, 31)
    hourly = completed(cp, inst, "hourly", now=at(31, 15))  # 14:00 missed
    assert open_task(hourly, "hourly").due == at(2, 16, month=2)
    assert open_task(hourly, "hourly").index == 3  # 16:00 on the Saturday


# -- all_tasks_done ------------------------------------------------------------------------------
ALL_DONE = """
playbook: u-alldone
version: 1
title: All tasks done
roles: [clerk]
initial: active
states:
  active:
    tasks:
      - {id: weekly, title: Weekly, every: 1 week}
      - {id: one, title: One}
      - {id: two, title: Two}
    on:
      all_tasks_done: {to: finished}
  finished: {final: true, outcome: finished}
"""


def test_all_tasks_done_fires_after_the_last_non_recurring_task() -> None:
    """``all_tasks_done`` fires as the completing actor once no non-recurring task is open."""
    cp = compile_text(ALL_DONE)
    inst = completed(cp, started(cp), "one", actor="bob")
    assert inst.state == "active"
    refuse_fire(cp, inst, "all_tasks_done")  # reserved: only the engine fires it
    outcome = step.complete(cp, inst, open_task(inst, "two").id, {}, ctx(actor="bob"))
    after = outcome.instance
    assert (after.state, after.status) == ("finished", "closed")
    transition = next(r for r in outcome.change.audit if r.action == "transition")
    assert (transition.event, transition.actor) == ("all_tasks_done", "bob")
    assert [t.status for t in after.tasks if t.task == "weekly"] == ["cancelled"]


# -- timers --------------------------------------------------------------------------------------
TIMERS = """
playbook: u-timers
version: 1
title: Timers
roles: [clerk]
inputs:
  deadline: {type: date, required: true}
initial: waiting
states:
  waiting:
    timers:
      - {after: 2 days, event: nudge}
      - {before: 3 days, from: deadline, event: warn}
      - {after: 90 minutes, event: soon}
      - {after: 1 day, event: guarded}
    on:
      nudge:
        do:
          - message: {to: clerk, subject: nudge}
      soon:
        set: {soon_at: "{{ now }}"}
      warn: {to: warned}
      guarded: {when: "false", to: warned}
      leave: {to: elsewhere}
  warned:
    on:
      back: {to: waiting}
  elsewhere:
    on:
      back: {to: waiting}
"""


def timer_events(outcome: step.Outcome) -> list[tuple[str | None, bool]]:
    return [(r.event, r.data["applied"]) for r in outcome.change.audit
            if r.action == "timer_fired"]


def test_timers_fire_once_on_the_first_tick_at_or_after_due() -> None:
    """Relative and ``from`` timers fire once, as ``system``, on the first tick due."""
    cp = compile_text(TIMERS)
    inst = started(cp, {"deadline": "2026-01-20"})
    dues = {t.event: t.due for t in inst.timers}
    assert dues == {"nudge": dt.date(2026, 1, 7), "warn": dt.date(2026, 1, 17),
                    "soon": at(5, 10, 30), "guarded": dt.date(2026, 1, 6)}
    assert timer_events(step.fire_timers(cp, inst, ctx(at(5, 10, 29)))) == []
    outcome = step.fire_timers(cp, inst, ctx(at(5, 10, 30)))
    assert timer_events(outcome) == [("soon", True)]
    assert {r.actor for r in outcome.change.audit} == {step.SYSTEM}
    inst = outcome.instance
    assert inst.vars["soon_at"] == at(5, 10, 30)
    assert timer_events(step.fire_timers(cp, inst, ctx(at(5, 10, 30)))) == []
    # date timers fire on the first tick whose local date is on or after their date;
    # a timer whose event is refused is spent too, without moving the instance
    outcome = step.fire_timers(cp, inst, ctx(at(7, 0, 1)))
    assert timer_events(outcome) == [("guarded", False), ("nudge", True)]
    assert len(outcome.change.messages) == 1 and outcome.instance.state == "waiting"
    inst = outcome.instance
    assert timer_events(step.fire_timers(cp, inst, ctx(at(16, 23, 59)))) == []
    outcome = step.fire_timers(cp, inst, ctx(at(17, 0, 0)))
    assert timer_events(outcome) == [("warn", True)]
    assert outcome.instance.state == "warned"
    assert {t.event: t.status for t in outcome.instance.timers} == {
        "nudge": "fired", "warn": "fired", "soon": "fired", "guarded": "fired"}


def test_timers_overdue_together_fire_in_due_order() -> None:
    """A late tick fires every due timer once, earliest first."""
    cp = compile_text(TIMERS)
    inst = started(cp, {"deadline": "2026-01-20"})
    outcome = step.fire_timers(cp, inst, ctx(at(7, 12)))
    assert timer_events(outcome) == [("soon", True), ("guarded", False), ("nudge", True)]


def test_timers_are_cancelled_on_leaving_the_state() -> None:
    """Leaving a state disarms its timers; they never fire later."""
    cp = compile_text(TIMERS)
    inst = fired(cp, started(cp, {"deadline": "2026-01-20"}), "leave", now=at(5, 10))
    assert inst.state == "elsewhere"
    assert {t.status for t in inst.timers} == {"cancelled"}
    assert step.due_timers(inst, ctx(at(1, month=3))) == []
    assert timer_events(step.fire_timers(cp, inst, ctx(at(1, month=3)))) == []
    back = fired(cp, inst, "back", now=at(6))  # re-entering arms fresh timers
    assert [t.event for t in back.armed_timers()] == ["nudge", "warn", "soon", "guarded"]
    assert back.armed_timers()[0].due == dt.date(2026, 1, 8)


# -- actions and values --------------------------------------------------------------------------
ACTIONS = """
playbook: u-actions
version: 1
title: Actions
roles: [clerk, owner]
inputs:
  client: {type: string, required: true}
  denied_on: {type: date, required: true}
initial: open
states:
  open:
    enter:
      - set: {deadline: "{{ add_duration(denied_on, '30 days') }}", label: "Client {{ client }}",
              fixed: 7, words: [a, "{{ client }}"]}
      - message: {to: owner, subject: "New: {{ client }}", body: "Due {{ deadline }}"}
    on:
      escalate:
        to: escalated
        set: {level: "{{ 1 + 1 }}"}
        do:
          - task: {id: call_owner, title: "Escalate level {{ level }}", role: owner,
                   due: 1 business day}
          - start: u-child
            with: {name: "{{ client }}", since: "{{ denied_on }}", level: "{{ level }}",
                   note: "for {{ client }}", plain: 3}
  escalated:
    tasks:
      - {id: review, title: Review, role: clerk}
    on:
      close: {to: done}
  done: {final: true}
"""


def test_set_and_message_actions_and_native_values() -> None:
    """``set``: lone ``{{ expr }}`` native, templates text; ``message`` to the tailored role."""
    cp = compile_text(ACTIONS)
    practice = Practice(playbooks={"u-actions": Tailoring(roles={"owner": "boss"})})
    outcome = step.start(cp, {"client": "Ann", "denied_on": "2026-01-05"},
                         ctx(practice=practice))
    values = outcome.instance.vars
    assert values["deadline"] == dt.date(2026, 2, 4)
    assert type(values["deadline"]) is dt.date
    assert values["label"] == "Client Ann" and values["fixed"] == 7
    assert values["words"] == ["a", "Ann"]
    [message] = outcome.change.messages
    assert (message.to, message.subject, message.body) == ("boss", "New: Ann", "Due 2026-02-04")


def test_task_and_start_actions() -> None:
    """``do`` runs in the target: ``task`` sees ``set``; ``start`` gives a StartRequest."""
    cp = compile_text(ACTIONS)
    inst = started(cp, {"client": "Ann", "denied_on": "2026-01-05"})
    outcome = step.fire(cp, inst, "escalate", {}, ctx(at(9)))  # Friday
    after = outcome.instance
    assert after.vars["level"] == 2
    assert [(t.task, t.state) for t in after.open_tasks()] == [
        ("review", "escalated"), ("call_owner", "escalated")]
    call = open_task(after, "call_owner")
    assert (call.title, call.role, call.due) == ("Escalate level 2", "owner", dt.date(2026, 1, 12))
    assert outcome.starts == [step.StartRequest(
        "u-child", {"name": "Ann", "since": dt.date(2026, 1, 5), "level": 2,
                    "note": "for Ann", "plain": 3}, inst.id)]


# -- run-time expression errors ------------------------------------------------------------------
ERRORS = """
playbook: u-errors
version: 1
title: Run-time expression errors
roles: [clerk]
inputs:
  opt: {type: string}
initial: a
states:
  a:
    on:
      undefined_value:
        set: {x: "{{ opt }}"}
      undefined_text:
        set: {x: "value {{ opt }}"}
      undefined_guard:
        when: opt == 'x'
        to: b
      dunder:
        set: {x: "{{ ''.__class__ }}"}
      dunder_guard:
        when: "''.__class__.__mro__ != 1"
        to: b
      huge:
        set: {x: "{{ 'a' * 10**9 }}"}
      huge_guard:
        when: "('a' * 10**9) != ''"
        to: b
      fine:
        set: {x: "{{ opt | default('none') }}"}
  b: {final: true}
"""


@pytest.mark.parametrize("event", ["undefined_value", "undefined_text", "undefined_guard",
                                   "dunder", "dunder_guard", "huge", "huge_guard"])
def test_runtime_expression_errors_are_refused(event: str) -> None:
    """Undefined names, sandbox violations and size limits at run time are RefusedError."""
    cp = compile_text(ERRORS)
    refuse_fire(cp, started(cp), event)


def test_runtime_expression_without_error_is_applied() -> None:
    """The same playbook's well-formed expression runs (the refusals are not blanket)."""
    cp = compile_text(ERRORS)
    assert fired(cp, started(cp), "fine").vars["x"] == "none"


def test_start_with_bad_inputs_is_refused() -> None:
    """``start`` refuses a missing, ill-typed or unknown input."""
    cp = compile_text(ACTIONS)
    for inputs, name in [({"client": "Ann"}, "denied_on"),
                         ({"client": "Ann", "denied_on": "soon"}, "denied_on"),
                         ({"client": "Ann", "denied_on": "2026-01-05", "x": "1"}, "x")]:
        with pytest.raises(RefusedError, match=f"'{name}'"):
            step.start(cp, inputs, ctx())


# -- closed instances ----------------------------------------------------------------------------
def test_closed_instance_refuses_events() -> None:
    """Once in a final state the instance is closed and every event is refused."""
    cp = compile_text(ORDERED)
    closed = fired(cp, started(cp, {"amount": 5}), "decide")
    assert closed.status == "closed"
    refuse_fire(cp, closed, "decide", match="closed")
    refuse_fire(cp, closed, "no_such_event", match="closed")


def test_unknown_event_is_refused() -> None:
    """An event the current state does not know is refused, listing the allowed ones."""
    cp = compile_text(ROLES)
    refuse_fire(cp, started(cp), "pay", match="pay")


# -- due dates across holidays and month ends ----------------------------------------------------
DUE = """
playbook: u-due
version: 1
title: Due dates
roles: [clerk]
settings: {{lead: 2}}
initial: open
states:
  open:
    tasks:
      - {{id: task, title: Task, due: "{due}"}}
    on:
      close: {{to: closed}}
  closed: {{final: true}}
"""


@pytest.mark.parametrize(("start", "due", "expected"), [
    (at(23, month=11), "3 business days", dt.date(2026, 11, 27)),  # Thanksgiving 11-26
    (at(25, month=11), "1 business day", dt.date(2026, 11, 27)),
    (at(23, month=12), "2 business days", dt.date(2026, 12, 28)),  # Christmas 12-25
    (at(31, month=12), "1 business day", dt.date(2027, 1, 4)),  # New Year, weekend
    (at(31, year=2027), "1 month", dt.date(2027, 3, 1)),  # Sunday 02-28 moves to Monday
    (at(30, month=4, year=2027), "1 month", dt.date(2027, 6, 1)),  # Sunday, Memorial Day
    (at(31, year=2029), "1 month", dt.date(2029, 2, 28)),
    (at(31, year=2028), "1 month", dt.date(2028, 2, 29)),
    (at(31, month=1, year=2027), "{{ settings.lead }} business days", dt.date(2027, 2, 2)),
    (at(31, month=12, hour=23, minute=30), "1 day", dt.date(2027, 1, 4)),  # New Year's Day
    (at(30, month=12, hour=23, minute=30), "1 day", dt.date(2026, 12, 31)),
])
def test_task_due_across_holidays_and_month_ends(start: dt.datetime, due: str,
                                                 expected: dt.date) -> None:
    """Business days skip weekends and US holidays; months clamp to the month's end."""
    cp = compile_text(DUE.format(due=due))
    assert started(cp, now=start).tasks[0].due == expected


def test_task_due_with_closed_dates_and_tailoring() -> None:
    """A practice's closed dates are not business days; tailoring overrides settings and due."""
    cp = compile_text(DUE.format(due="{{ settings.lead }} business days"))
    closed = BusinessCalendar(package_holidays("US"), closed=[dt.date(2026, 12, 24)])
    assert started(cp, now=at(23, month=12), calendar=closed).tasks[0].due == dt.date(
        2026, 12, 29)
    practice = Practice(playbooks={"u-due": Tailoring(settings={"lead": 5})})
    assert started(cp, now=at(23, month=11), practice=practice).tasks[0].due == dt.date(
        2026, 12, 1)
    practice = Practice(playbooks={"u-due": Tailoring(
        tasks={"task": TaskOverride(title="Renamed", due=Offset("1 week"))}, disabled_tasks=())})
    task = started(cp, practice=practice).tasks[0]
    assert (task.title, task.due) == ("Renamed", dt.date(2026, 1, 12))
    practice = Practice(playbooks={"u-due": Tailoring(disabled_tasks=("task",))})
    assert started(cp, practice=practice).tasks == []


SHARED_VALUES = """
playbook: shared
version: 1
title: Shared values
roles: [staff]
inputs:
  tags: {type: list}
initial: open
states:
  open:
    on:
      grow:
        to: open
        set:
          tags: "{{ tags + ['more'] }}"
          same: "{{ tags }}"
          nested: "{{ {'tags': tags} }}"
      poke:
        to: open
        set: {poked: "{{ tags.append('x') }}"}
"""


def test_a_step_never_changes_the_values_of_the_instance_it_was_given() -> None:
    """A working copy shares its variables' values with the instance it came from: a step
    replaces variables, and the sandbox refuses to change a list or dict in place."""
    cp = compile_text(SHARED_VALUES)
    inst = started(cp, {"tags": "a, b"})
    before = copy.deepcopy(inst)
    after = fired(cp, inst, "grow")
    assert after.vars["tags"] == ["a", "b", "more"] and after.vars["same"] == ["a", "b"]
    assert after.vars["nested"] == {"tags": ["a", "b"]}
    again = fired(cp, after, "grow")
    assert again.vars["tags"] == ["a", "b", "more", "more"]
    assert after.vars["tags"] == ["a", "b", "more"] and inst == before
    with pytest.raises(RefusedError, match="unsafe|not safely|sandbox"):
        fired(cp, inst, "poke")
    assert inst == before
