"""``frontdesk.values``: only the documented text formats convert, amounts and enum spellings
that people type are understood, and field patterns run on RE2 in linear time.

Every refusal names what was expected and never repeats the value (values can be patient
information)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from frontdesk.model import FieldSpec
from frontdesk.values import (
    PatternError,
    compile_pattern,
    convert,
    matches_pattern,
    parse_datetime,
    pattern_problem,
)
from hypothesis import given
from hypothesis import strategies as st

NY = dt.timezone(dt.timedelta(hours=-5))


def value(kind: str, text: Any, **spec: Any) -> Any:
    """``text`` converted as a field of type ``kind`` with the other ``spec`` keys."""
    return convert(FieldSpec("field", kind, **spec), text, tz=NY)


def refusal(kind: str, text: Any, **spec: Any) -> str:
    """The message of the refusal of ``text`` as a ``kind`` field."""
    with pytest.raises(ValueError) as caught:
        value(kind, text, **spec)
    return str(caught.value)


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("integer", "42", 42),
    ("integer", "-3", -3),
    ("integer", "+7", 7),
    ("integer", " 12 ", 12),
    ("integer", 5.0, 5),
    ("number", "42", 42),
    ("number", "3.75", 3.75),
    ("number", "-0.5", -0.5),
    ("number", "$340", 340),
    ("number", "$340.50", 340.5),
    ("number", "1,340.00", 1340.0),
    ("number", "$1,234,567", 1234567),
    ("number", "-$12.50", -12.5),
    ("number", " 3.75\n", 3.75),  # blanks around the text are ignored
    ("number", 1e3, 1000.0),
    ("date", "2026-02-03", dt.date(2026, 2, 3)),
    ("date", dt.date(2026, 2, 3), dt.date(2026, 2, 3)),
    ("datetime", "2026-01-05T09:00", dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY)),
    ("datetime", "2026-01-05T09:00:30", dt.datetime(2026, 1, 5, 9, 0, 30, tzinfo=NY)),
    ("datetime", "2026-01-05T09:00:30.123456Z",
     dt.datetime(2026, 1, 5, 9, 0, 30, 123456, tzinfo=dt.UTC)),
    ("datetime", "2026-01-05T09:00+01:00",
     dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
    ("datetime", "2026-01-05", dt.datetime(2026, 1, 5, tzinfo=NY)),
])
def test_documented_formats_convert(kind: str, text: Any, expected: Any) -> None:
    """Each documented format gives the value it reads as (an amount without a fraction is
    an int, with one a float)."""
    result = value(kind, text)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("kind", "text"), [
    ("integer", "1_000"),
    ("integer", "١٢٣"),  # Arabic-Indic digits
    ("integer", "１２"),  # full-width digits
    ("integer", "1,000"),
    ("integer", "$5"),
    ("integer", "0x1F"),
    ("integer", "4" * 5000),  # more digits than Python converts
    ("number", "1_000.5"),
    ("number", "١٢٣"),
    ("number", "1e3"),
    ("number", "nan"),
    ("number", "inf"),
    ("number", "1,34"),
    ("number", "1234,567"),
    ("number", "12,3456"),
    ("number", "340$"),
    ("number", "$$340"),
    ("number", "$-340"),
    ("number", "1.2.3"),
    ("number", ".5"),
    ("number", "5."),
    ("date", "20260203"),
    ("date", "2026-W05"),
    ("date", "2026-W05-1"),
    ("date", "2026-034"),
    ("date", "٢٠٢٦-٠١-٠٥"),
    ("date", "2026-02-30"),
    ("date", "2026-02-03T09:00"),
    ("datetime", "2026-01-05 09:00"),
    ("datetime", "20260105T0900"),
    ("datetime", "2026-W05-1T09:00"),
    ("datetime", "2026-01-05T09"),
    ("datetime", "2026-01-05T09:00:00.1234567"),
    ("datetime", "2026-01-05T09:00+0100"),
    ("datetime", "2026-01-05T09:00z"),
    ("datetime", "2026-01-05T24:00"),
])
def test_other_text_is_refused(kind: str, text: str) -> None:
    """Text Python's own parsers would take but the documentation does not list is refused,
    saying what was expected."""
    assert refusal(kind, text).startswith("expected")


def test_refusals_never_echo_the_value() -> None:
    """A refused value (perhaps patient data) is not part of the message."""
    for kind in ("integer", "number", "date", "datetime", "boolean"):
        assert "Jane Roe 1961" not in refusal(kind, "Jane Roe 1961")
    assert "Jane" not in refusal("string", "Jane", enum=("a", "b"))
    assert "Jane" not in refusal("string", "Jane", pattern="[0-9]+")


@given(st.integers(min_value=-10**30, max_value=10**30))
def test_integers_round_trip(number: int) -> None:
    """Every whole number's decimal text converts back to it, as integer and as number."""
    assert value("integer", str(number)) == number
    assert value("number", str(number)) == number


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=99))
def test_amounts_with_separators(whole: int, cents: int) -> None:
    """``$1,234.05`` reads as 1234.05, whatever the size of the amount."""
    text = f"${whole:,}.{cents:02d}"
    assert value("number", text) == float(f"{whole}.{cents:02d}")


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=6))
def test_only_ascii_digits_are_digits(digits: str) -> None:
    """A run of decimal digits converts only when every digit is ASCII."""
    if digits.isascii():
        assert value("integer", digits) == int(digits)
    else:
        refusal("integer", digits)
        refusal("number", digits)


