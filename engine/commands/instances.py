"""Commands that change or read instances: start, fire (one or --all), done, tick, list,
show, outbox. Each parses its options, calls the engine and prints; it returns the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..errors import DamagedRowsError, ExitCode, LeftUnchangedError
from ..report import instance_json, printable, to_json
from ..runtime.instance import Instance, plain
from ..service import Engine
from .values_input import given_values


def _print_instance(engine: Engine, instance: Instance) -> None:
    """An instance in the Instance JSON shape (docs/reference.md, "JSON shapes")."""
    ws = engine.workspace
    click.echo(to_json(instance_json(instance, ws.tz, ws.clock.now())))


def run_start(engine: Engine, *, playbook: str, sets: Sequence[str], input_name: str | None,
              actor: str, as_json: bool) -> int:
    """``start PLAYBOOK``: print the new instance's id (or the instance)."""
    instance = engine.start(playbook, given_values(sets, input_name), actor)
    if as_json:
        _print_instance(engine, instance)
    else:
        click.echo(instance.id)
    return ExitCode.OK


def run_fire(engine: Engine, *, instance: str, event: str, sets: Sequence[str],
             input_name: str | None, note: str | None, actor: str, as_json: bool) -> int:
    """``fire INSTANCE EVENT``: print where the instance is now (or the instance)."""
    after = engine.fire(instance, event, given_values(sets, input_name), actor, note)
    if as_json:
        _print_instance(engine, after)
    else:
        click.echo(f"{after.id}: {after.state}" + (
            f" (closed: {after.outcome})" if after.status == "closed" else ""))
    return ExitCode.OK


def run_fire_all(engine: Engine, *, playbook: str, event: str, sets: Sequence[str],
                 input_name: str | None, actor: str, as_json: bool) -> int:
    """``fire --all PLAYBOOK EVENT``: the same values given to every instance; print how many
    were fired and not allowed; exit 6 when some changed meanwhile and were left unchanged."""
    result = engine.fire_all(playbook, event, actor, given_values(sets, input_name))
    if as_json:
        document: dict[str, list[str]] = {"fired": result.fired,
                                          "not_allowed": result.not_allowed}
        if result.conflicts:
            document["conflicts"] = result.conflicts
        click.echo(to_json(document))
    else:
        click.echo(f"fired {len(result.fired)}, not allowed {len(result.not_allowed)}"
                   + (f", conflicts {len(result.conflicts)}" if result.conflicts else ""))
    _raise_left_over(result.damaged, result.conflicts)
    return ExitCode.OK


def _raise_left_over(damaged: list[str], conflicts: list[str]) -> None:
    """End a batch command that handled what it could: damaged rows (exit 8) first, then
    instances changed meanwhile (exit 6)."""
    if damaged:
        raise DamagedRowsError(damaged)
    if conflicts:
        raise LeftUnchangedError(conflicts)


def run_done(engine: Engine, *, task: str, sets: Sequence[str], input_name: str | None,
             actor: str, as_json: bool) -> int:
    """``done TASK``: print where the task's instance is now (or the instance)."""
    after = engine.done(task, given_values(sets, input_name), actor)
    if as_json:
        _print_instance(engine, after)
    else:
        click.echo(f"{task} done; {after.id}: {after.state}")
    return ExitCode.OK


def run_tick(engine: Engine, *, as_json: bool) -> int:
    """``tick``: print each timer fired; exit 6 when some instances changed meanwhile. Each
    text line starts with the moment the tick ran (practice time, ISO-8601 with its offset),
    so a cron log that collects stdout and stderr says when each run happened and what it
    did; ``--json`` is the document alone."""
    ws = engine.workspace
    at = "" if as_json else ws.clock.now().astimezone(ws.tz).isoformat(timespec="seconds")
    result = engine.tick()
    if as_json:
        click.echo(to_json({
            "fired": [{"instance": i, "event": e} for i, e in result.fired],
            "not_applied": [{"instance": i, "event": e} for i, e in result.not_applied]}))
    else:
        for instance_id, event in result.fired:
            click.echo(f"{at} {instance_id}: {event}")
        click.echo(f"{at} tick: {len(result.fired)} timer(s) fired"
                   + (f", {len(result.not_applied)} not applicable"
                      if result.not_applied else ""), err=True)
    _raise_left_over(result.damaged, result.conflicts)
    return ExitCode.OK


