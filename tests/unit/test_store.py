"""Tests of the stores on real databases: round trips, conflicts and the audit chain on both a
SQLite file and a PostgreSQL database (``store``), and what only SQLite has (files, pragmas)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk import audit
from frontdesk.errors import ConflictError, ExitCode, NotFoundError, StoreUnavailableError
from frontdesk.runtime.instance import (
    AuditDraft,
    Change,
    Instance,
    Message,
    TaskOccurrence,
    TimerState,
)
from frontdesk.store import SQLiteStore, Store, migrations, open_store
from frontdesk_testing import dump_postgres

NY = ZoneInfo("America/New_York")
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=NY)
SOURCE = "id: claim-denial\nversion: 2\n"
DIGEST = hashlib.sha256(SOURCE.encode()).hexdigest()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the store lives: a not-yet-existing folder under tmp_path."""
    return tmp_path / "home" / "data" / "frontdesk.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Store]:
    """A fresh store of each kind, closed after the test."""
    if request.param == "postgresql":
        from frontdesk.store.postgres import PostgresStore

        with PostgresStore(request.getfixturevalue("postgres").database()) as pg:
            yield pg
        return
    with SQLiteStore(db_path) as opened:
        yield opened


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[SQLiteStore]:
    """A fresh SQLite store, for what only SQLite has."""
    with SQLiteStore(db_path) as opened:
        yield opened


def snapshot(store: Store) -> Any:
    """Every row of the store, to compare before and after."""
    if isinstance(store, SQLiteStore):
        return dump(store.path)
    return dump_postgres(store.url)  # type: ignore[attr-defined]


def raw(path: Path) -> closing[sqlite3.Connection]:
    """A plain autocommit connection to the database file, behind the store's back."""
    return closing(sqlite3.connect(path, isolation_level=None))


def dump(path: Path) -> str:
    """Every table's schema and rows as SQL text."""
    with raw(path) as conn:
        return "\n".join(conn.iterdump())


def task(inst: str, n: int, due: dt.date | dt.datetime | None, role: str | None = "billing",
         name: str | None = None, status: str = "open") -> TaskOccurrence:
    """Task occurrence ``n`` of instance ``inst``."""
    due_date = due.date() if isinstance(due, dt.datetime) else due
    return TaskOccurrence(id=f"{inst}-{n}", instance=inst, task=name or f"task{n}",
                          state="review", title=f"Task {n}", role=role, due=due,
                          due_date=due_date, status=status, created_at=T0)


def instance(id: str, tasks: list[TaskOccurrence] | None = None,
             timers: list[TimerState] | None = None) -> Instance:
    """A claim-denial instance in state ``review``."""
    return Instance(id=id, playbook="claim-denial", version=2, digest=DIGEST, state="review",
                    subject=f"claim {id}", vars={"amount": 120.5}, tasks=tasks or [],
                    timers=timers or [], started_at=T0, updated_at=T0, entered_at=T0,
                    task_counter=len(tasks or []))


def note(inst: Instance, action: str = "start", **data: Any) -> AuditDraft:
    """An audit draft for ``inst``."""
    return AuditDraft(at=T0, instance=inst.id, playbook=inst.playbook, version=inst.version,
                      actor="maria", action=action, to_state=inst.state, data=data)


def start(store: Store, *instances: Instance, notes: int = 1) -> None:
    """Commit new instances, each with ``notes`` audit records."""
    change = Change(instances=list(instances), new_instances={i.id for i in instances},
                    sources={DIGEST: SOURCE},
                    audit=[note(i, n=n) for i in instances for n in range(notes)])
    with store.transaction() as txn:
        txn.apply(change)


def update(store: Store, inst: Instance, *drafts: AuditDraft) -> None:
    """Commit a change to an existing instance."""
    with store.transaction() as txn:
        txn.apply(Change(instances=[inst], audit=list(drafts)))


def independent_hash(record: dict[str, Any]) -> str:
    """The audit record's hash as docs/reference.md (JSON shapes) defines it, written again here
    rather than imported."""
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def copy_database(src: Path, dst: Path) -> None:
    """A consistent copy of a WAL database (the file alone may miss committed pages)."""
    with raw(src) as source, raw(dst) as target:
        source.backup(target)


