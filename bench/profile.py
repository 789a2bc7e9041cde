"""``python -m bench.profile``: where the time of one event and of one batched item goes.

Four workloads, each run in process on a fresh copy of its store:

- ``event``: ``Engine.fire`` of the ``events`` figure (bench-loop: a guard, a transition, a task
  cancelled and one created, a variable set; one transaction each);
- ``spiff``: one instance of the SpiffWorkflow comparison (start, three tasks done; 4 commits);
- ``fire-all`` and ``tick``: ``Engine.fire_all`` / ``Engine.tick`` over the due stores of the
  batch figures (``--due`` items, 200 per transaction).

For each: the wall time per item, the SQL statements' own time per item by kind (timed at the
connection, without a profiler), and the Python time split by subsystem from a cProfile run
(exclusive time per function, grouped; the profiler's own cost per call inflates call-heavy
code, so the split is a proportion, scaled to the measured Python time). With
``--instructions``, each workload instead runs twice under valgrind's callgrind and the
instructions per item are printed: a figure that a busy machine or a slow disk does not move.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import figures
from .common import Settings
from .fixtures import ACTOR

# Subsystems by (file part, function names) in the order they are tried; the first match wins.
_STEP_EXPRESSIONS = {"render", "value", "context", "_guarded", "builtins", "redact", "<lambda>",
                     "holds", "_texts"}
_GROUPS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("sqlite (statements, commit)", lambda f, n: "sqlite3.Connection" in n),
    ("guards and templates (jinja2 sandbox, limits)",
     lambda f, n: "jinja2" in f or f.endswith(("engine/sandbox.py", "engine/limits.py"))
     or (f.endswith("runtime/step.py") and n in _STEP_EXPRESSIONS)),
    ("state machine (transitions, compiled)",
     lambda f, n: "/transitions/" in f or f.endswith("runtime/compiled.py")),
    ("audit records and hashing", lambda f, n: f.endswith("engine/audit.py") or "json" in f
     or "sha256" in n or "hexdigest" in n),
    ("store: rows and statements (Python side)", lambda f, n: "/engine/store/" in f),
    ("step: tasks, timers, variables, dates",
     lambda f, n: "/engine/runtime/" in f or "dataclasses" in f or "datetime" in n
     or "isoformat" in n),
    ("service, registry, workspace", lambda f, n: "/engine/" in f),
]


def _group(path: str, name: str) -> str:
    return next((label for label, match in _GROUPS if match(path, name)), "other (builtins)")


class _TimedConnection:
    """A SQLite connection whose statements are timed by their first two words."""

    def __init__(self, conn: sqlite3.Connection, times: Counter[str]) -> None:
        self._conn, self._times = conn, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _timed(self, call: Callable[..., Any], sql: str, *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return call(sql, *args)
        finally:
            self._times[" ".join(sql.split()[:2])] += time.perf_counter() - began

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(self._conn.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed(self._conn.executemany, sql, *args)


def _report(name: str, items: int, wall: float, sql: Counter[str], stats: pstats.Stats) -> None:
    python = wall - sum(sql.values())
    per = 1e6 / items
    print(f"\n{name}: {wall * per:,.0f} us per item over {items:,} items "
          f"(SQL {sum(sql.values()) * per:,.0f} us, Python {python * per:,.0f} us)")
    for kind, seconds in sql.most_common(8):
        print(f"  sql  {kind[:40]:42s} {seconds * per:7.0f} us")
    groups: Counter[str] = Counter()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (path, _line, func), (_cc, _nc, exclusive, _cum, callers) in raw.items():
        label = _group(path, func)
        if label == _GROUPS[0][0]:
            continue
        if path == "~" and callers:  # a builtin (isinstance, dict.get ...): its callers' share
            for (caller_path, _l, caller), timing in callers.items():
                groups[_group(caller_path, caller)] += timing[2]
        else:
            groups[label] += exclusive
    total = sum(groups.values())
    for label, seconds in groups.most_common():
        print(f"  py   {label:42s} {python * per * seconds / total:7.0f} us "
              f"({seconds / total * 100:4.1f}%)")


def _measure(name: str, setup: Callable[[], tuple[Any, Callable[[], int]]]) -> None:
    """Run the workload twice on fresh copies: timed (statements timed at the connection),
    then under cProfile."""
    engine, work = setup()
    sql: Counter[str] = Counter()
    engine.store._conn = _TimedConnection(engine.store._conn, sql)
    began = time.perf_counter()
    items = work()
    wall = time.perf_counter() - began
    engine.close()
    engine, work = setup()
    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    engine.close()
    _report(name, items, wall, sql, pstats.Stats(profile))


def _events(scratch: Path, count: int,
            pool: int | None = None) -> Callable[[], tuple[Any, Callable[[], int]]]:
    """Fire ``count`` events at instances of a pool started in one transaction (``pool``, at
    least ``count``: the same pool for every count makes the setup cancel out of the
    instruction counts)."""
    def setup() -> tuple[Any, Callable[[], int]]:
        home = Path(tempfile.mkdtemp(dir=scratch))
        engine = figures._engine(home)
        ids = figures._start_many(engine, "bench-loop", max(pool or 0, count) + 20)
        for instance in ids[:20]:  # warm: compiled guards and templates, statement cache
            engine.fire(instance, "go", {}, ACTOR)

        def work() -> int:
            for instance in ids[20:20 + count]:
                engine.fire(instance, "go", {}, ACTOR)
            return count

        return engine, work

    return setup


def _spiff(scratch: Path, count: int) -> Callable[[], tuple[Any, Callable[[], int]]]:
    def one(engine: Any) -> None:
        instance = engine.start("bench-three-tasks", {}, ACTOR)
        for _ in range(3):
            task = next(t for t in instance.tasks if t.is_open)
            instance = engine.done(task.id, {}, ACTOR)

    def setup() -> tuple[Any, Callable[[], int]]:
        engine = figures._engine(Path(tempfile.mkdtemp(dir=scratch)))
        for _ in range(5):
            one(engine)

        def work() -> int:
            for _ in range(count):
                one(engine)
            return count

        return engine, work

    return setup


def _batch(ctx: figures.Context, playbook: str, label: str,
           run: Callable[[Any], int]) -> Callable[[], tuple[Any, Callable[[], int]]]:
    built = figures._due_store(ctx, playbook, label)

    def setup() -> tuple[Any, Callable[[], int]]:
        from frontdesk.service import Engine
        from frontdesk.settings import Options

        home = Path(tempfile.mkdtemp(dir=ctx.scratch)) / "home"
        built.copy_to(home)
        engine = Engine(Options(home=str(home), now=figures.BASE_TEXT,
                                env={"FRONTDESK_HOME": str(home), "FRONTDESK_USER": ACTOR}),
                        access="write")
        with engine.store.transaction():
            pass  # opens (and checks) the store before anything is timed
        _warm(engine, playbook)
        return engine, lambda: run(engine)

    return setup


def _warm(engine: Any, playbook: str) -> None:
    """What a command finds ready on every later day (the benchmark's own batch figures warm
    the home the same way): the practice checked, the playbook validated and compiled, this
    year's and next year's holidays computed. Left cold, they cost a batch 0.3 to 0.6 s once,
    which is not the cost of an item."""
    import datetime as dt

    engine.playbooks.current(playbook)
    today = dt.date.fromisoformat(figures.BASE_TEXT[:10])
    for year in (today.year, today.year + 1):
        engine.workspace.calendar.next_business_day(dt.date(year, 1, 1))


WORKLOADS = {
    "event": "event (bench-loop, one transaction each)",
    "spiff": "spiff instance (start + 3 done, 4 commits)",
    "fire-all": "fire --all item (intake no_answer, batched)",
    "tick": "tick item (hipaa-annual-refresh instance, batched)",
}


def workload(name: str, ctx: figures.Context, items: int,
              pool: int | None = None) -> Callable[[], tuple[Any, Callable[[], int]]]:
    if name == "event":
        return _events(ctx.scratch, items, pool)
    if name == "spiff":
        return _spiff(ctx.scratch, items)
    ctx.settings.due_items = items
    if name == "fire-all":
        return _batch(ctx, "intake", "intake-due",
                      lambda e: len(e.fire_all("intake", "no_answer", ACTOR).fired))
    return _batch(ctx, "hipaa-annual-refresh", "hipaa-due",
                  lambda e: len({i for i, _ in e.tick().fired}))


_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(name: str, ctx: figures.Context, items: int) -> float:
    """Instructions per item of a workload, counted by valgrind (callgrind): the difference of
    a run of ``3 * items`` and one of ``items``, so start-up, setup and compiling cancel out.
    Counts do not depend on the machine's load or its disk, as times do."""
    counts = []
    for n in (items, 3 * items):
        workload(name, ctx, n)  # builds (or finds) a batch store outside the count
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
                 sys.executable, "-m", "bench.profile", "--run-only", name, "--items", str(n),
                 "--pool", str(3 * items)],
                capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
        found = _COLLECTED.search(done.stderr)
        if found is None:
            raise RuntimeError(f"valgrind gave no count: {done.stderr[-300:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / (2 * items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help="items of each workload (default: 2000 "
                        "events, 500 spiff instances, 10000 due items; 100 with --instructions)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help=f"comma separated: {', '.join(WORKLOADS)}")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per item under valgrind instead of timing")
    parser.add_argument("--run-only", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default = {"event": 2000, "spiff": 500, "fire-all": 10000, "tick": 10000}
    scratch = figures.scratch_dir()
    ctx = figures.Context(Settings(), scratch, lambda text: print(f"# {text}", flush=True))
    try:
        if args.run_only:
            engine, work = workload(args.run_only, ctx, args.items, args.pool)()
            work()
            engine.close()
            return 0
        for name in args.only.split(","):
            if args.instructions:
                count = instructions(name, ctx, args.items or 100)
                print(f"{WORKLOADS[name]}: {count:,.0f} instructions per item")
            else:
                _measure(WORKLOADS[name], workload(name, ctx, args.items or default[name]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
