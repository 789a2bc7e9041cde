"""``frontdesk today``: the daily task list (table, JSON, CSV or an ICS feed of VTODOs)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection
from typing import Any, Protocol

import click

from ..errors import ExitCode, RefusedError, UsageError, did_you_mean
from ..report import Column, Table, due_text, printable, task_json, terminal_width, to_json
from ..runtime.instance import Instance, TaskOccurrence, TaskOwner
from ..service import Engine

TASK_KEYS = ("id", "instance", "playbook", "state", "task", "title", "role", "assignee", "due",
             "status", "overdue")


def _roles(engine: Engine, actor: str, role: str | None, everyone: bool) -> set[str] | None:
    if everyone:
        return None
    people = engine.workspace.practice.people
    if role:
        held = {r for person in people.values() for r in person.roles}
        if people and role not in held:  # a typo would list nothing, silently
            hint = did_you_mean(role, held)
            raise UsageError(f"no person holds the role '{role}'"
                             + (f"; {hint}" if hint else f" (roles: {', '.join(sorted(held))})"))
        return {role}
    if not people:
        return None  # a single-user practice: the actor holds every role
    person = people.get(actor)
    if person is None:
        raise RefusedError(f"unknown person '{actor}'; pass --as NAME, --role ROLE or "
                           "--everyone")
    return set(person.roles)


MAX_DAYS = 3660  # ten years ahead: a horizon no due date of a running playbook is beyond


class TaskSource(Protocol):
    """Where the lists read their tasks: the engine's store (``Store`` has both methods), or
    what the web board keeps of its answers while the store has not changed."""

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]: ...

    def upcoming_tasks(self, after: dt.date, until: dt.date, roles: Collection[str] | None,
                       person: str | None, limit: int,
                       ) -> list[tuple[TaskOccurrence, TaskOwner]]: ...


def collect(engine: Engine, *, actor: str, role: str | None = None, everyone: bool = False,
            days: int = 0, source: TaskSource | None = None,
            ) -> list[tuple[dict[str, Any], str | None]]:
    """The open tasks due by today + ``days`` as (Task JSON, subject), sorted by due date,
    instance and task (docs/reference.md, "JSON shapes"); read from ``source`` (None: the
    engine's store)."""
    if not 0 <= days <= MAX_DAYS:
        raise UsageError(f"--days must be from 0 to {MAX_DAYS} (ten years)")
    roles = _roles(engine, actor, role, everyone)
    now = engine.workspace.clock.now()
    today = now.astimezone(engine.workspace.tz).date()
    until = today + dt.timedelta(days=days)
    person = None if everyone or role else actor  # a person's list: never others' tasks
    pairs = (source or engine.store).open_tasks(until=until, roles=roles, person=person)
    return _rows(pairs, now, today)


def upcoming(engine: Engine, *, actor: str, role: str | None = None, everyone: bool = False,
             days: int, limit: int, source: TaskSource | None = None,
             ) -> list[tuple[dict[str, Any], str | None]]:
    """The first ``limit`` open tasks due after today and within ``days`` days, chosen as
    ``collect`` chooses (the web board's *Upcoming*: a short list, whatever the store's size)."""
    roles = _roles(engine, actor, role, everyone)
    now = engine.workspace.clock.now()
    today = now.astimezone(engine.workspace.tz).date()
    person = None if everyone or role else actor
    pairs = (source or engine.store).upcoming_tasks(today, today + dt.timedelta(days=days),
                                                    roles, person, limit)
    return _rows(pairs, now, today)


def _rows(pairs: list[tuple[Any, Any]], now: dt.datetime,
          today: dt.date) -> list[tuple[dict[str, Any], str | None]]:
    rows = [(task_json(task, instance.playbook, now, today), instance.subject)
            for task, instance in pairs]
    rows.sort(key=lambda r: (r[0]["due"] or "", r[0]["instance"], r[0]["task"]))
    return rows


def finished(engine: Engine, *, actor: str, role: str | None = None, everyone: bool = False,
             ) -> list[tuple[TaskOccurrence, TaskOwner]]:
    """The tasks of the same list as ``collect`` that were done or cancelled in the last
    ``delivery.ics.keep_done_days`` days, with their instances, most recently closed last."""
    keep = engine.workspace.practice.delivery.keep_done_days
    if keep <= 0:
        return []
    roles = _roles(engine, actor, role, everyone)
    since = engine.workspace.clock.now() - dt.timedelta(days=keep)
    person = None if everyone or role else actor
    rows = [(task, instance) for task, instance in engine.finished_tasks(
        since.astimezone(engine.workspace.tz).date(), roles=roles, person=person)
        if task.closed_at is not None and task.closed_at >= since]
    rows.sort(key=lambda r: (r[0].closed_at or since, r[0].id))
    return rows


Row = tuple[dict[str, Any], str | None]


def grouped(rows: list[Row], today: dt.date, tz: dt.tzinfo | None) -> dict[str, list[Row]]:
    """The rows of ``collect`` in the groups OVERDUE, TODAY and UPCOMING, in order."""
    groups: dict[str, list[Row]] = {"OVERDUE": [], "TODAY": [], "UPCOMING": []}
    for task, subject in rows:
        due = task["due"]
        key = "OVERDUE" if task["overdue"] else (
            "TODAY" if due and due_text(due, tz)[:10] <= today.isoformat() else "UPCOMING")
        groups[key].append((task, subject))
    return groups


TODAY_COLUMNS = (Column("DUE"), Column("ROLE", "cut", most=14, least=7),
                 Column("WHO", "cut", most=12, least=6),
                 Column("TASK", "wrap", least=20, main=True),
                 Column("FOR", "wrap", most=18, least=12), Column("ID"))


def stuck_rows(instances: list[Instance], tz: dt.tzinfo | None = None) -> list[list[str]]:
    """The rows of the group NEEDS ATTENTION: each armed timer that cannot fire, with its
    instance's subject and id (what ``show`` takes)."""
    return [[due_text(timer.due, tz), "-", "-",
             f"timer '{timer.event}' cannot fire: {printable(timer.error or '')}",
             printable(inst.subject or ""), inst.id]
            for inst in instances for timer in inst.problems()]


def table_text(rows: list[tuple[dict[str, Any], str | None]], today: dt.date,
               tz: dt.tzinfo | None = None, width: int | None = None,
               stuck: list[list[str]] | None = None) -> str:
    """The groups NEEDS ATTENTION (``stuck``), OVERDUE, TODAY and UPCOMING, each a table
    fitted to ``width`` (None: every value whole); due times in ``tz`` (None: as stored)."""
    if not rows and not stuck:
        return "Nothing due. \N{EM DASH} enjoy the quiet."
    groups: dict[str, list[list[str]]] = {"NEEDS ATTENTION": stuck or []}
    for name, group in grouped(rows, today, tz).items():
        groups[name] = [[due_text(task["due"], tz), printable(task["role"] or "-"),
                         printable(task["assignee"] or "-"), printable(task["title"]),
                         printable(subject or ""), task["id"]]
                        for task, subject in group]
    table = Table(TODAY_COLUMNS, [cells for cells_list in groups.values()
                                  for cells in cells_list], width)
    colours = {"NEEDS ATTENTION": "magenta", "OVERDUE": "red", "TODAY": "yellow",
               "UPCOMING": "cyan"}
    lines = []
    for name, items in groups.items():
        if items:
            lines.append(click.style(f"{name} ({len(items)})", fg=colours[name], bold=True))
            lines += table.lines(items)
            lines.append("")
    return "\n".join(lines).rstrip()


def _csv(rows: list[tuple[dict[str, Any], str | None]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TASK_KEYS, lineterminator="\n")
    writer.writeheader()
    for task, _subject in rows:
        writer.writerow({k: ("true" if v is True else "false" if v is False else v)
                         for k, v in task.items()})
    return buffer.getvalue()


def _ics_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 section 3.1)."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _due_line(due: str) -> str:
    if "T" in due:
        return "DUE:" + _stamp(dt.datetime.fromisoformat(due))
    return "DUE;VALUE=DATE:" + due.replace("-", "")


def task_kind(playbook: str, task: str, task_id: str) -> str:
    """What a task is without its rendered title (``phi: none``): its playbook, its task
    name and its id, e.g. ``intake: verify_eligibility (task 3f2a...-2)``."""
    return f"{playbook}: {task} (task {task_id})"


def _summary(task: dict[str, Any], subject: str | None, phi: str) -> str:
    if phi != "titles":  # the default: no title, no subject leaves the machine
        return task_kind(task["playbook"], task["task"], task["id"])
    return str(task["title"]) + (f" \N{EM DASH} {subject}" if subject else "")


def _vtodo(task: dict[str, Any], subject: str | None, phi: str, stamp: str) -> list[str]:
    """One task as a VTODO: open (NEEDS-ACTION), done (COMPLETED) or cancelled."""
    lines = ["BEGIN:VTODO", f"UID:{task['id']}@frontdesk", f"DTSTAMP:{stamp}"]
    if task["due"]:
        lines.append(_due_line(task["due"]))
    lines += [f"SUMMARY:{_ics_escape(_summary(task, subject, phi))}",
              "DESCRIPTION:" + _ics_escape(
                  f"{task['playbook']} / {task['instance']}; role {task['role'] or '-'}; "
                  + (f"done with: frontdesk done {task['id']}" if task["status"] == "open"
                     else f"{task['status']} in frontdesk"))]
    if task["status"] == "done":
        lines += ["STATUS:COMPLETED", "PERCENT-COMPLETE:100"]
        if task.get("closed_at"):
            lines.append(f"COMPLETED:{_stamp(dt.datetime.fromisoformat(task['closed_at']))}")
    else:
        lines.append("STATUS:CANCELLED" if task["status"] == "cancelled"
                     else "STATUS:NEEDS-ACTION")
    return [*lines, "END:VTODO"]


def ics_text(rows: list[tuple[dict[str, Any], str | None]], now: dt.datetime,
             phi: str = "none") -> str:
    """The ICS feed (RFC 5545) of ``rows`` (Task JSON and subject; a finished task's JSON
    has ``closed_at``): summaries under ``phi`` (``none``: the task's kind and ids only)."""
    stamp = _stamp(now)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//frontdesk//daily tasks//EN",
             "CALSCALE:GREGORIAN", "X-WR-CALNAME:frontdesk tasks"]
    for task, subject in rows:
        lines += _vtodo(task, subject, phi, stamp)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _ics_rows(engine: Engine, rows: list[tuple[dict[str, Any], str | None]], *, actor: str,
              role: str | None, everyone: bool) -> list[tuple[dict[str, Any], str | None]]:
    """``rows`` and the recently finished tasks of the same list (docs/reference.md, "ICS")."""
    now = engine.workspace.clock.now()
    today = now.astimezone(engine.workspace.tz).date()
    done = []
    for task, instance in finished(engine, actor=actor, role=role, everyone=everyone):
        done.append(({**task_json(task, instance.playbook, now, today),
                      "closed_at": task.closed_at.isoformat() if task.closed_at else None},
                     instance.subject))
    return rows + done


def run_today(engine: Engine, *, actor: str, role: str | None, everyone: bool, days: int,
              fmt: str, wide: bool = False) -> int:
    """``today``: the open tasks due by today (+ ``days``) as a table (fitted to the terminal
    unless ``wide``), JSON, CSV or ICS."""
    rows = collect(engine, actor=actor, role=role, everyone=everyone, days=days)
    now = engine.workspace.clock.now()
    if fmt == "json":
        click.echo(to_json([task for task, _ in rows]))
    elif fmt == "csv":
        click.echo(_csv(rows), nl=False)
    elif fmt == "ics":
        click.echo(ics_text(_ics_rows(engine, rows, actor=actor, role=role, everyone=everyone),
                            now, engine.workspace.practice.delivery.phi), nl=False)
    else:
        tz = engine.workspace.tz
        stuck = stuck_rows(engine.stuck_instances(), tz) if everyone else []
        click.echo(table_text(rows, now.astimezone(tz).date(), tz, terminal_width(wide),
                              stuck))
    return ExitCode.OK
