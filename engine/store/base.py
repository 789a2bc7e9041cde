"""The store protocol and the dialect-free conversions between rows and runtime dataclasses.

A store persists instances (with their tasks and timers), playbook sources, outbox messages and
the audit log, and commits each ``Change`` with its audit records in one transaction. Every
implementation (SQLite, PostgreSQL) handles connections in its own module and runs the queries
of ``sql``; what every layer shares lives here: the column lists of each table and how a row (a
``Mapping`` of column name to a plain value: text, integer or NULL) becomes a dataclass and back.
Datetimes are stored as ISO-8601 text with their offset, dates as ``YYYY-MM-DD``, variables as
typed JSON (``instance.to_json``).
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, Self

from ..audit import RECORD_KEYS, data_text
from ..outbox import PENDING, DeliveryUpdate, OutboxEntry, recipients_text, recipients_value
from ..runtime.instance import (
    Change,
    Instance,
    Message,
    TaskOccurrence,
    TaskOwner,
    TimerState,
    due_from_text,
    due_to_text,
    from_json,
    to_json,
)
from .logins import Login
from .migrations import GuardProblem

Row = Mapping[str, Any]

INSTANCE_COLUMNS = ("id", "playbook", "version", "digest", "subject", "state", "status", "outcome",
                    "vars", "started_at", "updated_at", "entered_at", "revision", "parent",
                    "task_counter")
TASK_COLUMNS = ("id", "instance", "seq", "playbook", "state", "task", "title", "role", "assignee",
                "due", "due_date", "status", "created_at", "closed_at", "closed_by", "recurring",
                "anchor", "idx")
TIMER_COLUMNS = ("id", "instance", "seq", "state", "event", "due", "due_date", "status",
                 "error")
SOURCE_COLUMNS = ("digest", "playbook", "version", "text")
OUTBOX_COLUMNS = ("kind", "instance", "at", "to_kind", "to_name", "subject", "body", "message_id",
                  "facts", "status", "attempts", "next_attempt", "last_error", "recipients",
                  "sent_at", "sent_by")
AUDIT_COLUMNS = RECORD_KEYS
_DATA = AUDIT_COLUMNS.index("data")
_AUDIT_BEFORE_DATA = operator.itemgetter(*AUDIT_COLUMNS[:_DATA])
_AUDIT_AFTER_DATA = operator.itemgetter(*AUDIT_COLUMNS[_DATA + 1:])


class Txn(Protocol):
    """One write transaction; every read sees, and every write joins, that transaction."""

    def load_instance(self, id: str) -> Instance:
        """The whole instance: every task (in creation order) and timer it ever had;
        NotFoundError if none."""
        ...

    def load_instances(self, ids: Sequence[str],
                       damaged: list[str] | None = None) -> list[Instance]:
        """Several whole instances at once, in ``ids`` order; unknown ids are left out, and
        with a ``damaged`` list so are unreadable ones (named there)."""
        ...

    def load_working_set(self, id: str, task: str | None = None) -> Instance:
        """The instance as a step reads it (``Instance.working_set``): its open tasks, the
        occurrence ``task`` when given, its armed timers, and a reader of the latest occurrence
        of a task in this transaction (``Instance.latest_task``); NotFoundError if none. What a
        step costs does not grow with the instance's history."""
        ...

    def load_working_sets(self, ids: Sequence[str], damaged: list[str] | None = None,
                          task: str | None = None) -> list[Instance]:
        """Several working sets at once, as ``load_instances`` loads whole instances."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested unit of the transaction, undone alone when it raises."""
        ...

    def instance_of_task(self, task_id: str) -> str:
        """The id of the instance a task occurrence belongs to; NotFoundError if none."""
        ...

    def open_instance_ids(self, playbook: str) -> list[str]:
        """Ids of the open instances of ``playbook``, oldest first."""
        ...

    def open_instance_heads(self, playbook: str) -> list[Instance]:
        """The open instances of ``playbook`` without their tasks and timers (not locked):
        what ``start`` compares a playbook's ``unique`` inputs with."""
        ...

    def due_timer_instance_ids(self, today: dt.date, now: dt.datetime) -> list[str]:
        """Ids of open instances with an armed timer due by ``today`` (datetimes: by ``now``)."""
        ...

    def get_source(self, digest: str) -> str:
        """The playbook source text stored under ``digest``; NotFoundError if none."""
        ...

    def insert_message(self, message: Message, once: bool = False) -> int | None:
        """Add one message to the outbox in this transaction; its outbox id (with ``once``,
        None when its ``Message-ID`` is there already)."""
        ...

    def apply(self, change: Change) -> None:
        """Write ``change``: sources, instances (revision-checked), tasks, timers, outbox, audit."""
        ...

    def schedule_subjects(self, schedule: str, period: str) -> set[str]:
        """The subjects ``schedule`` has already started (or covered) in ``period``."""
        ...

    def record_schedule_run(self, schedule: str, period: str, subject: str,
                            instance: str | None, at: str) -> None:
        """Note that ``schedule`` started ``instance`` (None: an open one covered it) for
        ``subject`` in ``period``."""
        ...


