"""Crash safety: ``frontdesk`` killed with SIGKILL at random points of ``fire``, ``done``,
``tick`` and ``fire --all`` loses nothing and does nothing twice.

Each round picks a command, starts it as a real process, kills it after a random delay
(calibrated on how long that command takes, so most kills land in the part that writes), then
checks the store: ``audit verify`` passes and the replay of the audit records matches every
instance row (``audit_replay``). Then it reruns the interrupted command and checks that the
work was done exactly once: the event applied once, the task done once, every due timer fired
once, ``fire --all`` applied once per instance that allowed it.

``FRONTDESK_CRASH_KILLS`` sets how many kills to reach (default 40; 300 is the long run), and
every kind of command is killed at least ``MIN_KILLS_PER_KIND`` times among them; the store
comes from the ``crash_store_url`` fixture: a SQLite file and a PostgreSQL database, each run
to that many.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from audit_replay import replay_problems
from frontdesk.audit import verify
from frontdesk.service import Engine
from frontdesk.settings import Options
from frontdesk.store import Store, open_store
from frontdesk_testing import run_main
from hardening_support import clean_stderr_problems

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

KILLS = int(os.environ.get("FRONTDESK_CRASH_KILLS", "40"))
KINDS = {"fire": 3, "done": 3, "tick": 3, "fire-all": 1}  # how often each is picked
MIN_KILLS_PER_KIND = max(1, min(5, KILLS // 8))
SEED = int(os.environ.get("FRONTDESK_CRASH_SEED", "8"))
OPEN_INSTANCES = 5  # kept open by starting new ones between rounds
STEP = dt.timedelta(minutes=25)  # the simulated clock moves this much per round

CRASH_PLAYBOOK = """\
# The crash harness's playbook: tasks (one recurring, one whose completion fires an event),
# timers with set/task/message effects, all_tasks_done, and one event per state so that a
# rerun after a committed fire is refused.
playbook: crash
version: 1
title: Crash harness
roles: [clerk]
inputs:
  client: {type: string, required: true}
initial: open
states:
  open:
    tasks:
      - {id: call, title: "Call {{ client }}", role: clerk, due: 1 day}
      - {id: file, title: File, role: clerk, due: 2 days}
      - {id: hourly, title: Hourly check, role: clerk, every: 1 hour}
    timers:
      - {after: 1 hour, event: ping}
      - {after: 4 hours, event: escalate}
    on:
      ping:
        set: {pinged: true}
        do:
          - task: {id: pinged, title: "Pinged {{ client }}", role: clerk, due: 1 day}
          - message: {to: clerk, subject: "Ping {{ client }}", body: ping}
      advance: {to: review, set: {route: advanced}}
      escalate: {to: escalated}
      all_tasks_done: {to: review, set: {route: tasks}}
  escalated:
    tasks:
      - {id: handle, title: Handle, role: clerk, due: 1 day, done: resolved}
    on:
      resolved: {to: review, set: {route: resolved}}
      advance: {to: review, set: {route: advanced}}
  review:
    tasks:
      - {id: sign, title: Sign, role: clerk, due: 1 day}
    timers:
      - {after: 2 hours, event: expire}
    on:
      finish: {to: closed}
      expire: {to: closed}
  closed:
    final: true
    outcome: closed
