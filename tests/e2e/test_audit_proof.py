"""``audit verify`` proves what docs/reference.md ("Audit log") lists, on both stores: the
database refuses records that do not extend the chain, edits of the store's rows are named,
dropped guards are reported by ``db status`` and ``verify`` until ``db migrate`` restores
them, and ``--anchor`` takes exactly what ``audit head`` prints."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from frontdesk_testing import NY_PRACTICE, Frontdesk, frontdesk_argv

FIXTURES = Path(__file__).parent.parent / "fixtures"

GUARD_SQL = {
    "sqlite": "DROP TRIGGER audit_log_chain",
    "postgresql": "DROP TRIGGER audit_log_chain ON audit_log",
}


@pytest.fixture
def fd(frontdesk: Frontdesk) -> Iterator[Frontdesk]:
    """A store with an intake moved to ``scheduled`` and a second one just started."""
    first = frontdesk.ok("start", "rt-intake", "--set", "client=Ann", "--set", "visits=2").strip()
    frontdesk.ok("fire", first, "schedule", "--set", "visit_on=2026-01-12")
    frontdesk.ok("start", "rt-intake", "--set", "client=Bo")
    yield frontdesk


def _write(fd: Frontdesk, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement on the store, committed (as someone with the file or the database
    would, behind frontdesk's back)."""
    if fd.store_kind == "postgresql":
        import psycopg

        with psycopg.connect(fd.store_url, autocommit=True) as pg:
            pg.execute(sql.replace("?", "%s"), params)
        return
    with closing(sqlite3.connect(fd.db, isolation_level=None)) as conn:
        conn.execute(sql, params)


def _verify(fd: Frontdesk, *options: str) -> tuple[int, str, str]:
    result = fd.run("audit", "verify", *options)
    return result.returncode, result.stdout, result.stderr


def _instance(fd: Frontdesk) -> str:
    return str(fd.query("SELECT id FROM instances ORDER BY id")[0][0])


def test_verify_prints_what_it_proved(fd: Frontdesk) -> None:
    code, out, err = _verify(fd)
    assert code == 0, err
    assert "audit log ok:" in out
    for proved in ("chain:", "guards:", "sources: 1 stored", "replay: 2 instances"):
        assert proved in out, out


@pytest.mark.parametrize("edit", ["state", "vars", "task", "assignee"])
def test_an_edited_row_is_named_by_the_replay(fd: Frontdesk, edit: str) -> None:
    """Rows of instances and tasks can be changed without touching the audit log; the replay
    of the log names the instance (exit 7)."""
    target = _instance(fd)
    if edit == "state":
        _write(fd, "UPDATE instances SET state = 'done' WHERE id = ?", (target,))
    elif edit == "vars":
        (text,) = fd.query("SELECT vars FROM instances WHERE id = ?", (target,))[0]
        changed = {**json.loads(text), "visits": 4}
        _write(fd, "UPDATE instances SET vars = ? WHERE id = ?",
                 (json.dumps(changed), target))
    elif edit == "task":
        _write(fd, "UPDATE tasks SET status = 'done' WHERE instance = ? AND status = 'open'",
                 (target,))
    else:  # a task given to someone without an ``assign`` (done by whoever it names)
        _write(fd, "UPDATE tasks SET assignee = 'drlee' WHERE instance = ? AND status = 'open'",
                 (target,))
    code, _, err = _verify(fd)
    assert code == 7, err
    assert f"instance '{target}'" in err and "audit log" in err, err


def test_assignments_are_replayed(fd: Frontdesk) -> None:
    """``assign`` and ``assign --clear`` are in the log: the store verifies after them, and a
    task handed to another person behind frontdesk's back does not."""
    target = _instance(fd)
    (task,) = fd.query("SELECT id FROM tasks WHERE instance = ? AND status = 'open' "
                       "ORDER BY id", (target,))[0]
    fd.ok("assign", task, "maria")
    assert _verify(fd)[0] == 0
    fd.ok("assign", task, "--clear")
    fd.ok("assign", task, "sam")
    assert _verify(fd)[0] == 0
    _write(fd, "UPDATE tasks SET assignee = 'maria' WHERE id = ?", (task,))
    code, _, err = _verify(fd)
    assert code == 7 and f"instance '{target}'" in err and task in err, err


