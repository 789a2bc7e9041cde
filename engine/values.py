"""Typed values: convert ``--set key=value`` text and YAML values to a field's declared type.

Shared by validation (defaults and enums must fit their type) and the runtime (inputs, event
fields and task fields). Errors are ``ValueError`` with a message naming what was expected but
never echoing the value itself, because values may be patient information.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

from .model import FieldSpec

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_WHOLE = re.compile(r"[-+]?[0-9]+")


def convert(spec: FieldSpec, value: Any, *, tz: dt.tzinfo | None = None) -> Any:
    """``value`` (text from the command line, or a YAML value) as ``spec.type``.

    Raises ``ValueError`` saying what the field expects. A datetime without an offset is taken
    in ``tz`` (the practice time zone).
    """
    converted = _convert_type(spec.type, value, tz)
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
    """An int, a whole float, or decimal digits with an optional sign."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip(), 10)
    raise ValueError("expected a whole number")


def _to_number(value: Any) -> int | float:
    """An int or a finite float, from a number or its text."""
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
    try:
        return int(text) if _WHOLE.fullmatch(text) else float(text)
    except ValueError:
        raise ValueError("expected a number") from None


def _to_boolean(value: Any) -> bool:
    """A bool, or one of the words of ``_TRUE`` / ``_FALSE`` in any case."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise ValueError("expected true or false")


def _to_date(value: Any) -> dt.date:
    """A date; a datetime's date; ISO text ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected a date YYYY-MM-DD") from None


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
    """An aware datetime from a datetime, a date (midnight) or ISO-8601 text."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            result = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("expected a date and time, ISO-8601 (2026-01-05T09:00)") from None
    else:
        raise ValueError("expected a date and time, ISO-8601 (2026-01-05T09:00)")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz or dt.UTC)
    return result


def _check_constraints(spec: FieldSpec, value: Any) -> None:
    if spec.enum is not None and value not in spec.enum:
        raise ValueError("expected one of " + ", ".join(str(v) for v in spec.enum))
    if spec.pattern is not None and isinstance(value, str) and not re.fullmatch(
            spec.pattern, value):
        raise ValueError(f"expected text matching {spec.pattern}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"expected at least {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"expected at most {spec.maximum:g}")
