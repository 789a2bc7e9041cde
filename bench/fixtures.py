"""Build benchmark stores fast, through the engine's own API, and cache them between runs.

A store is a home folder (``practice.yaml`` + ``frontdesk.db``) holding N open instances of the
shipped playbooks with their tasks and armed timers, made by the pure step functions
(``engine.runtime.step.start`` / ``complete``) and committed with the store's ``Txn.apply``,
many instances per transaction; no subprocess, no per-instance commit.

The first ``hot`` instances (the same ids, inputs and clocks in every store) have work due at
``BASE``: overdue tasks and due timers. Every other instance is *cold*: started in the hours
before ``BASE`` on its day, with dates in the future, so nothing of it is due. A 1k and a 100k
store therefore give the same ``today`` list and the same ``tick`` work, and any difference in
cost between them is the cost of the store's size. Two intake instances in three are also taken
a step or two further, so instances have histories of different lengths.

Every store is created *simulated* (under a clock override, as ``--now`` creates one), so the
benchmark's commands may run on it with ``--now BASE``; and its records are written in time
order, all before ``BASE``, so no command at ``BASE`` is behind the log (a simulated store
refuses that), and ``audit verify`` proves every store in full (``build_audit``'s too: its
records belong to real, stored instances).

Built stores are cached under ``<cache>/<spec>-<code version>/`` where the code version hashes
the sources that decide what a store holds (store, runtime, model, audit, the shipped playbooks
and the builder functions of this file), so a change to any of them rebuilds.

``python -m bench.fixtures 1000 10000 100000 audit:1000000`` builds (or finds) those stores
and prints what each holds and how long it took to build.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import REPO

SHIPPED = ("intake", "claim-denial", "onboarding-90-day", "hipaa-annual-refresh")
TIMEZONE = "America/New_York"
PRACTICE = f"practice: Bench Practice\ntimezone: {TIMEZONE}\ncalendar:\n  country: US\n"
BASE_TEXT = "2026-03-02T09:00"  # a Monday; "now" of every benchmark command
ACTOR = "bench"
BATCH = 500  # instances per transaction


def base_time() -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(BASE_TEXT).replace(tzinfo=ZoneInfo(TIMEZONE))


@dataclass(frozen=True)
class StoreSpec:
    """What to build: ``instances`` of ``mix`` (round robin), the first ``hot`` of them due."""

    instances: int
    hot: int = 200
    mix: tuple[str, ...] = SHIPPED
    history: bool = True
    label: str = "mixed"

    @property
    def key(self) -> str:
        return f"{self.label}-{self.instances}-hot{min(self.hot, self.instances)}"


@dataclass(frozen=True)
class AuditSpec:
    """An audit log of ``records`` realistic records (no instances): for ``audit verify``."""

    records: int

    @property
    def key(self) -> str:
        return f"audit-{self.records}"


@dataclass
class Built:
    """A built (or cached) home: where it is, what it holds, what building it cost."""

    home: Path
    seconds: float
    cached: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.home / "frontdesk.db"

    def summary(self) -> str:
        counts = ", ".join(f"{v:,} {k}" for k, v in self.counts.items())
        how = "cached; built" if self.cached else "built"
        return f"{self.home.name}: {counts} ({how} in {self.seconds:.1f} s)"

    def copy_to(self, dest: Path) -> Path:
        """A private copy of this home (for commands that change the store), flushed to disk
        so that a timed command's first fsync does not write back the whole copy."""
        if dest.exists():
            shutil.rmtree(dest)
        # without the builder's model cache: every copy starts cold, the figures warm it
        shutil.copytree(self.home, dest, ignore=shutil.ignore_patterns("build.txt", "cache"))
        for path in dest.rglob("*"):
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return dest


# -- cache -------------------------------------------------------------------------------------
def code_version() -> str:
    """A hash of every file that decides what a built store holds: the store (schema,
    migrations), the runtime and model, the audit records, the shipped playbooks, this file."""
    digest = hashlib.sha256()
    engine = REPO / "engine"
    files = sorted([*(engine / "store").rglob("*.py"), *(engine / "runtime").rglob("*.py"),
                    *(engine / p for p in ("audit.py", "model.py", "values.py", "sandbox.py")),
                    engine / "loading" / "build.py", *(REPO / "playbooks").glob("*.yaml")])
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    digest.update(_builder_source().encode())
    return digest.hexdigest()[:12]


