"""Semantic checks of a playbook document: everything JSON Schema cannot say.

Runs on the raw document (defensively, so it also works beside schema errors) and returns every
problem as a located issue: unknown states and roles, unreachable states, duplicate task ids,
choice rules, template and expression syntax, unknown names, events with no transition, timers
with ``by``, ``start`` of unknown playbooks, field patterns RE2 cannot run, timers and
recurrences that never move forward and ``from`` variables that hold no date (``timing``), and
the "no final state reachable" warning.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2.exceptions import TemplateSyntaxError

from .. import sandbox
from ..errors import Issue, Location, did_you_mean
from ..model import FieldSpec
from ..values import convert, pattern_problem
from . import timing
from .build import build_field
from .describe import describe_path, shown
from .index import Signature as Signature  # re-exported: the pack commands import it here
from .reports import ReportChecker
from .yamlsource import JsonPath, SourceMap

_PERSON_ID = re.compile(r"[a-z][a-z0-9_.-]*")  # schemas/practice.schema.json, personId


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class PlaybookChecker:
    """Collects the semantic issues of one playbook document."""

    def __init__(self, data: Any, source: SourceMap,
                 known: Mapping[str, Signature] | None = None) -> None:
        self.data = _dict(data)
        self.source = source
        self.known = known
        self.issues: list[Issue] = []
        self.states = _dict(self.data.get("states"))
        self.roles = {r for r in _list(self.data.get("roles")) if isinstance(r, str)}
        self.settings = set(_dict(self.data.get("settings")))
        self.variables = self._declared_variables()
        self.kinds = self._variable_kinds()
        self.task_ids: set[str] = set()
        self._pending_done: list[tuple[JsonPath, set[str]]] = []

    # -- reporting -----------------------------------------------------------------------
    def error(self, path: JsonPath, code: str, message: str, hint: str | None = None,
              *, key: bool = False) -> None:
        self.issues.append(Issue("error", code, message, self.source.at(path, key=key), hint))

    def warning(self, path: JsonPath, code: str, message: str, hint: str | None = None) -> None:
        self.issues.append(Issue("warning", code, message, self.source.at(path, key=True), hint))

    # -- walking -------------------------------------------------------------------------
    def _transitions(self) -> Iterator[tuple[str, str, JsonPath, dict[str, Any]]]:
        """(state, event, path, transition) for every transition."""
        for name, state in self.states.items():
            for event, value in _dict(_dict(state).get("on")).items():
                base: JsonPath = ("states", name, "on", event)
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, dict):
                            yield name, event, (*base, i), item
                elif isinstance(value, dict):
                    yield name, event, base, value

    def _actions(self) -> Iterator[tuple[str, JsonPath, dict[str, Any], str | None]]:
        """(state the action runs in, path, action, target state) for every action."""
        for name, state in self.states.items():
            for i, action in enumerate(_list(_dict(state).get("enter"))):
                if isinstance(action, dict):
                    yield name, ("states", name, "enter", i), action, name
        for name, _event, path, transition in self._transitions():
            target = _str(transition.get("to")) or name
            for i, action in enumerate(_list(transition.get("do"))):
                if isinstance(action, dict):
                    yield name, (*path, "do", i), action, target

    def _tasks(self) -> Iterator[tuple[str, JsonPath, dict[str, Any]]]:
        """(state the task lands in, path, task) for state tasks and task actions."""
        for name, state in self.states.items():
            for i, task in enumerate(_list(_dict(state).get("tasks"))):
                if isinstance(task, dict):
                    yield name, ("states", name, "tasks", i), task
        for _state, path, action, target in self._actions():
            if isinstance(action.get("task"), dict) and target is not None:
                yield target, (*path, "task"), action["task"]

    def _declared_variables(self) -> set[str]:
        names = set(_dict(self.data.get("inputs")))
        for _s, _e, _p, transition in self._transitions():
            names.update(_dict(transition.get("fields")))
            names.update(_dict(transition.get("set")))
        for _s, _p, action, _t in self._actions():
            names.update(_dict(action.get("set")))
        for _s, _p, task in self._tasks():
            names.update(_dict(task.get("fields")))
        names.update(self._upgrade_set())
        return {n for n in names if isinstance(n, str)}

    def _upgrade_set(self) -> dict[str, Any]:
        return _dict(_dict(self.data.get("upgrade")).get("set"))

    def _variable_kinds(self) -> dict[str, set[str]]:
        """The kinds each variable may hold: field types and ``set`` values."""
        kinds: dict[str, set[str]] = {}
        timing.add_kinds(kinds, fields=self.data.get("inputs"))
        for _s, _e, _p, transition in self._transitions():
            timing.add_kinds(kinds, transition.get("fields"), transition.get("set"))
        for _s, _p, action, _t in self._actions():
            timing.add_kinds(kinds, values=action.get("set"))
        for _s, _p, task in self._tasks():
            timing.add_kinds(kinds, fields=task.get("fields"))
        timing.add_kinds(kinds, values=self._upgrade_set())
        return kinds

    # -- checks --------------------------------------------------------------------------
    def check(self) -> list[Issue]:
        """Run every check; returns the issues found."""
        self._check_names()
        self._check_initial()
        for name, state in self.states.items():
            self._check_state(name, _dict(state))
        for state_name, event, path, transition in self._transitions():
            self._check_transition(state_name, event, path, transition)
        self._check_tasks()
        for state_name, path, action, target in self._actions():
            self._check_action(state_name, path, action, target)
        for var, value in self._upgrade_set().items():
            self.value(("upgrade", "set", var), value)
        self._check_inputs()
        self._check_timer_loops()
        self._check_graph()
        subject = self.data.get("subject")
        if isinstance(subject, str):
            self.template(("subject",), subject)
        if isinstance(self.data.get("schedule"), dict):
            from .schedule_check import check_schedule

            check_schedule(self, self.data["schedule"])
        ReportChecker(self).check(self.data.get("reports"))
        return self.issues

    def _check_names(self) -> None:
        for name in sorted(self.variables & sandbox.BUILTIN_NAMES):
            self.error(self._first_declaration(name), "reserved-name",
                       f"'{name}' is a built-in name and cannot be a variable",
                       "choose another name", key=True)

    def _first_declaration(self, name: str) -> JsonPath:
        if name in _dict(self.data.get("inputs")):
            return ("inputs", name)
        for _s, _e, path, transition in self._transitions():
            for section in ("fields", "set"):
                if name in _dict(transition.get(section)):
                    return (*path, section, name)
        for _s, path, action, _t in self._actions():
            if name in _dict(action.get("set")):
                return (*path, "set", name)
        for _s, path, task in self._tasks():
            if name in _dict(task.get("fields")):
                return (*path, "fields", name)
        return ()

    def _check_initial(self) -> None:
        initial = self.data.get("initial")
        if isinstance(initial, str) and self.states and initial not in self.states:
            self.error(("initial",), "unknown-state", f"initial state '{initial}' is not defined",
                       did_you_mean(initial, self.states))

    def _check_state_ref(self, path: JsonPath, target: Any) -> None:
        if isinstance(target, str) and target not in self.states:
            where = describe_path(path[:-1], self.data)
            self.error(path, "unknown-state", f"{where}: goes to unknown state '{target}'",
                       did_you_mean(target, self.states))

    def _check_state(self, name: str, state: dict[str, Any]) -> None:
        rules = _list(state.get("choose"))
        if rules:
            self._check_choice(name, state, rules)
        self._check_final(name, state)
        self._check_timers(name, state)

    def _check_choice(self, name: str, state: dict[str, Any], rules: list[Any]) -> None:
        """A choice state: nothing but its rules, each going somewhere, only the last one
        without ``when``."""
        base: JsonPath = ("states", name)
        for key in ("tasks", "on", "timers", "final"):
            if key in state:
                self.error((*base, key), "choice-state",
                           f"state '{name}': a choice state cannot have '{key}'",
                           "move the work to the states it chooses between", key=True)
        for i, rule in enumerate(rules):
            rule = _dict(rule)
            self._check_state_ref((*base, "choose", i, "to"), rule.get("to"))
            last = i == len(rules) - 1
            if "when" in rule:
                self.expression((*base, "choose", i, "when"), rule["when"])
                if last:
                    self.error((*base, "choose", i, "when"), "choice-last-when",
                               f"state '{name}': the last rule of a choice state must not "
                               "have 'when'", "make it the fallback: remove 'when'", key=True)
            elif not last:
                self.error((*base, "choose", i), "choice-fallback",
                           f"state '{name}': only the last rule may omit 'when'",
                           "the rules after it can never be taken")

    def _check_final(self, name: str, state: dict[str, Any]) -> None:
        """A final state waits for nothing; only a final state has an ``outcome``."""
        base: JsonPath = ("states", name)
        if state.get("final") is True:
            for key in ("on", "tasks", "timers"):
                if state.get(key):
                    self.error((*base, key), "final-state",
                               f"state '{name}': a final state cannot have '{key}'",
                               "the instance closes on entering it", key=True)
        elif "outcome" in state:
            self.error((*base, "outcome"), "outcome-not-final",
                       f"state '{name}': 'outcome' is only for final states",
                       "add 'final: true' or remove 'outcome'", key=True)

    def _check_timers(self, name: str, state: dict[str, Any]) -> None:
        """Each timer's event has a transition in its state (one without ``by``), and its
        offset is well formed."""
        on = _dict(state.get("on"))
        for i, timer in enumerate(_list(state.get("timers"))):
            timer = _dict(timer)
            path: JsonPath = ("states", name, "timers", i)
            event = _str(timer.get("event"))
            if event is not None and event not in on:
                self.error((*path, "event"), "event-no-transition",
                           f"state '{name}': timer event '{event}' has no transition in this "
                           "state", did_you_mean(event, on) or f"add 'on: {{{event}: ...}}'")
            elif event is not None:
                self._check_timer_transition(name, event, on[event])
            self.offset(path, timer)

    def _check_timer_transition(self, state: str, event: str, value: Any) -> None:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict) and "by" in item:
                path: JsonPath = ("states", state, "on", event)
                if isinstance(value, list):
                    path = (*path, i)
                self.error((*path, "by"), "timer-by",
                           f"state '{state}': event '{event}' is fired by a timer, so its "
                           "transition cannot have 'by'", "timers fire as 'system'", key=True)

    def _check_roles(self, path: JsonPath, value: Any) -> None:
        for i, role in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(role, str) and role not in self.roles:
                where = (*path, i) if isinstance(value, list) else path
                self.error(where, "unknown-role", f"role '{role}' is not declared in 'roles'",
                           did_you_mean(role, self.roles))

    def _check_transition(self, state: str, event: str, path: JsonPath,
                          transition: dict[str, Any]) -> None:
        self._check_state_ref((*path, "to"), transition.get("to"))
        if "by" in transition:
            self._check_roles((*path, "by"), transition["by"])
        if "when" in transition:
            self.expression((*path, "when"), transition["when"])
        for var, value in _dict(transition.get("set")).items():
            self.value((*path, "set", var), value)
        if isinstance(transition.get("note"), str):
            self.template((*path, "note"), transition["note"])
        self._check_fields((*path, "fields"), transition.get("fields"))
        target = _str(transition.get("to"))
        if target and _dict(self.states.get(target)).get("final") is True:
            for i, action in enumerate(_list(transition.get("do"))):
                if isinstance(action, dict) and "task" in action:
                    self.error((*path, "do", i, "task"), "task-into-final",
                               f"state '{state}', event '{event}': a 'task' action cannot run "
                               f"on a transition into the final state '{target}'", key=True)

    def _check_tasks(self) -> None:
        seen: dict[str, JsonPath] = {}
        for state_name, path, task in self._tasks():
            task_id = _str(task.get("id"))
            if task_id is not None:
                if task_id in seen:
                    line = self.source.at((*seen[task_id], "id")).line
                    self.error((*path, "id"), "duplicate-task",
                               f"duplicate task id '{task_id}' (first defined on line {line})")
                else:
                    seen[task_id] = path
            if "role" in task:
                self._check_roles((*path, "role"), task["role"])
            if isinstance(task.get("title"), str):
                self.template((*path, "title"), task["title"])
            if isinstance(task.get("assign"), str):
                self.template((*path, "assign"), task["assign"])
            if "due" in task:
                self.offset((*path, "due"), task["due"])
            if isinstance(task.get("every"), str):
                self.duration((*path, "every"), task["every"])
                self._check_interval((*path, "every"), task_id, task["every"])
            self._check_fields((*path, "fields"), task.get("fields"))
            done_event = _str(task.get("done"))
            on = _dict(_dict(self.states.get(state_name)).get("on"))
            if done_event is not None and done_event not in on and state_name in self.states:
                self.error((*path, "done"), "event-no-transition",
                           f"task '{task_id}': its done event '{done_event}' has no transition "
                           f"in state '{state_name}'", did_you_mean(done_event, on))
        self.task_ids = set(seen)

    def _check_interval(self, path: JsonPath, task_id: str | None, every: str) -> None:
        amount = timing.not_positive(every, _dict(self.data.get("settings")))
        if amount is not None:
            self.error(path, "zero-interval",
                       timing.every_message(str(task_id), every, amount), timing.EVERY_HINT)

    def _check_timer_loops(self) -> None:
        """Timers due at once whose transition comes back to their state (``timing``)."""
        settings = _dict(self.data.get("settings"))
        timers = timing.raw_timers(self.states)
        for timer, amount in timing.timer_loops(timers, timing.raw_choices(self.states),
                                                settings):
            path = timer.key if isinstance(timer.key, tuple) else ()
            self.error(path, "timer-loop", timing.loop_message(timer, amount), timing.LOOP_HINT)
        for timer in timing.fixed_loops(timers, settings):
            path = timer.key if isinstance(timer.key, tuple) else ()
            self.error((*path[:-1], "from"), "timer-loop", timing.fixed_message(timer),
                       timing.FIXED_HINT)

    def _check_action(self, state: str, path: JsonPath, action: dict[str, Any],
                      target: str | None) -> None:
        for var, value in _dict(action.get("set")).items():
            self.value((*path, "set", var), value)
        message = action.get("message")
        if isinstance(message, dict):
            self._check_message((*path, "message"), message)
        playbook = _str(action.get("start"))
        if playbook is not None:
            self._check_start(path, playbook, _dict(action.get("with")))
        if isinstance(action.get("signal"), dict):
            self._check_signal((*path, "signal"), action["signal"])

    def _check_signal(self, path: JsonPath, signal: dict[str, Any]) -> None:
        """A ``signal`` action: its values, and (when the search path is known) a known
        playbook, an event it has a transition for, variables it declares and event fields."""
        for key in ("match", "with"):
            for var, value in _dict(signal.get(key)).items():
                self.value((*path, key, var), value)
        playbook = _str(signal.get("playbook"))
        if self.known is None or playbook is None:
            return
        signature = self.known.get(playbook)
        if signature is None:
            self.error((*path, "playbook"), "unknown-playbook",
                       f"signals unknown playbook '{playbook}'",
                       did_you_mean(playbook, self.known))
            return
        event = _str(signal.get("event"))
        if event is not None and event not in signature.events:
            self.error((*path, "event"), "unknown-event",
                       f"signals event '{event}', which no state of '{playbook}' has",
                       did_you_mean(event, signature.events))
        for var in _dict(signal.get("match")):
            if var not in signature.variables:
                self.error((*path, "match", var), "unknown-variable",
                           f"'{playbook}' has no variable '{var}' to match",
                           did_you_mean(var, signature.variables), key=True)

    def _check_message(self, path: JsonPath, message: dict[str, Any]) -> None:
        to = message.get("to")
        if isinstance(to, str):
            self._check_address((*path, "to"), to)
        for key in ("subject", "body"):
            if isinstance(message.get(key), str):
                self.template((*path, key), message[key])

    def _check_address(self, path: JsonPath, to: str) -> None:
        """A message's ``to:``: a template (giving a person id or a role), a declared role,
        or a person id. A name close to a declared role is taken for a typo of it (an
        error); any other person id is a warning, since a shared playbook rarely names a
        person of one practice."""
        if sandbox.is_template(to):
            self.template(path, to)
        elif to not in self.roles:
            hint = did_you_mean(to, self.roles)
            if hint:  # 'clinicians' for 'clinician': a typo, not a person
                self._check_roles(path, to)
            elif not _PERSON_ID.fullmatch(to):
                self.error(path, "unknown-role", f"'{shown(to)}' is neither a role declared "
                           "in 'roles' nor a person id")
            else:
                self.warning(path, "person-address", f"message to '{to}', which is not a "
                             "role declared in 'roles': it goes to the person with that id",
                             "declare the role under 'roles' if a role was meant")

    def _check_start(self, path: JsonPath, playbook: str, given: dict[str, Any]) -> None:
        """A ``start`` action: its values, and (when the search path is known) a known
        playbook given exactly its inputs."""
        for var, value in given.items():
            self.value((*path, "with", var), value)
        if self.known is None:
            return
        signature = self.known.get(playbook)
        if signature is None:
            self.error((*path, "start"), "unknown-playbook",
                       f"starts unknown playbook '{playbook}'", did_you_mean(playbook, self.known))
            return
        for missing in sorted(signature.required - set(given)):
            self.error(path, "missing-input",
                       f"starts '{playbook}' without its required input '{missing}'",
                       "add it under 'with'")
        for extra in sorted(set(given) - signature.inputs):
            self.error((*path, "with", extra), "unknown-input",
                       f"'{playbook}' has no input '{extra}'",
                       did_you_mean(extra, signature.inputs), key=True)

    def _check_fields(self, path: JsonPath, fields: Any) -> None:
        for name, spec in _dict(fields).items():
            spec = _dict(spec)
            if not isinstance(spec.get("type", "string"), str):
                continue
            try:
                field = build_field(name, spec)
            except (TypeError, ValueError):
                continue
            if isinstance(field.pattern, str) and self._bad_pattern(
                    (*path, name, "pattern"), name, field.pattern):
                field = dataclasses.replace(field, pattern=None)  # reported: check the rest
            self._check_values(path, name, spec, field)

    def _bad_pattern(self, path: JsonPath, name: str, pattern: str) -> bool:
        """Report a field pattern RE2 cannot compile (bad syntax, or a backreference or
        lookaround RE2 does not have); whether it was reported."""
        problem = pattern_problem(pattern)
        if problem is not None:
            self.error(path, "pattern", f"field '{name}': pattern is not a regular expression "
                       f"frontdesk can run: {problem}", "RE2 syntax: no backreferences or "
                       "lookarounds; \\z, not \\Z")
        return problem is not None

    def _check_values(self, path: JsonPath, name: str, spec: dict[str, Any],
                      field: FieldSpec) -> None:
        """A field's default and enum values fit its type (and the default its constraints)."""
        for key in ("default",) if "default" in spec else ():
            try:
                convert(field, spec[key])
            except (ValueError, TypeError) as exc:
                self.error((*path, name, key), "bad-default",
                           f"field '{name}': default does not fit: {exc}")
        for i, option in enumerate(_list(spec.get("enum"))):
            try:
                convert(build_field(name, {"type": field.type}), option)
            except (ValueError, TypeError) as exc:
                self.error((*path, name, "enum", i), "bad-enum",
                           f"field '{name}': enum value does not fit: {exc}")

    def _check_inputs(self) -> None:
        self._check_fields(("inputs",), self.data.get("inputs"))
        inputs = _dict(self.data.get("inputs"))
        for i, name in enumerate(_list(self.data.get("unique"))):
            if isinstance(name, str) and name not in inputs:
                self.error(("unique", i), "unknown-input",
                           f"unique: '{name}' is not one of the playbook's inputs",
                           did_you_mean(name, inputs) or "declare it under 'inputs'")

    # -- expressions, templates, durations ----------------------------------------------
    def _usage(self, path: JsonPath, usage: sandbox.Usage) -> None:
        known = self.variables | sandbox.BUILTIN_NAMES
        for name in sorted(usage.names - known):
            self.error(path, "unknown-name", f"unknown name '{name}'",
                       did_you_mean(name, self.variables | sandbox.BUILTIN_NAMES)
                       or "declare it as an input, setting, field or 'set' variable")
        for name in sorted(usage.settings - self.settings):
            self.error(path, "unknown-setting", f"unknown setting '{name}'",
                       did_you_mean(name, self.settings) or "declare it under 'settings'")
        self._pending_done.append((path, usage.done_tasks))

    def _syntax(self, path: JsonPath, exc: TemplateSyntaxError, what: str) -> None:
        location = self.source.at(path)
        line = location.line + max((exc.lineno or 1) - 1, 0)
        self.issues.append(Issue("error", "syntax", f"{what} syntax error: {exc.message}",
                                 Location(location.path, line, location.col)))

    def expression(self, path: JsonPath, text: Any) -> None:
        """Check a guard expression: syntax, filters and names."""
        if not isinstance(text, str):
            return
        try:
            tree = sandbox.parse_expression(text)
            sandbox.compile_expression(text)
        except TemplateSyntaxError as exc:
            self._syntax(path, exc, "expression")
            return
        self._usage(path, sandbox.usage_of(tree))

    def template(self, path: JsonPath, text: Any) -> None:
        """Check a template string: syntax, filters and names."""
        if not sandbox.is_template(text):
            return
        try:
            tree = sandbox.checked_template(text)
        except TemplateSyntaxError as exc:
            self._syntax(path, exc, "template")
            return
        for line, message in sandbox.forbidden(tree):
            location = self.source.at(path)
            self.issues.append(Issue("error", "sandbox", message, Location(
                location.path, location.line + max(line - 1, 0), location.col)))
        self._usage(path, sandbox.usage_of(tree))

    def value(self, path: JsonPath, value: Any) -> None:
        """Check a ``set``/``with`` value: templates inside strings, lists and mappings."""
        if isinstance(value, str):
            self.template(path, value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.value((*path, i), item)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.value((*path, key), item)

    def duration(self, path: JsonPath, text: str) -> None:
        """Check a duration whose syntax the schema accepted: templates and zero intervals."""
        if sandbox.is_template(text):
            self.template(path, text)

    def offset(self, path: JsonPath, value: Any) -> None:
        """Check a due date or timer offset and its ``from`` variable."""
        if isinstance(value, str):
            self.duration(path, value)
            return
        value = _dict(value)
        for key in ("after", "before"):
            if isinstance(value.get(key), str):
                self.duration((*path, key), value[key])
        source_var = _str(value.get("from"))
        if source_var is not None and source_var not in self.variables:
            self.error((*path, "from"), "unknown-name",
                       f"'from' names unknown variable '{source_var}'",
                       did_you_mean(source_var, self.variables))
        elif source_var is not None and (problem := timing.from_problem(source_var, self.kinds)):
            self.error((*path, "from"), "from-type", problem, timing.FROM_HINT)

    # -- graph ---------------------------------------------------------------------------
    def _edges(self) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = {name: set() for name in self.states}
        for name, state in self.states.items():
            for rule in _list(_dict(state).get("choose")):
                target = _str(_dict(rule).get("to"))
                if target in self.states:
                    edges[name].add(target)
        for name, _event, _path, transition in self._transitions():
            target = _str(transition.get("to"))
            if target in self.states:
                edges[name].add(target)
        return edges

    def _check_graph(self) -> None:
        for path, tasks in self._pending_done:
            for task_id in sorted(tasks - self.task_ids):
                self.error(path, "unknown-task", f"done('{task_id}') names an unknown task",
                           did_you_mean(task_id, self.task_ids))
        initial = _str(self.data.get("initial"))
        if initial not in self.states:
            return
        edges = self._edges()
        reachable = timing.closure([initial], edges)
        for name in self.states:
            if name not in reachable:
                self.error(("states", name), "unreachable-state",
                           f"state '{name}' cannot be reached from '{initial}'",
                           "add a transition to it or remove it", key=True)
        self._check_choice_cycles(edges)
        finals = [n for n, s in self.states.items() if _dict(s).get("final") is True]
        reverse: dict[str, set[str]] = {name: set() for name in self.states}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].add(source)
        can_finish = timing.closure(finals, reverse)
        stuck = [n for n in self.states if n in reachable and n not in can_finish]
        if stuck:
            names = ", ".join(f"'{n}'" for n in stuck)
            self.warning(("states", stuck[0]), "no-final",
                         f"no final state can be reached from {names}",
                         "fine for a routine that loops forever on purpose")

    def _check_choice_cycles(self, edges: dict[str, set[str]]) -> None:
        choice = {n for n, s in self.states.items() if _list(_dict(s).get("choose"))}
        reported: set[str] = set()
        for start in sorted(choice):
            stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
            while stack:
                node, trail = stack.pop()
                for target in sorted(edges[node] & choice):
                    if target == start and start not in reported:
                        reported.update(trail)
                        cycle = " -> ".join((*trail, start))
                        self.error(("states", start), "choice-cycle",
                                   f"choice states form a cycle: {cycle}",
                                   "a choice state must lead to a state that waits", key=True)
                    elif target not in trail:
                        stack.append((target, (*trail, target)))


def check_playbook(data: Any, source: SourceMap,
                   known: Mapping[str, Signature] | None = None) -> list[Issue]:
    """Every semantic issue of a playbook document."""
    return PlaybookChecker(data, source, known).check()
