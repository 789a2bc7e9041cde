"""``frontdesk describe``: what a playbook asks for and offers, as this practice runs it.

Inputs, settings (with practice.yaml's values), states, events (where they apply, their
fields and who may fire them) and tasks (title, role and due after the practice's tailoring).
No store is opened. ``show`` uses ``field_text`` and ``events_of`` for an instance's next
events, so both commands say the same things the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import click

from ..errors import ExitCode
from ..model import ALL_TASKS_DONE, FieldSpec, Offset, Playbook, Tailoring, TaskAction, TaskSpec
from ..report import printable, terminal_width, to_json, wrapped, yaml_value
from ..settings import Options

_SETTING = re.compile(r"\{\{\s*settings\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# -- the data (also describe --json) -------------------------------------------------------
def field_info(spec: FieldSpec) -> dict[str, Any]:
    """A field spec (an input, an event's or a task's field) as JSON."""
    return {"name": spec.name, "type": spec.type, "required": spec.required,
            "default": spec.default if spec.has_default else None,
            "enum": list(spec.enum) if spec.enum is not None else None,
            "pattern": spec.pattern, "minimum": spec.minimum, "maximum": spec.maximum,
            "description": spec.description}


def _roles(roles: Iterable[str], tailoring: Tailoring) -> list[str]:
    """Playbook roles as the practice names them (practice.yaml ``roles``)."""
    return [tailoring.roles.get(role, role) for role in roles]


def due_of(offset: Offset | None, settings: dict[str, Any]) -> str | None:
    """A due offset as the playbook words it (``2 business days``, ``1 day before
    visit_on``), with this practice's value for each ``{{ settings.NAME }}``."""
    if offset is None:
        return None
    duration = _SETTING.sub(lambda m: str(settings.get(m.group(1), m.group(0))),
                            offset.duration)
    return f"{duration} {offset.direction} {offset.from_var}" if offset.from_var else duration


