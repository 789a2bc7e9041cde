"""Tests of the business calendar: US holidays, closed dates and a brute-force reference."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from frontdesk.runtime.calendar import (
    BusinessCalendar,
    HolidaysForYear,
    check_region,
    package_holidays,
)

ROOT = Path(__file__).resolve().parents[2]
ONE_DAY = timedelta(days=1)

# closed dates for the reference comparisons: next to holidays, on a weekend, at a year's end
CLOSED = frozenset(
    {
        date(2024, 12, 24),
        date(2025, 11, 28),
        date(2026, 12, 24),
        date(2027, 7, 2),
        date(2028, 3, 11),  # a Saturday: changes nothing
        date(2029, 12, 31),
    }
)
# the reference's own holiday list, taken from the package directly, not via package_holidays
US_HOLIDAYS = frozenset(holidays.country_holidays("US", years=range(2019, 2036)))


def reference_is_business_day(d: date) -> bool:
    """The definition, day by day: Mon-Fri, not a US holiday, not closed."""
    return d.weekday() < 5 and d not in US_HOLIDAYS and d not in CLOSED


def reference_add(d: date, n: int) -> date:
    """Step one day at a time, counting business days, until ``|n|`` have been passed."""
    step = ONE_DAY if n > 0 else -ONE_DAY
    remaining = abs(n)
    while remaining:
        d += step
        if reference_is_business_day(d):
            remaining -= 1
    return d


def reference_between(a: date, b: date) -> int:
    """Count business days after ``a`` up to ``b`` one by one; negative when ``b < a``."""
    if b < a:
        return -reference_between(b, a)
    count = 0
    while a < b:
        a += ONE_DAY
        count += reference_is_business_day(a)
    return count


def reference_next(d: date) -> date:
    """Walk forward from ``d`` until a business day."""
    while not reference_is_business_day(d):
        d += ONE_DAY
    return d


def days(first: date, last: date) -> Iterator[date]:
    """Every date from ``first`` to ``last``, both included."""
    while first <= last:
        yield first
        first += ONE_DAY


@pytest.fixture(scope="module")
def us() -> BusinessCalendar:
    """US federal holidays, no closed dates."""
    return BusinessCalendar(package_holidays("US"))


@pytest.fixture(scope="module")
def practice() -> BusinessCalendar:
    """US federal holidays plus the closed dates of the reference."""
    return BusinessCalendar(package_holidays("US"), closed=CLOSED)


def test_thanksgiving_hire_i9_due_friday(us: BusinessCalendar) -> None:
    """DOMAIN 6.5: a Monday 2026-11-23 hire's 3 business days end Friday, not Thursday."""
    assert us.add_business_days(date(2026, 11, 23), 3) == date(2026, 11, 27)
    assert not us.is_business_day(date(2026, 11, 26))
    weekends_only = BusinessCalendar()
    assert weekends_only.add_business_days(date(2026, 11, 23), 3) == date(2026, 11, 26)


def test_christmas_eve_closed_date() -> None:
    """An extra closed 2026-12-24 plus Christmas Day push Dec 23 + 1 to Monday Dec 28."""
    open_eve = BusinessCalendar(package_holidays("US"))
    closed_eve = BusinessCalendar(package_holidays("US"), closed=[date(2026, 12, 24)])
    assert open_eve.add_business_days(date(2026, 12, 23), 1) == date(2026, 12, 24)
    assert closed_eve.add_business_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert closed_eve.add_business_days(date(2026, 12, 28), -1) == date(2026, 12, 23)
    assert closed_eve.business_days_between(date(2026, 12, 23), date(2026, 12, 28)) == 1


def test_over_new_year(us: BusinessCalendar) -> None:
    """New Year's Day 2027 is a Friday; 2028's is a Saturday observed on Friday 2027-12-31."""
    assert us.add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert us.add_business_days(date(2027, 1, 4), -1) == date(2026, 12, 31)
    assert us.add_business_days(date(2027, 12, 30), 1) == date(2028, 1, 3)
    assert not us.is_business_day(date(2027, 12, 31))
    assert us.next_business_day(date(2027, 12, 31)) == date(2028, 1, 3)
    assert us.business_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 5


