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
from typing import Any

from .model import FieldSpec

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


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
    text = value.strip() if isinstance(value, str) else None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            raise ValueError("expected text")
        if isinstance(value, int | float):
            raise ValueError("expected text, got a number (quote it to keep it as text)")
        if isinstance(value, dt.date):
            return value.isoformat()
        raise ValueError("expected text")
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if text is not None and re.fullmatch(r"[-+]?[0-9]+", text):
            return int(text, 10)
        raise ValueError("expected a whole number")
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, int | float):
            result = value
        elif text is not None:
            try:
                result = int(text) if re.fullmatch(r"[-+]?[0-9]+", text) else float(text)
            except ValueError:
                raise ValueError("expected a number") from None
        else:
            raise ValueError("expected a number")
        if isinstance(result, float) and not math.isfinite(result):
            raise ValueError("expected a finite number")
        return result
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError("expected true or false")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if text is not None:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError("expected a date YYYY-MM-DD") from None
        raise ValueError("expected a date YYYY-MM-DD")
    if kind == "datetime":
        return parse_datetime(value, tz)
    if kind == "list":
        if isinstance(value, list):
            return value
        if text is not None:
            if text.startswith("["):
                try:  # JSON as the standard has it: no NaN or Infinity
                    parsed = json.loads(text, parse_constant=_no_constant,
                                        parse_float=_finite)
                except (ValueError, RecursionError):
                    raise ValueError("expected a list: a,b,c or a JSON list") from None
                if isinstance(parsed, list):
                    return parsed
            return [part.strip() for part in text.split(",") if part.strip()]
        raise ValueError("expected a list")
    raise ValueError(f"unknown type '{kind}'")


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
