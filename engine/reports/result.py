"""What a report evaluates to: titled tables of plain values, ready for any renderer.

Renderers (``render``: table, CSV, JSON; ``html``: charts and tables) and the web board read
only these dataclasses, never the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("text", "number", "money", "percent", "days", "date")


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its key (JSON and CSV), heading and how values are shown (``FORMATS``)."""

    key: str
    title: str
    format: str = "text"


@dataclass(slots=True)
class Table:
    """One table: ``rows`` hold a value per column (None: no value). ``chart`` names the
    column the HTML charts over the rows (grouped by ``columns[:dimensions]``)."""

    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    dimensions: int = 0
    chart: str | None = None
    over_time: bool = False


@dataclass(slots=True)
class Section:
    """The tables one playbook (or a built-in report) contributes."""

    source: str  # a playbook id, or "built-in"
    title: str
    description: str | None
    tables: list[Table] = field(default_factory=list)


@dataclass(slots=True)
class ReportResult:
    """A report over a period: ``first``/``last`` None mean unbounded."""

    name: str
    title: str
    first: dt.date | None
    last: dt.date | None
    generated_at: dt.datetime
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def period_text(self) -> str:
        if self.first is None and self.last is None:
            return "all time"
        first = self.first.isoformat() if self.first else "the beginning"
        last = self.last.isoformat() if self.last else "now"
        return f"{first} to {last}"


def plain_value(value: Any) -> Any:
    """A value as JSON shows it: dates as ISO text, lists and numbers as they are."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value
