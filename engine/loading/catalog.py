"""The playbook search path and the catalog of playbooks found on it.

See docs/reference.md, "The playbook search path".

Order, earlier entries shadowing later ones with the same id: ``--playbooks DIR`` (repeatable),
``$FRONTDESK_PLAYBOOKS`` (os.pathsep separated), ``<home>/playbooks/``, installed packs (entry
point group ``frontdesk.playbooks``), then the playbooks shipped with frontdesk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotFoundError, did_you_mean
from ..resources import data_dir

if TYPE_CHECKING:  # the loader imports yaml and jsonschema: only when a file is parsed
    from .index import Signature
    from .loader import LoadedPlaybook

ENTRY_POINT_GROUP = "frontdesk.playbooks"


@dataclass(frozen=True, slots=True)
class SearchDir:
    """One folder of the search path and where it came from."""

    path: Path
    origin: str


@dataclass(slots=True)
class CatalogEntry:
    """A playbook file found on the search path."""

    path: Path
    origin: str
    loaded: LoadedPlaybook
    shadowed_by: CatalogEntry | None = None

    @property
    def id(self) -> str:
        return self.loaded.id or self.path.stem

    @property
    def version(self) -> int | None:
        data = self.loaded.data
        value = data.get("version") if isinstance(data, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def title(self) -> str | None:
        data = self.loaded.data
        value = data.get("title") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None


def pack_dirs() -> list[SearchDir]:
    """Folders of playbooks declared by installed packs (entry point group frontdesk.playbooks).

    An entry point names a package (its folder holds the playbooks) or an attribute holding a
    folder path.
    """
    from importlib.metadata import entry_points

    found: list[SearchDir] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            target = entry.load()
        except Exception:  # a broken pack must not break frontdesk; it is simply not listed
            continue
        folder = Path(target.__file__).parent if hasattr(target, "__file__") and getattr(
            target, "__file__", None) else Path(str(target))
        dist = entry.dist
        origin = f"pack {dist.name} {dist.version}" if dist else f"pack {entry.name}"
        found.append(SearchDir(folder, origin))
    return found


def search_path(cli_dirs: Sequence[str | Path] = (), home: Path | None = None,
                env: dict[str, str] | None = None) -> list[SearchDir]:
    """The playbook folders in search order."""
    environ = os.environ if env is None else env
    dirs = [SearchDir(Path(d), "--playbooks") for d in cli_dirs]
    dirs += [SearchDir(Path(d), "$FRONTDESK_PLAYBOOKS")
             for d in environ.get("FRONTDESK_PLAYBOOKS", "").split(os.pathsep) if d]
    if home is not None:
        dirs.append(SearchDir(home / "playbooks", "home"))
    dirs += pack_dirs()
    dirs.append(SearchDir(data_dir("playbooks"), "shipped"))
    return dirs


def playbook_files(folder: Path) -> list[Path]:
    """The entries named ``*.yaml`` / ``*.yml`` directly in ``folder``, sorted by name.

    One so named that is not a regular file (a folder, a FIFO, a device) is listed too, so
    that reading it reports it (``files.read_source``); a dangling symlink (an editor's lock
    file) is not.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix in (".yaml", ".yml") and p.exists())


def is_scenario(loaded: LoadedPlaybook) -> bool:
    """Whether a YAML file is a scenario test (``steps`` and no ``states``), not a playbook."""
    data = loaded.data
    return isinstance(data, dict) and "steps" in data and "states" not in data


@dataclass(slots=True)
class Catalog:
    """Every playbook file on the search path; the first of each id wins."""

    entries: list[CatalogEntry] = field(default_factory=list)

    @classmethod
    def scan(cls, dirs: Iterable[SearchDir]) -> Catalog:
        from .loader import parse_playbook_file

        catalog = cls()
        winners: dict[str, CatalogEntry] = {}
        for folder in dirs:
            for path in playbook_files(folder.path):
                loaded = parse_playbook_file(path)
                if is_scenario(loaded):
                    continue  # scenario tests may sit beside their playbooks
                entry = CatalogEntry(path, folder.origin, loaded)
                if entry.id in winners:
                    entry.shadowed_by = winners[entry.id]
                else:
                    winners[entry.id] = entry
                catalog.entries.append(entry)
        return catalog

    def active(self) -> list[CatalogEntry]:
        """The entries not shadowed by an earlier one."""
        return [e for e in self.entries if e.shadowed_by is None]

    def signatures(self, extra: Iterable[LoadedPlaybook] = ()) -> dict[str, Signature]:
        """Inputs of every known playbook, ``extra`` files first (they shadow the catalog)."""
        known: dict[str, Signature] = {}
        for loaded in [*extra, *(e.loaded for e in self.active())]:
            signature = loaded.signature()
            if signature is not None:
                known.setdefault(signature.id, signature)
        return known

    def find(self, playbook_id: str) -> CatalogEntry:
        """The active entry for ``playbook_id``; ``NotFoundError`` (exit 4) otherwise."""
        for entry in self.active():
            if entry.id == playbook_id:
                return entry
        hint = did_you_mean(playbook_id, [e.id for e in self.active()])
        raise NotFoundError(f"unknown playbook '{playbook_id}'" + (f" ({hint})" if hint else ""))

    def load(self, playbook_id: str) -> LoadedPlaybook:
        """The validated playbook ``playbook_id`` (errors stay in its issues)."""
        from .loader import validate

        entry = self.find(playbook_id)
        if entry.loaded.playbook is None and not entry.loaded.errors:
            validate(entry.loaded, self.signatures())
        return entry.loaded
