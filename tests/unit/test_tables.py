"""Tables fitted to a width, and values and times as a person reads them (``report``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from frontdesk.report import Column, Table, local_time, revived, yaml_value

COLUMNS = (Column("DUE"), Column("ROLE", "cut", most=14, least=8),
           Column("TASK", "wrap", least=20, main=True), Column("FOR", "wrap", most=18, least=10),
           Column("ID"))
ROW = ["2026-01-06", "office_manager", "Screening call with Ann Lee-Montgomery about her "
       "referral and insurance", "New client Ann Lee-Montgomery", "82e14665ca-12"]


def test_natural_widths_when_they_fit_or_no_width_is_given() -> None:
    """Without a width, or when everything fits, every cell is whole on one line."""
    for width in (None, 200):
        lines = Table(COLUMNS, [ROW], width).row(ROW)
        assert len(lines) == 1 and all(cell in lines[0] for cell in ROW)


@pytest.mark.parametrize("width", [80, 75, 69])
def test_a_narrow_width_wraps_the_title_keeps_ids_and_cuts_short_columns(width: int) -> None:
    """Ids and dates stay whole; the title and subject wrap with every word kept; the role is
    cut with an ellipsis only when the title would be narrower than its least."""
    table = Table(COLUMNS, [ROW], width)
    lines = table.row(ROW)
    assert all(len(line) <= width for line in lines), lines
    assert lines[0].startswith("2026-01-06") and lines[0].endswith("82e14665ca-12")
    title_at = lines[0].index("Screening")
    title = " ".join(line[title_at:title_at + table.widths[2]].strip() for line in lines)
    assert title.split() == ROW[2].split()
    role = lines[0].split()[1]
    assert role == "office_manager" or (role.endswith("\N{HORIZONTAL ELLIPSIS}")
                                         and len(role) >= 8)


def test_a_terminal_narrower_than_the_leasts_keeps_the_leasts() -> None:
    """Below the sum of the columns' least widths, columns stay at their least (the terminal
    wraps the line) rather than shrink to nothing."""
    assert Table(COLUMNS, [ROW], 40).widths == [10, 8, 20, 10, 13]


def test_room_a_short_title_leaves_goes_back_to_the_others() -> None:
    """A title shorter than the room it could take leaves the rest to the capped columns."""
    row = ["2026-01-06", "front_desk", "Call", "New client Ann Lee-Montgomery", "x-1"]
    assert Table(COLUMNS, [row], 80).row(row) == ["  ".join(row)]


def test_values_print_as_yaml() -> None:
    """Booleans, lists, dates and text that would read as something else, as YAML."""
    value = {"urgent": True, "topics": ["PHI basics", "HIPAA"], "on": dt.date(2026, 1, 5),
             "code": "016", "empty": "", "none": None, "amount": 80.5, "odd": "a, b",
             "colon": "a: b", "esc": "Ann\x1b[2J\nEvil", "rtl": "x\u202ey"}
    assert yaml_value(value) == (
        '{urgent: true, topics: [PHI basics, HIPAA], on: 2026-01-05, code: "016", empty: "", '
        'none: null, amount: 80.5, odd: "a, b", colon: "a: b", esc: "Ann\\x1b[2J\\nEvil", '
        'rtl: "x\\u202ey"}')
    assert yaml_value("plain text, with a comma") == "plain text, with a comma"
    moment = dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC)
    assert yaml_value(moment, ZoneInfo("America/New_York")) == "2026-01-05T09:00:00-05:00"


def test_times_in_the_practice_zone_with_their_offset() -> None:
    """Audit times are shown in the practice's time with the UTC offset of that moment."""
    tz = ZoneInfo("America/New_York")
    assert local_time("2026-01-05T14:00:00.000000Z", tz) == "2026-01-05 09:00 -05:00"
    assert local_time("2026-07-01T13:30:00+00:00", tz) == "2026-07-01 09:30 -04:00"
    assert revived({"d": "2026-01-05", "l": ["2026-01-05T14:00:00+00:00"], "t": "16"}) == {
        "d": dt.date(2026, 1, 5), "l": [moment_utc()], "t": "16"}


def moment_utc() -> dt.datetime:
    return dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC)