def tampered(path: Path, tmp_path: Path, *statements: str) -> SQLiteStore:
    """A copy of the store without the append-only triggers, with ``statements`` run on it."""
    copy = tmp_path / "tampered.db"
    copy_database(path, copy)
    with raw(copy) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)
    return SQLiteStore(copy)


@pytest.fixture
def logged(store: Store) -> Store:
    """A store with six audit records over three instances."""
    start(store, instance("a"), instance("b"), instance("c"), notes=2)
    return store


@pytest.fixture
def sqlite_logged(sqlite_store: SQLiteStore) -> SQLiteStore:
    """A SQLite store with six audit records over three instances."""
    start(sqlite_store, instance("a"), instance("b"), instance("c"), notes=2)
    return sqlite_store


# -- instances ---------------------------------------------------------------------------
def test_instance_round_trips(store: Store) -> None:
    """Vars, tasks and timers with dates and datetimes come back equal, revision bumped."""
    inst = instance("x1", tasks=[
        task("x1", 1, dt.date(2026, 3, 5)),
        task("x1", 2, dt.datetime(2026, 3, 6, 14, 0, tzinfo=NY), role=None, status="done"),
        TaskOccurrence(id="x1-3", instance="x1", task="weekly", state="review", title="Call",
                       role="clinician", due=dt.date(2026, 3, 9), due_date=dt.date(2026, 3, 9),
                       recurring=True, anchor=dt.date(2026, 3, 2), index=1, assignee="drlee",
                       closed_at=T0, closed_by="maria"),
    ], timers=[
        TimerState("x1-timer-1", "x1", "review", "remind", dt.date(2026, 3, 10),
                   dt.date(2026, 3, 10)),
        TimerState("x1-timer-2", "x1", "review", "expire",
                   dt.datetime(2026, 4, 1, 17, 0, tzinfo=NY), dt.date(2026, 4, 1), "fired"),
    ])
    inst.vars = {"seen": dt.date(2026, 2, 27), "at": T0, "list": [dt.date(2026, 1, 1), 2],
                 "name": "Zoë", "n": 3, "ok": True, "none": None, "nested": {"d": 1.5}}
    inst.parent, inst.outcome = "p0", None
    start(store, inst)
    assert inst.revision == 1
    with store.transaction() as txn:
        loaded = txn.load_instance("x1")
    assert loaded == inst
    assert isinstance(loaded.vars["seen"], dt.date) and loaded.vars["at"] == T0
    assert store.get_instance("x1") == inst
    assert store.list_instances() == [inst]
    assert store.get_source(DIGEST) == SOURCE


def test_update_writes_the_new_state(store: Store) -> None:
    """An update changes the row, upserts the task and timer rows marked dirty, and bumps
    the revision again."""
    start(store, instance("u1", tasks=[task("u1", 1, dt.date(2026, 3, 5))]))
    inst = store.get_instance("u1")
    inst.state, inst.status, inst.outcome = "closed", "closed", "won"
    inst.own_task(inst.tasks[0]).status = "done"
    inst.tasks.append(task("u1", 2, None))
    inst.timers.append(TimerState("u1-timer-1", "u1", "closed", "x", dt.date(2026, 5, 1),
                                  dt.date(2026, 5, 1)))
    inst.dirty |= {inst.tasks[1].id, "u1-timer-1"}
    update(store, inst, note(inst, "transition"))
    assert inst.revision == 2
    assert store.get_instance("u1") == inst


def test_lookups_and_not_found(store: Store) -> None:
    """Tasks lead to their instance; unknown ids are exit 4 with the id named."""
    start(store, instance("a", tasks=[task("a", 1, None)]), instance("b"))
    with store.transaction() as txn:
        assert txn.instance_of_task("a-1") == "a"
        assert txn.open_instance_ids("claim-denial") == ["a", "b"]
        assert txn.get_source(DIGEST) == SOURCE
        with pytest.raises(NotFoundError, match="unknown task 'zz-1'") as info:
            txn.instance_of_task("zz-1")
        assert info.value.exit_code == ExitCode.NOT_FOUND
        with pytest.raises(NotFoundError, match="unknown instance 'zz'"):
            txn.load_instance("zz")
    with pytest.raises(NotFoundError, match="unknown instance 'zz'"):
        store.get_instance("zz")


