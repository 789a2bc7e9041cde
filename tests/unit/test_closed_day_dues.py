"""Due dates on closed days (docs/reference.md): a task's due that falls on a weekend, a holiday
or a ``calendar.closed`` date moves to the previous business day for a ``before`` offset and to
the next one otherwise; timers and dates computed in templates stay where they fall."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from frontdesk.errors import InvalidError
from frontdesk.loading.practice import build_practice, parse_practice
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.durations import off_closed_day
from frontdesk.runtime.instance import Instance
from runtime_testing import compile_text
from runtime_testing import ctx as runtime_ctx

NY = ZoneInfo("America/New_York")
CLOSED_XMAS_EVE = BusinessCalendar(package_holidays("US"), closed=[dt.date(2026, 12, 24)])
MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)



def ctx(now: dt.datetime = MONDAY) -> step.RunContext:
    return runtime_ctx(now, calendar=CLOSED_XMAS_EVE)


@pytest.mark.parametrize(("due", "backwards", "moved"), [
    (dt.date(2026, 1, 10), False, dt.date(2026, 1, 12)),  # Saturday -> Monday
    (dt.date(2026, 1, 10), True, dt.date(2026, 1, 9)),  # Saturday -> Friday
    (dt.date(2026, 1, 19), False, dt.date(2026, 1, 20)),  # Martin Luther King Day
    (dt.date(2026, 1, 19), True, dt.date(2026, 1, 16)),
    (dt.date(2026, 12, 24), False, dt.date(2026, 12, 28)),  # closed, Christmas, weekend
    (dt.date(2026, 12, 27), True, dt.date(2026, 12, 23)),
    (dt.date(2026, 1, 7), True, dt.date(2026, 1, 7)),  # a business day stays
    (dt.datetime(2026, 1, 10, 14, 30, tzinfo=NY), False,
     dt.datetime(2026, 1, 12, 14, 30, tzinfo=NY)),  # a datetime keeps its time of day
    (dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC), True,  # Sunday 08:00 in New York
     dt.datetime(2026, 3, 6, 8, 0, tzinfo=NY)),
])
def test_off_closed_day(due: dt.date, backwards: bool, moved: dt.date) -> None:
    """Closed days are skipped in the direction asked; business days are kept."""
    assert off_closed_day(due, CLOSED_XMAS_EVE, NY, backwards) == moved


def test_previous_business_day() -> None:
    """The mirror of ``next_business_day``: the date itself, or the last business day before."""
    assert CLOSED_XMAS_EVE.previous_business_day(dt.date(2026, 12, 27)) == dt.date(2026, 12, 23)
    assert CLOSED_XMAS_EVE.previous_business_day(dt.date(2026, 12, 23)) == dt.date(2026, 12, 23)


PLAYBOOK = """
playbook: u-closed
version: 1
title: Due dates on closed days
roles: [clerk]
inputs:
  visit_on: {type: date, required: true}
initial: waiting
states:
  waiting:
    enter:
      - set: {follow_up_on: "{{ add_duration(visit_on, '1 day') }}"}
    tasks:
      - {id: remind, title: Remind, role: clerk, due: {before: 2 days, from: visit_on}}
      - {id: chart, title: Chart, role: clerk, due: {after: 0 days, from: visit_on}}
      - {id: soon, title: Soon, role: clerk, due: 5 days}
      - {id: later, title: Later, role: clerk, due: 5 hours}
      - {id: weekly, title: Weekly, role: clerk, every: 1 week}
    timers:
      - {before: 2 days, from: visit_on, event: nudge}
      - {after: 5 days, event: nudge}
    on:
      nudge: {}
