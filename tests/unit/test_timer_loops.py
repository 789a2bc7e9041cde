"""Timers that would fire again and again within one ``tick`` (docs/reference.md, timers and
``tick``): a timer whose firing would arm it again already due (a zero-length timer leading back
to its own state, or one counted from a date long past) is spent with ``applied: false`` naming
the instance, the state and the timer, so ``fire_timers`` ends and stays idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk.model import Practice, Tailoring
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.instance import Instance
from runtime_testing import compile_text, ctx

NY = ZoneInfo("America/New_York")
US = BusinessCalendar(package_holidays("US"))
MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)




def fired(outcome: step.Outcome) -> list[tuple[str | None, bool, str]]:
    return [(r.event, r.data["applied"], r.data.get("reason", ""))
            for r in outcome.change.audit if r.action == "timer_fired"]


# The duration comes from an input or a setting: what validation cannot see as zero.
LOOP = """
playbook: u-loop
version: 1
title: A timer back into its own state
roles: [clerk]
inputs:
  delay: {type: integer, default: 5}
settings: {minutes: 5}
initial: a
states:
  a:
    on:
      go: {to: b}
  b:
    timers:
      - {after: "DURATION", event: again}
    on:
      again:
        to: b
        set: {rounds: "{{ (rounds | default(0)) + 1 }}"}
      stop: {to: c}
  c: {final: true}
"""


@pytest.mark.parametrize(("duration", "inputs", "practice"), [
    ("{{ delay }} minutes", {"delay": 0}, None),
    ("{{ delay }} days", {"delay": 0}, None),
    ("{{ settings.minutes }} minutes", {},
     Practice(playbooks={"u-loop": Tailoring(settings={"minutes": 0})})),
])
def test_zero_length_timer_back_into_its_state_fires_once(duration: str, inputs: dict[str, Any],
                                                          practice: Practice | None) -> None:
    """The first firing's transition would arm the timer again, due at once: that firing is
    refused (the timer spent, the instance where it was), and a second tick does nothing."""
    cp = compile_text(LOOP.replace("DURATION", duration))
    inst = step.start(cp, inputs, ctx(practice=practice)).instance
    inst = step.fire(cp, inst, "go", {}, ctx(practice=practice)).instance
    assert [t.status for t in inst.timers] == ["armed"]
    outcome = step.fire_timers(cp, inst, ctx(practice=practice))
    [(event, applied, reason)] = fired(outcome)
    assert (event, applied) == ("again", False)
    assert reason.startswith("state 'b': timer 'again' would be armed again already due")
    after = outcome.instance
    assert (after.state, after.status, "rounds" in after.vars) == ("b", "open", False)
    assert [t.status for t in after.timers] == ["fired"]
    assert [r.action for r in outcome.change.audit] == ["timer_fired"]
    assert fired(step.fire_timers(cp, after, ctx(practice=practice))) == []


def test_refusal_names_the_instance_state_and_timer() -> None:
    """The refusal inside ``fire_timers`` is a ``RefusedError`` naming the instance, the event,
    the state and the timer; the tick records its message after the instance."""
    cp = compile_text(LOOP.replace("DURATION", "{{ delay }} minutes"))
    inst = step.fire(cp, step.start(cp, {"delay": 0}, ctx()).instance, "go", {},
                     ctx()).instance
    record = next(r for r in step.fire_timers(cp, inst, ctx()).change.audit
                  if r.action == "timer_fired")
    assert record.instance == inst.id and record.actor == step.SYSTEM
    assert "timer 'again'" in record.data["reason"] and "'b'" in record.data["reason"]


def test_a_positive_timer_back_into_its_state_is_armed_again_for_later() -> None:
    """Not a loop: a 5-minute timer leading back is applied and armed again 5 minutes on."""
    cp = compile_text(LOOP.replace("DURATION", "{{ delay }} minutes"))
    inst = step.fire(cp, step.start(cp, {}, ctx()).instance, "go", {}, ctx()).instance
    outcome = step.fire_timers(cp, inst, ctx(MONDAY + dt.timedelta(minutes=7)))
    assert fired(outcome) == [("again", True, "")]
    armed = outcome.instance.armed_timers()
    assert [t.due for t in armed] == [MONDAY + dt.timedelta(minutes=12)]


PAST = """
playbook: u-past
version: 1
title: Timers counted from a date long past
roles: [clerk]
inputs:
  visit_on: {type: date, required: true}