def test_observed_holidays_are_closed(us: BusinessCalendar) -> None:
    """Independence Day 2026 falls on a Saturday and is observed on Friday 2026-07-03."""
    assert not us.is_business_day(date(2026, 7, 3))
    assert not us.is_business_day(date(2026, 7, 4))
    assert us.add_business_days(date(2026, 7, 2), 1) == date(2026, 7, 6)


def test_zero_and_weekend_starts(us: BusinessCalendar) -> None:
    """``n == 0`` returns the date unchanged; from a weekend, counting starts at the next day."""
    saturday = date(2026, 11, 28)
    assert us.add_business_days(saturday, 0) == saturday
    assert us.add_business_days(saturday, 1) == date(2026, 11, 30)
    assert us.add_business_days(saturday, -1) == date(2026, 11, 27)
    assert us.add_business_days(saturday, -2) == date(2026, 11, 25)


def test_next_business_day(us: BusinessCalendar) -> None:
    """A business day is its own next business day; others move forward."""
    assert us.next_business_day(date(2026, 11, 25)) == date(2026, 11, 25)
    assert us.next_business_day(date(2026, 11, 26)) == date(2026, 11, 27)
    assert us.next_business_day(date(2026, 11, 28)) == date(2026, 11, 30)


def test_business_days_between_examples(us: BusinessCalendar) -> None:
    """After ``a`` up to and including ``b``; swapped arguments give the negative."""
    monday, friday = date(2026, 11, 23), date(2026, 11, 27)
    assert us.business_days_between(monday, friday) == 3
    assert us.business_days_between(friday, monday) == -3
    assert us.business_days_between(monday, monday) == 0
    assert us.business_days_between(date(2026, 11, 28), date(2026, 11, 29)) == 0
    assert us.business_days_between(date(2026, 1, 1), date(2026, 12, 31)) == 250


def test_sweep_against_reference(practice: BusinessCalendar) -> None:
    """Every start date in 2024-2029, n from -15 to 15, matches the day-by-day reference."""
    for start in days(date(2024, 1, 1), date(2029, 12, 31)):
        assert practice.is_business_day(start) == reference_is_business_day(start), start
        assert practice.next_business_day(start) == reference_next(start), start
        for n in range(-15, 16):
            assert practice.add_business_days(start, n) == reference_add(start, n), (start, n)
        for k in range(-45, 46, 4):
            end = start + timedelta(days=k)
            expected = reference_between(start, end)
            assert practice.business_days_between(start, end) == expected, (start, end)


def random_dates(rng: random.Random, count: int) -> list[date]:
    """``count`` dates drawn from 2024-2029 with a seeded generator."""
    first, last = date(2024, 1, 1).toordinal(), date(2029, 12, 31).toordinal()
    return [date.fromordinal(rng.randint(first, last)) for _ in range(count)]


def test_large_n_matches_reference() -> None:
    """Random large positive and negative ``n`` agree with the reference and count back."""
    rng = random.Random(20261123)
    calendar = BusinessCalendar(package_holidays("US"), closed=CLOSED)
    for start in random_dates(rng, 400):
        n = rng.randint(-700, 700)
        result = calendar.add_business_days(start, n)
        assert result == reference_add(start, n), (start, n)
        if n > 0:
            assert calendar.business_days_between(start, result) == n
        elif n < 0:
            # |n| business days from result up to the day before start
            assert calendar.business_days_between(result - ONE_DAY, start - ONE_DAY) == -n


def test_between_matches_reference() -> None:
    """Random pairs of dates years apart agree with counting day by day, both ways."""
    rng = random.Random(1126)
    calendar = BusinessCalendar(package_holidays("US"), closed=CLOSED)
    for a, b in zip(random_dates(rng, 300), random_dates(rng, 300), strict=True):
        assert calendar.business_days_between(a, b) == reference_between(a, b), (a, b)


def test_large_n_round_trips_over_centuries() -> None:
    """Jumps of hundreds of years of business days come back to where they started."""
    calendar = BusinessCalendar(package_holidays("US"), closed=[date(2026, 12, 24)])
    start = date(2026, 11, 23)
    for n in (1, 250, 10_000, 50_000, -50_000):
        end = calendar.add_business_days(start, n)
        assert calendar.business_days_between(start, end) == n
        assert calendar.add_business_days(end, -n) == start


