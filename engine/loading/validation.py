"""Every issue of the files ``frontdesk validate`` checks, from the disk cache when it can be.

A playbook's issues are a pure function of its text, the name it is shown under, this
frontdesk's code and libraries (the cache's code key) and the inputs of the playbooks its
``start`` actions name. So they are cached under the hash of the name and the text together
with what the checks looked up in the search path's signatures (and, when they listed every
id for a did-you-mean, those ids); an entry is used only while the search path still gives
exactly that. A practice config's issues also depend on the playbooks it tailors: its entry is
keyed by its text and by the id and content hash of every active playbook.

The signatures come from the content-keyed index (``index``), so a run over files seen before
imports neither the YAML parser, JSON Schema, Jinja2 nor the holidays package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidError, Issue
from .cache import DiskCache, content_hash
from .catalog import SearchDir, playbook_files
from .files import read_source
from .index import IndexedFile, Signature, facts_for, index_files, signatures, winners

if TYPE_CHECKING:
    from ..model import Playbook

PLAYBOOK_SUFFIXES = (".yaml", ".yml")
# Search-path folders holding the practice's own playbooks (not shipped, not from a pack).
OWN_ORIGINS = frozenset({"--playbooks", "$FRONTDESK_PLAYBOOKS", "home"})


@dataclass(frozen=True, slots=True)
class FileReport:
    """The issues of one checked file, and the playbook id it declares."""

    display: str
    playbook: str | None
    issues: tuple[Issue, ...]


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A cached report and what it depended on beyond the file's own text."""

    report: FileReport
    looked_up: tuple[tuple[str, Signature | None], ...]
    listed: frozenset[str] | None  # every known id, when the checks listed them

    def holds_for(self, known: Mapping[str, Signature]) -> bool:
        """Whether the checks would look up and list the same things in ``known``."""
        return all(known.get(name) == found for name, found in self.looked_up) and (
            self.listed is None or self.listed == frozenset(known))


class _Recorder(Mapping[str, Signature]):
    """The search path's signatures as the checks see them, noting what they consulted."""

    def __init__(self, known: Mapping[str, Signature]) -> None:
        self._known = known
        self.looked_up: dict[str, Signature | None] = {}
        self.listed = False

    def __getitem__(self, name: str) -> Signature:
        found = self.looked_up[name] = self._known.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(self._known)

    def __len__(self) -> int:
        self.listed = True
        return len(self._known)

    def verdict(self, report: FileReport) -> _Verdict:
        listed = frozenset(self._known) if self.listed else None
        return _Verdict(report, tuple(self.looked_up.items()), listed)


def expand(paths: Sequence[str]) -> list[Path]:
    """The files named on the command line: a folder stands for its playbook files, except a
    folder named like one (``x.yaml``), which is checked (and refused) as a file."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir() and path.suffix not in PLAYBOOK_SUFFIXES:
            files.extend(playbook_files(path))
        else:
            files.append(path)
    return files


class Validator:
    """Checks playbook files and practice configs against one search path."""

    def __init__(self, dirs: Sequence[SearchDir], cache: DiskCache,
                 display: Callable[[Path], str]) -> None:
        self.cache = cache
        self.display = display
        self.indexed = index_files(dirs, cache)
        self.active = winners(self.indexed)

    def search_path_files(self) -> list[Path]:
        """Every playbook file on the search path, shadowed ones included (no scenarios)."""
        return [f.path for f in self.indexed if not f.facts.scenario]

    def playbooks(self, paths: Sequence[Path]) -> list[FileReport]:
        """The report of each playbook file; the files shadow the search path for each other's
        ``start`` actions."""
        read = [(path, *read_source(path, self.display(path))) for path in paths]
        known: dict[str, Signature] = {}
        for path, text, _ in read:
            signature = facts_for(text, path, self.cache).signature if text is not None else None
            if signature is not None:
                known.setdefault(signature.id, signature)
        for name, signature in signatures(self.active).items():
            known.setdefault(name, signature)
        return [self._playbook(path, text, issues, known) for path, text, issues in read]

    def _playbook(self, path: Path, text: str | None, read_issues: list[Issue],
                  known: Mapping[str, Signature]) -> FileReport:
        display = self.display(path)
        if text is None:
            return FileReport(display, None, tuple(read_issues))
        key = content_hash(f"{display}\0{text}")
        cached = self.cache.load("validated", key)
        if isinstance(cached, _Verdict) and cached.holds_for(known):
            return cached.report
        from .loader import parse_playbook_text, validate

        loaded = parse_playbook_text(text, display)
        recorder = _Recorder(known)
        if not loaded.errors:
            validate(loaded, recorder)
        verdict = recorder.verdict(FileReport(display, loaded.id, tuple(loaded.issues)))
        self.cache.save("validated", key, verdict)
        return verdict.report

    def practice(self, path: Path) -> FileReport:
        """The report of a practice config, its tailoring checked against the search path."""
        display = self.display(path)
        text, issues = read_source(path, display)
        if text is None:
            return FileReport(display, None, tuple(issues))
        playbooks = sorted((name, file.digest or "", file.origin)
                           for name, file in self.active.items())
        key = content_hash(f"{display}\0{text}\0{playbooks}")
        cached = self.cache.load("validated-practice", key)
        if isinstance(cached, FileReport):
            return cached
        report = FileReport(display, None, tuple(self._practice_issues(text, display)))
        self.cache.save("validated-practice", key, report)
        return report

    def _practice_issues(self, text: str, display: str) -> list[Issue]:
        from .practice import check_tailoring, parse_practice
        from .roles import address_warnings, role_warnings

        try:
            document = parse_practice(text=text, display=display)
        except InvalidError as exc:
            return exc.issues
        issues = check_tailoring(document, self._tailored, known_ids=self.active)
        roles_of = {pid: file.facts.roles for pid, file in self.active.items()}
        tailored = document.data.get("playbooks") if isinstance(document.data, dict) else None
        checked = {pid for pid, file in self.active.items()
                   if file.origin in OWN_ORIGINS or pid in (tailored or {})}
        warnings = role_warnings(document.data, document.source, roles_of, checked)
        warnings += address_warnings(
            document.data, document.source,
            {pid: file.facts.addressees for pid, file in self.active.items()}, checked)
        return sorted([*issues, *warnings], key=Issue.sort_key)

    def _tailored(self, playbook_id: str) -> Playbook | None:
        """The validated model of the active playbook ``playbook_id``, if it is valid."""
        file: IndexedFile | None = self.active.get(playbook_id)
        if file is None or file.text is None:
            return None
        from .loader import load_playbook_text

        return load_playbook_text(file.text, str(file.path), signatures(self.active)).playbook
