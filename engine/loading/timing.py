"""Checks of time in a playbook: durations that never move forward, and what ``from`` names.

``tick`` fires due timers until none is due, and completing a recurring task looks for the
first occurrence after today. So a timer whose due time does not move forward when its own
transition brings the instance back into its state (``after: 0 minutes`` going back where it
was) fires again at once, forever, and ``every: 0 days`` never finds a later occurrence. Both
are refused at ``validate``, for a literal zero and for a ``{{ settings.x }}`` whose value is
zero or negative (the playbook's default, or a practice's override: ``tailoring``). So is a
timer counted ``from`` a variable whose only transition goes straight back to its state without
a guard and without setting anything: it is armed again with the same due time, already past.

The checks work on a neutral shape (``TimerEdge``) that the semantic checks build from the raw
document and the tailoring checks build from the model, so both say the same thing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import sandbox
from ..model import Playbook, SetAction
from .describe import shown

# "N unit" with a literal N, and with N given as exactly ``{{ settings.x }}`` (or
# ``settings['x']``): the two shapes whose amount is known before anything runs.
_UNIT = r"\s+(?:minutes?|hours?|days?|business\s+days?|weeks?|months?|years?)\s*"
_LITERAL = re.compile(r"\s*([0-9]+)" + _UNIT, re.IGNORECASE)
_SETTING = re.compile(
    r"\s*\{\{-?\s*settings\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)"
    r"\2\s*\])\s*-?\}\}" + _UNIT, re.IGNORECASE)
DATE_KINDS = frozenset({"date", "datetime", "unknown"})


@dataclass(frozen=True, slots=True)
class Amount:
    """The N of a duration when it can be told without running anything."""

    value: int
    setting: str | None = None  # the setting N comes from, if any

    def describe(self, text: str) -> str:
        """``'0 days'``, or ``'{{ settings.x }} days' with setting 'x' = 0``."""
        quoted = f"'{shown(text.strip())}'"
        return quoted if self.setting is None else (
            f"{quoted} with setting '{self.setting}' = {self.value}")


def amount_of(text: Any, settings: Mapping[str, Any]) -> Amount | None:
    """The amount of duration ``text`` under ``settings``; None when it cannot be told (another
    template, or a setting that is not a whole number: the run time refuses that)."""
    if not isinstance(text, str):
        return None
    literal = _LITERAL.fullmatch(text)
    if literal is not None:
        return Amount(int(literal[1]))
    found = _SETTING.fullmatch(text)
    if found is None:
        return None
    name = found[1] or found[3]
    value = settings.get(name)
    if isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Amount(value, name)
    return None


def not_positive(text: Any, settings: Mapping[str, Any]) -> Amount | None:
    """The amount of ``text`` when it is zero or negative, else None."""
    amount = amount_of(text, settings)
    return amount if amount is not None and amount.value <= 0 else None


@dataclass(frozen=True, slots=True)
class TimerEdge:
    """A timer of ``state`` and the states its event's transitions go to (internal ones
    omitted); ``key`` says where it is to whoever reports it."""

    key: Hashable
    state: str
    event: str
    duration: str
    targets: tuple[str, ...]
    from_var: str | None = None
    returns_unchanged: bool = False  # its event always comes straight back, setting nothing


def timer_loops(timers: Iterable[TimerEdge], choices: Mapping[str, Iterable[str]],
                settings: Mapping[str, Any]) -> list[tuple[TimerEdge, Amount]]:
    """The timers that are due at once and whose transition leads back into their own state
    without waiting: directly, through choice states, or through other such timers."""
    timers = list(timers)
    instant = [(t, a) for t in timers if (a := not_positive(t.duration, settings)) is not None]
    edges: dict[str, set[str]] = {state: set(targets) for state, targets in choices.items()}
    for timer, _ in instant:
        edges.setdefault(timer.state, set()).update(timer.targets)
    return [(timer, amount) for timer, amount in instant
            if timer.state in closure(timer.targets, edges)]


def fixed_loops(timers: Iterable[TimerEdge], settings: Mapping[str, Any]) -> list[TimerEdge]:
    """The timers counted ``from`` a variable that come back to their state unchanged: armed
    again with the due time that just passed (the zero ones are ``timer_loops``')."""
    return [t for t in timers if t.from_var is not None and t.returns_unchanged
            and not_positive(t.duration, settings) is None]


def closure(starts: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    """Every node reachable from ``starts`` along ``edges`` (the starts included)."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for target in edges.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def loop_message(timer: TimerEdge, amount: Amount) -> str:
    """What is wrong with a looping timer, in words."""
    state = shown(timer.state)
    return (f"state '{state}': timer '{shown(timer.event)}' is due at once "
            f"({amount.describe(timer.duration)}) and its transition comes back to "
            f"'{state}', so every tick would fire it again, forever")


def fixed_message(timer: TimerEdge) -> str:
    """What is wrong with a timer that comes back with the due time it had, in words."""
    state = shown(timer.state)
    return (f"state '{state}': timer '{shown(timer.event)}' counts from '{shown(timer.from_var)}'"
            f" and its transition comes back to '{state}' changing nothing, so it is armed "
            "again with the due time that just passed and every tick would fire it, forever")


FIXED_HINT = ("let its event lead to another state, give the transition a 'when', or 'set' "
              "the variable it counts from")


def every_message(task_id: str, every: str, amount: Amount) -> str:
    """What is wrong with a recurring task whose interval is not positive, in words."""
    return (f"task '{shown(task_id)}': every {amount.describe(every)} never moves on to a later "
            "occurrence")


LOOP_HINT = "give it a positive duration, or let its event lead to another state"
EVERY_HINT = "a recurring task needs a positive interval, e.g. '1 week'"


# -- the neutral shape from a raw document, and from a model ---------------------------------
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def raw_targets(on: dict[str, Any], event: str) -> tuple[str, ...]:
    """The ``to`` of every transition of ``event`` in a raw ``on`` mapping."""
    value = on.get(event)
    items = value if isinstance(value, list) else [value]
    return tuple(t for item in items if isinstance(t := _dict(item).get("to"), str))


def _raw_sets(actions: Any) -> bool:
    """Whether a raw action list holds a ``set`` action."""
    return any("set" in _dict(a) for a in actions) if isinstance(actions, list) else False


def _raw_unchanged(state_name: str, state: dict[str, Any], event: str) -> bool:
    """Whether every transition of ``event`` goes straight back to ``state_name`` with no
    guard and sets nothing, and entering the state sets nothing either."""
    value = _dict(state.get("on")).get(event)
    items = [_dict(i) for i in (value if isinstance(value, list) else [value])]
    return bool(items) and not _raw_sets(state.get("enter")) and all(
        item.get("to") == state_name and "when" not in item and not item.get("set")
        and not _raw_sets(item.get("do")) for item in items)


def raw_timers(states: dict[str, Any]) -> list[TimerEdge]:
    """Every timer of a raw ``states`` mapping, keyed by the path of its duration."""
    found = []
    for name, state in states.items():
        state = _dict(state)
        timers = state.get("timers")
        for i, timer in enumerate(timers if isinstance(timers, list) else ()):
            timer = _dict(timer)
            key = "after" if "after" in timer else "before"
            event, source = timer.get("event"), timer.get("from")
            if isinstance(timer.get(key), str) and isinstance(event, str):
                found.append(TimerEdge(
                    ("states", name, "timers", i, key), name, event, timer[key],
                    raw_targets(_dict(state.get("on")), event),
                    source if isinstance(source, str) else None,
                    _raw_unchanged(name, state, event)))
    return found


def raw_choices(states: dict[str, Any]) -> dict[str, set[str]]:
    """Each state's choice rules' targets."""
    rules = {name: _dict(state).get("choose") for name, state in states.items()}
    return {name: {t for rule in value if isinstance(t := _dict(rule).get("to"), str)}
            for name, value in rules.items() if isinstance(value, list)}


def model_timers(playbook: Playbook) -> list[TimerEdge]:
    """Every timer of a playbook model, keyed by ``(state, event)``."""
    return [TimerEdge((state.name, timer.event), state.name, timer.event, timer.offset.duration,
                      tuple(t.to for t in state.on.get(timer.event, ()) if t.to is not None))
            for state in playbook.states.values() for timer in state.timers]


def model_choices(playbook: Playbook) -> dict[str, set[str]]:
    return {state.name: {rule.to for rule in state.choose}
            for state in playbook.states.values() if state.choose}


# -- what ``from`` may name ------------------------------------------------------------------
def value_kind(value: Any) -> str:
    """The kind of a ``set`` value: a template's is unknown until it runs."""
    if sandbox.is_template(value):
        return "unknown"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "list" if isinstance(value, list | dict) else "text"


def add_kinds(kinds: dict[str, set[str]], fields: Any = None, values: Any = None) -> None:
    """Note the kinds of raw field specs (their ``type``) and of raw ``set`` values."""
    for name, spec in _dict(fields).items():
        kind = _dict(spec).get("type", "string")
        kinds.setdefault(name, set()).add(kind if isinstance(kind, str) else "unknown")
    for name, value in _dict(values).items():
        kinds.setdefault(name, set()).add(value_kind(value))


def model_kinds(playbook: Playbook) -> dict[str, set[str]]:
    """The kinds each variable of a playbook model may hold."""
    kinds: dict[str, set[str]] = {}
    fields = list(playbook.inputs.values())
    sets: list[Mapping[str, Any]] = []
    for state in playbook.states.values():
        actions = list(state.enter)
        for transitions in state.on.values():
            for transition in transitions:
                fields.extend(transition.fields)
                sets.append(transition.set)
                actions.extend(transition.do)
        sets.extend(a.values for a in actions if isinstance(a, SetAction))
    for task in playbook.all_tasks().values():
        fields.extend(task.fields)
    for spec in fields:
        kinds.setdefault(spec.name, set()).add(spec.type)
    for values in sets:
        add_kinds(kinds, values=values)
    return kinds


def from_problem(name: str, kinds: Mapping[str, set[str]]) -> str | None:
    """Why ``from: name`` cannot count from a date, or None when it may (some declaration of
    it is a date, a datetime, or a template whose result is known only when it runs)."""
    found = kinds.get(name)
    if not found or found & DATE_KINDS:
        return None
    words = " or ".join(sorted("string" if k == "text" else k for k in found))
    article = "an" if words[0] in "aeiou" else "a"
    return (f"'from' names '{shown(name)}', which holds {article} {words}, not a date or "
            "datetime")


FROM_HINT = "declare it with 'type: date' or 'type: datetime'"


def date_variables(kinds: Mapping[str, set[str]]) -> list[str]:
    """The variables declared as (or set to) a date or datetime."""
    return sorted(name for name, found in kinds.items() if found & {"date", "datetime"})
