"""Changes that rewrite an instance's course without an event: cancel, correct, assign.

Pure like ``runtime.step``: each takes the instance, the compiled playbook and the run
context, checks what the instance itself decides (closed, unknown variable, a value that does
not fit its declared type, a task that is not open, an assignee without the role) and returns
the ``Outcome`` to commit; a refusal is a ``RefusedError`` before anything is returned. Who
may ask (administrators for ``cancel`` and ``correct``) is the caller's check.

Audit actions (docs/reference.md, "Audit log"): ``cancelled`` (``data.reason``), then one
``task_cancelled`` per open task; ``corrected`` (``data.vars``, the new values, and
``data.reason``); ``assigned`` (``data.task``, ``data.id``, ``data.assignee``, null when
cleared).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RefusedError
from ..values import convert
from .compiled import CompiledPlaybook
from .instance import Instance
from .step import Outcome, RunContext, _budgeted, _Step, assignment_problem, task_of

CANCELLED = "cancelled"
CORRECTED = "corrected"
ASSIGNED = "assigned"


def _open_step(cp: CompiledPlaybook, instance: Instance, rc: RunContext) -> _Step:
    if instance.status != "open":
        raise RefusedError(f"instance is closed ({instance.outcome or instance.state})",
                           instance=instance.id)
    return _Step(cp, instance.working_copy(), rc, rc.actor)


@_budgeted
def cancel(cp: CompiledPlaybook, instance: Instance, reason: str, rc: RunContext) -> Outcome:
    """Close an open instance as outcome ``cancelled`` where it stands: its open tasks
    cancelled, its armed timers disarmed; the state is kept."""
    step = _open_step(cp, instance, rc)
    inst = step.inst
    step.record(CANCELLED, from_state=inst.state, to_state=inst.state,
                data={"reason": reason})
    for task in inst.open_tasks():
        step.close_task(task, "cancelled")
    step.disarm(inst.armed_timers())
    inst.status, inst.outcome = "closed", CANCELLED
    return step.finish()


@_budgeted
def correct(cp: CompiledPlaybook, instance: Instance, given: Mapping[str, Any], reason: str,
            rc: RunContext) -> Outcome:
    """Set instance variables to corrected values, converted by the type an input, event
    field or task field declares for the name; the state, tasks and timers stay. The subject
    is rendered again."""
    if not given:
        raise RefusedError("nothing to correct: give --set NAME=VALUE or --input FILE",
                           instance=instance.id)
    step = _open_step(cp, instance, rc)
    declared = cp.playbook.variables()
    values: dict[str, Any] = {}
    for name, raw in given.items():
        if name not in declared and name not in step.inst.vars:
            known = ", ".join(sorted(declared)) or "none"
            raise RefusedError(f"playbook '{cp.playbook.id}' has no variable '{name}' "
                               f"(variables: {known})", instance=instance.id)
        spec = declared.get(name)
        try:
            values[name] = raw if spec is None or raw is None else convert(spec, raw, tz=rc.tz)
        except ValueError as exc:  # names the field and type, never the value (PHI)
            raise RefusedError(f"variable '{name}': {exc}", instance=instance.id) from None
    step.inst.vars.update(values)
    step.record(CORRECTED, from_state=step.inst.state, to_state=step.inst.state,
                data={"vars": values, "reason": reason})
    return step.finish()


@_budgeted
def assign(cp: CompiledPlaybook, instance: Instance, task_id: str, person: str | None,
           rc: RunContext) -> Outcome:
    """Give the open task occurrence ``task_id`` to ``person`` (None: back to its role's
    pool). The person must hold the task's role; omnipotent actors (scenario tests) are not
    people and cannot be given tasks."""
    step = _Step(cp, instance.working_copy(), rc, rc.actor)
    inst = step.inst
    task = task_of(inst, task_id)
    if not task.is_open:
        raise RefusedError(f"task '{task_id}' is {task.status}", instance=inst.id,
                           task=task.task)
    if person is not None:
        why = assignment_problem(rc.practice, person, task.role)
        if why:
            raise RefusedError(f"cannot assign it: {why}", instance=inst.id, task=task.task)
    inst.own_task(task).assignee = person
    step.record(ASSIGNED, from_state=task.state, to_state=task.state,
                data={"task": task.task, "id": task.id, "assignee": person})
    return step.finish()
