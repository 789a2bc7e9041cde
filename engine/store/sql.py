"""The SQL both stores share: one implementation of the store protocol over a DB-API connection.

SQLite and PostgreSQL differ in how they connect, lock, stream and report errors, not in the
queries: both speak ``INSERT ... ON CONFLICT``, ``excluded``, ``"quoted"`` names and
``ORDER BY x IS NULL``. So the queries live here once, written with ``?`` placeholders, and a
:class:`Dialect` says what differs: the placeholder style, the column that keeps the instances
in the order they were started (SQLite's ``rowid``, PostgreSQL's ``ord``), the row lock a write
transaction takes when it reads an instance, and how the audit chain's append is serialised.

Every value is stored as text, integers or NULL in both stores (datetimes as ISO-8601 text with
their offset): the audit log's hashes cover the exact text, so a store copied from one backend
to the other keeps every byte, and the row conversions in :mod:`.base` serve both.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, Self

from .. import audit
from ..errors import (
    AuditBrokenError,
    ConflictError,
    DamagedRowsError,
    NotFoundError,
    RefusedError,
    StoreUnavailableError,
    UsageError,
)
from ..outbox import FAILED, PENDING, DeliveryUpdate, OutboxEntry, recipients_text
from ..runtime.instance import (
    Change,
    Instance,
    Message,
    TaskOccurrence,
    TaskOwner,
    due_from_text,
)
from . import logins, migrations
from .base import (
    AUDIT_COLUMNS,
    INSTANCE_COLUMNS,
    OUTBOX_COLUMNS,
    SOURCE_COLUMNS,
    TASK_COLUMNS,
    TIMER_COLUMNS,
    Row,
    audit_values,
    delivery_values,
    instance_from_row,
    instance_row,
    outbox_from_row,
    outbox_row,
    record_from_row,
    row_seq,
    source_rows,
    task_from_values,
    task_row,
    timer_from_values,
    timer_row,
    utc_text,
)

DELIVERY_MIGRATION = "0006_delivery"  # the outbox's delivery columns

TABLES = ("sources", "instances", "tasks", "timers", "outbox", "audit_log", "schedule_runs")
"""Every data table, parents before children (the order a copy inserts them in)."""

OUTBOX_ALL_COLUMNS = ("id", *OUTBOX_COLUMNS)
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": SOURCE_COLUMNS, "instances": INSTANCE_COLUMNS, "tasks": TASK_COLUMNS,
    "timers": TIMER_COLUMNS, "outbox": OUTBOX_ALL_COLUMNS, "audit_log": AUDIT_COLUMNS,
    "store_facts": ("name", "value"),
    "schedule_runs": ("schedule", "period", "subject", "instance", "at"),
}
TABLE_ORDER = {"sources": "digest", "instances": "{order}", "tasks": "instance, seq",
               "timers": "instance, seq", "outbox": "id", "audit_log": "seq",
               "store_facts": "name", "schedule_runs": "schedule, period, subject"}


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the shared code needs of a connection: sqlite3's and psycopg's both have it."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def cursor(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the SQL of one backend does differently."""

    name: str
    placeholder: str  # "?" or "%s"
    instance_order: str  # the column that orders instances by start: "rowid" or "ord"
    lock_for_update: str  # appended to the instance read of a write transaction
    lock_chain: Callable[[Connection], None]  # serialises audit appends until commit
    after_import: Callable[[Connection], None]  # e.g. move sequences past copied ids
    # statements that stop, then restore, waiting for the disk at each commit (delivery
    # records: see ``SqlStore.relaxed_durability``)
    relax_durability: tuple[str, str] = ("", "")
    # a join whose left table is read first: SQLite keeps the order of a CROSS JOIN (without
    # statistics it would read every open task of the store by status); PostgreSQL plans
    # from its statistics, and its CROSS JOIN takes no ON
    outer_join_first: str = "JOIN"

    def sql(self, text: str) -> str:
        """``text`` (written with ``?``) in this dialect's placeholder style."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


def names(columns: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def insert_sql(table: str, columns: Sequence[str], conflict: str = "") -> str:
    return (f"INSERT INTO {table} ({names(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}){conflict}")


def _upsert(table: str, columns: Sequence[str]) -> str:
    """Insert a task or timer row, or update the one of its id. A row's ``instance`` and
    ``seq`` never change, and are left out of the update: a column in the SET list makes
    SQLite rewrite the entries of every index holding it (here ``(instance, seq)``), even to
    the same value, and each index page touched is another page the commit writes."""
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns
                        if c not in ("id", "instance", "seq"))
    return insert_sql(table, columns, f" ON CONFLICT (id) DO UPDATE SET {updates}")


def values(row: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of ``row`` in the order of ``columns``."""
    return _getter(columns)(row)


