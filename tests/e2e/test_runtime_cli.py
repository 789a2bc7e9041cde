"""End-to-end tests of the runtime through the ``frontdesk`` CLI (in this process through the
console script's handler, on a temporary home and each store: a SQLite file and a PostgreSQL
database): JSON shapes, exit codes, audit log, ``today`` feeds."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from frontdesk_testing import database_name

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

INSTANCE_KEYS = ["id", "playbook", "version", "subject", "state", "status", "outcome", "vars",
                 "tasks", "started_at", "updated_at", "problems"]
TASK_KEYS = ["id", "instance", "playbook", "state", "task", "title", "role", "assignee", "due",
             "status", "overdue"]
RECORD_KEYS = ["seq", "at", "instance", "playbook", "version", "actor", "action", "event",
               "from", "to", "data", "principal", "prev", "hash"]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}")
GENESIS = "0" * 64
PEOPLE_PRACTICE = """\
practice: Test Practice
timezone: America/New_York
people:
  maria: {name: Maria, roles: [front_desk]}
  drlee: {name: Dr. Lee, roles: [clinician]}
"""


# -- helpers -----------------------------------------------------------------------------------
def spec_hash(record: dict[str, Any]) -> str:
    """The audit hash of docs/reference.md (JSON shapes), written independently of the engine:
    sha256 of the record without
    ``hash`` as sorted, compact, non-ASCII-escaped UTF-8 JSON."""
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def export(fd: Frontdesk, *options: str) -> list[dict[str, Any]]:
    """``audit export`` (JSON Lines) parsed, checking every line has the keys of
    docs/reference.md (JSON shapes) in order."""
    records = []
    for line in fd.ok("audit", "export", *options).splitlines():
        keys = [key for key, _ in json.loads(line, object_pairs_hook=lambda pairs: pairs)]
        assert keys == RECORD_KEYS
        records.append(json.loads(line))
    return records


def check_due(due: str | None) -> None:
    assert due is None or DATE.fullmatch(due) or DATETIME_WITH_OFFSET.fullmatch(due), due


def check_task(task: dict[str, Any]) -> None:
    assert sorted(task) == sorted(TASK_KEYS) and len(task) == len(TASK_KEYS)
    assert task["status"] in ("open", "done", "cancelled")
    assert isinstance(task["overdue"], bool)
    check_due(task["due"])


def check_instance(data: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    """Exactly the Instance keys of docs/reference.md (JSON shapes) (plus ``extra``), Task
    shapes, datetimes with offset."""
    assert sorted(data) == sorted([*INSTANCE_KEYS, *extra])
    assert data["status"] in ("open", "closed")
    for moment in (data["started_at"], data["updated_at"]):
        assert DATETIME_WITH_OFFSET.fullmatch(moment), moment
    for task in data["tasks"]:
        check_task(task)


def task_id(instance: dict[str, Any], task: str) -> str:
    [found] = [t["id"] for t in instance["tasks"] if t["task"] == task]
    return str(found)


def backup(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (WAL included)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def audit_head(fd: Frontdesk) -> tuple[int, str] | None:
    rows = fd.query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    return None if not rows else (int(rows[0][0]), str(rows[0][1]))


def assert_clean_error(stderr: str, stdout: str = "") -> None:
    assert stderr.startswith("frontdesk: error:"), stderr
    assert "Traceback" not in stderr + stdout


# -- a full run: start -> tick -> fire -> done -> tick -> show ------------------------------------
@dataclass
class Flow:
    fd: Frontdesk
    started: dict[str, Any]
    scheduled: dict[str, Any]
    after_done: dict[str, Any]
    shown: dict[str, Any]
    records: list[dict[str, Any]]
    main: str
    other: str


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory,
         make_frontdesk: Callable[..., Frontdesk]) -> Flow:
    """One instance driven through the intake playbook over a week of simulated time."""
    fd = make_frontdesk(tmp_path_factory.mktemp("flow"))
    started = fd.json("start", "rt-intake", "--set", "client=Zoë Ann",
                      "--set", "referred_on=2026-01-02")
    main = started["id"]
    other = fd.ok("start", "rt-intake", "--set", "client=Bob").strip()
    fd.ok("tick", now="2026-01-08T09:00")  # the `remind` timer (internal: sends a message)
    scheduled = fd.json("fire", main, "schedule", "--set", "visit_on=2026-01-12",
                        "--note", "booked by phone", now="2026-01-08T10:00")
    after_done = fd.json("done", task_id(scheduled, "check_insurance"),
                         now="2026-01-09T10:00")
    fd.ok("tick", now="2026-01-12T08:00")  # the `visit_day` timer: no_show
    shown = fd.json("show", main, now="2026-01-12T08:00")
    return Flow(fd, started, scheduled, after_done, shown, export(fd), main, other)


def test_flow_moves_through_states(flow: Flow) -> None:
    """start, tick, fire, done and tick move the instance as the playbook says."""
    started, scheduled, after_done, shown = (flow.started, flow.scheduled, flow.after_done,
                                             flow.shown)
    assert (started["state"], started["status"], started["version"]) == ("new", "open", 1)
    assert started["subject"] == "Intake Zoë Ann"
    assert started["vars"] == {"client": "Zoë Ann", "visits": 1, "referred_on": "2026-01-02"}
    assert [(t["task"], t["due"], t["role"]) for t in started["tasks"]] == [
        ("call_client", "2026-01-07", "front_desk"),
        ("confirm", "2026-01-05T13:00:00-05:00", "clinician")]
    assert scheduled["state"] == "scheduled"
    assert scheduled["vars"]["visit_on"] == "2026-01-12"
    assert {t["task"]: (t["status"], t["due"]) for t in scheduled["tasks"]} == {
        "call_client": ("cancelled", "2026-01-07"),
        "confirm": ("cancelled", "2026-01-05T13:00:00-05:00"),
        # 1 day before Monday 01-12 is a Sunday: a before-due moves back to Friday
        "prepare_file": ("open", "2026-01-09"), "check_insurance": ("open", "2026-01-09")}
    assert {t["task"]: t["status"] for t in after_done["tasks"]}["check_insurance"] == "done"
    assert after_done["state"] == "scheduled"
    assert (shown["state"], shown["status"], shown["outcome"]) == ("no_show", "closed", "no_show")
    assert {t["task"]: t["status"] for t in shown["tasks"]} == {
        "call_client": "cancelled", "confirm": "cancelled", "prepare_file": "cancelled",
        "check_insurance": "done"}
    assert [(t["event"], t["due"], t["status"]) for t in shown["timers"]] == [
        ("remind", "2026-01-08", "fired"), ("visit_day", "2026-01-12", "fired")]


def test_show_json_has_exactly_the_spec_shapes(flow: Flow) -> None:
    """``show --json``: the Instance keys plus timers and history; Task keys; date formats."""
    shown = flow.shown
    check_instance(shown, extra=("timers", "history"))
    check_instance(flow.started)
    check_instance(flow.scheduled)
    assert shown["started_at"] == "2026-01-05T09:00:00-05:00"
    assert shown["updated_at"] == "2026-01-12T08:00:00-05:00"
    for timer in shown["timers"]:
        assert sorted(timer) == ["due", "event", "status"]
        check_due(timer["due"])
    for task in shown["tasks"]:
        assert (task["instance"], task["playbook"]) == (flow.main, "rt-intake")
    assert len({t["id"] for t in shown["tasks"]}) == len(shown["tasks"])
    history = shown["history"]
    assert history and all(list(r) == RECORD_KEYS for r in history)
    assert {r["instance"] for r in history} == {flow.main}
    assert [r["seq"] for r in history] == sorted(r["seq"] for r in history)
    actions = [r["action"] for r in history]
    assert actions[0] == "start" and "timer_fired" in actions and "task_done" in actions
    timer = next(r for r in history if r["action"] == "transition" and r["event"] == "visit_day")
    assert (timer["actor"], timer["from"], timer["to"]) == ("system", "scheduled", "no_show")
    fire = next(r for r in history if r["event"] == "schedule")
    assert (fire["actor"], fire["from"], fire["to"]) == ("maria", "new", "scheduled")
    assert fire["data"]["note"] == "booked by phone"


def test_outbox_holds_the_timer_message(flow: Flow) -> None:
    """The ``remind`` timer's message action landed in the outbox."""
    messages = flow.fd.json("outbox")
    assert [(m["to"], m["subject"]) for m in messages] == [
        ("front_desk", "Call Zoë Ann"), ("front_desk", "Call Bob")]


