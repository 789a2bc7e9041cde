"""Pure parts of the routines features: a schedule's periods (month arithmetic, business-day
moves, the latest period due) and roster rows with their lines (CSV with quoted line breaks,
YAML lists)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from frontdesk.errors import UsageError
from frontdesk.model import Schedule
from frontdesk.rows import read_rows
from frontdesk.schedules import current_period, period_date
from runtime_testing import US


def _schedule(every: str = "12 months", starting: dt.date = dt.date(2027, 1, 3),
              business_day: str | None = "next") -> Schedule:
    return Schedule("s", "p", every, starting, "people", business_day=business_day)


def test_a_period_on_a_weekend_is_due_the_next_business_day() -> None:
    """2027-01-03 is a Sunday: due Monday the 4th, recorded under the 3rd; 2028-01-03 is a
    Monday."""
    schedule = _schedule()
    assert period_date(schedule, 0, US) == (dt.date(2027, 1, 3), dt.date(2027, 1, 4))
    assert period_date(schedule, 1, US) == (dt.date(2028, 1, 3), dt.date(2028, 1, 3))
    assert current_period(schedule, dt.date(2027, 1, 3), US) is None
    assert current_period(schedule, dt.date(2027, 1, 4), US) == dt.date(2027, 1, 3)
    assert current_period(schedule, dt.date(2029, 6, 1), US) == dt.date(2029, 1, 3)


def test_month_ends_clamp_and_previous_moves_earlier() -> None:
    """Every month from 31 January: 28 February, 31 March; 'previous' moves a Saturday back to
    the Friday."""
    schedule = _schedule("1 month", dt.date(2026, 1, 31), None)
    assert period_date(schedule, 1, US)[0] == dt.date(2026, 2, 28)
    assert period_date(schedule, 2, US)[0] == dt.date(2026, 3, 31)
    saturday = _schedule("1 year", dt.date(2026, 3, 14), "previous")
    assert period_date(saturday, 0, US)[1] == dt.date(2026, 3, 13)
    assert current_period(saturday, dt.date(2026, 3, 13), US) == dt.date(2026, 3, 14)


def test_roster_rows_keep_their_lines(tmp_path: Path) -> None:
    """A CSV row after a quoted cell with a line break starts on its own line; empty cells are
    values not given; a YAML list gives each mapping's line."""
    csv_file = tmp_path / "r.csv"
    csv_file.write_text('who,note\nana,"two\nlines"\n\nben,\n', "utf-8")
    rows = read_rows(csv_file)
    assert [(r.line, r.values) for r in rows] == [
        (2, {"who": "ana", "note": "two\nlines"}), (5, {"who": "ben"})]
    yaml_file = tmp_path / "r.yaml"
    yaml_file.write_text("- who: ana\n\n- who: ben\n  since: 2026-01-05\n", "utf-8")
    assert [(r.line, r.values) for r in read_rows(yaml_file)] == [
        (1, {"who": "ana"}), (3, {"who": "ben", "since": dt.date(2026, 1, 5)})]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("r.txt", "x", "a roster is a .csv, .json or .yaml file"),
    ("r.csv", "", "the first row names the inputs"),
    ("r.csv", "a,a\n1,2\n", "every column needs its own name"),
    ("r.csv", "a\n1,2\n", ":2: 2 cells for 1 columns"),
    ("r.json", '{"a": 1}', "must hold one list of rows"),
    ("r.yaml", "- [1, 2]\n", ":1: a row is a mapping"),
])
def test_a_roster_that_cannot_be_read_is_a_usage_error(tmp_path: Path, name: str, text: str,
                                                       message: str) -> None:
    """Each problem names the file (and line), never a value."""
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(UsageError, match=message):
        read_rows(path)
