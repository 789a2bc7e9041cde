"""The practice's business calendar: Mon-Fri minus holidays and closed dates.

Business-day arithmetic for durations such as ``3 business days``, for the expression helpers
``next_business_day`` and ``business_days_between``, and for moving a task's due date off a
closed day (docs/reference.md). Holidays come from a ``HolidaysForYear`` function, usually
:func:`package_holidays`, asked once per year and cached. The ``holidays`` package is imported
only when holidays are actually computed, because importing it costs about 100 ms and most
commands never need it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import date, timedelta

HolidaysForYear = Callable[[int], frozenset[date]]
"""Gives the holiday dates that fall in one calendar year."""

_SUGGESTED_COUNTRY = "US"
_ONE_DAY = timedelta(days=1)


def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Ask the ``holidays`` package for one year, turning its refusals into ``ValueError``."""
    import holidays  # lazy: see the module docstring

    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as e:
        raise ValueError(_region_problem(country, subdivision)) from e
    return frozenset(d for d in found if d.year == year)


def _region_problem(country: str, subdivision: str | None) -> str:
    """Explain why the ``holidays`` package refused a country or subdivision."""
    import holidays  # lazy: see the module docstring

    supported = holidays.list_supported_countries(include_aliases=True)
    if country not in supported:
        message = f"unknown country code {country!r}"
        if country.upper() in supported:
            return f"{message} (did you mean {country.upper()!r}?)"
        return f"{message} (use a code the holidays package supports, e.g. {_SUGGESTED_COUNTRY!r})"
    known = supported[country]
    message = f"unknown subdivision {subdivision!r} for country {country!r}"
    if subdivision is not None and subdivision.upper() in known:
        return f"{message} (did you mean {subdivision.upper()!r}?)"
    if known:
        return f"{message} (known: {', '.join(known)})"
    return f"{message} (it has no subdivisions)"


def check_region(country: str = "US", subdivision: str | None = None) -> None:
    """Raise ``ValueError`` unless the ``holidays`` package knows this country and subdivision.

    :func:`package_holidays` reports a bad region only when holidays are first computed; a
    config validator calls this to report it up front (it imports ``holidays``).
    """
    import holidays  # lazy: see the module docstring

    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError as e:
        raise ValueError(_region_problem(country, subdivision)) from e


def package_holidays(country: str = "US", subdivision: str | None = None) -> HolidaysForYear:
    """Holidays from the ``holidays`` package, memoised per year.

    Observed dates are included, as ``holidays.country_holidays`` gives them (Independence Day
    2026 on a Saturday is observed on Friday 2026-07-03). Nothing is imported or checked until
    the returned function is first called; a country or subdivision the package does not know
    then raises ``ValueError`` (see :func:`check_region` to check it earlier).
    """
    memo: dict[int, frozenset[date]] = {}

    def holidays_for_year(year: int) -> frozenset[date]:
        """The holidays of ``year`` in the chosen country and subdivision."""
        if year not in memo:
            memo[year] = _country_holidays(country, subdivision, year)
        return memo[year]

    return holidays_for_year


def holidays_package_version() -> str:
    """The installed ``holidays`` package's version, read from its ``dist-info`` folder name
    without importing it (``importlib.metadata`` alone costs tens of milliseconds)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("holidays")
    if spec is None or spec.origin is None:
        return "missing"
    package = os.path.dirname(spec.origin)
    site = os.path.dirname(package)
    for name in os.listdir(site):
        if name.startswith("holidays-") and name.endswith(".dist-info"):
            return name[len("holidays-"):-len(".dist-info")]
    stat = os.stat(spec.origin)  # not installed from a wheel: key by the source file itself
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def calendar_key(country: str, subdivision: str | None) -> str:
    """What a year's holidays depend on: the region and the ``holidays`` release."""
    return f"{country}/{subdivision or ''}/holidays-{holidays_package_version()}"


def _no_holidays(year: int) -> frozenset[date]:
    """A calendar without holidays: only weekends are off."""
    return frozenset()


# Ordinal offsets count days from Monday 0001-01-01 (date.toordinal() == 1), so an offset's
# weekday is ``offset % 7`` and weekdays can be counted and found with plain arithmetic.


def _offset(d: date) -> int:
    """Days from Monday 0001-01-01 to ``d``."""
    return d.toordinal() - 1


