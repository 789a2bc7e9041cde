"""Audit tamper detection through the real ``frontdesk audit`` commands on
copies of a store whose append-only triggers were dropped: a changed, deleted, reordered or
inserted record is exit 7 naming the first bad ``seq``; a cut tail is caught by
``audit verify --anchor "SEQ HASH"`` with what ``audit head`` printed earlier.

(``tests/unit/test_audit.py`` checks ``verify`` on lists of records; this checks the same faults
made the way an attacker would: in the database file.)
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from frontdesk.audit import GENESIS, record_hash
from frontdesk.service import Engine
from frontdesk.settings import Options
from frontdesk.store.migrations import GUARDS
from hardening_support import clean_stderr_problems

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

COLUMNS = ["seq", "at", "instance", "playbook", "version", "actor", "action", "event", "from",
           "to", "data", "principal", "prev", "hash"]
NAMES = ", ".join(f'"{c}"' for c in COLUMNS)


@dataclass
class Store:
    fd: Frontdesk
    count: int  # records in the log
    head: tuple[int, str]  # what `audit head` printed


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory,
          make_frontdesk: Callable[..., Frontdesk]) -> Store:
    """A store with a few instances moved about (made in-process, checked by the CLI)."""
    fd = make_frontdesk(tmp_path_factory.mktemp("tamper"))
    engine = Engine(Options(playbooks=(str(fd.playbooks),), env=fd.env()))
    try:
        first = engine.start("rt-intake", {"client": "Ann"}, fd.user)
        engine.start("rt-race", {}, fd.user)
        engine.fire(first.id, "schedule", {"visit_on": "2026-01-12"}, fd.user)
        engine.start("rt-intake", {"client": "Bo"}, fd.user)
    finally:
        engine.close()
    count = len(records(fd.db))
    assert count >= 12
    head = fd.ok("audit", "head").split()
    return Store(fd, count, (int(head[0]), head[1]))


def records(db: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(f"SELECT {NAMES} FROM audit_log "
                            "ORDER BY seq").fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def exported(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "data": json.loads(row["data"])}


def tampered_copy(store: Store, target: Path) -> Path:
    """A consistent copy of the store with the audit log's triggers dropped."""
    with closing(sqlite3.connect(store.fd.db)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    with closing(sqlite3.connect(target)) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = 'audit_log'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.commit()
    return target


def write(db: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the whole audit log of ``db`` with ``rows``, then put the guard triggers back
    (as someone with the file's owner rights would, to hide the change)."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("DELETE FROM audit_log")
        conn.executemany(
            f"INSERT INTO audit_log ({NAMES}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})",
            [tuple(row[c] for c in COLUMNS) for row in rows])
        for statements in GUARDS["sqlite"].values():
            for statement in statements:
                conn.execute(statement)
        conn.commit()


def rehash(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "hash": record_hash(exported(row))}


# Each tamper takes the log's rows and returns the rows to write and the first bad seq.
def change_data(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    rows[4]["data"] = json.dumps({"tampered": True})
    return rows, 5


def change_actor(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    rows[2]["actor"] = "mallory"
    return rows, 3


def change_time(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    rows[-1]["at"] = "2020-01-01T00:00:00.000000Z"
    return rows, len(rows)


def change_and_rehash(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The attacker recomputes the changed record's hash: the next record's ``prev`` breaks."""
    rows[5] = rehash({**rows[5], "actor": "mallory"})
    return rows, 7


def delete_middle(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    del rows[6]
    return rows, 7


def delete_first(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    del rows[0]
    return rows, 1


def delete_and_renumber(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """A record removed and the later ones renumbered and rehashed to close the gap."""
    del rows[3]
    for index in range(3, len(rows)):
        rows[index] = rehash({**rows[index], "seq": index + 1})
    return rows, 4


def swap_contents(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Two records' contents swapped, seq numbers kept."""
    a, b = rows[3], rows[4]
    rows[3] = {**b, "seq": a["seq"]}
    rows[4] = {**a, "seq": b["seq"]}
    return rows, 4


def swap_and_rehash(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Two records swapped and rehashed with their new seq: the ``prev`` links break."""
    a, b = rows[3], rows[4]
    rows[3] = rehash({**b, "seq": a["seq"]})
    rows[4] = rehash({**a, "seq": b["seq"]})
    return rows, 4


def insert_forged(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """A forged record that chains correctly after record 5; the later ones renumbered."""
    forged = rehash({**rows[4], "seq": 6, "actor": "mallory", "prev": rows[4]["hash"],
                     "action": "set",
                     "data": json.dumps({"vars": {"paid": True}}, separators=(",", ":"))})
    later = [{**row, "seq": row["seq"] + 1} for row in rows[5:]]
    return [*rows[:5], forged, *later], 7


def insert_forged_rehashed(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Same, and every later record rehashed, but the next ``prev`` still names record 5."""
    forged = rehash({**rows[4], "seq": 6, "actor": "mallory", "prev": rows[4]["hash"]})
    later = [rehash({**row, "seq": row["seq"] + 1}) for row in rows[5:]]
    return [*rows[:5], forged, *later], 7


def genesis_changed(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    rows[0] = rehash({**rows[0], "prev": "f" * 64})
    return rows, 1


TAMPERS = {f.__name__.replace("_", "-"): f for f in (
    change_data, change_actor, change_time, change_and_rehash, delete_middle, delete_first,
    delete_and_renumber, swap_contents, swap_and_rehash, insert_forged, insert_forged_rehashed,
    genesis_changed)}


def verify(fd: Frontdesk, db: Path, *options: str) -> tuple[int, str, str]:
    result = fd.run("audit", "verify", *options, extra=("--db", f"sqlite:///{db}"))
    assert not clean_stderr_problems(result.stderr, result.returncode), result.stderr
    return result.returncode, result.stdout, result.stderr


def first_bad_seq(stderr: str) -> int:
    found = re.search(r"first bad seq (\d+)", stderr)
    assert found, stderr
    return int(found.group(1))


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampered_record_is_exit_7_with_the_first_bad_seq(name: str, store: Store,
                                                         tmp_path: Path,
                                                         figures: Figures) -> None:
    """One record changed, deleted, reordered or inserted: exit 7, the first bad seq named,
    and the original store untouched."""
    original = records(store.fd.db)
    copy = tampered_copy(store, tmp_path / "copy.db")
    rows, expected = TAMPERS[name]([dict(r) for r in original])
    write(copy, rows)
    code, stdout, stderr = verify(store.fd, copy)
    assert code == 7, (stdout, stderr)
    assert stderr.startswith("frontdesk: error: audit chain broken: "), stderr
    assert first_bad_seq(stderr) == expected, stderr
    assert records(store.fd.db) == original
    figures.add("tamper", f"{name}: exit 7, first bad seq {expected}")


def test_truncated_tail_is_caught_by_the_anchor(store: Store, tmp_path: Path,
                                               figures: Figures) -> None:
    """Cutting the last records leaves a valid chain, but the instances they changed no longer
    match their records (exit 7 naming the instance); with what ``audit head`` printed
    before, verify is exit 7 naming the first missing seq."""
    seq, head = store.head
    assert seq == store.count and len(head) == 64
    assert verify(store.fd, store.fd.db, "--anchor", f"{seq} {head}")[0] == 0
    copy = tampered_copy(store, tmp_path / "copy.db")
    rows = records(copy)
    write(copy, rows[:-3])
    code, _, stderr = verify(store.fd, copy)
    assert code == 7 and "instance '" in stderr, stderr
    code, _, stderr = verify(store.fd, copy, "--anchor", f"{seq} {head}")
    assert code == 7, stderr
    assert "anchor" in stderr and first_bad_seq(stderr) == seq - 2, stderr
    figures.add("tamper", f"truncated tail: exit 7 naming the instance, and with the anchor "
                          f"(first bad seq {seq - 2})")


def test_a_rebuilt_log_is_caught_by_the_anchor(store: Store, tmp_path: Path) -> None:
    """A log rebuilt from scratch (every record forged and rehashed) verifies on its own but
    not against an anchor noted earlier; an anchor from the middle of the chain passes."""
    copy = tampered_copy(store, tmp_path / "copy.db")
    rows = records(copy)
    middle = f"{rows[len(rows) // 2]['seq']} {rows[len(rows) // 2]['hash']}"
    prev = GENESIS
    forged = []
    for row in rows:
        row = rehash({**row, "actor": "mallory", "prev": prev})
        prev = row["hash"]
        forged.append(row)
    write(copy, forged)
    assert verify(store.fd, copy)[0] == 0
    code, _, stderr = verify(store.fd, copy, "--anchor", f"{store.head[0]} {store.head[1]}")
    assert code == 7 and "anchor" in stderr, stderr
    assert verify(store.fd, store.fd.db, "--anchor", middle)[0] == 0


def test_audit_head_prints_seq_and_hash(store: Store) -> None:
    """``audit head`` is the last record's seq and hash."""
    last = records(store.fd.db)[-1]
    assert store.head == (last["seq"], last["hash"])
    assert store.fd.ok("audit", "head").strip() == f"{last['seq']} {last['hash']}"
