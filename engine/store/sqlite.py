"""The SQLite store: one database file holding instances, sources, the outbox and the audit log.

A store object (one command) keeps one connection in autocommit mode, closed by ``close()``:
reads run in one deferred transaction so they see one snapshot, writes run in ``BEGIN
IMMEDIATE`` so two writers queue on the database lock rather than deadlock, and the lock is
awaited for ``busy_timeout_ms`` before the writer gives up with exit 6 ("retry").

Durability: the database runs in WAL mode with ``synchronous=FULL``. With ``NORMAL`` (the usual
WAL setting) a committed transaction survives a crash of the program but may be lost on a power
cut; the audit log is compliance evidence, so every commit is synced to disk before it returns,
at the price of one fsync per change. The file is created ``0600`` in a ``0700`` folder because
it holds patient-related data; SQLite gives its ``-wal`` and ``-shm`` files the same mode.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ..errors import ConflictError, FrontdeskError, StoreUnavailableError
from . import migrations
from .sql import Connection, Dialect, SqlStore

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
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        # Closing the connection rolls back anyway; keep the original error. (A stream left
        # unfinished, e.g. ``audit export | head``, is finalised after the store closed.)
        pass


def _recorded_migrations(conn: sqlite3.Connection) -> list[str]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'migrations'").fetchone()
    if exists is None:
        return []
    return [str(r[0]) for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]


def os_account() -> str:
    """The account name of the process's real user id, or ``uid:N``."""
    uid = os.getuid()
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid:{uid}"


def _words(sql: str) -> list[str]:
    """A trigger's text as SQLite keeps it, compared word by word (indentation aside)."""
    return sql.split()


def _no_lock(conn: Connection) -> None:
    """``BEGIN IMMEDIATE`` already holds the database's one write lock."""


SQLITE = Dialect(name="sqlite", placeholder="?", instance_order="rowid", lock_for_update="",
                 lock_chain=_no_lock, after_import=_no_lock,
                 relax_durability=("PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"),
                 outer_join_first="CROSS JOIN")


class SQLiteStore(SqlStore):
    """The store in one SQLite file, created (with its folder) and migrated on first use."""

    dialect_info = SQLITE
    write_begin = "BEGIN IMMEDIATE"  # writers queue on the database lock, never deadlock

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000,
                 create: bool = True, read_only: bool = False,
                 clock_override: bool = False) -> None:
        super().__init__(clock_override)
        self.path = Path(path)
        self.create = create and not read_only
        self.read_only = read_only
        self.busy_timeout_ms = busy_timeout_ms
        self._migrated = False
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    @property
    def where(self) -> str:
        return f"SQLite file {self.path}"

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

    def _missing(self) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"no store at {self.path}: run 'frontdesk init' to create one (or check --home, "
            "--db, $FRONTDESK_HOME and $FRONTDESK_DB)")

    def _open(self) -> sqlite3.Connection:
        if self.create:
            self._create_file()
        elif not self.path.is_file() or self.path.stat().st_size == 0:
            raise self._missing()
        if self.read_only:  # never writes, so a store the user may only read can be verified
            conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                   timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        else:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                                   isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if not self.read_only:
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            recorded = _recorded_migrations(conn)
            if not self.create and not recorded:
                raise self._missing()
            if self.read_only and "0008_timer_error" not in recorded:
                # A store an older frontdesk wrote, read without migrating it: its timers
                # have no error yet (SQLite would read the missing quoted column as text).
                conn.execute("CREATE TEMP VIEW timers AS SELECT *, NULL AS error "
                             "FROM main.timers")
        except BaseException:
            conn.close()
            raise
        return conn

    def _recorded(self, conn: sqlite3.Connection) -> list[str]:
        return _recorded_migrations(conn)

    def _begin_migration(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # the database's one write lock

    def _rollback(self, conn: sqlite3.Connection) -> None:
        _rollback(conn)

    def migrate(self) -> list[str]:
        """Create and migrate the store now; the names of the migrations this applied."""
        with _sqlite_errors(self.path), closing(self._open()) as conn:
            applied = self._migrate(conn)
        self._migrated = True
        return applied

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The store's connection, opened and migrated on first use; SQLite errors translated.

        One connection for the store's life: closing the last connection to a WAL database
        checkpoints it, which must happen once per command, not once per query.
        """
        with _sqlite_errors(self.path):
            if self._conn is None:
                conn = self._open()
                try:
                    if not self._migrated and not self.read_only:
                        self._migrate(conn)
                        self._migrated = True
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            yield self._conn

    def _authenticated(self) -> str:
        """The OS account running this process, from its real user id (never from the
        environment, which anyone can set); ``uid:N`` when the id has no account name."""
        return os_account()

    def _guard_problems(self, conn: sqlite3.Connection) -> list[migrations.GuardProblem]:
        present = {str(name): str(sql) for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
        problems = []
        for name, statements in migrations.GUARDS["sqlite"].items():
            if name not in present:
                problems.append(migrations.GuardProblem(name, "missing"))
            elif _words(present[name]) != _words(statements[-1]):
                problems.append(migrations.GuardProblem(name, "altered"))
        return problems

    def _restore(self, conn: sqlite3.Connection, problem: migrations.GuardProblem) -> None:
        conn.execute(f'DROP TRIGGER IF EXISTS "{problem.guard}"')
        for statement in migrations.GUARDS["sqlite"][problem.guard]:
            conn.execute(statement)

    def applied_migrations(self) -> list[str]:
        """Migrations recorded in the file, in order; does not create or migrate it."""
        if not self.path.is_file():
            return []
        uri = f"{self.path.absolute().as_uri()}?mode=ro"
        with _sqlite_errors(self.path), closing(sqlite3.connect(uri, uri=True)) as conn:
            return _recorded_migrations(conn)