def test_list_instances_filters(store: Store) -> None:
    """list_instances filters by playbook, state and status, oldest first."""
    closed = instance("b")
    closed.status, closed.state = "closed", "done"
    start(store, instance("a", tasks=[task("a", 1, None)]), closed, instance("c"))
    assert [i.id for i in store.list_instances()] == ["a", "b", "c"]
    assert [i.id for i in store.list_instances(status="open")] == ["a", "c"]
    assert [i.id for i in store.list_instances(state="done")] == ["b"]
    assert store.list_instances(playbook="other") == []
    assert store.list_instances(status="open")[0].tasks == [task("a", 1, None)]


def test_due_timers(store: Store) -> None:
    """Armed timers of open instances are due by date, and datetime ones also by the clock."""
    day = dt.date(2026, 3, 10)
    start(store,
          instance("d", timers=[TimerState("d-t", "d", "review", "e", day, day)]),
          instance("t", timers=[TimerState("t-t", "t", "review", "e",
                                           dt.datetime(2026, 3, 10, 15, tzinfo=NY), day)]),
          instance("f", timers=[TimerState("f-t", "f", "review", "e", day, day, "fired")]),
          instance("l", timers=[TimerState("l-t", "l", "review", "e", day.replace(day=11),
                                           day.replace(day=11))]))
    with store.transaction() as txn:
        assert txn.due_timer_instance_ids(day, dt.datetime(2026, 3, 10, 9, tzinfo=NY)) == ["d"]
        assert txn.due_timer_instance_ids(day, dt.datetime(2026, 3, 10, 16, tzinfo=NY)) == [
            "d", "t"]


def test_open_tasks_filters_and_sorts(store: Store) -> None:
    """open_tasks keeps open tasks due by the date for the roles, by due, instance, task."""
    march = dt.date(2026, 3, 1)
    start(store,
          instance("a", tasks=[task("a", 1, march.replace(day=2)),
                               task("a", 2, march, role="clinician", name="review"),
                               task("a", 3, march.replace(month=2), status="done"),
                               task("a", 4, march, role="clinician", name="call")]),
          instance("b", tasks=[task("b", 1, dt.datetime(2026, 3, 1, 8, tzinfo=NY)),
                               task("b", 2, march.replace(day=5)),
                               task("b", 3, None)]))

    def ids(**filters: Any) -> list[str]:
        return [t.id for t, _ in store.open_tasks(**filters)]

    assert ids(until=march.replace(day=2)) == ["a-4", "a-2", "b-1", "a-1"]
    assert ids(until=march.replace(day=2), roles={"billing"}) == ["b-1", "a-1"]
    assert ids(roles=["billing"]) == ["b-1", "a-1", "b-2", "b-3"]
    assert ids(roles=[]) == []
    pairs = store.open_tasks(until=march)
    assert [(t.id, i.id, i.subject) for t, i in pairs] == [
        ("a-4", "a", "claim a"), ("a-2", "a", "claim a"), ("b-1", "b", "claim b")]


def test_outbox_keeps_messages(store: Store) -> None:
    """Messages are stored in order, pending, each with its own Message-ID, and read back
    with their address, their instance's playbook and no recipients resolved yet."""
    inst = instance("m")
    change = Change(instances=[inst], new_instances={"m"}, sources={DIGEST: SOURCE},
                    messages=[Message("m", T0, "billing", "Appeal due", "Send it."),
                              Message("m", T0, "owner", "FYI", "")])
    with store.transaction() as txn:
        txn.apply(change)
    shown = [m.to_json() for m in store.outbox()]
    assert [(m["id"], m["instance"], m["playbook"], m["at"], m["to"], m["to_kind"],
             m["subject"], m["body"], m["status"], m["attempts"], m["recipients"])
            for m in shown] == [
        (1, "m", "claim-denial", T0.isoformat(), "billing", "role", "Appeal due", "Send it.",
         "pending", 0, None),
        (2, "m", "claim-denial", T0.isoformat(), "owner", "role", "FYI", "", "pending", 0,
         None)]
    ids = [m["message_id"] for m in shown]
    assert len(set(ids)) == 2 and all(i.startswith("<") and i.endswith(">") for i in ids)
    assert [m.id for m in store.deliverable()] == [1, 2]


