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
    report names them; ``started`` and ``closed`` only when it reads them. ``day`` is the
    report's date of the instance (what its period and time dimensions go by)."""

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
    day: dt.date | None = None


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


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda f: first(f) and second(f)


def predicate(spec: ReportFilter, tz: dt.tzinfo, guards: GuardContext) -> Predicate | None:
    """One predicate for every condition of ``spec`` (None: no condition, every instance):
    the conditions chained in order, each run only when the ones before it held."""
    checks = _conditions(spec, tz)
    if spec.when:
        checks.append(guards.guard(spec.when))  # last: the costly one
    if not checks:
        return None
    found = checks[-1]
    for check in reversed(checks[:-1]):
        found = _both(check, found)
    return found


@dataclass(slots=True)
class CompiledMeasure:
    """A measure ready to stream. ``contribution`` is what one instance adds to a table row
    (None: nothing, the instance is left out): 1 for a ``count``; 1 or 0 (in the share or
    not) for a ``share``; the number for a ``sum``, ``average`` or ``median``. A row folds a
    contribution into a count and a total (and, for a median, a count per distinct value, so
    memory is bounded by the distinct values, not by the number of instances); ``result``
    gives the figure from them."""

    spec: Measure
    contribution: Value

    @property
    def median(self) -> bool:
        return self.spec.kind == "median"

    def result(self, count: int, total: float, values: Counter[Any] | None) -> Any:
        kind = self.spec.kind
        if kind == "count":
            return count
        if kind == "sum":
            return total
        if not count:
            return None
        if kind in ("share", "average"):
            return total / count
        assert values is not None
        return counted_median(values)


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


def _contribution(kind: str, share: Predicate | None, value: Value | None) -> Value:
    if kind == "count":
        return lambda f: 1
    if kind == "share":
        if share is None:
            return lambda f: 1
        return lambda f: 1 if share(f) else 0
    assert value is not None
    return value


def compile_measure(spec: Measure, tz: dt.tzinfo, guards: GuardContext) -> CompiledMeasure:
    """``spec`` as a :class:`CompiledMeasure` (its ``where`` first, then its value)."""
    share = predicate(spec.share, tz, guards) if spec.share is not None else None
    value = quantity(spec.quantity, tz) if spec.quantity is not None else None
    found = _contribution(spec.kind, share, value)
    where = predicate(spec.where, tz, guards)
    if where is None:
        return CompiledMeasure(spec, found)
    return CompiledMeasure(spec, lambda f: found(f) if where(f) else None)
