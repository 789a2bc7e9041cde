"""Commands that change or read instances: start, fire (one or --all), done, tick, list,
show, outbox. Each parses its options, calls the engine and prints; it returns the exit code."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..delivery.sender import SendReport
from ..errors import (
    DamagedRowsError,
    ExitCode,
    LeftUnchangedError,
    RefusedError,
    TimerFaultsError,
)
from ..model import Playbook
from ..report import (
    Column,
    Table,
    due_text,
    instance_json,
    local_time,
    printable,
    problem_text,
    revived,
    terminal_width,
    to_json,
    wrapped,
    yaml_value,
)
from ..runtime.instance import Instance
from ..service import Engine, Preview, TickResult
from .describe import event_lines, events_of
from .values_input import given_values


def _print_instance(engine: Engine, instance: Instance) -> None:
    """An instance in the Instance JSON shape (docs/reference.md, "JSON shapes")."""
    ws = engine.workspace
    click.echo(to_json(instance_json(instance, ws.tz, ws.clock.now())))


def run_start(engine: Engine, *, playbook: str, sets: Sequence[str], input_name: str | None,
              actor: str, as_json: bool, allow_duplicate: bool = False) -> int:
    """``start PLAYBOOK``: print the new instance's id (or the instance). A refused input
    names the playbook's inputs and points to ``describe``."""
    try:
        instance = engine.start(playbook, given_values(sets, input_name), actor,
                                allow_duplicate=allow_duplicate)
    except RefusedError as exc:
        raise start_refusal(engine, playbook, exc) from None
    if as_json:
        _print_instance(engine, instance)
    else:
        click.echo(instance.id)
    return ExitCode.OK


def start_refusal(engine: Engine, playbook: str, exc: RefusedError) -> RefusedError:
    """A refused ``start``, worded for a person: a refused input names the playbook's inputs
    and points to ``describe`` (anything else is returned as it is)."""
    if exc.instance is not None or exc.playbook != playbook:
        return exc  # not about this playbook's inputs (a guard, a 'start' action's child)
    inputs = engine.playbooks.current(playbook).playbook.inputs.values()
    names = ", ".join(f.name + (" (required)" if f.required else "") for f in inputs)
    joint = "\n" if "\n" in exc.reason else "; "  # after a block of problems: below
    return RefusedError(f"{exc.reason}{joint}its inputs: {names or 'none'} (see 'frontdesk "
                        f"describe {playbook}')", playbook=playbook)


def run_fire(engine: Engine, *, instance: str, event: str, sets: Sequence[str],
             input_name: str | None, note: str | None, actor: str, as_json: bool) -> int:
    """``fire INSTANCE EVENT``: print where the instance is now (or the instance)."""
    after = engine.fire(instance, event, given_values(sets, input_name), actor, note,
                        whole=as_json)
    if as_json:
        _print_instance(engine, after)
    else:
        click.echo(f"{after.id}: {after.state}" + (
            f" (closed: {after.outcome})" if after.status == "closed" else ""))
    return ExitCode.OK


def run_fire_all(engine: Engine, *, playbook: str, event: str, sets: Sequence[str],
                 input_name: str | None, actor: str, as_json: bool, dry_run: bool = False,
                 yes: bool = False) -> int:
    """``fire --all PLAYBOOK EVENT``: the same values given to every instance; print how many
    were fired and not allowed; exit 6 when some changed meanwhile and were left unchanged.
    ``dry_run``: print what would happen to each and write nothing. On a terminal (stdin and
    stdout) it asks first unless ``yes``; scripts and cron are never asked."""
    fields = given_values(sets, input_name)
    if dry_run:
        damaged: list[str] = []
        previews = engine.preview_fire_all(playbook, event, actor, fields, damaged)
        _print_previews(previews, event, as_json)
        _raise_left_over(damaged, [])
        return ExitCode.OK
    if not yes and sys.stdin.isatty() and sys.stdout.isatty() and not _confirmed(
            engine.preview_fire_all(playbook, event, actor, fields), playbook, event):
        click.echo("nothing fired", err=True)
        return ExitCode.OK
    result = engine.fire_all(playbook, event, actor, fields)
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


def _confirmed(previews: list[Preview], playbook: str, event: str) -> bool:
    """Ask (on stderr, so a --json stdout stays clean) before firing at many instances."""
    ready = sum(1 for p in previews if p.after is not None)
    click.echo(f"'{event}' would fire at {ready} of {len(previews)} open instance(s) of "
               f"'{playbook}' ({len(previews) - ready} not allowed; --dry-run lists them).",
               err=True)
    return ready > 0 and click.confirm("Fire it?", default=False, err=True)


