"""Helpers shared by the tests: ``frontdesk`` run in this process (``run_main``) or as the
installed command, on a home and store of its own (``Frontdesk``); wheels and fresh venvs;
reads and dumps of either store; the figures a test reports. (Fixtures live in
``conftest.py``; test modules import these from here, since another ``conftest`` module may
shadow the name. The throwaway PostgreSQL server is ``postgres_server.py``.)"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[1]
RUNTIME_PLAYBOOKS = Path(__file__).resolve().parent / "playbooks" / "runtime"
NY_PRACTICE = "practice: Test Practice\ntimezone: America/New_York\n"


def frontdesk_argv() -> list[str]:
    """The installed ``frontdesk`` (the one next to this interpreter first, which skips slow
    version-manager shims), else ``python cli.py`` from the repository."""
    found = (shutil.which("frontdesk", path=str(Path(sys.executable).parent))
             or shutil.which("frontdesk"))
    return [found] if found else [sys.executable, str(REPO / "cli.py")]


# -- wheels and fresh virtual environments ------------------------------------------------------
BUILD_LEFTOVERS = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                         "__pycache__", ".*_cache", ".hypothesis")


def build_wheel(source: Path, dist: Path) -> Path:
    """The wheel of the project in ``source``, built with this interpreter's build backends (the
    dev extras install setuptools and hatchling): no isolated environment, so no download. It
    is built from a copy of ``source``: setuptools writes ``build/`` and ``*.egg-info`` beside
    the sources, where two xdist workers building at once would trip over each other."""
    with tempfile.TemporaryDirectory(prefix="frontdesk-build-") as scratch:
        copy = Path(scratch) / source.name
        shutil.copytree(source, copy, ignore=BUILD_LEFTOVERS)
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                        str(dist), str(copy)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("*.whl")
    return wheel


def fresh_venv(where: Path) -> Path:
    """A venv (``where/venv``) without this interpreter's packages, except that frontdesk's
    dependencies are importable from here (a ``.pth`` line, not ``--system-site-packages``:
    inside a venv the latter would point at the base interpreter, which may lack them). A path
    listed in a ``.pth`` file is not a site folder, so the editable install's finder is not
    activated. Without pip of its own (``pip`` installs into it from here). Returns the venv's
    python."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True)
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(site.stdout.strip(), "zz_frontdesk_test_deps.pth").write_text(
        "\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python


def pip(python: Path, *args: str) -> None:
    """This interpreter's ``pip ARGS`` acting on the environment of ``python`` (a venv made by
    ``fresh_venv``, which has no pip of its own)."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--no-input",
                    "--disable-pip-version-check", *args], check=True, capture_output=True,
                   timeout=300)


def pip_install(python: Path, *targets: str) -> None:
    """``pip install`` of local wheels into a venv: no dependencies, no index."""
    pip(python, "install", "--no-deps", "--no-index", "-q", *targets)


# -- frontdesk in this process ---------------------------------------------------------------------
@dataclass(frozen=True)
class CliResult:
    """One ``frontdesk`` command's outcome, with the fields of ``subprocess.CompletedProcess``
    (so a test reads an in-process run and a real process alike)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_main(args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None,
             stdin: str = "") -> CliResult:
    """``frontdesk ARGS`` in this process through ``frontdesk.cli.main``, the console script's
    own handler, so exit codes and ``frontdesk: error:`` lines are the ones a user sees. For the
    call, ``os.environ`` is exactly ``env``, the working directory is ``cwd`` and the standard
    streams are new byte-backed text streams encoded as a process's are.

    An internal error (exit 1) shows as a user sees it; its traceback goes to this test's
    captured stderr, where pytest shows it if the test fails."""
    from frontdesk.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    streams = (io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"),
               io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape",
                                write_through=True),
               io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace",
                                write_through=True))
    saved_streams, saved_env, saved_cwd = (sys.stdin, sys.stdout, sys.stderr), \
        dict(os.environ), os.getcwd()
    code: int | str | None = 0
    cause: BaseException | None = None
    try:
        os.environ.clear()
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = streams
        try:
            main(list(args))
        except SystemExit as exc:
            code, cause = exc.code, exc.__context__
        if isinstance(code, str):  # sys.exit("message"), as the interpreter reports it
            sys.stderr.write(code + "\n")
            code = 1
        for stream in streams[1:]:
            stream.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    if code == 1 and cause is not None and not _expected(cause):
        traceback.print_exception(cause, file=sys.stderr)
    return CliResult(["frontdesk", *args], int(code or 0),
                     out.getvalue().decode("utf-8", "surrogateescape"),
                     err.getvalue().decode("utf-8", "replace"))


