"""``send``, and the delivery part of ``tick``: deliver outbox messages and say how it went.

``send`` exits 0 when nothing is left pending or failed in the outbox, 9 otherwise (messages
are kept either way: docs/reference.md, "Delivery").
"""

from __future__ import annotations

import click

from ..delivery.sender import SendReport
from ..errors import ExitCode
from ..report import to_json
from ..service import Engine


def report_json(report: SendReport) -> dict[str, object]:
    """The ``send --json`` document (also ``tick --json``'s ``delivery``)."""
    return {"sent": report.sent, "retry": report.retry, "failed": report.failed,
            "pending": report.pending, "failed_total": report.failed_total,
            "configured": not report.not_configured}


def summary(report: SendReport) -> str:
    """One line: what this pass did and what is left."""
    if report.not_configured:
        return (f"nothing sent: no channel is configured (delivery.smtp or delivery.webhook in "
                f"practice.yaml); {report.pending} message(s) pending")
    line = (f"sent {len(report.sent)}, retry later {len(report.retry)}, "
            f"failed {len(report.failed)}")
    left = [f"{report.pending} pending" if report.pending else "",
            f"{report.failed_total} failed" if report.failed_total else ""]
    if any(left):
        line += f"; in the outbox: {', '.join(x for x in left if x)} ('frontdesk outbox')"
    return line


def run_send(engine: Engine, *, as_json: bool, retry_failed: bool) -> int:
    """``send``: deliver every pending message now, whatever its backoff."""
    report = engine.send(honour_backoff=False, retry_failed=retry_failed)
    if as_json:
        click.echo(to_json(report_json(report)))
    else:
        click.echo(f"send: {summary(report)}", err=not report.complete)
    return ExitCode.OK if report.complete else ExitCode.UNDELIVERED
