"""The one evaluator of declared reports: a single streaming pass over a playbook's instances.

For each playbook that declares the report, the instances are read in id order
(``Store.report_instances``) together with, only when the report names them, the occurrences
of its tasks and the audit records of its events, each a stream in the same order merged by
instance id. Every instance becomes a :class:`Facts` and is folded into the rows of every
table: memory holds the groups' accumulators (and a roster's rows), never the instances.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..loading.reports import TIME_DIMENSIONS, moments_of, uses_guards, variables_of
from ..model import Playbook, ReportSpec, ReportTable
from ..runtime.instance import decoded, from_json
from ..store.base import Store
from .measures import (
    Accumulator,
    CompiledMeasure,
    Facts,
    GuardContext,
    Predicate,
    compile_measure,
    local_date,
    predicate,
)
from .result import Column, Section, Table

NONE = "(none)"  # the group of instances without a value for a dimension


@dataclass(frozen=True, slots=True)
class Period:
    """The report's period (inclusive, practice-local dates; None: unbounded), the practice
    time zone and the report's "today"."""

    first: dt.date | None
    last: dt.date | None
    tz: dt.tzinfo
    today: dt.date

    def holds(self, day: dt.date | None) -> bool:
        if day is None:
            return self.first is None and self.last is None
        return (self.first is None or day >= self.first) and (self.last is None
                                                              or day <= self.last)


def _date_of(text: str | None, tz: dt.tzinfo) -> dt.date | None:
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(tz).date()


def _grouped(rows: Iterator[Sequence[Any]]) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    """Rows ordered by their first column, grouped by it."""
    current: str | None = None
    bucket: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != current:
            if current is not None:
                yield current, bucket
            current, bucket = row[0], []
        bucket.append(row)
    if current is not None:
        yield current, bucket


class _Merged:
    """A stream grouped by instance id, advanced in step with the (id-ordered) instances."""

    def __init__(self, rows: Iterator[Sequence[Any]]) -> None:
        self._groups = _grouped(rows)
        self._head: tuple[str, list[Sequence[Any]]] | None = next(self._groups, None)

    def take(self, instance: str) -> list[Sequence[Any]]:
        while self._head is not None and self._head[0] < instance:
            self._head = next(self._groups, None)
        if self._head is not None and self._head[0] == instance:
            found = self._head[1]
            self._head = next(self._groups, None)
            return found
        return []


class FactStream:
    """The instances of one playbook as :class:`Facts`, with what the report needs."""

    def __init__(self, store: Store, playbook: Playbook, report: ReportSpec, tz: dt.tzinfo):
        self.store, self.playbook, self.tz = store, playbook.id, tz
        self.full = uses_guards(report)
        self.names = sorted(set(variables_of(report)))
        moments = set(moments_of(report))
        self.tasks = sorted(m.partition(":")[2] for m in moments if m.startswith("task:"))
        self.events = sorted(m.partition(":")[2] for m in moments if m.startswith("event:"))

    def _vars(self, text: str) -> dict[str, Any]:
        if self.full:
            found: dict[str, Any] = from_json(text)
            return found
        raw = json.loads(text)
        return {name: decoded(raw[name]) for name in self.names if name in raw}

    def _task_facts(self, rows: list[Sequence[Any]]) -> dict[str, tuple[dt.date | None, bool]]:
        found: dict[str, tuple[dt.date | None, bool]] = {}
        for _instance, task, status, due_date, closed_at in rows:
            if task in found:
                continue  # the first occurrence counts
            done = _date_of(closed_at, self.tz) if status == "done" else None
            due = dt.date.fromisoformat(due_date) if due_date else None
            found[task] = (done, done is not None and (due is None or done <= due))
        return found

    def _event_facts(self, rows: list[Sequence[Any]]) -> dict[str, dt.date]:
        found: dict[str, dt.date] = {}
        for _instance, event, at in rows:
            if event not in found:
                found[event] = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(
                    self.tz).date()
        return found

    def __iter__(self) -> Iterator[Facts]:
        tasks = _Merged(self.store.report_task_rows(self.playbook, self.tasks)) \
            if self.tasks else None
        events = _Merged(self.store.report_event_rows(self.playbook, self.events)) \
            if self.events else None
        tz = self.tz
        for id_, status, outcome, state, started, updated, var_text, _subject in (
                self.store.report_instances(self.playbook)):
            facts = Facts(id_, self.playbook, status, outcome, state, _date_of(started, tz),
                          _date_of(updated, tz) if status == "closed" else None,
                          self._vars(var_text))
            if tasks is not None:
                facts.tasks = self._task_facts(tasks.take(id_))
            if events is not None:
                facts.events = self._event_facts(events.take(id_))
            yield facts


