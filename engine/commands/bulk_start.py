"""``start PLAYBOOK --from FILE [--dry-run]``: one instance per row of a roster (``bulk``).

``--set`` and ``--input`` give values every row shares; a row's own value wins. Prints one
line per row (``LINE: ID`` started, or ``LINE: skipped ...``) and a summary; ``--json`` prints
``{"started": [{"line", "id", "subject"}], "skipped": [{"line", "instance", "earlier_line"}],
"dry_run"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from ..bulk import BulkResult, start_rows
from ..errors import ExitCode
from ..report import to_json
from ..rows import Row, read_rows
from ..service import Engine
from .values_input import given_values


def run_start_from(engine: Engine, *, playbook: str, path: str, sets: Sequence[str],
                   input_name: str | None, actor: str, as_json: bool,
                   allow_duplicate: bool = False, dry_run: bool = False) -> int:
    """Start (or with ``dry_run`` show) one instance of ``playbook`` per row of ``path``."""
    shared = given_values(sets, input_name)
    rows = [Row(row.line, {**shared, **row.values}) for row in read_rows(Path(path))]
    result = start_rows(engine, playbook, rows, actor, display=path,
                        allow_duplicate=allow_duplicate, dry_run=dry_run)
    if as_json:
        click.echo(to_json(_document(result, dry_run)))
    else:
        _print_lines(result, dry_run)
    return ExitCode.OK


def _document(result: BulkResult, dry_run: bool) -> dict[str, object]:
    return {
        "started": [{"line": s.line, "id": None if dry_run else s.instance.id,
                     "subject": s.instance.subject} for s in result.started],
        "skipped": [{"line": s.line, "instance": s.instance, "earlier_line": s.earlier_line}
                    for s in result.skipped],
        "dry_run": dry_run,
    }


def _print_lines(result: BulkResult, dry_run: bool) -> None:
    for started in result.started:
        label = started.instance.subject or ""
        click.echo(f"line {started.line}: " + ("would start" if dry_run else started.instance.id)
                   + (f" {label}" if label else ""))
    for skipped in result.skipped:
        why = (f"open instance {skipped.instance} has the same unique inputs" if skipped.instance
               else f"same unique inputs as line {skipped.earlier_line}")
        click.echo(f"line {skipped.line}: skipped ({why})")
    verb = "would start" if dry_run else "started"
    click.echo(f"{verb} {len(result.started)}, skipped {len(result.skipped)}", err=True)
