"""Thin entry point for checkouts: ``python cli.py ...`` runs the frontdesk CLI.

Installed (``pip install .`` or ``-e .``), the package imports as ``frontdesk``; in a checkout
that was never installed, the source folder ``engine/`` is loaded under that name first.
"""

import importlib.util
import sys
from pathlib import Path


def _load_checkout() -> None:
    source = Path(__file__).resolve().parent / "engine"
    spec = importlib.util.spec_from_file_location(
        "frontdesk", source / "__init__.py", submodule_search_locations=[str(source)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["frontdesk"] = module
    spec.loader.exec_module(module)


if importlib.util.find_spec("frontdesk") is None:
    _load_checkout()

from frontdesk.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
