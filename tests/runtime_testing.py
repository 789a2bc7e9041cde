"""Helpers for tests that run the pure runtime directly: a playbook compiled from YAML text and
a run context on a fixed clock in New York time. (Test modules import these from here.)"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from frontdesk.loading.loader import content_hash, load_playbook_text
from frontdesk.model import Practice
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.compiled import CompiledPlaybook, compile_playbook

NY = ZoneInfo("America/New_York")
US = BusinessCalendar(package_holidays("US"))
MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)


def compile_text(text: str) -> CompiledPlaybook:
    """``text`` loaded, validated (no errors allowed) and compiled."""
    loaded = load_playbook_text(text, "test.yaml")
    assert not loaded.errors, "\n".join(i.format() for i in loaded.errors)
    return compile_playbook(loaded.require(), content_hash(text), text)


def ctx(now: dt.datetime = MONDAY, practice: Practice | None = None,
        calendar: BusinessCalendar = US) -> step.RunContext:
    """A run context: fixed clock, New York time, US federal holidays (or ``calendar``),
    actor ``ann``, instance ids ``inst1``, ``inst2``, ..."""
    counter = itertools.count(1)
    return step.RunContext(now=now, tz=NY, calendar=calendar, practice=practice or Practice(),
                           actor="ann", new_id=lambda: f"inst{next(counter)}")


# A playbook that gathers a long history (the tests of working sets, issue 21): intake is
# done once, long ago; every nudge (by hand or by its timer) re-enters care, which cancels
# the open consent and weekly check, disarms the timer, and makes new ones.
HISTORY_PLAYBOOK = """\
playbook: rt-history
version: 1
title: A long history
roles: [staff]
inputs:
  note: {type: string, default: ""}
initial: start
states:
  start:
    tasks:
      - {id: intake, title: Intake, role: staff}
    on:
      begin: {to: care}
  care:
    tasks:
      - {id: weekly, title: "Weekly check {{ note }}", role: staff, every: 1 week}
      - {id: consent, title: Consent, role: staff, due: 1 day}
    timers:
      - {after: 1 day, event: nudge}
    on:
      nudge: {to: care}
      early: {to: closed, when: "done('consent')"}
      finish: {to: closed, when: "done('intake') and all_done"}
  closed:
    final: true
    outcome: finished
"""