def _builder_source() -> str:
    """The source of what decides a store's contents in this file (not of the helpers around
    it, so that changing how a store is copied or reported rebuilds nothing)."""
    import inspect

    parts = [inspect.getsource(f) for f in (base_time, inputs_for, _plan, _store_engine,
                                            build_store, _renamed, build_audit, StoreSpec,
                                            AuditSpec)]
    parts += [repr((SHIPPED, TIMEZONE, PRACTICE, BASE_TEXT, ACTOR, BATCH, INTAKE_STEPS,
                    HOT_SPAN, COLD_LEAD, AUDIT_BATCH))]
    return "\n".join(parts)


def default_cache() -> Path:
    folder = os.environ.get("FRONTDESK_BENCH_CACHE")
    if folder:
        return Path(folder)
    return Path(tempfile.gettempdir()) / f"frontdesk-bench-{os.getuid()}"


def cached_home(spec: StoreSpec | AuditSpec, cache: Path | None = None,
                rebuild: bool = False, log: Callable[[str], None] | None = None) -> Built:
    """The home for ``spec`` from the cache, built (and cached) when missing or stale."""
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    version = code_version()
    home = cache / f"{spec.key}-{version}"
    marker = home / "build.txt"
    if home.exists() and marker.exists() and not rebuild:
        seconds, counts = _read_marker(marker)
        return Built(home, seconds, True, counts)
    for stale in cache.glob(f"{spec.key}-*"):  # other code versions of the same spec
        shutil.rmtree(stale, ignore_errors=True)
    if log:
        log(f"building {spec.key} ...")
    scratch = Path(tempfile.mkdtemp(prefix=f"{spec.key}-", dir=cache))
    began = time.perf_counter()
    if isinstance(spec, AuditSpec):
        build_audit(scratch, spec)
    else:
        build_store(scratch, spec)
    seconds = time.perf_counter() - began
    counts = store_counts(scratch / "frontdesk.db")
    lines = [f"seconds: {seconds:.3f}", *(f"{k}: {v}" for k, v in counts.items())]
    (scratch / "build.txt").write_text("\n".join(lines) + "\n")
    scratch.rename(home)  # a half-built store is never taken for a cached one
    return Built(home, seconds, False, counts)


def _read_marker(marker: Path) -> tuple[float, dict[str, int]]:
    seconds = 0.0
    counts: dict[str, int] = {}
    for line in marker.read_text().splitlines():
        key, _, value = line.partition(": ")
        if key == "seconds":
            seconds = float(value)
        elif value:
            counts[key] = int(value)
    return seconds, counts


def store_counts(db: Path) -> dict[str, int]:
    """Open instances, open tasks, armed timers and audit records in a store file."""
    queries = {
        "open instances": "SELECT count(*) FROM instances WHERE status = 'open'",
        "open tasks": "SELECT count(*) FROM tasks WHERE status = 'open'",
        "armed timers": "SELECT count(*) FROM timers WHERE status = 'armed'",
        "audit records": "SELECT max(seq) FROM audit_log",
    }
    with closing(sqlite3.connect(db)) as conn:
        return {name: int(conn.execute(sql).fetchone()[0] or 0) for name, sql in queries.items()}


# -- building ----------------------------------------------------------------------------------
_COMPILED: dict[str, Any] = {}  # playbook id -> CompiledPlaybook, shared by every build here


def _compiled(engine: Any, playbook: str) -> Any:
    """The shipped playbook, validated and compiled once per process."""
    if playbook not in _COMPILED:
        _COMPILED[playbook] = engine.playbooks.current(playbook)
    return _COMPILED[playbook]


def _ids(prefix: str) -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter):07d}"


def _day(moment: dt.datetime) -> dt.date:
    return moment.date()


def inputs_for(playbook: str, i: int, started: dt.datetime, hot: bool) -> dict[str, Any]:
    """Inputs of instance ``i``: hot ones have dates that make work due at BASE."""
    day = _day(started)
    if playbook == "intake":
        return {"client_name": f"Client {i}", "phone": f"555-{i % 10000:04d}",
                "referral_source": "web"}
    if playbook == "claim-denial":
        medicare = i % 2 == 0
        service = day - dt.timedelta(days=85 if hot else 20)
        return {"claim_id": f"C{i}", "payer_type": "medicare" if medicare else "commercial",
                "group": "CO", "carc": "50" if medicare else "16", "amount": 100 + i % 900,
                "denied_on": day, "service_date": service}
    if playbook == "onboarding-90-day":
        first = day if hot else day + dt.timedelta(days=14)
        return {"employee": f"Employee {i}", "start_date": first, "hired_on": first}
    if playbook == "hipaa-annual-refresh":
        last = (day - dt.timedelta(days=355)) if hot else (day - dt.timedelta(days=30))
        return {"employee": f"Employee {i}", "last_trained_on": last}
    raise ValueError(f"no bench inputs for playbook '{playbook}'")


