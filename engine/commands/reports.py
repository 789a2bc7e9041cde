"""``frontdesk report``: the practice's figures as a table, CSV, JSON or an HTML file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..errors import ExitCode, UsageError
from ..reports import available, build_report, render
from ..service import Engine


def run_report(engine: Engine, *, name: str | None, first: dt.date | None,
               last: dt.date | None, days: int, fmt: str, output: str | None) -> int:
    """Print (or write to ``output``) report ``name``; without a name, list the reports."""
    if name is None:
        for report, playbooks in available(engine).items():
            click.echo(f"{report:<16} {', '.join(playbooks) if playbooks else '(built-in)'}")
        return ExitCode.OK
    document = render(build_report(engine, name, first, last, days), fmt)
    if output is None:
        click.echo(document, nl=False)
        return ExitCode.OK
    try:
        Path(output).write_text(document, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)
    return ExitCode.OK