class Store(Protocol):
    """Where instances and the audit log live; each read method is its own short read."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: which migrations apply."""
        ...

    @property
    def where(self) -> str:
        """Where the store is, for messages: a file path, or database and host (no password)."""
        ...

    def transaction(self) -> AbstractContextManager[Txn]:
        """A write transaction: committed on a clean exit, rolled back on an exception."""
        ...

    def get_instance(self, id: str) -> Instance: ...

    def get_source(self, digest: str) -> str: ...

    def list_instances(self, playbook: str | None = None, state: str | None = None,
                       status: str | None = None,
                       damaged: list[str] | None = None) -> list[Instance]: ...

    def stuck_instances(self) -> list[Instance]:
        """Open instances with an armed timer that cannot fire as their playbook stands."""
        ...

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]: ...

    def finished_tasks(self, since: dt.date, roles: Collection[str] | None = None,
                       person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Done and cancelled tasks closed from about ``since`` (a day early: callers
        compare ``closed_at``), with the role and person rules of ``open_tasks``."""
        ...

    def audit_records(self, instance: str | None = None,
                      since: dt.date | dt.datetime | None = None) -> Iterator[dict[str, Any]]: ...

    def audit_head(self) -> tuple[int, str]: ...

    def outbox(self, status: str | None = None) -> list[OutboxEntry]:
        """Every outbox message (with ``status``: only those), oldest first."""
        ...

    def enqueue(self, messages: Sequence[Message], *, once: bool = False) -> list[int]:
        """Write messages about no change of an instance (a digest) in their own
        transaction, ``pending``; their outbox ids. With ``once``, skip a message whose
        ``Message-ID`` is already in the outbox (the ids are those written)."""
        ...

    def known_message_ids(self, message_ids: Collection[str]) -> set[str]:
        """Which of ``message_ids`` are in the outbox already."""
        ...

    def deliverable(self, due_by: dt.datetime | None = None) -> list[OutboxEntry]:
        """The pending messages, oldest first; with ``due_by``, only those whose backoff
        has run out by then."""
        ...

    def record_delivery(self, update: DeliveryUpdate) -> None:
        """Write the outcome of one delivery attempt of a message, committed at once."""
        ...

    def requeue_failed(self) -> int:
        """Make every failed message pending again (``send --retry-failed``); how many."""
        ...

    def outbox_counts(self) -> dict[str, int]:
        """How many messages the outbox holds in each status."""
        ...

    def relaxed_durability(self) -> AbstractContextManager[None]:
        """A block whose commits do not wait for the disk (delivery records only)."""
        ...

    def applied_migrations(self) -> list[str]:
        """Names of the migrations recorded in the store, without migrating it."""
        ...

    def web_login(self, person: str) -> Login | None:
        """``person``'s web board login (None: no password set)."""
        ...

    def set_web_password(self, person: str, hashed: str, at: dt.datetime) -> None: ...

    def web_login_failed(self, person: str, now: dt.datetime, after: int,
                         minutes: float) -> dt.datetime | None: ...

    def web_login_succeeded(self, person: str, rehashed: str | None = None) -> None: ...

    def search_subjects(self, text: str, limit: int = 50) -> list[Instance]: ...

    def upcoming_tasks(self, after: dt.date, until: dt.date, roles: Collection[str] | None,
                       person: str | None, limit: int,
                       ) -> list[tuple[TaskOccurrence, TaskOwner]]: ...

    def migrate(self) -> list[str]:
        """Create and migrate the store now; the names of the migrations this applied."""
        ...

    @property
    def principal(self) -> str:
        """Who is authenticated to this store (stamped on every audit record it writes)."""
        ...

    @principal.setter
    def principal(self, value: str) -> None: ...

    def clock_kind(self) -> str:
        """``real`` or ``simulated`` (fixed when the store was created)."""
        ...

    def guard_problems(self) -> list[GuardProblem]:
        """What is wrong with the audit log's append-only guards (empty when all hold)."""
        ...

    def restore_guards(self) -> list[GuardProblem]:
        """Recreate missing or altered guards; the problems repaired."""
        ...

    def audit_rows(self) -> Generator[Sequence[Any], None, None]:
        """Every audit row as stored, in seq order, streamed."""
        ...

    def audit_records_by_instance(self) -> Generator[dict[str, Any], None, None]:
        """Every record ordered by instance, then seq, streamed."""
        ...

    def sources(self) -> Generator[tuple[str, str], None, None]:
        """``(digest, text)`` of every stored playbook source, streamed."""
        ...

    def iter_instances(self, batch: int = 500) -> Generator[Instance, None, None]:
        """Every instance ordered by id, a batch at a time."""
        ...

    def is_empty(self) -> bool:
        """Nothing stored yet: no instance, source, message or audit record."""
        ...

    def report_instances(self, playbook: str) -> Generator[Sequence[Any], None, None]:
        """``(id, status, outcome, state, started_at, updated_at, vars, subject)`` by id."""
        ...

    def report_task_rows(self, playbook: str, tasks: Sequence[str],
                         ) -> Generator[Sequence[Any], None, None]:
        """``(instance, task, status, due_date, closed_at)`` by instance id, streamed."""
        ...

    def report_event_rows(self, playbook: str, events: Sequence[str],
                          ) -> Generator[Sequence[Any], None, None]:
        """``(instance, event, at)`` of audit records by instance id, streamed."""
        ...

    def workload_rows(self) -> Generator[Sequence[Any], None, None]:
        """``(role, assignee, status, due_date, closed_at)`` of open and done tasks."""
        ...

    def deadline_rows(self, first: dt.date, last: dt.date,
                      ) -> Generator[Sequence[Any], None, None]:
        """``(kind, instance, playbook, subject, what, due_date)`` of open tasks and armed
        timers due from ``first`` to ``last``."""
        ...

    def exported(self) -> AbstractContextManager[Callable[[str], Iterator[dict[str, Any]]]]:
        """``rows_of(table)`` over one snapshot of the store (``db copy``)."""
        ...

    def import_rows(self, rows_of: Callable[[str], Iterable[dict[str, Any]]],
                    batch: int = 1000) -> dict[str, int]:
        """Insert copied rows into this empty store in one transaction, verified."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


# -- values --------------------------------------------------------------------------------
def datetime_text(value: dt.datetime | None) -> str | None:
    """A datetime as ISO-8601 text (with its offset when it has one)."""
    return None if value is None else value.isoformat()


def datetime_value(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def date_value(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


# -- rows ----------------------------------------------------------------------------------
def instance_row(inst: Instance, revision: int) -> dict[str, Any]:
    """The ``instances`` row of ``inst``, with ``revision`` as the stored revision."""
    return {
        "id": inst.id, "playbook": inst.playbook, "version": inst.version, "digest": inst.digest,
        "subject": inst.subject, "state": inst.state, "status": inst.status,
        "outcome": inst.outcome, "vars": to_json(inst.vars),
        "started_at": datetime_text(inst.started_at),
        "updated_at": datetime_text(inst.updated_at),
        "entered_at": datetime_text(inst.entered_at), "revision": revision,
        "parent": inst.parent, "task_counter": inst.task_counter,
    }


def instance_from_row(row: Row, tasks: Sequence[TaskOccurrence] = (),
                      timers: Sequence[TimerState] = ()) -> Instance:
    return Instance(
        id=row["id"], playbook=row["playbook"], version=row["version"], digest=row["digest"],
        state=row["state"], status=row["status"], outcome=row["outcome"],
        subject=row["subject"], vars=from_json(row["vars"]), tasks=list(tasks),
        timers=list(timers), started_at=datetime_value(row["started_at"]),
        updated_at=datetime_value(row["updated_at"]),
        entered_at=datetime_value(row["entered_at"]), revision=row["revision"],
        parent=row["parent"], task_counter=row["task_counter"],
    )


def task_row(task: TaskOccurrence, playbook: str, seq: int) -> dict[str, Any]:
    """The ``tasks`` row of ``task``; ``seq`` is its place among its instance's tasks (see
    :func:`row_seq`)."""
    return {
        "id": task.id, "instance": task.instance, "seq": seq, "playbook": playbook,
        "state": task.state, "task": task.task, "title": task.title, "role": task.role,
        "assignee": task.assignee, "due": due_to_text(task.due),
        "due_date": date_text(task.due_date), "status": task.status,
        "created_at": datetime_text(task.created_at), "closed_at": datetime_text(task.closed_at),
        "closed_by": task.closed_by, "recurring": int(task.recurring),
        "anchor": due_to_text(task.anchor), "idx": task.index,
    }


_TASK_VALUES = operator.itemgetter(*TASK_COLUMNS)
_TIMER_VALUES = operator.itemgetter(*TIMER_COLUMNS)


def task_from_row(row: Row) -> TaskOccurrence:
    return task_from_values(_TASK_VALUES(row))


def task_from_values(values: Sequence[Any]) -> TaskOccurrence:
    """The task of a ``tasks`` row given as the values of ``TASK_COLUMNS`` in their order (a
    long list of tasks is read without a dict per row)."""
    (id, instance, seq, _playbook, state, task, title, role, assignee, due, due_date, status,
     created_at, closed_at, closed_by, recurring, anchor, index) = values
    return TaskOccurrence(
        id=id, instance=instance, task=task, state=state, title=title, role=role,
        due=due_from_text(due), due_date=date_value(due_date), status=status,
        assignee=assignee, created_at=datetime_value(created_at),
        closed_at=datetime_value(closed_at), closed_by=closed_by, recurring=bool(recurring),
        anchor=due_from_text(anchor), index=index, seq=seq,
    )


def row_seq(stored: int | None, position: int, left_out: int) -> int:
    """The ``seq`` of a task or timer row: the one it was stored with, else (a new row) its
    position in its instance's list after the rows a working set left out. An instance's
    rows are numbered 0, 1, 2, ... in the order they were created."""
    return stored if stored is not None else position + left_out


def timer_row(timer: TimerState, seq: int) -> dict[str, Any]:
    """The ``timers`` row of ``timer``; ``seq`` is its place among its instance's timers."""
    return {
        "id": timer.id, "instance": timer.instance, "seq": seq, "state": timer.state,
        "event": timer.event, "due": due_to_text(timer.due),
        "due_date": date_text(timer.due_date), "status": timer.status, "error": timer.error,
    }