def _report_date(report: ReportSpec, tz: dt.tzinfo) -> Callable[[Facts], dt.date | None]:
    if report.date == "started":
        return lambda f: f.started
    if report.date == "closed":
        return lambda f: f.closed
    name = report.date
    return lambda f: local_date(f.vars.get(name), tz)


def _dimension(name: str, date_of: Callable[[Facts], dt.date | None]) -> Callable[[Facts], Any]:
    if name in TIME_DIMENSIONS:
        def bucket(f: Facts) -> Any:
            day = date_of(f)
            if day is None:
                return NONE
            if name == "month":
                return f"{day.year:04d}-{day.month:02d}"
            if name == "week":
                year, week, _ = day.isocalendar()
                return f"{year:04d}-W{week:02d}"
            return f"{day.year:04d}"
        return bucket
    if name in ("outcome", "status", "state"):
        return lambda f: getattr(f, name) or NONE

    def variable(f: Facts) -> Any:
        value = f.vars.get(name)
        if value is None or value == "":
            return NONE
        return ", ".join(map(str, value)) if isinstance(value, list) else value
    return variable


class _GroupedTable:
    def __init__(self, table: ReportTable, measures: list[CompiledMeasure],
                 where: Predicate | None, date_of: Callable[[Facts], dt.date | None]) -> None:
        self.table, self.measures, self.where = table, measures, where
        self.keys = [_dimension(d, date_of) for d in table.by]
        self.groups: dict[tuple[Any, ...], list[Accumulator]] = {}

    def add(self, f: Facts) -> None:
        if self.where is not None and not self.where(f):
            return
        key = tuple(k(f) for k in self.keys)
        accs = self.groups.get(key)
        if accs is None:
            accs = self.groups[key] = [Accumulator() for _ in self.measures]
        for measure, acc in zip(self.measures, accs, strict=True):
            measure.add(acc, f)

    def result(self) -> Table:
        columns = [Column(d, d) for d in self.table.by]
        columns += [Column(m.spec.name, m.spec.title or m.spec.name.replace("_", " "),
                           m.spec.format) for m in self.measures]
        rows = [[*key, *(m.result(a) for m, a in zip(self.measures, accs, strict=True))]
                for key, accs in sorted(self.groups.items(), key=lambda kv: _sort_key(kv[0]))]
        if not self.table.by and not rows:
            rows = [[m.result(Accumulator()) for m in self.measures]]
        return Table(self.table.title, columns, rows, dimensions=len(self.table.by),
                     chart=self.table.chart,
                     over_time=bool(self.table.by) and self.table.by[0] in TIME_DIMENSIONS)


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value == NONE, str(value)) for value in key)


class _Roster:
    def __init__(self, table: ReportTable, where: Predicate | None,
                 guards: GuardContext) -> None:
        self.table, self.where = table, where
        self.values = [(lambda f, v=c.var: f.vars.get(v)) if c.var
                       else guards.value(c.value or "") for c in table.columns]
        self.rows: list[list[Any]] = []

    def add(self, f: Facts) -> None:
        if self.where is None or self.where(f):
            self.rows.append([value(f) for value in self.values])

    def result(self) -> Table:
        titles = [c.title for c in self.table.columns]
        index = titles.index(self.table.sort) if self.table.sort in titles else 0
        self.rows.sort(key=lambda row: (row[index] is None, str(row[index])))
        columns = [Column(c.var or c.title, c.title.replace("_", " "), _format_of(self.rows, i))
                   for i, c in enumerate(self.table.columns)]
        return Table(self.table.title, columns, self.rows)


def _format_of(rows: list[list[Any]], index: int) -> str:
    values = [row[index] for row in rows if row[index] is not None]
    return "date" if values and all(isinstance(v, dt.date) for v in values) else "text"


def evaluate(store: Store, playbook: Playbook, report: ReportSpec, period: Period,
             settings: dict[str, Any]) -> Section:
    """The tables ``playbook`` declares for ``report`` over ``period``, in one pass."""
    guards = GuardContext(period.today, settings)
    date_of = _report_date(report, period.tz)
    measures = {name: compile_measure(m, period.tz, guards)
                for name, m in report.measures.items()}
    tables: list[_GroupedTable | _Roster] = []
    for table in report.tables:
        where = predicate(table.where, period.tz, guards)
        if table.columns:
            tables.append(_Roster(table, where, guards))
        else:
            tables.append(_GroupedTable(table, [measures[m] for m in table.measures], where,
                                        date_of))
    for facts in FactStream(store, playbook, report, period.tz):
        if not period.holds(date_of(facts)):
            continue
        for target in tables:
            target.add(facts)
    return Section(playbook.id, report.title or playbook.title, report.description,
                   [t.result() for t in tables])