def test_tick_twice_at_the_same_clock_changes_nothing(flow: Flow) -> None:
    """A second ``tick`` at the same clock fires nothing and writes nothing."""
    fd = flow.fd
    before, head = fd.dump(), audit_head(fd)
    again = fd.json("tick", now="2026-01-12T08:00")
    assert again["fired"] == []
    assert audit_head(fd) == head
    assert fd.dump() == before


def test_audit_export_is_a_valid_spec_hash_chain(flow: Flow) -> None:
    """``audit export``: 13 keys in the documented order, seq order, hashes recomputed here, prev
    links."""
    records = flow.records
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    prev = GENESIS
    for record in records:
        assert record["prev"] == prev
        assert record["hash"] == spec_hash(record)
        assert record["action"] in ("start", "transition", "task_created", "task_done",
                                    "task_cancelled", "timer_armed", "timer_fired",
                                    "timer_cancelled", "set")
        assert isinstance(record["data"], dict)
        moment = dt.datetime.fromisoformat(record["at"].replace("Z", "+00:00"))
        assert moment.utcoffset() == dt.timedelta(0)
        prev = record["hash"]
    assert {r["instance"] for r in records} == {flow.main, flow.other}
    assert any("Zoë" in json.dumps(r, ensure_ascii=False) for r in records)