def test_enqueue_without_instance(store: Store) -> None:
    """A message about no instance (a digest) is enqueued on its own and addressed to a
    person; ``requeue_failed`` makes a failed message pending again."""
    from frontdesk.outbox import FAILED, DeliveryUpdate

    (mid,) = store.enqueue([Message(None, T0, "maria", "Your day", "3 tasks",
                                    to_kind="person", kind="digest", facts={"tasks": 3})])
    (entry,) = store.outbox()
    assert (entry.id, entry.instance, entry.kind, entry.to_kind, entry.facts,
            entry.playbook) == (mid, None, "digest", "person", {"tasks": 3}, None)
    store.record_delivery(DeliveryUpdate(mid, FAILED, 1, None, "550 no such user", [], None,
                                         "tester"))
    assert store.deliverable() == []
    assert store.requeue_failed() == 1
    assert [m.id for m in store.deliverable(due_by=T0)] == [mid]


def test_enqueue_once_keeps_one_message_per_message_id(store: Store) -> None:
    """``enqueue(once=True)`` skips a message whose Message-ID is in the outbox (a person's
    digest of a day), in the same batch too; ``known_message_ids`` says which are there."""
    def digest(person: str) -> Message:
        return Message(None, T0, person, "Your day", "", to_kind="person", kind="digest",
                       message_id=f"<digest.2026-03-02.{person}@frontdesk.localhost>")

    first = store.enqueue([digest("maria")], once=True)
    assert len(first) == 1
    again = store.enqueue([digest("maria"), digest("sam"), digest("sam")], once=True)
    assert len(again) == 1 and again != first
    assert [m.to_name for m in store.outbox()] == ["maria", "sam"]
    assert store.known_message_ids([digest("sam").message_id, "<x@y>"]) == {
        digest("sam").message_id}
    assert store.known_message_ids([]) == set()


def test_finished_tasks_by_closing_date_and_person(store: Store) -> None:
    """``finished_tasks`` gives done and cancelled tasks closed from about ``since``, with
    the role and person rules of ``open_tasks``."""
    def closed(n: int, days_ago: int, status: str = "done", assignee: str | None = None,
               role: str = "billing") -> TaskOccurrence:
        found = task("f", n, T0.date(), role=role, status=status)
        found.closed_at, found.assignee = T0 - dt.timedelta(days=days_ago), assignee
        return found

    start(store, instance("f", tasks=[closed(1, 1), closed(2, 20), closed(3, 2, "cancelled"),
                                      closed(4, 1, assignee="sam"), closed(5, 1, role="x"),
                                      task("f", 6, T0.date())]))

    def ids(**filters: Any) -> list[str]:
        since = (T0 - dt.timedelta(days=14)).date()
        return sorted(t.id for t, _ in store.finished_tasks(since, **filters))

    assert ids() == ["f-1", "f-3", "f-4", "f-5"]
    assert ids(roles={"billing"}) == ["f-1", "f-3", "f-4"]
    assert ids(roles={"billing"}, person="maria") == ["f-1", "f-3"]
    assert ids(roles=set(), person="sam") == ["f-4"]

# -- transactions ------------------------------------------------------------------------
def test_revision_conflict_writes_nothing(store: Store) -> None:
    """The second of two writers from the same revision gets exit 6 and changes nothing."""
    start(store, instance("r"))
    first, second = store.get_instance("r"), store.get_instance("r")
    first.state = "approved"
    update(store, first, note(first, "transition"))
    before = snapshot(store)
    second.state = "denied"
    second.tasks.append(task("r", 1, None))
    change = Change(instances=[instance("new"), second], new_instances={"new"},
                    sources={"other": "text"}, audit=[note(second, "transition")],
                    messages=[Message("r", T0, "billing", "s", "b")])
    with pytest.raises(ConflictError, match="instance 'r' was changed by someone else") as info:
        with store.transaction() as txn:
            txn.apply(change)
    assert info.value.exit_code == ExitCode.CONFLICT
    assert snapshot(store) == before
    assert second.revision == 1


def test_an_exception_rolls_back(store: Store) -> None:
    """Anything raised inside the transaction undoes what apply wrote."""
    start(store, instance("a"))
    before = snapshot(store)
    with pytest.raises(RuntimeError):
        with store.transaction() as txn:
            txn.apply(Change(instances=[instance("b")], new_instances={"b"},
                             audit=[note(instance("b"))]))
            raise RuntimeError("refused after apply")
    assert snapshot(store) == before


