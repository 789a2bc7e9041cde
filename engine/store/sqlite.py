"""The SQLite store: one database file holding instances, sources, the outbox and the audit log.

Each operation opens its own short-lived connection (closed by ``contextlib.closing``) in
autocommit mode: reads run in one deferred transaction so they see one snapshot, writes run in
``BEGIN IMMEDIATE`` so two writers queue on the database lock rather than deadlock, and the lock
is awaited for ``busy_timeout_ms`` before the writer gives up with exit 6 ("retry").

Durability: the database runs in WAL mode with ``synchronous=FULL``. With ``NORMAL`` (the usual
WAL setting) a committed transaction survives a crash of the program but may be lost on a power
cut; the audit log is compliance evidence, so every commit is synced to disk before it returns,
at the price of one fsync per change. The file is created ``0600`` in a ``0700`` folder because
it holds patient-related data; SQLite gives its ``-wal`` and ``-shm`` files the same mode.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Self

from .. import audit
from ..errors import ConflictError, FrontdeskError, NotFoundError, StoreUnavailableError
from ..runtime.instance import Change, Instance, TaskOccurrence, TimerState, due_from_text
from . import migrations
from .base import (
    AUDIT_COLUMNS,
    INSTANCE_COLUMNS,
    OUTBOX_COLUMNS,
    SOURCE_COLUMNS,
    TASK_COLUMNS,
    TIMER_COLUMNS,
    audit_row,
    instance_from_row,
    instance_row,
    outbox_from_row,
    outbox_row,
    record_from_row,
    source_rows,
    task_from_row,
    task_row,
    timer_from_row,
    timer_row,
)

# SQLite primary result codes (``error.sqlite_errorcode & 0xFF``).
_BUSY = {5, 6}  # BUSY, LOCKED: another connection holds the lock past the timeout
_UNAVAILABLE = {3, 8, 10, 11, 13, 14, 22, 23, 26}  # PERM READONLY IOERR CORRUPT FULL CANTOPEN ...


def _store_error(error: sqlite3.Error, path: Path) -> FrontdeskError | None:
    """The user-facing error for a SQLite error, or None when it is a bug to report as such."""
    code = getattr(error, "sqlite_errorcode", None)  # absent on errors Python raises itself
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _BUSY:
        return ConflictError("the store is busy; retry")
    if primary in _UNAVAILABLE:
        return StoreUnavailableError(f"cannot use the store {path}: {error}")
    return None


@contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's lock and file errors into exit 6 and exit 8."""
    try:
        yield
    except sqlite3.Error as e:
        error = _store_error(e, path)
        if error is None:
            raise
        raise error from e


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # closing the connection rolls back anyway; keep the original error