# intake steps that give one instance in three a longer history: (task id, fields)
INTAKE_STEPS = (("screening_call", {"payment": "self_pay", "urgent": False}),
                ("intake_forms", {"privacy_acknowledgment": "signed"}))


HOT_SPAN = (dt.timedelta(days=14), dt.timedelta(days=3))  # hot starts: from .. to before BASE
COLD_LEAD = dt.timedelta(hours=3)  # cold starts: in the hours before BASE, on BASE's day


def _plan(spec: StoreSpec) -> Iterator[tuple[int, str, bool, dt.datetime, dt.timedelta]]:
    """``(i, playbook, hot, started, gap)`` of every instance, ``started`` strictly increasing
    and every record of an instance written before ``started + gap``, the next one's start:
    the log never goes back in time and ends before BASE, the "now" of every command."""
    base = base_time()
    hot = min(spec.hot, spec.instances)
    cold = spec.instances - hot
    hot_gap = (HOT_SPAN[0] - HOT_SPAN[1]) / max(hot, 1)
    cold_gap = COLD_LEAD / max(cold, 1)
    for i in range(spec.instances):
        if i < hot:
            started, gap = base - HOT_SPAN[0] + i * hot_gap, hot_gap
        else:
            started, gap = base - COLD_LEAD + (i - hot) * cold_gap, cold_gap
        yield i, spec.mix[i % len(spec.mix)], i < hot, started, gap


def _store_engine(home: Path) -> Any:
    """The engine a builder writes through: its store is created *simulated* (a clock
    override, as ``--now`` gives), so the benchmark's commands may run on it with
    ``--now BASE``."""
    from frontdesk.service import Engine
    from frontdesk.settings import Options

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "practice.yaml").write_text(PRACTICE)
    engine = Engine(Options(home=str(home), now=BASE_TEXT, env={"FRONTDESK_HOME": str(home)}))
    if engine.store.clock_kind() != "simulated":
        raise RuntimeError(f"the bench store {home} was not created simulated")
    return engine


def build_store(home: Path, spec: StoreSpec) -> None:
    """Fill ``home`` with the instances of ``spec`` (see the module docstring)."""
    from frontdesk.runtime import step
    from frontdesk.runtime.instance import Change

    engine = _store_engine(home)
    compiled = {pid: _compiled(engine, pid) for pid in sorted(set(spec.mix))}
    new_id = _ids("b")

    def context(now: dt.datetime) -> Any:
        return step.RunContext(now, engine.workspace.tz, engine.workspace.calendar,
                               engine.workspace.practice, ACTOR, new_id)

    def with_starts(outcome: Any, now: dt.datetime) -> Any:
        change = outcome.change
        for request in outcome.starts:
            child = step.start(_compiled(engine, request.playbook), request.inputs,
                               context(now), parent=request.parent)
            change.merge(with_starts(child, now))
        return change

    store = engine.store
    batch = Change()
    pending = 0
    for i, playbook, hot, started, gap in _plan(spec):
        cp = compiled[playbook]
        outcome = step.start(cp, inputs_for(playbook, i, started, hot), context(started))
        batch.merge(with_starts(outcome, started))
        instance = outcome.instance
        if spec.history and playbook == "intake":
            later = started
            for task_id, fields in INTAKE_STEPS[: i % 3]:
                later = later + gap / (len(INTAKE_STEPS) + 1)
                occurrence = next(t for t in instance.tasks if t.task == task_id and t.is_open)
                moved = step.complete(cp, instance, occurrence.id, fields, context(later))
                batch.merge(with_starts(moved, later))
                instance = moved.instance
        pending += 1
        if pending >= BATCH:
            with store.transaction() as txn:
                txn.apply(batch)
            batch, pending = Change(), 0
    if pending:
        with store.transaction() as txn:
            txn.apply(batch)
    engine.close()


AUDIT_BATCH = 10_000  # records per transaction of the audit store


