"""Shared fixtures: the installed ``frontdesk`` command run as a real subprocess on a temp home."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from frontdesk_testing import (
    Frontdesk,
    PostgresServer,
    free_port,
    frontdesk_argv,
    frontdesk_factory,
    postgres_bin_dir,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session. Skipped only when no server binary exists
    and ``$CI`` is unset; on CI a missing server is a failure."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no PostgreSQL server binary (initdb, pg_ctl) was found")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                    "/usr/lib/postgresql/*/bin; install Debian's postgresql to run these")
    run_as = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            run_as = pwd.getpwnam("postgres").pw_name
        except KeyError:
            run_as = "nobody"
    root = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
    root.chmod(0o755)
    server = PostgresServer(bin_dir, root / "cluster", free_port(), run_as)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store-facing end-to-end test runs once per store."""
    return str(request.param)


@pytest.fixture(scope="session")
def make_frontdesk(tmp_path_factory: pytest.TempPathFactory, store_kind: str,
                   request: pytest.FixtureRequest) -> Callable[..., Frontdesk]:
    """A factory: a fresh home (New York practice.yaml), a copy of the runtime playbooks
    under ``root`` and a fresh store of the session's ``store_kind``."""
    server: PostgresServer | None = (request.getfixturevalue("postgres")
                                     if store_kind == "postgresql" else None)
    return frontdesk_factory(tmp_path_factory.mktemp("pycache"), server)


@pytest.fixture
def frontdesk(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    """``frontdesk`` on a fresh temporary home and store."""
    return make_frontdesk(tmp_path)


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run ``frontdesk ARGS`` in-process (click's CliRunner, exceptions propagate) on an empty
    temporary home, with ``$FRONTDESK_*`` cleared; returns the click ``Result``."""
    from click.testing import CliRunner
    from frontdesk.cli import cli

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
