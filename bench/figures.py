"""frontdesk's performance figures, each measured against its floor in the same run.

Subprocess figures run the installed ``frontdesk`` (next to this interpreter) exactly as staff
and cron do; in-process figures drive ``frontdesk.service.Engine`` and the store directly. Each
function returns one :class:`~bench.common.Result`; ``bench.run`` prints them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import board, fixtures, reports, spiff
from .common import (
    BENCH,
    Result,
    Settings,
    alternate,
    clean_env,
    frontdesk_argv,
    max_rss_mb,
    median,
    run,
    runner,
    timed,
)
from .fixtures import ACTOR, BASE_TEXT, AuditSpec, Built, StoreSpec
from .send import send_figure

PY_CLICK = "import click"
PY_STACK = "import click, jinja2, transitions, sqlite3"
ROLE = "front_desk"
BENCH_PLAYBOOKS = BENCH / "playbooks"


@dataclass
class Context:
    """What the figures share in one run: settings, a scratch folder, built stores."""

    settings: Settings
    scratch: Path
    log: Callable[[str], None]
    built: dict[str, Built] = field(default_factory=dict)
    _sync: str | None = None
    board: dict[str, Result] = field(default_factory=dict)  # the board's figures, measured once

    def store(self, spec: StoreSpec | AuditSpec) -> Built:
        found = self.built.get(spec.key)
        if found is None:
            found = self.built[spec.key] = fixtures.cached_home(
                spec, self.settings.cache, self.settings.rebuild, self.log)
            self.log(f"fixture {found.summary()}")
            check_simulated(found.db)
        return found

    def small(self) -> Built:
        return self.store(StoreSpec(self.settings.small, self.settings.hot))

    def large(self) -> Built:
        return self.store(StoreSpec(self.settings.large, self.settings.hot))

    def copy(self, built: Built, name: str) -> Path:
        return built.copy_to(self.scratch / name)

    @property
    def synchronous(self) -> str:
        """The ``synchronous`` setting the SQLite store uses by default."""
        if self._sync is None:
            self._sync = store_synchronous(self.scratch / "sync-probe.db")
        return self._sync


def check_simulated(db: Path, now: str = BASE_TEXT) -> None:
    """Refuse a store the benchmark's commands could not write to at ``now``: one that is not
    simulated (it refuses ``--now``, exit 2) or whose log ends after ``now`` (exit 5)."""
    from frontdesk.audit import format_at
    from frontdesk.runtime.clock import parse_now

    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        clock = conn.execute("SELECT value FROM store_facts WHERE name = 'clock'").fetchone()
        last = conn.execute("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if clock is None or clock[0] != "simulated":
        raise RuntimeError(f"the bench store {db} is not simulated: it would refuse --now")
    if last is not None and str(last[0]) > format_at(parse_now(now, fixtures.base_time().tzinfo)):
        raise RuntimeError(f"the bench store {db} ends at {last[0]}, after the benchmark's "
                           f"--now {now}: a simulated store refuses to go back")


def env_for(home: Path, now: str = BASE_TEXT) -> dict[str, str]:
    return clean_env(FRONTDESK_HOME=str(home), FRONTDESK_NOW=now, FRONTDESK_USER=ACTOR)


def python(code: str) -> list[str]:
    import sys

    return [sys.executable, "-c", code]


def store_synchronous(db: Path) -> str:
    """Ask a store transaction's connection for its ``synchronous`` level (name)."""
    from frontdesk.store import open_store

    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    store = open_store(f"sqlite:///{db}", clock_override=True)  # simulated, as every bench store
    try:
        with store.transaction() as txn:
            conn = getattr(txn, "_conn", None)
            if isinstance(conn, sqlite3.Connection):
                return names[int(conn.execute("PRAGMA synchronous").fetchone()[0])]
    finally:
        store.close()
    return "FULL"  # the documented default when the store hides its connection