def test_a_held_write_lock_is_a_conflict(db_path: Path) -> None:
    """A writer blocked past the busy timeout gets exit 6 quickly; readers are not blocked."""
    store = SQLiteStore(db_path, busy_timeout_ms=100)
    start(store, instance("a"))
    with raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        with pytest.raises(ConflictError, match=r"^the store is busy; retry$") as info:
            with store.transaction() as txn:
                txn.load_instance("a")
        assert time.monotonic() - began < 2
        assert info.value.exit_code == ExitCode.CONFLICT
        assert store.audit_head()[0] == 1  # WAL: reading goes on during the write lock
        other.execute("ROLLBACK")
    start(store, instance("b"))
    store.close()


def test_a_held_row_lock_is_a_conflict_on_postgresql(postgres: Any) -> None:
    """PostgreSQL: a writer waiting on another's row lock past lock_timeout gets exit 6, and
    nothing; once the lock is released it goes on."""
    import psycopg
    from frontdesk.store.postgres import PostgresStore

    url = postgres.database()
    store = PostgresStore(url, lock_timeout_ms=200)
    start(store, instance("a"))
    with psycopg.connect(url) as other:  # a transaction holding the instance's row
        other.execute("SELECT * FROM instances WHERE id = 'a' FOR UPDATE")
        with pytest.raises(ConflictError) as info:
            with store.transaction() as txn:
                txn.load_instance("a")
        assert info.value.exit_code == ExitCode.CONFLICT
        assert store.audit_head()[0] == 1  # readers are not blocked
    with store.transaction() as txn:
        assert txn.load_instance("a").id == "a"
    store.close()


def test_a_savepoint_undoes_one_item_of_a_batch(store: Store) -> None:
    """In one transaction, an item whose write conflicts is undone alone (its instance row,
    tasks and audit records), and the items around it commit with a gapless chain."""
    start(store, instance("a"), instance("b"), instance("c"))
    a, b, c = store.get_instance("a"), store.get_instance("b"), store.get_instance("c")
    stale = store.get_instance("b")
    b.state = "approved"
    update(store, b, note(b, "transition"))  # `stale` is now one revision behind
    with store.transaction() as txn:
        for inst in (a, stale, c):
            inst.state = "closed"
            inst.tasks.append(task(inst.id, 9, None))
            inst.dirty.add(inst.tasks[-1].id)
            try:
                with txn.savepoint():
                    txn.apply(Change(instances=[inst], audit=[note(inst, "transition")]))
            except ConflictError:
                assert inst is stale
    assert [store.get_instance(i).state for i in "abc"] == ["closed", "approved", "closed"]
    assert store.get_instance("b").tasks == []
    records = list(store.audit_records())
    assert [(r["seq"], r["instance"]) for r in records[3:]] == [(4, "b"), (5, "a"), (6, "c")]
    assert audit.verify(records).ok


def test_load_instances_reads_a_batch_in_order(store: Store) -> None:
    start(store, instance("a", tasks=[task("a", 1, None)]), instance("b"),
          instance("c", timers=[TimerState("c-t", "c", "review", "e", dt.date(2026, 3, 9),
                                           dt.date(2026, 3, 9))]))
    with store.transaction() as txn:
        loaded = txn.load_instances(["c", "zz", "a"])
    assert [i.id for i in loaded] == ["c", "a"]
    assert loaded == [store.get_instance("c"), store.get_instance("a")]


