"""Fixtures of the hardening tests: the stores they run on (the ``figures`` fixture they report
with is in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from frontdesk_testing import Frontdesk, frontdesk_factory


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
