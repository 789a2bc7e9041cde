"""The PostgreSQL store, for practices whose front desks share one database (psycopg 3).

The queries are the shared ones of :mod:`.sql`; what is PostgreSQL's own:

- One connection per store object (a command), in autocommit mode with explicit ``BEGIN`` and
  ``COMMIT``, so a transaction is exactly the block that asks for one.
- Two writers on one instance: a write transaction reads the instance ``FOR UPDATE``, so the
  second waits for the first to commit and then sees its result, as on SQLite where writers
  queue on the database lock. The update is still checked against the revision it read. A wait
  longer than ``lock_timeout`` (5 s) is a conflict, exit 6, with nothing written.
- One global hash chain: every append takes a transaction-scoped advisory lock (keyed by the
  schema, so several practices in one database have a chain each) just before it reads the
  chain's head, and holds it until commit, so concurrent appends queue and the chain stays a line.
- ``audit_log`` is append-only by a trigger that raises on UPDATE, DELETE and TRUNCATE; where
  roles are set up (README, "Several computers: PostgreSQL"), the application role is also
  granted only INSERT and SELECT on it.
- Errors name the host and the database, never the password.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import ConflictError, StoreUnavailableError
from . import migrations
from .sql import Connection, Dialect, SqlStore

_LOCK_SPACE = 0x6664  # "fd": the first key of frontdesk's advisory locks
_CHAIN_LOCK = 1
_MIGRATE_LOCK = 2


def _lock(conn: Connection, which: int) -> None:
    conn.execute(f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, "
                 f"hashtext(current_schema()) # {which})")


def _lock_chain(conn: Connection) -> None:
    _lock(conn, _CHAIN_LOCK)


def _after_import(conn: Connection) -> None:
    """Move the outbox's id sequence past the ids a copy inserted."""
    conn.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), "
                 "COALESCE((SELECT max(id) FROM outbox), 0) + 1, false)")


POSTGRES = Dialect(name="postgresql", placeholder="%s", instance_order="ord",
                   lock_for_update=" FOR UPDATE", lock_chain=_lock_chain,
                   after_import=_after_import,
                   relax_durability=("SET synchronous_commit = off",
                                     "RESET synchronous_commit"))


def _psycopg() -> Any:
    """The ``psycopg`` module; exit 8 with what to install when it cannot be imported."""
    try:
        import psycopg
    except ImportError as e:  # not installed, or its libpq wrapper is missing
        raise StoreUnavailableError(
            f"a postgresql:// store needs psycopg ({e}): install it with "
            "pip install 'frontdesk[postgres]'") from None
    return psycopg


def describe_url(url: str) -> str:
    """``database 'x' on host:port`` for messages: never the password, nor the raw URL."""
    psycopg = _psycopg()
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:  # a ProgrammingError whose text holds the URL (and its password)
        return "a PostgreSQL URL that cannot be parsed"
    host = str(info.get("host") or "localhost")
    port = info.get("port")
    where = f"{host}:{port}" if port else host
    return f"database '{info.get('dbname') or info.get('user') or '?'}' on {where}"


