"""Renderers shared by commands: issue lists as text or JSON, the Instance and Task JSON
shapes, tables fitted to the terminal, and values and times as a person reads them."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
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

    instance.require_whole("the Instance JSON shape")
    today = now.astimezone(tz).date()
    return {
        "id": instance.id, "playbook": instance.playbook, "version": instance.version,
        "subject": instance.subject, "state": instance.state, "status": instance.status,
        "outcome": instance.outcome, "vars": plain(instance.vars),
        "tasks": [task_json(t, instance.playbook, now, today) for t in instance.tasks],
        "started_at": _moment(instance.started_at, tz),
        "updated_at": _moment(instance.updated_at, tz),
        "problems": [{"timer": t.id, "event": t.event, "due": t.due.isoformat(),
                      "reason": t.error} for t in instance.problems()],
    }


def problem_text(timer: Any) -> str:
    """One problem of an instance in words: a timer that cannot fire (no variable values)."""
    return (f"timer '{timer.event}' (due {timer.due.isoformat()}) cannot fire: "
            f"{printable(timer.error or '')}")


# -- tables fitted to the terminal ---------------------------------------------------------
SEP = "  "


def terminal_width(wide: bool = False) -> int | None:
    """The width tables are fitted to: the terminal's (``shutil.get_terminal_size``, which
    honours ``$COLUMNS``) when stdout is a terminal and ``wide`` is off; None (nothing is
    cut or wrapped) when stdout is a pipe or a file, so scripts and ``grep`` see whole
    values."""
    if wide or not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a ``Table``. ``fit``: ``keep`` is never narrowed (ids, dates); ``cut`` is
    narrowed to ``most`` (down to ``least`` on a narrow terminal) and cut with an ellipsis;
    ``wrap`` likewise, but wraps onto continuation lines. The ``main`` column (a ``wrap``
    one, the title) gets what the others leave, at least ``least``."""

    header: str
    fit: str = "keep"
    most: int | None = None
    least: int = 1
    main: bool = False


