"""What a practice's tailoring of one playbook says, checked against that playbook.

``practice.check_tailoring`` makes sure every name a tailoring uses exists (playbook, setting,
role, task); this module checks the values: a setting keeps the kind of value its default has
(a number stays a number), a task title is a template that compiles and names only the
playbook's variables and settings, a due rule's durations and ``from`` variable make sense (a
date or datetime variable), a recurring task gets no ``due`` override (its occurrences follow
``every``, so the override would silently change nothing), and no setting makes a timer or a
recurrence stand still (``timing``). Every issue points into practice.yaml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2.exceptions import TemplateSyntaxError

from .. import sandbox
from ..errors import Issue, Location, did_you_mean
from ..model import Action, Playbook, SetAction
from . import timing
from .yamlsource import JsonPath, SourceMap


def value_kind(value: Any) -> str | None:
    """A word for the kind of a setting's value; None for null (any value may replace it)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def playbook_variables(playbook: Playbook) -> set[str]:
    """Every variable a playbook declares: inputs, event and task fields, ``set`` names."""
    names = set(playbook.inputs)
    actions: list[Action] = []
    for state in playbook.states.values():
        actions.extend(state.enter)
        for transitions in state.on.values():
            for transition in transitions:
                names.update(f.name for f in transition.fields)
                names.update(transition.set)
                actions.extend(transition.do)
    for action in actions:
        if isinstance(action, SetAction):
            names.update(action.values)
    for task in playbook.all_tasks().values():
        names.update(f.name for f in task.fields)
    names.update(playbook.upgrade_set)
    return names


class _Checker:
    """Collects the issues of one playbook's tailoring section."""

    def __init__(self, playbook: Playbook, source: SourceMap, base: JsonPath) -> None:
        self.playbook = playbook
        self.source = source
        self.base = base
        self.variables = playbook_variables(playbook)
        self.settings = set(playbook.settings)
        self.issues: list[Issue] = []

    def error(self, path: JsonPath, code: str, message: str, hint: str | None = None) -> None:
        self.issues.append(Issue("error", code, message, self.source.at((*self.base, *path)),
                                 hint))

    def template(self, path: JsonPath, text: Any) -> None:
        if not sandbox.is_template(text):
            return
        try:
            tree = sandbox.checked_template(text)
        except TemplateSyntaxError as exc:
            location = self.source.at((*self.base, *path))
            self.issues.append(Issue("error", "syntax", f"template syntax error: {exc.message}",
                                     Location(location.path, location.line, location.col)))
            return
        usage = sandbox.usage_of(tree)
        known = self.variables | sandbox.BUILTIN_NAMES
        for name in sorted(usage.names - known):
            self.error(path, "unknown-name",
                       f"playbook '{self.playbook.id}' has no variable '{name}'",
                       did_you_mean(name, known))
        for name in sorted(usage.settings - self.settings):
            self.error(path, "unknown-setting",
                       f"playbook '{self.playbook.id}' has no setting '{name}'",
                       did_you_mean(name, self.settings))

    def due(self, path: JsonPath, value: Any) -> None:
        if isinstance(value, str):
            self.template(path, value)
            return
        if not isinstance(value, dict):
            return
        for key in ("after", "before"):
            self.template((*path, key), value.get(key))
        source_var = value.get("from")
        if isinstance(source_var, str) and source_var not in self.variables:
            self.error((*path, "from"), "unknown-name",
                       f"'from' names unknown variable '{source_var}' of playbook "
                       f"'{self.playbook.id}'", did_you_mean(source_var, self.variables))
        elif isinstance(source_var, str) and (problem := timing.from_problem(
                source_var, kinds := timing.model_kinds(self.playbook))):
            dates = ", ".join(timing.date_variables(kinds)) or "none"
            self.error((*path, "from"), "from-type", problem,
                       f"date and datetime variables of '{self.playbook.id}': {dates}")

    def standstill(self, overrides: dict[str, Any]) -> None:
        """Report a setting override that makes a timer loop or a recurrence stand still."""
        playbook = self.playbook
        settings = {**playbook.settings, **overrides}
        loops = timing.timer_loops(timing.model_timers(playbook),
                                   timing.model_choices(playbook), settings)
        for timer, amount in loops:
            if amount.setting in overrides:
                self.error(("settings", amount.setting), "timer-loop",
                           f"playbook '{playbook.id}': {timing.loop_message(timer, amount)}",
                           timing.LOOP_HINT)
        for task in playbook.all_tasks().values():
            found = timing.not_positive(task.every, settings)
            if found is not None and found.setting in overrides and task.every:
                self.error(("settings", found.setting), "zero-interval",
                           f"playbook '{playbook.id}': "
                           f"{timing.every_message(task.id, task.every, found)}",
                           timing.EVERY_HINT)


def override_issues(playbook: Playbook, spec: dict[str, Any], source: SourceMap,
                    base: JsonPath) -> list[Issue]:
    """Check the values of one tailoring section ``spec`` (at ``base`` in practice.yaml)."""
    checker = _Checker(playbook, source, base)
    for name, value in (spec.get("settings") or {}).items():
        if name not in playbook.settings:
            continue  # reported as unknown-setting by check_tailoring
        wanted = value_kind(playbook.settings[name])
        got = value_kind(value)
        if wanted is not None and got != wanted:
            checker.error(("settings", name), "setting-type",
                          f"playbook '{playbook.id}' setting '{name}' is {wanted}, got "
                          f"{got or 'nothing'}",
                          f"the playbook's default is {playbook.settings[name]!r}")
    overrides = spec.get("settings")
    if isinstance(overrides, dict):
        checker.standstill({k: v for k, v in overrides.items() if k in playbook.settings})
    tasks = playbook.all_tasks()
    for task_id, override in (spec.get("tasks") or {}).items():
        task = tasks.get(task_id)
        if task is None or not isinstance(override, dict):
            continue
        checker.template(("tasks", task_id, "title"), override.get("title"))
        if "due" in override:
            if task.every:
                checker.error(("tasks", task_id, "due"), "recurring-due",
                              f"task '{task_id}' recurs every {task.every}: its occurrences "
                              "are due by 'every', so a 'due' override would change nothing",
                              "remove this 'due'")
            else:
                checker.due(("tasks", task_id, "due"), override["due"])
    return checker.issues

