"""One instance whose stored row cannot be read never stops the others: ``list``, ``tick`` and
``fire --all`` handle the rest, then name it and exit 8; ``show`` of it is exit 8 naming it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from frontdesk_testing import Frontdesk


def _damage(fd: Frontdesk, instance: str) -> None:
    sql = "UPDATE instances SET vars = '{not json' WHERE id = ?"
    if fd.store_kind == "postgresql":
        import psycopg

        with psycopg.connect(fd.store_url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), (instance,))
        return
    with closing(sqlite3.connect(fd.db, isolation_level=None)) as conn:
        conn.execute(sql, (instance,))


@pytest.fixture
def damaged(frontdesk: Frontdesk) -> tuple[Frontdesk, str, list[str]]:
    ids = [frontdesk.ok("start", "rt-intake", "--set", f"client=C{n}").strip() for n in range(3)]
    _damage(frontdesk, ids[1])
    return frontdesk, ids[1], [ids[0], ids[2]]


def test_list_shows_the_others_then_names_the_damaged(
        damaged: tuple[Frontdesk, str, list[str]]) -> None:
    fd, bad, good = damaged
    result = fd.run("list")
    assert result.returncode == 8, result.stderr
    assert all(i in result.stdout for i in good) and bad not in result.stdout
    assert f"'{bad}'" in result.stderr and "audit verify" in result.stderr
    shown = fd.run("show", bad)
    assert shown.returncode == 8 and bad in shown.stderr


def test_tick_and_fire_all_carry_on(damaged: tuple[Frontdesk, str, list[str]]) -> None:
    fd, bad, good = damaged
    ticked = fd.run("tick", now="2026-01-09T09:00")
    assert ticked.returncode == 8 and f"'{bad}'" in ticked.stderr, ticked.stderr
    reminded = {row[0] for row in fd.query("SELECT instance FROM outbox")}
    assert reminded == set(good)
    fired = fd.run("fire", "--all", "rt-intake", "schedule", "--set", "visit_on=2026-01-12",
                   now="2026-01-09T10:00")
    assert fired.returncode == 8 and f"'{bad}'" in fired.stderr, fired.stderr
    states = dict(fd.query("SELECT id, state FROM instances"))
    assert {states[i] for i in good} == {"scheduled"} and states[bad] == "new"


def test_control_characters_in_client_data_are_shown_escaped(frontdesk: Frontdesk) -> None:
    """An ESC sequence or a newline typed into a client's name reaches the tables escaped."""
    fd = frontdesk
    instance = fd.ok("start", "rt-intake", "--set", "client=Ann\x1b[2J\nEvil").strip()
    for args in (("list",), ("show", instance), ("today", "--everyone", "--days", "7")):
        out = fd.ok(*args)
        assert "\x1b[2J" not in out and "Ann\\x1b[2J\\nEvil" in out, (args, out)
