"""The two built-in, cross-playbook reports: ``workload`` and ``deadlines``.

They read what every playbook has in common (tasks and timers) rather than what one playbook
declares, so no playbook owns them; a playbook only adds *deadline variables* to
``deadlines`` (``reports: {deadlines: {dates: {VAR: what is due}}}``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..model import Playbook
from ..runtime.instance import decoded
from ..store.base import Store
from .evaluate import Period, _date_of
from .measures import counted_median, local_date
from .result import Column, Section, Table

UNASSIGNED = "(unassigned)"
WORKLOAD_COLUMNS = [Column("open", "open", "number"), Column("overdue", "overdue", "number"),
                    Column("done", "done", "number"), Column("done_late", "done late", "number"),
                    Column("median_days_late", "median days due to done", "days")]


class _Load:
    __slots__ = ("open", "overdue", "done", "late", "days")

    def __init__(self) -> None:
        self.open = self.overdue = self.done = self.late = 0
        self.days: Counter[int] = Counter()

    def row(self) -> list[Any]:
        median = counted_median(self.days) if self.days else None
        return [self.open, self.overdue, self.done, self.late, median]


def _fold(load: _Load, status: str, due: dt.date | None, closed: dt.date | None,
          period: Period) -> None:
    if status == "open":
        load.open += 1
        load.overdue += due is not None and due < period.today
    elif closed is not None and period.holds(closed):
        load.done += 1
        if due is not None:
            late = (closed - due).days
            load.late += late > 0
            load.days[late] += 1


def workload(store: Store, period: Period) -> Section:
    """Open and overdue tasks now, and tasks done in the period (late ones, median days from
    due to done), by person and by role, in one pass over the tasks."""
    people: dict[str, _Load] = {}
    roles: dict[str, _Load] = {}
    for role, assignee, status, due_date, closed_at in store.workload_rows():
        due = dt.date.fromisoformat(due_date) if due_date else None
        closed = _date_of(closed_at, period.tz) if status == "done" else None
        if status == "done" and (closed is None or not period.holds(closed)):
            continue
        for groups, key in ((people, assignee or UNASSIGNED), (roles, role or "(none)")):
            load = groups.get(key)
            if load is None:
                load = groups[key] = _Load()
            _fold(load, status, due, closed, period)
    tables = [Table(title, [Column(key, key), *WORKLOAD_COLUMNS],
                    [[name, *load.row()] for name, load in sorted(groups.items())],
                    dimensions=1, chart="overdue")
              for title, key, groups in (("By person", "person", people),
                                         ("By role", "role", roles))]
    return Section("built-in", "Workload", "Open and overdue tasks as of today (open tasks "
                   "whatever the period); tasks done in the period, how many after their due "
                   "date and the median days from due to done (negative: early).", tables)


DEADLINE_COLUMNS = [Column("due", "due", "date"), Column("kind", "kind"),
                    Column("instance", "instance"), Column("playbook", "playbook"),
                    Column("subject", "subject"), Column("what", "what is due")]


def _declared(store: Store, playbook: Playbook, first: dt.date, last: dt.date,
              tz: dt.tzinfo) -> Iterable[list[Any]]:
    dates = playbook.reports["deadlines"].dates
    for id_, status, _o, _s, _start, _upd, var_text, subject in store.report_instances(
            playbook.id):
        if status != "open":
            continue
        raw = json.loads(var_text)
        for var, what in dates.items():
            day = local_date(decoded(raw.get(var)), tz)
            if day is not None and first <= day <= last:
                yield [day, "deadline", id_, playbook.id, subject, what]


def deadlines(store: Store, playbooks: Sequence[Playbook], period: Period) -> Section:
    """Every dated deadline from the period's first to its last day: open tasks' due dates,
    armed timers, and the deadline variables playbooks declare, earliest first."""
    first, last = period.first or period.today, period.last or period.today
    rows: list[list[Any]] = []
    for kind, instance, playbook, subject, what, due in store.deadline_rows(first, last):
        rows.append([dt.date.fromisoformat(due), kind, instance, playbook, subject,
                     what if kind == "task" else f"timer: {what}"])
    for playbook in playbooks:
        if "deadlines" in playbook.reports:
            rows.extend(_declared(store, playbook, first, last, period.tz))
    rows.sort(key=lambda r: (r[0], r[2], r[1], str(r[5])))
    return Section("built-in", "Deadlines", f"Open tasks, armed timers and declared deadline "
                   f"dates from {first} to {last}, earliest first.",
                   [Table("Deadlines", list(DEADLINE_COLUMNS), rows)])
