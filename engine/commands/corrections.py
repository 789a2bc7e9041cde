"""Commands that rewrite an instance's course: cancel, correct (administrators), assign.

Each parses its options, calls the engine and prints; it returns the exit code. With
``--json`` the instance after the change is printed (the Instance shape).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..errors import ExitCode, UsageError
from ..report import instance_json, printable, to_json
from ..runtime.instance import Instance
from ..service import Engine
from .values_input import given_values


def _print(engine: Engine, instance: Instance, as_json: bool, line: str) -> None:
    if as_json:
        ws = engine.workspace
        click.echo(to_json(instance_json(instance, ws.tz, ws.clock.now())))
    else:
        click.echo(line)


def run_cancel(engine: Engine, *, instance: str, reason: str, actor: str,
               as_json: bool) -> int:
    """``cancel INSTANCE --reason T``: close it as outcome ``cancelled``."""
    after = engine.cancel(instance, reason, actor, whole=as_json)
    cancelled = sum(1 for t in after.tasks
                    if t.status == "cancelled" and t.closed_at == after.updated_at)
    _print(engine, after, as_json, f"{after.id}: cancelled in state '{after.state}'"
           + (f"; {cancelled} open task(s) cancelled" if cancelled else ""))
    return ExitCode.OK


def run_correct(engine: Engine, *, instance: str, sets: Sequence[str], input_name: str | None,
                reason: str, actor: str, as_json: bool) -> int:
    """``correct INSTANCE --set k=v... --reason T``: set the variables, state unchanged."""
    values = given_values(sets, input_name)
    after = engine.correct(instance, values, reason, actor, whole=as_json)
    _print(engine, after, as_json, f"{after.id}: corrected "
           + ", ".join(printable(name) for name in values)
           + f"; still in state '{after.state}'")
    return ExitCode.OK


def run_assign(engine: Engine, *, task: str, person: str | None, clear: bool, actor: str,
               as_json: bool) -> int:
    """``assign TASK PERSON`` or ``assign TASK --clear``."""
    if (person is None) == (not clear):
        raise UsageError("give either PERSON or --clear")
    after = engine.assign(task, None if clear else person, actor, whole=as_json)
    _print(engine, after, as_json,
           f"{task}: unassigned (any holder of its role)" if clear
           else f"{task}: assigned to {person}")
    return ExitCode.OK
