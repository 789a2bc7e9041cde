"""Semantic checks of a playbook's ``schedule`` (``semantics`` calls ``check_schedule``).

What the schema cannot say: ``for: people`` takes a ``role`` and no ``roster``, ``for: roster``
needs a ``roster``; ``with`` gives only inputs of the playbook and every required one; its
templates (and ``key``) name only ``person`` or ``row``, ``period`` and the built-ins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import did_you_mean

if TYPE_CHECKING:
    from .semantics import PlaybookChecker

SCHEDULE_NAMES = frozenset({"person", "row", "period"})
"""The names a schedule's templates see besides the built-ins (``today``, ``settings``...)."""


def check_schedule(checker: PlaybookChecker, schedule: dict[str, Any]) -> None:
    """Every problem of ``schedule`` (the playbook's ``schedule`` mapping), located."""
    subjects = schedule.get("for")
    if subjects == "people" and "roster" in schedule:
        checker.error(("schedule", "roster"), "schedule-roster",
                      "schedule: 'roster' goes with 'for: roster', not 'for: people'", key=True)
    if subjects == "roster":
        if "roster" not in schedule:
            checker.error(("schedule",), "schedule-roster",
                          "schedule: 'for: roster' needs the 'roster' file it reads")
        if "role" in schedule:
            checker.error(("schedule", "role"), "schedule-role",
                          "schedule: 'role' goes with 'for: people'", key=True)
    inputs = checker.data.get("inputs")
    inputs = inputs if isinstance(inputs, dict) else {}
    raw = schedule.get("with")
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for name in sorted(set(given) - set(inputs)):
        checker.error(("schedule", "with", name), "unknown-input",
                      f"schedule: the playbook has no input '{name}'",
                      did_you_mean(name, inputs), key=True)
    for name, spec in inputs.items():
        required = isinstance(spec, dict) and spec.get("required") is True
        if required and "default" not in spec and name not in given:
            checker.error(("schedule", "with"), "missing-input",
                          f"schedule: starts without the required input '{name}'",
                          "add it under 'with'")
    declared = checker.variables
    checker.variables = set(SCHEDULE_NAMES)  # a schedule runs before any instance exists
    try:
        for name, value in given.items():
            checker.value(("schedule", "with", name), value)
        checker.value(("schedule", "key"), schedule.get("key"))
    finally:
        checker.variables = declared
