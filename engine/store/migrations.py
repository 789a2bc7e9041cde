"""Named schema migrations per SQL dialect, recorded in the store's ``migrations`` table.

A migration is a name and a list of statements. A store applies the ones it has not recorded yet
on first use, all in one transaction, and inserts ``(name, applied_at)`` for each; a migration is
never edited once released: a schema change is a new migration appended to its dialect's list.
:func:`applied` and :func:`pending` report the state of a store without changing it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from ..errors import StoreUnavailableError


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS migrations "
              "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS migrations "
                  "(ord BIGSERIAL, name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
}
"""The statement that creates the ``migrations`` table itself, per dialect."""

_APPEND_ONLY = "SELECT RAISE(ABORT, 'audit_log is append-only')"

# A year's public holidays for one calendar key (region and ``holidays`` release), so that
# commands doing business-day arithmetic do not import the ``holidays`` package (~100 ms) again.
# A cache: never copied by ``db copy``, refilled on demand.
_HOLIDAY_CACHE = """CREATE TABLE holiday_cache (
            calendar TEXT NOT NULL,
            year INTEGER NOT NULL,
            dates TEXT NOT NULL,
            PRIMARY KEY (calendar, year)
        )"""

SQLITE: tuple[Migration, ...] = (
    Migration("0001_initial", (
        """CREATE TABLE sources (
            digest TEXT PRIMARY KEY,
            playbook TEXT,
            version INTEGER,
            text TEXT NOT NULL
        )""",
        """CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            playbook TEXT NOT NULL,
            version INTEGER NOT NULL,
            digest TEXT NOT NULL REFERENCES sources (digest),
            subject TEXT,
            state TEXT NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT,
            vars TEXT NOT NULL,
            started_at TEXT,
            updated_at TEXT,
            entered_at TEXT,
            revision INTEGER NOT NULL,
            parent TEXT,
            task_counter INTEGER NOT NULL
        )""",
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            instance TEXT NOT NULL REFERENCES instances (id),
            seq INTEGER NOT NULL,
            playbook TEXT NOT NULL,
            state TEXT NOT NULL,
            task TEXT NOT NULL,
            title TEXT NOT NULL,
            role TEXT,
            assignee TEXT,
            due TEXT,
            due_date TEXT,
            status TEXT NOT NULL,
            created_at TEXT,
            closed_at TEXT,
            closed_by TEXT,
            recurring INTEGER NOT NULL,
            anchor TEXT,
            idx INTEGER NOT NULL
        )""",
        """CREATE TABLE timers (
            id TEXT PRIMARY KEY,
            instance TEXT NOT NULL REFERENCES instances (id),
            seq INTEGER NOT NULL,
            state TEXT NOT NULL,
            event TEXT NOT NULL,
            due TEXT NOT NULL,
            due_date TEXT NOT NULL,
            status TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            instance TEXT NOT NULL,
            at TEXT NOT NULL,
            to_role TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            instance TEXT NOT NULL,
            playbook TEXT NOT NULL,
            version INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            event TEXT,
            "from" TEXT,
            "to" TEXT,
            data TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN {_APPEND_ONLY}; END""",
        f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN {_APPEND_ONLY}; END""",
        "CREATE INDEX tasks_status_due ON tasks (status, due_date)",
        "CREATE INDEX tasks_instance ON tasks (instance, seq)",
        "CREATE INDEX timers_status_due ON timers (status, due_date)",
        "CREATE INDEX timers_instance ON timers (instance, seq)",
        "CREATE INDEX instances_playbook_status ON instances (playbook, status)",
        "CREATE INDEX audit_log_instance ON audit_log (instance, seq)",
    )),
    Migration("0002_holiday_cache", (_HOLIDAY_CACHE,)),
)

_PG_APPEND_ONLY = """CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
    END
    $$"""

# The same tables as SQLite's, column for column: values stay text so that a copy between the
# stores keeps every byte the audit hashes cover. ``instances.ord`` keeps the start order that
# SQLite's rowid keeps.
POSTGRESQL: tuple[Migration, ...] = (
    Migration("0001_initial", (
        """CREATE TABLE sources (
            digest TEXT PRIMARY KEY,
            playbook TEXT,
            version INTEGER,
            text TEXT NOT NULL
        )""",
        """CREATE TABLE instances (
            ord BIGSERIAL UNIQUE,
            id TEXT PRIMARY KEY,
            playbook TEXT NOT NULL,
            version INTEGER NOT NULL,
            digest TEXT NOT NULL REFERENCES sources (digest),
            subject TEXT,
            state TEXT NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT,
            vars TEXT NOT NULL,
            started_at TEXT,
            updated_at TEXT,
            entered_at TEXT,
            revision INTEGER NOT NULL,
            parent TEXT,
            task_counter INTEGER NOT NULL
        )""",
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            instance TEXT NOT NULL REFERENCES instances (id),
            seq INTEGER NOT NULL,
            playbook TEXT NOT NULL,
            state TEXT NOT NULL,
            task TEXT NOT NULL,
            title TEXT NOT NULL,
            role TEXT,
            assignee TEXT,
            due TEXT,
            due_date TEXT,
            status TEXT NOT NULL,
            created_at TEXT,
            closed_at TEXT,
            closed_by TEXT,
            recurring INTEGER NOT NULL,
            anchor TEXT,
            idx INTEGER NOT NULL
        )""",
        """CREATE TABLE timers (
            id TEXT PRIMARY KEY,
            instance TEXT NOT NULL REFERENCES instances (id),
            seq INTEGER NOT NULL,
            state TEXT NOT NULL,
            event TEXT NOT NULL,
            due TEXT NOT NULL,
            due_date TEXT NOT NULL,
            status TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            id BIGSERIAL PRIMARY KEY,
            instance TEXT NOT NULL,
            at TEXT NOT NULL,
            to_role TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE audit_log (
            seq BIGINT PRIMARY KEY,
            at TEXT NOT NULL,
            instance TEXT NOT NULL,
            playbook TEXT NOT NULL,
            version INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            event TEXT,
            "from" TEXT,
            "to" TEXT,
            data TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        _PG_APPEND_ONLY,
        """CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
        """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
        "CREATE INDEX tasks_status_due ON tasks (status, due_date)",
        "CREATE INDEX tasks_instance ON tasks (instance, seq)",
        "CREATE INDEX timers_status_due ON timers (status, due_date)",
        "CREATE INDEX timers_instance ON timers (instance, seq)",
        "CREATE INDEX instances_playbook_status ON instances (playbook, status)",
        "CREATE INDEX audit_log_instance ON audit_log (instance, seq)",
    )),
    Migration("0002_holiday_cache", (_HOLIDAY_CACHE,)),
)

DIALECTS: dict[str, tuple[Migration, ...]] = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


class _Migratable(Protocol):
    @property
    def dialect(self) -> str: ...

    def applied_migrations(self) -> list[str]: ...


def for_dialect(dialect: str) -> tuple[Migration, ...]:
    """Every migration of ``dialect``, in order."""
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise StoreUnavailableError(f"no migrations for the '{dialect}' store") from None


def to_apply(dialect: str, done: Collection[str]) -> list[Migration]:
    """The migrations of ``dialect`` not in ``done``; refuses a store a newer release migrated."""
    known = for_dialect(dialect)
    unknown = sorted(set(done) - {m.name for m in known})
    if unknown:
        raise StoreUnavailableError(
            f"the store has migrations this frontdesk does not know ({', '.join(unknown)}); "
            "upgrade frontdesk")
    return [m for m in known if m.name not in done]


def applied(store: _Migratable) -> list[str]:
    """Names of the migrations recorded in ``store``, in the order they were applied."""
    return store.applied_migrations()


def pending(store: _Migratable) -> list[str]:
    """Names of the migrations ``store`` will apply on first use."""
    done = set(store.applied_migrations())
    return [m.name for m in for_dialect(store.dialect) if m.name not in done]
