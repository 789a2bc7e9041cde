"""``frontdesk digest [--person P] [--send] [--json]``: each person's daily digest.

Without ``--send`` it only reads: every person's digest (or P's) is printed, empty ones
included. With ``--send`` it acts as ``system``: today's digest of each person who has
something to read and has not had one today is written to the outbox (kind ``digest``), then
delivered like ``tick`` delivers (the new digests at once, other messages when their backoff
has run out); exit 9 when something is left pending or failed, as ``send`` (docs/reference.md,
"Digests").
"""

from __future__ import annotations

import click

from .. import digests
from ..errors import ExitCode, UsageError
from ..report import terminal_width, to_json
from ..service import Engine
from .delivery import report_json, summary


def run_digest(engine: Engine, *, person: str | None, send: bool, as_json: bool) -> int:
    """``digest``: print the digests, or (``send``) enqueue and deliver them."""
    persons = digests.recipients(engine, person)
    if send:
        return _send(engine, persons, as_json)
    found = digests.compose(engine, persons)
    if as_json:
        click.echo(to_json([d.to_json() for d in found]))
        return ExitCode.OK
    width = terminal_width(False)
    click.echo("\n".join(digests.text(d, engine, width) for d in found), nl=False)
    return ExitCode.OK


def _send(engine: Engine, persons: list[str], as_json: bool) -> int:
    if not engine.workspace.practice.delivery.configured:
        raise UsageError("digest --send needs a channel: delivery.smtp or delivery.webhook in "
                         "practice.yaml (without --send, digest prints the digests)")
    engine.check_delivery()  # a refused secret file: no digest written
    written, had = digests.enqueue(engine, persons)
    report = engine.send(honour_backoff=True)
    if as_json:
        click.echo(to_json({"enqueued": written, "already_sent_today": had,
                            "delivery": report_json(report)}))
    else:
        click.echo(f"digest: {len(written)} enqueued"
                   + (f", {len(had)} already had today's ({', '.join(had)})" if had else ""))
        click.echo(f"send: {summary(report)}", err=not report.complete)
    return ExitCode.OK if report.complete else ExitCode.UNDELIVERED