"""


def dues(inst: Instance) -> dict[str, dt.date | dt.datetime | None]:
    return {t.task: t.due for t in inst.tasks if t.is_open}


def test_task_dues_move_and_timers_and_template_dates_do_not() -> None:
    """Started Monday 2026-12-21 with a visit on Saturday 12-26, in a practice closed on
    Christmas Eve: every due on a closed day moves, the timers and ``follow_up_on`` stay."""
    cp = compile_text(PLAYBOOK)
    monday = dt.datetime(2026, 12, 21, 20, 0, tzinfo=NY)
    inst = step.start(cp, {"visit_on": "2026-12-26"}, ctx(monday)).instance
    assert dues(inst) == {
        "remind": dt.date(2026, 12, 23),  # before: Thu 12-24 closed -> Wed 12-23
        "chart": dt.date(2026, 12, 28),  # after: Sat 12-26 -> Mon 12-28
        "soon": dt.date(2026, 12, 28),  # Sat 12-26 -> Mon 12-28
        "later": dt.datetime(2026, 12, 22, 1, 0, tzinfo=NY),  # Tuesday 01:00: a business day
        "weekly": dt.date(2026, 12, 28),  # entry + 1 week: a Monday
    }
    assert {t.due_date for t in inst.tasks if t.task == "remind"} == {dt.date(2026, 12, 23)}
    assert sorted(t.due for t in inst.timers) == [dt.date(2026, 12, 24), dt.date(2026, 12, 26)]
    assert inst.vars["follow_up_on"] == dt.date(2026, 12, 27)  # a Sunday, computed in a template
    audit = [r.data["due"] for r in step.start(cp, {"visit_on": "2026-12-26"},
                                               ctx(monday)).change.audit
             if r.action == "task_created"]
    assert audit[:3] == [dt.date(2026, 12, 23), dt.date(2026, 12, 28), dt.date(2026, 12, 28)]


def test_recurring_occurrences_move_but_the_series_does_not() -> None:
    """A weekly series from a Monday: the occurrence on a Monday holiday is due the Tuesday,
    and the one after it is back on the Monday of the series."""
    cp = compile_text(PLAYBOOK)
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)
    inst = step.start(cp, {"visit_on": "2026-03-04"}, ctx(start)).instance
    weekly = next(t for t in inst.tasks if t.task == "weekly")
    inst = step.complete(cp, inst, weekly.id, {}, ctx(dt.datetime(2026, 1, 13, 9, 0,
                                                                  tzinfo=NY))).instance
    occurrence = next(t for t in inst.tasks if t.task == "weekly" and t.is_open)
    assert (occurrence.due, occurrence.index) == (dt.date(2026, 1, 20), 2)  # MLK Day 01-19
    inst = step.complete(cp, inst, occurrence.id, {}, ctx(dt.datetime(2026, 1, 20, 9, 0,
                                                                      tzinfo=NY))).instance
    occurrence = next(t for t in inst.tasks if t.task == "weekly" and t.is_open)
    assert (occurrence.due, occurrence.index) == (dt.date(2026, 1, 26), 3)


def test_a_datetime_due_on_a_closed_day_keeps_its_local_time() -> None:
    """``5 hours`` from Friday 22:00 is Saturday 03:00: due Monday 03:00 New York time."""
    cp = compile_text(PLAYBOOK)
    friday = dt.datetime(2026, 1, 9, 22, 0, tzinfo=NY)
    inst = step.start(cp, {"visit_on": "2026-03-04"}, ctx(friday)).instance
    later = next(t for t in inst.tasks if t.task == "later")
    assert later.due == dt.datetime(2026, 1, 12, 3, 0, tzinfo=NY)
    assert later.due_date == dt.date(2026, 1, 12)


@pytest.mark.parametrize(("rule", "remind", "chart"), [
    ("default", dt.date(2026, 12, 23), dt.date(2026, 12, 28)),
    ("previous", dt.date(2026, 12, 23), dt.date(2026, 12, 23)),
    ("next", dt.date(2026, 12, 28), dt.date(2026, 12, 28)),
    ("keep", dt.date(2026, 12, 24), dt.date(2026, 12, 26)),
])
def test_the_practice_rule_decides_where_a_closed_day_due_goes(rule: str, remind: dt.date,
                                                               chart: dt.date) -> None:
    """``calendar.closed_day_dues`` in practice.yaml: ``remind`` (2 days before Saturday
    12-26: Christmas Eve, closed) and ``chart`` (the Saturday itself) move as the rule says."""
    practice = build_practice({"calendar": {"closed_day_dues": rule}})
    assert practice.closed_day_dues == rule
    monday = dt.datetime(2026, 12, 21, 20, 0, tzinfo=NY)
    inst = step.start(compile_text(PLAYBOOK), {"visit_on": "2026-12-26"},
                      runtime_ctx(monday, practice, CLOSED_XMAS_EVE)).instance
    assert (dues(inst)["remind"], dues(inst)["chart"], dues(inst)["soon"]) == (
        remind, chart, chart)


def test_an_unknown_closed_day_rule_is_a_located_error() -> None:
    with pytest.raises(InvalidError) as caught:
        parse_practice(text="calendar:\n  closed_day_dues: later\n")
    (issue,) = caught.value.issues
    assert issue.location is not None and (issue.location.line, issue.code) == (2, "schema")
    assert "previous, next, keep" in issue.message
