"""The measure language compiled to plain Python: filters become predicates, quantities value
functions, measures accumulators.

Everything here runs once per instance of a large store, so each declaration is compiled once
into a closure and the cheap conditions (outcome, status, variables set) run before a guard
expression, which runs in the sandbox and only on the instances that got that far.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import sandbox
from ..model import Measure, Quantity, ReportFilter

Predicate = Callable[["Facts"], bool]
Value = Callable[["Facts"], Any]


@dataclass(slots=True)
class Facts:
    """One instance as a report sees it. ``started``/``closed`` are practice-local dates
    (``closed`` None while open); ``tasks`` maps a task id to the date its first occurrence
    was done (None: not done) and whether that was by its due date; ``events`` maps an event
    to the practice-local date it was first fired. Tasks and events are loaded only when the
    report names them."""

    id: str
    playbook: str
    status: str
    outcome: str | None
    state: str
    started: dt.date | None
    closed: dt.date | None
    vars: dict[str, Any]
    tasks: dict[str, tuple[dt.date | None, bool]] = field(default_factory=dict)
    events: dict[str, dt.date] = field(default_factory=dict)


def is_set(value: Any) -> bool:
    """Whether a variable holds something: not missing, null, empty text or an empty list."""
    return value is not None and value != "" and value != [] and value != {}


def local_date(value: Any, tz: dt.tzinfo) -> dt.date | None:
    """A date, or a datetime's practice-local date; anything else None."""
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return None


def moment(name: str, tz: dt.tzinfo) -> Value:
    """The practice-local date of a moment (``started``, ``closed``, a variable, ``task:ID``,
    ``event:NAME``), None when the instance has none."""
    if name == "started":
        return lambda f: f.started
    if name == "closed":
        return lambda f: f.closed
    kind, _, rest = name.partition(":")
    if kind == "task" and rest:
        return lambda f: (f.tasks.get(rest) or (None, False))[0]
    if kind == "event" and rest:
        return lambda f: f.events.get(rest)
    return lambda f: local_date(f.vars.get(name), tz)


def quantity(spec: Quantity, tz: dt.tzinfo) -> Value:
    """The number a ``sum``/``median``/``average`` takes of an instance (None: left out)."""
    if spec.var is not None:
        var = spec.var

        def number(f: Facts) -> Any:
            value = f.vars.get(var)
            return value if isinstance(value, int | float) and not isinstance(value, bool) \
                else None
        return number
    assert spec.days is not None
    first, second = (moment(m, tz) for m in spec.days)

    def days(f: Facts) -> int | None:
        a, b = first(f), second(f)
        return (b - a).days if a is not None and b is not None else None
    return days


class GuardContext:
    """Compiles a filter's ``when`` once and runs it with the instance's variables."""

    def __init__(self, today: dt.date, settings: dict[str, Any]) -> None:
        self.today = today
        self.settings = settings

    def guard(self, text: str) -> Predicate:
        run = sandbox.compile_expression(text)

        def holds(f: Facts) -> bool:
            names = {**f.vars, "today": self.today, "state": f.state, "status": f.status,
                     "outcome": f.outcome, "settings": self.settings}
            try:
                return bool(run(**names))
            except Exception:  # noqa: BLE001 - e.g. a variable this instance never got,
                return False  # a sandbox or size limit: the condition does not hold
        return holds

    def value(self, text: str) -> Value:
        """A roster column's expression; None when it fails on an instance."""
        run = sandbox.compile_expression(text)

        def compute(f: Facts) -> Any:
            names = {**f.vars, "today": self.today, "state": f.state, "status": f.status,
                     "outcome": f.outcome, "settings": self.settings}
            try:
                return run(**names)
            except Exception:  # noqa: BLE001 - as in ``guard``: no value for this instance
                return None
        return compute


def _contains(key: str, values: tuple[str, ...]) -> Predicate:
    wanted = frozenset(values)
    return lambda f: getattr(f, key) in wanted


def _conditions(spec: ReportFilter, tz: dt.tzinfo) -> list[Predicate]:
    return [*_instance_conditions(spec), *_history_conditions(spec, tz)]