def _print_previews(previews: list[Preview], event: str, as_json: bool) -> None:
    """What ``fire --all --dry-run`` found: per instance, where the event would take it or
    why it would be refused."""
    if as_json:
        click.echo(to_json({
            "dry_run": True,
            "would_fire": [{"instance": p.instance.id, "from": p.instance.state,
                            "to": p.after.state, "status": p.after.status,
                            "outcome": p.after.outcome}
                           for p in previews if p.after is not None],
            "not_allowed": [{"instance": p.instance.id, "state": p.instance.state,
                             "reason": p.reason} for p in previews if p.after is None]}))
        return
    rows = []
    for p in previews:
        after = p.after
        if after is None:
            what = f"refused: {p.reason}"
        else:
            what = f"{p.instance.state} -> {after.state}" + (
                f" (closed: {after.outcome})" if after.status == "closed" else "")
        rows.append([p.instance.id, printable(p.instance.subject or ""), printable(what)])
    columns = (Column("INSTANCE"), Column("FOR", "cut", most=24, least=12),
               Column(f"IF '{event}' WERE FIRED NOW", "wrap", least=30, main=True))
    if rows:
        click.echo("\n".join(Table(columns, rows, terminal_width()).lines(rows)))
    ready = sum(1 for p in previews if p.after is not None)
    click.echo(f"dry run: would fire {ready}, not allowed {len(previews) - ready}; "
               "nothing was written")


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
    after = engine.done(task, given_values(sets, input_name), actor, whole=as_json)
    if as_json:
        _print_instance(engine, after)
    else:
        click.echo(f"{task} done; {after.id}: {after.state}")
    return ExitCode.OK


def run_tick(engine: Engine, *, as_json: bool, send: bool = True) -> int:
    """``tick``: print each timer fired, then (with ``send``) deliver the messages whose
    retry time has come; exit 6 when some instances changed meanwhile, 5 when a due timer
    cannot fire as its playbook stands (each named on stderr, the others fired and committed).
    Each text line starts with the moment the tick ran (practice time, ISO-8601 with its
    offset), so a cron log that collects stdout and stderr says when each run happened and
    what it did; ``--json`` is the document alone. The timers are committed before anything
    is sent."""
    from ..digests import due_now

    ws = engine.workspace
    at = "" if as_json else ws.clock.now().astimezone(ws.tz).isoformat(timespec="seconds")
    result = engine.tick()
    digests = due_now(engine)  # the day's digests, at delivery.digest.at on business days
    delivered = engine.send(honour_backoff=True) if send else None
    if as_json:
        click.echo(to_json(_tick_document(result, digests, delivered)))
    else:
        _echo_tick(at, result, digests, delivered)
    _raise_left_over(result.damaged, result.conflicts)
    if result.faults:
        raise TimerFaultsError(sorted({f.instance for f in result.faults}))
    return ExitCode.OK


def _tick_document(result: TickResult, digests: list[Any],
                   delivered: SendReport | None) -> dict[str, Any]:
    from .delivery import report_json

    document: dict[str, Any] = {
        "fired": [{"instance": i, "event": e} for i, e in result.fired],
        "not_applied": [{"instance": i, "event": e} for i, e in result.not_applied]}
    if result.faults:
        document["failed"] = [{"instance": f.instance, "timer": f.timer, "event": f.event,
                               "reason": f.reason} for f in result.faults]
    if delivered is not None and not delivered.not_configured:
        document["delivery"] = report_json(delivered)
    if digests:
        document["digests"] = digests
    scheduled = result.scheduled
    if scheduled is not None and scheduled.anything:
        from ..schedules import to_document

        document["scheduled"] = to_document(scheduled)
    return document


def _echo_tick(at: str, result: TickResult, digests: list[Any],
               delivered: SendReport | None) -> None:
    from .delivery import summary

    if result.scheduled is not None:
        from ..schedules import print_lines

        print_lines(result.scheduled, at)
    if result.fired:  # one write for them all (click.echo flushes each line it writes)
        click.echo("\n".join(f"{at} {instance_id}: {event}" for instance_id, event in result.fired))
    for fault in result.faults:
        click.echo(f"{at} {fault.instance}: error: timer '{fault.event}' ({fault.timer}) "
                   f"cannot fire: {printable(fault.reason)}", err=True)
    click.echo(f"{at} tick: {len(result.fired)} timer(s) fired"
               + (f", {len(result.not_applied)} not applicable" if result.not_applied else "")
               + (f", {len(result.faults)} cannot fire" if result.faults else ""), err=True)
    if digests:
        click.echo(f"{at} digest: {len(digests)} enqueued", err=True)
    if delivered is not None and (delivered.sent or delivered.retry or delivered.failed):
        click.echo(f"{at} send: {summary(delivered)}", err=True)