def test_audit_export_filters_by_instance_and_since(flow: Flow) -> None:
    """``--instance ID`` and ``--since DATE`` keep exactly the matching records."""
    everything = flow.records
    only_other = export(flow.fd, "--instance", flow.other)
    assert only_other == [r for r in everything if r["instance"] == flow.other]
    assert only_other and len(only_other) < len(everything)
    since = export(flow.fd, "--since", "2026-01-09")
    assert since == [r for r in everything if r["at"][:10] >= "2026-01-09"]
    assert since and len(since) < len(everything)


def tampered_copy(fd: Frontdesk, tmp_path: Path, request: pytest.FixtureRequest,
                  *statements: str) -> str:
    """A copy of ``fd``'s store without its append-only triggers, ``statements`` run on it
    (written with ``?``-free SQL); its URL."""
    if fd.db_url:
        server = request.getfixturevalue("postgres")
        url: str = server.database(template=database_name(fd.db_url))
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER audit_log_no_update_or_delete ON audit_log")
            for statement in statements:
                conn.execute(statement)
        return url
    copy = tmp_path / "tampered.db"
    backup(fd.db, copy)
    with closing(sqlite3.connect(copy)) as conn:
        triggers = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")]
        assert triggers
        for name in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    return f"sqlite:///{copy}"


def test_audit_verify_passes_then_fails_on_a_tampered_copy(flow: Flow, tmp_path: Path,
                                                           request: pytest.FixtureRequest,
                                                           ) -> None:
    """``audit verify`` exits 0; on a tampered copy it exits 7 naming the first bad seq."""
    fd = flow.fd
    assert "ok" in fd.ok("audit", "verify")
    original = fd.dump()
    copy = tampered_copy(fd, tmp_path, request,
                         """UPDATE audit_log SET data = '{"tampered":true}' WHERE seq = 3""")
    result = fd.run("audit", "verify", extra=("--db", copy))
    assert result.returncode == 7, result.stderr
    assert_clean_error(result.stderr, result.stdout)
    assert re.search(r"\b(seq|record) 3\b", result.stderr), result.stderr
    assert fd.dump() == original


def test_audit_log_update_and_delete_are_refused_by_the_store(flow: Flow,
                                                              tmp_path: Path) -> None:
    """The store's triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on audit_log."""
    fd = flow.fd
    tries = ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
             "DELETE FROM audit_log WHERE seq = 1"]
    if fd.db_url:
        import psycopg

        with psycopg.connect(fd.db_url, autocommit=True) as conn:
            for statement in [*tries, "TRUNCATE audit_log"]:
                with pytest.raises(psycopg.Error, match="append-only"):
                    conn.execute(statement)
    else:
        copy = tmp_path / "copy.db"
        backup(fd.db, copy)
        with closing(sqlite3.connect(copy)) as conn:
            for statement in tries:
                with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                    conn.execute(statement)
            conn.rollback()
    assert fd.query("SELECT actor FROM audit_log WHERE seq = 1") == [("maria",)]
    assert "ok" in fd.ok("audit", "verify")