def _renamed(change: Any, new_id: Callable[[], str]) -> Any:
    """A copy of ``change`` (instances it starts, with their tasks, timers, audit drafts and
    messages) in which every instance has a new id. Task and timer ids are the instance's
    id and a suffix (``<id>-<n>``, ``<id>-timer-<n>``), so they follow it; so do the records'
    references to them and to a parent."""
    from frontdesk.runtime.instance import Change

    names = {iid: new_id() for iid in dict.fromkeys(i.id for i in change.instances)}

    def moved(value: Any) -> Any:  # a task, timer or instance id of this change, renamed
        if isinstance(value, str):
            owner = value if value in names else value.split("-", 1)[0]
            if owner in names:
                return names[owner] + value[len(owner):]
        return value

    def record_data(data: dict[str, Any]) -> dict[str, Any]:
        return {k: moved(v) if k in ("id", "timer", "parent") else v for k, v in data.items()}

    replace = dataclasses.replace
    instances = [replace(inst, id=names[inst.id], parent=moved(inst.parent),
                         tasks=[replace(t, id=moved(t.id), instance=names[inst.id])
                                for t in inst.tasks],
                         timers=[replace(t, id=moved(t.id), instance=names[inst.id])
                                 for t in inst.timers],
                         dirty={moved(d) for d in inst.dirty})
                 for inst in change.instances]
    return Change(instances=instances, new_instances={names[i] for i in change.new_instances},
                  audit=[replace(d, instance=names[d.instance], data=record_data(d.data))
                         for d in change.audit],
                  messages=[replace(m, instance=names[m.instance]) for m in change.messages],
                  sources=dict(change.sources))


def build_audit(home: Path, spec: AuditSpec) -> None:
    """A store of ``spec.records`` audit records (a few more: whole instances) that verifies
    in full: every record belongs to a stored instance whose state, tasks and timers it
    replays to.

    Each transaction starts one real instance of every shipped playbook through the runtime
    (two intakes taken a step or two further, so records of every kind occur) at its own
    moment, then clones that change (instances, tasks, timers, records, messages) under new
    instance ids until it holds ``AUDIT_BATCH`` records, and writes it with ``Txn.apply``.
    Records are written in time order (the moments increase from one transaction to the next)
    and all before BASE."""
    from frontdesk.runtime import step
    from frontdesk.runtime.instance import Change

    engine = _store_engine(home)
    new_id = _ids("a")
    batches = -(-spec.records // AUDIT_BATCH)
    first = base_time() - dt.timedelta(days=1)
    step_gap = dt.timedelta(seconds=10)

    def context(now: dt.datetime) -> Any:
        return step.RunContext(now, engine.workspace.tz, engine.workspace.calendar,
                               engine.workspace.practice, ACTOR, new_id)

    def templates(now: dt.datetime, n: int) -> Change:
        change = Change()
        for k, playbook in enumerate((*SHIPPED, "intake")):
            cp = _compiled(engine, playbook)
            outcome = step.start(cp, inputs_for(playbook, n + k, now, k % 2 == 0),
                                 context(now))
            change.merge(outcome.change)
            if outcome.starts:
                raise RuntimeError(f"{playbook} starts other instances at its start")
            instance, later = outcome.instance, now
            for task_id, fields in (INTAKE_STEPS if playbook == "intake" else ())[: k // 2 + 1]:
                later += step_gap
                occurrence = next(t for t in instance.tasks if t.task == task_id and t.is_open)
                moved = step.complete(cp, instance, occurrence.id, fields, context(later))
                change.merge(moved.change)
                instance = moved.instance
        return change

    store = engine.store
    made = 0
    for b in range(batches):
        now = first + b * dt.timedelta(minutes=1)
        template = templates(now, b)
        batch = Change()
        batch.merge(template)
        while len(batch.audit) < min(AUDIT_BATCH, spec.records - made):
            batch.merge(_renamed(template, new_id))
        # the clones of a change share its moments: records in time order, each instance's
        # in its own order (a stable sort)
        batch.audit.sort(key=lambda draft: draft.at)
        with store.transaction() as txn:
            txn.apply(batch)
        made += len(batch.audit)
    engine.close()


def spec_named(text: str) -> StoreSpec | AuditSpec:
    """``N`` (a mixed store), ``audit:N``, ``intake-due:N`` or ``hipaa-due:N``."""
    kind, _, count = text.rpartition(":")
    n = int(count.replace("_", ""))
    if kind == "audit":
        return AuditSpec(n)
    if kind == "intake-due":
        return StoreSpec(n, hot=n, mix=("intake",), history=False, label=kind)
    if kind == "hipaa-due":
        return StoreSpec(n, hot=n, mix=("hipaa-annual-refresh",), history=False, label=kind)
    if kind:
        raise SystemExit(f"unknown store kind {kind!r} (audit, intake-due, hipaa-due)")
    return StoreSpec(n)


def main(argv: list[str]) -> int:
    """``python -m bench.fixtures [N | audit:N | intake-due:N | hipaa-due:N]...``: build (or
    find) the stores the benchmark uses and print what each holds and cost to build."""
    names = argv or ["1000", "10000", "100000"]
    for name in names:
        built = cached_home(spec_named(name), log=print)
        print(built.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
