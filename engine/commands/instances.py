"""Commands that change or read instances: start, fire, done, tick, list, show, outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..errors import ExitCode, UsageError
from ..report import instance_json, to_json
from ..runtime.instance import Instance, plain
from ..service import Engine


def parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` pairs as a mapping (values stay text; the playbook types them)."""
    values: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():  # the text itself may be a value (PHI): not echoed
            raise UsageError(f"--set expects key=value; --set number {number} has "
                             + ("no key" if sep else "no '='"))
        values[key.strip()] = value
    return values


def _print_instance(engine: Engine, instance: Instance, as_json: bool) -> None:
    if as_json:
        click.echo(to_json(instance_json(instance, engine.tz, engine.clock.now())))
    else:
        click.echo(instance.id)


def run_start(engine: Engine, playbook: str, sets: Sequence[str], actor: str,
              as_json: bool) -> int:
    instance = engine.start(playbook, parse_sets(sets), actor)
    _print_instance(engine, instance, as_json)
    return ExitCode.OK


def run_fire(engine: Engine, target: str, event: str, sets: Sequence[str], note: str | None,
             actor: str, as_json: bool, fire_all: bool) -> int:
    if fire_all:
        if sets:
            raise UsageError("--all fires without --set values")
        result = engine.fire_all(target, event, actor)
        document: dict[str, list[str]] = {"fired": result.fired,
                                          "not_allowed": result.not_allowed}
        if result.conflicts:
            document["conflicts"] = result.conflicts
        if as_json:
            click.echo(to_json(document))
        else:
            click.echo(f"fired {len(result.fired)}, not allowed {len(result.not_allowed)}"
                       + (f", conflicts {len(result.conflicts)}" if result.conflicts else ""))
        return _conflicts_left(result.conflicts)
    instance = engine.fire(target, event, parse_sets(sets), actor, note)
    if as_json:
        _print_instance(engine, instance, True)
    else:
        click.echo(f"{instance.id}: {instance.state}" + (
            f" (closed: {instance.outcome})" if instance.status == "closed" else ""))
    return ExitCode.OK


def run_done(engine: Engine, task_id: str, sets: Sequence[str], actor: str,
             as_json: bool) -> int:
    instance = engine.done(task_id, parse_sets(sets), actor)
    if as_json:
        _print_instance(engine, instance, True)
    else:
        click.echo(f"{task_id} done; {instance.id}: {instance.state}")
    return ExitCode.OK


def run_tick(engine: Engine, as_json: bool) -> int:
    result = engine.tick()
    if as_json:
        click.echo(to_json({
            "fired": [{"instance": i, "event": e} for i, e in result.fired],
            "not_applied": [{"instance": i, "event": e} for i, e in result.not_applied]}))
    else:
        for instance_id, event in result.fired:
            click.echo(f"{instance_id}: {event}")
        click.echo(f"tick: {len(result.fired)} timer(s) fired"
                   + (f", {len(result.not_applied)} not applicable"
                      if result.not_applied else ""), err=True)
    return _conflicts_left(result.conflicts)


def _conflicts_left(conflicts: Sequence[str]) -> int:
    """Exit 6 when some instances changed under a batch command: run it again for them."""
    if not conflicts:
        return ExitCode.OK
    click.echo(f"frontdesk: error: {len(conflicts)} instance(s) changed meanwhile and were left "
               f"unchanged ({', '.join(conflicts[:5])}{', ...' if len(conflicts) > 5 else ''});"
               " run the command again", err=True)
    return ExitCode.CONFLICT


def run_list(engine: Engine, playbook: str | None, state: str | None, status: str | None,
             as_json: bool) -> int:
    instances = engine.store.list_instances(playbook=playbook, state=state, status=status)
    now = engine.clock.now()
    if as_json:
        click.echo(to_json([instance_json(i, engine.tz, now) for i in instances]))
        return ExitCode.OK
    for inst in instances:
        status_text = inst.outcome or inst.status
        click.echo(f"{inst.id:<12} {inst.playbook:<22} {inst.state:<20} {status_text:<12} "
                   f"{inst.subject or ''}")
    if not instances:
        click.echo("no instances", err=True)
    return ExitCode.OK


def run_show(engine: Engine, instance_id: str, as_json: bool) -> int:
    instance = engine.store.get_instance(instance_id)
    now = engine.clock.now()
    history = list(engine.store.audit_records(instance=instance_id))
    if as_json:
        data: dict[str, Any] = instance_json(instance, engine.tz, now)
        data["timers"] = [{"event": t.event, "due": t.due.isoformat(), "status": t.status}
                          for t in instance.timers]
        data["history"] = history
        click.echo(to_json(data))
        return ExitCode.OK
    lines = [f"{instance.id}  {instance.playbook} v{instance.version}  {instance.subject or ''}",
             f"state: {instance.state}  status: {instance.status}"
             + (f"  outcome: {instance.outcome}" if instance.outcome else "")]
    if instance.vars:
        lines.append("vars:")
        lines += [f"  {k}: {v}" for k, v in plain(instance.vars).items()]
    if instance.tasks:
        lines.append("tasks:")
        for t in instance.tasks:
            due = t.due.isoformat() if t.due is not None else "-"
            lines.append(f"  {t.id:<16} {t.status:<9} due {due:<10} {t.role or '-':<14} "
                         f"{t.title}")
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
    click.echo("\n".join(lines))
    return ExitCode.OK


def run_outbox(engine: Engine, as_json: bool) -> int:
    messages = engine.store.outbox()
    if as_json:
        click.echo(to_json(messages))
        return ExitCode.OK
    for m in messages:
        click.echo(f"[{m['at'][:16]}] to {m['to']}: {m['subject']}  ({m['instance']})")
        if m.get("body"):
            click.echo(f"    {m['body']}")
    if not messages:
        click.echo("outbox is empty", err=True)
    return ExitCode.OK
