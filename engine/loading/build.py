"""Build the frozen model from a document that passed schema and semantic validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..model import (
    DEFAULT_SIGNAL_LIMIT,
    Action,
    ChoiceRule,
    FieldSpec,
    MessageAction,
    Offset,
    Playbook,
    Schedule,
    SetAction,
    SignalAction,
    StartAction,
    State,
    TaskAction,
    TaskOverride,
    TaskSpec,
    Timer,
    Transition,
)
from .reports import build_reports


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def build_field(name: str, spec: Mapping[str, Any]) -> FieldSpec:
    """A ``FieldSpec`` from its mapping."""
    enum = spec.get("enum")
    return FieldSpec(
        name=name,
        type=spec.get("type", "string"),
        required=bool(spec.get("required", False)),
        default=spec.get("default"),
        has_default="default" in spec,
        enum=tuple(enum) if enum is not None else None,
        pattern=spec.get("pattern"),
        minimum=spec.get("minimum"),
        maximum=spec.get("maximum"),
        description=spec.get("description"),
    )


def _fields(data: Mapping[str, Any] | None) -> tuple[FieldSpec, ...]:
    return tuple(build_field(name, spec or {}) for name, spec in (data or {}).items())


def build_offset(value: Any) -> Offset:
    """A due date or timer: ``N unit`` text, or ``{after|before: N unit, from: var}``."""
    if isinstance(value, str):
        return Offset(value)
    direction = "before" if "before" in value else "after"
    return Offset(_text(value[direction]), direction, value.get("from"))


def build_task_override(data: Mapping[str, Any]) -> TaskOverride:
    """A practice's ``title``/``due`` override of one task."""
    return TaskOverride(title=_opt_text(data.get("title")),
                        due=build_offset(data["due"]) if data.get("due") else None)


def build_task(data: Mapping[str, Any]) -> TaskSpec:
    """A ``TaskSpec`` from its mapping."""
    return TaskSpec(
        id=data["id"],
        title=_text(data["title"]),
        role=data.get("role"),
        due=build_offset(data["due"]) if data.get("due") is not None else None,
        every=_opt_text(data.get("every")),
        checklist=tuple(_text(item) for item in data.get("checklist") or ()),
        fields=_fields(data.get("fields")),
        done=data.get("done"),
        description=_opt_text(data.get("description")),
        assign=_opt_text(data.get("assign")),
    )


def build_action(data: Mapping[str, Any]) -> Action:
    """One action: set, task, start or message."""
    if "set" in data:
        return SetAction(dict(data["set"]))
    if "task" in data:
        return TaskAction(build_task(data["task"]))
    if "start" in data:
        return StartAction(data["start"], dict(data.get("with") or {}))
    if "signal" in data:
        return build_signal(data["signal"])
    message = data["message"]
    return MessageAction(message["to"], _text(message["subject"]), _text(message.get("body", "")))


def build_signal(data: Mapping[str, Any]) -> SignalAction:
    """A ``signal`` action: the playbook, event, match and fields of its mapping."""
    return SignalAction(data["playbook"], data["event"], dict(data["match"]),
                        dict(data.get("with") or {}),
                        int(data.get("limit", DEFAULT_SIGNAL_LIMIT)))


def build_schedule(schedule_id: str, playbook: str, data: Mapping[str, Any]) -> Schedule:
    """A playbook's (or the practice's) ``schedule`` mapping."""
    starting = data["starting"]
    return Schedule(
        id=schedule_id, playbook=playbook, every=_text(data["every"]),
        starting=starting if isinstance(starting, dt.date) else dt.date.fromisoformat(
            str(starting)),
        subjects=data["for"], with_=dict(data.get("with") or {}), role=data.get("role"),
        roster=data.get("roster"), key=_opt_text(data.get("key")),
        business_day=data.get("business_day"))


def _transitions(event: str, value: Any) -> tuple[Transition, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(
        Transition(
            event=event,
            to=item.get("to"),
            when=_opt_text(item.get("when")),
            by=tuple([item["by"]] if isinstance(item.get("by"), str) else item.get("by") or ()),
            fields=_fields(item.get("fields")),
            set=dict(item.get("set") or {}),
            do=tuple(build_action(a) for a in item.get("do") or ()),
            note=_opt_text(item.get("note")),
        )
        for item in (i or {} for i in items)
    )


def build_state(name: str, data: Mapping[str, Any]) -> State:
    """A ``State`` from its mapping."""
    return State(
        name=name,
        title=_opt_text(data.get("title")),
        description=_opt_text(data.get("description")),
        tasks=tuple(build_task(t) for t in data.get("tasks") or ()),
        on={event: _transitions(event, value) for event, value in (data.get("on") or {}).items()},
        choose=tuple(ChoiceRule(rule["to"], _opt_text(rule.get("when")))
                     for rule in data.get("choose") or ()),
        timers=tuple(Timer(t["event"], build_offset(t)) for t in data.get("timers") or ()),
        enter=tuple(build_action(a) for a in data.get("enter") or ()),
        final=bool(data.get("final", False)),
        outcome=_opt_text(data.get("outcome")),
    )


def build_playbook(data: Mapping[str, Any]) -> Playbook:
    """A ``Playbook`` from a validated document."""
    return Playbook(
        id=data["playbook"],
        version=int(data["version"]),
        title=_text(data["title"]),
        description=_opt_text(data.get("description")),
        subject=_opt_text(data.get("subject")),
        roles=tuple(data["roles"]),
        inputs={name: build_field(name, spec or {})
                for name, spec in (data.get("inputs") or {}).items()},
        settings=dict(data.get("settings") or {}),
        unique=tuple(data.get("unique") or ()),
        upgrade_set=dict((data.get("upgrade") or {}).get("set") or {}),
        schedule=build_schedule(data["playbook"], data["playbook"], data["schedule"])
        if data.get("schedule") else None,
        initial=data["initial"],
        states={name: build_state(name, state or {})
                for name, state in data["states"].items()},
        reports=build_reports(data.get("reports")),
    )
