"""``frontdesk test``: run scenario files and print one line per scenario and a summary."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from ..scenario import iter_results
from ..settings import Options


def scenario_files(paths: list[str]) -> list[Path]:
    """Files as given; folders expand to their ``*.yaml`` / ``*.yml`` files (recursively)."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    return files


def run_test(options: Options, *, paths: list[str]) -> int:
    """``test SCENARIO...``: one line per scenario and a summary; exit 5 unless all pass."""
    passed = failed = 0
    for result in iter_results(scenario_files(paths), options):
        click.echo(result.line())
        if result.passed:
            passed += 1
        else:
            failed += 1
    click.echo(f"{passed} passed, {failed} failed")
    return ExitCode.OK if failed == 0 and passed > 0 else ExitCode.REFUSED