# -- refusals: exit code, clean stderr, store unchanged ------------------------------------------
@dataclass
class World:
    fd: Frontdesk
    open_a: str  # state new, visits 1
    open_b: str  # state new, visits 7 (cancel's guard is false)
    closed: str
    call_a: str  # open task of open_a with a required boolean field
    call_closed: str  # cancelled task of the closed instance
    bad_home: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          make_frontdesk: Callable[..., Frontdesk]) -> World:
    """A practice with people, two open instances, a closed one, a broken playbook on the
    search path and a second home whose practice.yaml is invalid."""
    root = tmp_path_factory.mktemp("world")
    fd = make_frontdesk(root, practice=PEOPLE_PRACTICE)
    a = fd.json("start", "rt-intake", "--set", "client=Ann")
    b = fd.ok("start", "rt-intake", "--set", "client=Bo", "--set", "visits=7").strip()
    c = fd.json("start", "rt-intake", "--set", "client=Cy")
    assert fd.json("fire", c["id"], "cancel")["status"] == "closed"
    (fd.playbooks / "broken.yaml").write_text(
        "playbook: rt-broken\nversion: 1\ntitle: Broken\nroles: [clerk]\ninitial: a\n"
        "states:\n  a:\n    on:\n      go: {to: nowhere}\n", "utf-8")
    bad_home = root / "bad-home"
    bad_home.mkdir()
    (bad_home / "practice.yaml").write_text("timezone: 5\npeople: [maria]\nbogus: 1\n", "utf-8")
    return World(fd, a["id"], b, c["id"], task_id(a, "call_client"),
                 task_id(c, "call_client"), bad_home)


Case = Callable[[World], tuple[str, ...]]
REFUSALS: list[Any] = [
    # 2: usage
    pytest.param(2, lambda w: ("fire", w.open_a, "schedule", "--set", "visit_on"), "--set",
                 id="2-set-without-equals"),
    pytest.param(2, lambda w: ("--now", "not-a-date", "fire", w.open_a, "remind"), "--now",
                 id="2-bad-now"),
    # 3: invalid playbook or practice config
    pytest.param(3, lambda w: ("start", "rt-broken"), "nowhere", id="3-invalid-playbook"),
    pytest.param(3, lambda w: ("--home", str(w.bad_home), "--db", w.fd.store_url,
                               "start", "rt-intake", "--set", "client=X"), "practice.yaml",
                 id="3-invalid-practice"),
    # 4: not found
    pytest.param(4, lambda w: ("fire", "no-such-instance", "remind"), "no-such-instance",
                 id="4-unknown-instance"),
    pytest.param(4, lambda w: ("done", "no-such-task"), "no-such-task", id="4-unknown-task"),
    pytest.param(4, lambda w: ("start", "rt-no-such"), "rt-no-such", id="4-unknown-playbook"),
    pytest.param(4, lambda w: ("fire", "--all", "rt-no-such", "remind"), "rt-no-such",
                 id="4-fire-all-unknown-playbook"),
    # 5: refused
    pytest.param(5, lambda w: ("fire", w.open_a, "seen"), "seen", id="5-event-not-allowed"),
    pytest.param(5, lambda w: ("fire", w.open_b, "cancel"), "cancel", id="5-guard-false"),
    pytest.param(5, lambda w: ("fire", w.open_a, "schedule", "--set", "visit_on=2026-01-12",
                               "--as", "drlee"), "front_desk", id="5-role-refused"),
    pytest.param(5, lambda w: ("fire", w.closed, "remind"), "closed", id="5-closed-instance"),
    pytest.param(5, lambda w: ("fire", w.open_a, "schedule"), "visit_on",
                 id="5-missing-field"),
    pytest.param(5, lambda w: ("fire", w.open_a, "schedule", "--set", "visit_on=someday"),
                 "visit_on", id="5-bad-field"),
    pytest.param(5, lambda w: ("fire", w.open_a, "remind", "--as", "stranger"), "stranger",
                 id="5-unknown-actor-fire"),
    pytest.param(5, lambda w: ("start", "rt-intake", "--set", "client=X", "--as", "stranger"),
                 "stranger", id="5-unknown-actor-start"),
    pytest.param(5, lambda w: ("done", w.call_a, "--set", "reached=true", "--as", "stranger"),
                 "stranger", id="5-unknown-actor-done"),
    pytest.param(5, lambda w: ("start", "rt-intake"), "client", id="5-start-missing-input"),
    pytest.param(5, lambda w: ("start", "rt-intake", "--set", "client=X", "--set", "visits=0"),
                 "visits", id="5-start-bad-input"),
    pytest.param(5, lambda w: ("done", w.call_a), "reached", id="5-done-missing-field"),
    pytest.param(5, lambda w: ("done", w.call_a, "--set", "reached=perhaps"), "reached",
                 id="5-done-bad-field"),
    pytest.param(5, lambda w: ("done", w.call_closed, "--set", "reached=true"), "cancelled",
                 id="5-done-cancelled-task"),
    pytest.param(5, lambda w: ("fire", w.open_a, "label"), "referred_on",
                 id="5-runtime-undefined-name"),
]


