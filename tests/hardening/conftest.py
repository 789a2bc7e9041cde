"""Fixtures of the hardening tests (issue 8): the store URL the crash harness runs on and the
figures each test prints.

Figures: a test calls ``figures.add("crash", "kills 312, ...")``; they are printed in a
"frontdesk hardening figures" section at the end of the pytest run (no ``-s`` needed), so CI logs
show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from frontdesk_testing import Frontdesk, frontdesk_factory


@dataclass
class Figures:
    """Lines of figures collected during the run, printed in the terminal summary."""

    lines: list[str] = field(default_factory=list)

    def add(self, topic: str, text: str) -> None:
        self.lines.append(f"{topic}: {text}")


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    """Where a hardening test puts the figures it reports (kills, cases, refusals)."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES.lines:
        terminalreporter.section("frontdesk hardening figures")
        for line in _FIGURES.lines:
            terminalreporter.write_line(line)


# -- stores -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def make_frontdesk(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Frontdesk]:
    """These tests work on the SQLite file itself (tampering, file modes, every file written
    outside the store), so their factory always gives SQLite; the crash harness names its
    stores itself (``crash_store_url``), PostgreSQL among them.

    A fixture of its own, not an override of ``store_kind``: pytest caches the session-scoped
    root ``make_frontdesk`` once, so after a PostgreSQL-parametrized test elsewhere an override
    of its parameter alone would still hand these tests the PostgreSQL factory."""
    return frontdesk_factory(tmp_path_factory.mktemp("pycache"), None)


# -- the store the crash harness runs on ---------------------------------------------------
# Everything the harness checks goes through the CLI (audit verify/export, show --json,
# list --json), so the store kind only decides the URL.
STORE_KINDS = ["sqlite", "postgresql"]


@pytest.fixture(params=STORE_KINDS)
def crash_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The ``--db`` URL of a fresh, empty store of each kind the crash harness runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash-store' / 'frontdesk.db'}"
    else:  # a fresh database on the session's PostgreSQL server (tests/conftest.py)
        yield request.getfixturevalue("postgres").database()
