"""Durations such as ``3 business days``: parsing, checking and adding them to dates and times.

A duration is ``N unit`` (docs/reference.md). Day-based units (days and longer) count from the
practice-local *date* of their start and give a ``date``; minutes and hours give an aware
``datetime`` in the practice time zone, after exactly that much elapsed time. Also here: the
first occurrence of a series ``start + k * duration`` after a moment, found by arithmetic (a
recurring task done years late must not step through every missed occurrence), and a due date
moved off a day the practice is closed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .calendar import BusinessCalendar

UNITS = ("minute", "hour", "day", "business_day", "week", "month", "year")

_DATE_BASED = frozenset({"day", "business_day", "week", "month", "year"})

# how each unit is written, singular, e.g. "business day"
_WORDS = {unit: unit.replace("_", " ") for unit in UNITS}
_UNIT_OF_WORD = {word: unit for unit, word in _WORDS.items()}
_PLURALS = ", ".join(f"{word}s" for word in _WORDS.values())

# "N unit": the amount and the rest, split at the first run of spaces
_SHAPE = re.compile(r"(\S+)\s+(\S.*)", re.ASCII | re.DOTALL)
_AMOUNT = re.compile(r"[0-9]+", re.ASCII)
# a {{ ... }} template in place of N, as playbooks may write "{{ settings.window }} days"
_TEMPLATE_AMOUNT = re.compile(r"\{\{(?:(?!\}\}).)*(?!\}\})\S(?:(?!\}\}).)*\}\}", re.DOTALL)
_TEMPLATE_SHAPE = re.compile(
    r"\s*(" + _TEMPLATE_AMOUNT.pattern + r")\s+(\S.*?)\s*", re.ASCII | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Duration:
    """A whole number of one unit, e.g. ``Duration(3, "business_day")``."""

    amount: int
    unit: str  # one of UNITS

    def __post_init__(self) -> None:
        """Refuse a unit outside ``UNITS`` and a negative amount."""
        if self.unit not in UNITS:
            raise DurationError(f"unknown duration unit {self.unit!r}: must be one of {UNITS}")
        if self.amount < 0:
            raise DurationError(f"duration amount must be 0 or more, got {self.amount}")

    @property
    def is_date_based(self) -> bool:
        """Whether the duration counts dates (days and longer) rather than elapsed time."""
        return self.unit in _DATE_BASED

    def __str__(self) -> str:
        """As a playbook writes it: ``3 business days``, ``1 month``."""
        word = _WORDS[self.unit]
        return f"{self.amount} {word}" if self.amount == 1 else f"{self.amount} {word}s"


class DurationError(ValueError):
    """A duration that cannot be parsed or whose result is out of range."""


def _unit_of(words: str) -> str | None:
    """The unit named by ``words`` (singular or plural, any case and spacing), or ``None``."""
    word = " ".join(words.lower().split())
    if word.endswith("s"):
        word = word[:-1]
    return _UNIT_OF_WORD.get(word)


def _unit_hint(words: str) -> str:
    """`` (did you mean 'business days'?)`` for a near-miss unit, else nothing."""
    plural = " ".join(words.lower().split())
    import difflib  # only for the error message

    close = difflib.get_close_matches(plural, [f"{w}s" for w in _WORDS.values()], n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_duration(text: str) -> Duration:
    """Parse ``N unit``, e.g. ``3 business days`` or ``1 Month``.

    N is a decimal integer of 0 or more; the unit is singular or plural, in any case; spaces
    around the whole are ignored. Anything else raises :class:`DurationError` saying what is
    wrong.
    """
    if not isinstance(text, str):
        raise DurationError(f"bad duration {text!r}: expected text like '3 business days'")
    return _parsed(text)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Duration:
    """:func:`parse_duration` of text, kept: a playbook's durations are a handful of texts
    parsed again at every step (a refused text raises and is not kept)."""
    shape = _SHAPE.fullmatch(text.strip())
    if shape is None:
        raise DurationError(
            f"bad duration {text!r}: expected a number and a unit, like '3 business days'"
        )
    amount, words = shape.groups()
    if _AMOUNT.fullmatch(amount) is None:
        raise DurationError(
            f"bad duration {text!r}: the number {amount!r} must be a whole number, 0 or more"
        )
    unit = _unit_of(words)
    if unit is None:
        raise DurationError(
            f"bad duration {text!r}: unit must be one of {_PLURALS}{_unit_hint(words)}"
        )
    return Duration(int(amount), unit)


def is_duration_text(text: object) -> bool:
    """Whether ``text`` is ``N unit`` where N may also be a ``{{ ... }}`` template.

    A syntactic check for validation: ``"{{ settings.window }} days"`` passes, and so does
    everything :func:`parse_duration` accepts.
    """
    if not isinstance(text, str):
        return False
    templated = _TEMPLATE_SHAPE.fullmatch(text)
    if templated is not None:
        return _unit_of(templated.group(2)) is not None
    try:
        parse_duration(text)
    except DurationError:
        return False
    return True


def _local_date(start: date | datetime, tz: tzinfo) -> date:
    """The practice-local date of ``start``; a naive datetime is already local."""
    if isinstance(start, datetime):
        if start.tzinfo is not None and start.utcoffset() is not None:
            return start.astimezone(tz).date()
        return start.date()
    return start


def _local_datetime(start: date | datetime, tz: tzinfo) -> datetime:
    """``start`` as an aware datetime: a date is its local midnight, a naive time is local."""
    if isinstance(start, datetime):
        if start.tzinfo is not None and start.utcoffset() is not None:
            return start
        return start.replace(tzinfo=tz)
    return datetime.combine(start, time(0), tzinfo=tz)


def add(
    start: date | datetime,
    duration: Duration,
    calendar: BusinessCalendar,
    tz: tzinfo,
    sign: int = 1,
) -> date | datetime:
    """``start`` plus ``duration`` (or minus it when ``sign`` is -1), as docs/reference.md says.

    Day-based units count from the practice-local date of ``start`` (in ``tz``) and give a
    ``date``: business days skip the calendar's weekends, holidays and closed dates; days and
    weeks are calendar days; months and years clamp to the month's end (Jan 31 + 1 month is
    Feb 28 or 29). Minutes and hours give an aware ``datetime`` in ``tz`` exactly that much
    elapsed time later, across DST changes; a date starts at its local midnight and a naive
    datetime is read as local time. A result outside the supported years raises
    :class:`DurationError`.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 or -1, got {sign}")
    n = sign * duration.amount
    try:
        return _add(start, duration.unit, n, calendar, tz)
    except OverflowError as e:
        op = "+" if sign == 1 else "-"
        raise DurationError(f"{start} {op} {duration} is out of range") from e


