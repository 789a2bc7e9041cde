"""Playbook packs: Python projects whose entry point (group ``frontdesk.playbooks``) names a
folder of playbooks and their scenario tests.

``read_pack`` reads a pack's source tree (``pyproject.toml``, then each entry point resolved to
its folder the way ``catalog.pack_dirs`` resolves an installed one: a module names the folder
it lives in, a package its own folder, ``module:attribute`` a path held by that attribute);
``new_pack`` writes a fresh one from ``pack_template``. Nothing here runs scenarios or prints.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidError, Issue, Location, NotFoundError, UsageError
from .loading.catalog import ENTRY_POINT_GROUP

PACK_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_ENTRY_HINT = (f'add [project.entry-points."{ENTRY_POINT_GROUP}"] with NAME = '
               '"your_package.playbooks"')


@dataclass(slots=True)
class Pack:
    """A pack's source tree: its name, version and playbook folders (entry point -> folder)."""

    root: Path
    name: str
    version: str
    folders: dict[str, Path] = field(default_factory=dict)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _resolve_static(root: Path, module: str) -> Path | None:
    """The folder of ``module`` in a checkout (flat or ``src/`` layout), without importing."""
    parts = module.split(".")
    for base in (root, root / "src"):
        package = base.joinpath(*parts)
        if (package / "__init__.py").is_file():
            return package
        if package.with_suffix(".py").is_file():
            return package.parent
    return None


def _resolve_import(root: Path, module: str, attribute: str) -> Path:
    """The folder a ``module:attribute`` entry point names, importing from the checkout."""
    saved = list(sys.path)
    sys.path[:0] = [str(root / "src"), str(root)]
    try:
        target: Any = getattr(importlib.import_module(module), attribute)
    finally:
        sys.path[:] = saved
    file = getattr(target, "__file__", None)
    return Path(file).parent if file else Path(str(target))


def read_pack(root: Path) -> Pack:
    """Read the pack in ``root``; ``NotFoundError`` without a pyproject.toml, ``InvalidError``
    (every problem, located in pyproject.toml) when it declares no usable entry point."""
    pyproject = root / "pyproject.toml"
    display = str(pyproject)
    if not pyproject.is_file():
        raise NotFoundError(f"no pyproject.toml in {root}: not a pack (create one with "
                            "'frontdesk pack new NAME')")
    text = pyproject.read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        line, col = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
        message = _TOML_AT.sub("", str(exc)).strip()
        raise InvalidError([Issue("error", "toml", message, Location(display, line, col))]
                           ) from None
    project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
    issues: list[Issue] = []
    name = project.get("name")
    if not isinstance(name, str):
        issues.append(Issue("error", "pack", "[project] has no 'name'",
                            Location(display, _line_of(text, "[project]"), 1)))
    version = project.get("version")
    version_text = version if isinstance(version, str) else "(dynamic version)"
    group = (project.get("entry-points") or {}).get(ENTRY_POINT_GROUP)
    folders: dict[str, Path] = {}
    if not isinstance(group, dict) or not group:
        issues.append(Issue("error", "pack-entry-point",
                            f"no entry point in group '{ENTRY_POINT_GROUP}': frontdesk would "
                            "not find this pack's playbooks", Location(display, 1, 1),
                            _ENTRY_HINT))
        group = {}
    for entry, value in group.items():
        where = Location(display, _line_of(text, f"{entry} ="), 1)
        module, _, attribute = str(value).partition(":")
        try:
            folder = (_resolve_import(root, module.strip(), attribute.strip()) if attribute
                      else _resolve_static(root, module.strip()))
        except Exception as exc:  # the pack's own code failed to import: report, not crash
            issues.append(Issue("error", "pack-entry-point", f"entry point '{entry}' = "
                                f"'{value}' cannot be loaded: {type(exc).__name__}: {exc}",
                                where))
            continue
        if folder is None or not folder.is_dir():
            issues.append(Issue("error", "pack-entry-point",
                                f"entry point '{entry}' names '{value}', which is not a "
                                f"package or module of this project", where,
                                "point it at the package folder that holds the playbooks"))
            continue
        folders[entry] = folder
    if issues:
        raise InvalidError(issues)
    assert isinstance(name, str)
    return Pack(root, name, version_text, folders)


def new_pack(name: str, parent: Path) -> list[Path]:
    """Write a new pack ``parent/name``; the files written, in order.

    Refused (exit 2) for a name that is not lower-case words joined by ``-``, a name whose
    import package is already importable here (it would shadow or be shadowed), or a folder
    that exists and is not empty.
    """
    from . import pack_template

    if not PACK_NAME.match(name):
        raise UsageError(f"pack name '{name}' must be lower-case letters and digits, words "
                         "joined by '-' (e.g. riverside-billing)")
    package = name.replace("-", "_")
    if importlib.util.find_spec(package) is not None:
        raise UsageError(f"a Python module named '{package}' is already importable here; "
                         "choose another pack name")
    target = parent / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not empty")
    written = []
    for relative, text in pack_template.files(name, package).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        written.append(path)
    return written