# -- startup -----------------------------------------------------------------------------------
def startup(ctx: Context, name: str, args: list[str]) -> Result:
    """``frontdesk ARGS`` against ``python -c "import click"``: at most 1.3x."""
    env = clean_env()
    runs = [runner(python(PY_CLICK), env), runner([*frontdesk_argv(), *args], env)]
    for warm in runs:  # bytecode written, files in the page cache
        warm()
    floor, figure = alternate(runs, ctx.settings.repeat)
    return Result(name, figure * 1000, floor * 1000, target=1.3,
                  note="floor: python -c 'import click'")


def help_figure(ctx: Context) -> Result:
    return startup(ctx, "help", ["--help"])


def version_figure(ctx: Context) -> Result:
    return startup(ctx, "version", ["--version"])


def _screening_intakes(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT id FROM instances WHERE playbook = 'intake' AND "
                            "state = 'screening' AND status = 'open' ORDER BY id")
        return [str(r[0]) for r in rows]


def _open_task(db: Path, instance: str, task: str) -> str:
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT id FROM tasks WHERE instance = ? AND task = ? AND "
                           "status = 'open'", (instance, task)).fetchone()
    return str(row[0])


def command_figure(ctx: Context, name: str) -> Result:
    """One ``fire`` or ``done`` subprocess on the small store, against importing its stack."""
    home = ctx.copy(ctx.small(), f"{name}-home")
    env = env_for(home)
    db = home / "frontdesk.db"
    targets = iter(_screening_intakes(db)[: 2 * (ctx.settings.repeat + 1)][::-1])
    argv = frontdesk_argv()

    def one() -> None:
        instance = next(targets)
        if name == "fire":
            run([*argv, "fire", instance, "no_answer"], env)
        else:
            task = _open_task(db, instance, "screening_call")
            run([*argv, "done", task, "--set", "payment=self_pay"], env)

    one()  # warm: the first command of a home may fill caches
    run(python(PY_STACK), env)
    floor, figure = alternate([runner(python(PY_STACK), env), one], ctx.settings.repeat)
    # 1.5x: the plain-Python engine (no marshalled template code, no lazy dataclasses) gave up
    # the old 1.3x target for code a maintainer can read; see README "Start-up time".
    return Result(f"{name}-cli", figure * 1000, floor * 1000, target=1.5,
                  note=f"floor: python -c '{PY_STACK}'")


def fire_figure(ctx: Context) -> Result:
    return command_figure(ctx, "fire")


def done_figure(ctx: Context) -> Result:
    return command_figure(ctx, "done")


# -- flat costs --------------------------------------------------------------------------------
def _flat(ctx: Context, name: str, args: list[str], changes: bool = False) -> Result:
    """The same command on the large and the small store: at most 1.5x."""
    small, large = ctx.small(), ctx.large()
    argv = frontdesk_argv()
    homes = {}
    for label, built in (("small", small), ("large", large)):
        homes[label] = ctx.copy(built, f"{name}-{label}")
        run([*argv, *args], env_for(homes[label]))  # warm: page cache, the home's caches
    if changes:  # each timed run needs the store as built, with the home's caches kept warm
        times: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(ctx.settings.repeat):
            for label, built in (("small", small), ("large", large)):
                restore_store(built, homes[label])
                began = time.perf_counter()
                run([*argv, *args], env_for(homes[label]))
                times[label].append(time.perf_counter() - began)
        floor, figure = median(times["small"]), median(times["large"])
    else:
        floor, figure = alternate([runner([*argv, *args], env_for(homes["small"])),
                                   runner([*argv, *args], env_for(homes["large"]))],
                                  ctx.settings.repeat)
    return Result(name, figure * 1000, floor * 1000, target=1.5,
                  note=f"{ctx.settings.large:,} vs {ctx.settings.small:,} instances "
                       f"(floor: the small store)")