def _add(
    start: date | datetime, unit: str, n: int, calendar: BusinessCalendar, tz: tzinfo
) -> date | datetime:
    """``start`` plus ``n`` units (``n`` may be negative); ``OverflowError`` when out of range."""
    if unit in ("minute", "hour"):
        begin = _local_datetime(start, tz)
        step = timedelta(minutes=n) if unit == "minute" else timedelta(hours=n)
        # through UTC: adding a timedelta to an aware datetime would keep the wall clock
        return (begin.astimezone(UTC) + step).astimezone(tz)
    d = _local_date(start, tz)
    if unit == "business_day":
        return calendar.add_business_days(d, n)
    if unit == "day":
        return d + timedelta(days=n)
    if unit == "week":
        return d + timedelta(weeks=n)
    from dateutil.relativedelta import relativedelta  # months, years only

    try:
        return d + relativedelta(months=n) if unit == "month" else d + relativedelta(years=n)
    except ValueError as e:  # relativedelta reports "year 10000 is out of range" so
        raise OverflowError(str(e)) from e


def series_index_after(
    start: date | datetime,
    every: Duration,
    first: int,
    now: datetime,
    calendar: BusinessCalendar,
    tz: tzinfo,
) -> int:
    """The least ``k >= first`` whose ``add(start, k * every)`` is after ``now``.

    For minutes and hours, "after" is a later moment than ``now``; for day-based units, a
    later date than ``now``'s practice-local date (docs/reference.md, recurring tasks: the next
    occurrence is the first date of the series after the completion date). ``k`` is computed,
    not searched for: integer division of the elapsed time (minutes, hours, days, weeks), the
    calendar's count of business days, or the difference in months (months, years), then at
    most a step or two to settle a month-end clamp. ``every`` must be positive (a zero period
    never moves on: ``ValueError``); a series date past the year 9999 raises
    :class:`DurationError`.
    """
    if every.amount <= 0:
        raise ValueError(f"a series needs a positive period, got {every}")
    if every.unit in ("minute", "hour"):
        period = timedelta(minutes=every.amount if every.unit == "minute" else 60 * every.amount)
        begin = _local_datetime(start, tz).astimezone(UTC)
        return max(first, (now.astimezone(UTC) - begin) // period + 1)
    origin, today = _local_date(start, tz), _local_date(now, tz)
    if every.unit in ("day", "week"):
        days = every.amount if every.unit == "day" else 7 * every.amount
        return max(first, (today - origin).days // days + 1)
    if every.unit == "business_day":
        # the j-th business day after ``origin`` is after ``today`` exactly when j is more than
        # the business days in (origin, today]
        elapsed = calendar.business_days_between(origin, today)
        return max(first, elapsed // every.amount + 1)
    return _months_index_after(origin, every, first, today, calendar, tz)


def _months_index_after(origin: date, every: Duration, first: int, today: date,
                        calendar: BusinessCalendar, tz: tzinfo) -> int:
    """``series_index_after`` for months and years: whole months between the dates, then the
    month-end clamp settled by comparing the candidate dates themselves."""
    months = every.amount if every.unit == "month" else 12 * every.amount
    elapsed = (today.year - origin.year) * 12 + (today.month - origin.month)
    k = max(first, elapsed // months)

    def after(index: int) -> bool:
        return add(origin, Duration(index * every.amount, every.unit), calendar, tz) > today

    while not after(k):
        k += 1
    while k > first and after(k - 1):
        k -= 1
    return k


def off_closed_day(
    due: date | datetime, calendar: BusinessCalendar, tz: tzinfo, backwards: bool
) -> date | datetime:
    """``due`` moved to a business day when its practice-local date is not one.

    It moves to the previous business day when ``backwards`` (a due counted back, ``before``),
    else to the next one; a datetime keeps its local time of day (docs/reference.md, due dates
    on closed days). A due on a business day is returned as it is.
    """
    day = _local_date(due, tz)
    if calendar.is_business_day(day):
        return due
    moved = calendar.previous_business_day(day) if backwards else calendar.next_business_day(day)
    if isinstance(due, datetime):
        local = _local_datetime(due, tz).astimezone(tz)
        return datetime.combine(moved, local.time(), tzinfo=tz)
    return moved
