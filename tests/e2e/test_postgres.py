"""PostgreSQL-specific behaviour through the CLI: ``db migrate|status|grant``, ``db copy``
between the stores, a server that is down, an application role that may only append to the
audit log, and several processes migrating a new database at once. (The runtime tests run on
both stores through ``make_frontdesk``.) Commands run in this process (``run_main``) except
the racing processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from frontdesk.store import migrations
from frontdesk_testing import (
    CliResult,
    Figures,
    dump_postgres,
    dump_sqlite,
    frontdesk_argv,
    run_main,
)
from postgres_server import PostgresServer, free_port


def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    return run_main(args, {**base, **(env or {})})


def ok(*args: str) -> str:
    result = run(*args)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def one_error_line(result: CliResult) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("frontdesk: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_migrate_then_status_report_what_ran(postgres: PostgresServer) -> None:
    url = postgres.database()
    status = json.loads(ok("--db", url, "db", "status", "--json"))
    assert status["dialect"] == "postgresql"
    every = [m.name for m in migrations.POSTGRESQL]
    assert (status["applied"], status["pending"]) == ([], every)
    assert "127.0.0.1" in status["store"] and "postgres@" not in status["store"]
    assert ok("--db", url, "db", "migrate").splitlines() == [f"applied {m}" for m in every]
    assert ok("--db", url, "db", "migrate").splitlines() == ["up to date"]
    assert ok("--db", url, "db", "status").splitlines()[1:] == [
        f"applied: {', '.join(every)}", "pending: (none)", "audit log guards: in place",
        "clock: real"]


def test_server_down_is_exit_8_naming_host_and_database_not_the_password() -> None:
    url = f"postgresql://frontdesk:s3cret-Pw0rd@127.0.0.1:{free_port()}/riverside"
    for args in (("list",), ("audit", "verify"), ("db", "status")):
        result = run("--db", url, *args)
        assert result.returncode == 8, (args, result.stderr)
        line = one_error_line(result)
        assert "127.0.0.1" in line and "riverside" in line, line
        assert "s3cret-Pw0rd" not in result.stderr + result.stdout


def test_db_copy_round_trips_the_demo_store(postgres: PostgresServer, tmp_path: Path,
                                            figures: Figures) -> None:
    """demo (SQLite) -> PostgreSQL -> SQLite: the same audit log byte for byte, verified, the
    same instances; and the copy goes on working (new records chain onto the copied head)."""
    home = tmp_path / "demo"
    ok("--home", str(home), "demo")
    sqlite_url = f"sqlite:///{home / 'frontdesk.db'}"
    pg_url = postgres.database()
    back_url = f"sqlite:///{tmp_path / 'back' / 'frontdesk.db'}"

    began = time.perf_counter()
    copied = ok("--db", sqlite_url, "db", "copy", "--to", pg_url)
    seconds = time.perf_counter() - began
    assert "audit verify ok on the copy" in copied
    ok("--db", pg_url, "db", "copy", "--to", back_url)

    exports = [ok("--db", url, "audit", "export") for url in (sqlite_url, pg_url, back_url)]
    assert exports[0].count("\n") > 100 and exports[0] == exports[1] == exports[2]
    lists = [json.loads(ok("--db", url, "list", "--json")) for url in (sqlite_url, pg_url,
                                                                       back_url)]
    assert lists[0] == lists[1] == lists[2]
    outboxes = [ok("--db", url, "outbox", "--json") for url in (sqlite_url, pg_url, back_url)]
    assert outboxes[0] == outboxes[1] == outboxes[2]
    for url in (pg_url, back_url):
        assert "audit log ok" in ok("--db", url, "audit", "verify")
        # the copy is a working store: a new change chains onto the copied head
        instance = lists[0][0]["id"]
        head_seq = int(ok("--db", url, "audit", "head").split()[0])
        result = run("--db", url, "--home", str(home), "fire", instance, "no-such-event")
        assert result.returncode == 5
        # the demo store is simulated (and so is its copy): its clock moves on from its end
        ok("--db", url, "--home", str(home), "--now", "2027-03-01T09:00", "start",
           "hipaa-annual-refresh", "--as", "maria",
           "--set", "employee=Sam Copy", "--set", "last_trained_on=2025-06-01")
        assert int(ok("--db", url, "audit", "head").split()[0]) > head_seq
        assert "audit log ok" in ok("--db", url, "audit", "verify")
    figures.add("db copy", f"demo store ({exports[0].count(chr(10))} audit records) SQLite -> "
                           f"PostgreSQL in {seconds:.2f} s (command wall time, in-process)")


def test_db_copy_refuses_a_target_that_is_not_empty(postgres: PostgresServer,
                                                    tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'a.db'}"
    ok("--db", source, "start", "hipaa-annual-refresh", "--as", "maria",
       "--set", "employee=Ann", "--set", "last_trained_on=2025-06-01")
    target = postgres.database()
    ok("--db", source, "db", "copy", "--to", target)
    before = dump_postgres(target)
    result = run("--db", source, "db", "copy", "--to", target)
    assert result.returncode == 5
    assert "not empty" in one_error_line(result)
    assert dump_postgres(target) == before
    back = tmp_path / "b.db"
    ok("--db", target, "db", "copy", "--to", f"sqlite:///{back}")
    before_back = dump_sqlite(back)
    assert run("--db", target, "db", "copy", "--to", f"sqlite:///{back}").returncode == 5
    assert dump_sqlite(back) == before_back


def test_application_role_may_only_append_to_the_audit_log(postgres: PostgresServer) -> None:
    """The owner migrates and grants; the application role runs frontdesk but can neither
    change nor delete audit records, nor drop the trigger that guards them."""
    import psycopg

    suffix = postgres.database().rsplit("_", 1)[1]
    owner, app, database = f"owner_{suffix}", f"app_{suffix}", f"practice_{suffix}"
    with postgres.admin() as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app}" LOGIN')
        conn.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
    base = postgres.url(database).replace("postgres@", "{}@")
    owner_url, app_url = base.format(owner), base.format(app)

    refused = run("--db", app_url, "db", "migrate")
    assert refused.returncode == 8, refused.stderr
    one_error_line(refused)
    assert ok("--db", owner_url, "db", "migrate").splitlines()[0] == "applied 0001_initial"
    granted = ok("--db", owner_url, "db", "grant", app)
    assert "audit_log" in granted and "UPDATE ON" not in granted.split("audit_log")[0][-60:]

    ok("--db", app_url, "start", "hipaa-annual-refresh", "--as", "maria",
       "--set", "employee=Ann", "--set", "last_trained_on=2025-06-01")
    assert "audit log ok" in ok("--db", app_url, "audit", "verify")
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log", "DROP TRIGGER audit_log_no_update_or_delete "
                          "ON audit_log", "ALTER TABLE audit_log DISABLE TRIGGER ALL"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert "audit log ok" in ok("--db", app_url, "audit", "verify")


def test_db_grant_is_refused_on_sqlite(tmp_path: Path) -> None:
    result = run("--db", f"sqlite:///{tmp_path / 'x.db'}", "db", "grant", "someone")
    assert result.returncode == 2
    assert "PostgreSQL" in one_error_line(result)


def test_first_use_from_many_processes_migrates_once(postgres: PostgresServer) -> None:
    """Four ``start``s hit a new database at once: one migrates, the others wait and use it."""
    url = postgres.database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    racers = [subprocess.Popen([*frontdesk_argv(), "--db", url, "start", "hipaa-annual-refresh",
                                "--as", "maria", "--set", f"employee=E{n}",
                                "--set", "last_trained_on=2026-06-01"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for n in range(4)]
    results: list[Any] = [p.communicate(timeout=120) + (p.returncode,) for p in racers]
    assert [code for _, _, code in results] == [0] * 4, results
    assert ok("--db", url, "db", "status").splitlines()[1].startswith("applied: 0001_initial, ")


def test_two_practices_in_one_database_have_a_chain_each(postgres: PostgresServer) -> None:
    """Schemas separate practices sharing a database: own tables, own audit chain."""
    url = postgres.database()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA practice_a")
        conn.execute("CREATE SCHEMA practice_b")
    urls = [f"{url}?options=-csearch_path%3D{schema}" for schema in ("practice_a", "practice_b")]
    for n, practice_url in enumerate(urls):
        for _ in range(n + 1):
            ok("--db", practice_url, "start", "hipaa-annual-refresh", "--as", "maria",
               "--set", f"employee=Ann {_}", "--set", "last_trained_on=2025-06-01")
    heads = [ok("--db", u, "audit", "head").split() for u in urls]
    counts = [len(json.loads(ok("--db", u, "list", "--json"))) for u in urls]
    assert counts == [1, 2]
    assert int(heads[1][0]) > int(heads[0][0]) and heads[0][1] != heads[1][1]
    for u in urls:
        assert "audit log ok" in ok("--db", u, "audit", "verify")