# -- audit log ---------------------------------------------------------------------------
def test_audit_log_is_append_only(sqlite_logged: SQLiteStore, db_path: Path) -> None:
    """The database itself refuses UPDATE and DELETE on audit_log."""
    before = dump(db_path)
    with raw(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            conn.execute("DELETE FROM audit_log WHERE seq = 6")
    assert dump(db_path) == before


def test_chain_continues_across_transactions(store: Store) -> None:
    """Records of a later transaction continue the seq and the hash chain of earlier ones."""
    assert store.audit_head() == (0, audit.GENESIS)
    start(store, instance("a"), notes=2)
    inst = store.get_instance("a")
    update(store, inst, note(inst, "transition", day=dt.date(2026, 3, 3)),
           note(inst, "task_created"))
    records = list(store.audit_records())
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[0]["prev"] == audit.GENESIS
    assert records[2]["prev"] == records[1]["hash"]
    assert records[2]["data"] == {"day": "2026-03-03"}
    assert tuple(records[0]) == audit.RECORD_KEYS
    assert store.audit_head() == (4, records[3]["hash"])
    assert audit.verify(store.audit_records()) == audit.VerifyResult(
        True, 4, 4, records[3]["hash"])


def test_audit_records_filters(logged: Store) -> None:
    """audit_records filters by instance and by a since date or datetime."""
    assert [r["seq"] for r in logged.audit_records(instance="b")] == [3, 4]
    assert len(list(logged.audit_records(since=dt.date(2026, 3, 2)))) == 6
    assert list(logged.audit_records(since=dt.date(2026, 3, 3))) == []
    assert len(list(logged.audit_records(since=T0))) == 6
    assert list(logged.audit_records(since=T0 + dt.timedelta(seconds=1))) == []


def test_stored_hashes_match_an_independent_implementation(sqlite_logged: SQLiteStore,
                                                           db_path: Path) -> None:
    """Rows read with plain SQL hash, with this test's own code, to their stored hash."""
    columns = ("seq", "at", "instance", "playbook", "version", "actor", "action", "event",
               "from", "to", "data", "principal", "prev", "hash")
    prev = "0" * 64
    with raw(db_path) as conn:
        rows = conn.execute('SELECT seq, at, instance, playbook, version, actor, action, '
                            'event, "from", "to", data, principal, prev, hash FROM audit_log '
                            'ORDER BY seq')
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            record["data"] = json.loads(record["data"])
            assert record["prev"] == prev
            assert record["hash"] == independent_hash(record)
            prev = record["hash"]
    assert prev == sqlite_logged.audit_head()[1]


def test_verify_catches_changed_data(sqlite_logged: SQLiteStore, db_path: Path,
                                     tmp_path: Path) -> None:
    """Changing one record's data in a copy without triggers is found at that record."""
    assert audit.verify(sqlite_logged.audit_records()).ok
    copy = tampered(db_path, tmp_path,
                    """UPDATE audit_log SET data = '{"n":7}' WHERE seq = 4""")
    result = audit.verify(copy.audit_records())
    assert (result.ok, result.first_bad_seq, result.count) == (False, 4, 3)
    assert result.reason == "record 4: hash does not match its contents"


def test_verify_catches_a_deleted_record(sqlite_logged: SQLiteStore, db_path: Path,
                                         tmp_path: Path) -> None:
    """Deleting a middle record is a seq gap at the missing seq."""
    copy = tampered(db_path, tmp_path, "DELETE FROM audit_log WHERE seq = 3")
    result = audit.verify(copy.audit_records())
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "seq gap" in (result.reason or "")


def test_verify_catches_swapped_records(sqlite_logged: SQLiteStore, db_path: Path,
                                        tmp_path: Path) -> None:
    """Swapping two records' places is found at the first of them."""
    copy = tampered(db_path, tmp_path,
                    "UPDATE audit_log SET seq = -2 WHERE seq = 2",
                    "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                    "UPDATE audit_log SET seq = 3 WHERE seq = -2")
    result = audit.verify(copy.audit_records())
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_verify_with_anchor_catches_a_cut_tail(sqlite_logged: SQLiteStore, db_path: Path,
                                               tmp_path: Path) -> None:
    """Cutting off the last records passes a plain verify but not one with the noted head."""
    anchor = sqlite_logged.audit_head()[1]
    copy = tampered(db_path, tmp_path, "DELETE FROM audit_log WHERE seq >= 5")
    assert audit.verify(copy.audit_records()).ok
    result = audit.verify(copy.audit_records(), anchor=anchor)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert result.reason == "anchor hash not found: the log was truncated or replaced"


# -- files, migrations, URLs ---------------------------------------------------------------
def test_file_and_folder_modes(sqlite_store: SQLiteStore, db_path: Path, tmp_path: Path) -> None:
    """The store file is created 0600 in new folders created 0700; nothing before first use."""
    assert not (tmp_path / "home").exists()
    sqlite_store.audit_head()
    assert db_path.stat().st_mode & 0o777 == 0o600
    assert db_path.parent.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrations_are_recorded_once(db_path: Path) -> None:
    """Migrations are pending before first use, recorded by it, and not re-applied later."""
    names = [m.name for m in migrations.SQLITE]
    store = SQLiteStore(db_path)
    assert migrations.applied(store) == [] and migrations.pending(store) == names
    assert not db_path.exists()
    store.list_instances()
    assert migrations.applied(store) == names and migrations.pending(store) == []
    with raw(db_path) as conn:
        recorded = conn.execute("SELECT name, applied_at FROM migrations").fetchall()
    reopened = SQLiteStore(db_path)
    start(reopened, instance("a"))
    with raw(db_path) as conn:
        assert conn.execute("SELECT name, applied_at FROM migrations").fetchall() == recorded
    assert migrations.applied(reopened) == names


def test_a_newer_store_is_refused(db_path: Path) -> None:
    """A store migrated by a newer release (unknown migration) is exit 8, not damaged."""
    SQLiteStore(db_path).audit_head()
    with raw(db_path) as conn:
        conn.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    with pytest.raises(StoreUnavailableError, match="9999_future"):
        SQLiteStore(db_path).audit_head()


def test_not_a_database(tmp_path: Path) -> None:
    """A file that is not SQLite, or a folder, is exit 8."""
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(StoreUnavailableError, match="not a database") as info:
        open_store(str(path)).audit_head()
    assert info.value.exit_code == ExitCode.STORE_UNAVAILABLE
    with pytest.raises(StoreUnavailableError):
        list(SQLiteStore(path).audit_records())
    with pytest.raises(StoreUnavailableError):
        SQLiteStore(tmp_path).list_instances()


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:/// URLs (absolute or relative) and plain paths open SQLite, postgresql:// URLs
    PostgreSQL; others are exit 8."""
    monkeypatch.chdir(tmp_path)
    absolute = open_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(absolute, SQLiteStore) and absolute.path == tmp_path / "a.db"
    relative = open_store("sqlite:///rel/b.db")
    assert isinstance(relative, SQLiteStore) and relative.path == Path("rel/b.db")
    relative.audit_head()
    assert (tmp_path / "rel" / "b.db").exists()
    plain = open_store(str(tmp_path / "c.db"))
    assert isinstance(plain, SQLiteStore) and plain.path == tmp_path / "c.db"
    from frontdesk.store.postgres import PostgresStore

    for url in ("postgresql://frontdesk@localhost/frontdesk", "postgres://h/db"):
        assert isinstance(open_store(url), PostgresStore)  # nothing connects before first use
    with pytest.raises(StoreUnavailableError, match="scheme 'mysql'"):
        open_store("mysql://localhost/db")
    with pytest.raises(StoreUnavailableError, match="in-memory"):
        open_store(":memory:")


def test_importing_the_store_does_not_import_psycopg() -> None:
    """PostgreSQL's driver is imported only when a postgresql:// store is opened."""
    code = "import sys, engine.store; assert 'psycopg' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_delivery_migration_keeps_older_messages(dialect: str, db_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    """A store migrated up to 0005 with messages in its outbox: 0006_delivery keeps each
    message, pending, with a Message-ID of its own, and the copy reads back whole."""
    older = [m for m in migrations.for_dialect(dialect) if m.name < "0006"]
    row = ("INSERT INTO outbox (instance, at, to_role, subject, body) "
           "VALUES ('i', ?, 'billing', 's', 'b')")
    if dialect == "sqlite":
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with raw(db_path) as conn:
            conn.execute(migrations.TABLE["sqlite"])
            for m in older:
                for statement in m.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO migrations VALUES (?, 'x')", (m.name,))
            conn.executemany(row, [(T0.isoformat(),), (T0.isoformat(),)])
            conn.commit()
        store: Store = SQLiteStore(db_path)
    else:
        import psycopg
        from frontdesk.store.postgres import PostgresStore

        url = request.getfixturevalue("postgres").database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(migrations.TABLE["postgresql"])
            for m in older:
                for statement in m.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO migrations (name, applied_at) VALUES (%s, 'x')",
                             (m.name,))
            for _ in range(2):
                conn.execute(row.replace("?", "%s"), (T0.isoformat(),))
        store = PostgresStore(url)
    with store:
        entries = store.outbox()
        assert [(e.id, e.status, e.to_kind, e.to_name, e.kind, e.attempts)
                for e in entries] == [(1, "pending", "role", "billing", "message", 0),
                                      (2, "pending", "role", "billing", "message", 0)]
        assert len({e.message_id for e in entries}) == 2
        assert all(e.message_id.endswith("@frontdesk.localhost>") for e in entries)
        (new,) = store.enqueue([Message(None, T0, "maria", "s", "b", to_kind="person")])
        assert new == 3
