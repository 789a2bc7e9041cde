"""The replay check of the crash harness, usable on any store: what the audit log says must be
exactly what the instance rows hold.

``replay(records)`` rebuilds, from the audit records alone, every instance's state and
variables, its task occurrences and their status, and the timers that fired;
``replay_problems(store)`` compares that with the store's instance rows and lists every
difference, plus every record that shows work done twice (a task created, done or cancelled
twice, a timer fired twice, an instance started twice).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from frontdesk.runtime.instance import plain
from frontdesk.store import Store


@dataclass
class Replayed:
    """One instance as its audit records tell it."""

    state: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # occurrence id -> status
    fired_timers: set[str] = field(default_factory=set)
    armed: dict[str, str] = field(default_factory=dict)  # armed timer id -> its due
    starts: int = 0


@dataclass
class Replay:
    instances: dict[str, Replayed] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _timer(inst: Replayed, action: str, data: dict[str, Any], fired: Counter[str]) -> None:
    """A ``timer_*`` record: armed with its due, fired (counted) or disarmed."""
    timer = data["timer"]
    if action == "timer_armed":
        inst.armed[timer] = data["due"]
        return
    if action == "timer_fired":
        fired[timer] += 1
        inst.fired_timers.add(timer)
    if action != "timer_failed":  # a failed timer stays armed
        inst.armed.pop(timer, None)


def replay(records: list[dict[str, Any]]) -> Replay:
    """Rebuild every instance from ``records`` (in seq order)."""
    result = Replay()
    created: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    for record in records:
        inst = result.instances.setdefault(record["instance"], Replayed())
        action, data = record["action"], record["data"] or {}
        if action == "start":
            inst.starts += 1
            inst.state = record["to"]
            inst.vars.update(data.get("inputs") or {})
        elif action == "transition":
            inst.state = record["to"]
            inst.vars.update(data.get("fields") or {})
        elif action == "set":
            inst.vars.update(data.get("vars") or {})
        elif action == "task_created":
            created[data["id"]] += 1
            inst.tasks[data["id"]] = "open"
        elif action in ("task_done", "task_cancelled"):
            closed[data["id"]] += 1
            if inst.tasks.get(data["id"]) != "open":
                result.problems.append(f"seq {record['seq']}: task {data['id']} closed but "
                                       "not open")
            inst.tasks[data["id"]] = "done" if action == "task_done" else "cancelled"
            if action == "task_done":
                inst.vars.update(data.get("fields") or {})
        elif action.startswith("timer_"):
            _timer(inst, action, data, fired)
    result.problems += [f"task {t} created {n} times" for t, n in created.items() if n > 1]
    result.problems += [f"task {t} closed {n} times" for t, n in closed.items() if n > 1]
    result.problems += [f"timer {t} fired {n} times" for t, n in fired.items() if n > 1]
    result.problems += [f"instance {i} started {r.starts} times"
                        for i, r in result.instances.items() if r.starts != 1]
    return result


def replay_problems(store: Store) -> list[str]:
    """Every difference between the audit log's replay and the store's instance rows."""
    records = list(store.audit_records())
    result = replay(records)
    problems = list(result.problems)
    stored = {inst.id: inst for inst in store.list_instances()}
    for missing in sorted(set(result.instances) - set(stored)):
        problems.append(f"instance {missing} is in the audit log but not in the store")
    for extra in sorted(set(stored) - set(result.instances)):
        problems.append(f"instance {extra} is in the store without audit records")
    for id_, inst in sorted(stored.items()):
        told = result.instances.get(id_)
        if told is None:
            continue
        if inst.state != told.state:
            problems.append(f"instance {id_}: state {inst.state!r}, audit says {told.state!r}")
        if plain(inst.vars) != plain(told.vars):
            problems.append(f"instance {id_}: vars differ from the audit log's")
        tasks = {t.id: t.status for t in inst.tasks}
        if tasks != told.tasks:
            problems.append(f"instance {id_}: tasks {tasks} but audit says {told.tasks}")
        fired = {t.id for t in inst.timers if t.status == "fired"}
        if fired != told.fired_timers:
            problems.append(f"instance {id_}: fired timers {sorted(fired)} but audit says "
                            f"{sorted(told.fired_timers)}")
        armed = {t.id: plain(t.due) for t in inst.timers if t.status == "armed"}
        if armed != told.armed:
            problems.append(f"instance {id_}: armed timers {armed} but audit says {told.armed}")
    return problems
