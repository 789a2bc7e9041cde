"""Shared fixtures: the installed ``frontdesk`` command run as a real subprocess on a temp home."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNTIME_PLAYBOOKS = Path(__file__).resolve().parent / "playbooks" / "runtime"
NY_PRACTICE = "practice: Test Practice\ntimezone: America/New_York\n"


def frontdesk_argv() -> list[str]:
    """The installed ``frontdesk`` (the one next to this interpreter first, which skips slow
    version-manager shims), else ``python cli.py`` from the repository."""
    found = (shutil.which("frontdesk", path=str(Path(sys.executable).parent))
             or shutil.which("frontdesk"))
    return [found] if found else [sys.executable, str(REPO / "cli.py")]


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

    @property
    def db(self) -> Path:
        return self.home / "frontdesk.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env.update(FRONTDESK_HOME=str(self.home), FRONTDESK_NOW=self.now,
                   FRONTDESK_USER=self.user)
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
        return dump_sqlite(self.db)


@pytest.fixture(scope="session")
def make_frontdesk(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Frontdesk]:
    """A factory: a fresh home (New York practice.yaml) and a copy of the runtime playbooks
    under ``root``."""
    argv = tuple(frontdesk_argv())
    pycache = tmp_path_factory.mktemp("pycache")

    def make(root: Path, practice: str = NY_PRACTICE) -> Frontdesk:
        home = root / "home"
        home.mkdir(parents=True)
        (home / "practice.yaml").write_text(practice, "utf-8")
        playbooks = root / "playbooks"
        shutil.copytree(RUNTIME_PLAYBOOKS, playbooks)
        return Frontdesk(home, playbooks, argv, pycache=pycache)

    return make


@pytest.fixture
def frontdesk(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    """``frontdesk`` on a fresh temporary home and store."""
    return make_frontdesk(tmp_path)


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run ``frontdesk ARGS`` in-process (click's CliRunner, exceptions propagate) on an empty
    temporary home, with ``$FRONTDESK_*`` cleared; returns the click ``Result``."""
    from click.testing import CliRunner

    from engine.cli import cli

    for name in [k for k in os.environ if k.startswith("FRONTDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path / "cli-home"))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def run_frontdesk(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``frontdesk ARGS`` as a subprocess in ``cwd`` (default: a temp dir) on
    an empty temporary home, with ``$FRONTDESK_*`` cleared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_HOME"] = str(tmp_path / "subprocess-home")

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*frontdesk_argv(), *args], cwd=cwd or tmp_path, env=env,
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=120, check=False)

    return run
