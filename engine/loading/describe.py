"""Name the place a JSON path points at the way a playbook author thinks of it.

``("states", "review", "on", "approve", "to")`` reads ``state 'review', event 'approve', to``
rather than a list of indexes, so messages say which entity is wrong by its name.
"""

from __future__ import annotations

from typing import Any

from .yamlsource import JsonPath

_NAMED_SECTIONS = {
    "states": "state", "inputs": "input", "settings": "setting", "on": "event",
    "fields": "field", "people": "person", "playbooks": "playbook", "set": "variable",
    "with": "input", "timers": "timer", "tasks": "task", "choose": "rule", "steps": "step",
    "enter": "action", "do": "action",
}


def describe_path(path: JsonPath, data: Any) -> str:
    """A short human description of ``path`` inside ``data`` ('' for the top level)."""
    parts: list[str] = []
    node = data
    i = 0
    while i < len(path):
        key = path[i]
        child = _child(node, key)
        label = _NAMED_SECTIONS.get(str(key)) if isinstance(key, str) else None
        if label and i + 1 < len(path):
            name = path[i + 1]
            item = _child(child, name)
            parts.append(f"{label} {_name_of(label, name, item)}")
            node = item
            i += 2
            continue
        parts.append(f"item {key + 1}" if isinstance(key, int) else str(key))
        node = child
        i += 1
    return ", ".join(parts)


def shown(value: Any) -> str:
    """``value`` as text fit for a one-line message: a name holding a newline, a control or
    an invisible character (``dr\\u200blee``) shows it escaped, as Python writes it."""
    text = str(value)
    return text if text.isprintable() else repr(text)[1:-1]


def _name_of(label: str, key: str | int, item: Any) -> str:
    if isinstance(key, str):
        return f"'{shown(key)}'"
    if label == "task" and isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"'{shown(item['id'])}'"
    if label == "timer" and isinstance(item, dict) and isinstance(item.get("event"), str):
        return f"'{shown(item['event'])}'"
    return f"{key + 1}"


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
