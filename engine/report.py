"""Renderers shared by commands: issue lists as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .errors import Issue


def issue_dict(issue: Issue) -> dict[str, Any]:
    """An issue as a JSON object."""
    loc = issue.location
    return {
        "severity": issue.severity, "code": issue.code, "message": issue.message,
        "hint": issue.hint, "path": loc.path if loc else None,
        "line": loc.line if loc else None, "col": loc.col if loc else None,
    }


def issues_text(issues: Sequence[Issue]) -> str:
    """One ``PATH:LINE:COL: error[CODE]: message`` line per issue."""
    return "".join(issue.format() + "\n" for issue in issues)


def to_json(value: Any) -> str:
    """Pretty, stable JSON (dates and other objects as their ISO text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    iso = getattr(value, "isoformat", None)
    if iso is not None:
        return iso()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