LIST_COLUMNS = (Column("ID"), Column("PLAYBOOK", "cut", most=22, least=10),
                Column("STATE", "cut", most=20, least=10),
                Column("STATUS", "cut", most=14, least=6),
                Column("SUBJECT", "wrap", least=20, main=True))


def run_list(engine: Engine, *, playbook: str | None, state: str | None,
             status: str | None, as_json: bool, wide: bool = False) -> int:
    """``list``: a table of instances fitted to the terminal unless ``wide`` (or a list of
    Instances); instances whose rows cannot be read are named at the end (exit 8) after the
    others are listed."""
    damaged: list[str] = []
    instances = engine.list_instances(playbook=playbook, state=state, status=status,
                                      damaged=damaged)
    if as_json:
        ws = engine.workspace
        now = ws.clock.now()
        click.echo(to_json([instance_json(i, ws.tz, now) for i in instances]))
    elif instances:
        rows = [[i.id, i.playbook, i.state,
                 i.outcome or i.status + (" (stuck)" if i.problems() else ""),
                 printable(i.subject or "")] for i in instances]
        table = Table(LIST_COLUMNS, rows, terminal_width(wide))
        click.echo("\n".join(table.lines(rows)))
        _say_stuck([i for i in instances if i.problems()])
    else:
        if not damaged:
            click.echo("no instances", err=True)
    if damaged:
        raise DamagedRowsError(damaged)
    return ExitCode.OK


def _say_stuck(stuck: list[Instance]) -> None:
    """A note on stderr under ``list``: which instances need attention, and how to see why."""
    if stuck:
        click.echo(f"{len(stuck)} instance(s) stuck, a timer cannot fire: "
                   + ", ".join(i.id for i in stuck[:5]) + (" ..." if len(stuck) > 5 else "")
                   + " ('frontdesk show ID' says why)", err=True)


def run_show(engine: Engine, *, instance: str, as_json: bool) -> int:
    """``show INSTANCE|TASK``: state, variables, tasks, timers, the events that can be fired
    next and the history of an instance, or of a task occurrence's instance with that task
    pointed out. ``--json`` is the Instance with timers and history (the same for a task)."""
    found, task = engine.find(instance)
    history = engine.history(found.id)
    ws = engine.workspace
    if as_json:
        data: dict[str, Any] = instance_json(found, ws.tz, ws.clock.now())
        data["timers"] = [{"event": t.event, "due": t.due.isoformat(), "status": t.status}
                          for t in found.timers]
        data["history"] = history
        click.echo(to_json(data))
        return ExitCode.OK
    playbook = engine.playbook_of(found)
    view = _View(found, playbook, ws.tz, terminal_width(), task)
    lines = view.head() + view.tasks()
    lines += view.next_events(events_of(playbook, ws.practice.tailoring(playbook.id),
                                        [found.state]) if found.status == "open" else [])
    click.echo("\n".join(lines + view.history(history)))
    return ExitCode.OK


