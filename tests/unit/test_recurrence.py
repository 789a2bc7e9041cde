"""The next occurrence of a recurring task (docs/reference.md, recurring tasks): computed by
arithmetic (``durations.series_index_after``), checked against stepping through the series one
occurrence at a time, fast when done years late, and refused for a period of zero."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from frontdesk.errors import RefusedError
from frontdesk.model import Practice, Tailoring
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.durations import UNITS, Duration, add, series_index_after
from frontdesk.runtime.instance import Instance, TaskOccurrence
from frontdesk_testing import hang_guard
from hypothesis import example, given, settings
from hypothesis import strategies as st
from runtime_testing import compile_text, ctx

NY = ZoneInfo("America/New_York")
US = BusinessCalendar(package_holidays("US"))
US_CLOSED = BusinessCalendar(package_holidays("US"), closed=[dt.date(2026, 12, 24),
                                                             dt.date(2027, 3, 15)])
MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)




def open_task(inst: Instance, task: str) -> TaskOccurrence:
    [found] = [t for t in inst.open_tasks() if t.task == task]
    return found




def stepping_index(start: dt.date | dt.datetime, every: Duration, first: int,
                   now: dt.datetime, calendar: BusinessCalendar) -> int:
    """The reference: the loop the runtime used to run, one occurrence at a time, comparing
    moments in UTC (two datetimes of one zone compare by wall clock, which is off by an hour
    around a daylight-saving change)."""
    today = now.astimezone(NY).date()
    k = first
    while True:
        due = add(start, Duration(every.amount * k, every.unit), calendar, NY)
        if isinstance(due, dt.datetime):
            if due.astimezone(dt.UTC) > now.astimezone(dt.UTC):
                return k
        elif due > today:
            return k
        k += 1


# How far after the series start the completion may be, per unit, so that the reference loop
# stays short (a few thousand occurrences at most).
REACH = {"minute": dt.timedelta(days=2), "hour": dt.timedelta(days=60),
         "day": dt.timedelta(days=900), "business_day": dt.timedelta(days=900),
         "week": dt.timedelta(days=1500), "month": dt.timedelta(days=2500),
         "year": dt.timedelta(days=4000)}

starts = st.one_of(
    st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31),
                 timezones=st.just(NY)),
    st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
)


@settings(max_examples=400, deadline=None)
@given(start=starts, unit=st.sampled_from(UNITS), amount=st.integers(1, 4),
       first=st.integers(1, 6), fraction=st.floats(-0.05, 1.0))
@example(start=dt.datetime(2026, 3, 7, 2, 30, tzinfo=NY), unit="hour", amount=1, first=1,
         fraction=0.01)  # across the spring DST change
@example(start=dt.datetime(2026, 10, 31, 1, 30, tzinfo=NY), unit="minute", amount=7, first=2,
         fraction=0.02)  # across the autumn DST change
@example(start=dt.date(2024, 1, 31), unit="month", amount=1, first=1, fraction=0.2)
@example(start=dt.date(2024, 2, 29), unit="year", amount=1, first=1, fraction=0.9)
@example(start=dt.date(2026, 12, 23), unit="business_day", amount=1, first=1, fraction=0.001)
@example(start=dt.datetime(2024, 3, 10, 2, 0, fold=1, tzinfo=NY), unit="minute", amount=1,
         first=1, fraction=0.0)  # a wall time that does not exist, and now an hour after it
def test_index_matches_stepping_through_the_series(start: dt.date | dt.datetime, unit: str,
                                                    amount: int, first: int,
                                                    fraction: float) -> None:
    """For every unit, a start date or datetime, a first candidate and a completion moment
    before or after the start, the computed index is the one stepping finds."""
    origin = start if isinstance(start, dt.datetime) else dt.datetime.combine(
        start, dt.time(0), tzinfo=NY)
    now = origin + REACH[unit] * fraction
    every = Duration(amount, unit)
    assert series_index_after(start, every, first, now, US_CLOSED, NY) == stepping_index(
        start, every, first, now, US_CLOSED)


def test_index_at_series_boundaries() -> None:
    """A completion exactly at a series moment or on a series date moves on to the next one."""
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)
    at = dt.datetime(2026, 1, 5, 11, 0, tzinfo=NY)
    assert series_index_after(start, Duration(1, "hour"), 1, at, US_CLOSED, NY) == 3
    assert series_index_after(start, Duration(1, "week"), 1, start + dt.timedelta(weeks=2),
                              US_CLOSED, NY) == 3
    # business days: Jan 6, 7, 8, 9, 12, 13 are the 1st..6th; done on the 13th -> 7th
    assert series_index_after(start, Duration(2, "business_day"), 1,
                              dt.datetime(2026, 1, 13, 17, 0, tzinfo=NY), US_CLOSED, NY) == 4
    # Jan 31 + k months: Feb 28, Mar 31, Apr 30; done on Mar 31 -> Apr 30 (k=3)
    jan31 = dt.date(2026, 1, 31)
    assert series_index_after(jan31, Duration(1, "month"), 1,
                              dt.datetime(2026, 3, 31, 12, 0, tzinfo=NY), US_CLOSED, NY) == 3


def test_index_refuses_a_zero_period() -> None:
    """A period of zero never moves on: refused before any arithmetic."""
    with pytest.raises(ValueError, match="positive"):
        series_index_after(dt.date(2026, 1, 5), Duration(0, "day"), 1,
                           dt.datetime(2026, 2, 1, tzinfo=NY), US_CLOSED, NY)


EVERY = """
playbook: u-every
version: 1
title: Recurring
roles: [clerk]
inputs:
  period: {{type: integer, default: 1}}
