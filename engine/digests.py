"""Each person's daily digest: their overdue tasks, today's and the next 7 days', the tasks
escalated to them, and (administrators) the audit head of that morning (docs/reference.md,
"Digests").

A person's tasks are exactly what ``today --as P --days 7`` lists (``commands.today.collect``:
assigned to them, or unassigned tasks of their roles). A task overdue by
``delivery.digest.escalate_after`` business days is also named in the digest of its role's
manager (``delivery.digest.managers``), else in every administrator's. An administrator's digest
always carries the audit head (``SEQ HASH``, what ``audit head`` prints), so the chain head is
witnessed outside the store every business day; anyone else with nothing listed gets no digest.

A digest is an outbox message of kind ``digest`` to the person, with a Message-ID fixed by the
practice, the person and the date: the store keeps at most one per person and day, so ``tick``
and ``digest --send`` may run any number of times. Its ``facts`` (all that ``phi: none`` sends)
are counts, task kinds and ids, never a title or a subject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import click

from .commands.today import collect, table_text, task_kind
from .errors import UsageError, did_you_mean
from .report import due_text, printable, task_json
from .runtime.instance import Message
from .service import Engine

DAYS_AHEAD = 7
Row = tuple[dict[str, Any], str | None]  # Task JSON and the instance's subject


@dataclass(slots=True)
class Escalation:
    """An open task overdue by ``days`` business days, for its role's manager."""

    task: dict[str, Any]
    subject: str | None
    days: int


@dataclass(slots=True)
class Digest:
    """One person's digest on one practice date."""

    person: str
    name: str
    date: dt.date
    overdue: list[Row] = field(default_factory=list)
    today: list[Row] = field(default_factory=list)
    upcoming: list[Row] = field(default_factory=list)
    escalated: list[Escalation] = field(default_factory=list)
    audit_head: str | None = None  # administrators: "SEQ HASH"

    @property
    def rows(self) -> list[Row]:
        return self.overdue + self.today + self.upcoming

    @property
    def empty(self) -> bool:
        """Nothing to tell: no task, no escalation, no audit head (no digest is sent)."""
        return not self.rows and not self.escalated and self.audit_head is None

    def counts(self) -> str:
        return (f"{len(self.overdue)} overdue, {len(self.today)} today, "
                f"{len(self.upcoming)} in the next {DAYS_AHEAD} days"
                + (f", {len(self.escalated)} escalated" if self.escalated else ""))

    def to_json(self) -> dict[str, Any]:
        """The ``digest --json`` shape of one digest (docs/reference.md)."""
        return {"person": self.person, "date": self.date.isoformat(),
                "overdue": [t for t, _ in self.overdue], "today": [t for t, _ in self.today],
                "upcoming": [t for t, _ in self.upcoming],
                "escalated": [{**e.task, "business_days_overdue": e.days}
                              for e in self.escalated],
                "audit_head": self.audit_head}


def recipients(engine: Engine, person: str | None) -> list[str]:
    """The persons to make digests for: ``person`` (checked) or everyone in practice.yaml."""
    people = engine.workspace.practice.people
    if not people:
        raise UsageError("digests are per person: list the practice's people (and their "
                         "email) in practice.yaml")
    if person is None:
        return list(people)
    if person not in people:
        hint = did_you_mean(person, people)
        raise UsageError(f"unknown person '{person}'" + (f"; {hint}" if hint else ""))
    return [person]


def compose(engine: Engine, persons: list[str]) -> list[Digest]:
    """The digests of ``persons`` as of the engine's clock (empty ones included)."""
    ws = engine.workspace
    practice = ws.practice
    now = ws.clock.now()
    today = now.astimezone(ws.tz).date()
    admins = practice.administrator_ids or ()
    escalations = _escalations(engine, today)
    head = " ".join(str(part) for part in engine.audit_head()) if admins else None
    digests = []
    for pid in persons:
        digest = Digest(pid, practice.people[pid].name or pid, today)
        for task, subject in collect(engine, actor=pid, days=DAYS_AHEAD):
            due = task["due"] or ""
            group = digest.overdue if task["overdue"] else (
                digest.today if due_text(due, ws.tz)[:10] <= today.isoformat()
                else digest.upcoming)
            group.append((task, subject))
        digest.escalated = escalations.get(pid, [])
        digest.audit_head = head if pid in admins else None
        digests.append(digest)
    return digests


def _escalations(engine: Engine, today: dt.date) -> dict[str, list[Escalation]]:
    """Who is told of which task overdue by ``escalate_after`` business days or more: its
    role's manager if practice.yaml names one, else every administrator."""
    settings = engine.workspace.practice.delivery.digest
    if settings.escalate_after is None:
        return {}
    practice = engine.workspace.practice
    calendar = engine.workspace.calendar
    now = engine.workspace.clock.now()
    found: dict[str, list[Escalation]] = {}
    for task, instance in engine.open_tasks(until=today - dt.timedelta(days=1)):
        if task.due_date is None:
            continue
        days = calendar.business_days_between(task.due_date, today)
        if days < settings.escalate_after:
            continue
        manager = settings.managers.get(task.role or "")
        told = [manager] if manager is not None and manager in practice.people else list(
            practice.administrator_ids or ())
        item = task_json(task, instance.playbook, now, today)
        for pid in told:
            found.setdefault(pid, []).append(Escalation(item, instance.subject, days))
    return found