def _names(columns: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _insert(table: str, columns: Sequence[str], verb: str = "INSERT") -> str:
    return (f"{verb} INTO {table} ({_names(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def _upsert(table: str, columns: Sequence[str]) -> str:
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "id")
    return f"{_insert(table, columns)} ON CONFLICT (id) DO UPDATE SET {updates}"


def _values(row: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)


def _fetch(conn: sqlite3.Connection, sql: str, params: Sequence[Any],
           columns: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in conn.execute(sql, params)]


_SELECT_INSTANCE = f"SELECT {_names(INSTANCE_COLUMNS)} FROM instances"
_SELECT_TASK = f"SELECT {_names(TASK_COLUMNS)} FROM tasks"
_SELECT_TIMER = f"SELECT {_names(TIMER_COLUMNS)} FROM timers"
_INSERT_SOURCE = _insert("sources", SOURCE_COLUMNS, "INSERT OR IGNORE")
_INSERT_INSTANCE = _insert("instances", INSTANCE_COLUMNS)
_UPDATE_COLUMNS = tuple(c for c in INSTANCE_COLUMNS if c not in ("id", "revision"))
_UPDATE_INSTANCE = (f"UPDATE instances SET {', '.join(f'{c} = ?' for c in _UPDATE_COLUMNS)}, "
                    "revision = revision + 1 WHERE id = ? AND revision = ?")
_UPSERT_TASK = _upsert("tasks", TASK_COLUMNS)
_UPSERT_TIMER = _upsert("timers", TIMER_COLUMNS)
_INSERT_OUTBOX = _insert("outbox", OUTBOX_COLUMNS)
_INSERT_AUDIT = _insert("audit_log", AUDIT_COLUMNS)
_AUDIT_HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"


def _load_instance(conn: sqlite3.Connection, id: str) -> Instance:
    """One instance with its tasks and timers, reading only that instance's rows."""
    rows = _fetch(conn, f"{_SELECT_INSTANCE} WHERE id = ?", (id,), INSTANCE_COLUMNS)
    if not rows:
        raise NotFoundError(f"unknown instance '{id}'")
    tasks = _fetch(conn, f"{_SELECT_TASK} WHERE instance = ? ORDER BY seq", (id,), TASK_COLUMNS)
    timers = _fetch(conn, f"{_SELECT_TIMER} WHERE instance = ? ORDER BY seq", (id,),
                    TIMER_COLUMNS)
    return instance_from_row(rows[0], [task_from_row(r) for r in tasks],
                             [timer_from_row(r) for r in timers])


def _get_source(conn: sqlite3.Connection, digest: str) -> str:
    row = conn.execute("SELECT text FROM sources WHERE digest = ?", (digest,)).fetchone()
    if row is None:
        raise NotFoundError(f"unknown playbook source '{digest}'")
    text: str = row[0]
    return text


def _audit_head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute(_AUDIT_HEAD).fetchone()
    return (0, audit.GENESIS) if row is None else (int(row[0]), str(row[1]))


def _recorded_migrations(conn: sqlite3.Connection) -> list[str]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'migrations'").fetchone()
    if exists is None:
        return []
    return [str(r[0]) for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]


class SQLiteTxn:
    """A ``BEGIN IMMEDIATE`` transaction on one connection (see ``base.Txn``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def load_instance(self, id: str) -> Instance:
        return _load_instance(self._conn, id)

    def instance_of_task(self, task_id: str) -> str:
        row = self._conn.execute("SELECT instance FROM tasks WHERE id = ?",
                                 (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown task '{task_id}'")
        return str(row[0])

    def open_instance_ids(self, playbook: str) -> list[str]:
        rows = self._conn.execute("SELECT id FROM instances WHERE playbook = ? AND "
                                  "status = 'open' ORDER BY rowid", (playbook,))
        return [str(r[0]) for r in rows]

    def due_timer_instance_ids(self, today: dt.date, now: dt.datetime) -> list[str]:
        rows = self._conn.execute(
            "SELECT t.instance, t.due FROM timers t JOIN instances i ON i.id = t.instance "
            "WHERE t.status = 'armed' AND i.status = 'open' AND t.due_date <= ? "
            "ORDER BY t.due_date, i.started_at, i.rowid", (today.isoformat(),))
        ids: dict[str, None] = {}
        for instance, due_text in rows:
            due = due_from_text(due_text)
            if isinstance(due, dt.datetime) and due > now:
                continue  # due later today
            ids[str(instance)] = None
        return list(ids)

    def get_source(self, digest: str) -> str:
        return _get_source(self._conn, digest)

    def apply(self, change: Change) -> None:
        conn = self._conn
        for row in source_rows(change):
            conn.execute(_INSERT_SOURCE, _values(row, SOURCE_COLUMNS))
        revisions: dict[str, int] = {}  # id -> revision once written by this change
        for inst in change.instances:
            current = revisions.get(inst.id, inst.revision)
            row = instance_row(inst, current + 1)
            if inst.id in change.new_instances and inst.id not in revisions:
                if conn.execute("SELECT 1 FROM instances WHERE id = ?", (inst.id,)).fetchone():
                    raise ConflictError(f"instance '{inst.id}' already exists; retry")
                conn.execute(_INSERT_INSTANCE, _values(row, INSTANCE_COLUMNS))
            else:
                cursor = conn.execute(_UPDATE_INSTANCE,
                                      (*_values(row, _UPDATE_COLUMNS), inst.id, current))
                if cursor.rowcount == 0:
                    raise ConflictError(f"instance '{inst.id}' was changed by someone else; "
                                        "retry")
            revisions[inst.id] = current + 1
            everything = inst.id in change.new_instances
            # Only rows the step changed: the cost of a change must not grow with history.
            for seq, task in enumerate(inst.tasks):
                if everything or task.id in inst.dirty:
                    conn.execute(_UPSERT_TASK, _values(task_row(task, inst.playbook, seq),
                                                       TASK_COLUMNS))
            for seq, timer in enumerate(inst.timers):
                if everything or timer.id in inst.dirty:
                    conn.execute(_UPSERT_TIMER, _values(timer_row(timer, seq),
                                                        TIMER_COLUMNS))
        for message in change.messages:
            conn.execute(_INSERT_OUTBOX, _values(outbox_row(message), OUTBOX_COLUMNS))
        last_seq, last_hash = _audit_head(conn)  # safe: BEGIN IMMEDIATE holds the write lock
        for record in audit.chain(change.audit, last_seq, last_hash):
            conn.execute(_INSERT_AUDIT, _values(audit_row(record), AUDIT_COLUMNS))
        for inst in change.instances:  # only once every statement has succeeded
            inst.revision = revisions[inst.id]
            inst.dirty.clear()


class SQLiteStore:
    """The store in one SQLite file, created (with its folder) and migrated on first use."""

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._migrated = False

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: every operation closes its own connection."""

    # -- connections ---------------------------------------------------------------------
    def _create_file(self) -> None:
        """Create missing folders (0700) and the database file (0600) before SQLite opens it."""
        try:
            missing: list[Path] = []
            folder = self.path.absolute().parent
            while not folder.exists():
                missing.append(folder)
                folder = folder.parent
            for folder in reversed(missing):
                try:
                    folder.mkdir(mode=0o700)
                except FileExistsError:
                    continue  # another process was quicker
                folder.chmod(0o700)  # mkdir's mode is filtered by the umask
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                return
            self.path.chmod(0o600)
        except OSError as e:
            raise StoreUnavailableError(
                f"cannot create the store {self.path}: {e.strerror or e}") from e

    def _open(self) -> sqlite3.Connection:
        self._create_file()
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                               isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the migrations not yet recorded, all in one transaction."""
        if not migrations.to_apply(self.dialect, _recorded_migrations(conn)):
            return  # the usual case: no write lock taken
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(migrations.TABLE[self.dialect])
            now = dt.datetime.now(dt.UTC).isoformat()
            for migration in migrations.to_apply(self.dialect, _recorded_migrations(conn)):
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                             (migration.name, now))
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection to the migrated store, closed on exit; SQLite errors translated."""
        with _sqlite_errors(self.path):
            with closing(self._open()) as conn:
                if not self._migrated:
                    self._migrate(conn)
                    self._migrated = True
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection in a deferred transaction, so several queries see one snapshot."""
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                _rollback(conn)

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTxn]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteTxn(conn)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    # -- reads ---------------------------------------------------------------------------
    def get_instance(self, id: str) -> Instance:
        with self._read() as conn:
            return _load_instance(conn, id)

    def get_source(self, digest: str) -> str:
        with self._read() as conn:
            return _get_source(conn, digest)

    def list_instances(self, playbook: str | None = None, state: str | None = None,
                       status: str | None = None) -> list[Instance]:
        """Instances matching every filter given, oldest first, with their tasks and timers."""
        filters = {"playbook": playbook, "state": state, "status": status}
        given = {k: v for k, v in filters.items() if v is not None}
        where = ("WHERE " + " AND ".join(f"{k} = ?" for k in given)) if given else ""
        params = tuple(given.values())
        mine = f"WHERE instance IN (SELECT id FROM instances {where})"
        tasks: dict[str, list[TaskOccurrence]] = defaultdict(list)
        timers: dict[str, list[TimerState]] = defaultdict(list)
        with self._read() as conn:
            rows = _fetch(conn, f"{_SELECT_INSTANCE} {where} ORDER BY rowid", params,
                          INSTANCE_COLUMNS)
            for row in _fetch(conn, f"{_SELECT_TASK} {mine} ORDER BY instance, seq", params,
                              TASK_COLUMNS):
                tasks[row["instance"]].append(task_from_row(row))
            for row in _fetch(conn, f"{_SELECT_TIMER} {mine} ORDER BY instance, seq", params,
                              TIMER_COLUMNS):
                timers[row["instance"]].append(timer_from_row(row))
        return [instance_from_row(r, tasks[r["id"]], timers[r["id"]]) for r in rows]

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   ) -> list[tuple[TaskOccurrence, Instance]]:
        """Open tasks due by ``until`` for ``roles``, by due date, instance and task id.

        A task without a due date is left out when ``until`` is given and sorts last otherwise.
        Each task comes with its instance, loaded without tasks and timers.
        """
        where = ["t.status = 'open'"]
        params: list[str] = []
        if until is not None:
            where.append("t.due_date <= ?")
            params.append(until.isoformat())
        if roles is not None:
            wanted = sorted(set(roles))
            if not wanted:
                return []
            where.append(f"t.role IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        sql = (f"SELECT {_names(TASK_COLUMNS, 't.')}, {_names(INSTANCE_COLUMNS, 'i.')} "
               "FROM tasks t JOIN instances i ON i.id = t.instance "
               f"WHERE {' AND '.join(where)} "
               "ORDER BY t.due_date IS NULL, t.due_date, t.instance, t.task, t.seq")
        split = len(TASK_COLUMNS)
        result: list[tuple[TaskOccurrence, Instance]] = []
        instances: dict[str, Instance] = {}
        with self._read() as conn:
            for row in conn.execute(sql, params):
                task = task_from_row(dict(zip(TASK_COLUMNS, row[:split], strict=True)))
                inst = instances.get(task.instance)
                if inst is None:
                    inst = instances[task.instance] = instance_from_row(
                        dict(zip(INSTANCE_COLUMNS, row[split:], strict=True)))
                result.append((task, inst))
        return result

    def audit_records(self, instance: str | None = None,
                      since: dt.date | dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """Exported records in seq order, streamed from one cursor.

        ``since`` keeps records at or after it: a date means from 00:00 UTC that day, a
        datetime must be aware.
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
        sql = (f"SELECT {_names(AUDIT_COLUMNS)} FROM audit_log "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY seq")
        with self._connection() as conn:
            for row in conn.execute(sql, params):
                yield record_from_row(dict(zip(AUDIT_COLUMNS, row, strict=True)))

    def audit_head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last record, ``(0, GENESIS)`` when the log is empty."""
        with self._read() as conn:
            return _audit_head(conn)

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox message, oldest first."""
        columns = ("id", "instance", "at", "to_role", "subject", "body")
        with self._read() as conn:
            rows = _fetch(conn, f"SELECT {_names(columns)} FROM outbox ORDER BY id", (),
                          columns)
        return [outbox_from_row(r) for r in rows]

    def applied_migrations(self) -> list[str]:
        """Migrations recorded in the file, in order; does not create or migrate it."""
        if not self.path.exists():
            return []
        with _sqlite_errors(self.path), closing(self._open()) as conn:
            return _recorded_migrations(conn)
