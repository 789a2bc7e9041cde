"""``db backup PATH``: a consistent copy of a SQLite store in use, proved like ``audit verify``,
that restores into a new home (docs/daily-use.md, "Backups"). The commands run in this process
(``Frontdesk.run``) on a SQLite home with the runtime playbooks; writers that overlap a backup
are real processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from frontdesk_testing import Frontdesk, frontdesk_factory


@pytest.fixture
def fd(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Frontdesk:
    """A SQLite home (New York practice) with the runtime playbooks and a simulated clock."""
    return frontdesk_factory(tmp_path_factory.mktemp("pycache"), None)(tmp_path)


def _listed(fd: Frontdesk, *options: str) -> list[dict[str, object]]:
    result = fd.run(*options, "list", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def _start(fd: Frontdesk, client: str) -> str:
    return fd.ok("start", "rt-intake", "--set", f"client={client}").strip()


def test_a_backup_holds_what_a_copy_of_the_file_misses_and_restores(fd: Frontdesk,
                                                                     tmp_path: Path) -> None:
    """While another connection keeps the store open, recent changes sit in the WAL file: a
    ``cp`` of frontdesk.db alone misses them, ``db backup`` has them, proves the copy and
    prints its head; restored into a new home (the file and practice.yaml), ``audit verify``
    passes, ``list`` matches, and frontdesk writes to it again."""
    _start(fd, "Ann")  # creates the store; its connection is the last, so it checkpoints
    with closing(sqlite3.connect(fd.db)) as reader:  # no later command is the last connection
        reader.execute("SELECT count(*) FROM instances").fetchone()
        _start(fd, "Bob")
        _start(fd, "Cleo")
        assert fd.run("tick", now="2026-01-08T09:00").returncode == 0
        instances = _listed(fd)
        head = fd.ok("audit", "head").split()
        naive = tmp_path / "naive"
        naive.mkdir()
        shutil.copy(fd.db, naive / "frontdesk.db")
        target = tmp_path / "backups" / "frontdesk.db"
        target.parent.mkdir()
        result = fd.run("db", "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        result.stdout.splitlines()[0],
        f"audit verify ok on the backup: {head[0]} records, last seq {head[0]}, head {head[1]}"]
    assert result.stdout.startswith(f"backed up SQLite file {fd.db} to {target} in ")
    assert len(_listed(fd, "--db", f"sqlite:///{naive / 'frontdesk.db'}")) < len(instances)

    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy(target, restored / "frontdesk.db")
    shutil.copy(fd.home / "practice.yaml", restored / "practice.yaml")
    verified = fd.run("--home", str(restored), "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"audit log ok: {head[0]} records, last seq {head[0]}, head {head[1]}" in \
        verified.stdout
    assert _listed(fd, "--home", str(restored)) == instances
    later = fd.run("--home", str(restored), "start", "rt-intake", "--set", "client=Dan",
                   now="2026-01-08T10:00")
    assert later.returncode == 0, later.stderr
    assert fd.run("--home", str(restored), "audit", "verify").returncode == 0
    assert len(_listed(fd, "--home", str(restored))) == len(instances) + 1


def test_the_backup_file_is_private_and_self_contained(fd: Frontdesk, tmp_path: Path) -> None:
    """The backup is 0600, in rollback-journal mode, with no -wal or -shm file beside it, and
    the live store stays in WAL mode."""
    _start(fd, "Ann")
    target = tmp_path / "b.db"
    old = os.umask(0o022)
    try:
        assert fd.run("db", "backup", str(target)).returncode == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.glob("b.db*")) == ["b.db"]
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    with closing(sqlite3.connect(fd.db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_backup_refuses_what_it_cannot_do_safely(fd: Frontdesk, tmp_path: Path) -> None:
    """An existing file is never overwritten (exit 5); a missing folder is exit 2; a
    PostgreSQL store is exit 2 naming pg_dump and db copy; a home without a store is exit 8
    and creates no backup file."""
    _start(fd, "Ann")
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    refused = fd.run("db", "backup", str(existing))
    assert refused.returncode == 5 and "already exists" in refused.stderr, refused.stderr
    assert existing.read_bytes() == b"keep me"
    missing = fd.run("db", "backup", str(tmp_path / "no" / "such" / "b.db"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    postgres = fd.run("--db", "postgresql://app@127.0.0.1:1/none", "db", "backup",
                      str(tmp_path / "pg.db"))
    assert postgres.returncode == 2 and "pg_dump" in postgres.stderr, postgres.stderr
    assert "db copy" in postgres.stderr
    nothing = fd.run("--home", str(tmp_path / "typo"), "db", "backup", str(tmp_path / "t.db"))
    assert nothing.returncode == 8 and "frontdesk init" in nothing.stderr
    assert not (tmp_path / "t.db").exists() and not (tmp_path / "typo").exists()
    assert not (tmp_path / "pg.db").exists()


def test_a_backup_of_a_broken_log_is_kept_and_is_exit_7(fd: Frontdesk, tmp_path: Path) -> None:
    """A store whose audit log was altered backs up faithfully, and the proof of the copy
    fails: exit 7, the file kept for the investigation."""
    _start(fd, "Ann")
    with closing(sqlite3.connect(fd.db)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
        conn.commit()
    target = tmp_path / "evidence.db"
    result = fd.run("db", "backup", str(target))
    assert result.returncode == 7, result.stderr
    assert result.stdout.startswith("backed up ") and target.is_file()


def test_backups_taken_while_others_write_each_verify(fd: Frontdesk, tmp_path: Path) -> None:
    """Backups taken while other processes start instances are each one consistent snapshot:
    every backup verifies, and none holds more instances than the store had afterwards."""
    _start(fd, "Ann")
    writers = [fd.popen("start", "rt-intake", "--set", f"client=C{n}") for n in range(4)]
    backups = []
    for n in range(3):
        target = tmp_path / f"during-{n}.db"
        result = fd.run("db", "backup", str(target))
        assert result.returncode == 0, result.stderr
        backups.append(target)
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    total = len(_listed(fd))
    for target in backups:
        url = f"sqlite:///{target}"
        assert fd.run("--db", url, "audit", "verify").returncode == 0, target
        assert 1 <= len(_listed(fd, "--db", url)) <= total