initial: a
states:
  a:
    timers:
      - {after: 1 day, from: visit_on, event: to_b}
    on:
      to_b: {to: b}
  b:
    timers:
      - {after: 2 days, from: visit_on, event: to_a}
      - {after: 3 days, from: visit_on, event: to_c}
    on:
      to_a: {to: a}
      to_c: {to: c}
  c:
    timers:
      - {after: 0 minutes, event: done}
    on:
      done: {to: d}
  d: {final: true}
"""


def test_timers_from_a_past_date_in_a_cycle_stop_at_the_first_repeat() -> None:
    """a -> b -> a with both timers counted from a date a year back: a's timer fires, b's
    fires, and b's firing, which would arm a's timer again already due, is refused; b's other
    timer (and the zero-length one of c, which leads on) still fire: each timer once."""
    cp = compile_text(PAST)
    inst = step.start(cp, {"visit_on": "2025-01-05"}, ctx()).instance
    outcome = step.fire_timers(cp, inst, ctx())
    assert [(event, applied) for event, applied, _ in fired(outcome)] == [
        ("to_b", True), ("to_a", False), ("to_c", True), ("done", True)]
    assert (outcome.instance.state, outcome.instance.status) == ("d", "closed")


def test_firings_per_tick_are_bounded_by_the_timers_of_the_playbook() -> None:
    """However the timers chain, one call fires at most the timers due when it began plus one
    per timer of the playbook."""
    cp = compile_text(PAST.replace("      - {after: 3 days, from: visit_on, event: to_c}\n", ""))
    inst = step.start(cp, {"visit_on": "2020-01-01"}, ctx()).instance
    outcome = step.fire_timers(cp, inst, ctx())
    assert len(fired(outcome)) <= 1 + 3
    assert outcome.instance.state in {"a", "b"}
    assert fired(step.fire_timers(cp, outcome.instance, ctx())) == []


def zero_timer_elsewhere(to: str | None) -> str:
    target = f"to: {to}" if to else "set: {pinged: true}"
    return f"""
playbook: u-elsewhere
version: 1
title: A zero-length timer that does not come back
roles: [clerk]
initial: a
states:
  a:
    timers:
      - {{after: 0 minutes, event: ping}}
    on:
      ping: {{{target}}}
      stop: {{to: b}}
  b: {{final: true}}
"""


@pytest.mark.parametrize(("to", "state"), [("b", "b"), (None, "a")])
def test_zero_length_timer_leading_elsewhere_or_internal_fires(to: str | None,
                                                               state: str) -> None:
    """A zero-length timer that leads to another state, or whose transition is internal, is
    no loop: it fires at the next tick and is applied."""
    cp = compile_text(zero_timer_elsewhere(to))
    inst = step.start(cp, {}, ctx()).instance
    outcome = step.fire_timers(cp, inst, ctx())
    assert fired(outcome) == [("ping", True, "")]
    assert outcome.instance.state == state
    assert fired(step.fire_timers(cp, outcome.instance, ctx())) == []


def test_instance_left_by_a_refused_firing_is_unchanged_but_for_the_spent_timer() -> None:
    """The refused firing's transition, its ``set`` and its records are all dropped."""
    cp = compile_text(LOOP.replace("DURATION", "{{ delay }} minutes"))
    inst: Instance = step.fire(cp, step.start(cp, {"delay": 0}, ctx()).instance, "go", {},
                               ctx()).instance
    after = step.fire_timers(cp, inst, ctx()).instance
    assert after.vars == inst.vars and after.tasks == inst.tasks
    assert [(t.id, t.status) for t in after.timers] == [(inst.timers[0].id, "fired")]
