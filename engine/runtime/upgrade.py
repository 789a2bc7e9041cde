"""Move an open instance to a newer version of its playbook (pure: no I/O, time injected).

An instance can move when it is open, on an older version, its current state exists in the new
version as an ordinary state (not a choice state, not final), and its variables fit the new
version's inputs: each present input converts to the declared type and constraints, a missing
required input without a default refuses the move, a missing input with a default gets it.

What moving does, as an office manager would expect (docs/packs.md, "Upgrading"): the instance
stays in its state and nothing already on someone's list changes. An open task is kept as it is
(title, role, due) when the new version still creates a task with that id in this state, and
cancelled otherwise; an armed timer is kept (same due) when the new version's state still has a
timer for that event, and disarmed otherwise. Nothing new is created: tasks and timers the new
version adds to this state apply from the next state the instance enters. The change records
one ``upgraded`` audit record, then one ``task_cancelled`` per cancelled task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..model import Playbook, TaskAction
from ..values import convert
from .compiled import CompiledPlaybook
from .instance import Instance
from .step import Outcome, RunContext, _Step  # an upgrade is one more kind of step

UPGRADED = "upgraded"


@dataclass(slots=True)
class UpgradePlan:
    """What moving one instance to ``to_version`` would do, or why it cannot move."""

    instance: str
    subject: str | None
    state: str
    from_version: int
    to_version: int
    reason: str | None = None  # why it cannot move (None: it can, or it is current)
    current: bool = False  # already on ``to_version``
    cancelled_tasks: list[tuple[str, str]] = field(default_factory=list)  # (occurrence, task)
    cancelled_timers: list[str] = field(default_factory=list)  # timer events
    defaults: dict[str, Any] = field(default_factory=dict)  # new inputs given their default

    @property
    def movable(self) -> bool:
        return self.reason is None and not self.current


def state_task_ids(playbook: Playbook, state: str) -> set[str]:
    """Ids of the tasks ``playbook`` can create in ``state``: the state's own tasks, task
    actions of its ``enter``, and task actions of transitions that end in it."""
    found = {task.id for task in playbook.states[state].tasks}
    for name, source in playbook.states.items():
        actions = list(source.enter) if name == state else []
        for transitions in source.on.values():
            for transition in transitions:
                if (transition.to or name) == state:
                    actions.extend(transition.do)
        found.update(a.task.id for a in actions if isinstance(a, TaskAction))
    return found


def plan_upgrade(instance: Instance, target: Playbook, tz: dt.tzinfo) -> UpgradePlan:
    """Decide whether and how ``instance`` moves to ``target`` (see the module docstring)."""
    plan = UpgradePlan(instance.id, instance.subject, instance.state, instance.version,
                       target.version)
    state = target.states.get(instance.state)
    if instance.status != "open":
        plan.reason = "it is closed"
    elif instance.version == target.version:
        plan.current = True
    elif instance.version > target.version:
        plan.reason = (f"it is on version {instance.version}, newer than {target.version} "
                       "(upgrade never moves an instance back)")
    elif state is None:
        plan.reason = f"state '{instance.state}' does not exist in version {target.version}"
    elif state.is_choice or state.final:
        kind = "a choice state" if state.is_choice else "a final state"
        plan.reason = f"state '{instance.state}' is {kind} in version {target.version}"
    else:
        plan.reason = _inputs_problem(instance, target, tz, plan.defaults)
    if not plan.movable:
        return plan
    assert state is not None
    keep = state_task_ids(target, instance.state)
    plan.cancelled_tasks = [(t.id, t.task) for t in instance.open_tasks()
                            if t.task not in keep]
    timers = {timer.event for timer in state.timers}
    plan.cancelled_timers = [t.event for t in instance.armed_timers() if t.event not in timers]
    return plan


def _inputs_problem(instance: Instance, target: Playbook, tz: dt.tzinfo,
                    defaults: dict[str, Any]) -> str | None:
    for name, spec in target.inputs.items():
        if name in instance.vars and instance.vars[name] is not None:
            try:
                convert(spec, instance.vars[name], tz=tz)
            except ValueError as exc:  # the message names the type, never the value (PHI)
                return f"variable '{name}' does not fit input '{name}' of version " \
                       f"{target.version}: {exc}"
        elif spec.has_default:
            defaults[name] = convert(spec, spec.default, tz=tz)
        elif spec.required:
            return f"version {target.version} requires input '{name}', which it does not have"
    return None


def upgrade(cp: CompiledPlaybook, instance: Instance, plan: UpgradePlan,
            rc: RunContext) -> Outcome:
    """The change that moves ``instance`` to ``cp``'s version as ``plan`` says.

    Raises ``RefusedError`` when the new version cannot run on this instance (its subject
    template fails on the instance's variables), so nothing is written.
    """
    step = _Step(cp, instance.working_copy(), rc, rc.actor)
    inst = step.inst
    data: dict[str, Any] = {"from_version": plan.from_version, "to_version": plan.to_version,
                            "from_digest": instance.digest, "to_digest": cp.digest}
    if plan.cancelled_tasks:
        data["cancelled_tasks"] = [task for _, task in plan.cancelled_tasks]
    if plan.cancelled_timers:
        data["cancelled_timers"] = list(plan.cancelled_timers)
    if plan.defaults:
        data["vars"] = dict(plan.defaults)
    inst.version = cp.playbook.version
    inst.digest = cp.digest
    inst.vars.update(plan.defaults)
    step.record(UPGRADED, from_state=inst.state, to_state=inst.state, data=data)
    cancelled = {occurrence for occurrence, _ in plan.cancelled_tasks}
    for task in [t for t in inst.open_tasks() if t.id in cancelled]:
        step.close_task(task, "cancelled")
    step.disarm([t for t in inst.armed_timers() if t.event in plan.cancelled_timers])
    return step.finish()