def _expected(exc: BaseException) -> bool:
    """An exception ``main`` turns into an exit on purpose (not an internal error)."""
    import click
    from frontdesk.errors import FrontdeskError

    return isinstance(exc, (FrontdeskError, click.ClickException, click.exceptions.Exit,
                            click.exceptions.Abort))


# -- figures -------------------------------------------------------------------------------------
FIGURE = "frontdesk figure"  # the name of a figure among a test's ``user_properties``


@dataclass(frozen=True)
class Figures:
    """Where a test puts the figures it reports (kills, cases, refusals): ``figures.add("crash",
    "kills 312, ...")``. They travel with the test's report (``user_properties``, which xdist
    sends from its workers) and ``tests/conftest.py`` prints them in a "frontdesk figures"
    section at the end of the run (no ``-s`` needed), so CI logs show them."""

    item: Any  # the test (pytest.Item)

    def add(self, topic: str, text: str) -> None:
        self.item.user_properties.append((FIGURE, f"{topic}: {text}"))


# -- stores --------------------------------------------------------------------------------------
PG_TABLES = ("sources", "instances", "tasks", "timers", "outbox", "audit_log", "migrations")


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
    """``frontdesk`` on one home (store inside) and playbook folder: ``run`` goes through
    ``frontdesk.cli.main`` in this process (unless ``processes`` is set), ``run_process`` and
    ``popen`` start the installed command as real processes."""

    home: Path
    playbooks: Path
    argv: tuple[str, ...]  # the installed command (``frontdesk_argv()``)
    now: str = "2026-01-05T09:00"
    user: str = "maria"
    pycache: Path | None = None  # where subprocesses cache bytecode (outside the repository)
    db_url: str | None = None  # a postgresql:// URL; None: the home's SQLite file
    processes: bool = False  # ``run`` (and ``ok``, ``json``) start real processes too

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

    def arguments(self, args: Sequence[str], now: str | None = None,
                  extra: Sequence[str] = ()) -> list[str]:
        """The command line after ``frontdesk`` (global options ``--now``/``extra`` first)."""
        globals_ = ("--now", now) if now else ()
        return ["--playbooks", str(self.playbooks), *globals_, *extra, *args]

    def command(self, args: Sequence[str], now: str | None = None,
                extra: Sequence[str] = ()) -> list[str]:
        """The whole command line of the installed command, for a subprocess."""
        return [*self.argv, *self.arguments(args, now, extra)]

    def run(self, *args: str, now: str | None = None, extra: Sequence[str] = (),
            cwd: Path | None = None) -> CliResult | subprocess.CompletedProcess[str]:
        """Run one command in this process (``run_main``), or as a process (``processes``)."""
        if self.processes:
            return self.run_process(*args, now=now, extra=extra, cwd=cwd)
        return run_main(self.arguments(args, now, extra), self.env(), cwd=cwd)

    def run_process(self, *args: str, now: str | None = None, extra: Sequence[str] = (),
                    cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run one command as a real ``frontdesk`` process."""
        return subprocess.run(self.command(args, now, extra), env=self.env(), cwd=cwd,
                              capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *args: str, now: str | None = None) -> str:
        """Run a command (in this process) that must succeed; its stdout."""
        result = self.run(*args, now=now)
        assert result.returncode == 0, (args, result.returncode, result.stderr)
        return result.stdout

    def json(self, *args: str, now: str | None = None) -> Any:
        """Run a command with ``--json``; the parsed stdout."""
        return json.loads(self.ok(*args, "--json", now=now))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start one command as a real process, its output piped."""
        return subprocess.Popen(self.command(args), env=self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def dump(self) -> dict[str, Any]:
        return dump_postgres(self.db_url) if self.db_url else dump_sqlite(self.db)


def frontdesk_factory(pycache: Path,
                      server: PostgresServer | None) -> Callable[..., Frontdesk]:
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


@contextlib.contextmanager
def hang_guard(seconds: int = 60) -> Iterator[None]:
    """Fail the test instead of hanging it when the code under test runs away (SIGALRM; the
    main thread only). A guard, not a timing: tests assert behaviour."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
