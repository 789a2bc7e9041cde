"""The task table of the board's lists (My day, Everyone, a role, the printable day list).

A list holds every overdue task of the person or role, however many: the table is built
here, in Python, rather than by a template macro, which costs several times as much per row
(Jinja's attribute lookups and escaping of each value). Every value shown is escaped
(``html.escape`` with quotes); the ids in links are made a path segment by ``pathpart``,
whose result holds no character HTML gives a meaning to, on the board's root as the
templates build their links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from ..report import due_text
from .app import pathpart

Row = tuple[dict[str, Any], str | None]  # a task in the Task JSON shape, its subject

_HEAD = ('<table class="tasks">\n  <thead><tr><th scope="col">Due</th><th scope="col">Task</th>'
         '<th scope="col">For</th><th scope="col">Role</th>{assignee}'
         '<th scope="col">Playbook</th></tr></thead>\n  <tbody>\n')
_TAIL = "  </tbody>\n</table>\n"


def task_table(rows: Sequence[Row], *, root: str, tz: dt.tzinfo | None,
               show_assignee: bool = False) -> Markup:
    """The table of ``rows`` (``commands.today``'s rows): due (in ``tz``), task, whom it is
    for, role, assignee (with ``show_assignee``) and playbook; overdue rows marked."""
    task_link = escape(root, quote=True) + "task/"
    instance_link = escape(root, quote=True) + "instance/"
    parts = [_HEAD.format(assignee='<th scope="col">Assignee</th>' if show_assignee else "")]
    for task, subject in rows:
        marked = ' class="overdue"' if task["overdue"] else ""
        assignee = f"<td>{escape(task['assignee'] or '–')}</td>" if show_assignee else ""
        parts.append(
            f'  <tr{marked}><td class="nowrap">{escape(due_text(task["due"], tz))}</td>'
            f'<td><a href="{task_link}{pathpart(task["id"])}">'
            f'{escape(task["title"])}</a></td>'
            f'<td><a href="{instance_link}{pathpart(task["instance"])}">'
            f'{escape(subject or task["instance"])}</a></td>'
            f'<td>{escape(task["role"] or "–")}</td>{assignee}'
            f'<td>{escape(task["playbook"])}</td></tr>\n')
    parts.append(_TAIL)
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped)