@pytest.mark.parametrize(("column", "value"), [("due", "2026-02-12"),
                                               ("status", "cancelled"), ("id", "added")])
def test_an_edited_armed_timer_is_named_by_the_replay(fd: Frontdesk, column: str,
                                                      value: str) -> None:
    """The armed timers are in the audit log (``timer_armed``): moving one's due date,
    disarming it in its row or adding a timer row is named (exit 7)."""
    target = _instance(fd)
    (timer,) = fd.query("SELECT id FROM timers WHERE instance = ? AND status = 'armed' "
                        "ORDER BY seq LIMIT 1", (target,))[0]
    if column == "id":  # a copy of the timer under a new id
        _write(fd, "INSERT INTO timers SELECT id || '0', instance, seq + 100, state, event, "
                   "due, due_date, status, error FROM timers WHERE id = ?", (timer,))
        timer, column = f"{timer}0", "without audit records"
    else:
        extra = ", due_date = ?" if column == "due" else ""
        _write(fd, f"UPDATE timers SET {column} = ?{extra} WHERE id = ?",
               (value, value, timer) if extra else (value, timer))
    code, _, err = _verify(fd)
    assert code == 7, err
    assert f"instance '{target}': timer {timer}" in err and column in err, err


def test_cutting_an_instances_last_records_is_named(fd: Frontdesk) -> None:
    """The last records of the log deleted (by the store's owner, triggers disabled and put
    back): the chain still links, but the replay names the instance they changed, and an
    anchor written down before names the cut."""
    (seq, target) = fd.query("SELECT seq, instance FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    head = fd.ok("audit", "head").strip()
    if fd.store_kind == "postgresql":
        _write(fd, "ALTER TABLE audit_log DISABLE TRIGGER USER")
        _write(fd, "DELETE FROM audit_log WHERE seq >= ?", (seq - 1,))
        _write(fd, "ALTER TABLE audit_log ENABLE TRIGGER USER")
    else:
        _write(fd, "DROP TRIGGER audit_log_no_delete")
        _write(fd, "DELETE FROM audit_log WHERE seq >= ?", (seq - 1,))
        assert fd.run("db", "migrate").returncode == 0
    code, _, err = _verify(fd)
    assert code == 7 and f"instance '{target}'" in err, err
    code, _, err = _verify(fd, "--anchor", head)  # what 'audit head' printed before
    assert code == 7 and "truncated" in err, err


def test_an_edited_source_is_named(fd: Frontdesk) -> None:
    (digest, text) = fd.query("SELECT digest, text FROM sources")[0]
    _write(fd, "UPDATE sources SET text = ? WHERE digest = ?",
             (text.replace("by: front_desk", "by: clinician"), digest))
    code, _, err = _verify(fd)
    assert code == 7 and "playbook source" in err and digest[:12] in err, err


def test_the_database_refuses_a_record_that_does_not_extend_the_chain(fd: Frontdesk) -> None:
    """A record inserted far ahead of the head, or one that replaces a record, is refused by
    the database itself, with the guards in place."""
    seq, at, instance, prev, hash_ = fd.query(
        'SELECT seq, at, instance, prev, hash FROM audit_log ORDER BY seq DESC LIMIT 1')[0]
    columns = ('seq, at, instance, playbook, version, actor, action, event, "from", "to", '
               "data, prev, hash")
    ahead = (seq + 1000, at, instance, "rt-intake", 1, "mallory", "set", None, None, None,
             "{}", hash_, "f" * 64)
    with pytest.raises(Exception, match="chain"):
        _write(fd, f"INSERT INTO audit_log ({columns}) VALUES ({', '.join('?' * 13)})", ahead)
    mislinked = (seq + 1, at, instance, "rt-intake", 1, "mallory", "set", None, None, None,
                 "{}", "0" * 64, "f" * 64)
    with pytest.raises(Exception, match="chain"):
        _write(fd, f"INSERT INTO audit_log ({columns}) VALUES ({', '.join('?' * 13)})",
                 mislinked)
    if fd.store_kind == "sqlite":
        replaced = (seq, at, instance, "rt-intake", 1, "mallory", "set", None, None, None,
                    "{}", prev, "f" * 64)
        with pytest.raises(Exception, match="chain"):
            _write(fd, f"INSERT OR REPLACE INTO audit_log ({columns}) "
                     f"VALUES ({', '.join('?' * 13)})", replaced)
    assert _verify(fd)[0] == 0


def test_dropped_guards_are_reported_until_db_migrate(fd: Frontdesk) -> None:
    _write(fd, GUARD_SQL[fd.store_kind])
    status = fd.run("db", "status")
    assert status.returncode == 7 and "audit_log_chain missing" in status.stderr, status
    code, _, err = _verify(fd)
    assert code == 7 and "audit_log_chain missing" in err, err
    migrate = fd.run("db", "migrate")
    assert migrate.returncode == 0 and "restored: trigger audit_log_chain" in migrate.stdout
    assert fd.run("db", "status").returncode == 0
    assert _verify(fd)[0] == 0


def test_anchor_takes_exactly_what_audit_head_prints(fd: Frontdesk) -> None:
    head = fd.ok("audit", "head").strip()
    code, out, err = _verify(fd, "--anchor", head)
    assert code == 0 and "anchor: record" in out, err
    seq, digest = head.split()
    for wrong in (digest, f"{seq}:{digest}", f"{seq} {digest.upper()}", f"{seq} {digest[:-1]}",
                  ""):
        code, _, err = _verify(fd, "--anchor", wrong)
        assert code == 2 and "audit head" in err, (wrong, err)
    code, _, err = _verify(fd, "--anchor", f"{int(seq) + 5} {digest}")
    assert code == 7 and "truncated" in err, err
    code, _, err = _verify(fd, "--anchor", f"{seq} {'a' * 64}")
    assert code == 7 and "rewritten" in err, err


def test_a_store_written_before_timers_were_recorded_still_verifies(tmp_path: Path) -> None:
    """A store an older frontdesk wrote (``tests/fixtures``: its timers have no
    ``timer_armed`` records) verifies, read-only and unmigrated; after this frontdesk moves
    its instances on and starts a new one it still verifies, and the new instance's armed
    timers are proved."""
    fd = Frontdesk(home=tmp_path / "home", playbooks=tmp_path / "playbooks",
                   argv=tuple(frontdesk_argv()), now="2026-01-07T09:00")
    fd.home.mkdir()
    fd.playbooks.mkdir()
    (fd.home / "practice.yaml").write_text(NY_PRACTICE)
    shutil.copy(FIXTURES / "stuck.yaml", fd.playbooks / "stuck.yaml")
    with closing(sqlite3.connect(fd.db)) as conn:
        conn.executescript((FIXTURES / "store-before-timer-records.sql").read_text())
    assert _verify(fd)[0] == 0
    assert fd.query("SELECT name FROM migrations ORDER BY name DESC LIMIT 1") == [
        ("0005_store_facts",)]  # verify did not migrate it
    assert fd.json("show", "6c2b27d628")["problems"] == []
    fd.ok("fire", "6c2b27d628", "go")  # disarms a timer armed before, arms a new one
    new = fd.ok("start", "stuck", "--set", "client=Cy").strip()
    code, out, err = _verify(fd)
    assert code == 0 and "replay: 3 instances" in out, err
    _write(fd, "UPDATE timers SET due = '2026-03-01', due_date = '2026-03-01' "
               "WHERE instance = ? AND status = 'armed'", (new,))
    code, _, err = _verify(fd)
    assert code == 7 and f"instance '{new}': timer {new}-timer-1" in err, err
