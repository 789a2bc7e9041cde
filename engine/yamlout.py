"""Write playbook data back out as YAML that frontdesk reads to the same data, with comments.

``show-playbook --effective`` prints a playbook after a practice's tailoring, with a comment on
each line an override changed. PyYAML's emitter cannot attach comments and decides quoting by
YAML 1.1 (where ``0o17`` is text but frontdesk reads it as a number), so this small block-style
emitter writes the lines itself: a plain scalar is used only when frontdesk's own loader reads
it back as the same value, otherwise the scalar is double-quoted (JSON string syntax, which is
valid YAML). Short lists and mappings of scalars stay on one line (``[a, b]``) unless something
inside them carries a comment.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .loading.yamlsource import JsonPath, parse_text

WIDTH = 100
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


@dataclass(frozen=True, slots=True)
class Omitted:
    """A list item left out of the output, with the comment written in its place."""

    comment: str


# Characters a YAML stream may not hold raw (PyYAML's reader), and the ones YAML reads as line
# breaks inside a quoted scalar: both are written as \u escapes.
_UNSAFE = re.compile("[^\x09\x0A\x0D\x20-\x7E\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]"
                     "|[\x85\u2028\u2029\uFEFF]")


def quoted(text: str) -> str:
    """``text`` double-quoted: JSON string syntax (valid YAML), unsafe characters escaped."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _reads_back(text: str, value: Any, flow: bool, key: bool = False) -> bool:
    if key:
        source = f"{{{text}: v}}\n" if flow else f"{text}: v\n"
        documents, issues = parse_text(source, "<emit>")
        return not issues and len(documents) == 1 and documents[0].data == {value: "v"}
    documents, issues = parse_text(f"k: [{text}]\n" if flow else f"k: {text}\n", "<emit>")
    if issues or len(documents) != 1 or not isinstance(documents[0].data, dict):
        return False
    got = documents[0].data.get("k")
    got = got[0] if flow and isinstance(got, list) and len(got) == 1 else got
    return bool(type(got) is type(value) and got == value)


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or "\n" in text or text[0] in _INDICATORS:
        return False
    if " #" in text or ": " in text or text.endswith(":") or "\t" in text:
        return False
    return not (flow and any(c in text for c in ",[]{}"))


def _portable(text: str) -> bool:
    """Whether YAML 1.1 tools (PyYAML, many editors) also read plain ``text`` as text, so a
    value like ``yes`` or ``0o17`` is quoted for them too."""
    import yaml

    try:
        return bool(yaml.safe_load(f"k: {text}\n") == {"k": text})
    except yaml.YAMLError:
        return False


def scalar(value: Any, flow: bool = False, key: bool = False) -> str:
    """One scalar as YAML text that frontdesk reads back as ``value``. A value is also kept
    text for YAML 1.1 tools (``yes`` is quoted); a key is quoted when YAML 1.2 would read it as
    a number or it is special (``"16"``, ``"<<"``), but ``on`` stays a plain key."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    if (_plain_ok(text, flow) and not _UNSAFE.search(text) and _reads_back(text, text, flow)
            and (_reads_back(text, text, flow, key=True) if key else _portable(text))):
        return text
    return quoted(text)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list | Omitted)


def _has_notes(path: JsonPath, notes: Mapping[JsonPath, str]) -> bool:
    return any(p[: len(path)] == path and len(p) > len(path) for p in notes)


def _flow(value: Any, path: JsonPath, notes: Mapping[JsonPath, str]) -> str | None:
    """``value`` on one line when it is a short container of plain scalars without notes."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = list(value.values())
    elif isinstance(value, list):
        if not value:
            return "[]"
        items = value
    else:
        return None
    if not all(_is_scalar(v) and not (isinstance(v, str) and "\n" in v) for v in items):
        return None
    if _has_notes(path, notes):
        return None
    if isinstance(value, dict):
        inner = ", ".join(f"{scalar(k, True, key=True)}: {scalar(v, True)}"
                          for k, v in value.items())
        return "{" + inner + "}"
    return "[" + ", ".join(scalar(v, True) for v in value) + "]"


def _note(path: JsonPath, notes: Mapping[JsonPath, str]) -> str:
    return f"  # {notes[path]}" if path in notes else ""


def _block_text(text: str, indent: int) -> list[str] | None:
    """A ``|`` block for multi-line text, or None when a block cannot hold it exactly."""
    if ("\n" not in text or text.startswith((" ", "\n")) or "\r" in text or "\t" in text
            or _UNSAFE.search(text)):
        return None
    body = text[:-1] if text.endswith("\n") else text
    if body.endswith("\n") or any(line != line.rstrip() for line in body.split("\n")):
        return None
    header = "|" if text.endswith("\n") else "|-"
    pad = " " * (indent + 2)
    return [header] + [pad + line if line else "" for line in body.split("\n")]


class _Writer:
    def __init__(self, notes: Mapping[JsonPath, str]) -> None:
        self.notes = notes
        self.lines: list[str] = []

    @staticmethod
    def fits(lead: str, flow: str | None) -> bool:
        """Whether ``flow`` exists and fits on the line after ``lead``."""
        return flow is not None and len(lead) + 1 + len(flow) <= WIDTH

    def entry(self, lead: str, value: Any, path: JsonPath, indent: int) -> None:
        """``lead`` (``key:`` or ``-``) followed by ``value`` at ``path``."""
        note = _note(path, self.notes)
        if _is_scalar(value):
            block = _block_text(value, indent) if isinstance(value, str) else None
            if block is not None:
                self.lines.append(f"{lead} {block[0]}{note}")
                self.lines.extend(block[1:])
            else:
                self.lines.append(f"{lead} {scalar(value)}{note}")
            return
        if isinstance(value, list) and value and all(isinstance(v, Omitted) for v in value):
            self.lines.append(f"{lead} []{note}")  # every item left out: an empty list
            self.node(value, path, indent + 2)
            return
        flow = _flow(value, path, self.notes)
        if self.fits(lead, flow):
            assert flow is not None
            self.lines.append(f"{lead} {flow}{note}")
            return
        self.lines.append(f"{lead}{note}")
        self.node(value, path, indent + 2)

    def node(self, value: Any, path: JsonPath, indent: int) -> None:
        pad = " " * indent
        if isinstance(value, dict):
            for key, item in value.items():
                self.entry(f"{pad}{scalar(key, key=True)}:", item, (*path, key), indent)
            return
        for i, item in enumerate(value):
            if isinstance(item, Omitted):
                self.lines.append(f"{pad}# {item.comment}")
            elif isinstance(item, dict) and item and not self.fits(
                    f"{pad}-", _flow(item, (*path, i), self.notes)):
                start = len(self.lines)
                self.node(item, (*path, i), indent + 2)
                self.lines[start] = f"{pad}- {self.lines[start][indent + 2:]}"
            else:
                self.entry(f"{pad}-", item, (*path, i), indent)


def dump(data: Mapping[str, Any], notes: Mapping[JsonPath, str] | None = None,
         header: list[str] | None = None) -> str:
    """``data`` as block-style YAML; ``notes`` put a comment on the line of a path's value,
    ``header`` lines come first as comments."""
    writer = _Writer(notes or {})
    writer.lines.extend(f"# {line}" for line in header or [])
    writer.node(dict(data), (), 0)
    return "\n".join(writer.lines) + "\n"


def without_omitted(value: Any) -> Any:
    """``value`` with every ``Omitted`` placeholder removed (what the YAML reads back as)."""
    if isinstance(value, dict):
        return {k: without_omitted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_omitted(v) for v in value if not isinstance(v, Omitted)]
    return value
