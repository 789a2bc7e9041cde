"""``python -m bench.phases``: one event's and one batched item's time, phase by phase, by clock.

``bench.profile`` splits the Python time with cProfile, whose cost per call inflates code that
makes many small calls (the state machine, the step's bookkeeping) and shrinks the rest. Here
the same workloads run with no profiler: the entry points of each phase are wrapped with a
clock that keeps *exclusive* time (a phase's time minus that of the phases it calls), so the
lines add up to the measured time per item:

- ``commit``: the ``BEGIN`` and ``COMMIT`` statements (writing the WAL and its fsync);
- ``sql: <kind>``: every other statement's own time in SQLite;
- ``load``: rows made into instances (``load_instance``, ``load_instances``);
- ``step``: the runtime's bookkeeping (the step's callbacks: fields, roles, tasks, timers,
  variables, records), with ``step.start/fire/complete/fire_timers``;
- ``state machine``: ``transitions``' own work between those callbacks;
- ``guards and templates``: every compiled guard, expression and template, fast path or sandbox;
- ``audit chain``: records numbered, encoded as canonical JSON and hashed (``chain_with_data``);
- ``store rows``: ``Txn.apply`` making the rows and statements of a change;
- ``service``: the rest (the engine's command methods, the registry, the run context, the loop
  of a batch).

The clocks themselves cost about a microsecond per wrapped call; that cost is measured and
printed, and is inside the figures (mostly in the phase that makes the call). With ``--sync
OFF`` the store commits without fsync, which shows how much of ``commit`` is the disk.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import figures
from . import profile as workloads
from .common import Settings

_MACHINE = "state machine (transitions' own work)"
_STEP = "step: runtime bookkeeping (fields, roles, tasks, timers, variables, records)"
_EXPRESSIONS = "guards and templates (fast path or sandbox)"
_AUDIT = "audit chain (records, canonical JSON, SHA-256)"
_ROWS = "store rows: a change made into rows and statements"
_LOAD = "load: rows made into instances"
_SERVICE = "service: the commands' own code, the batch loop"
_AROUND = "service: run context, actor, starts and signals, compiled playbook lookup"
_TRANSACTION = "store: transaction handling (Python side)"
_COMMIT = "commit (BEGIN + COMMIT: WAL write and fsync)"


class Clocks:
    """Exclusive time by phase: each wrapped call's time less that of wrapped calls inside."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.calls = 0
        self._inner: list[float] = []

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        inner, totals, clock = self._inner, self.totals, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = clock()
            inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                spent = clock() - began
                totals[label] += spent - inner.pop()
                self.calls += 1
                if inner:
                    inner[-1] += spent

        return timed

    def reset(self) -> None:
        self.totals.clear()
        self.calls = 0