@pytest.mark.parametrize(("code", "case", "names"), REFUSALS)
def test_refused_commands_exit_cleanly_and_change_nothing(world: World, code: int,
                                                          case: Case, names: str) -> None:
    """A refusal: its exit code, a clean ``frontdesk: error:`` message, the store unchanged."""
    fd = world.fd
    before = fd.dump()
    result = fd.run(*case(world))
    assert result.returncode == code, (result.returncode, result.stderr)
    assert_clean_error(result.stderr, result.stdout)
    assert names in result.stderr
    assert fd.dump() == before


@pytest.fixture(scope="module")
def bad_option(world: World) -> tuple[subprocess.CompletedProcess[str], bool]:
    """``start`` with an unknown option, and whether the store stayed unchanged."""
    before = world.fd.dump()
    result = world.fd.run("start", "rt-intake", "--bogus")
    return result, world.fd.dump() == before


def test_bad_option_is_a_usage_error(
        bad_option: tuple[subprocess.CompletedProcess[str], bool]) -> None:
    """An unknown option exits 2 without a traceback and changes nothing."""
    result, unchanged = bad_option
    assert result.returncode == 2 and unchanged
    assert "Traceback" not in result.stderr and "--bogus" in result.stderr


def test_bad_option_error_has_the_frontdesk_prefix(
        bad_option: tuple[subprocess.CompletedProcess[str], bool]) -> None:
    """An unknown option is reported as ``frontdesk: error: ...`` like every other error."""
    assert_clean_error(bad_option[0].stderr)


# -- today: JSON, CSV and ICS -------------------------------------------------------------------
def test_today_formats(world: World) -> None:
    """``today --format json|csv|ics`` list the same open tasks, sorted, in the shapes of
    docs/reference.md (JSON shapes)."""
    fd = world.fd
    tasks = json.loads(fd.ok("today", "--everyone", "--days", "30", "--format", "json"))
    assert len(tasks) == 4  # call_client and confirm of both open instances
    for task in tasks:
        check_task(task)
        assert task["status"] == "open"
    assert {t["instance"] for t in tasks} == {world.open_a, world.open_b}
    assert tasks == sorted(tasks, key=lambda t: (t["due"], t["instance"], t["task"]))
    due_today = json.loads(fd.ok("today", "--everyone", "--format", "json"))
    assert sorted(t["task"] for t in due_today) == ["confirm", "confirm"]
    mine = json.loads(fd.ok("today", "--days", "30", "--format", "json"))  # maria: front_desk
    assert {t["role"] for t in mine} == {"front_desk"} and len(mine) == 2

    rows = list(csv.reader(io.StringIO(fd.ok("today", "--everyone", "--days", "30",
                                             "--format", "csv"))))
    assert rows[0] == TASK_KEYS
    assert [row[0] for row in rows[1:]] == [t["id"] for t in tasks]

    from icalendar import Calendar

    calendar = Calendar.from_ical(fd.ok("today", "--everyone", "--days", "30", "--format", "ics"))
    todos = list(calendar.walk("VTODO"))  # the open tasks, then the recently finished ones
    finished = todos[len(tasks):]
    assert finished and {str(t["STATUS"]) for t in finished} <= {"COMPLETED", "CANCELLED"}
    for todo, task in zip(todos[:len(tasks)], tasks, strict=True):
        assert task["id"] in str(todo["UID"])
        # phi: none (the default): the task's kind and id, never its title
        assert str(todo["SUMMARY"]) == f"{task['playbook']}: {task['task']} (task {task['id']})"
        due = todo["DUE"].dt
        if "T" in task["due"]:
            assert due == dt.datetime.fromisoformat(task["due"])
        else:
            assert not isinstance(due, dt.datetime) and due.isoformat() == task["due"]


