"""The one evaluator of declared reports: a single streaming pass over a playbook's instances.

Each instance (a :class:`Facts` from :class:`FactStream`) is folded into the rows of every
table: memory holds the groups' counts and totals (and a roster's rows), never the instances.
The report is compiled once into plain closures, and the work per instance is shared by the
tables: each measure's contribution is worked out once per instance (not once per table that
shows it), then every table whose conditions the instance meets adds those contributions to
the row of its group.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..loading.reports import TIME_DIMENSIONS
from ..model import Playbook, ReportSpec, ReportTable
from ..store.base import Store
from .compiled import contributions, predicate, row_adder
from .facts import FactStream
from .measures import Facts, GuardContext, MeasureResult, Predicate, local_date
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

    @property
    def unbounded(self) -> bool:
        return self.first is None and self.last is None

    def holds(self, day: dt.date | None) -> bool:
        if day is None:
            return self.unbounded
        return (self.first is None or day >= self.first) and (self.last is None
                                                              or day <= self.last)


def _report_date(report: ReportSpec, tz: dt.tzinfo) -> Callable[[Facts], dt.date | None]:
    if report.date == "started":
        return lambda f: f.started
    if report.date == "closed":
        return lambda f: f.closed
    name = report.date
    return lambda f: local_date(f.vars.get(name), tz)


def _time_bucket(name: str) -> Callable[[dt.date], str]:
    if name == "month":
        return lambda day: f"{day.year:04d}-{day.month:02d}"
    if name == "week":
        def week(day: dt.date) -> str:
            year, number, _ = day.isocalendar()
            return f"{year:04d}-W{number:02d}"
        return week
    return lambda day: f"{day.year:04d}"


def _dimension(name: str) -> Callable[[Facts], Any] | str:
    """The group an instance falls in along dimension ``name``: a function of the instance,
    or for a variable its name (``compiled.row_adder`` reads it)."""
    if name in TIME_DIMENSIONS:
        text_of = _time_bucket(name)
        seen: dict[dt.date, str] = {}  # bounded by the distinct dates

        def bucket(f: Facts) -> Any:
            day = f.day
            if day is None:
                return NONE
            found = seen.get(day)
            if found is None:
                found = seen[day] = text_of(day)
            return found
        return bucket
    if name in ("outcome", "status", "state"):
        return lambda f: getattr(f, name) or NONE
    return name


class _Row:
    """One group's running figures: a count and a total per measure, and per median
    measure a count per distinct value."""

    __slots__ = ("counts", "totals", "values")

    def __init__(self, measures: int, medians: list[int]) -> None:
        self.counts = [0] * measures
        self.totals: list[float] = [0] * measures
        self.values: dict[int, Counter[Any]] = {slot: Counter() for slot in medians}


class _GroupedTable:
    """A table of measures by group. ``slots`` pairs each of its columns with the index of
    the measure's contribution in the list the evaluator works out once per instance."""

    def __init__(self, table: ReportTable, measures: list[MeasureResult],
                 indexes: list[int], where: Predicate | None) -> None:
        self.table, self.measures, self.where = table, measures, where
        self.slots = list(enumerate(indexes))
        self.medians = [slot for slot, m in enumerate(measures) if m.median]
        self.median_slots = [(slot, indexes[slot]) for slot in self.medians]
        self.groups: dict[tuple[Any, ...], _Row] = {}
        self.add = row_adder([_dimension(d) for d in table.by], NONE, self.groups,
                             lambda: _Row(len(self.measures), self.medians),
                             self.slots, self.median_slots)

    def _figures(self, row: _Row) -> list[Any]:
        return [m.result(row.counts[slot], row.totals[slot], row.values.get(slot))
                for slot, m in enumerate(self.measures)]

    def result(self) -> Table:
        columns = [Column(d, d) for d in self.table.by]
        columns += [Column(m.spec.name, m.spec.title or m.spec.name.replace("_", " "),
                           m.spec.format) for m in self.measures]
        rows = [[*key, *self._figures(row)]
                for key, row in sorted(self.groups.items(), key=lambda kv: _sort_key(kv[0]))]
        if not self.table.by and not rows:
            rows = [self._figures(_Row(len(self.measures), self.medians))]
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


class Evaluation:
    """A report compiled for one playbook: ``add`` folds one instance into every table,
    ``tables`` gives the results."""

    def __init__(self, report: ReportSpec, period: Period, guards: GuardContext) -> None:
        self.period = period
        self.date_of = _report_date(report, period.tz)
        used = list(dict.fromkeys(m for t in report.tables if not t.columns for m in t.measures))
        compiled = [MeasureResult(report.measures[m]) for m in used]
        self.contributions = contributions([m.spec for m in compiled], period.tz, guards)
        self.tables: list[_GroupedTable | _Roster] = []
        self.adders: list[tuple[Predicate | None, Callable[[Facts, list[Any]], None]]] = []
        self.rosters: list[_Roster] = []
        for table in report.tables:
            where = predicate(table.where, period.tz, guards)
            if table.columns:
                roster = _Roster(table, where, guards)
                self.tables.append(roster)
                self.rosters.append(roster)
                continue
            indexes = [used.index(m) for m in table.measures]
            grouped = _GroupedTable(table, [compiled[i] for i in indexes], indexes, where)
            self.tables.append(grouped)
            self.adders.append((where, grouped.add))
        self.unfiltered = [add for where, add in self.adders if where is None]
        if len(self.unfiltered) < len(self.adders):
            self.unfiltered.clear()  # some table has conditions: checked per instance

    def add(self, f: Facts) -> None:
        """Fold ``f`` into every table (nothing when its date is outside the period)."""
        f.day = day = self.date_of(f)
        if not (self.period.unbounded or self.period.holds(day)):
            return
        meeting = self.unfiltered or [add for where, add in self.adders
                                      if where is None or where(f)]
        if meeting:
            values = self.contributions(f)
            for add in meeting:
                add(f, values)
        for roster in self.rosters:
            roster.add(f)

    def results(self) -> list[Table]:
        return [t.result() for t in self.tables]


def evaluate(store: Store, playbook: Playbook, report: ReportSpec, period: Period,
             settings: dict[str, Any]) -> Section:
    """The tables ``playbook`` declares for ``report`` over ``period``, in one pass."""
    evaluation = Evaluation(report, period, GuardContext(period.today, settings))
    add = evaluation.add
    for facts in FactStream(store, playbook, report, period.tz):
        add(facts)
    return Section(playbook.id, report.title or playbook.title, report.description,
                   evaluation.results())
