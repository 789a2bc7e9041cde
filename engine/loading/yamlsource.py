"""Strict, safe YAML loading with source locations.

Reads YAML with the YAML 1.2 core schema plus plain dates (docs/reference.md, "Playbook
language", "How YAML is read"): only ``true``/``false`` are booleans, ``on``/``yes``/``NO``
stay strings, ``016`` is 16, a plain ``YYYY-MM-DD`` is a date. Nothing is ever constructed
from a tag: only the standard ``!!str``/``!!int``/... tags are honoured.

Limits (refused with a located error before any expansion): file size (files are read bounded,
see ``files``), node count after alias expansion (counted, never expanded, so an alias bomb
costs nothing), and nesting depth. Duplicate keys are errors naming both lines. Every value
keeps the line and column of its node, and every mapping key the line and column of the key,
in a ``SourceMap``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import (
    AliasEvent,
    MappingStartEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Issue, Location
from .files import MAX_BYTES, read_source

MAX_NODES = 10_000
MAX_DEPTH = 64

JsonPath = tuple[str | int, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|false)$", re.IGNORECASE)
_INT_DEC = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

# The core schema's scalars, tried in order (a plain ``YYYY-MM-DD`` date comes after them).
_CORE_SCALARS: tuple[tuple[re.Pattern[str], Callable[[str], Any]], ...] = (
    (_NULL, lambda text: None),
    (_BOOL, lambda text: text.lower() == "true"),
    (_INT_DEC, lambda text: int(text, 10)),
    (_INT_OCT, lambda text: int(text[2:], 8)),
    (_INT_HEX, lambda text: int(text[2:], 16)),
    (_FLOAT, float),  # the pattern asks for a digit, so '.' stays text
    (_INF, lambda text: -math.inf if text.startswith("-") else math.inf),
    (_NAN, lambda text: math.nan),
)

_TAG = "tag:yaml.org,2002:"
_PLAIN = "?plain"  # marks a plain scalar whose type the core schema decides


class _LimitExceeded(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.mark = mark


@dataclass(slots=True)
class SourceMap:
    """Line/column of every value (by JSON path) and of every mapping key."""

    path: str
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    texts: dict[JsonPath, str] = field(default_factory=dict)  # source text of plain scalars

    def at(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of ``path``: its key when ``key`` (and known), else its value.

        Falls back to the nearest ancestor that has a location.
        """
        probe = tuple(path)
        while True:
            if key and probe in self.keys:
                line, col = self.keys[probe]
                return Location(self.path, line, col)
            if probe in self.values:
                line, col = self.values[probe]
                return Location(self.path, line, col)
            if not probe:
                return Location(self.path, 1, 1)
            probe = probe[:-1]


@dataclass(slots=True)
class YamlDocument:
    """One parsed YAML document: its native data and where each piece came from."""

    data: Any
    source: SourceMap