class Table:
    """Rows of text cells laid out in columns for a ``width`` (None: natural widths)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[str]],
                 width: int | None, indent: int = 0) -> None:
        self.columns = list(columns)
        self.indent = indent
        natural = [max([len(c.header), *(len(row[i]) for row in rows)])
                   for i, c in enumerate(self.columns)]
        self.widths = natural if width is None else self._fit(natural, width - indent)

    def _fit(self, natural: list[int], width: int) -> list[int]:
        """Widths for ``width`` characters: natural when they fit; else every narrowable
        column at its ``most``, then, right to left, narrower (to its ``least``) while the
        main column has less than its ``least``; the main column takes the rest, and room it
        leaves goes back to the columns narrowed."""
        room = width - len(SEP) * (len(natural) - 1)
        if sum(natural) <= room:
            return natural
        cols = self.columns
        main = next(i for i, c in enumerate(cols) if c.main)
        widths = [min(n, c.most) if c.fit != "keep" and c.most else n
                  for c, n in zip(cols, natural, strict=True)]
        narrowable = [i for i, c in enumerate(cols) if c.fit != "keep" and i != main]
        for i in reversed(narrowable):  # right to left, while the main column is too narrow
            short = cols[main].least - (room - sum(widths) + widths[main])
            if short > 0:
                widths[i] -= min(short, max(0, widths[i] - cols[i].least))
        widths[main] = max(cols[main].least, min(natural[main], room - sum(widths)
                                                 + widths[main]))
        slack = room - sum(widths)
        for i in narrowable:  # a short main column leaves room: give it back
            extra = max(0, min(slack, natural[i] - widths[i]))
            widths[i] += extra
            slack -= extra
        return widths

    def header(self) -> str:
        """The header row."""
        return self.row([c.header for c in self.columns])[0]

    def row(self, cells: Sequence[str]) -> list[str]:
        """One row as its line and the continuation lines of wrapped cells."""
        parts: list[list[str]] = []
        for column, width, text in zip(self.columns, self.widths, cells, strict=True):
            if len(text) <= width or column.fit == "keep":
                parts.append([text])
            elif column.fit == "cut":
                parts.append([text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"])
            else:
                parts.append(textwrap.wrap(text, width) or [""])
        lines = []
        for k in range(max(len(p) for p in parts)):
            line = SEP.join(f"{p[k] if k < len(p) else '':<{w}}"
                            for p, w in zip(parts, self.widths, strict=True))
            lines.append((" " * self.indent + line).rstrip())
        return lines

    def lines(self, rows: Sequence[Sequence[str]], header: bool = True) -> list[str]:
        """The header (unless ``header`` is off) and every row."""
        out = [self.header()] if header else []
        for cells in rows:
            out.extend(self.row(cells))
        return out


def wrapped(text: str, width: int | None, indent: int, hang: int | None = None) -> list[str]:
    """``text`` indented by ``indent`` spaces, wrapped to ``width`` (None: one line), its
    continuation lines indented by ``hang`` (default: two more)."""
    pad = " " * indent
    if width is None or len(text) + indent <= width:
        return [pad + text]
    return textwrap.wrap(text, max(20 + indent, width), initial_indent=pad,
                         subsequent_indent=" " * (indent + 2 if hang is None else hang))


# -- values and times as a person reads them -----------------------------------------------
# Text that YAML 1.2 (as frontdesk reads it) would take for something else: shown quoted.
_NOT_TEXT = re.compile(r"""(?ix) ~ | null | true | false
    | [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-f]+
    | [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)(e[-+]?[0-9]+)? | [-+]?\.inf | \.nan
    | [0-9]{4}-[0-9]{2}-[0-9]{2}([t ].*)?""")
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+([+-][0-9:]+|Z)")


def _plain_text(text: str, flow: bool) -> bool:
    if (not text or text != text.strip() or text[0] in _INDICATORS or ": " in text
            or " #" in text or text.endswith(":") or _NOT_TEXT.fullmatch(text)):
        return False
    if flow and any(c in text for c in ",[]{}"):
        return False
    return printable(text) == text


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar; control and invisible characters as escapes."""
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def yaml_value(value: Any, tz: dt.tzinfo | None = None, flow: bool = False) -> str:
    """``value`` on one line as YAML writes it (``true``, ``[PHI basics, HIPAA]``,
    ``{visits: 2}``, a date as ``2026-01-05``, text quoted only when YAML would read it as
    something else), safe for a terminal; datetimes in ``tz`` when given."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (value.astimezone(tz) if tz and value.tzinfo else value).isoformat()
    if isinstance(value, int | float | dt.date):
        return value.isoformat() if isinstance(value, dt.date) else repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_value(str(k), flow=True)}: {yaml_value(v, tz, True)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v, tz, True) for v in value) + "]"
    text = str(value)
    return text if _plain_text(text, flow) else _quoted(text)


def revived(value: Any) -> Any:
    """JSON data (an audit record's ``data``) with ISO dates and datetimes as dates and
    datetimes again, so they print as such."""
    if isinstance(value, dict):
        return {k: revived(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revived(v) for v in value]
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
        if _ISO_DATETIME.fullmatch(value):
            return dt.datetime.fromisoformat(value)
    return value


def local_time(value: dt.datetime | str, tz: dt.tzinfo) -> str:
    """A moment in the practice's time with its UTC offset: ``2026-01-05 09:00 -05:00``."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:5]}"


def due_text(due: dt.date | dt.datetime | str | None, tz: dt.tzinfo | None) -> str:
    """A due date as is; a due moment in the practice's time ``tz`` (``2026-01-05 13:00``;
    None: in its own)."""
    if due is None:
        return "-"
    if isinstance(due, str):
        due = dt.datetime.fromisoformat(due) if "T" in due else dt.date.fromisoformat(due)
    if isinstance(due, dt.datetime):
        return f"{due.astimezone(tz) if tz else due:%Y-%m-%d %H:%M}"
    return due.isoformat()
