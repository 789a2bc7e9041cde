"""The playbook registry: the one place a playbook becomes a compiled playbook.

Two ways in, one way out:

- ``current(id)``: the version of a playbook on the search path, for ``start``, ``start``
  actions and ``upgrade``. The file that wins for the id is found through the content-keyed
  index of the search path (``loading.index``); when its exact text was validated before, its
  model comes from the disk cache. Anything never seen or doubtful (a file that does not parse
  cleanly, a ``start`` action that no longer fits) goes through the catalog, which parses and
  validates the search path and reports every located issue (exit 3) or an unknown id (exit 4).
  The practice's tailoring of the playbook is checked too (exit 3).
- ``of_instance(instance, source)``: the exact source an instance started with, read from the
  store by its content digest (editing a playbook file never changes a running instance).

Both end in ``_compile``, which keeps the one dict of compiled playbooks of this command, keyed
by content digest.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from .errors import InvalidError, NotFoundError
from .loading.cache import content_hash
from .model import Playbook
from .workspace import Workspace

if TYPE_CHECKING:  # the catalog imports yaml and jsonschema, the runtime jinja2 and transitions
    from .loading.catalog import Catalog
    from .loading.index import IndexedFile
    from .runtime.compiled import CompiledPlaybook
    from .runtime.instance import Instance


class PlaybookRegistry:
    """The playbooks of one workspace, validated, tailoring-checked and compiled once each."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._compiled: dict[str, CompiledPlaybook] = {}
        self._current: dict[str, CompiledPlaybook] = {}  # by id: what ``current`` gave

    @cached_property
    def catalog(self) -> Catalog:
        """Every playbook file on the search path, parsed (the slow, fully reported way)."""
        from .loading.catalog import Catalog

        return Catalog.scan(self.workspace.search_dirs)

    @cached_property
    def _winners(self) -> dict[str, IndexedFile]:
        """The winning file of each playbook id, from the content-keyed index (no parsing of
        files seen before)."""
        from .loading.index import index_files, winners

        return winners(index_files(self.workspace.search_dirs, self.workspace.cache))

    def scheduled_ids(self) -> list[str]:
        """The ids of the playbooks on the search path that declare a ``schedule``."""
        return [pid for pid, file in self._winners.items() if file.facts.scheduled]
    def ids(self) -> list[str]:
        """The id of every playbook on the search path, sorted."""
        return sorted(self._winners)

    def require_version(self, playbook_id: str, version: int) -> None:
        """``NotFoundError`` (exit 4) unless the search path offers ``version`` of the
        playbook (``upgrade --to``); exit 3 when the file that wins is not valid."""
        entry = self.catalog.find(playbook_id)
        if entry.version == version:
            return
        if entry.version is None:  # unreadable: report its errors (exit 3), not "version None"
            self.catalog.load(playbook_id).require()
        message = (f"playbook '{playbook_id}' version {version} is not on the search path: it "
                   f"offers version {entry.version} ({entry.origin}: {entry.path})")
        shadowed = next((other for other in self.catalog.entries
                         if other.id == playbook_id and other.shadowed_by is not None
                         and other.version == version), None)
        if shadowed is not None and shadowed.shadowed_by is not None:
            message += (f"; version {version} is in {shadowed.origin}: {shadowed.path}, "
                        f"shadowed by {shadowed.shadowed_by.origin}")
        raise NotFoundError(message)

    def require(self, playbook_id: str) -> None:
        """``NotFoundError`` (exit 4) unless the search path offers ``playbook_id``."""
        if playbook_id not in self._winners:
            self.catalog.find(playbook_id)

    def current(self, playbook_id: str) -> CompiledPlaybook:
        """The search path's version of ``playbook_id``: validated, tailoring checked,
        compiled. Found once per registry: the search path is read once (``_winners``), so a
        command (or a board request) that starts many instances checks the file, its start
        actions and the practice's tailoring of it once."""
        current = self._current.get(playbook_id)
        if current is not None:
            return current
        found = self._seen(playbook_id)
        if found is None:
            loaded = self.catalog.load(playbook_id)  # exit 4 when unknown
            playbook = loaded.require()  # exit 3 with every issue
            assert loaded.text is not None and loaded.digest is not None
            self.workspace.cache.save("playbook", loaded.digest, playbook)
            found = playbook, loaded.digest, loaded.text
        playbook, digest, text = found
        self._check_tailoring(playbook, digest)
        current = self._current[playbook_id] = self._compile(playbook, digest, text)
        return current

    def _seen(self, playbook_id: str) -> tuple[Playbook, str, str] | None:
        """The model of the winning file when its exact text was validated before and its
        ``start`` actions still fit the search path; None otherwise."""
        file = self._winners.get(playbook_id)
        if file is None or not file.facts.clean or file.text is None:
            return None
        digest = content_hash(file.text)
        compiled = self._compiled.get(digest)
        playbook = compiled.playbook if compiled else self.workspace.cache.load("playbook", digest)
        if not isinstance(playbook, Playbook):
            return None
        from .loading.index import signatures, start_actions_fit

        if not start_actions_fit(playbook, signatures(self._winners)):
            return None  # the catalog reports which start action no longer fits
        return playbook, digest, file.text

    def of_instance(self, instance: Instance, source: Callable[[str], str]) -> CompiledPlaybook:
        """The playbook ``instance`` started with; ``source(digest)`` reads its text from the
        store."""
        compiled = self._compiled.get(instance.digest)
        if compiled is not None:
            return compiled
        text = source(instance.digest)
        playbook = self.workspace.cache.load("playbook", instance.digest)
        if not isinstance(playbook, Playbook):
            from .loading.loader import load_playbook_text

            loaded = load_playbook_text(text, f"<stored {instance.playbook} v{instance.version}>")
            playbook = loaded.require()
            self.workspace.cache.save("playbook", instance.digest, playbook)
        return self._compile(playbook, instance.digest, text)

    def _compile(self, playbook: Playbook, digest: str, text: str) -> CompiledPlaybook:
        compiled = self._compiled.get(digest)
        if compiled is None:
            from .runtime.compiled import compile_playbook

            compiled = self._compiled[digest] = compile_playbook(playbook, digest, text)
        return compiled

    def _check_tailoring(self, playbook: Playbook, digest: str) -> None:
        """Refuse (exit 3) practice tailoring that does not fit ``playbook``; a pair of practice
        config and playbook source found fine before is not checked again."""
        workspace = self.workspace
        if playbook.id not in workspace.practice.playbooks:
            return  # nothing tailored: nothing to check
        key = content_hash(f"{workspace.practice_digest}:{digest}")
        if workspace.cache.load("tailoring", key) is True:
            return
        from .loading.practice import check_tailoring

        issues = check_tailoring(workspace.practice_document,
                                 lambda pid: playbook if pid == playbook.id else None,
                                 only=playbook.id)
        if issues:
            raise InvalidError(issues)
        if workspace.practice_digest:
            workspace.cache.save("tailoring", key, True)