def timer_from_row(row: Row) -> TimerState:
    return timer_from_values(_TIMER_VALUES(row))


def timer_from_values(values: Sequence[Any]) -> TimerState:
    """The timer of a ``timers`` row given as the values of ``TIMER_COLUMNS`` in their order."""
    id, instance, seq, state, event, due_text, due_date_text, status, error = values
    due = due_from_text(due_text)
    due_date = date_value(due_date_text)
    assert due is not None and due_date is not None  # NOT NULL columns
    return TimerState(id=id, instance=instance, state=state, event=event, due=due,
                      due_date=due_date, status=status, error=error, seq=seq)


def source_rows(change: Change) -> list[dict[str, Any]]:
    """The ``sources`` rows of a change, named after the first instance that uses each one."""
    rows = []
    for digest, text in change.sources.items():
        owner = next((i for i in change.instances if i.digest == digest), None)
        rows.append({"digest": digest, "playbook": owner.playbook if owner else None,
                     "version": owner.version if owner else None, "text": text})
    return rows


def utc_text(value: dt.datetime | None) -> str | None:
    """A datetime as UTC ISO-8601 text: the delivery times, compared as text in queries."""
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def outbox_row(message: Message) -> dict[str, Any]:
    """The ``outbox`` row of a new message: pending, never attempted."""
    return {"kind": message.kind, "instance": message.instance,
            "at": datetime_text(message.at), "to_kind": message.to_kind,
            "to_name": message.to, "subject": message.subject, "body": message.body,
            "message_id": message.message_id,
            "facts": json.dumps(message.facts, sort_keys=True, separators=(",", ":")),
            "status": PENDING, "attempts": 0, "next_attempt": None, "last_error": None,
            "recipients": None, "sent_at": None, "sent_by": None}


