"""Find a playbook on the search path without parsing every file: facts cached by content.

``start PLAYBOOK`` needs the file that wins for that id (the first on the search path) and the
inputs of every playbook (its ``start`` actions are checked against them). The catalog parses
every file to learn that. Here every file is still read and hashed (microseconds), but what
parsing it gave (its id, whether it is a scenario, whether it parsed cleanly, its inputs) is
taken from the disk cache under that content hash; only a file never seen before is parsed.
Nothing is trusted by modification time: the facts belong to the exact text that was read.

Whenever anything here is unsure (a file that does not parse, a ``start`` action that does not
fit) the caller falls back to the catalog, which reports the located issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Playbook, StartAction
from .cache import DiskCache, content_hash
from .catalog import SearchDir, playbook_files

if TYPE_CHECKING:
    from .loader import LoadedPlaybook

MAX_BYTES = 1024 * 1024  # as yamlsource.MAX_BYTES: a bigger file is left to the catalog


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What parsing one source text gave, as the catalog would see it."""

    id: str | None  # the ``playbook`` key; None when it has none (the file's stem stands in)
    clean: bool  # parsed without any issue
    scenario: bool  # a scenario test, not a playbook
    inputs: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """A playbook file on the search path, its text and the facts for that text."""

    path: Path
    origin: str
    text: str | None  # None: unreadable, too large, binary or not UTF-8
    facts: FileFacts

    @property
    def id(self) -> str:
        return self.facts.id or self.path.stem

    @property
    def digest(self) -> str | None:
        return content_hash(self.text) if self.text is not None else None


def facts_of(loaded: LoadedPlaybook) -> FileFacts:
    """The facts of a parsed (not yet validated) playbook file."""
    from .catalog import is_scenario

    signature = loaded.signature()
    return FileFacts(
        id=loaded.id, clean=not loaded.issues, scenario=is_scenario(loaded),
        inputs=signature.inputs if signature else frozenset(),
        required=signature.required if signature else frozenset())


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) > MAX_BYTES or b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def index_files(dirs: Iterable[SearchDir], cache: DiskCache) -> list[IndexedFile]:
    """Every playbook file on the search path, in order; unseen texts are parsed and cached."""
    found: list[IndexedFile] = []
    for folder in dirs:
        for path in playbook_files(folder.path):
            text = _read(path)
            if text is None:
                facts = FileFacts(None, False, False)
            else:
                digest = content_hash(text)
                cached = cache.load("facts", digest)
                if isinstance(cached, FileFacts):
                    facts = cached
                else:
                    from .loader import parse_playbook_text

                    facts = facts_of(parse_playbook_text(text, str(path)))
                    cache.save("facts", digest, facts)
            found.append(IndexedFile(path, folder.origin, text, facts))
    return found


def winners(files: Iterable[IndexedFile]) -> dict[str, IndexedFile]:
    """The file that wins for each id (the first on the search path), scenarios skipped."""
    active: dict[str, IndexedFile] = {}
    for file in files:
        if not file.facts.scenario:
            active.setdefault(file.id, file)
    return active


def signatures(active: Mapping[str, IndexedFile]) -> dict[str, FileFacts]:
    """The facts (inputs) of every active playbook that declares its id."""
    return {f.facts.id: f.facts for f in active.values() if f.facts.id is not None}


def start_actions_fit(playbook: Playbook, known: Mapping[str, FileFacts]) -> bool:
    """Whether every ``start`` action names a known playbook with exactly fitting inputs (the
    checks validation makes with the search path's signatures)."""
    for state in playbook.states.values():
        actions = list(state.enter)
        for transitions in state.on.values():
            for transition in transitions:
                actions.extend(transition.do)
        for action in actions:
            if not isinstance(action, StartAction):
                continue
            target = known.get(action.playbook)
            given = set(action.with_)
            if target is None or target.required - given or given - target.inputs:
                return False
    return True