# -- rendering -----------------------------------------------------------------------------
def text(digest: Digest, engine: Engine, width: int | None = None) -> str:
    """The full digest (titles and subjects): printed by ``digest`` and, with ``phi:
    titles``, the body that is sent."""
    tz = engine.workspace.tz
    lines = [f"Digest for {printable(digest.name)} ({digest.person}), "
             f"{digest.date:%A %Y-%m-%d}: {digest.counts()}", ""]
    lines.append(click.unstyle(table_text(digest.rows, digest.date, tz, width)))
    if digest.escalated:
        lines += ["", f"ESCALATED ({len(digest.escalated)}): overdue "
                  f"{engine.workspace.practice.delivery.digest.escalate_after}+ business days"]
        lines += [f"  {due_text(e.task['due'], tz)}  {printable(e.task['title'])}"
                  + (f" \N{EM DASH} {printable(e.subject)}" if e.subject else "")
                  + f"  [{e.task['role'] or '-'}; {_holder(e.task)}; {e.days} business days "
                  f"overdue]  {e.task['id']}" for e in digest.escalated]
    lines += _head_lines(digest)
    return "\n".join(lines) + "\n"


def safe_lines(digest: Digest, engine: Engine) -> list[str]:
    """The digest without titles or subjects (``phi: none``): each task's due date, kind,
    role and id."""
    tz = engine.workspace.tz
    lines: list[str] = []
    for name, rows in (("OVERDUE", digest.overdue), ("TODAY", digest.today),
                       (f"NEXT {DAYS_AHEAD} DAYS", digest.upcoming)):
        if rows:
            lines.append(f"{name} ({len(rows)})")
            lines += [f"  {due_text(t['due'], tz)}  {_kind(t)}  [{t['role'] or '-'}]"
                      for t, _ in rows]
    if digest.escalated:
        lines.append(f"ESCALATED ({len(digest.escalated)})")
        lines += [f"  {due_text(e.task['due'], tz)}  {_kind(e.task)}  [{e.task['role'] or '-'};"
                  f" {_holder(e.task)}; {e.days} business days overdue]"
                  for e in digest.escalated]
    return lines + _head_lines(digest)


def _kind(task: dict[str, Any]) -> str:
    return task_kind(task["playbook"], task["task"], task["id"])


def _holder(task: dict[str, Any]) -> str:
    return f"assigned to {task['assignee']}" if task["assignee"] else "unassigned"


def _head_lines(digest: Digest) -> list[str]:
    if digest.audit_head is None:
        return []
    return ["", f"Audit head this morning: {digest.audit_head}",
            "Keep this email. To prove the log has not been rewritten or cut since, run:",
            f'  frontdesk audit verify --anchor "{digest.audit_head}"']


def message_id(engine: Engine, person: str, date: dt.date) -> str:
    """The fixed Message-ID of ``person``'s digest of ``date`` in this practice."""
    practice = engine.workspace.practice
    token = hashlib.sha256((practice.name or "").encode("utf-8")).hexdigest()[:10]
    return f"<digest.{date.isoformat()}.{person}.{token}@frontdesk.localhost>"


def message(digest: Digest, engine: Engine) -> Message:
    """The outbox message of ``digest``: full subject and body, PHI-free ``facts``."""
    practice = engine.workspace.practice
    facts: dict[str, Any] = {
        "person": digest.person, "date": digest.date.isoformat(),
        "overdue": len(digest.overdue), "today": len(digest.today),
        "upcoming": len(digest.upcoming), "escalated": len(digest.escalated),
        "summary": f"{digest.date:%a %Y-%m-%d}, {digest.counts()}",
        "lines": safe_lines(digest, engine),
        "open": f"frontdesk digest --person {digest.person}"}
    if digest.audit_head is not None:
        facts["audit_head"] = digest.audit_head
    subject = (f"{practice.name or 'frontdesk'} digest for {digest.name}, "
               f"{digest.date:%a %Y-%m-%d}: {digest.counts()}")
    return Message(instance=None, at=engine.workspace.clock.now(), to=digest.person,
                   subject=subject, body=text(digest, engine), to_kind="person",
                   kind="digest", facts=facts,
                   message_id=message_id(engine, digest.person, digest.date))


def enqueue(engine: Engine, persons: list[str]) -> tuple[list[int], list[str]]:
    """Write today's digest of each of ``persons`` who has not had one today and has
    something to read: (the outbox ids written, the persons who already had theirs)."""
    today = engine.workspace.clock.now().astimezone(engine.workspace.tz).date()
    ids = {pid: message_id(engine, pid, today) for pid in persons}
    known = engine.store.known_message_ids(ids.values())
    had = [pid for pid in persons if ids[pid] in known]
    fresh = [d for d in compose(engine, [p for p in persons if p not in had]) if not d.empty]
    written = engine.store.enqueue([message(d, engine) for d in fresh], once=True)
    return written, had


def due_now(engine: Engine) -> list[int]:
    """``tick``'s part: at or after ``delivery.digest.at`` on a business day, enqueue every
    person's digest of the day not yet written (none without a channel or without ``at``)."""
    ws = engine.workspace
    practice = ws.practice
    at = practice.delivery.digest.at_minutes
    if at is None or not practice.delivery.configured or not practice.people:
        return []
    local = ws.clock.now().astimezone(ws.tz)
    if local.hour * 60 + local.minute < at or not ws.calendar.is_business_day(local.date()):
        return []
    return enqueue(engine, list(practice.people))[0]
