"""``frontdesk db``: the store's migrations, copying a practice from one store to another, and
backing up a SQLite store while it is in use."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import click

from ..audit import verify
from ..errors import AuditBrokenError, ExitCode, RefusedError, StoreUnavailableError, UsageError
from ..settings import Options
from ..store import SQLiteStore, Store, migrations, open_store
from ..store.postgres import PostgresStore

_LABELS = {"sources": "playbook sources", "instances": "instances", "tasks": "tasks",
           "timers": "timers", "outbox": "outbox messages", "audit_log": "audit records",
           "schedule_runs": "scheduled starts"}


def run_status(options: Options, *, as_json: bool) -> int:
    """Where the store is, which migrations it has and which it would apply on first use,
    whether the audit log's guards are in place (exit 7 if not), and its clock kind. Opens the
    store read-only: it creates and migrates nothing."""
    with open_store(options.db_url, read_only=True) as store:
        applied = store.applied_migrations()
        pending = migrations.pending(store)
        where = store.where
        guards = [str(p) for p in store.guard_problems()] if applied else []
        clock = store.clock_kind() if "0005_store_facts" in applied else "real"
    if as_json:
        click.echo(json.dumps({"store": where, "dialect": store.dialect, "applied": applied,
                               "pending": pending, "guard_problems": guards, "clock": clock},
                              indent=2))
    else:
        click.echo(f"store: {where}")
        click.echo(f"applied: {', '.join(applied) or '(none)'}")
        click.echo(f"pending: {', '.join(pending) or '(none)'}")
        click.echo(f"audit log guards: {'; '.join(guards) if guards else 'in place'}")
        click.echo(f"clock: {clock}")
    if guards:
        raise AuditBrokenError("audit log guards missing: " + "; ".join(guards)
                               + " (run 'frontdesk db migrate' as the store's owner)")
    return ExitCode.OK


def run_migrate(options: Options) -> int:
    """Create the store if needed and apply its pending migrations; say which ran."""
    with open_store(options.db_url, clock_override=options.now_text is not None) as store:
        applied = store.migrate()
        restored = store.restore_guards()
        where = store.where
    for name in applied:
        click.echo(f"applied {name}")
    for problem in restored:
        click.echo(f"restored: {problem}")
    if not applied and not restored:
        click.echo("up to date")
    click.echo(f"store: {where}", err=True)
    return ExitCode.OK


def run_grant(options: Options, *, role: str) -> int:
    """``db grant ROLE``: the PostgreSQL application role's rights (audit_log append-only)."""
    with open_store(options.db_url) as store:
        if not isinstance(store, PostgresStore):
            raise UsageError("db grant is for PostgreSQL stores; a SQLite store is protected by "
                             "its file's mode (0600, owner only)")
        for statement in store.grant(role):
            click.echo(statement)
    return ExitCode.OK


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target`` in one transaction, keeping ids,
    sequence numbers and hashes. The rows come from one snapshot of the source (commands may
    go on writing to it meanwhile); the target's chain is verified before the copy commits and
    again, as any later ``audit verify`` would, afterwards. Returns the rows copied per table."""
    with source.exported() as rows_of:
        counts = target.import_rows(rows_of)
    result = verify(target.audit_records())
    if not result.ok or result.count != counts["audit_log"]:
        raise AuditBrokenError(f"the copy's audit chain does not verify: {result.reason} "
                               f"(first bad seq {result.first_bad_seq})")
    return counts


def run_copy(options: Options, *, to_url: str) -> int:
    """``db copy --to URL``: move the practice's store to another (SQLite <-> PostgreSQL)."""
    if to_url == options.db_url:
        raise UsageError("--to names the store being copied; give another store URL")
    with open_store(options.db_url) as source, open_store(to_url) as target:
        began = time.perf_counter()
        counts = copy_store(source, target)
        seconds = time.perf_counter() - began
        head = target.audit_head()
        click.echo(f"copied {source.where} to {target.where} in {seconds:.2f} s: "
                   + ", ".join(f"{n} {_LABELS[table]}" for table, n in counts.items()))
        click.echo(f"audit verify ok on the copy: last seq {head[0]}, head {head[1]}")
    return ExitCode.OK


def run_backup(options: Options, *, path: str) -> int:
    """``db backup PATH``: a consistent copy of the SQLite store in a new file, taken with
    SQLite's online backup while other commands may go on using the store (copying the file
    of a WAL-mode store with ``cp`` can miss committed changes or tear a page), then proved
    as ``audit verify`` proves a store. An existing PATH is refused (exit 5); a PostgreSQL
    store is exit 2 (``pg_dump``, or ``db copy --to sqlite:///FILE``)."""
    from ..verification import prove

    target = Path(path).expanduser().absolute()
    with open_store(options.db_url, read_only=True) as store:
        if not isinstance(store, SQLiteStore):
            raise UsageError("db backup is for SQLite stores; back up PostgreSQL with pg_dump, "
                             "or copy it into a SQLite file with 'frontdesk db copy --to "
                             "sqlite:///FILE'")
        store.audit_head()  # exit 8, naming the path, when there is no store
        began = time.perf_counter()
        backup_sqlite(store.path, target)
        seconds = time.perf_counter() - began
        source = store.where
    click.echo(f"backed up {source} to {target} in {seconds:.2f} s")
    with open_store(f"sqlite:///{target}", read_only=True) as copy:
        proof = prove(copy)
    click.echo(f"audit verify ok on the backup: {proof.records} records, last seq "
               f"{proof.head_seq}, head {proof.head_hash}")
    return ExitCode.OK


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy the SQLite database ``source`` into the new file ``target`` (mode 0600) with
    SQLite's online backup, from a read-only connection and one consistent snapshot. The copy
    is left in rollback-journal mode, one self-contained file (frontdesk puts a store back in
    WAL mode when it next writes to it). A partial copy is removed on failure."""
    if not target.parent.is_dir():
        raise UsageError(f"cannot back up to {target}: the folder {target.parent} does not "
                         "exist")
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise RefusedError(f"{target} already exists: a backup never overwrites a file; "
                           "give a new name") from None
    except OSError as exc:
        raise StoreUnavailableError(f"cannot create {target}: {exc.strerror or exc}") from exc
    try:
        with closing(sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)) \
                as live, closing(sqlite3.connect(target)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE").fetchall()
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            raise StoreUnavailableError(f"cannot back up {source} to {target}: {exc}") from exc
        raise
