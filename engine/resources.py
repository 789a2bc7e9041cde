"""Find the shipped ``schemas/`` and ``playbooks/`` folders from a wheel, an editable install
or a plain checkout, through one function."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The shipped data folder ``name`` ("schemas" or "playbooks").

    A wheel carries it as ``frontdesk/_data/<name>``; a checkout or an editable install has it
    beside the package at the repository's top level.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"frontdesk's '{name}' folder is missing from this installation")
