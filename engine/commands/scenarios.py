"""``frontdesk test``: run scenario files and print one line per scenario and a summary.

The scenarios of an installed pack run with the pack's own practice config (``--practice
pack``, the default) unless ``--practice local`` asks for the home's practice.yaml; other
scenarios run with the home's (``scenario.PracticeChoice``).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from ..scenario import PracticeChoice, is_pack_practice, iter_results
from ..settings import Options


def scenario_files(paths: list[str]) -> list[Path]:
    """Files as given; folders expand to their ``*.yaml`` / ``*.yml`` files (recursively),
    except a pack's ``scenarios/practice.yaml``, which is the practice its scenarios use."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*")
                            if p.suffix in (".yaml", ".yml") and not is_pack_practice(p))
        else:
            files.append(path)
    return files


def run_test(options: Options, *, paths: list[str], practice: str = "pack") -> int:
    """``test SCENARIO...``: one line per scenario and a summary; exit 5 unless all pass.
    ``practice``: ``pack`` (an installed pack's scenarios use the pack's practice config) or
    ``local`` (every scenario without an inline one uses the home's)."""
    choice = PracticeChoice()
    if practice == "pack":
        from ..loading.catalog import pack_dirs

        choice = PracticeChoice.for_packs(d.path for d in pack_dirs())
    passed = failed = 0
    for result in iter_results(scenario_files(paths), options, choice):
        click.echo(result.line())
        if result.passed:
            passed += 1
        else:
            failed += 1
    click.echo(f"{passed} passed, {failed} failed")
    return ExitCode.OK if failed == 0 and passed > 0 else ExitCode.REFUSED