settings: {{minutes: 1}}
initial: active
states:
  active:
    tasks:
      - {{id: check, title: Check, role: clerk, every: "{every}"}}
    on:
      stop: {{to: finished}}
  finished: {{final: true}}
"""


def test_one_minute_series_done_ten_years_late_is_computed_at_once() -> None:
    """``every: 1 minute`` done ten years late: the next occurrence is the first minute of
    the series after the completion, without stepping through the five million missed."""
    cp = compile_text(EVERY.format(every="1 minute"))
    inst = step.start(cp, {}, ctx()).instance
    late = dt.datetime(2036, 1, 8, 10, 0, 30, tzinfo=NY)  # a Tuesday, 10:00:30
    assert US_CLOSED.is_business_day(late.date())
    with hang_guard(30):
        after = step.complete(cp, inst, open_task(inst, "check").id, {}, ctx(late)).instance
    task = open_task(after, "check")
    minutes = (late - MONDAY) // dt.timedelta(minutes=1) + 1
    assert (task.index, task.due) == (minutes, dt.datetime(2036, 1, 8, 10, 1, tzinfo=NY))
    assert task.anchor == MONDAY
    assert [t.status for t in after.tasks] == ["done", "open"]


@pytest.mark.parametrize(("every", "period"), [
    ("1 week", Duration(1, "week")), ("3 business days", Duration(3, "business_day")),
    ("1 month", Duration(1, "month")), ("2 years", Duration(2, "year")),
])
def test_series_done_years_late_matches_the_stepped_series(every: str,
                                                           period: Duration) -> None:
    """Done twelve years late, each unit gives the occurrence stepping would give."""
    cp = compile_text(EVERY.format(every=every))
    inst = step.start(cp, {}, ctx()).instance
    late = dt.datetime(2038, 6, 9, 15, 0, tzinfo=NY)
    after = step.complete(cp, inst, open_task(inst, "check").id, {}, ctx(late)).instance
    assert open_task(after, "check").index == stepping_index(MONDAY, period, 2, late, US)


def test_zero_period_is_refused_when_the_task_is_created() -> None:
    """``every`` that evaluates to zero refuses the step, naming the instance, the state and
    the task; nothing comes back to write."""
    cp = compile_text(EVERY.format(every="{{ period }} days"))
    with pytest.raises(RefusedError) as info:
        step.start(cp, {"period": 0}, ctx())
    message = info.value.message
    assert message.startswith("instance 'inst1': state 'active': task 'check': ")
    assert "every '0 days' never moves on" in message


def test_zero_period_from_a_practice_setting_is_refused_at_the_next_occurrence() -> None:
    """A series started with a positive period, then a practice sets it to 0: completing an
    occurrence is refused (nothing written) instead of looking for a later one forever."""
    cp = compile_text(EVERY.format(every="{{ settings.minutes }} minutes"))
    inst = step.start(cp, {}, ctx()).instance
    zero = Practice(playbooks={"u-every": Tailoring(settings={"minutes": 0})})
    with pytest.raises(RefusedError, match="state 'active': task 'check': every '0 minutes'"):
        step.complete(cp, inst, open_task(inst, "check").id, {}, ctx(practice=zero))
    assert open_task(inst, "check").status == "open"