class _ClockedConnection:
    """A SQLite connection whose statements are phases: ``commit`` or ``sql: <kind>``."""

    def __init__(self, conn: Any, clocks: Clocks) -> None:
        self._conn, self._clocks = conn, clocks
        self._wrapped: dict[str, Callable[..., Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _call(self, method: str, sql: str, *args: Any) -> Any:
        words = sql.split()
        kind = _COMMIT if words[0] in ("BEGIN", "COMMIT") else "sql: " + " ".join(words[:2])
        key = f"{method} {kind}"
        timed = self._wrapped.get(key)
        if timed is None:
            timed = self._wrapped[key] = self._clocks.wrap(kind, getattr(self._conn, method))
        return timed(sql, *args)

    def execute(self, sql: str, *args: Any) -> Any:
        return self._call("execute", sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._call("executemany", sql, *args)


def _targets() -> list[tuple[Any, str, str]]:
    """``(owner, attribute, phase)`` of every entry point that is clocked."""
    from frontdesk import audit, registry, sandbox, service
    from frontdesk.runtime import compiled, step
    from frontdesk.store import sql

    targets: list[tuple[Any, str, str]] = [
        (service.Engine, name, _SERVICE)
        for name in ("fire", "done", "start", "fire_all", "tick", "_fire_one", "_tick_one")]
    targets += [(service.Engine, name, _AROUND)
                for name in ("run_context", "acting", "_with_starts")]
    targets += [(registry.PlaybookRegistry, name, _AROUND) for name in ("of_instance", "current")]
    targets += [(sql.SqlStore, "transaction", _TRANSACTION)]
    targets += [(compiled.CompiledPlaybook, name, _MACHINE) for name in ("fire", "start")]
    targets += [(step, name, _STEP)
                for name in ("start", "fire", "complete", "fire_timers")]
    targets += [(step._Step, name, _STEP)
                for name in ("offer", "fields_fit", "holds", "take", "take_choice", "leave",
                             "enter", "close", "run_actions", "finish")]
    targets += [(sandbox, name, _EXPRESSIONS)
                for name in ("compile_evaluator", "compile_template")]
    targets += [(audit, "chain_with_data", _AUDIT), (sql.SqlTxn, "apply", _ROWS),
                (sql.SqlTxn, "load_instance", _LOAD), (sql.SqlTxn, "load_instances", _LOAD),
                (sql.SqlTxn, "load_working_set", _LOAD), (sql.SqlTxn, "load_working_sets", _LOAD)]
    return [(owner, name, phase) for owner, name, phase in targets if hasattr(owner, name)]


@contextmanager
def clocked(clocks: Clocks) -> Iterator[None]:
    """Every entry point of ``_targets`` wrapped with ``clocks`` while the block runs; a guard
    or template compiled meanwhile is clocked on every later call."""
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in _targets()]
    for owner, name, phase in _targets():
        original = owner.__dict__[name]
        if name.startswith("compile_"):
            setattr(owner, name, _compiling(clocks, original))
        elif name == "transaction":
            setattr(owner, name, _entered_and_left(clocks, phase, original))
        elif isinstance(original, staticmethod | classmethod):
            raise TypeError(f"{owner.__name__}.{name}: not a plain function")
        else:
            setattr(owner, name, clocks.wrap(phase, original))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _compiling(clocks: Clocks, compile_: Callable[..., Any]) -> Callable[..., Any]:
    def compiled(*args: Any, **kwargs: Any) -> Any:
        return clocks.wrap(_EXPRESSIONS, compile_(*args, **kwargs))

    return compiled


def _entered_and_left(clocks: Clocks, label: str,
                      function: Callable[..., Any]) -> Callable[..., Any]:
    """A context manager factory whose managers' ``__enter__`` and ``__exit__`` are clocked."""
    @contextmanager
    def clocked_manager(*args: Any, **kwargs: Any) -> Iterator[Any]:
        manager = function(*args, **kwargs)
        leave = clocks.wrap(label, manager.__exit__)
        value = clocks.wrap(label, manager.__enter__)()
        try:
            yield value
        except BaseException as exc:
            if not leave(type(exc), exc, exc.__traceback__):
                raise
        else:
            leave(None, None, None)

    return clocked_manager


def _cost_of_a_clock() -> float:
    """Seconds a clocked call adds, measured on a function that does nothing."""
    clocks = Clocks()
    def nothing() -> None:
        return None

    clocked_nothing = clocks.wrap("x", nothing)
    began = time.perf_counter()
    for _ in range(100_000):
        clocked_nothing()
    plain = time.perf_counter()
    for _ in range(100_000):
        nothing()
    return ((plain - began) - (time.perf_counter() - plain)) / 100_000


def measure(name: str, setup: Callable[[], tuple[Any, Callable[[], int]]],
            sync: str | None) -> None:
    """Run the workload once, clocked, and print its phases per item."""
    clocks = Clocks()
    with clocked(clocks):
        engine, work = setup()
        engine.store._conn = _ClockedConnection(engine.store._conn, clocks)
        if sync is not None:
            engine.store._conn.execute(f"PRAGMA synchronous = {sync}")
        clocks.reset()
        began = time.perf_counter()
        items = work()
        wall = time.perf_counter() - began
        engine.close()
    per = 1e6 / items
    clocks.totals[_SERVICE] += wall - sum(clocks.totals.values())
    overhead = _cost_of_a_clock() * clocks.calls * per
    print(f"\n{name}: {wall * per:,.0f} us per item over {items:,} items "
          f"(clocks: {clocks.calls / items:.0f} calls per item, about {overhead:.0f} us)")
    for label, seconds in clocks.totals.most_common():
        print(f"  {label:76s} {seconds * per:7.0f} us ({seconds / wall * 100:4.1f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phases",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help="items of each workload (default: 2000 "
                        "events, 500 spiff instances, 10000 due items)")
    parser.add_argument("--only", default=",".join(workloads.WORKLOADS),
                        help=f"comma separated: {', '.join(workloads.WORKLOADS)}")
    parser.add_argument("--sync", choices=["FULL", "NORMAL", "OFF"],
                        help="the store's synchronous setting for the run (default: the "
                             "store's own, FULL)")
    args = parser.parse_args(argv)
    default = {"event": 2000, "spiff": 500, "fire-all": 10000, "tick": 10000}
    scratch = figures.scratch_dir()
    ctx = figures.Context(Settings(), scratch, lambda text: print(f"# {text}", flush=True))
    try:
        for name in args.only.split(","):
            setup = workloads.workload(name, ctx, args.items or default[name])
            measure(workloads.WORKLOADS[name], setup, args.sync)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
