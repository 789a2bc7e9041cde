"""Typed values: convert ``--set key=value`` text and YAML values to a field's declared type.

Shared by validation (defaults and enums must fit their type) and the runtime (inputs, event
fields and task fields). Errors are ``ValueError`` with a message naming what was expected but
never echoing the value itself, because values may be patient information.

Text is read in the documented formats only (docs/reference.md, "Field specs"): ASCII digits,
``YYYY-MM-DD`` dates and ISO-8601 ``YYYY-MM-DDTHH:MM[:SS[.ffffff]][offset]`` datetimes, so
``1_000``, Arabic-Indic digits, ``20260203`` or ``2026-W05`` (which Python's own parsers take)
are refused rather than read as something the person did not mean.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from .model import FieldSpec

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
# ``[0-9]`` (not ``\d``, which is every Unicode digit) and ``fullmatch`` (``$`` would also
# match before a trailing newline).
_WHOLE = re.compile(r"[-+]?[0-9]+")
# An amount: an optional sign, an optional leading ``$``, digits (thousands separated by
# commas in groups of three, or none at all) and an optional fraction.
_AMOUNT = re.compile(r"(?P<sign>[-+]?)\$?(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
                     r"(?:\.(?P<fraction>[0-9]+))?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}"
                       r"(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?")
_DATETIME_HINT = "expected a date and time, ISO-8601 (2026-01-05T09:00)"


def convert(spec: FieldSpec, value: Any, *, tz: dt.tzinfo | None = None) -> Any:
    """``value`` (text from the command line, or a YAML value) as ``spec.type``.

    Raises ``ValueError`` saying what the field expects. A datetime without an offset is taken
    in ``tz`` (the practice time zone). An enum value matches its option in any case when
    only one option matches (``Medicare`` gives ``medicare``).
    """
    if spec.required and isinstance(value, str) and not value.strip():
        raise ValueError("a value is required")
    converted = _convert_type(spec.type, value, tz)
    if spec.required and converted == []:
        raise ValueError("a value is required")
    converted = _enum_option(spec, converted)
    _check_constraints(spec, converted)
    _check_storable(converted)
    return converted


MAX_NESTING = 20  # lists and mappings inside a list value


def _check_storable(value: Any, depth: int = 0) -> None:
    """Refuse what a store cannot keep faithfully: NUL characters (PostgreSQL text refuses
    them) and lists nested deeper than ``MAX_NESTING``."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("expected text without NUL characters")
    elif isinstance(value, list | dict):
        if depth >= MAX_NESTING:
            raise ValueError(f"expected a list nested at most {MAX_NESTING} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _convert_type(kind: str, value: Any, tz: dt.tzinfo | None) -> Any:
    if kind == "datetime":
        return parse_datetime(value, tz)
    converter = _CONVERTERS.get(kind)
    if converter is None:
        raise ValueError(f"unknown type '{kind}'")
    return converter(value)


def _to_string(value: Any) -> str:
    """Text as given; a date as ISO text; a number is refused (a code like 016 must be quoted
    to keep its zero)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("expected text, got a number (quote it to keep it as text)")
    raise ValueError("expected text")


def _to_integer(value: Any) -> int:
    """An int, a whole float, or ASCII decimal digits with an optional sign."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        try:
            return int(value.strip(), 10)
        except ValueError:  # more digits than Python converts (int_max_str_digits)
            pass
    raise ValueError("expected a whole number")


def _to_number(value: Any) -> int | float:
    """An int or a finite float, from a number or from amount text (``_AMOUNT``)."""
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, int | float):
        result = value
    elif isinstance(value, str):
        result = _number_from_text(value.strip())
    else:
        raise ValueError("expected a number")
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError("expected a finite number")
    return result