"""
EVENT_OF_STATE = {"open": "advance", "escalated": "advance", "review": "finish"}


@dataclass
class Round:
    """One command: what it was, what the store looked like before it."""

    kind: str  # fire | done | tick | fire-all
    args: tuple[str, ...]
    now: dt.datetime
    before_seq: int
    target: str = ""  # the instance (fire) or task occurrence (done)
    allowed: set[str] = field(default_factory=set)  # fire-all: instances where it applies


@dataclass
class Tally:
    rounds: int = 0
    kills: int = 0
    kills_after_commit: int = 0  # the killed process had already written something
    finished_before_kill: int = 0
    reruns_applied: int = 0
    reruns_refused: int = 0
    checks: int = 0
    failures: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


class Harness:
    def __init__(self, fd: Frontdesk, url: str, seed: int) -> None:
        self.fd = fd
        self.url = url
        self.rng = random.Random(seed)
        self.now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        self.durations: dict[str, list[float]] = {}  # seconds each kind of command took
        self.runs: dict[str, int] = {}
        self.tally = Tally()
        # a simulated store: the harness moves its clock forward itself
        self.store: Store = open_store(url, clock_override=True)
        self.env = {**fd.env(), "FRONTDESK_DB": url}

    # -- the store, read in-process --------------------------------------------------------
    def head(self) -> int:
        return self.store.audit_head()[0]

    def records_since(self, seq: int) -> list[dict[str, Any]]:
        return [r for r in self.store.audit_records() if r["seq"] > seq]

    def engine(self) -> Engine:
        return Engine(Options(playbooks=(str(self.fd.playbooks),), now=self.now.isoformat(),
                              env=self.env))

    def top_up(self) -> None:
        """Start instances (in-process, not killed) until OPEN_INSTANCES are open."""
        open_now = self.store.list_instances(playbook="crash", status="open")
        engine = self.engine()
        try:
            for n in range(OPEN_INSTANCES - len(open_now)):
                engine.start("crash", {"client": f"Client {self.tally.rounds}-{n}"},
                             self.fd.user)
        finally:
            engine.close()

    # -- one round ---------------------------------------------------------------------------
    def short_kinds(self) -> list[str]:
        """The kinds of command killed fewer than ``MIN_KILLS_PER_KIND`` times so far."""
        return [k for k in KINDS if self.tally.by_kind.get(k, 0) < MIN_KILLS_PER_KIND]

    def pick(self) -> Round:
        instances = self.store.list_instances(playbook="crash", status="open")
        if self.tally.kills >= KILLS:  # enough kills: only the kinds still short of their share
            kind = self.rng.choice(self.short_kinds())
        else:
            kind = self.rng.choices(list(KINDS), list(KINDS.values()))[0]
        before = self.head()
        if kind == "fire":
            inst = self.rng.choice(instances)
            event = EVENT_OF_STATE[inst.state]
            return Round(kind, ("fire", inst.id, event), self.now, before, inst.id)
        if kind == "done":
            tasks = [t for i in instances for t in i.tasks if t.status == "open"]
            task = self.rng.choice(tasks)
            return Round(kind, ("done", task.id), self.now, before, task.id)
        if kind == "tick":
            return Round(kind, ("tick",), self.now, before)
        allowed = {i.id for i in instances if i.state in ("open", "escalated")}
        return Round(kind, ("fire", "--all", "crash", "advance"), self.now, before,
                     allowed=allowed)

    def argv(self, step: Round) -> list[str]:
        return ["--now", step.now.isoformat(), *step.args]

    def kill_during(self, step: Round) -> None:
        """Run the command as a process and SIGKILL it after a random delay."""
        timings = self.durations.setdefault(step.kind, [])
        command = [*self.fd.argv, "--playbooks", str(self.fd.playbooks), *self.argv(step)]
        started = time.monotonic()
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.runs[step.kind] = self.runs.get(step.kind, 0) + 1
        if len(timings) < 2 or self.runs[step.kind] % 25 == 0:
            # calibrate: the first two runs of each kind, and every 25th, are timed, not killed
            process.wait(timeout=120)
            timings.append(time.monotonic() - started)
            self.tally.finished_before_kill += 1
            return
        typical = min(timings)  # the least loaded run: under load, kills land earlier
        # Most kills land in the later part, where the command loads, computes and writes.
        late = self.rng.random() < 0.75
        delay = typical * (self.rng.uniform(0.35, 0.95) if late else self.rng.uniform(0, 0.35))
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=120)
        if process.returncode == -signal.SIGKILL:
            self.tally.kills += 1
            self.tally.by_kind[step.kind] = self.tally.by_kind.get(step.kind, 0) + 1
            if self.head() > step.before_seq:
                self.tally.kills_after_commit += 1
        else:
            self.tally.finished_before_kill += 1

    def check_store(self, when: str) -> None:
        self.tally.checks += 1
        result = verify(self.store.audit_records())
        if not result.ok:
            self.fail(when, f"audit verify: {result.reason}")
        for problem in replay_problems(self.store):
            self.fail(when, problem)

    def rerun(self, step: Round) -> None:
        """Run the interrupted command again (in-process: same handler, same store) and check
        the work is done exactly once."""
        done = run_main(["--playbooks", str(self.fd.playbooks), *self.argv(step)], self.env)
        code, stderr = done.returncode, done.stderr
        if clean_stderr_problems(stderr, code):
            self.fail("rerun", f"{step.args}: unclean stderr {stderr!r}")
        if code == 0:
            self.tally.reruns_applied += 1
        elif code == 5 and step.kind in ("fire", "done"):
            self.tally.reruns_refused += 1
        else:
            self.fail("rerun", f"{step.args}: exit {code}: {stderr.strip()}")
        new = self.records_since(step.before_seq)
        {"fire": self._check_fired_once, "done": self._check_done_once,
         "tick": self._check_ticked, "fire-all": self._check_fired_all_once,
         }[step.kind](step, new)

    def _check_fired_once(self, step: Round, new: list[dict[str, Any]]) -> None:
        event = step.args[2]
        applied = [r for r in new if r["action"] == "transition" and r["event"] == event
                   and r["instance"] == step.target]
        if len(applied) != 1:
            self.fail("rerun", f"{step.args}: applied {len(applied)} times")

    def _check_done_once(self, step: Round, new: list[dict[str, Any]]) -> None:
        done = [r for r in self.store.audit_records() if r["action"] == "task_done"
                and r["data"]["id"] == step.target]
        if len(done) != 1:
            self.fail("rerun", f"{step.args}: task done {len(done)} times")

    def _check_ticked(self, step: Round, new: list[dict[str, Any]]) -> None:
        engine = self.engine()
        try:
            left = [t.id for i in self.store.list_instances(status="open")
                    for t in i.timers if t.status == "armed" and t.state == i.state
                    and t.due <= (step.now if isinstance(t.due, dt.datetime)
                                  else step.now.astimezone(engine.workspace.tz).date())]
        finally:
            engine.close()
        if left:
            self.fail("rerun", f"tick left due timers armed: {left}")

    def _check_fired_all_once(self, step: Round, new: list[dict[str, Any]]) -> None:
        counts = {i: 0 for i in step.allowed}
        for r in new:
            if r["action"] == "transition" and r["event"] == "advance":
                counts[r["instance"]] = counts.get(r["instance"], 0) + 1
        wrong = {i: n for i, n in counts.items() if n != 1}
        if wrong:
            self.fail("rerun", f"fire --all applied {wrong} times")

    def fail(self, when: str, problem: str) -> None:
        self.tally.failures.append(f"round {self.tally.rounds} ({when}): {problem}")

    def run(self, kills: int) -> Tally:
        max_rounds = 3 * kills + 20 * len(KINDS)
        while ((self.tally.kills < kills or self.short_kinds())
               and self.tally.rounds < max_rounds):
            self.tally.rounds += 1
            self.top_up()
            step = self.pick()
            self.kill_during(step)
            self.check_store("after the kill")
            self.rerun(step)
            self.check_store("after the rerun")
            if self.tally.failures:
                break  # the first failure's store is the one to look at
            self.now += STEP
        self.store.close()
        return self.tally


@pytest.mark.slow
def test_sigkill_during_commands_loses_nothing(crash_store_url: str, tmp_path: Path,
                                              make_frontdesk: Callable[..., Frontdesk],
                                              figures: Figures) -> None:
    """At least FRONTDESK_CRASH_KILLS kills of fire/done/tick/fire --all, each kind killed at
    least MIN_KILLS_PER_KIND times: after each, the log verifies and replays to the stored
    instances, and the rerun does the work exactly once."""
    fd = make_frontdesk(tmp_path / "crash")
    (fd.playbooks / "crash.yaml").write_text(CRASH_PLAYBOOK, "utf-8")
    started = time.monotonic()
    tally = Harness(fd, crash_store_url, SEED).run(KILLS)
    seconds = time.monotonic() - started
    store = crash_store_url.split(":", 1)[0]
    figures.add("crash", f"{store}: {tally.kills} kills in {tally.rounds} rounds "
                         f"({', '.join(f'{k} {n}' for k, n in sorted(tally.by_kind.items()))}; "
                         f"{tally.kills_after_commit} after the command had written, "
                         f"{tally.finished_before_kill} finished before the kill), "
                         f"{tally.checks} store checks, reruns {tally.reruns_applied} applied / "
                         f"{tally.reruns_refused} refused as already done, "
                         f"{len(tally.failures)} failures, {seconds:.0f} s")
    assert not tally.failures, tally.failures[:10]
    assert tally.kills >= KILLS, tally
    assert all(tally.by_kind.get(kind, 0) >= MIN_KILLS_PER_KIND for kind in KINDS), tally


def test_replay_check_sees_a_lost_or_doubled_change(tmp_path: Path,
                                                    make_frontdesk: Callable[..., Frontdesk]
                                                    ) -> None:
    """The checker itself: a state changed without its record, and a task row without its
    record, are both reported."""
    import sqlite3
    from contextlib import closing

    fd = make_frontdesk(tmp_path / "replay")
    (fd.playbooks / "crash.yaml").write_text(CRASH_PLAYBOOK, "utf-8")
    url = f"sqlite:///{fd.db}"  # the checker is store-agnostic; its test edits a SQLite file
    engine = Engine(Options(playbooks=(str(fd.playbooks),), db=url, env=fd.env()))
    try:
        inst = engine.start("crash", {"client": "Ann"}, fd.user)
    finally:
        engine.close()
    store = open_store(url)
    assert replay_problems(store) == []
    with closing(sqlite3.connect(fd.db)) as conn:
        conn.execute("UPDATE instances SET state = 'review' WHERE id = ?", (inst.id,))
        conn.execute("UPDATE tasks SET status = 'done' WHERE instance = ? AND task = 'call'",
                     (inst.id,))
        conn.commit()
    problems = replay_problems(store)
    assert any("state 'review'" in p for p in problems), problems
    assert any("tasks" in p for p in problems), problems
