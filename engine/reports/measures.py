"""What the measure language works on: an instance's :class:`Facts`, its moments (dates), the
guard expressions of filters, and how a measure's figure comes out of a table row.

``compiled`` turns filters and measures into generated functions over :class:`Facts`; the
pieces here that are not plain expressions (moments, days between them, guard expressions run
in the sandbox) are what those functions call.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import sandbox
from ..model import Measure

Predicate = Callable[["Facts"], bool]
Value = Callable[["Facts"], Any]


def date_of(text: str | None, tz: dt.tzinfo) -> dt.date | None:
    """A stored timestamp's practice-local date (None: none stored)."""
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(tz).date()


class Facts:
    """One instance as a report sees it. ``started``/``closed`` are practice-local dates
    (``closed`` None while open), given as dates or as the stored timestamps and ``tz``
    (then converted when first read: most reports never read them); ``tasks`` maps a task
    id to the date its first occurrence was done (None: not done) and whether that was by its
    due date; ``events`` maps an event to the practice-local date it was first fired. Tasks
    and events are loaded only when the report names them. ``day`` is the report's date of
    the instance (what its period and time dimensions go by)."""

    __slots__ = ("id", "playbook", "status", "outcome", "state", "_started", "_closed", "vars",
                 "tasks", "events", "day", "tz")

    def __init__(self, id: str, playbook: str, status: str, outcome: str | None,  # noqa: A002
                 state: str, started: dt.date | str | None, closed: dt.date | str | None,
                 variables: dict[str, Any],
                 tasks: dict[str, tuple[dt.date | None, bool]] | None = None,
                 events: dict[str, dt.date] | None = None, tz: dt.tzinfo = dt.UTC) -> None:
        self.id, self.playbook, self.status, self.outcome = id, playbook, status, outcome
        self.state, self._started, self._closed, self.vars = state, started, closed, variables
        self.tasks = {} if tasks is None else tasks
        self.events = {} if events is None else events
        self.day: dt.date | None = None
        self.tz = tz

    @property
    def started(self) -> dt.date | None:
        found = self._started
        if isinstance(found, str):
            found = self._started = date_of(found, self.tz)
        return found

    @property
    def closed(self) -> dt.date | None:
        found = self._closed
        if isinstance(found, str):
            found = self._closed = date_of(found, self.tz)
        return found


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


def days_between(moments: tuple[str, str], tz: dt.tzinfo) -> Value:
    """The days from the first moment to the second (None when the instance lacks one)."""
    first, second = (moment(m, tz) for m in moments)

    def days(f: Facts) -> int | None:
        b = second(f)  # often none (an open instance's close): then the first is not needed
        if b is None:
            return None
        a = first(f)
        return (b - a).days if a is not None else None
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


@dataclass(frozen=True, slots=True)
class MeasureResult:
    """How a measure's figure comes out of a table row. A row folds each instance's
    contribution (``compiled.contributions``) into a count and a total, and for a median
    into a count per distinct value, so memory is bounded by the distinct values, not by the
    number of instances."""

    spec: Measure

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
