"""What another playbook may name of a playbook's raw document: its events and variables.

A ``signal`` action names another playbook's event and matches on its variables; validation
checks both against these sets (``semantics``), kept with the other facts of each file on the
search path (``index.Signature``). Read defensively from the raw document (it may have
schema errors), without importing the validation libraries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _transitions(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for state in _dict(data.get("states")).values():
        for event, value in _dict(_dict(state).get("on")).items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    yield event, item


def _actions(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in _dict(data.get("states")).values():
        enter = _dict(state).get("enter")
        yield from (a for a in enter if isinstance(a, dict)) if isinstance(enter, list) else ()
    for _event, transition in _transitions(data):
        do = transition.get("do")
        yield from (a for a in do if isinstance(a, dict)) if isinstance(do, list) else ()


def events(data: Any) -> frozenset[str]:
    """Every event some state of the playbook has a transition for."""
    return frozenset(e for e, _t in _transitions(_dict(data)) if isinstance(e, str))


def variables(data: Any) -> frozenset[str]:
    """Every variable the playbook declares or sets: inputs, event fields, ``set`` names and
    task fields (state tasks and task actions)."""
    data = _dict(data)
    names = set(_dict(data.get("inputs")))
    tasks: list[Any] = []
    for state in _dict(data.get("states")).values():
        listed = _dict(state).get("tasks")
        tasks.extend(listed if isinstance(listed, list) else ())
    for _event, transition in _transitions(data):
        names.update(_dict(transition.get("fields")))
        names.update(_dict(transition.get("set")))
    for action in _actions(data):
        names.update(_dict(action.get("set")))
        tasks.append(action.get("task"))
    for task in tasks:
        names.update(_dict(_dict(task).get("fields")))
    return frozenset(n for n in names if isinstance(n, str))