def test_enum_matches_in_any_case_when_unambiguous() -> None:
    """``Medicare`` is the option ``medicare``; an exact option wins; a spelling that matches
    two options ignoring case is refused."""
    payers = ("medicare", "medicaid", "commercial")
    assert value("string", "Medicare", enum=payers) == "medicare"
    assert value("string", "MEDICAID", enum=payers) == "medicaid"
    assert value("string", "medicare", enum=payers) == "medicare"
    assert value("string", "Ab", enum=("ab", "Ab", "AB")) == "Ab"
    assert "expected one of ab, AB" in refusal("string", "aB", enum=("ab", "AB"))
    assert refusal("string", "Medicar", enum=payers).startswith("expected one of")


def test_a_list_fields_enum_holds_for_each_item() -> None:
    """A ``list`` field with ``enum`` takes any items among the options (each matched as a
    text field's would be) and refuses an item that is not one."""
    topics = ("PHI basics", "phishing", "incident reporting")
    assert value("list", ["phi basics", "Phishing"], enum=topics) == ["PHI basics", "phishing"]
    assert value("list", "PHI basics, phishing", enum=topics) == ["PHI basics", "phishing"]
    assert value("list", [], enum=topics) == []
    assert refusal("list", ["PHI basics", "tailgating"], enum=topics).startswith(
        "expected one of")


def test_required_field_refuses_an_empty_value() -> None:
    """An empty or blank text, or an empty list, is no value for a required field; an optional
    field still takes them."""
    for kind in ("string", "integer", "number", "date", "datetime", "list"):
        assert refusal(kind, "", required=True) == "a value is required"
        assert refusal(kind, "   ", required=True) == "a value is required"
    assert refusal("list", "[]", required=True) == "a value is required"
    assert refusal("list", [], required=True) == "a value is required"
    assert value("string", "") == ""
    assert value("list", "") == []


def test_parse_datetime_keeps_an_offset_and_localises_a_naive_time() -> None:
    """A naive datetime is in the given zone; an offset is kept."""
    assert parse_datetime("2026-01-05T09:00", NY).tzinfo is NY
    assert parse_datetime("2026-01-05T09:00-08:00", NY).utcoffset() == dt.timedelta(hours=-8)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_datetime("2026-01-05 09:00", NY)


# -- field patterns --------------------------------------------------------------------------
def test_patterns_match_the_whole_text() -> None:
    """A pattern must match the whole value, as before (``re.fullmatch``)."""
    assert matches_pattern("[A-Z]{2}[0-9]+", "CO16")
    assert not matches_pattern("[A-Z]{2}[0-9]+", "CO16x")
    assert not matches_pattern("[A-Z]{2}[0-9]+", "xCO16")
    assert matches_pattern("a|ab", "ab")
    assert not matches_pattern("[0-9]+$", "123\n")  # ``$`` is the end of the text
    assert value("string", "CO16", pattern="^[A-Z]{2}[0-9]+$") == "CO16"


def test_pattern_classes_are_ascii_and_unicode_classes_work() -> None:
    """``\\d`` is ASCII (a ZIP code is not Arabic-Indic digits); ``\\p{L}`` is any letter."""
    assert not matches_pattern(r"\d{5}", "١٢٣٤٥")
    assert matches_pattern(r"\p{L}+", "Zoë")
    assert matches_pattern(r"(?i)co[0-9]+", "Co16")


def test_nested_quantifiers_run_in_linear_time() -> None:
    """``(a+)+$`` against 41 a's and a b hangs Python's ``re``; RE2 answers at once."""
    text = "a" * 41 + "b"
    started = time.monotonic()
    assert not matches_pattern("(a+)+$", text)
    assert refusal("string", text, pattern="(a+)+$").startswith("expected text matching")
    assert not matches_pattern("(x+x+)+y", "x" * 100_000)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("pattern", "reason"), [
    ("(", "missing )"),
    ("(a)\\1", "invalid escape sequence: \\1"),
    ("(?=a)a", "invalid perl operator: (?="),
    ("(?<=a)b", "invalid perl operator: (?<="),
    ("a\\Z", "invalid escape sequence: \\Z"),
    ("a{1001}", "invalid repetition size"),
    ("[z-a]", "invalid character class range"),
])
def test_patterns_re2_cannot_run_are_named(pattern: str, reason: str) -> None:
    """Bad syntax and features RE2 lacks (backreferences, lookarounds) are a reason, not a
    crash; nothing is printed by RE2 itself."""
    problem = pattern_problem(pattern)
    assert problem is not None and reason in problem
    with pytest.raises(PatternError):
        compile_pattern(pattern)


def test_pattern_errors_are_not_logged(capfd: pytest.CaptureFixture[str]) -> None:
    """RE2 logs refused patterns on stderr unless told not to."""
    assert pattern_problem("(unclosed-" + "x" * 3) is not None
    assert capfd.readouterr().err == ""


def test_unsupported_text_in_a_patterned_field_is_refused_not_crashed() -> None:
    """A lone surrogate (undecodable command-line bytes) is refused as a value."""
    assert refusal("string", "\udcff", pattern=".*") == "expected valid text"