def _instance_conditions(spec: ReportFilter) -> list[Predicate]:
    """Conditions on the instance's status, outcome, state and variables."""
    checks: list[Predicate] = []
    if spec.status:
        status = spec.status
        checks.append(lambda f: f.status == status)
    if spec.outcome:
        checks.append(_contains("outcome", spec.outcome))
    if spec.state:
        checks.append(_contains("state", spec.state))
    for var in spec.has:
        checks.append(lambda f, v=var: is_set(f.vars.get(v)))  # type: ignore[misc]
    for var in spec.missing:
        checks.append(lambda f, v=var: not is_set(f.vars.get(v)))  # type: ignore[misc]
    for var, allowed in spec.equal:
        checks.append(lambda f, v=var, a=allowed: f.vars.get(v) in a)  # type: ignore[misc]
    return checks


def _history_conditions(spec: ReportFilter, tz: dt.tzinfo) -> list[Predicate]:
    """Conditions on events fired, tasks done and moments."""
    checks: list[Predicate] = []
    if spec.event:
        events = spec.event
        checks.append(lambda f: any(e in f.events for e in events))
    for task in spec.done:
        checks.append(lambda f, t=task: (f.tasks.get(t) or (None, False))[0] is not None)  # type: ignore[misc]
    for task in spec.on_time:
        checks.append(lambda f, t=task: (f.tasks.get(t) or (None, False))[1])  # type: ignore[misc]
    if spec.before:
        first, second = (moment(m, tz) for m in spec.before)

        def before(f: Facts) -> bool:
            a, b = first(f), second(f)
            return a is not None and b is not None and a <= b
        checks.append(before)
    return checks


def predicate(spec: ReportFilter, tz: dt.tzinfo, guards: GuardContext) -> Predicate | None:
    """One predicate for every condition of ``spec`` (None: no condition, every instance)."""
    checks = _conditions(spec, tz)
    if spec.when:
        checks.append(guards.guard(spec.when))  # last: the costly one
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda f: all(check(f) for check in checks)


class Accumulator:
    """One measure's running figure for one table row."""

    __slots__ = ("count", "total", "values")

    def __init__(self) -> None:
        self.count = 0
        self.total: float = 0
        self.values: Counter[Any] | None = None


@dataclass(slots=True)
class CompiledMeasure:
    """A measure ready to stream: ``add`` folds one instance into an accumulator; ``result``
    gives the figure. Medians keep a count per distinct value (days or amounts), so memory is
    bounded by the distinct values, not by the number of instances."""

    spec: Measure
    where: Predicate | None
    value: Value | None
    share: Predicate | None

    def add(self, acc: Accumulator, f: Facts) -> None:
        if self.where is not None and not self.where(f):
            return
        kind = self.spec.kind
        if kind == "count":
            acc.count += 1
        elif kind == "share":
            acc.count += 1
            if self.share is None or self.share(f):
                acc.total += 1
        else:
            assert self.value is not None
            number = self.value(f)
            if number is None:
                return
            acc.count += 1
            acc.total += number
            if kind == "median":
                if acc.values is None:
                    acc.values = Counter()
                acc.values[number] += 1

    def result(self, acc: Accumulator) -> Any:
        kind = self.spec.kind
        if kind == "count":
            return acc.count
        if kind == "sum":
            return acc.total
        if not acc.count:
            return None
        if kind == "share":
            return acc.total / acc.count
        if kind == "average":
            return acc.total / acc.count
        assert acc.values is not None
        return counted_median(acc.values)


def counted_median(values: Counter[Any]) -> Any:
    """The median of a multiset given as value -> count (``statistics.median`` semantics)."""
    total = sum(values.values())
    ordered = sorted(values.items())
    middle = [(total - 1) // 2, total // 2]
    found: list[Any] = []
    seen = 0
    for value, count in ordered:
        while len(found) < 2 and middle[len(found)] < seen + count:
            found.append(value)
        seen += count
        if len(found) == 2:
            break
    return statistics.mean(found) if found[0] != found[1] else found[0]


def compile_measure(spec: Measure, tz: dt.tzinfo, guards: GuardContext) -> CompiledMeasure:
    share = predicate(spec.share, tz, guards) if spec.share is not None else None
    value = quantity(spec.quantity, tz) if spec.quantity is not None else None
    return CompiledMeasure(spec, predicate(spec.where, tz, guards), value, share)