def restore_store(built: Built, home: Path) -> None:
    """Put the store as built back into ``home`` (untimed), leaving its caches alone."""
    for suffix in ("-wal", "-shm"):
        (home / f"frontdesk.db{suffix}").unlink(missing_ok=True)
    target = home / "frontdesk.db"
    shutil.copyfile(built.db, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # the timed command must not write back the copy
    finally:
        os.close(fd)


def today_figure(ctx: Context) -> Result:
    return _flat(ctx, "today-flat", ["today", "--role", ROLE])


def tick_figure(ctx: Context) -> Result:
    return _flat(ctx, "tick-flat", ["tick"], changes=True)


def show_figure(ctx: Context) -> Result:
    small = ctx.small()
    with closing(sqlite3.connect(small.db)) as conn:  # the intake with the longest history
        instance = conn.execute(
            "SELECT instance FROM audit_log WHERE playbook = 'intake' GROUP BY instance "
            "ORDER BY count(*) DESC, instance LIMIT 1").fetchone()[0]
    return _flat(ctx, "show-flat", ["show", str(instance)])


# -- audit verify ------------------------------------------------------------------------------
def _exported(db: Path, chunk: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    """The records exactly as ``audit export`` gives them (the store's own export, read-only),
    ``chunk`` at a time."""
    from frontdesk.store import open_store

    store = open_store(f"sqlite:///{db}", read_only=True)
    records = store.audit_records()
    try:
        while batch := list(itertools.islice(records, chunk)):
            yield batch
    finally:
        close = getattr(records, "close", None)  # ends the read before the store closes
        if close is not None:
            close()
        store.close()


def raw_hash_seconds(db: Path) -> tuple[float, int]:
    """Seconds to canonical-JSON + SHA-256 every exported record of ``db`` (the hashing only,
    not the reading), and how many. Each digest must be the record's stored ``hash``: the floor
    hashes what the chain covers (``principal`` included), no more and no less."""
    total, count = 0.0, 0
    dumps, sha256 = json.dumps, hashlib.sha256
    for batch in _exported(db):
        bodies = [{k: v for k, v in r.items() if k != "hash"} for r in batch]
        began = time.perf_counter()
        digests = [sha256(dumps(body, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False).encode("utf-8")).hexdigest()
                   for body in bodies]
        total += time.perf_counter() - began
        wrong = next((r["seq"] for r, d in zip(batch, digests, strict=True) if r["hash"] != d),
                     None)
        if wrong is not None:
            raise RuntimeError(f"the raw floor does not hash record {wrong} as the chain does")
        count += len(bodies)
    return total, count


RAW_NOTE = "floor: json.dumps(sort_keys) + sha256 of each exported record"


def _audit_home(ctx: Context, name: str, records: int | None = None) -> Path:
    return ctx.copy(ctx.store(AuditSpec(records or ctx.settings.records)), name)


def verify_figure(ctx: Context) -> Result:
    """Full ``audit verify`` (chain, guards, sources, replay of every instance) records per
    second against raw JSON + SHA-256 of the same records: at least 0.3."""
    home = _audit_home(ctx, "verify-home")
    env = env_for(home)
    argv = [*frontdesk_argv(), "audit", "verify"]
    run(argv, env)  # warm the page cache and the bytecode
    floors, figures = [], []
    count = 0
    for _ in range(ctx.settings.heavy_repeat):
        seconds, count = raw_hash_seconds(home / "frontdesk.db")
        floors.append(seconds)
        began = time.perf_counter()
        run(argv, env)
        figures.append(time.perf_counter() - began)
    return Result("verify", count / median(figures), count / median(floors), unit="rec/s",
                  target=0.3, higher_is_better=True,
                  note=f"{count:,} records, full proof (subprocess); {RAW_NOTE}")


def verify_chain_figure(ctx: Context) -> Result:
    """The chain check alone (``verification.check_chain`` over the stored rows, in process)
    records per second against raw JSON + SHA-256 of the same records: at least 0.5."""
    from frontdesk.store import open_store
    from frontdesk.verification import check_chain

    home = _audit_home(ctx, "verify-chain-home")
    db = home / "frontdesk.db"

    def chain() -> int:
        store = open_store(f"sqlite:///{db}", read_only=True)
        try:
            with closing(store.audit_rows()) as rows:
                return int(check_chain(rows).count)
        finally:
            store.close()

    count = chain()  # warm the page cache
    floors, figures = [], []
    for _ in range(ctx.settings.heavy_repeat):
        seconds, floor_count = raw_hash_seconds(db)
        floors.append(seconds)
        figures.append(timed(chain))
        if floor_count != count:
            raise RuntimeError(f"the chain checked {count} records, the floor {floor_count}")
    return Result("verify-chain", count / median(figures), count / median(floors),
                  unit="rec/s", target=0.5, higher_is_better=True,
                  note=f"{count:,} records, check_chain in process; {RAW_NOTE}")


def verify_memory_figure(ctx: Context) -> Result:
    """Peak memory of a full ``audit verify`` on the big log against a log 100 times smaller:
    at most 1.25x (constant memory)."""
    small_records = max(ctx.settings.records // 100, 1000)
    big = _audit_home(ctx, "verify-mem-big")
    small = _audit_home(ctx, "verify-mem-small", small_records)
    argv = [*frontdesk_argv(), "audit", "verify"]
    figure = median([max_rss_mb(argv, env_for(big)) for _ in range(ctx.settings.heavy_repeat)])
    floor = median([max_rss_mb(argv, env_for(small)) for _ in range(ctx.settings.heavy_repeat)])
    return Result("verify-mem", figure, floor, unit="MB", target=1.25,
                  note=f"peak RSS of a full verify, {ctx.settings.records:,} vs "
                       f"{small_records:,} records")


# -- in-process engine -------------------------------------------------------------------------
def _engine(home: Path, now: str = BASE_TEXT) -> Any:
    from frontdesk.service import Engine
    from frontdesk.settings import Options

    home.mkdir(parents=True, exist_ok=True)
    practice = home / "practice.yaml"
    if not practice.exists():
        practice.write_text(fixtures.PRACTICE)
    return Engine(Options(home=str(home), now=now, playbooks=(str(BENCH_PLAYBOOKS),),
                          env={"FRONTDESK_HOME": str(home)}))


def _start_many(engine: Any, playbook: str, count: int) -> list[str]:
    """Start ``count`` instances in one transaction (untimed setup)."""
    from frontdesk.runtime import step
    from frontdesk.runtime.instance import Change
    from frontdesk.service import new_instance_id

    compiled = engine.playbooks.current(playbook)
    change = Change()
    ids = []
    for _ in range(count):
        rc = step.RunContext(engine.workspace.clock.now(), engine.workspace.tz,
                             engine.workspace.calendar, engine.workspace.practice, ACTOR,
                             new_instance_id)
        outcome = step.start(compiled, {}, rc)
        change.merge(outcome.change)
        ids.append(outcome.instance.id)
    with engine.store.transaction() as txn:
        txn.apply(change)
    return ids


RAW_RECORD = {
    "seq": 0, "at": "2026-03-02T14:00:00.000000Z", "instance": "b0000001",
    "playbook": "bench-loop", "version": 1, "actor": ACTOR, "action": "transition",
    "event": "go", "from": "a", "to": "b",
    "data": {"note": "x" * 120, "fields": {"n": 1, "when": "2026-03-02"}},
    "principal": ACTOR, "prev": "0" * 64,
}


def raw_transactions(db: Path, synchronous: str) -> Callable[[int], None]:
    """The floor of one event: a transaction of one audit insert (canonical JSON + SHA-256
    of a ~400-byte record) and one instance update, on the store's own tables and settings."""
    from frontdesk.audit import RECORD_KEYS as AUDIT_COLUMNS
    from frontdesk.store import open_store

    store = open_store(f"sqlite:///{db}", clock_override=True)  # simulated, as every bench store
    with store.transaction():
        pass  # creates and migrates the file
    store.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("INSERT INTO sources (digest, text) VALUES ('d', '')")
    conn.execute("INSERT INTO instances (id, playbook, version, digest, state, status, vars, "
                 "revision, task_counter) VALUES ('i', 'p', 1, 'd', 'a', 'open', '{}', 0, 0)")
    names = ", ".join(f'"{c}"' for c in AUDIT_COLUMNS)
    insert = f"INSERT INTO audit_log ({names}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})"
    state: dict[str, Any] = {"seq": 0, "prev": "0" * 64}

    def events(count: int) -> None:
        for _ in range(count):
            state["seq"] += 1
            record = {**RAW_RECORD, "seq": state["seq"], "prev": state["prev"]}
            text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(insert, (*(record[c] if c != "data" else json.dumps(record[c])
                                    for c in AUDIT_COLUMNS[:-1]), digest))
            conn.execute("UPDATE instances SET state = ?, revision = revision + 1 "
                         "WHERE id = 'i'", ("b" if state["seq"] % 2 else "a",))
            conn.execute("COMMIT")
            state["prev"] = digest

    return events


def events_figure(ctx: Context) -> Result:
    """In-process events per second against raw transactions: at least 0.5."""
    sync = ctx.synchronous
    engine = _engine(ctx.scratch / "events-home")
    count = ctx.settings.events
    ids = iter(_start_many(engine, "bench-loop", count))
    per_chunk = max(count // ctx.settings.repeat, 1)

    def engine_chunk() -> None:
        for _ in range(per_chunk):
            engine.fire(next(ids), "go", {}, ACTOR)

    raw = raw_transactions(ctx.scratch / "raw-events.db", sync)
    raw(20)  # warm
    floor, figure = alternate([lambda: raw(per_chunk), engine_chunk], ctx.settings.repeat)
    engine.close()
    return Result("events", per_chunk / figure, per_chunk / floor, unit="ev/s", target=0.5,
                  higher_is_better=True,
                  note=f"one transaction per event, synchronous={sync}; floor: raw audit "
                       "insert + state update + hash")


HISTORY_TASKS = 500  # closed task occurrences each instance of ``events-history`` carries
HISTORY_TIMERS = 200  # spent timers each


def add_history(db: Path, ids: list[str], tasks: int = HISTORY_TASKS,
                timers: int = HISTORY_TIMERS) -> None:
    """Give each bench-loop instance of ``ids`` a long past, written straight into the store
    (untimed setup): ``tasks`` closed occurrences of its two tasks and ``timers`` spent timers
    before its open task, as years of a recurring playbook leave behind."""
    from frontdesk.store.base import TASK_COLUMNS, TIMER_COLUMNS

    day = "2024-01-01"
    at = f"{day}T09:00:00-05:00"

    def task_rows(instance: str) -> Iterator[tuple[Any, ...]]:
        for k in range(tasks):
            name, state = ("ta", "a") if k % 2 == 0 else ("tb", "b")
            row = {"id": f"{instance}-h{k}", "instance": instance, "seq": k,
                   "playbook": "bench-loop", "state": state, "task": name,
                   "title": f"Task {name} ({k})", "role": "staff", "assignee": None,
                   "due": day, "due_date": day, "status": "done" if k % 3 else "cancelled",
                   "created_at": at, "closed_at": at, "closed_by": ACTOR, "recurring": 0,
                   "anchor": None, "idx": 0}
            yield tuple(row[c] for c in TASK_COLUMNS)

    def timer_rows(instance: str) -> Iterator[tuple[Any, ...]]:
        for k in range(timers):
            row = {"id": f"{instance}-timer-{k + 1}", "instance": instance, "seq": k,
                   "state": "a", "event": "go", "due": at, "due_date": day,
                   "status": "fired" if k % 2 else "cancelled", "error": None}
            yield tuple(row[c] for c in TIMER_COLUMNS)

    marks = {table: ", ".join("?" * len(columns))
             for table, columns in (("tasks", TASK_COLUMNS), ("timers", TIMER_COLUMNS))}
    with closing(sqlite3.connect(db)) as conn, conn:
        for instance in ids:  # the open task (seq 0) moves after its past
            conn.execute("UPDATE tasks SET seq = ? WHERE instance = ?", (tasks, instance))
            conn.executemany(f"INSERT INTO tasks VALUES ({marks['tasks']})",
                             task_rows(instance))
            conn.executemany(f"INSERT INTO timers VALUES ({marks['timers']})",
                             timer_rows(instance))


def events_history_figure(ctx: Context) -> Result:
    """In-process events per second at instances that carry a long history (500 closed task
    occurrences and 200 spent timers each) against the same events at fresh instances of the
    same store, in alternation: at least 0.9 (an event costs what it changes)."""
    home = ctx.scratch / "events-history-home"
    engine = _engine(home)
    count = ctx.settings.events
    fresh = _start_many(engine, "bench-loop", count + 1)
    old = _start_many(engine, "bench-loop", count + 1)
    engine.close()
    add_history(home / "frontdesk.db", old)
    engine = _engine(home)
    per_chunk = max(count // ctx.settings.repeat, 1)
    queues = iter(fresh), iter(old)
    for queue in queues:  # warm: playbook, statements, the pages of both kinds
        engine.fire(next(queue), "go", {}, ACTOR)

    def chunk(queue: Iterator[str]) -> Callable[[], None]:
        def go() -> None:
            for _ in range(per_chunk):
                engine.fire(next(queue), "go", {}, ACTOR)
        return go

    floor, figure = alternate([chunk(queues[0]), chunk(queues[1])], ctx.settings.repeat)
    engine.close()
    return Result("events-history", per_chunk / figure, per_chunk / floor, unit="ev/s",
                  target=0.9, higher_is_better=True,
                  note=f"{HISTORY_TASKS} closed tasks and {HISTORY_TIMERS} spent timers each; "
                       "floor: the same events at fresh instances of the same store")


# Both engines commit four times per instance, so at synchronous=FULL the fsyncs they share
# bound the ratio; what is left to compare is the work between the commits.
SPIFF_TARGET = 2.0


def spiff_figure(ctx: Context) -> Result:
    """frontdesk instances per second (start, 3 tasks done, end; each step committed) against
    SpiffWorkflow doing the same with the same persistence: at least 2x."""
    missing = spiff.available()
    if missing is not None:
        return Result("spiff", target=SPIFF_TARGET, higher_is_better=True, skipped=missing)
    sync = ctx.synchronous
    engine = _engine(ctx.scratch / "spiff-home")
    engine.start("bench-three-tasks", {}, ACTOR)  # warm: compile the playbook

    def frontdesk_one() -> None:
        instance = engine.start("bench-three-tasks", {}, ACTOR)
        for _ in range(3):
            task = next(t for t in instance.tasks if t.is_open)
            instance = engine.done(task.id, {}, ACTOR)
        if instance.status != "closed":
            raise RuntimeError("the frontdesk instance did not close")

    spiff_one, spiff_close = spiff.runner(ctx.scratch / "spiff.db", sync)
    spiff_one()
    per_chunk = max(ctx.settings.spiff_instances // ctx.settings.repeat, 1)

    def chunk(one: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            for _ in range(per_chunk):
                one()
        return go

    floor, figure = alternate([chunk(spiff_one), chunk(frontdesk_one)], ctx.settings.repeat)
    spiff_close()
    engine.close()
    return Result("spiff", per_chunk / figure, per_chunk / floor, unit="inst/s",
                  target=SPIFF_TARGET, higher_is_better=True,
                  note=f"start + 3 tasks + end, 4 commits each, synchronous={sync}; "
                       "floor: SpiffWorkflow")


# -- batches -----------------------------------------------------------------------------------
def _due_store(ctx: Context, playbook: str, label: str) -> Built:
    n = ctx.settings.due_items
    return ctx.store(StoreSpec(n, hot=n, mix=(playbook,), history=False, label=label))


def _one_per_transaction(ctx: Context, built: Built, name: str,
                         event: Callable[[Any, str], None],
                         ids: list[str]) -> tuple[Callable[[], float], Callable[[], None]]:
    """``(chunk, close)``: ``chunk()`` fires the next events of ``ids``, each in its own
    transaction, and returns their rate (events per second)."""
    home = ctx.copy(built, name)
    engine = _engine(home)
    event(engine, ids[0])  # warm: playbook, practice and code caches
    size = max(min(100, (len(ids) - 1) // ctx.settings.heavy_repeat), 1)
    rest = iter(ids[1:])

    def chunk() -> float:
        sample = [next(rest) for _ in range(size)]
        began = time.perf_counter()
        for instance_id in sample:
            event(engine, instance_id)
        return len(sample) / (time.perf_counter() - began)

    return chunk, engine.close


def _batch(ctx: Context, built: Built, name: str, args: list[str], items: int,
           floor: tuple[Callable[[], float], Callable[[], None]], note: str) -> Result:
    """The batch command's items per second against the one-per-transaction rate, measured
    in alternation (a floor chunk after each timed run)."""
    argv = frontdesk_argv()
    chunk, close = floor
    home = ctx.copy(built, name)
    run([*argv, *args], env_for(home))  # warm: the home's caches, as on every later day
    times, floors = [], []
    for _ in range(ctx.settings.heavy_repeat):
        restore_store(built, home)
        began = time.perf_counter()
        run([*argv, *args], env_for(home))
        times.append(time.perf_counter() - began)
        floors.append(chunk())
    close()
    return Result(name, items / median(times), median(floors), unit="ev/s", target=5.0,
                  higher_is_better=True, note=note)


def fire_all_figure(ctx: Context) -> Result:
    built = _due_store(ctx, "intake", "intake-due")
    ids = _screening_intakes(built.db)

    def fire(engine: Any, instance_id: str) -> None:
        engine.fire(instance_id, "no_answer", {}, ACTOR)

    floor = _one_per_transaction(ctx, built, "fire-all-floor", fire, ids)
    return _batch(ctx, built, "fire-all", ["fire", "--all", "intake", "no_answer"], len(ids),
                  floor, f"{len(ids):,} instances; floor: Engine.fire, one transaction each")


def tick_batch_figure(ctx: Context) -> Result:
    from frontdesk.runtime import step

    built = _due_store(ctx, "hipaa-annual-refresh", "hipaa-due")
    with closing(sqlite3.connect(built.db)) as conn:
        ids = [str(r[0]) for r in conn.execute(
            "SELECT DISTINCT instance FROM timers WHERE status = 'armed' AND due_date <= ? "
            "ORDER BY instance", (BASE_TEXT[:10],))]

    def tick_one(engine: Any, instance_id: str) -> None:
        rc = engine.run_context(step.SYSTEM)
        with engine.store.transaction() as txn:
            # what ``tick`` loads (a frontdesk from before working sets loads it whole, so
            # that the benchmark of this tree can measure an older one: PYTHONPATH)
            load = getattr(txn, "load_working_set", txn.load_instance)
            instance = load(instance_id)
            compiled = engine.playbooks.of_instance(instance, txn.get_source)
            txn.apply(step.fire_timers(compiled, instance, rc).change)

    floor = _one_per_transaction(ctx, built, "tick-batch-floor", tick_one, ids)
    return _batch(ctx, built, "tick-batch", ["tick"], len(ids), floor,
                  f"{len(ids):,} due timers; floor: one transaction per instance")


# -- the web board -----------------------------------------------------------------------------
def _board_figure(name: str) -> Callable[[Context], Result]:
    """One of ``board.figures``, all four measured together on first use."""
    def figure(ctx: Context) -> Result:
        if not ctx.board:
            small, large = ctx.small(), ctx.large()
            homes = (ctx.copy(small, "board-small"), ctx.copy(large, "board-large"))
            sizes = f"{ctx.settings.large:,} vs {ctx.settings.small:,} instances"
            results = board.figures(small, large, homes, max(5, ctx.settings.repeat * 5),
                                    sizes)
            ctx.board.update({result.name: result for result in results})
        return ctx.board[name]

    return figure


FIGURES: dict[str, Callable[[Context], Result]] = {
    "help": help_figure,
    "version": version_figure,
    "fire-cli": fire_figure,
    "done-cli": done_figure,
    "events": events_figure,
    "events-history": events_history_figure,
    "spiff": spiff_figure,
    "today-flat": today_figure,
    "tick-flat": tick_figure,
    "show-flat": show_figure,
    "verify": verify_figure,
    "verify-chain": verify_chain_figure,
    "verify-mem": verify_memory_figure,
    "fire-all": fire_all_figure,
    "tick-batch": tick_batch_figure,
    "report-denials": lambda ctx: reports.report_figure(ctx, "denials", _engine),
    "report-workload": lambda ctx: reports.report_figure(ctx, "workload", _engine),
    "report-mem": lambda ctx: reports.report_memory_figure(ctx, frontdesk_argv(), env_for),
    **{name: _board_figure(name)
       for name in ("board-day-flat", "board-inst-flat", "board-day", "board-inst")},
    "send": send_figure,
}


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="frontdesk-bench-run-"))