class _CountingComposer(Composer):
    """A composer that refuses deep nesting and counts nodes as if aliases were expanded."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        """Tag decision without PyYAML's YAML 1.1 resolver: plain scalars are resolved later."""
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _TAG + "str"
        return _TAG + ("seq" if kind is SequenceNode else "map")

    def descend_resolver(self, parent: Any, index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def _init_limits(self) -> None:
        self._depth = 0
        self._sizes: dict[int, int] = {}
        self._total = 0

    def compose_node(self, parent: Node | None, index: Any) -> Any:
        events: Any = self  # the parser half of the loader class supplies the event methods
        event = events.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            self._add(self._sizes.get(id(node), 1), event.start_mark)
            return node
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(
                    f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
        before = self._total
        node = super().compose_node(parent, index)
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            self._depth -= 1
        self._add(1, event.start_mark)
        self._sizes[id(node)] = self._total - before
        assert node is not None
        return node

    def _add(self, count: int, mark: Any) -> None:
        self._total += count
        if self._total > MAX_NODES:
            raise _LimitExceeded(
                f"more than {MAX_NODES} YAML nodes (after alias expansion)", mark)


_Parser: Any
try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # PyYAML built without libyaml: the pure-Python parser, same behaviour
    _Parser = yaml.parser.Parser
_Reader: type = yaml.reader.Reader
_Scanner: type = yaml.scanner.Scanner


def _make_loader_class() -> type:
    if _Parser is yaml.parser.Parser:
        bases: tuple[type, ...] = (_Reader, _Scanner, _Parser, _CountingComposer)
    else:
        # The C parser feeds events to our Python composer (which must come first in the MRO
        # so its compose_* methods, not the C ones, are used).
        bases = (_CountingComposer, _Parser)
    return type("_StrictLoader", bases, {})


_LoaderClass = _make_loader_class()


def _new_loader(text: str) -> Any:
    loader_class: Any = _LoaderClass
    loader: Any = loader_class.__new__(loader_class)
    if _Parser is yaml.parser.Parser:
        _Reader.__init__(loader, text)  # type: ignore[misc]
        _Scanner.__init__(loader)  # type: ignore[misc]
        _Parser.__init__(loader)
    else:
        _Parser.__init__(loader, text)
    Composer.__init__(loader)
    loader._init_limits()
    return loader


def _mark_location(path: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


class _Constructor:
    """Turns a node graph into Python data with YAML 1.2 core scalars and located issues."""

    def __init__(self, source: SourceMap, lines: list[str]) -> None:
        self.source = source
        self.lines = lines
        self.issues: list[Issue] = []

    def _loc(self, node: Node) -> Location:
        return _mark_location(self.source.path, node.start_mark)

    def _error(self, node: Node, code: str, message: str, hint: str | None = None) -> None:
        self.issues.append(Issue("error", code, message, self._loc(node), hint))

    def build(self, node: Node, path: JsonPath) -> Any:
        self.source.values[path] = self._position(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag not in (_TAG + "seq",):
                self._bad_tag(node)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _position(self, node: Node) -> tuple[int, int]:
        """1-based line and column of a node; for a ``|``/``>`` block, of its first line."""
        line, col = node.start_mark.line, node.start_mark.column
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            for number in range(line + 1, min(node.end_mark.line + 1, len(self.lines))):
                text = self.lines[number]
                if text.strip():
                    return number + 1, len(text) - len(text.lstrip()) + 1
        return line + 1, col + 1

    def _bad_tag(self, node: Node) -> None:
        self._error(node, "yaml-tag", f"tag '{node.tag}' is not allowed",
                    "frontdesk reads plain YAML data only")

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            self._bad_tag(node)
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge" or (
                isinstance(key_node, ScalarNode) and key_node.value == "<<"
                and key_node.style in (None, "")
            ):
                self._error(key_node, "yaml-merge", "merge keys ('<<') are not supported",
                            "write the keys out")
                continue
            if not isinstance(key_node, ScalarNode):
                self._error(key_node, "yaml-key", "a mapping key must be a plain value")
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                self._error(key_node, "duplicate-key",
                            f"duplicate key '{key}' (first defined on line {seen[key]})")
                continue
            seen[key] = line
            self.source.keys[(*path, key)] = (line, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        if node.tag == _PLAIN:
            self.source.texts[path] = node.value
            return self._resolve_plain(node, node.value)
        return self._tagged(node, node.value)

    def _resolve_plain(self, node: ScalarNode, text: str) -> Any:
        """A plain scalar by the YAML 1.2 core schema plus dates; anything else is text."""
        for pattern, resolve in _CORE_SCALARS:
            if pattern.match(text):
                try:
                    return resolve(text)
                except ValueError:  # more digits than Python converts (int_max_str_digits)
                    self._error(node, "too-large", "a number with this many digits is not "
                                "supported", "quote it if it is text")
                    return text
        if _DATE.match(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                self._error(node, "yaml-date", f"'{text}' is not a valid date",
                            "quote it if it is not meant as a date")
        return text

    def _tagged(self, node: ScalarNode, text: str) -> Any:
        tag = node.tag
        if tag == _TAG + "str":
            return text
        if tag in (_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"):
            value = self._resolve_plain(node, text)
            types: dict[str, Any] = {_TAG + "int": int, _TAG + "float": (int, float),
                                     _TAG + "bool": bool, _TAG + "null": type(None)}
            wanted = types[tag]
            if isinstance(value, wanted) and not (tag == _TAG + "int" and isinstance(value, bool)):
                return float(value) if tag == _TAG + "float" else value
            self._error(node, "yaml-tag", f"'{text}' is not a valid {tag.rsplit(':', 1)[-1]}")
            return text
        if tag == _TAG + "timestamp":
            return self._resolve_plain(node, text)
        self._bad_tag(node)
        return text


def _yaml_issue(path: str, exc: yaml.YAMLError, text: str) -> Issue:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    context = getattr(exc, "context", None)
    message = " ".join(f"{context}: {problem}".split() if context else problem.split())
    mark = problem_mark or context_mark
    if "end of stream" in problem and context_mark is not None:
        mark = context_mark  # an unclosed quote or bracket: point where it was opened
    hint = None
    lines = text.splitlines()
    if problem_mark is not None and problem_mark.line < len(lines):
        line = lines[problem_mark.line]
        if "\t" in line[: problem_mark.column + 1]:
            hint = "indent with spaces, not tabs"
    if hint is None and "quoted scalar" in message:
        hint = "close the quote"
    return Issue("error", "yaml-syntax", message, _mark_location(path, mark), hint)


def parse_text(text: str, display: str) -> tuple[list[YamlDocument], list[Issue]]:
    """Parse every document of ``text``; returns the documents and any issues."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return [], [Issue("error", "too-large", "text is over the 1 MiB limit",
                          Location(display, 1, 1))]
    loader = _new_loader(text)
    lines = text.splitlines()
    documents: list[YamlDocument] = []
    issues: list[Issue] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            source = SourceMap(display)
            constructor = _Constructor(source, lines)
            data = constructor.build(node, ())
            issues.extend(constructor.issues)
            documents.append(YamlDocument(data, source))
    except _LimitExceeded as exc:
        return [], [Issue("error", "too-large", str(exc), _mark_location(display, exc.mark),
                          "simplify the file")]
    except yaml.YAMLError as exc:
        return [], [_yaml_issue(display, exc, text)]
    except RecursionError:
        return [], [Issue("error", "too-large", f"nesting deeper than {MAX_DEPTH} levels",
                          Location(display, 1, 1))]
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose:
            dispose()
    return documents, issues


def load_file(path: Path, display: str | None = None,
              ) -> tuple[list[YamlDocument], list[Issue]]:
    """Read and parse a YAML file with every limit applied."""
    name = display or str(path)
    text, issues = read_source(path, name)
    if text is None:
        return [], issues
    return parse_text(text, name)


def iter_scalars(data: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every leaf value of ``data`` with its JSON path."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_scalars(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from iter_scalars(value, (*path, i))
    else:
        yield path, data


def to_json_view(data: Any) -> Any:
    """``data`` with dates and datetimes as ISO strings, for JSON Schema validation."""
    if isinstance(data, dict):
        return {k: to_json_view(v) for k, v in data.items()}
    if isinstance(data, list):
        return [to_json_view(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data