class _View:
    """The text of ``show``: one instance for a person, fitted to ``width``."""

    def __init__(self, instance: Instance, playbook: Playbook, tz: dt.tzinfo,
                 width: int | None, task: str | None) -> None:
        instance.require_whole("show")
        self.instance = instance
        self.playbook = playbook
        self.tz = tz
        self.width = width
        self.task = task

    def head(self) -> list[str]:
        """Who, where it is, when, and its variables."""
        inst = self.instance
        state = self.playbook.states.get(inst.state)
        title = f" ({printable(state.title)})" if state and state.title else ""
        lines = [f"{inst.id}  {inst.playbook} v{inst.version}  {printable(inst.subject or '')}"]
        if self.task is not None:
            spec = next(t.task for t in inst.tasks if t.id == self.task)
            lines.append(f"task {self.task} ({spec}) of this instance, marked > below")
        lines.append(f"state: {inst.state}{title}  status: {inst.status}"
                     + (f"  outcome: {inst.outcome}" if inst.outcome else ""))
        for timer in inst.problems():
            lines += wrapped(f"STUCK: {problem_text(timer)}; fix the playbook and 'upgrade', "
                             "or 'cancel' the instance", self.width, 0)
        if inst.started_at is not None:
            lines.append(f"started: {local_time(inst.started_at, self.tz)}" + (
                f"  updated: {local_time(inst.updated_at, self.tz)}" if inst.updated_at else ""))
        if inst.vars:
            lines.append("vars:")
            for name, value in inst.vars.items():
                lines += wrapped(f"{printable(name)}: {yaml_value(value, self.tz)}",
                                 self.width, 2)
        return lines

    def tasks(self) -> list[str]:
        """Every task occurrence, then the armed timers."""
        inst = self.instance
        lines = []
        if inst.tasks:
            columns = [Column("ID"), Column("STATUS"), Column("DUE"),
                       Column("ROLE", "cut", most=14, least=8),
                       Column("TITLE", "wrap", least=24, main=True)]
            rows = [[t.id, t.status, due_text(t.due, self.tz), printable(t.role or "-"),
                     printable(t.title)] for t in inst.tasks]
            if any(t.assignee for t in inst.tasks):
                columns.insert(4, Column("ASSIGNEE", "cut", most=14, least=8))
                for row, t in zip(rows, inst.tasks, strict=True):
                    row.insert(4, t.assignee or "-")
            if self.task is not None:
                columns.insert(0, Column(""))
                rows = [[">" if t.id == self.task else "", *row]
                        for row, t in zip(rows, inst.tasks, strict=True)]
            lines.append("tasks:")
            lines += Table(columns, rows, self.width, indent=2).lines(rows)
        armed = [t for t in inst.timers if t.status == "armed"]
        if armed:
            lines.append("timers:")
            width = max(len(t.event) for t in armed)
            lines += [f"  {t.event:<{width}}  due {due_text(t.due, self.tz)}" for t in armed]
        return lines

    def next_events(self, events: list[dict[str, Any]]) -> list[str]:
        """The events that can be fired from the current state: where they lead, their
        fields, who may fire them, and what fires them by itself."""
        if not events:
            return []
        lines = [f"next events (frontdesk fire {self.instance.id} EVENT --set FIELD=VALUE):"]
        for event in events:
            lines += event_lines(event, self.width, state=False)
        return lines

    def history(self, records: list[dict[str, Any]]) -> list[str]:
        """The audit records: when (practice time), who, what, and what they set or said."""
        lines = ["history:"]
        seq_width = max((len(str(r["seq"])) for r in records), default=1)
        actor_width = max((len(r["actor"]) for r in records), default=1)
        for record in records:
            lines += wrapped(f"#{record['seq']:<{seq_width}}  {local_time(record['at'], self.tz)}"
                             f"  {printable(record['actor']):<{actor_width}}  "
                             + record_what(record), self.width, 2, seq_width + 5)
            for detail in record_details(record["action"], revived(record["data"]), self.tz):
                lines += wrapped(detail, self.width, seq_width + 5)
        return lines


def record_what(record: dict[str, Any]) -> str:
    """``transition schedule new -> scheduled``: the action, event and move of a record."""
    parts = [record["action"]]
    if record["event"]:
        parts.append(record["event"])
    if record["action"] in ("start", "transition"):
        parts.append(f"{record['from'] or ''} -> {record['to'] or ''}".strip())
    if record["data"].get("choice"):
        parts.append("(choice)")
    return " ".join(parts)


def record_details(action: str, data: dict[str, Any], tz: dt.tzinfo) -> list[str]:
    """The lines under a history record: its task, the values it set, its notes, and why a
    timer's event was not applied."""
    lines = []
    if data.get("task"):
        facts = [f"task: {data['task']}" + (f" ({data['id']})" if data.get("id") else "")]
        if action == "task_created":
            facts += [f"due {due_text(data.get('due'), tz)}", f"role {data.get('role') or '-'}"]
        lines.append(printable(", ".join(facts)))
    lines += [f"{key}: {yaml_value(data[key], tz)}" for key in ("inputs", "fields", "vars")
              if data.get(key)]
    lines += [f"{label}: {printable(data[key])}" for key, label in (
        ("note", "note"), ("note_text", "playbook note"), ("reason", "reason"))
        if data.get(key)]
    if data.get("applied") is False:
        lines.append("not applied (the event was refused)")
    return lines


def run_outbox(engine: Engine, *, as_json: bool) -> int:
    """``outbox``: the rendered messages."""
    messages = engine.outbox()
    if as_json:
        click.echo(to_json([m.to_json() for m in messages]))
        return ExitCode.OK
    for m in messages:
        about = f"  ({m.instance})" if m.instance else ""
        click.echo(f"[{m.at[:16]}] {m.status:<7} to {m.to_name}: {printable(m.subject)}{about}")
        if m.status != "sent" and m.last_error:
            click.echo(f"    ! {printable(m.last_error)}")
        for line in m.body.splitlines():  # a body's own lines are kept
            click.echo(f"    {printable(line)}")
    if not messages:
        click.echo("outbox is empty", err=True)
    return ExitCode.OK