def run_list(engine: Engine, *, playbook: str | None, state: str | None,
             status: str | None, as_json: bool) -> int:
    """``list``: one line per instance (or a list of Instances); instances whose rows cannot
    be read are named at the end (exit 8) after the others are listed."""
    damaged: list[str] = []
    instances = engine.list_instances(playbook=playbook, state=state, status=status,
                                      damaged=damaged)
    if as_json:
        ws = engine.workspace
        now = ws.clock.now()
        click.echo(to_json([instance_json(i, ws.tz, now) for i in instances]))
    else:
        for inst in instances:
            status_text = inst.outcome or inst.status
            click.echo(f"{inst.id:<12} {inst.playbook:<22} {inst.state:<20} "
                       f"{status_text:<12} {printable(inst.subject or '')}")
        if not instances and not damaged:
            click.echo("no instances", err=True)
    if damaged:
        raise DamagedRowsError(damaged)
    return ExitCode.OK


def run_show(engine: Engine, *, instance: str, as_json: bool) -> int:
    """``show INSTANCE``: state, variables, tasks, timers and history."""
    found = engine.get_instance(instance)
    history = engine.history(instance)
    if as_json:
        ws = engine.workspace
        data: dict[str, Any] = instance_json(found, ws.tz, ws.clock.now())
        data["timers"] = [{"event": t.event, "due": t.due.isoformat(), "status": t.status}
                          for t in found.timers]
        data["history"] = history
        click.echo(to_json(data))
    else:
        click.echo("\n".join(_show_lines(found, history)))
    return ExitCode.OK


def _show_lines(instance: Instance, history: list[dict[str, Any]]) -> list[str]:
    lines = [f"{instance.id}  {instance.playbook} v{instance.version}  "
             f"{printable(instance.subject or '')}",
             f"state: {instance.state}  status: {instance.status}"
             + (f"  outcome: {instance.outcome}" if instance.outcome else "")]
    if instance.vars:
        lines.append("vars:")
        lines += [f"  {printable(k)}: {printable(v)}" for k, v in plain(instance.vars).items()]
    if instance.tasks:
        lines.append("tasks:")
        for t in instance.tasks:
            due = t.due.isoformat() if t.due is not None else "-"
            lines.append(f"  {t.id:<16} {t.status:<9} due {due:<10} {t.role or '-':<14} "
                         f"{printable(t.title)}")
    armed = [t for t in instance.timers if t.status == "armed"]
    if armed:
        lines.append("timers:")
        lines += [f"  {t.event:<20} due {t.due.isoformat()}" for t in armed]
    lines.append("history:")
    for record in history:
        move = f"{record['from'] or ''} -> {record['to'] or ''}" if record["action"] in (
            "start", "transition") else ""
        lines.append(f"  #{record['seq']:<5} {record['at'][:19]} {record['actor']:<10} "
                     f"{record['action']:<15} {record['event'] or '':<18} {move}")
    return lines


def run_outbox(engine: Engine, *, as_json: bool) -> int:
    """``outbox``: the rendered messages."""
    messages = engine.outbox()
    if as_json:
        click.echo(to_json(messages))
        return ExitCode.OK
    for m in messages:
        click.echo(f"[{m['at'][:16]}] to {m['to']}: {printable(m['subject'])}  "
                   f"({m['instance']})")
        for line in (m.get("body") or "").splitlines():  # a body's own lines are kept
            click.echo(f"    {printable(line)}")
    if not messages:
        click.echo("outbox is empty", err=True)
    return ExitCode.OK
