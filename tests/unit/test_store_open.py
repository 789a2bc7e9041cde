"""Opening a store: a missing one is refused without creating anything unless the command
creates stores, and a read-only opening never writes to the file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from frontdesk.errors import StoreUnavailableError
from frontdesk.store import open_store


def test_a_missing_sqlite_store_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "frontdesk.db"
    for read_only in (False, True):
        store = open_store(f"sqlite:///{path}", create=False, read_only=read_only)
        with pytest.raises(StoreUnavailableError, match="frontdesk init") as error:
            store.list_instances()
        assert str(path) in str(error.value)
        store.close()
    assert not (tmp_path / "typo").exists()


def test_an_empty_file_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "frontdesk.db"
    path.touch()
    store = open_store(f"sqlite:///{path}", create=False)
    with pytest.raises(StoreUnavailableError, match="no store at"):
        store.audit_head()
    store.close()
    assert path.stat().st_size == 0


def test_read_only_opening_reads_a_store_it_may_not_write(tmp_path: Path) -> None:
    """The store file and its folder made read-only: reads work and the file is not written
    (SQLite's ``mode=ro``; as root, whom permissions do not stop, the test checks the bytes)."""
    path = tmp_path / "store" / "frontdesk.db"
    with open_store(f"sqlite:///{path}") as store:
        store.migrate()
    before = path.read_bytes()
    path.chmod(stat.S_IRUSR)
    path.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with open_store(f"sqlite:///{path}", read_only=True) as store:
            assert store.audit_head()[0] == 0
            assert store.guard_problems() == []
            assert store.list_instances() == []
        assert path.read_bytes() == before
    finally:
        path.parent.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