# -- fire --all ----------------------------------------------------------------------------------
def test_fire_all_reports_fired_and_not_allowed(frontdesk: Frontdesk) -> None:
    """``fire --all`` tries every open instance: ``fired N, not allowed M`` / JSON lists."""
    fd = frontdesk
    low = fd.ok("start", "rt-intake", "--set", "client=A").strip()
    high = fd.ok("start", "rt-intake", "--set", "client=B", "--set", "visits=9").strip()
    moved = fd.ok("start", "rt-intake", "--set", "client=C").strip()
    fd.ok("fire", moved, "schedule", "--set", "visit_on=2026-01-20")
    result = fd.json("fire", "--all", "rt-intake", "cancel")
    assert sorted(result) == ["fired", "not_allowed"]
    assert result["fired"] == [low]
    assert sorted(result["not_allowed"]) == sorted([high, moved])
    # the closed one is no longer tried; `remind` is allowed in `new` only
    assert fd.ok("fire", "--all", "rt-intake", "remind").strip() == "fired 1, not allowed 1"
    states = {i: (state, status) for i, state, status in fd.query(
        "SELECT id, state, status FROM instances")}
    assert states == {low: ("cancelled", "closed"), high: ("new", "open"),
                      moved: ("scheduled", "open")}


# -- versions --------------------------------------------------------------------------------------
def test_running_instance_keeps_its_playbook_version(frontdesk: Frontdesk) -> None:
    """Editing a playbook file never changes a running instance; new starts get the edit."""
    fd = frontdesk
    old = fd.ok("start", "rt-versioned").strip()
    path = fd.playbooks / "versioned.yaml"
    text = path.read_text("utf-8")
    edited = text.replace("version: 1", "version: 2").replace("filed_v1", "filed_v2")
    assert edited != text
    path.write_text(edited, "utf-8")
    after = fd.json("fire", old, "submit")
    assert (after["version"], after["state"], after["outcome"]) == (1, "filed_v1", "filed_v1")
    new = fd.ok("start", "rt-versioned").strip()
    after_new = fd.json("fire", new, "submit")
    assert (after_new["version"], after_new["outcome"]) == (2, "filed_v2")
    versions = set(fd.query("SELECT instance, version FROM audit_log"))
    [stored] = fd.query("SELECT count(*) FROM sources")
    assert versions == {(old, 1), (new, 2)}
    assert stored == (2,)  # both sources kept, by content hash


# -- tick and run-time refusals of timer events --------------------------------------------------
def test_tick_survives_a_timer_whose_start_action_is_refused(frontdesk: Frontdesk) -> None:
    """A timer event refused at run time is spent; ``tick`` goes on with others and exits 0."""
    fd = frontdesk
    bad = fd.ok("start", "rt-spawner", "--set", "n=abc").strip()
    good = fd.ok("start", "rt-spawner", "--set", "n=7").strip()
    result = fd.run("tick", now="2026-01-07T09:00")
    assert result.returncode == 0, result.stderr
    states = dict(fd.query("SELECT id, state FROM instances WHERE playbook = ?",
                           ("rt-spawner",)))
    children = fd.query("SELECT parent, vars FROM instances WHERE playbook = ?", ("rt-child",))
    [armed] = fd.query("SELECT count(*) FROM timers WHERE status = 'armed'")
    assert states == {bad: "wait", good: "spawned"}
    assert [parent for parent, _ in children] == [good]
    assert armed == (0,)