def events_of(playbook: Playbook, tailoring: Tailoring,
              states: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The events of ``states`` (default: every state), each with the states it applies in,
    its transitions (``from``, ``to`` (None: stays), ``when``, ``by`` (None: anyone),
    ``fields``), the states whose timers fire it and the tasks whose completion fires it."""
    events: dict[str, dict[str, Any]] = {}
    for name in states if states is not None else list(playbook.states):
        state = playbook.states[name]
        for event, transitions in state.on.items():
            info = events.setdefault(event, {"name": event, "states": [], "transitions": [],
                                             "timers": [], "tasks": []})
            info["states"].append(name)
            info["transitions"] += [
                {"from": name, "to": t.to, "when": t.when,
                 "by": _roles(t.by, tailoring) if t.by else None,
                 "fields": [field_info(f) for f in t.fields]} for t in transitions]
        for timer in state.timers:
            if timer.event in events and name not in events[timer.event]["timers"]:
                events[timer.event]["timers"].append(name)
    for task_id, (state_name, spec) in _tasks(playbook).items():
        if spec.done in events and state_name in events[spec.done]["states"]:
            events[spec.done]["tasks"].append(task_id)
    return list(events.values())


def _tasks(playbook: Playbook) -> dict[str, tuple[str, TaskSpec]]:
    """Every task by id with the state it is created in: a state's own tasks, then those of
    its ``enter`` actions, then those of the ``do`` actions of transitions into it."""
    found: dict[str, tuple[str, TaskSpec]] = {}
    for name, state in playbook.states.items():
        for spec in state.tasks:
            found.setdefault(spec.id, (name, spec))
        for action in state.enter:
            if isinstance(action, TaskAction):
                found.setdefault(action.task.id, (name, action.task))
    for name, state in playbook.states.items():
        for transitions in state.on.values():
            for transition in transitions:
                for action in transition.do:
                    if isinstance(action, TaskAction):
                        found.setdefault(action.task.id, (transition.to or name, action.task))
    return found


def _task_info(task_id: str, state: str, spec: TaskSpec, tailoring: Tailoring,
               settings: dict[str, Any]) -> dict[str, Any]:
    override = tailoring.tasks.get(task_id)
    return {
        "id": task_id, "title": (override.title if override else None) or spec.title,
        "role": _roles([spec.role], tailoring)[0] if spec.role else None,
        "due": due_of((override.due if override else None) or spec.due, settings),
        "every": due_of(Offset(spec.every), settings) if spec.every else None,
        "state": state, "fields": [field_info(f) for f in spec.fields], "done": spec.done,
        "checklist": list(spec.checklist), "disabled": task_id in tailoring.disabled_tasks,
    }


def describe_data(playbook: Playbook, tailoring: Tailoring, source: str) -> dict[str, Any]:
    """Everything ``describe`` says of ``playbook`` under ``tailoring``, as JSON data."""
    settings = {**playbook.settings, **tailoring.settings}
    states = []
    for name, state in playbook.states.items():
        states.append({
            "name": name, "title": state.title, "description": state.description,
            "initial": name == playbook.initial, "choice": state.is_choice,
            "final": state.final, "outcome": state.outcome,
            "tasks": [t.id for t in state.tasks], "events": list(state.on),
            "timers": [{"event": t.event, "due": due_of(t.offset, settings)}
                       for t in state.timers]})
    return {
        "id": playbook.id, "version": playbook.version, "title": playbook.title,
        "description": playbook.description, "subject": playbook.subject, "source": source,
        "roles": {role: tailoring.roles.get(role, role) for role in playbook.roles},
        "inputs": [field_info(f) for f in playbook.inputs.values()],
        "settings": [{"name": k, "value": v, "default": playbook.settings[k],
                      "tailored": k in tailoring.settings} for k, v in settings.items()],
        "states": states,
        "events": events_of(playbook, tailoring),
        "tasks": [_task_info(task_id, state, spec, tailoring, settings)
                  for task_id, (state, spec) in _tasks(playbook).items()],
    }


# -- text ----------------------------------------------------------------------------------
def field_text(field: dict[str, Any]) -> str:
    """``visit_on (date, required)``, ``visits (integer, default 1, minimum 1)``."""
    facts = [field["type"]]
    if field["required"]:
        facts.append("required")
    if field["default"] is not None:
        facts.append(f"default {yaml_value(field['default'])}")
    if field["enum"]:
        facts.append("one of " + ", ".join(yaml_value(v, flow=True) for v in field["enum"]))
    for key in ("minimum", "maximum", "pattern"):
        if field[key] is not None:
            facts.append(f"{key} {yaml_value(field[key])}")
    return f"{field['name']} ({', '.join(facts)})"


def transition_text(transition: dict[str, Any], state: bool = True,
                    anyone: bool = True) -> str:
    """``in new -> scheduled, by front_desk``; ``when`` as the playbook says it; ``by
    anyone`` unless ``anyone`` is off (an event nobody fires by hand)."""
    where = f"in {transition['from']} " if state else ""
    move = f"-> {transition['to']}" if transition["to"] else "(stays in the state)"
    parts = [where + move]
    if transition["when"]:
        parts.append(f"if {transition['when']}")
    if transition["by"]:
        parts.append("by " + " or ".join(transition["by"]))
    elif anyone:
        parts.append("by anyone")
    return printable(", ".join(parts))


def event_lines(event: dict[str, Any], width: int | None, state: bool = True) -> list[str]:
    """An event: its name, then each transition with its fields, then what fires it by
    itself (a timer, a task's completion, the engine)."""
    lines = [f"  {event['name']}"]
    for transition in event["transitions"]:
        lines += wrapped(transition_text(transition, state, event["name"] != ALL_TASKS_DONE),
                         width, 6)
        if transition["fields"]:
            lines += wrapped("fields: " + "; ".join(field_text(f) for f in transition["fields"]),
                             width, 8)
    automatic = []
    if event["name"] == ALL_TASKS_DONE:
        automatic.append("the engine, when the state's last task is done")
    if event["timers"]:
        automatic.append("a timer" + (f" (in {', '.join(event['timers'])})" if state else ""))
    if event["tasks"]:
        automatic.append("completing " + ", ".join(event["tasks"]))
    if automatic:
        lines += wrapped("fired by " + "; ".join(automatic), width, 6)
    return lines


def _prose(text: str, width: int | None) -> list[str]:
    """A description indented by two: as authored without a ``width``; else each paragraph
    and each ``- `` item reflowed to the width under its own indent."""
    if width is None:
        return [f"  {printable(line)}" if line.strip() else "" for line in
                text.rstrip().splitlines()]
    blocks: list[tuple[int, str]] = []
    for line in text.rstrip().splitlines():
        body = line.strip()
        indent = len(line) - len(line.lstrip())
        if blocks and blocks[-1][1] and body and not body.startswith("- ") and (
                indent >= blocks[-1][0]):
            blocks[-1] = (blocks[-1][0], f"{blocks[-1][1]} {body}")
        else:
            blocks.append((indent, body))
    lines = []
    for indent, body in blocks:
        hang = indent + 4 if body.startswith("- ") else indent + 2
        lines += wrapped(printable(body), width, indent + 2, hang) if body else [""]
    return lines


def _header_lines(data: dict[str, Any], width: int | None) -> list[str]:
    lines = [f"{data['id']} version {data['version']}: {printable(data['title'])}",
             f"source: {printable(data['source'])}"]
    if data["subject"]:
        lines.append(f"subject: {printable(data['subject'])}")
    roles = [role if mapped == role else f"{role} (this practice: {mapped})"
             for role, mapped in data["roles"].items()]
    lines += wrapped("roles: " + ", ".join(roles), width, 0)
    if data["description"]:
        lines.append("")
        lines += _prose(data["description"], width)
    lines += ["", f"Inputs (frontdesk start {data['id']} --set NAME=VALUE ...):"]
    for field in data["inputs"]:
        lines += wrapped(field_text(field), width, 2)
        if field["description"]:
            lines += wrapped(printable(field["description"]), width, 6)
    if not data["inputs"]:
        lines.append("  none")
    lines += ["", "Settings (as this practice runs them):"]
    for setting in data["settings"]:
        note = (f"  # practice.yaml; the playbook says {yaml_value(setting['default'])}"
                if setting["tailored"] else "")
        lines += wrapped(f"{setting['name']}: {yaml_value(setting['value'])}{note}", width, 2)
    if not data["settings"]:
        lines.append("  none")
    return lines


def _state_lines(data: dict[str, Any], width: int | None) -> list[str]:
    lines = ["", "States:"]
    for state in data["states"]:
        kinds = [k for k in ("initial", "choice", "final") if state[k]]
        if state["outcome"]:
            kinds.append(f"outcome {state['outcome']}")
        title = f": {printable(state['title'])}" if state["title"] else ""
        lines += wrapped(state["name"] + (f" ({', '.join(kinds)})" if kinds else "") + title,
                         width, 2)
        facts = []
        if state["tasks"]:
            facts.append("tasks " + ", ".join(state["tasks"]))
        if state["events"]:
            facts.append("events " + ", ".join(state["events"]))
        facts += [f"timer {t['event']} {printable(t['due'])}" for t in state["timers"]]
        if facts:
            lines += wrapped("; ".join(facts), width, 6)
    return lines


def _task_lines(data: dict[str, Any], width: int | None) -> list[str]:
    lines = ["", "Tasks (frontdesk done TASK --set FIELD=VALUE; TASK as 'today' lists it):"]
    for task in data["tasks"]:
        lines += wrapped(f"{task['id']}: {printable(task['title'])}", width, 2)
        facts = [f"in {task['state']}", f"role {task['role'] or 'anyone'}"]
        if task["due"]:
            facts.append(f"due {printable(task['due'])}")
        if task["every"]:
            facts.append(f"every {printable(task['every'])}")
        if task["done"]:
            facts.append(f"done fires {task['done']}")
        if task["disabled"]:
            facts.append("disabled in practice.yaml")
        lines += wrapped(", ".join(facts), width, 6)
        if task["fields"]:
            lines += wrapped("fields: " + "; ".join(field_text(f) for f in task["fields"]),
                             width, 6)
        lines += [line for step in task["checklist"]
                  for line in wrapped(f"- {printable(step)}", width, 6)]
    return lines


def describe_text(data: dict[str, Any], width: int | None) -> str:
    """``describe_data`` as text, wrapped to ``width`` (None: long lines stay whole)."""
    lines = _header_lines(data, width) + _state_lines(data, width)
    lines += ["", "Events (frontdesk fire INSTANCE EVENT --set FIELD=VALUE):"]
    for event in data["events"]:
        lines += event_lines(event, width)
    return "\n".join(lines + _task_lines(data, width))


def run_describe(options: Options, *, playbook_id: str, as_json: bool) -> int:
    """``describe PLAYBOOK``: the playbook on the search path with practice.yaml's tailoring
    (exit 4 when unknown, 3 when it or the tailoring is invalid)."""
    from ..registry import PlaybookRegistry
    from ..workspace import Workspace

    registry = PlaybookRegistry(Workspace(options))
    playbook = registry.current(playbook_id).playbook
    entry = registry.catalog.find(playbook_id)
    data = describe_data(playbook, registry.workspace.practice.tailoring(playbook.id),
                         f"{entry.origin}: {entry.path}")
    if as_json:
        click.echo(to_json(data))
    else:
        click.echo(describe_text(data, terminal_width()))
    return ExitCode.OK
