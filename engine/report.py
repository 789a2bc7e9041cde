"""Renderers shared by commands: issue lists as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .errors import Issue

_INVISIBLE = {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
              *range(0x202A, 0x202F), *range(0x2066, 0x206A)}  # zero-width and bidi controls


def printable(value: Any) -> str:
    """``value`` as text safe for a terminal table: control characters (an ESC sequence, a
    newline in client data), zero-width and bidi controls are shown as escapes (``\\x1b``,
    ``\\n``, ``\\u202e``) instead of acting on the screen."""
    text = str(value)
    if text.isprintable() and not any(ord(c) in _INVISIBLE for c in text):
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char.isprintable() and code not in _INVISIBLE:
        return char
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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


def task_json(task: Any, playbook: str, now: Any, today: Any) -> dict[str, Any]:
    """A task occurrence in the Task shape (docs/reference.md, "JSON shapes")."""
    import datetime as dt

    due = task.due
    overdue = False
    if task.status == "open" and due is not None:
        overdue = due < now if isinstance(due, dt.datetime) else due < today
    return {
        "id": task.id, "instance": task.instance, "playbook": playbook, "state": task.state,
        "task": task.task, "title": task.title, "role": task.role, "assignee": task.assignee,
        "due": due.isoformat() if due is not None else None, "status": task.status,
        "overdue": overdue,
    }


def _moment(value: Any, tz: Any) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def instance_json(instance: Any, tz: Any, now: Any) -> dict[str, Any]:
    """An instance in the Instance shape (docs/reference.md, "JSON shapes")."""
    from .runtime.instance import plain

    today = now.astimezone(tz).date()
    return {
        "id": instance.id, "playbook": instance.playbook, "version": instance.version,
        "subject": instance.subject, "state": instance.state, "status": instance.status,
        "outcome": instance.outcome, "vars": plain(instance.vars),
        "tasks": [task_json(t, instance.playbook, now, today) for t in instance.tasks],
        "started_at": _moment(instance.started_at, tz),
        "updated_at": _moment(instance.updated_at, tz),
    }
