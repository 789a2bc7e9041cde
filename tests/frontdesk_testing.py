"""Helpers shared by the tests: the ``frontdesk`` command and its store, a throwaway PostgreSQL
server, and dumps of either store. (Fixtures live in ``conftest.py``; test modules import these
from here, since another ``conftest`` module may shadow the name.)"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RUNTIME_PLAYBOOKS = Path(__file__).resolve().parent / "playbooks" / "runtime"
NY_PRACTICE = "practice: Test Practice\ntimezone: America/New_York\n"


def frontdesk_argv() -> list[str]:
    """The installed ``frontdesk`` (the one next to this interpreter first, which skips slow
    version-manager shims), else ``python cli.py`` from the repository."""
    found = (shutil.which("frontdesk", path=str(Path(sys.executable).parent))
             or shutil.which("frontdesk"))
    return [found] if found else [sys.executable, str(REPO / "cli.py")]


# -- PostgreSQL: a real server per test session (initdb + pg_ctl on a free port, no Docker) ------
PG_TABLES = ("sources", "instances", "tasks", "timers", "outbox", "audit_log", "migrations")


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True,
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster; ``database()`` makes a fresh database and its URL."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None  # the OS user the server runs as when the tests run as root

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=True,
                       capture_output=True, text=True, timeout=120, user=self.run_as)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.root, self.run_as)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        # Durability is what the tests do not measure: fsync off keeps 2 cores busy with tests.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def query_store(url: str | None, path: Path, sql: str,
                params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (written with ``?``) from a SQLite file or a PostgreSQL URL."""
    if url and url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params)]
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def dump_postgres(url: str) -> dict[str, Any]:
    """Every table's rows, in key order, and the table list: a store before/after."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    return {"tables": tables, "rows": rows}


def dump_sqlite(path: Path) -> dict[str, Any]:
    """Every table's rows (in rowid order) and the schema, to compare a store before/after."""
    with closing(sqlite3.connect(path)) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master "
                              "ORDER BY type, name").fetchall()
        tables = [name for kind, name, _ in schema
                  if kind == "table" and not name.startswith("sqlite_")]
        rows = {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
                for name in tables}
    return {"schema": schema, "rows": rows}


@dataclass
class Frontdesk:
    """``frontdesk`` run in subprocesses against one home (store inside) and playbook folder."""

    home: Path
    playbooks: Path
    argv: tuple[str, ...]
    now: str = "2026-01-05T09:00"
    user: str = "maria"
    pycache: Path | None = None  # where subprocesses cache bytecode (outside the repository)
    db_url: str | None = None  # a postgresql:// URL; None: the home's SQLite file

    @property
    def db(self) -> Path:
        return self.home / "frontdesk.db"

    @property
    def store_kind(self) -> str:
        return "postgresql" if self.db_url else "sqlite"

    @property
    def store_url(self) -> str:
        return self.db_url or f"sqlite:///{self.db}"

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (with ``?`` placeholders) read straight from the store."""
        return query_store(self.db_url, self.db, sql, params)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env.update(FRONTDESK_HOME=str(self.home), FRONTDESK_NOW=self.now,
                   FRONTDESK_USER=self.user)
        if self.db_url:
            env["FRONTDESK_DB"] = self.db_url
        if self.pycache is not None:  # compile the engine once per session, not per command
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        return env

    def command(self, args: tuple[str, ...], now: str | None = None,
                extra: tuple[str, ...] = ()) -> list[str]:
        globals_ = ("--now", now) if now else ()
        return [*self.argv, "--playbooks", str(self.playbooks), *globals_, *extra, *args]

    def run(self, *args: str, now: str | None = None,
            extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run one command (global options ``--now``/``extra`` go before it)."""
        return subprocess.run(self.command(args, now, extra), env=self.env(),
                              capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *args: str, now: str | None = None) -> str:
        """Run a command that must succeed; its stdout."""
        result = self.run(*args, now=now)
        assert result.returncode == 0, (args, result.returncode, result.stderr)
        return result.stdout

    def json(self, *args: str, now: str | None = None) -> Any:
        """Run a command with ``--json``; the parsed stdout."""
        return json.loads(self.ok(*args, "--json", now=now))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(args), env=self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def dump(self) -> dict[str, Any]:
        return dump_postgres(self.db_url) if self.db_url else dump_sqlite(self.db)


def frontdesk_factory(pycache: Path, server: PostgresServer | None) -> Callable[..., Frontdesk]:
    """``make(root)``: a fresh home under ``root`` (``practice.yaml``, New York by default), a
    copy of the runtime playbooks and a fresh store: a new database on ``server``, or the home's
    SQLite file when ``server`` is None."""
    argv = tuple(frontdesk_argv())

    def make(root: Path, practice: str = NY_PRACTICE) -> Frontdesk:
        home = root / "home"
        home.mkdir(parents=True)
        (home / "practice.yaml").write_text(practice, "utf-8")
        playbooks = root / "playbooks"
        shutil.copytree(RUNTIME_PLAYBOOKS, playbooks)
        return Frontdesk(home, playbooks, argv, pycache=pycache,
                         db_url=server.database() if server else None)

    return make
