"""The ``reports:`` section of a playbook: building its model and checking its meaning.

JSON Schema checks the shape (``$defs/report`` in schemas/playbook.schema.json); this module
checks what the schema cannot: every variable, outcome, state, event, task and measure a report
names exists in the playbook, guard expressions parse and use known names, and the built-in
report names are used only as documented (``deadlines`` declares ``dates`` only, ``workload``
is not declared at all). Each problem is a located issue, like every other semantic check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from jinja2.exceptions import TemplateSyntaxError

from .. import sandbox
from ..errors import did_you_mean
from ..model import Measure, Quantity, ReportFilter, ReportSpec, ReportTable, RosterColumn

if TYPE_CHECKING:
    from .semantics import PlaybookChecker
    from .yamlsource import JsonPath

TIME_DIMENSIONS = ("month", "week", "year")
BUILTIN_DIMENSIONS = (*TIME_DIMENSIONS, "outcome", "status", "state")
BUILTIN_REPORTS = ("workload", "deadlines")
# names a report's guard expressions and roster values may use besides the variables
GUARD_NAMES = frozenset({"today", "state", "status", "outcome", "settings", "true", "false",
                         "none", "True", "False", "None"})
CANCELLED = "cancelled"  # the outcome `frontdesk cancel` gives
KINDS = ("count", "sum", "median", "average", "share")


# -- building --------------------------------------------------------------------------------
def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _allowed(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def build_filter(data: Mapping[str, Any] | None) -> ReportFilter:
    data = data or {}
    before = data.get("before")
    return ReportFilter(outcome=_strings(data.get("outcome")), status=data.get("status"),
                        state=_strings(data.get("state")), has=_strings(data.get("has")),
                        missing=_strings(data.get("missing")),
                        equal=tuple((str(k), _allowed(v))
                                    for k, v in (data.get("equal") or {}).items()),
                        event=_strings(data.get("event")), done=_strings(data.get("done")),
                        on_time=_strings(data.get("on_time")),
                        before=(str(before[0]), str(before[1])) if before else None,
                        when=data.get("when"))


def build_quantity(value: Any) -> Quantity:
    if isinstance(value, str):
        return Quantity(var=value)
    first, second = value["days"]
    return Quantity(days=(str(first), str(second)))


def build_measure(name: str, data: Mapping[str, Any]) -> Measure:
    kind = next(k for k in KINDS if k in data)
    quantity = build_quantity(data[kind]) if kind in ("sum", "median", "average") else None
    share = build_filter(data["share"]) if kind == "share" else None
    return Measure(name=name, kind=kind, where=build_filter(data), quantity=quantity,
                   share=share, title=data.get("title"),
                   format="percent" if kind == "share" else data.get("format", "number"))


def _column(value: Any) -> RosterColumn:
    if isinstance(value, str):
        return RosterColumn(title=value, var=value)
    return RosterColumn(title=str(value["title"]), value=str(value["value"]))


def build_table(data: Mapping[str, Any]) -> ReportTable:
    return ReportTable(title=str(data["title"]), by=_strings(data.get("by")),
                       measures=_strings(data.get("measures")), chart=data.get("chart"),
                       columns=tuple(_column(c) for c in data.get("columns") or ()),
                       sort=data.get("sort"), where=build_filter(data.get("where")))


def build_reports(data: Mapping[str, Any] | None) -> dict[str, ReportSpec]:
    """The ``reports`` of a validated playbook document."""
    reports: dict[str, ReportSpec] = {}
    for name, spec in (data or {}).items():
        reports[name] = ReportSpec(
            name=name, title=spec.get("title"), description=spec.get("description"),
            date=spec.get("date", "started"),
            measures={m: build_measure(m, body)
                      for m, body in (spec.get("measures") or {}).items()},
            tables=tuple(build_table(t) for t in spec.get("tables") or ()),
            dates=dict(spec.get("dates") or {}))
    return reports


# -- checking --------------------------------------------------------------------------------
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class ReportChecker:
    """The semantic issues of a playbook's ``reports``, added to a ``PlaybookChecker``."""

    def __init__(self, checker: PlaybookChecker) -> None:
        self.c = checker
        states = checker.states
        self.outcomes = {str(_dict(s).get("outcome")) for s in states.values()
                         if _dict(s).get("outcome") is not None} | {CANCELLED}
        self.events = {e for s in states.values() for e in _dict(_dict(s).get("on"))}
        self.tasks = {t["id"] for _s, _p, t in checker._tasks()
                      if isinstance(t, dict) and isinstance(t.get("id"), str)}

    def check(self, reports: Any) -> None:
        for name, report in _dict(reports).items():
            path: JsonPath = ("reports", name)
            report = _dict(report)
            if name == "workload":
                self.c.error(path, "builtin-report", "'workload' is a built-in report "
                             "(every playbook's tasks): a playbook cannot declare it",
                             "choose another name", key=True)
            elif name == "deadlines" and "tables" in report:
                self.c.error(path, "builtin-report", "'deadlines' is a built-in report: a "
                             "playbook adds to it with 'dates' only", key=True)
            elif name != "deadlines" and "dates" in report:
                self.c.error((*path, "dates"), "report-dates",
                             "'dates' belongs in a report named 'deadlines'", key=True)
            for var in _dict(report.get("dates")):
                self._variable((*path, "dates", var), var, key=True)
            self._check_report(path, report)

    def _check_report(self, path: JsonPath, report: dict[str, Any]) -> None:
        date = report.get("date")
        if isinstance(date, str) and date not in ("started", "closed"):
            self._variable((*path, "date"), date)
        measures = _dict(report.get("measures"))
        for name, measure in measures.items():
            self._measure((*path, "measures", name), _dict(measure))
        for i, table in enumerate(_list(report.get("tables"))):
            self._table((*path, "tables", i), _dict(table), set(measures))

    def _measure(self, path: JsonPath, measure: dict[str, Any]) -> None:
        self._filter(path, measure)
        if isinstance(measure.get("share"), dict):
            self._filter((*path, "share"), measure["share"])
        for kind in ("sum", "median", "average"):
            value = measure.get(kind)
            if isinstance(value, str):
                self._variable((*path, kind), value)
            for i, moment in enumerate(_list(_dict(value).get("days"))):
                self._moment((*path, kind, "days", i), moment)

    def _table(self, path: JsonPath, table: dict[str, Any], measures: set[str]) -> None:
        self._filter((*path, "where"), _dict(table.get("where")))
        for i, dim in enumerate(_list(table.get("by"))):
            if isinstance(dim, str) and dim not in BUILTIN_DIMENSIONS:
                self._variable((*path, "by", i), dim)
        shown = _list(table.get("measures"))
        for i, name in enumerate(shown):
            if isinstance(name, str) and name not in measures:
                self.c.error((*path, "measures", i), "unknown-measure",
                             f"unknown measure '{name}'",
                             did_you_mean(name, measures) or "declare it under 'measures'")
        chart = table.get("chart")
        if isinstance(chart, str) and chart not in shown:
            self.c.error((*path, "chart"), "unknown-measure",
                         f"chart: '{chart}' is not one of this table's measures",
                         did_you_mean(chart, [m for m in shown if isinstance(m, str)]))
        titles = []
        for i, column in enumerate(_list(table.get("columns"))):
            if isinstance(column, str):
                self._variable((*path, "columns", i), column)
                titles.append(column)
            elif isinstance(column, dict):
                self._expression((*path, "columns", i, "value"), column.get("value"))
                titles.append(str(column.get("title")))
        sort = table.get("sort")
        if isinstance(sort, str) and titles and sort not in titles:
            self.c.error((*path, "sort"), "unknown-column", f"sort: no column '{sort}'",
                         did_you_mean(sort, titles))

    def _filter(self, path: JsonPath, conditions: dict[str, Any]) -> None:
        self._known(path, conditions, "outcome", self.outcomes, "a final state's outcome")
        self._known(path, conditions, "state", set(self.c.states), "a state")
        self._known(path, conditions, "event", self.events, "an event of some state's 'on'")
        for key in ("has", "missing"):
            for i, var in enumerate(_list(conditions.get(key))):
                self._variable((*path, key, i), var)
        for var in _dict(conditions.get("equal")):
            self._variable((*path, "equal", var), var, key=True)
        for key in ("done", "on_time"):
            for i, task in enumerate(_list(conditions.get(key))):
                self._moment((*path, key, i), f"task:{task}")
        for i, moment in enumerate(_list(conditions.get("before"))):
            self._moment((*path, "before", i), moment)
        self._expression((*path, "when"), conditions.get("when"))

    def _known(self, path: JsonPath, conditions: dict[str, Any], key: str, known: set[str],
               what: str) -> None:
        for i, value in enumerate(_list(conditions.get(key))):
            if isinstance(value, str) and value not in known:
                self.c.error((*path, key, i), f"unknown-{key}", f"{key}: unknown {key} '{value}'",
                             did_you_mean(value, known) or f"use {what}")

    def _moment(self, path: JsonPath, moment: Any) -> None:
        if not isinstance(moment, str) or moment in ("started", "closed"):
            return
        kind, _, name = moment.partition(":")
        if not name:
            self._variable(path, moment)
        elif kind == "task" and name not in self.tasks:
            self.c.error(path, "unknown-task", f"unknown task '{name}'",
                         did_you_mean(name, {t for t in self.tasks if isinstance(t, str)}))
        elif kind == "event" and name not in self.events:
            self.c.error(path, "unknown-event", f"unknown event '{name}'",
                         did_you_mean(name, self.events))

    def _variable(self, path: JsonPath, name: Any, key: bool = False) -> None:
        if isinstance(name, str) and name not in self.c.variables:
            self.c.error(path, "unknown-variable", f"unknown variable '{name}'",
                         did_you_mean(name, self.c.variables)
                         or "use an input, field or 'set' variable", key=key)

    def _expression(self, path: JsonPath, text: Any) -> None:
        if not isinstance(text, str):
            return
        try:
            usage = sandbox.usage_of(sandbox.parse_expression(text))
        except TemplateSyntaxError as exc:
            self.c._syntax(path, exc, "expression")
            return
        known = self.c.variables | GUARD_NAMES
        for name in sorted(usage.names - known):
            self.c.error(path, "unknown-name", f"unknown name '{name}' (a report's expressions "
                         "see the variables, today, state, status, outcome and settings)",
                         did_you_mean(name, known))
        for name in sorted(usage.settings - self.c.settings):
            self.c.error(path, "unknown-setting", f"unknown setting '{name}'",
                         did_you_mean(name, self.c.settings))