def test_weekends_only_large_n_matches_stepping() -> None:
    """Without holidays, 100 000 business days equal stepping day by day."""
    calendar = BusinessCalendar()
    start = date(2026, 11, 28)
    expected = start
    for _ in range(100_000):
        expected += ONE_DAY
        while expected.weekday() >= 5:
            expected += ONE_DAY
    assert calendar.add_business_days(start, 100_000) == expected


def test_holidays_fetched_once_per_year() -> None:
    """The calendar asks its holiday source for a year only when needed, and only once."""
    asked: list[int] = []

    def source(year: int) -> frozenset[date]:
        """A fake holiday source that records each request."""
        asked.append(year)
        return frozenset({date(year, 3, 2)})

    calendar = BusinessCalendar(source)
    assert asked == []
    assert not calendar.is_business_day(date(2026, 3, 2))
    assert calendar.add_business_days(date(2026, 3, 1), 1) == date(2026, 3, 3)
    assert calendar.business_days_between(date(2026, 1, 1), date(2026, 12, 31)) == 259
    assert asked == [2026]
    calendar.add_business_days(date(2026, 12, 30), 5)
    assert asked == [2026, 2027]


def test_source_dates_outside_the_year_are_ignored() -> None:
    """A holiday source's dates from other years do not count in the asked year."""

    def source(year: int) -> frozenset[date]:
        """Claims a date of the next year too."""
        return frozenset({date(year + 1, 1, 5)})

    calendar = BusinessCalendar(source)
    assert calendar.business_days_between(date(2026, 1, 1), date(2026, 12, 31)) == 260
    assert calendar.is_business_day(date(2027, 1, 5))


def test_package_holidays_memoised() -> None:
    """``package_holidays`` computes a year once and includes observed dates."""
    us: HolidaysForYear = package_holidays("US")
    first = us(2027)
    assert us(2027) is first
    assert date(2027, 12, 31) in first  # New Year's Day 2028, observed
    assert date(2027, 11, 25) in first  # Thanksgiving


def test_subdivision_holidays() -> None:
    """A subdivision adds its own holidays (New York: Lincoln's Birthday)."""
    ny = BusinessCalendar(package_holidays("US", "NY"))
    us = BusinessCalendar(package_holidays("US"))
    lincoln = date(2026, 2, 12)
    assert not ny.is_business_day(lincoln)
    assert us.is_business_day(lincoln)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: package_holidays("XX")(2026), "unknown country code 'XX'"),
        (lambda: package_holidays("us")(2026), "did you mean 'US'"),
        (lambda: package_holidays("US", "ZZ")(2026), "unknown subdivision 'ZZ' for country 'US'"),
        (
            lambda: BusinessCalendar(package_holidays("XX")).is_business_day(date(2026, 1, 2)),
            "unknown country code 'XX'",
        ),
        (lambda: check_region("XX"), "unknown country code 'XX'"),
        (lambda: check_region("US", "ZZ"), "unknown subdivision 'ZZ'"),
    ],
)
def test_unknown_region_raises_value_error(make: Callable[[], object], message: str) -> None:
    """An unknown country or subdivision is a ``ValueError`` that names it."""
    with pytest.raises(ValueError, match=message):
        make()


def test_check_region_accepts_known() -> None:
    """Known countries and subdivisions pass ``check_region``."""
    check_region("US")
    check_region("US", "NY")
    check_region("NO")


def test_out_of_range_is_overflow_error() -> None:
    """Going past the last representable date raises ``OverflowError``, not a wrong date."""
    calendar = BusinessCalendar()
    with pytest.raises(OverflowError):
        calendar.add_business_days(date(9999, 12, 30), 5)
    with pytest.raises(OverflowError):
        calendar.add_business_days(date(1, 1, 2), -5)


def test_import_does_not_load_holidays_package() -> None:
    """Importing the calendar and building one does not import ``holidays`` (it is slow)."""
    code = (
        "import sys, engine.runtime.calendar as c, engine.runtime.durations; "
        "c.BusinessCalendar(c.package_holidays('US'), closed=[]); "
        "print('holidays' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