def _number_from_text(text: str) -> int | float:
    """``42``, ``-3.75``, ``$340``, ``1,340.00``: an int without a fraction, else a float."""
    found = _AMOUNT.fullmatch(text)
    if found is None:
        raise ValueError("expected a number such as 42, 3.75, $340 or 1,340.00")
    digits = found["sign"] + found["whole"].replace(",", "")
    try:
        return float(f"{digits}.{found['fraction']}") if found["fraction"] else int(digits)
    except ValueError:  # more digits than Python converts (int_max_str_digits)
        raise ValueError("expected a number with fewer digits") from None


def _to_boolean(value: Any) -> bool:
    """A bool, or one of the words of ``_TRUE`` / ``_FALSE`` in any case."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise ValueError("expected true or false")


def _to_date(value: Any) -> dt.date:
    """A date; a datetime's date; text ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("expected a date YYYY-MM-DD")


def _to_list(value: Any) -> list[Any]:
    """A list; text as a JSON list (``[...]``) or as comma-separated items."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a list")
    text = value.strip()
    parsed = _json_list(text) if text.startswith("[") else None
    if parsed is not None:
        return parsed
    return [part.strip() for part in text.split(",") if part.strip()]


def _json_list(text: str) -> list[Any] | None:
    """The list a JSON text holds (None: it holds something else); JSON as the standard has
    it, so no NaN or Infinity."""
    try:
        parsed = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise ValueError("expected a list: a,b,c or a JSON list") from None
    return parsed if isinstance(parsed, list) else None


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "date": _to_date,
    "list": _to_list,
}


def parse_datetime(value: Any, tz: dt.tzinfo | None) -> dt.datetime:
    """An aware datetime from a datetime, a date (midnight) or text: ISO-8601
    ``YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]``, or ``YYYY-MM-DD`` for its midnight."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and _DATETIME.fullmatch(value.strip()):
        try:
            result = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(_DATETIME_HINT) from None
    else:
        raise ValueError(_DATETIME_HINT)
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz or dt.UTC)
    return result


def _enum_option(spec: FieldSpec, value: Any) -> Any:
    """The enum option ``value`` stands for: itself, or the one text option equal to it
    ignoring case; ``ValueError`` when there is none (or several). A list field's enum lists
    the options of its items: each item is matched."""
    if spec.enum is None:
        return value
    if spec.type == "list" and isinstance(value, list):
        return [_one_option(spec.enum, item) for item in value]
    return _one_option(spec.enum, value)


def _one_option(enum: Sequence[Any], value: Any) -> Any:
    if value in enum:
        return value
    if isinstance(value, str):
        folded = value.casefold()
        same = [o for o in enum if isinstance(o, str) and o.casefold() == folded]
        if len(same) == 1:
            return same[0]
    raise ValueError("expected one of " + ", ".join(str(v) for v in enum))


def _check_constraints(spec: FieldSpec, value: Any) -> None:
    if spec.pattern is not None and isinstance(value, str) and not matches_pattern(
            spec.pattern, value):
        raise ValueError(f"expected text matching {spec.pattern}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"expected at least {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"expected at most {spec.maximum:g}")


# -- field patterns: RE2 ---------------------------------------------------------------------
# A field's ``pattern`` is matched with RE2 (google-re2), whose matching time is linear in the
# text: a pattern such as ``(a+)+$`` cannot make a command hang the way Python's backtracking
# ``re`` does. RE2 has no backreferences or lookarounds; such a pattern is refused by
# ``validate`` (``pattern_problem``), never at run time.


class PatternError(ValueError):
    """A pattern RE2 cannot compile: bad syntax, or a feature RE2 does not have."""


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 regular expression for ``pattern``; ``PatternError`` if there is none."""
    import re2  # only where a pattern is used: it loads a C++ extension

    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason) or "not a regular expression") from None


def pattern_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def matches_pattern(pattern: str, text: str) -> bool:
    """Whether the whole of ``text`` matches ``pattern`` (RE2, linear time)."""
    try:
        return compile_pattern(pattern).fullmatch(text) is not None
    except UnicodeEncodeError:  # a lone surrogate (undecodable command-line bytes)
        raise ValueError("expected valid text") from None