@functools.cache
def _getter(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A fast getter of ``columns`` (``operator.itemgetter``, always giving a tuple)."""
    if len(columns) == 1:
        return lambda row: (row[columns[0]],)
    getter: Callable[[dict[str, Any]], tuple[Any, ...]] = operator.itemgetter(*columns)
    return getter


_SELECT_INSTANCE = f"SELECT {names(INSTANCE_COLUMNS)} FROM instances"
_SELECT_TASK = f"SELECT {names(TASK_COLUMNS)} FROM tasks"
_SELECT_TIMER = f"SELECT {names(TIMER_COLUMNS)} FROM timers"
# A working set's instance row with the number of task and timer rows it has (the highest
# ``seq`` + 1: a probe of the ``(instance, seq)`` index each, where a count would read them all).
_HEAD_COLUMNS = (*INSTANCE_COLUMNS, "task_rows", "timer_rows")
SELECT_HEAD = (f"SELECT {names(INSTANCE_COLUMNS)}, "
               "(SELECT max(seq) + 1 FROM tasks WHERE tasks.instance = instances.id), "
               "(SELECT max(seq) + 1 FROM timers WHERE timers.instance = instances.id) "
               "FROM instances")


def _of_instances(table: str, status: str, marks: str, join: str) -> str:
    """The rows of ``table`` in ``status`` of the instances ``marks`` stands for, by instance
    and seq, through the partial index of that status. One instance's are read straight from
    the index; a batch's by instance first (``join``: ``Dialect.outer_join_first``), which
    SQLite could otherwise plan through the store-wide ``(status, due_date)`` index."""
    columns = names(TASK_COLUMNS if table == "tasks" else TIMER_COLUMNS, "t.")
    if marks == "?":
        return (f"SELECT {columns} FROM {table} t WHERE t.instance = ? AND "
                f"t.status = '{status}' ORDER BY t.seq")
    return (f"SELECT {columns} FROM instances i {join} {table} t ON "
            f"t.instance = i.id AND t.status = '{status}' WHERE i.id IN ({marks}) "
            "ORDER BY t.instance, t.seq")


def open_tasks_sql(marks: str, join: str) -> str:
    """The open task rows of the instances ``marks`` stands for (``tasks_open``)."""
    return _of_instances("tasks", "open", marks, join)


def armed_timers_sql(marks: str, join: str) -> str:
    """The armed timers of the instances ``marks`` stands for (``timers_armed``)."""
    return _of_instances("timers", "armed", marks, join)


LATEST_TASK = f"{_SELECT_TASK} WHERE instance = ? AND task = ? ORDER BY seq DESC LIMIT 1"


@dataclass(frozen=True, slots=True)
class StoredTasks:
    """A working set's view of its stored task rows (``runtime.instance.TaskHistory``), read
    through the transaction that loaded it."""

    queries: Queries
    instance: str

    def latest(self, task: str) -> TaskOccurrence | None:
        return self.queries.latest_task(self.instance, task)


def _with_task(rows: list[Any], named: Iterable[Sequence[Any]]) -> list[Any]:
    """``rows`` (task rows by instance and seq) with the ``named`` ones, each once, in order."""
    unique = {row[_ID]: row for row in (*rows, *named)}
    return sorted(unique.values(), key=_BY_INSTANCE_SEQ)


_INSERT_SOURCE = insert_sql("sources", SOURCE_COLUMNS, " ON CONFLICT (digest) DO NOTHING")
_INSERT_INSTANCE = insert_sql("instances", INSTANCE_COLUMNS)
# An update leaves out what cannot have changed, so the ``(playbook, status)`` index is
# rewritten only when an instance closes (see ``_upsert``): the playbook never changes, and an
# instance that is open now was open when it was read (nothing reopens one).
_UPDATE_COLUMNS = tuple(c for c in INSTANCE_COLUMNS if c not in ("id", "revision", "playbook"))
_UPDATE_OPEN_COLUMNS = tuple(c for c in _UPDATE_COLUMNS if c != "status")


def _update_instance(columns: Sequence[str], where: str = "") -> str:
    return (f"UPDATE instances SET {', '.join(f'{c} = ?' for c in columns)}, "
            f"revision = revision + 1 WHERE id = ? AND revision = ?{where}")


_UPDATE_INSTANCE = _update_instance(_UPDATE_COLUMNS)
_UPDATE_OPEN_INSTANCE = _update_instance(_UPDATE_OPEN_COLUMNS, " AND status = 'open'")
_UPSERT_TASK = _upsert("tasks", TASK_COLUMNS)
_UPSERT_TIMER = _upsert("timers", TIMER_COLUMNS)
_INSERT_OUTBOX = insert_sql("outbox", OUTBOX_COLUMNS)
_INSERT_OUTBOX_ONCE = insert_sql("outbox", OUTBOX_COLUMNS, " ON CONFLICT (message_id) DO NOTHING")
_INSERT_AUDIT = insert_sql("audit_log", AUDIT_COLUMNS)
_SELECT_OUTBOX = (f"SELECT {names(OUTBOX_ALL_COLUMNS, 'o.')}, i.playbook FROM outbox o "
                  "LEFT JOIN instances i ON i.id = o.instance")
_RECORD_DELIVERY = ("UPDATE outbox SET status = ?, attempts = ?, next_attempt = ?, "
                    "last_error = ?, recipients = ?, sent_at = ?, sent_by = ? WHERE id = ?")
_AUDIT_HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_AUDIT_HEAD_AT = "SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1"


class Queries:
    """The shared queries, run on one connection in one dialect."""

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.dialect.sql(sql), params)

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            _execute_many(self.conn, self.dialect.sql(sql), rows)

    def fetch(self, sql: str, params: Sequence[Any], columns: Sequence[str],
              ) -> list[dict[str, Any]]:
        return [dict(zip(columns, row, strict=True)) for row in self.execute(sql, params)]

    def load_instance(self, id: str, lock: bool = False) -> Instance:
        """One instance with its tasks and timers, reading only that instance's rows."""
        suffix = self.dialect.lock_for_update if lock else ""
        rows = self.fetch(f"{_SELECT_INSTANCE} WHERE id = ?{suffix}", (id,), INSTANCE_COLUMNS)
        if not rows:
            raise NotFoundError(f"unknown instance '{id}'")
        tasks = self.execute(f"{_SELECT_TASK} WHERE instance = ? ORDER BY seq",
                             (id,)).fetchall()
        timers = self.execute(f"{_SELECT_TIMER} WHERE instance = ? ORDER BY seq",
                              (id,)).fetchall()
        (instance,) = _assemble(rows, tasks, timers, None)
        return instance

    def load_instances(self, ids: Sequence[str], lock: bool = False,
                       damaged: list[str] | None = None) -> list[Instance]:
        """Several instances with their tasks and timers in three queries, in ``ids`` order
        (unknown ids are left out; see ``_assemble`` for ``damaged``)."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        suffix = self.dialect.lock_for_update if lock else ""
        rows = self.fetch(f"{_SELECT_INSTANCE} WHERE id IN ({marks}) ORDER BY id{suffix}",
                          ids, INSTANCE_COLUMNS)
        tasks = self.execute(f"{_SELECT_TASK} WHERE instance IN ({marks}) "
                             "ORDER BY instance, seq", ids).fetchall()
        timers = self.execute(f"{_SELECT_TIMER} WHERE instance IN ({marks}) "
                              "ORDER BY instance, seq", ids).fetchall()
        found = {i.id: i for i in _assemble(rows, tasks, timers, damaged)}
        return [found[i] for i in ids if i in found]

    def load_working_sets(self, ids: Sequence[str], lock: bool = False,
                          damaged: list[str] | None = None,
                          task: str | None = None) -> list[Instance]:
        """Several instances as working sets (``Instance.working_set``), in ``ids`` order:
        each with its open task occurrences (and the occurrence ``task`` when given), its armed
        timers, how many rows of each it has (what new rows are numbered after), and a reader
        of the latest occurrence of a task (``StoredTasks``: what ``done('task')`` asks, in
        this transaction). Unknown ids are left out; see ``_assemble`` for ``damaged``. Three
        queries, each through an index of the instance's rows (the partial ``tasks_open`` and
        ``timers_armed`` hold only open tasks and armed timers)."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        suffix = self.dialect.lock_for_update if lock else ""
        rows = self.fetch(f"{SELECT_HEAD} WHERE id IN ({marks}) ORDER BY id{suffix}", ids,
                          _HEAD_COLUMNS)
        join = self.dialect.outer_join_first
        tasks = self.execute(open_tasks_sql(marks, join), ids).fetchall()
        if task is not None and all(row[_ID] != task for row in tasks):  # a closed one
            tasks = _with_task(tasks, self.execute(f"{_SELECT_TASK} WHERE id = ?", (task,)))
        timers = self.execute(armed_timers_sql(marks, join), ids).fetchall()
        found = {i.id: i for i in _assemble(rows, tasks, timers, damaged, working=True)}
        for instance in found.values():
            instance.history = StoredTasks(self, instance.id)
        return [found[i] for i in ids if i in found]

    def latest_task(self, instance: str, task: str) -> TaskOccurrence | None:
        """The latest occurrence of ``task`` in ``instance``, or None: the ``(instance, seq)``
        index read backwards from the newest row until one is that task's."""
        row = self.execute(LATEST_TASK, (instance, task)).fetchone()
        return None if row is None else task_from_values(row)

    def get_source(self, digest: str) -> str:
        row = self.execute("SELECT text FROM sources WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown playbook source '{digest}'")
        text: str = row[0]
        return text

    def audit_head(self) -> tuple[int, str]:
        row = self.execute(_AUDIT_HEAD).fetchone()
        return (0, audit.GENESIS) if row is None else (int(row[0]), str(row[1]))

    def audit_head_at(self) -> tuple[int, str, str | None]:
        """:meth:`audit_head` and the head's ``at`` (None when the log is empty)."""
        row = self.execute(_AUDIT_HEAD_AT).fetchone()
        return (0, audit.GENESIS, None) if row is None else (int(row[0]), str(row[1]),
                                                              str(row[2]))

    def list_instances(self, playbook: str | None, state: str | None, status: str | None,
                       damaged: list[str] | None = None) -> list[Instance]:
        filters = {"playbook": playbook, "state": state, "status": status}
        given = {k: v for k, v in filters.items() if v is not None}
        where = ("WHERE " + " AND ".join(f"{k} = ?" for k in given)) if given else ""
        params = tuple(given.values())
        mine = f"WHERE instance IN (SELECT id FROM instances {where})"
        rows = self.fetch(f"{_SELECT_INSTANCE} {where} ORDER BY {self.dialect.instance_order}",
                          params, INSTANCE_COLUMNS)
        tasks = self.execute(f"{_SELECT_TASK} {mine} ORDER BY instance, seq",
                             params).fetchall()
        timers = self.execute(f"{_SELECT_TIMER} {mine} ORDER BY instance, seq",
                              params).fetchall()
        return _assemble(rows, tasks, timers, damaged)

    def open_tasks(self, until: dt.date | None, roles: Collection[str] | None,
                   person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        where, params = _task_filter(until, roles, person)
        return self._task_rows(where, params, "t.due_date IS NULL, t.due_date, t.instance, "
                                              "t.task, t.seq")

    def upcoming_tasks(self, after: dt.date, until: dt.date, roles: Collection[str] | None,
                       person: str | None, limit: int) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """The first ``limit`` open tasks due after ``after`` and by ``until`` (as
        ``open_tasks`` selects them), by due date: the index's order, so the cost does not
        grow with the number of tasks in the range."""
        where, params = _task_filter(until, roles, person)
        where.append("t.due_date > ?")
        params.append(after.isoformat())
        return self._task_rows(where, params, f"t.due_date LIMIT {int(limit)}")

    def finished_tasks(self, since: dt.date, roles: Collection[str] | None,
                       person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Done and cancelled tasks closed on or after ``since`` (by the date their
        ``closed_at`` text starts with, a day early to allow for offsets)."""
        where = ["t.status IN ('done', 'cancelled')", "t.closed_at >= ?"]
        params = [(since - dt.timedelta(days=1)).isoformat()]
        _role_filter(where, params, roles, person)
        return self._task_rows(where, params, "t.due_date IS NULL, t.due_date, t.instance, "
                                              "t.task, t.seq")

    def _task_rows(self, where: list[str], params: list[str],
                   order: str) -> list[tuple[TaskOccurrence, TaskOwner]]:
        sql = (f"SELECT {names(TASK_COLUMNS, 't.')}, i.playbook, i.subject "
               "FROM tasks t JOIN instances i ON i.id = t.instance "
               f"WHERE {' AND '.join(where)} ORDER BY {order}")
        split = len(TASK_COLUMNS)
        result: list[tuple[TaskOccurrence, TaskOwner]] = []
        owners: dict[str, TaskOwner] = {}
        for row in self.execute(sql, params):
            task = task_from_values(row[:split])
            owner = owners.get(task.instance)
            if owner is None:
                owner = owners[task.instance] = TaskOwner(task.instance, *row[split:])
            result.append((task, owner))
        return result

    def outbox(self, status: str | None = None, due_by: dt.datetime | None = None,
               ) -> list[OutboxEntry]:
        """Messages, oldest first: all, or those with ``status``; with ``due_by``, only
        those whose next attempt is not later (times are UTC text, so text compares)."""
        where: list[str] = []
        params: list[str | None] = []
        if status is not None:
            where.append("o.status = ?")
            params.append(status)
        if due_by is not None:
            where.append("(o.next_attempt IS NULL OR o.next_attempt <= ?)")
            params.append(utc_text(due_by))
        sql = f"{_SELECT_OUTBOX} {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY o.id"
        rows = self.fetch(sql, params, (*OUTBOX_ALL_COLUMNS, "playbook"))
        return [outbox_from_row(r) for r in rows]

    def insert_message(self, message: Message, once: bool = False) -> int | None:
        """Insert one message; its outbox id (with ``once``: None when a message with its
        ``Message-ID`` is already in the outbox, which is left as it is)."""
        cursor = self.execute(_INSERT_OUTBOX_ONCE if once else _INSERT_OUTBOX,
                              values(outbox_row(message), OUTBOX_COLUMNS))
        if once and not cursor.rowcount:
            return None
        row = self.execute("SELECT id FROM outbox WHERE message_id = ?",
                           (message.message_id,)).fetchone()
        return int(row[0])

    def is_empty(self) -> bool:
        """No instance, source, message or audit record: a copy may land here."""
        return all(self.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() is None
                   for t in TABLES)


def _task_filter(until: dt.date | None, roles: Collection[str] | None,
                 person: str | None) -> tuple[list[str], list[str]]:
    """The WHERE terms and parameters of open tasks due by ``until`` of ``roles``; with
    ``person``, theirs and the unassigned ones of ``roles`` (see ``SqlStore.open_tasks``)."""
    where = ["t.status = 'open'"]
    params: list[str] = []
    if until is not None:
        where.append("t.due_date <= ?")
        params.append(until.isoformat())
    _role_filter(where, params, roles, person)
    return where, params


def _role_filter(where: list[str], params: list[str], roles: Collection[str] | None,
                 person: str | None) -> None:
    """Add to ``where``/``params`` the tasks of ``roles`` (all when None); with ``person``,
    theirs and the unassigned ones of ``roles``."""
    wanted = sorted(set(roles)) if roles is not None else None
    pool = "1 = 1"  # the tasks of the roles wanted: all, none, or those of ``roles``
    if wanted is not None:
        pool = f"t.role IN ({', '.join('?' * len(wanted))})" if wanted else "1 = 0"
    if person is not None:  # theirs, and the unassigned tasks of the roles
        where.append(f"(t.assignee = ? OR (t.assignee IS NULL AND {pool}))")
        params.append(person)
    elif wanted is not None:
        where.append(pool)
    params.extend(wanted or ())


def _assemble(rows: Sequence[Row], task_rows: Iterable[Sequence[Any]],
              timer_rows: Iterable[Sequence[Any]], damaged: list[str] | None,
              working: bool = False) -> list[Instance]:
    """Instances from their rows, in ``rows`` order; their tasks and timers from rows of
    ``TASK_COLUMNS`` and ``TIMER_COLUMNS`` values (read without a dict per row: an instance's
    history can be long). A row that cannot be read (edited or corrupted outside frontdesk)
    raises ``DamagedRowsError`` naming it, or, given a ``damaged`` list, is named there and
    left out so the other instances can be handled. ``working``: the rows are working sets,
    and ``rows`` count each instance's ``task_rows`` and ``timer_rows``."""
    tasks: dict[str, list[Sequence[Any]]] = defaultdict(list)
    timers: dict[str, list[Sequence[Any]]] = defaultdict(list)
    for values in task_rows:
        tasks[values[_INSTANCE]].append(values)
    for values in timer_rows:
        timers[values[_INSTANCE]].append(values)
    found = []
    for row in rows:
        try:
            instance = instance_from_row(
                row, [task_from_values(t) for t in tasks[row["id"]]],
                [timer_from_values(t) for t in timers[row["id"]]])
            if working:
                instance.working_set = True
                instance.tasks_left_out = (row["task_rows"] or 0) - len(instance.tasks)
                instance.timers_left_out = (row["timer_rows"] or 0) - len(instance.timers)
            found.append(instance)
        except (ValueError, TypeError, KeyError) as exc:
            if damaged is None:
                raise DamagedRowsError([str(row["id"])]) from exc
            damaged.append(str(row["id"]))
    return found


_INSTANCE = TASK_COLUMNS.index("instance")
assert TIMER_COLUMNS.index("instance") == _INSTANCE
_ID = TASK_COLUMNS.index("id")
_BY_INSTANCE_SEQ = operator.itemgetter(_INSTANCE, TASK_COLUMNS.index("seq"))


def audit_query(instance: str | None, since: dt.date | dt.datetime | None,
                ) -> tuple[str, list[str]]:
    """The query of exported records in seq order, filtered by instance and time.

    ``since`` keeps records at or after it: a date means from 00:00 UTC that day, a datetime
    must be aware.
    """
    where: list[str] = []
    params: list[str] = []
    if instance is not None:
        where.append("instance = ?")
        params.append(instance)
    if since is not None:
        where.append("at >= ?")
        params.append(audit.format_at(since) if isinstance(since, dt.datetime)
                      else since.isoformat())
    sql = (f"SELECT {names(AUDIT_COLUMNS)} FROM audit_log "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY seq")
    return sql, params


def audit_records_of(rows: Iterable[Sequence[Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield record_from_row(dict(zip(AUDIT_COLUMNS, row, strict=True)))


def table_query(table: str, dialect: Dialect) -> str:
    """Every row of ``table`` in a stable order (what ``db copy`` reads)."""
    order = TABLE_ORDER[table].format(order=dialect.instance_order)
    return f"SELECT {names(TABLE_COLUMNS[table])} FROM {table} ORDER BY {order}"


class SqlTxn:
    """One write transaction (see ``base.Txn``); the store began it and commits it."""

    def __init__(self, conn: Connection, dialect: Dialect,
                 stored_sources: set[str] | None = None, principal: str = "",
                 clock: str = "real") -> None:
        self._q = Queries(conn, dialect)
        self._dialect = dialect
        self.principal = principal  # stamped on every audit record this transaction writes
        self.clock = clock  # the store's clock kind: how a clock behind the log is treated
        # digests known to be in ``sources`` already (a committed instance's source is, and
        # sources are never removed), so a change does not send its playbook text again
        self._stored_sources = stored_sources if stored_sources is not None else set()
        self.written_sources: set[str] = set()  # known stored once this transaction commits
        # The audit chain's head as this transaction left it: the first append takes the
        # chain's lock (held until commit) and reads the head; later ones extend it from here.
        self._head: tuple[int, str, str | None] | None = None

    def load_instance(self, id: str) -> Instance:
        instance = self._q.load_instance(id, lock=True)
        self._stored_sources.add(instance.digest)
        return instance

    def load_instances(self, ids: Sequence[str],
                       damaged: list[str] | None = None) -> list[Instance]:
        instances = self._q.load_instances(ids, lock=True, damaged=damaged)
        self._stored_sources.update(i.digest for i in instances)
        return instances

    def load_working_set(self, id: str, task: str | None = None) -> Instance:
        found = self.load_working_sets([id], task=task)
        if not found:
            raise NotFoundError(f"unknown instance '{id}'")
        return found[0]

    def load_working_sets(self, ids: Sequence[str], damaged: list[str] | None = None,
                          task: str | None = None) -> list[Instance]:
        instances = self._q.load_working_sets(ids, lock=True, damaged=damaged, task=task)
        self._stored_sources.update(i.digest for i in instances)
        return instances

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit: what it writes is undone alone if it raises (batched commands)."""
        self._q.execute("SAVEPOINT frontdesk_item")
        try:
            yield
        except BaseException:
            self._head = None  # the records appended under the savepoint are undone
            self._q.execute("ROLLBACK TO SAVEPOINT frontdesk_item")
            self._q.execute("RELEASE SAVEPOINT frontdesk_item")
            raise
        self._q.execute("RELEASE SAVEPOINT frontdesk_item")

    def instance_of_task(self, task_id: str) -> str:
        row = self._q.execute("SELECT instance FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown task '{task_id}'")
        return str(row[0])

    def open_instance_ids(self, playbook: str) -> list[str]:
        rows = self._q.execute("SELECT id FROM instances WHERE playbook = ? AND status = 'open' "
                               f"ORDER BY {self._dialect.instance_order}", (playbook,))
        return [str(r[0]) for r in rows]

    def open_instance_heads(self, playbook: str) -> list[Instance]:
        rows = self._q.fetch(f"{_SELECT_INSTANCE} WHERE playbook = ? AND status = 'open' "
                             "ORDER BY started_at, id", (playbook,), INSTANCE_COLUMNS)
        return [instance_from_row(row) for row in rows]

    def due_timer_instance_ids(self, today: dt.date, now: dt.datetime) -> list[str]:
        rows = self._q.execute(
            "SELECT t.instance, t.due FROM timers t JOIN instances i ON i.id = t.instance "
            "WHERE t.status = 'armed' AND i.status = 'open' AND t.due_date <= ? "
            f"ORDER BY t.due_date, i.started_at, i.{self._dialect.instance_order}",
            (today.isoformat(),))
        ids: dict[str, None] = {}
        for instance, due_text in rows:
            due = due_from_text(due_text)
            if isinstance(due, dt.datetime) and due > now:
                continue  # due later today
            ids[str(instance)] = None
        return list(ids)

    def get_source(self, digest: str) -> str:
        return self._q.get_source(digest)

    def schedule_subjects(self, schedule: str, period: str) -> set[str]:
        rows = self._q.execute("SELECT subject FROM schedule_runs WHERE schedule = ? AND "
                               "period = ?", (schedule, period))
        return {str(row[0]) for row in rows}

    def record_schedule_run(self, schedule: str, period: str, subject: str,
                            instance: str | None, at: str) -> None:
        self._q.execute("INSERT INTO schedule_runs (schedule, period, subject, instance, at) "
                        "VALUES (?, ?, ?, ?, ?)", (schedule, period, subject, instance, at))

    def insert_message(self, message: Message, once: bool = False) -> int | None:
        """Add one message to the outbox in this transaction; its outbox id (with ``once``,
        None when its ``Message-ID`` is there already)."""
        return self._q.insert_message(message, once)

    def apply(self, change: Change) -> None:
        """Write ``change`` (sources, instances with the task and timer rows it touched,
        messages) and chain its audit records after the head, all in this transaction."""
        self._write_sources(change)
        revisions: dict[str, int] = {}  # id -> revision once written by this change
        for inst in change.instances:
            new = inst.id in change.new_instances and inst.id not in revisions
            revisions[inst.id] = self._write_instance(inst, revisions.get(inst.id,
                                                                          inst.revision), new)
            self._write_rows(inst, everything=inst.id in change.new_instances)
        self._q.executemany(_INSERT_OUTBOX, [values(outbox_row(message), OUTBOX_COLUMNS)
                                             for message in change.messages])
        self._append_audit(change)
        for inst in change.instances:  # only once every statement has succeeded
            inst.revision = revisions[inst.id]
            inst.dirty.clear()

    def _write_sources(self, change: Change) -> None:
        for row in source_rows(change):
            digest = row["digest"]
            if digest not in self._stored_sources and digest not in self.written_sources:
                self._q.execute(_INSERT_SOURCE, values(row, SOURCE_COLUMNS))
                self.written_sources.add(digest)

    def _write_instance(self, inst: Instance, current: int, new: bool) -> int:
        """Insert or update the instance row; its new revision. An update is checked against
        the revision the change started from (a concurrent writer makes it a conflict)."""
        q = self._q
        row = instance_row(inst, current + 1)
        if new:
            if q.execute("SELECT 1 FROM instances WHERE id = ?", (inst.id,)).fetchone():
                raise ConflictError(f"instance '{inst.id}' already exists; retry")
            q.execute(_INSERT_INSTANCE, values(row, INSTANCE_COLUMNS))
        else:
            sql, columns = ((_UPDATE_OPEN_INSTANCE, _UPDATE_OPEN_COLUMNS) if inst.status == "open"
                            else (_UPDATE_INSTANCE, _UPDATE_COLUMNS))
            cursor = q.execute(sql, (*values(row, columns), inst.id, current))
            if cursor.rowcount == 0:
                raise ConflictError(f"instance '{inst.id}' was changed by someone else; retry")
        return current + 1

    def _write_rows(self, inst: Instance, everything: bool) -> None:
        """The task and timer rows of ``inst``: only those the step changed (the cost of a
        change must not grow with the instance's history), or all of a new instance."""
        dirty = inst.dirty
        self._q.executemany(_UPSERT_TASK, [
            values(task_row(task, inst.playbook, row_seq(task.seq, at, inst.tasks_left_out)),
                   TASK_COLUMNS)
            for at, task in enumerate(inst.tasks) if everything or task.id in dirty])
        self._q.executemany(_UPSERT_TIMER, [
            values(timer_row(timer, row_seq(timer.seq, at, inst.timers_left_out)),
                   TIMER_COLUMNS)
            for at, timer in enumerate(inst.timers) if everything or timer.id in dirty])

    def _append_audit(self, change: Change) -> None:
        q = self._q
        if self._head is None:
            self._dialect.lock_chain(q.conn)  # held until commit: one linear chain
            self._head = q.audit_head_at()
        last_seq, last_hash, last_at = self._head
        records = audit.chain_with_data(change.audit, last_seq, last_hash, self.principal,
                                        not_before=last_at, clamp=self.clock == "real")
        q.executemany(_INSERT_AUDIT, [audit_values(record, data) for record, data in records])
        if records:
            last = records[-1][0]
            self._head = (last["seq"], last["hash"], last["at"])


class SqlStore:
    """The reads of the store protocol over the connections a backend provides.

    A store object keeps one connection for its life (one command), opened and migrated on
    first use by the backend's ``_connection()``; ``_read()`` runs a block in one read-only
    snapshot and ``_write()`` in a write transaction, committed on a clean exit and rolled back
    on an exception. A read asked for inside an open block joins it; a write inside a read is a
    bug and refused.
    """

    dialect_info: Dialect
    _conn: Any = None  # the store's one connection, opened by ``_connection()``
    read_begin = "BEGIN"
    write_begin = "BEGIN"
    _block_kind: str | None = None  # "read" or "write" while a block is open
    _block_depth = 0

    def __init__(self, clock_override: bool = False) -> None:
        self._stored_sources: set[str] = set()  # see SqlTxn
        self._principal: str | None = None
        self.clock_override = clock_override  # this command runs on a simulated clock
        self._clock_kind: str | None = None

    def clock_kind(self) -> str:
        """``simulated`` when the store was created under a clock override (a demo, a
        scenario, a rehearsal), else ``real`` (also for stores created before clock kinds were
        recorded). A real store refuses writes under a clock override and, should the system
        clock step back, records the last record's time; a simulated one refuses a write whose
        clock is earlier than the log's last record."""
        if self._clock_kind is None:
            with self._read() as conn:
                row = conn.execute("SELECT value FROM store_facts WHERE name = 'clock'"
                                   ).fetchone()
            self._clock_kind = str(row[0]) if row else "real"
        return self._clock_kind

    @property
    def principal(self) -> str:
        """Who is authenticated to this store: recorded on every audit record it writes.
        The backend's own identity (the OS account, the database session user) unless an
        edge that authenticates people itself (the web board) sets ``web:<person>``."""
        if self._principal is None:
            self._principal = self._authenticated()
        return self._principal

    @principal.setter
    def principal(self, value: str) -> None:
        self._principal = value

    def _authenticated(self) -> str:
        raise NotImplementedError

    @property
    def where(self) -> str:
        """The store for messages: the file, or the database and host (never a password)."""
        raise NotImplementedError

    @property
    def dialect(self) -> str:
        return self.dialect_info.name

    def _connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connection (the next use opens a new one)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    @contextmanager
    def _block(self, kind: str, begin: str, end: str) -> Iterator[Any]:
        with self._connection() as conn:
            if self._block_depth:
                if kind == "write" and self._block_kind == "read":
                    raise RuntimeError("a write transaction inside a read block")
                self._block_depth += 1
                try:
                    yield conn
                finally:
                    self._block_depth -= 1
                return
            conn.execute(begin)
            self._block_kind, self._block_depth = kind, 1
            try:
                yield conn
                conn.execute(end)
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                self._block_kind, self._block_depth = None, 0

    def _read(self) -> AbstractContextManager[Any]:
        return self._block("read", self.read_begin, "ROLLBACK")

    def _write(self) -> AbstractContextManager[Any]:
        return self._block("write", self.write_begin, "COMMIT")

    def _rows(self, conn: Connection, sql: str, params: Sequence[Any],
              ) -> Iterator[Sequence[Any]]:
        """The rows of a long query (``?`` placeholders) on ``conn``, in constant memory."""
        yield from conn.execute(self.dialect_info.sql(sql), params)

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        with self._read() as conn:
            yield from self._rows(conn, sql, params)

    def _recorded(self, conn: Any) -> list[str]:
        """The migrations recorded in the store, in order (none when it is new)."""
        raise NotImplementedError

    def _begin_migration(self, conn: Any) -> None:
        """Begin the migration's transaction, holding off other processes' migrations."""
        raise NotImplementedError

    def _rollback(self, conn: Any) -> None:
        raise NotImplementedError

    def _migrate(self, conn: Any) -> list[str]:
        """Apply the migrations not yet recorded, all in one transaction; the names applied."""
        if not migrations.to_apply(self.dialect, self._recorded(conn)):
            return []  # the usual case: no lock taken
        self._begin_migration(conn)
        try:
            conn.execute(migrations.TABLE[self.dialect])
            now = dt.datetime.now(dt.UTC).isoformat()
            applied = []
            for migration in migrations.to_apply(self.dialect, self._recorded(conn)):
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(self.dialect_info.sql(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, ?)"),
                    (migration.name, now))
                applied.append(migration.name)
            if migrations.FIRST in applied:  # a new store: its clock kind is fixed now
                conn.execute(self.dialect_info.sql(
                    "INSERT INTO store_facts (name, value) VALUES ('clock', ?)"),
                    ("simulated" if self.clock_override else "real",))
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        return applied

    # -- what ``audit verify`` reads, streamed -------------------------------------------
    def audit_rows(self) -> Generator[Sequence[Any], None, None]:
        """Every audit row as stored (``data`` as its JSON text), in ``RECORD_KEYS`` column
        order and seq order, streamed."""
        yield from self._stream(f"SELECT {names(AUDIT_COLUMNS)} FROM audit_log ORDER BY seq", ())

    def audit_records_by_instance(self) -> Generator[dict[str, Any], None, None]:
        """Every exported record ordered by instance, then seq, streamed."""
        yield from audit_records_of(self._stream(
            f"SELECT {names(AUDIT_COLUMNS)} FROM audit_log ORDER BY instance, seq", ()))

    def sources(self) -> Generator[tuple[str, str], None, None]:
        """``(digest, text)`` of every stored playbook source, streamed."""
        for digest, text in self._stream("SELECT digest, text FROM sources ORDER BY digest", ()):
            yield str(digest), str(text)

    def iter_instances(self, batch: int = 500) -> Generator[Instance, None, None]:
        """Every instance with its tasks and timers, ordered by id, a batch at a time (memory
        bounded by the batch, whatever the number of instances)."""
        after = ""
        while True:
            with self._read() as conn:
                q = Queries(conn, self.dialect_info)
                ids = [str(row[0]) for row in q.execute(
                    "SELECT id FROM instances WHERE id > ? ORDER BY id LIMIT ?", (after, batch))]
                loaded = q.load_instances(ids)
            yield from loaded
            if len(ids) < batch:
                return
            after = ids[-1]

    # -- what reports read, streamed (engine/reports) ----------------------------------------
    def _by_id(self) -> str:
        """Ordering by instance id that matches Python's string order on both dialects, so
        ``engine.reports`` can merge the streams below by instance id."""
        return ' COLLATE "C"' if self.dialect_info.name == "postgresql" else ""

    def report_instances(self, playbook: str) -> Generator[Sequence[Any], None, None]:
        """``(id, status, outcome, state, started_at, updated_at, vars, subject)`` of every
        instance of ``playbook`` (``vars`` as stored JSON text), ordered by id, streamed."""
        yield from self._stream(
            "SELECT id, status, outcome, state, started_at, updated_at, vars, subject "
            "FROM instances "
            f"WHERE playbook = ? ORDER BY id{self._by_id()}", (playbook,))

    def report_task_rows(self, playbook: str, tasks: Sequence[str],
                         ) -> Generator[Sequence[Any], None, None]:
        """``(instance, task, status, due_date, closed_at)`` of the occurrences of ``tasks``
        in ``playbook``'s instances, ordered by instance id, then creation, streamed."""
        marks = ", ".join("?" for _ in tasks)
        yield from self._stream(
            "SELECT instance, task, status, due_date, closed_at FROM tasks WHERE playbook = ? "
            f"AND task IN ({marks}) ORDER BY instance{self._by_id()}, seq", (playbook, *tasks))

    def report_event_rows(self, playbook: str, events: Sequence[str],
                          ) -> Generator[Sequence[Any], None, None]:
        """``(instance, event, at)`` of the transitions of ``events`` fired at ``playbook``'s
        instances (not the timer records that name an event they would fire), ordered by
        instance id, then seq, streamed."""
        marks = ", ".join("?" for _ in events)
        yield from self._stream(
            "SELECT instance, event, at FROM audit_log WHERE playbook = ? "
            f"AND action = 'transition' AND event IN ({marks}) "
            f"ORDER BY instance{self._by_id()}, seq", (playbook, *events))

    def workload_rows(self) -> Generator[Sequence[Any], None, None]:
        """``(role, assignee, status, due_date, closed_at)`` of every open or done task,
        streamed in no particular order."""
        yield from self._stream(
            "SELECT role, assignee, status, due_date, closed_at FROM tasks "
            "WHERE status IN ('open', 'done')", ())

    def deadline_rows(self, first: dt.date, last: dt.date,
                      ) -> Generator[Sequence[Any], None, None]:
        """``(kind, instance, playbook, subject, what, due_date)`` of the open tasks and armed
        timers due from ``first`` to ``last`` (``kind`` ``task`` or ``timer``), streamed."""
        bounds = (first.isoformat(), last.isoformat())
        yield from self._stream(
            "SELECT 'task', t.instance, i.playbook, i.subject, t.title, t.due_date "
            "FROM tasks t JOIN instances i ON i.id = t.instance "
            "WHERE t.status = 'open' AND t.due_date >= ? AND t.due_date <= ? "
            "UNION ALL SELECT 'timer', m.instance, i.playbook, i.subject, m.event, m.due_date "
            "FROM timers m JOIN instances i ON i.id = m.instance "
            "WHERE m.status = 'armed' AND m.due_date >= ? AND m.due_date <= ?",
            (*bounds, *bounds))

    # -- the audit log's guards ---------------------------------------------------------
    def _guard_problems(self, conn: Any) -> list[migrations.GuardProblem]:
        """The audit log's guards that are missing, altered or disabled, and any grant that
        lets someone other than the owner rewrite the log."""
        raise NotImplementedError

    def guard_problems(self) -> list[migrations.GuardProblem]:
        """What is wrong with the audit log's append-only guards (empty when all hold)."""
        with self._read() as conn:
            return self._guard_problems(conn)

    def _restore(self, conn: Any, problem: migrations.GuardProblem) -> None:
        raise NotImplementedError

    def restore_guards(self) -> list[migrations.GuardProblem]:
        """Recreate every missing or altered guard, revoke every rewriting grant; the
        problems this repaired."""
        with self._write() as conn:
            problems = self._guard_problems(conn)
            for problem in problems:
                self._restore(conn, problem)
        return problems

    def _refuse_clock_override(self) -> None:
        if self.clock_override and self.clock_kind() == "real":
            raise UsageError(f"the store {self.where} keeps real time: --now and $FRONTDESK_NOW "
                             "are for reading it (or for a store created with them)")

    @contextmanager
    def transaction(self) -> Iterator[SqlTxn]:
        """A write transaction: committed on a clean exit, rolled back on an exception.

        Refused (exit 2) under a clock override when the store is real: a real store's record
        of when things happened comes from the real clock only."""
        self._refuse_clock_override()
        with self._write() as conn:
            txn = SqlTxn(conn, self.dialect_info, self._stored_sources, self.principal,
                         self.clock_kind())
            yield txn
        if not self._block_depth:  # committed (a joined block commits with its outer one)
            self._stored_sources |= txn.written_sources

    def get_instance(self, id: str) -> Instance:
        with self._read() as conn:
            return Queries(conn, self.dialect_info).load_instance(id)

    def get_source(self, digest: str) -> str:
        with self._read() as conn:
            return Queries(conn, self.dialect_info).get_source(digest)

    def list_instances(self, playbook: str | None = None, state: str | None = None,
                       status: str | None = None,
                       damaged: list[str] | None = None) -> list[Instance]:
        """Instances matching every filter given, oldest first, with their tasks and timers
        (an unreadable one raises, or is named in ``damaged`` and left out)."""
        with self._read() as conn:
            return Queries(conn, self.dialect_info).list_instances(playbook, state, status,
                                                                   damaged)

    def stuck_instances(self) -> list[Instance]:
        """Open instances with an armed timer that cannot fire as their playbook stands (one
        ``tick`` marked with its error), oldest first, with their tasks and timers."""
        with self._read() as conn:
            q = Queries(conn, self.dialect_info)
            ids = [str(row[0]) for row in q.execute(
                "SELECT DISTINCT t.instance FROM timers t JOIN instances i ON i.id = t.instance "
                "WHERE t.status = 'armed' AND t.error IS NOT NULL AND i.status = 'open' "
                "ORDER BY t.instance", ())]
            return q.load_instances(ids) if ids else []

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Open tasks due by ``until`` for ``roles``, by due date, instance and task id; with
        ``person``, that person's assigned tasks and the unassigned ones of ``roles``, never
        a task assigned to someone else.

        A task without a due date is left out when ``until`` is given and sorts last otherwise.
        Each task comes with its instance's id, playbook and subject (``TaskOwner``).
        """
        with self._read() as conn:
            return Queries(conn, self.dialect_info).open_tasks(until, roles, person)

    def upcoming_tasks(self, after: dt.date, until: dt.date, roles: Collection[str] | None,
                       person: str | None, limit: int) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """The first ``limit`` open tasks due after ``after`` and by ``until``, by due date."""
        with self._read() as conn:
            return Queries(conn, self.dialect_info).upcoming_tasks(after, until, roles, person,
                                                                   limit)

    def finished_tasks(self, since: dt.date, roles: Collection[str] | None = None,
                       person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Done and cancelled tasks closed on or after the practice date ``since`` (give or
        take a day: callers compare ``closed_at`` themselves), with the role and person rules
        of ``open_tasks``."""
        with self._read() as conn:
            return Queries(conn, self.dialect_info).finished_tasks(since, roles, person)

    def audit_records(self, instance: str | None = None,
                      since: dt.date | dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """Exported records in seq order, streamed (constant memory over any log length)."""
        sql, params = audit_query(instance, since)
        return audit_records_of(self._stream(sql, params))

    def audit_head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last record, ``(0, GENESIS)`` when the log is empty."""
        with self._read() as conn:
            return Queries(conn, self.dialect_info).audit_head()

    def outbox(self, status: str | None = None) -> list[OutboxEntry]:
        """Every outbox message (with ``status``: only those), oldest first. A store opened
        read-only is not migrated: one that predates the delivery columns says so."""
        with self._read() as conn:
            if DELIVERY_MIGRATION not in self._recorded(conn):
                raise StoreUnavailableError(
                    f"the store {self.where} predates {DELIVERY_MIGRATION}: run "
                    "'frontdesk db migrate' (as the store's owner) to read its outbox")
            return Queries(conn, self.dialect_info).outbox(status)

    # -- delivery (``frontdesk.outbox``) --------------------------------------------------
    def enqueue(self, messages: Sequence[Message], *, once: bool = False) -> list[int]:
        """Write messages about no change of an instance (a digest), pending, in one
        transaction of their own; their outbox ids. With ``once``, a message whose
        ``Message-ID`` is already in the outbox is skipped (a daily digest's id is fixed by
        person and date): the ids are those of the messages written."""
        with self.transaction() as txn:
            ids = [txn.insert_message(message, once) for message in messages]
        return [i for i in ids if i is not None]

    def known_message_ids(self, message_ids: Collection[str]) -> set[str]:
        """Which of ``message_ids`` are in the outbox already."""
        wanted = sorted(set(message_ids))
        if not wanted:
            return set()
        with self._read() as conn:
            rows = Queries(conn, self.dialect_info).execute(
                f"SELECT message_id FROM outbox WHERE message_id IN "
                f"({', '.join('?' * len(wanted))})", wanted).fetchall()
        return {row[0] for row in rows}

    def deliverable(self, due_by: dt.datetime | None = None) -> list[OutboxEntry]:
        """The pending messages, oldest first; with ``due_by``, only those due by then."""
        with self._read() as conn:
            return Queries(conn, self.dialect_info).outbox(PENDING, due_by)

    def record_delivery(self, update: DeliveryUpdate) -> None:
        """Write one attempt's outcome of a message, committed at once (a crash after the
        server accepted the message and before this commit resends it, same Message-ID)."""
        self._refuse_clock_override()
        with self._write() as conn:
            Queries(conn, self.dialect_info).execute(_RECORD_DELIVERY, delivery_values(update))

    @contextmanager
    def relaxed_durability(self) -> Iterator[None]:
        """Commits in the block do not wait for the disk (SQLite ``synchronous=NORMAL`` in
        WAL mode, PostgreSQL ``synchronous_commit=off``): a killed process loses none of them,
        a power cut may lose the last ones. For delivery records only, where such a loss
        means a message is sent again with the same Message-ID, never that one is lost:
        one fsync per message would cost more than sending it."""
        relax, restore = self.dialect_info.relax_durability
        with self._connection() as conn:
            conn.execute(relax)
            try:
                yield
            finally:
                conn.execute(restore)

    def outbox_counts(self) -> dict[str, int]:
        """How many messages the outbox holds in each status."""
        with self._read() as conn:
            rows = conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            return {str(status): int(count) for status, count in rows}

    def requeue_failed(self) -> int:
        """Make every failed message pending again, due now, its failed recipients too (the
        ones who got it keep ``sent``); how many."""
        self._refuse_clock_override()
        with self._write() as conn:
            q = Queries(conn, self.dialect_info)
            failed = q.outbox(FAILED)
            for entry in failed:
                for recipient in entry.recipients or ():
                    if recipient.status == FAILED:
                        recipient.status = PENDING
                q.execute("UPDATE outbox SET status = ?, next_attempt = NULL, recipients = ? "
                          "WHERE id = ?", (PENDING, recipients_text(entry.recipients or None),
                                           entry.id))
            return len(failed)

    def is_empty(self) -> bool:
        with self._read() as conn:
            return Queries(conn, self.dialect_info).is_empty()

    # -- the web board: logins and search ------------------------------------------------
    def web_login(self, person: str) -> logins.Login | None:
        """``person``'s web login (None: no password set)."""
        with self._read() as conn:
            row = Queries(conn, self.dialect_info).execute(logins.SELECT, (person,)).fetchone()
        return logins.Login.from_row(row) if row else None

    def set_web_password(self, person: str, hashed: str, at: dt.datetime) -> None:
        """Store ``person``'s password hash, clearing failures and any lockout."""
        with self._write() as conn:
            Queries(conn, self.dialect_info).execute(logins.UPSERT,
                                                     (person, hashed, at.isoformat()))

    def web_login_failed(self, person: str, now: dt.datetime, after: int,
                         minutes: float) -> dt.datetime | None:
        """Count a failed login of ``person`` (who has a password); lock them out after
        ``after`` failures in a row (``logins.lock_until``). Until when they are locked."""
        with self._write() as conn:
            q = Queries(conn, self.dialect_info)
            q.execute(logins.FAILED, (person,))
            row = q.execute(logins.SELECT, (person,)).fetchone()
            if row is None:
                return None
            until = logins.lock_until(int(row[3]), after, minutes, now)
            if until is not None:
                q.execute(logins.LOCK, (until.isoformat(), person))
            return until

    def web_login_succeeded(self, person: str, rehashed: str | None = None) -> None:
        """Clear ``person``'s failed logins (and store a fresher hash of the same password)."""
        with self._write() as conn:
            q = Queries(conn, self.dialect_info)
            q.execute(logins.CLEAR, (person,))
            if rehashed is not None:
                q.execute(logins.REHASH, (rehashed, person))

    def search_subjects(self, text: str, limit: int = 50) -> list[Instance]:
        """Instances whose subject holds ``text`` (any case), newest first, at most ``limit``."""
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        with self._read() as conn:
            q = Queries(conn, self.dialect_info)
            ids = [str(r[0]) for r in q.execute(
                f"SELECT id FROM instances WHERE lower(subject) LIKE ? ESCAPE '\\' "
                f"ORDER BY {self.dialect_info.instance_order} DESC LIMIT ?", (pattern, limit))]
            found = {i.id: i for i in q.load_instances(ids)}
        return [found[i] for i in ids if i in found]

    @contextmanager
    def exported(self) -> Iterator[Callable[[str], Iterator[dict[str, Any]]]]:
        """``rows_of(table)``: every row of a data table, streamed, all tables read from one
        snapshot of the store (what ``db copy`` reads while others may be writing)."""
        with self._read() as conn:
            def rows_of(table: str) -> Iterator[dict[str, Any]]:
                columns = TABLE_COLUMNS[table]
                for row in self._rows(conn, table_query(table, self.dialect_info), ()):
                    yield dict(zip(columns, row, strict=True))

            yield rows_of

    def import_rows(self, rows_of: Callable[[str], Iterable[dict[str, Any]]],
                    batch: int = 1000) -> dict[str, int]:
        """Insert every table's rows, as given, into this empty store in one transaction.

        Rows keep their ids, sequence numbers and hashes (``db copy``); refused when the store
        already holds anything, and rolled back unless the copied audit chain verifies. Returns
        the number of rows per table.
        """
        counts: dict[str, int] = {}
        with self._write() as conn:
            q = Queries(conn, self.dialect_info)
            if not q.is_empty():
                raise RefusedError("the target store is not empty; copy only into a new store")
            for table in TABLES:
                columns = TABLE_COLUMNS[table]
                sql = self.dialect_info.sql(insert_sql(table, columns))
                counts[table] = 0
                pending: list[tuple[Any, ...]] = []
                for row in rows_of(table):
                    pending.append(values(row, columns))
                    if len(pending) >= batch:
                        _execute_many(conn, sql, pending)
                        counts[table] += len(pending)
                        pending = []
                if pending:
                    _execute_many(conn, sql, pending)
                    counts[table] += len(pending)
            # The copy is the same store in another place: it keeps the facts fixed when the
            # original was created (its clock kind above all).
            q.execute("DELETE FROM store_facts")
            for row in rows_of("store_facts"):
                q.execute(insert_sql("store_facts", ("name", "value")), (row["name"],
                                                                          row["value"]))
            self.dialect_info.after_import(conn)
            sql, params = audit_query(None, None)
            result = audit.verify(audit_records_of(self._rows(conn, sql, params)))
            if not result.ok:
                raise AuditBrokenError(f"the copied audit chain does not verify: {result.reason}"
                                       f" (first bad seq {result.first_bad_seq}); nothing "
                                       "was copied")
        return counts


def _execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    executemany = getattr(conn, "executemany", None)
    if executemany is None:  # psycopg's connection has none: its cursors do
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)
    else:
        executemany(sql, rows)