def outbox_from_row(row: Row) -> OutboxEntry:
    """A stored message with its delivery state (``playbook`` when the row has it)."""
    return OutboxEntry(
        id=row["id"], kind=row["kind"], instance=row["instance"], at=row["at"],
        to_kind=row["to_kind"], to_name=row["to_name"], subject=row["subject"],
        body=row["body"], message_id=row["message_id"], facts=json.loads(row["facts"] or "{}"),
        status=row["status"], attempts=row["attempts"], next_attempt=row["next_attempt"],
        last_error=row["last_error"], recipients=recipients_value(row["recipients"]),
        sent_at=row["sent_at"], sent_by=row["sent_by"], playbook=row.get("playbook"))


def delivery_values(update: DeliveryUpdate) -> tuple[Any, ...]:
    """The values of ``sql._RECORD_DELIVERY`` for one attempt's outcome."""
    return (update.status, update.attempts, utc_text(update.next_attempt), update.last_error,
            recipients_text(update.recipients), utc_text(update.sent_at), update.sent_by,
            update.id)


def audit_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``audit_log`` row of an exported record (``data`` as compact JSON text)."""
    row = {key: record[key] for key in AUDIT_COLUMNS}
    row["data"] = data_text(record["data"])
    return row


def audit_values(record: Mapping[str, Any], data: str) -> tuple[Any, ...]:
    """The ``audit_log`` values of a chained record, in ``AUDIT_COLUMNS`` order, whose ``data``
    is already encoded as ``data`` (see ``audit.chain_with_data``)."""
    return (*_AUDIT_BEFORE_DATA(record), data, *_AUDIT_AFTER_DATA(record))


def record_from_row(row: Row) -> dict[str, Any]:
    """An exported audit record (docs/reference.md, "JSON shapes") from an ``audit_log`` row."""
    record = {key: row[key] for key in AUDIT_COLUMNS}
    record["data"] = json.loads(row["data"])
    return record
