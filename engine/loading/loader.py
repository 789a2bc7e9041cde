"""Load one playbook: read -> parse YAML -> schema -> semantics -> model.

A ``LoadedPlaybook`` keeps the exact source text and its content hash (instances store the
source they started with), the parsed data with its locations, every issue, and the model when
there were no errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidError, Issue, Location
from ..model import Playbook
from .build import build_playbook
from .cache import content_hash
from .files import read_source
from .index import Signature
from .yamlsource import SourceMap, YamlDocument, parse_text


@dataclass(slots=True)
class LoadedPlaybook:
    """A playbook file as read, with its issues and (when valid) its model."""

    display: str
    text: str | None
    data: Any = None
    source: SourceMap | None = None
    issues: list[Issue] = field(default_factory=list)
    playbook: Playbook | None = None

    @property
    def digest(self) -> str | None:
        return content_hash(self.text) if self.text is not None else None

    @property
    def id(self) -> str | None:
        value = self.data.get("playbook") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    def signature(self) -> Signature | None:
        """Inputs of this playbook, for checking ``start`` actions of others."""
        if self.id is None:
            return None
        inputs = self.data.get("inputs")
        inputs = inputs if isinstance(inputs, dict) else {}
        required = {name for name, spec in inputs.items()
                    if isinstance(spec, dict) and spec.get("required") is True
                    and "default" not in spec}
        from .surface import events, variables

        return Signature(self.id, frozenset(inputs), frozenset(required), events(self.data),
                         variables(self.data))

    def require(self) -> Playbook:
        """The model, or ``InvalidError`` (exit 3) with every issue."""
        if self.playbook is None:
            raise InvalidError(self.issues or [
                Issue("error", "invalid", "playbook is not valid", Location(self.display, 1, 1))])
        return self.playbook


def _single_document(documents: list[YamlDocument], issues: list[Issue],
                     display: str) -> YamlDocument | None:
    if not documents:
        if not issues:
            issues.append(Issue("error", "empty", "file holds no playbook",
                                Location(display, 1, 1)))
        return None
    if len(documents) > 1:
        line, col = documents[1].source.values.get((), (1, 1))
        issues.append(Issue("error", "many-documents",
                            "a playbook file holds one playbook; found a second document",
                            Location(display, line, col), "split it into two files"))
    return documents[0]


def parse_playbook_text(text: str, display: str) -> LoadedPlaybook:
    """Parse (not validate) a playbook's source text."""
    documents, issues = parse_text(text, display)
    return _from_documents(text, documents, issues, display)


def parse_playbook_file(path: Path, display: str | None = None) -> LoadedPlaybook:
    """Read and parse (not validate) a playbook file."""
    name = display or str(path)
    text, issues = read_source(path, name)
    if text is None:
        return _from_documents(None, [], issues, name)
    documents, issues = parse_text(text, name)
    return _from_documents(text if documents or not issues else None, documents, issues, name)


def _from_documents(text: str | None, documents: list[YamlDocument], issues: list[Issue],
                    display: str) -> LoadedPlaybook:
    loaded = LoadedPlaybook(display, text, issues=list(issues))
    document = _single_document(documents, loaded.issues, display)
    if document is not None:
        loaded.data = document.data
        loaded.source = document.source
        if not isinstance(document.data, dict):
            loaded.issues.append(Issue("error", "not-mapping",
                                       "a playbook must be a YAML mapping of keys",
                                       Location(display, 1, 1)))
    return loaded


def validate(loaded: LoadedPlaybook,
             known: Mapping[str, Signature] | None = None) -> LoadedPlaybook:
    """Run schema and semantic checks on a parsed playbook; builds the model if error-free."""
    if loaded.source is None or not isinstance(loaded.data, dict):
        return loaded
    # Imported here: they import jsonschema and jinja2, which parsing alone never needs.
    from .schema import schema_issues
    from .semantics import check_playbook

    document = YamlDocument(loaded.data, loaded.source)
    issues = schema_issues(document, "playbook")
    issues += check_playbook(loaded.data, loaded.source, known)
    unique = {(i.location, i.code, i.message): i for i in issues}
    loaded.issues.extend(sorted(unique.values(), key=Issue.sort_key))
    if not loaded.errors:
        loaded.playbook = build_playbook(loaded.data)
    return loaded


def load_playbook_text(text: str, display: str,
                       known: Mapping[str, Signature] | None = None) -> LoadedPlaybook:
    """Parse and validate a playbook's source text."""
    return validate(parse_playbook_text(text, display), known)
