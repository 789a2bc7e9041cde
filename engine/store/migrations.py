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


@dataclass(frozen=True, slots=True)
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

# The tables are the same in both dialects, column for column, and every value is text, an
# integer or NULL, so that a copy between the stores keeps every byte the audit hashes cover.
# Only these differ: PostgreSQL keeps the start order of instances in ``ord`` (SQLite has its
# rowid), numbers the outbox with a sequence, and guards the audit log with its own triggers.
_KINDS = {
    "sqlite": {"instance_order": "", "serial_key": "INTEGER PRIMARY KEY AUTOINCREMENT",
               "big": "INTEGER"},
    "postgresql": {"instance_order": "ord BIGSERIAL UNIQUE,\n            ",
                   "serial_key": "BIGSERIAL PRIMARY KEY", "big": "BIGINT"},
}

_TABLES = (
    """CREATE TABLE sources (
            digest TEXT PRIMARY KEY,
            playbook TEXT,
            version INTEGER,
            text TEXT NOT NULL
        )""",
    """CREATE TABLE instances (
            {instance_order}id TEXT PRIMARY KEY,
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
            id {serial_key},
            instance TEXT NOT NULL,
            at TEXT NOT NULL,
            to_role TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
    """CREATE TABLE audit_log (
            seq {big} PRIMARY KEY,
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
)

_INDEXES = (
    "CREATE INDEX tasks_status_due ON tasks (status, due_date)",
    "CREATE INDEX tasks_instance ON tasks (instance, seq)",
    "CREATE INDEX timers_status_due ON timers (status, due_date)",
    "CREATE INDEX timers_instance ON timers (instance, seq)",
    "CREATE INDEX instances_playbook_status ON instances (playbook, status)",
    "CREATE INDEX audit_log_instance ON audit_log (instance, seq)",
)

_SCHEDULE_RUNS = """CREATE TABLE schedule_runs (
            schedule TEXT NOT NULL,
            period TEXT NOT NULL,
            subject TEXT NOT NULL,
            instance TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (schedule, period, subject)
        )"""

_SQLITE_APPEND_ONLY = "SELECT RAISE(ABORT, 'audit_log is append-only')"
_APPEND_ONLY = {
    "sqlite": (
        f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN {_SQLITE_APPEND_ONLY}; END""",
        f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN {_SQLITE_APPEND_ONLY}; END""",
    ),
    "postgresql": (
        """CREATE FUNCTION audit_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only'
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$""",
        """CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
        """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
    ),
}

# Once a cache of a year's public holidays per region; no longer read or written (the holidays
# are kept in the home's disk cache, beside the validated playbooks). The table stays: a
# migration that dropped it would make an older frontdesk sharing the database refuse the store
# ("migrations this frontdesk does not know"), and an older one still fills it. Never copied by
# ``db copy``.
_HOLIDAY_CACHE = """CREATE TABLE holiday_cache (
            calendar TEXT NOT NULL,
            year INTEGER NOT NULL,
            dates TEXT NOT NULL,
            PRIMARY KEY (calendar, year)
        )"""


# The database itself refuses a record that does not extend the chain: its ``seq`` must be the
# head's plus one and its ``prev`` the head's ``hash``. This also stops SQLite's ``INSERT OR
# REPLACE`` (its implicit delete fires no delete trigger, but the replacing row is never the
# next one) and an insert far ahead of the head that would break the chain for good.
_SQLITE_CHAIN = f"""CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
            WHEN NEW.seq IS NOT COALESCE((SELECT max(seq) FROM audit_log), 0) + 1
              OR NEW.prev IS NOT COALESCE(
                    (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{"0" * 64}')
            BEGIN SELECT RAISE(ABORT, 'audit_log: a record must extend the chain head'); END"""
_POSTGRES_CHAIN_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                head_seq BIGINT := 0;
                head_hash TEXT := '{"0" * 64}';
            BEGIN
                SELECT seq, hash INTO head_seq, head_hash
                    FROM audit_log ORDER BY seq DESC LIMIT 1;
                IF NOT FOUND THEN
                    head_seq := 0;
                    head_hash := '{"0" * 64}';
                END IF;
                IF NEW.seq IS DISTINCT FROM head_seq + 1
                        OR NEW.prev IS DISTINCT FROM head_hash THEN
                    RAISE EXCEPTION 'audit_log: record % does not extend the chain head %',
                        NEW.seq, head_seq USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END
            $$"""
_POSTGRES_CHAIN = """CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_chain()"""

GUARDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sqlite": {
        "audit_log_no_update": (_APPEND_ONLY["sqlite"][0],),
        "audit_log_no_delete": (_APPEND_ONLY["sqlite"][1],),
        "audit_log_chain": (_SQLITE_CHAIN,),
    },
    "postgresql": {
        "audit_log_no_update_or_delete": (
            _APPEND_ONLY["postgresql"][0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
            _APPEND_ONLY["postgresql"][1]),
        "audit_log_no_truncate": (
            _APPEND_ONLY["postgresql"][0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
            _APPEND_ONLY["postgresql"][2]),
        "audit_log_chain": (_POSTGRES_CHAIN_FUNCTION, _POSTGRES_CHAIN),
    },
}
"""The triggers that keep the audit log append-only and linear, per dialect: name -> the
statements that (re)create it. ``db status`` and ``audit verify`` report any that is missing
(or, on PostgreSQL, disabled); ``db migrate`` recreates them."""


# Delivery (docs/delivery.md): the outbox becomes a queue. A message may have no instance (a
# digest) and is addressed by ``to_kind`` (``role``, ``person``, or ``name``: a template's
# result, a person if one has that id, else a role) and ``to_name`` (the former ``to_role``).
# ``message_id`` is fixed when the message is written and reused on every attempt; ``facts`` is
# the JSON of PHI-free facts (ids, counts) that ``phi: none`` sends instead of subject and body;
# ``recipients`` the JSON list of resolved recipients with a status each. Messages written
# before this migration are ``pending`` and get a Message-ID now. SQLite cannot drop a NOT
# NULL, so it rebuilds the table (same columns, same order as PostgreSQL's altered one).
_OUTBOX_NEW_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT 'message'"), ("to_kind", "TEXT NOT NULL DEFAULT 'role'"),
    ("message_id", "TEXT"), ("facts", "TEXT NOT NULL DEFAULT '{}'"),
    ("status", "TEXT NOT NULL DEFAULT 'pending'"), ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("next_attempt", "TEXT"), ("last_error", "TEXT"), ("recipients", "TEXT"),
    ("sent_at", "TEXT"), ("sent_by", "TEXT"),
)
_OUTBOX_DELIVERY_INDEXES = (
    "CREATE UNIQUE INDEX outbox_message_id ON outbox (message_id)",
    "CREATE INDEX outbox_status ON outbox (status, id)",
)
_SQLITE_MESSAGE_ID = ("'<outbox-' || id || '.' || lower(hex(randomblob(8))) "
                      "|| '@frontdesk.localhost>'")
_POSTGRES_MESSAGE_ID = ("'<outbox-' || id || '.' || substr(md5(random()::text), 1, 16) "
                        "|| '@frontdesk.localhost>'")
_DELIVERY = {
    "sqlite": (
        "CREATE TABLE outbox_0006 (id INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT, "
        "at TEXT NOT NULL, to_name TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, "
        + ", ".join(f"{name} {kind}" for name, kind in _OUTBOX_NEW_COLUMNS) + ")",
        "INSERT INTO outbox_0006 (id, instance, at, to_name, subject, body, message_id) "
        f"SELECT id, instance, at, to_role, subject, body, {_SQLITE_MESSAGE_ID} FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_0006 RENAME TO outbox",
        *_OUTBOX_DELIVERY_INDEXES,
    ),
    "postgresql": (
        "ALTER TABLE outbox ALTER COLUMN instance DROP NOT NULL",
        "ALTER TABLE outbox RENAME COLUMN to_role TO to_name",
        *(f"ALTER TABLE outbox ADD COLUMN {name} {kind}" for name, kind in _OUTBOX_NEW_COLUMNS),
        f"UPDATE outbox SET message_id = {_POSTGRES_MESSAGE_ID}",
        "ALTER TABLE outbox ALTER COLUMN message_id SET NOT NULL",
        *_OUTBOX_DELIVERY_INDEXES,
    ),
}


@dataclass(frozen=True, slots=True)
class GuardProblem:
    """One way the audit log's protection is weakened: a guard trigger that is missing,
    altered or disabled, or a grant that lets ``grantee`` rewrite the log."""

    guard: str  # a name of ``GUARDS``, or "grant"
    problem: str  # "missing", "altered", "disabled"; for a grant the privilege
    grantee: str | None = None

    def __str__(self) -> str:
        if self.grantee is not None:
            return f"{self.grantee} may {self.problem} audit_log"
        return f"trigger {self.guard} {self.problem}"


_WEB_LOGINS = """CREATE TABLE web_logins (
            person TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            set_at TEXT NOT NULL,
            failures INTEGER NOT NULL,
            locked_until TEXT
        )"""


# What a step reads of an instance (``Instance.working_set``) without reading its history:
# its open tasks and armed timers. Partial indexes: an entry per open task or armed timer (a
# task closed is an entry removed), so they stay small and a commit writes one page of each
# at most.
_WORKING_SET = (
    "CREATE INDEX tasks_open ON tasks (instance, seq) WHERE status = 'open'",
    "CREATE INDEX timers_armed ON timers (instance, seq) WHERE status = 'armed'",
)


def _migrations(dialect: str) -> tuple[Migration, ...]:
    kind = _KINDS[dialect]
    return (
        Migration("0001_initial", (*(t.format(**kind) for t in _TABLES),
                                   *_APPEND_ONLY[dialect], *_INDEXES)),
        Migration("0002_holiday_cache", (_HOLIDAY_CACHE,)),
        Migration("0003_audit_chain_guard", GUARDS[dialect]["audit_log_chain"]),
        Migration("0004_audit_principal", ("ALTER TABLE audit_log ADD COLUMN principal TEXT",)),
        # Facts about the store itself, fixed when it is created: ``clock`` is ``real`` or
        # ``simulated`` (created with a clock override; see ``SqlStore.clock_kind``).
        Migration("0005_store_facts", ("CREATE TABLE store_facts (name TEXT PRIMARY KEY, "
                                       "value TEXT NOT NULL)",)),
        Migration("0006_delivery", _DELIVERY[dialect]),
        # The web board's logins (``frontdesk passwd``, ``frontdesk serve``): one Argon2 hash
        # per person, and the failed attempts that lock a person out for a while. Not a data
        # table: ``db copy`` leaves it behind (set the passwords again on the copy).
        Migration("0007_web_logins", (_WEB_LOGINS,)),
        # Why an armed timer cannot fire as its playbook stands (``tick`` keeps it armed).
        Migration("0008_timer_error", ("ALTER TABLE timers ADD COLUMN error TEXT",)),
        # What scheduled starts ``tick`` made (``engine.schedules``): one row per schedule,
        # period and subject, so each starts once; ``instance`` is NULL when an open
        # instance with the same ``unique`` inputs already covered it.
        Migration("0009_schedules", (_SCHEDULE_RUNS,)),
        Migration("0010_working_set", _WORKING_SET),
    )


FIRST = "0001_initial"
"""The migration that creates a store: applied now means the store is new."""

SQLITE = _migrations("sqlite")
POSTGRESQL = _migrations("postgresql")

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
