"""The effective playbook: a playbook's data with a practice's tailoring applied, annotated.

``frontdesk show-playbook ID --effective`` prints the playbook as the practice runs it: setting
overrides replace the defaults, the role mapping renames roles wherever the runtime applies it
(the ``roles`` list, task roles, ``by`` and message recipients), task ``title``/``due``
overrides replace those of every task with that id (state tasks and task actions), and disabled
tasks are left out. Each changed line gets a comment naming the practice.yaml line it came from
and what the playbook said; a disabled task leaves a comment where it was.

This mirrors ``runtime.step`` (``_Step.settings``, ``_task_spec``, ``check_role``, messages);
a test checks the printed YAML against what the runtime does with the same tailoring.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from .loading.yamlsource import JsonPath
from .yamlout import Omitted, dump, scalar

Notes = dict[JsonPath, str]


SHOWN_WIDTH = 60


def _shown(value: Any) -> str:
    """The playbook's value for a comment, on one line, shortened when long."""
    def flow(item: Any) -> str:
        if isinstance(item, dict):
            return "{" + ", ".join(f"{scalar(k, True, key=True)}: {flow(v)}"
                                   for k, v in item.items()) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(flow(v) for v in item) + "]"
        return scalar(item, flow=True).replace("\n", " ")

    text = flow(value)
    return text if len(text) <= SHOWN_WIDTH else text[: SHOWN_WIDTH - 3] + "..."


class _Tailor:
    """Applies one tailoring section to a copy of the playbook data."""

    def __init__(self, data: dict[str, Any], spec: dict[str, Any],
                 line_of: Callable[[JsonPath], int], practice_name: str) -> None:
        self.data = copy.deepcopy(data)
        self.spec = spec
        self.line_of = line_of
        self.name = practice_name
        self.notes: Notes = {}

    def origin(self, path: JsonPath) -> str:
        return f"from {self.name} line {self.line_of(path)}"

    def replace(self, container: Any, key: Any, path: JsonPath, value: Any,
                origin: JsonPath) -> None:
        existed = key in container if isinstance(container, dict) else True
        was = _shown(container[key]) if existed else "none"
        container[key] = value
        self.notes[path] = f"{self.origin(origin)} (playbook: {was})"

    # -- walking ---------------------------------------------------------------------------
    def action_lists(self) -> Iterator[tuple[list[Any], JsonPath]]:
        """Every ``enter`` and ``do`` list with its path."""
        for name, state in (self.data.get("states") or {}).items():
            if not isinstance(state, dict):
                continue
            if isinstance(state.get("enter"), list):
                yield state["enter"], ("states", name, "enter")
            for event, value in (state.get("on") or {}).items():
                transitions = value if isinstance(value, list) else [value]
                for i, transition in enumerate(transitions):
                    path: JsonPath = ("states", name, "on", event) + (
                        (i,) if isinstance(value, list) else ())
                    if isinstance(transition, dict) and isinstance(transition.get("do"), list):
                        yield transition["do"], (*path, "do")

    def transitions(self) -> Iterator[tuple[dict[str, Any], JsonPath]]:
        for name, state in (self.data.get("states") or {}).items():
            for event, value in ((state or {}).get("on") or {}).items():
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        yield item, ("states", name, "on", event, i)
                elif isinstance(value, dict):
                    yield value, ("states", name, "on", event)

    def tasks(self) -> Iterator[tuple[list[Any], int, dict[str, Any], JsonPath]]:
        """(list holding it, index, task, task path) for state tasks and task actions; for a
        task action the list is the action list (disabling removes the whole action)."""
        for name, state in (self.data.get("states") or {}).items():
            tasks = (state or {}).get("tasks")
            if isinstance(tasks, list):
                for i, task in enumerate(tasks):
                    yield tasks, i, task, ("states", name, "tasks", i)
        for actions, path in self.action_lists():
            for i, action in enumerate(actions):
                if isinstance(action, dict) and isinstance(action.get("task"), dict):
                    yield actions, i, action["task"], (*path, i, "task")

    # -- overrides -------------------------------------------------------------------------
    def apply(self) -> None:
        for name, value in (self.spec.get("settings") or {}).items():
            self.replace(self.data.setdefault("settings", {}), name, ("settings", name),
                         copy.deepcopy(value), ("settings", name))
        self.apply_tasks()
        self.apply_roles()

    def apply_tasks(self) -> None:
        disabled = list(self.spec.get("disabled_tasks") or [])
        overrides = self.spec.get("tasks") or {}
        for holder, index, task, path in list(self.tasks()):
            task_id = str(task.get("id"))
            if task_id in disabled:
                origin = self.origin(("disabled_tasks", disabled.index(task_id)))
                holder[index] = Omitted(f"task '{task_id}' disabled ({origin})")
                continue
            for key in ("title", "due"):
                override = (overrides.get(task_id) or {})
                if key in override:
                    self.replace(task, key, (*path, key), copy.deepcopy(override[key]),
                                 ("tasks", task_id, key))

    def apply_roles(self) -> None:
        """Rewrite every role the practice maps: the role list, task roles, ``by`` and
        message recipients."""
        mapping: dict[str, str] = dict(self.spec.get("roles") or {})
        if not mapping:
            return
        self._map_role_list(mapping)
        for _holder, _index, task, path in self.tasks():
            if isinstance(task, dict) and task.get("role") in mapping:
                self.map_role(task, "role", (*path, "role"), mapping)
        for transition, path in self.transitions():
            self._map_by(transition, path, mapping)
        for actions, path in self.action_lists():
            for i, action in enumerate(actions):
                message = action.get("message") if isinstance(action, dict) else None
                if isinstance(message, dict) and message.get("to") in mapping:
                    self.map_role(message, "to", (*path, i, "message", "to"), mapping)

    def _map_role_list(self, mapping: dict[str, str]) -> None:
        """The playbook's ``roles``: mapped, and a second role mapped onto the same practice
        role left out (with where it went)."""
        roles = self.data.get("roles")
        if not isinstance(roles, list):
            return
        seen: set[str] = set()
        for i, role in enumerate(roles):
            target = mapping.get(role, role)
            if target in seen:
                roles[i] = Omitted(f"role '{role}' is '{target}' here "
                                   f"({self.origin(('roles', role))})")
                continue
            seen.add(target)
            if role in mapping:
                self.map_role(roles, i, ("roles", i), mapping)

    def _map_by(self, transition: Any, path: JsonPath, mapping: dict[str, str]) -> None:
        by = transition.get("by") if isinstance(transition, dict) else None
        if isinstance(by, str) and by in mapping:
            self.map_role(transition, "by", (*path, "by"), mapping)
        elif isinstance(by, list):
            for i, role in enumerate(by):
                if role in mapping:
                    self.map_role(by, i, (*path, "by", i), mapping)

    def map_role(self, container: Any, key: Any, path: JsonPath,
                 mapping: dict[str, str]) -> None:
        role = container[key]
        self.replace(container, key, path, mapping[role], ("roles", role))


def effective_yaml(data: dict[str, Any], spec: dict[str, Any] | None,
                   line_of: Callable[[JsonPath], int], header: list[str],
                   practice_name: str = "practice.yaml") -> str:
    """The effective playbook as YAML text with a comment on every overridden line.

    ``spec`` is the playbook's section of practice.yaml ``playbooks:`` (None: no tailoring);
    ``line_of`` gives the practice.yaml line of a path inside that section.
    """
    tailor = _Tailor(data, spec or {}, line_of, practice_name)
    tailor.apply()
    return dump(tailor.data, tailor.notes, header)
