"""Find a playbook on the search path without parsing every file: facts cached by content.

``start PLAYBOOK`` needs the file that wins for that id (the first on the search path) and the
inputs of every playbook (its ``start`` actions are checked against them). The catalog parses
every file to learn that. Here every file is still read (bounded, see ``files``) and hashed
(microseconds), but what parsing it gave (its id, whether it is a scenario, whether it parsed
cleanly, its inputs) is taken from the disk cache under that content hash; only a file never
seen before is parsed. Nothing is trusted by modification time: the facts belong to the exact
text that was read.

Whenever anything here is unsure (a file that does not parse, a ``start`` action that does not
fit) the caller falls back to the catalog, which reports the located issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import DiskCache, content_hash
from .catalog import SearchDir, playbook_files
from .files import read_source

if TYPE_CHECKING:  # the model only where a playbook is looked at (``validate`` needs none)
    from ..model import Playbook
    from .loader import LoadedPlaybook


@dataclass(frozen=True, slots=True)
class Signature:
    """What a ``start`` action needs to know of another playbook: its inputs."""

    id: str
    inputs: frozenset[str]
    required: frozenset[str]
    events: frozenset[str] = frozenset()  # what a ``signal`` action may fire at it
    variables: frozenset[str] = frozenset()  # what a ``signal`` action may match on


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What parsing one source text gave, as the catalog would see it."""

    id: str | None  # the ``playbook`` key; None when it has none (the file's stem stands in)
    clean: bool  # parsed without any issue
    scenario: bool  # a scenario test, not a playbook
    inputs: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()  # the ``roles`` it declares (what practice.yaml must cover)
    events: frozenset[str] = frozenset()
    variables: frozenset[str] = frozenset()
    scheduled: bool = False  # declares a ``schedule`` (what ``tick`` starts)
    addressees: tuple[str, ...] = ()  # person ids its messages name (``people`` must list)

    @property
    def signature(self) -> Signature | None:
        """The inputs of a file that declares its id (others cannot be started)."""
        return None if self.id is None else Signature(self.id, self.inputs, self.required,
                                                      self.events, self.variables)


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """A playbook file on the search path, its text and the facts for that text."""

    path: Path
    origin: str
    text: str | None  # None: unreadable, not a regular file, too large, binary or not UTF-8
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
    roles = loaded.data.get("roles") if isinstance(loaded.data, dict) else None
    return FileFacts(
        id=loaded.id, clean=not loaded.issues, scenario=is_scenario(loaded),
        inputs=signature.inputs if signature else frozenset(),
        required=signature.required if signature else frozenset(),
        roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
        events=signature.events if signature else frozenset(),
        variables=signature.variables if signature else frozenset(),
        scheduled=isinstance(loaded.data, dict) and "schedule" in loaded.data,
        addressees=addressees(loaded.data))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def addressees(data: Any) -> tuple[str, ...]:
    """The plain ``to:`` names of a playbook's messages that are not declared roles (person
    ids), in order; templates are left out (their person is known only when they render)."""
    from .. import sandbox

    if not isinstance(data, dict):
        return ()
    roles = {role for role in _list(data.get("roles")) if isinstance(role, str)}
    states = data.get("states")
    found: dict[str, None] = {}
    for state in (states.values() if isinstance(states, dict) else ()):
        if not isinstance(state, dict):
            continue
        actions = list(_list(state.get("enter")))  # a copy: the document is not ours
        events = state.get("on")
        for transitions in (events.values() if isinstance(events, dict) else ()):
            for transition in _list(transitions):
                if isinstance(transition, dict):
                    actions += _list(transition.get("do"))
        for action in actions:
            message = action.get("message") if isinstance(action, dict) else None
            to = message.get("to") if isinstance(message, dict) else None
            if isinstance(to, str) and to not in roles and not sandbox.is_template(to):
                found[to] = None
    return tuple(found)


def facts_for(text: str, path: Path, cache: DiskCache) -> FileFacts:
    """The facts of a source text: from the cache, else by parsing it (then cached)."""
    digest = content_hash(text)
    cached = cache.load("facts", digest)
    if isinstance(cached, FileFacts):
        return cached
    from .loader import parse_playbook_text

    facts = facts_of(parse_playbook_text(text, str(path)))
    cache.save("facts", digest, facts)
    return facts


def index_files(dirs: Iterable[SearchDir], cache: DiskCache) -> list[IndexedFile]:
    """Every playbook file on the search path, in order; unseen texts are parsed and cached."""
    found: list[IndexedFile] = []
    for folder in dirs:
        for path in playbook_files(folder.path):
            text, _ = read_source(path, str(path))  # its issues are the catalog's to report
            facts = FileFacts(None, False, False) if text is None else facts_for(text, path, cache)
            found.append(IndexedFile(path, folder.origin, text, facts))
    return found


def winners(files: Iterable[IndexedFile]) -> dict[str, IndexedFile]:
    """The file that wins for each id (the first on the search path), scenarios skipped."""
    active: dict[str, IndexedFile] = {}
    for file in files:
        if not file.facts.scenario:
            active.setdefault(file.id, file)
    return active


def signatures(active: Mapping[str, IndexedFile]) -> dict[str, Signature]:
    """The inputs of every active playbook that declares its id."""
    return {s.id: s for s in (f.facts.signature for f in active.values()) if s is not None}


def start_actions_fit(playbook: Playbook, known: Mapping[str, Signature]) -> bool:
    """Whether every ``start`` action names a known playbook with exactly fitting inputs, and
    every ``signal`` action a known playbook, event and variables (the checks validation
    makes with the search path's signatures)."""
    from ..model import SignalAction, StartAction

    for state in playbook.states.values():
        actions = list(state.enter)
        for transitions in state.on.values():
            for transition in transitions:
                actions.extend(transition.do)
        for action in actions:
            if isinstance(action, SignalAction):
                known_signal = known.get(action.playbook)
                if known_signal is None or action.event not in known_signal.events or (
                        set(action.match) - known_signal.variables):
                    return False
            if not isinstance(action, StartAction):
                continue
            target = known.get(action.playbook)
            given = set(action.with_)
            if target is None or target.required - given or given - target.inputs:
                return False
    return True
