"""Shared fixtures: ``frontdesk`` on a temporary home, run in this process through the console
script's handler (``run_cli``, ``frontdesk``) or as the installed command (``run_frontdesk``);
a PostgreSQL server per session; the figures the tests report; the order of the slow tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from frontdesk_testing import (
    FIGURE,
    REPO,
    CliResult,
    Figures,
    Frontdesk,
    build_wheel,
    frontdesk_argv,
    frontdesk_factory,
    run_main,
)
from postgres_server import PostgresServer, postgres_bin_dir, start_postgres

if TYPE_CHECKING:
    from delivery_testing import SmtpServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (one per xdist worker). Skipped only when no
    server binary exists and ``$CI`` is unset; on CI a missing server is a failure. Its watchdog
    stops it and deletes its folder after the session, or as soon as the test process (or the
    xdist controller) is killed: ``start_postgres``."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no PostgreSQL server binary (initdb, pg_ctl) was found")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                    "/usr/lib/postgresql/*/bin; install Debian's postgresql to run these")
    server = start_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def frontdesk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """frontdesk's wheel, built once per session (per xdist worker) from the checkout."""
    return build_wheel(REPO, tmp_path_factory.mktemp("frontdesk-wheel"))


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


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    """A plain aiosmtpd server on loopback, one per test module (delivery_testing)."""
    from delivery_testing import SmtpServer

    server = SmtpServer("none").start()
    yield server
    server.stop()


@pytest.fixture
def plain(smtp: SmtpServer) -> SmtpServer:
    """The module's plain SMTP server, emptied, with no failure queued."""
    smtp.handler.received.clear()
    smtp.handler.replies.clear()
    return smtp


@pytest.fixture
def frontdesk(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    """``frontdesk`` on a fresh temporary home and store."""
    return make_frontdesk(tmp_path)


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``frontdesk ARGS`` in this process through ``frontdesk.cli.main`` (``run_main``) in
    ``cwd`` (default: a temp dir) on an empty temporary home, with ``$FRONTDESK_*`` cleared;
    ``returncode``, ``stdout`` and ``stderr`` as ``run_frontdesk`` gives them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_HOME"] = str(tmp_path / "cli-home")

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        return run_main(args, env, cwd=cwd or tmp_path)

    return run


@pytest.fixture
def run_frontdesk(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``frontdesk ARGS`` as a real process in ``cwd`` (default: a temp dir)
    on an empty temporary home, with ``$FRONTDESK_*`` cleared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_HOME"] = str(tmp_path / "subprocess-home")

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*frontdesk_argv(), *args], cwd=cwd or tmp_path, env=env,
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=120, check=False)

    return run


# -- figures: what the long tests measured, printed at the end of the run -----------------------
_FIGURE_LINES: list[str] = []  # in the process that reports: the xdist controller, or pytest


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Where this test puts the figures it reports (``Figures``)."""
    return Figures(request.node)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the figures of each test (from its last report, which carries them all)."""
    if report.when == "teardown":
        _FIGURE_LINES.extend(value for name, value in report.user_properties if name == FIGURE)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The "frontdesk figures" section: every figure the tests reported, in report order."""
    if _FIGURE_LINES:
        terminalreporter.section("frontdesk figures")
        for line in _FIGURE_LINES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In an xdist worker, the tests marked ``slow`` go first: the workers take tests one at a
    time, so the long ones start early and spread over the workers instead of ending the run on
    one of them while the others wait."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)