def _reason(error: Exception, url: str) -> str:
    """The first line of a psycopg error, with any password in the URL blanked out."""
    from psycopg.conninfo import conninfo_to_dict

    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    try:
        password = conninfo_to_dict(url).get("password")
    except _psycopg().Error:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text.replace(url, "<url>")


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database, created (tables) and migrated on first use."""

    dialect_info = POSTGRES
    read_begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"  # one snapshot

    def __init__(self, url: str, *, lock_timeout_ms: int = 5000, connect_timeout_s: int = 10,
                 create: bool = True, read_only: bool = False,
                 clock_override: bool = False) -> None:
        super().__init__(clock_override)
        self.url = url
        self.create = create and not read_only
        self.read_only = read_only
        self.lock_timeout_ms = lock_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self._conn: Any = None
        self._migrated = False
        self._cursors = itertools.count()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where})"

    @property
    def where(self) -> str:
        return describe_url(self.url)

    # -- connections ---------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's errors as exit 6 (lock waits, conflicts) and exit 8 (server, rights)."""
        psycopg = _psycopg()
        from psycopg import errors

        try:
            yield
        except (errors.LockNotAvailable, errors.SerializationFailure,
                errors.DeadlockDetected, errors.UniqueViolation) as e:
            raise ConflictError("the store is busy or the instance changed; retry") from e
        except errors.InsufficientPrivilege as e:
            raise StoreUnavailableError(
                f"PostgreSQL {self.where} refused: {_reason(e, self.url)}") from e
        except psycopg.OperationalError as e:
            self.close()  # the connection may be gone; the next use reconnects
            raise StoreUnavailableError(
                f"cannot use PostgreSQL {self.where}: {_reason(e, self.url)}") from e

    def _connect(self) -> Any:
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.url, autocommit=True,
                                   connect_timeout=self.connect_timeout_s)
        except psycopg.Error as e:
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL {self.where}: {_reason(e, self.url)}") from None
        except (TypeError, ValueError):  # a malformed URL; the text may hold the password
            raise StoreUnavailableError(f"cannot connect to {self.where}") from None
        conn.execute(f"SET lock_timeout = {int(self.lock_timeout_ms)}")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """The store's connection, migrated on first use; errors translated."""
        with self._errors():
            if self._conn is None:
                conn = self._connect()
                if not self.create and not self._recorded(conn):
                    conn.close()
                    raise StoreUnavailableError(
                        f"PostgreSQL {self.where} holds no frontdesk store: run 'frontdesk "
                        "init' or 'frontdesk db migrate' to create it")
                if self.read_only:
                    _read_older(conn, self._recorded(conn))
                self._conn = conn
            if not self._migrated and not self.read_only:
                self._migrate(self._conn)
                self._migrated = True
            yield self._conn

    def _rows(self, conn: Any, sql: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """Rows through a server-side cursor, a few thousand at a time."""
        with conn.cursor(name=f"frontdesk_rows_{next(self._cursors)}") as cursor:
            cursor.itersize = 2000
            cursor.execute(POSTGRES.sql(sql), params)
            yield from cursor

    # -- migrations ----------------------------------------------------------------------
    def _recorded(self, conn: Any) -> list[str]:
        if conn.execute("SELECT to_regclass('migrations')").fetchone()[0] is None:
            return []
        return [str(r[0]) for r in conn.execute("SELECT name FROM migrations ORDER BY ord")]

    def _begin_migration(self, conn: Any) -> None:
        conn.execute("BEGIN")
        _lock(conn, _MIGRATE_LOCK)  # two first uses at once: one migrates, one waits

    def _rollback(self, conn: Any) -> None:
        _rollback(conn)

    def migrate(self) -> list[str]:
        """Create and migrate the tables now; the names of the migrations this applied."""
        with self._errors():
            if self._conn is None:
                self._conn = self._connect()
            applied = self._migrate(self._conn)
        self._migrated = True
        return applied

    def grant(self, role: str) -> list[str]:
        """Grant ``role`` what the application needs and no more: it reads everything, writes
        instances, tasks and timers, updates the outbox's delivery state (``send``), and may
        only INSERT into ``sources`` and ``audit_log`` (never UPDATE, DELETE or TRUNCATE
        them). Run as the owner of the tables, after ``migrate``; returns the statements run."""
        from psycopg import sql

        who = sql.Identifier(role)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(self._current_schema()), who),
            sql.SQL("GRANT SELECT ON migrations, store_facts TO {}").format(who),
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON instances, tasks, timers, web_logins "
                    "TO {}").format(who),
            sql.SQL("GRANT SELECT, INSERT ON schedule_runs TO {}").format(who),
            # holiday_cache: unused now, granted for an older frontdesk sharing the database
            sql.SQL("GRANT SELECT, INSERT ON sources, audit_log, holiday_cache "
                    "TO {}").format(who),
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON outbox TO {}").format(who),
            sql.SQL("GRANT USAGE ON SEQUENCE instances_ord_seq, outbox_id_seq TO {}").format(
                who),
        ]
        with self._write() as conn:
            for statement in statements:
                conn.execute(statement)
            return [statement.as_string(conn) for statement in statements]

    def _current_schema(self) -> str:
        with self._read() as conn:
            return str(conn.execute("SELECT current_schema()").fetchone()[0])

    def _authenticated(self) -> str:
        """The connection's ``session_user``: the role the server authenticated."""
        with self._read() as conn:
            return str(conn.execute("SELECT session_user").fetchone()[0])

    def _guard_problems(self, conn: Any) -> list[migrations.GuardProblem]:
        rows = conn.execute(
            "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass('audit_log') AND NOT t.tgisinternal").fetchall()
        present = {str(name): (str(enabled), str(body)) for name, enabled, body in rows}
        problems = []
        for name, statements in migrations.GUARDS["postgresql"].items():
            expected_body = statements[0].split("$$")[1]
            found = present.get(name)
            if found is None:
                problems.append(migrations.GuardProblem(name, "missing"))
            elif found[0] == "D":
                problems.append(migrations.GuardProblem(name, "disabled"))
            elif found[1].split() != expected_body.split():
                problems.append(migrations.GuardProblem(name, "altered"))
        for grantee, privilege in conn.execute(
                "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                "WHERE table_name = 'audit_log' AND table_schema = current_schema() "
                "AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') "
                "AND grantee <> (SELECT tableowner FROM pg_tables WHERE tablename = "
                "'audit_log' AND schemaname = current_schema())").fetchall():
            problems.append(migrations.GuardProblem("grant", str(privilege), str(grantee)))
        return problems

    def _restore(self, conn: Any, problem: migrations.GuardProblem) -> None:
        from psycopg import sql

        if problem.grantee is not None:
            conn.execute(sql.SQL("REVOKE {} ON audit_log FROM {}").format(
                sql.SQL(problem.problem), sql.Identifier(problem.grantee)))
            return
        conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON audit_log").format(
            sql.Identifier(problem.guard)))
        for statement in migrations.GUARDS["postgresql"][problem.guard]:
            conn.execute(statement)

    def applied_migrations(self) -> list[str]:
        """Migrations recorded in the database, in order; does not migrate it."""
        with self._errors():
            if self._conn is None:
                self._conn = self._connect()
            return self._recorded(self._conn)


def _rollback(conn: Any) -> None:
    try:
        conn.execute("ROLLBACK")
    except _psycopg().Error:
        pass  # a broken connection rolls back by itself; keep the original error



def _read_older(conn: Any, recorded: list[str]) -> None:
    """Read a store an older frontdesk wrote, without migrating it: its timers have no
    ``error`` column yet, so this session sees them through a temporary view that adds it
    (a temporary object is found before the schema's own table)."""
    if "0008_timer_error" in recorded:
        return
    (schema,) = conn.execute("SELECT current_schema()").fetchone()
    conn.execute(f"CREATE TEMP VIEW timers AS SELECT *, NULL::text AS error "
                 f"FROM \"{schema.replace(chr(34), chr(34) * 2)}\".timers")