def variables_of(report: ReportSpec) -> Iterator[str]:
    """Every variable a report reads (what the evaluator takes from each instance)."""
    yield from report.dates
    if report.date not in ("started", "closed"):
        yield report.date
    for measure in report.measures.values():
        yield from _filter_vars(measure.where)
        if measure.share:
            yield from _filter_vars(measure.share)
        if measure.quantity and measure.quantity.var:
            yield measure.quantity.var
        for moment in (measure.quantity.days or ()) if measure.quantity else ():
            if moment not in ("started", "closed") and ":" not in moment:
                yield moment
    for table in report.tables:
        yield from (d for d in table.by if d not in BUILTIN_DIMENSIONS)
        yield from _filter_vars(table.where)
        yield from (c.var for c in table.columns if c.var)


def _filter_vars(conditions: ReportFilter) -> Iterator[str]:
    yield from conditions.has
    yield from conditions.missing
    yield from (var for var, _values in conditions.equal)
    yield from (m for m in conditions.before or () if m not in ("started", "closed")
                and ":" not in m)


def moments_of(report: ReportSpec) -> Iterator[str]:
    """Every ``task:ID`` and ``event:NAME`` a report needs (tasks and events to load)."""
    filters = [t.where for t in report.tables]
    for measure in report.measures.values():
        filters.append(measure.where)
        if measure.share:
            filters.append(measure.share)
        if measure.quantity and measure.quantity.days:
            yield from (m for m in measure.quantity.days if ":" in m)
    for conditions in filters:
        yield from (f"task:{t}" for t in (*conditions.done, *conditions.on_time))
        yield from (f"event:{e}" for e in conditions.event)
        yield from (m for m in conditions.before or () if ":" in m)


def uses_guards(report: ReportSpec) -> bool:
    """Whether any expression of the report runs (it then sees every variable)."""
    filters = [t.where for t in report.tables]
    for measure in report.measures.values():
        filters += [measure.where, *([measure.share] if measure.share else [])]
    return any(f.when for f in filters) or any(c.value for t in report.tables
                                                 for c in t.columns)