def _from_offset(offset: int) -> date:
    """The date ``offset`` days after Monday 0001-01-01; ``OverflowError`` past the years 1-9999."""
    if not 0 <= offset < date.max.toordinal():
        raise OverflowError("date value out of range")
    return date.fromordinal(offset + 1)


def _weekdays_before(offset: int) -> int:
    """How many Mon-Fri days have offsets in ``[0, offset)``."""
    weeks, rest = divmod(offset, 7)
    return 5 * weeks + min(rest, 5)


def _weekday_at(index: int) -> int:
    """The offset of the weekday that has ``index`` weekdays before it."""
    weeks, rest = divmod(index, 5)
    return 7 * weeks + rest


class BusinessCalendar:
    """Business days: Monday to Friday, minus holidays and the practice's closed dates.

    Holidays are asked from ``holidays_for_year`` one year at a time, when a date of that year
    is first looked at, and cached in the instance. ``None`` means no holidays at all.
    """

    def __init__(
        self, holidays_for_year: HolidaysForYear | None = None, closed: Iterable[date] = ()
    ) -> None:
        """Build a calendar from a holiday source and extra closed dates."""
        self._holidays_for_year = holidays_for_year or _no_holidays
        self._closed: dict[int, set[date]] = {}
        for d in closed:
            self._closed.setdefault(d.year, set()).add(d)
        # year -> sorted offsets of the Mon-Fri dates of that year that are not business days
        self._off_by_year: dict[int, list[int]] = {}
        self._off_sets: dict[int, frozenset[int]] = {}

    def _off(self, year: int) -> list[int]:
        """Sorted offsets of the weekdays of ``year`` that are holidays or closed."""
        off = self._off_by_year.get(year)
        if off is None:
            from .. import limits  # lazy: it imports jinja2, which most commands never need

            # A template or a duration that spans centuries would compute holidays for every
            # year of them (milliseconds each): each new year is charged to the running
            # step's work budget, so it is refused in bounded time (once: it is cached).
            limits.charge_kept(limits.CALENDAR_YEAR_COST)
            days = set(self._holidays_for_year(year)) | self._closed.get(year, set())
            off = sorted(_offset(d) for d in days if d.year == year and d.weekday() < 5)
            self._off_by_year[year] = off
            self._off_sets[year] = frozenset(off)
        return off

    def _off_count(self, first: date, last: date) -> int:
        """How many weekdays from ``first`` to ``last`` (both included) are not business days."""
        if last < first:
            return 0
        lo, hi = _offset(first), _offset(last)
        count = 0
        for year in range(first.year, last.year + 1):
            off = self._off(year)
            count += bisect_right(off, hi) - bisect_left(off, lo)
        return count

    def is_business_day(self, d: date) -> bool:
        """Whether ``d`` is Monday to Friday and neither a holiday nor a closed date."""
        if d.weekday() >= 5:
            return False
        self._off(d.year)
        return _offset(d) not in self._off_sets[d.year]

    def next_business_day(self, d: date) -> date:
        """``d`` itself when it is a business day, else the first business day after it."""
        while not self.is_business_day(d):
            d = d + _ONE_DAY
        return d

    def previous_business_day(self, d: date) -> date:
        """``d`` itself when it is a business day, else the last business day before it."""
        while not self.is_business_day(d):
            d = d - _ONE_DAY
        return d

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d`` (``d`` not counted); before ``d`` if ``n < 0``.

        ``n == 0`` gives ``d`` unchanged, even when it is not a business day.
        """
        if n > 0:
            # Jump to the n-th weekday after d, then go on by as many weekdays as there were
            # holidays in the jump, until a jump crosses none.
            while n:
                start = d
                d = _from_offset(_weekday_at(_weekdays_before(_offset(d) + 1) + n - 1))
                n = self._off_count(start + _ONE_DAY, d)
        elif n < 0:
            n = -n
            while n:
                end = d
                d = _from_offset(_weekday_at(_weekdays_before(_offset(d)) - n))
                n = self._off_count(d, end - _ONE_DAY)
        return d

    def business_days_between(self, a: date, b: date) -> int:
        """Business days after ``a`` up to and including ``b``.

        When ``b`` is before ``a`` the result is minus the business days after ``b`` up to and
        including ``a``; it is 0 when they are equal.
        """
        if b < a:
            return -self.business_days_between(b, a)
        if a == b:
            return 0
        weekdays = _weekdays_before(_offset(b) + 1) - _weekdays_before(_offset(a) + 1)
        return weekdays - self._off_count(a + _ONE_DAY, b)
