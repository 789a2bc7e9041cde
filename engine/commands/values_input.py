"""The values a command is given: ``--set key=value`` pairs and an ``--input FILE`` (``-`` for
stdin) holding a YAML or JSON mapping, so patient data need not appear in process listings or
shell history. ``--set`` wins over the file for a name given in both."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Issue, UsageError


def parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` pairs as a mapping (values stay text; the playbook types them)."""
    values: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():  # the text itself may be a value (PHI): not echoed
            raise UsageError(f"--set expects key=value; --set number {number} has "
                             + ("no key" if sep else "no '='"))
        values[key.strip()] = value
    return values


def read_input(name: str) -> dict[str, Any]:
    """The mapping in ``--input NAME``: a file read bounded, or stdin for ``-``; parsed with
    the same safe YAML loader as playbooks (JSON is YAML). A problem is a usage error (exit 2)
    naming the file, line and column, never a value."""
    from ..loading.files import MAX_BYTES, read_source
    from ..loading.yamlsource import parse_text

    display = "<stdin>" if name == "-" else name
    if name == "-":
        text: str | None = sys.stdin.read(MAX_BYTES + 1)
        issues: list[Issue] = []
    else:
        text, issues = read_source(Path(name), display)
    if text is not None:
        documents, issues = parse_text(text, display)
    if issues or text is None:
        raise UsageError("--input: " + issues[0].format())
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise UsageError(f"--input: {display} must hold one mapping of names to values")
    data: dict[Any, Any] = documents[0].data
    bad = [key for key in data if not isinstance(key, str)]
    if bad:
        raise UsageError(f"--input: {display}: every name must be text ({len(bad)} is not)")
    return dict(data)


def given_values(sets: Sequence[str], input_name: str | None) -> dict[str, Any]:
    """The values of ``--input`` (if any) overlaid by those of ``--set``."""
    values = read_input(input_name) if input_name is not None else {}
    values.update(parse_sets(sets))
    return values
