"""Forms from field specs: a control per field (enum -> select, list of options -> checkboxes,
date -> date input, datetime -> date and time input, boolean -> checkbox, anything else ->
text), and the submitted form back into the values a command would be given with ``--set``.

The values are converted and checked by the engine alone (``runtime.step.field_problems``
gives every field's refusal at once, in the words ``convert_fields`` uses); this module only
reads the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from ..model import FieldSpec

PREFIX = "f."  # form names of field values: f.NAME (never clashing with csrf, note, ...)


@dataclass(frozen=True, slots=True)
class Control:
    """One form control of a field: what the template draws."""

    spec: FieldSpec
    kind: str  # select, checkboxes, checkbox, date, datetime, number, text
    value: Any  # the text to show, or for checkboxes the chosen options
    error: str | None = None

    @property
    def name(self) -> str:
        return PREFIX + self.spec.name

    @property
    def options(self) -> list[str]:
        return [str(option) for option in self.spec.enum or ()]

    @property
    def hint(self) -> str:
        """What the field expects, in words, beside its label."""
        parts = [self.spec.description] if self.spec.description else []
        if self.spec.pattern:
            parts.append(f"format: {self.spec.pattern}")
        if self.spec.minimum is not None:
            parts.append(f"at least {self.spec.minimum:g}")
        if self.spec.maximum is not None:
            parts.append(f"at most {self.spec.maximum:g}")
        if self.kind == "text" and self.spec.type == "list":
            parts.append("items separated by commas")
        if self.kind == "number" and self.spec.type == "number":
            parts.append("a number")
        return "; ".join(parts)


def _kind(spec: FieldSpec) -> str:
    if spec.type == "list":
        return "checkboxes" if spec.enum else "text"
    if spec.enum is not None:
        return "select"
    return {"boolean": "checkbox", "date": "date", "datetime": "datetime",
            "integer": "number", "number": "number"}.get(spec.type, "text")


def _shown(spec: FieldSpec, value: Any) -> Any:
    """A default or a stored value as the control shows it."""
    if value is None:
        return [] if _kind(spec) == "checkboxes" else ""
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [str(v) for v in value] if spec.enum else ", ".join(str(v) for v in value)
    return str(value)


def controls(specs: Iterable[FieldSpec], form: MultiDict[str, str] | None = None,
             errors: Mapping[str, str] | None = None,
             current: Mapping[str, Any] | None = None) -> list[Control]:
    """The controls of ``specs``: showing what was submitted (``form``), else the current
    value (``current``), else the default; each with its error, if any."""
    out = []
    for spec in specs:
        kind = _kind(spec)
        if form is not None:
            value: Any = (form.getlist(PREFIX + spec.name) if kind == "checkboxes"
                          else (form.get(PREFIX + spec.name) == "true" if kind == "checkbox"
                                else form.get(PREFIX + spec.name, "")))
        elif current is not None and spec.name in current:
            value = _shown(spec, current[spec.name])
        else:
            value = _shown(spec, spec.default if spec.has_default else None)
        out.append(Control(spec, kind, value, (errors or {}).get(spec.name)))
    return out


def given(specs: Iterable[FieldSpec], form: MultiDict[str, str]) -> dict[str, Any]:
    """The values of a submitted form as ``--set`` would give them: text as typed (an empty
    optional field is left out, so its default applies), a checkbox as true or false, the
    options ticked as a list."""
    values: dict[str, Any] = {}
    for spec in specs:
        kind = _kind(spec)
        name = PREFIX + spec.name
        if kind == "checkbox":
            values[spec.name] = "true" if form.get(name) == "true" else "false"
        elif kind == "checkboxes":
            ticked = form.getlist(name)
            if ticked or spec.required:
                values[spec.name] = ticked
        else:
            text = form.get(name, "")
            if text.strip() or spec.required:
                values[spec.name] = text
    return values
