"""One delivery pass over the outbox: ``send`` (every pending message) and ``tick`` (those
whose backoff has run out).

Each message is tried on every recipient still pending; its outcome (status, attempts, next
attempt, last error, each recipient's status) is committed at once, message by message, so a
crash loses at most the record of the message in flight. That message is then sent again by the
next run, with the same ``Message-ID``: delivery is at least once, and a duplicate is
recognisable as one (docs/delivery.md). Sends are not audit records: the audit log records the
changes of instances, and the outbox row is the record of a message's delivery.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass, field

from ..model import Practice
from ..outbox import EMAIL, FAILED, PENDING, SENT, DeliveryUpdate, OutboxEntry, Recipient
from ..store import Store
from . import content
from .outcome import Outcome, permanent
from .recipients import resolve

MAX_ATTEMPTS = 10  # then a message that only ever failed for now is given up (failed)
FIRST_BACKOFF = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=6)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1 min, doubling, <= 6 h."""
    return min(FIRST_BACKOFF * (1 << min(max(attempts - 1, 0), 16)), MAX_BACKOFF)


@dataclass(slots=True)
class SendReport:
    """What one delivery pass did, and what is left in the outbox after it."""

    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # still pending after a temporary failure
    failed: list[int] = field(default_factory=list)
    not_configured: bool = False  # no channel: nothing was tried
    pending: int = 0  # pending messages left in the outbox
    failed_total: int = 0  # failed messages in the outbox

    @property
    def complete(self) -> bool:
        """Nothing left pending or failed in the outbox."""
        return not self.pending and not self.failed_total


class _Channels:
    """The channels of one pass, opened on first use and closed at its end."""

    def __init__(self, practice: Practice, stack: ExitStack) -> None:
        from .smtp import SmtpChannel, smtp_password
        from .webhook import WebhookChannel

        delivery = practice.delivery
        self.smtp = None if delivery.smtp is None else stack.enter_context(
            SmtpChannel(delivery.smtp, smtp_password(delivery.smtp)))
        self.webhook = None
        if delivery.webhook is not None:
            from .secrets import secret_from_file

            self.webhook = WebhookChannel(delivery.webhook, secret_from_file(
                delivery.webhook.secret_file, "webhook secret file"))


def check_secrets(practice: Practice) -> None:
    """Read the SMTP password and the webhook secret as a delivery pass would, refusing (exit
    3) a file group or others can read or a missing variable: a command that writes before it
    sends checks them first, so it fails before writing anything."""
    from .secrets import secret_from_file
    from .smtp import smtp_password

    delivery = practice.delivery
    if delivery.smtp is not None:
        smtp_password(delivery.smtp)
    if delivery.webhook is not None:
        secret_from_file(delivery.webhook.secret_file, "webhook secret file")


def deliver(store: Store, practice: Practice, now: dt.datetime, principal: str, *,
            honour_backoff: bool) -> SendReport:
    """Try the pending messages (with ``honour_backoff``, only those due by ``now``)."""
    report = SendReport()
    entries = store.deliverable(now if honour_backoff else None)
    if entries and not practice.delivery.configured:
        report.not_configured = True
    elif entries:
        with ExitStack() as stack:
            channels = _Channels(practice, stack)  # reads the secrets: may refuse to start
            stack.enter_context(store.relaxed_durability())
            for entry in entries:
                update = _attempt(entry, practice, channels, now, principal)
                store.record_delivery(update)
                {SENT: report.sent, FAILED: report.failed}.get(
                    update.status, report.retry).append(entry.id)
    counts = store.outbox_counts()
    report.pending, report.failed_total = counts.get(PENDING, 0), counts.get(FAILED, 0)
    return report


def _attempt(entry: OutboxEntry, practice: Practice, channels: _Channels, now: dt.datetime,
             principal: str) -> DeliveryUpdate:
    """Try ``entry`` on its pending recipients; the update that records how it went."""
    attempts = entry.attempts + 1
    recipients = entry.recipients
    if not recipients:  # not resolved yet, or resolved to nobody before a retry
        recipients, nobody = resolve(entry, practice)
        if nobody is not None:
            return DeliveryUpdate(entry.id, FAILED, attempts, None, nobody, [], None, principal)
    outcomes = _send(entry, practice, channels, [r for r in recipients if r.status == PENDING],
                     now)
    stamp = now.astimezone(dt.UTC).isoformat()
    for recipient, outcome in outcomes:
        if outcome.delivered:
            recipient.status, recipient.error, recipient.sent_at = SENT, None, stamp
        else:
            recipient.error = outcome.error
            recipient.status = PENDING if outcome.temporary else FAILED
    errors = [o.error for _, o in outcomes if o.error]
    last_error = errors[-1] if errors else entry.last_error
    if any(r.status == PENDING for r in recipients):
        if attempts >= MAX_ATTEMPTS:
            return DeliveryUpdate(entry.id, FAILED, attempts, None,
                                  f"gave up after {attempts} attempts: {last_error}",
                                  recipients, None, principal)
        return DeliveryUpdate(entry.id, PENDING, attempts, now + backoff(attempts), last_error,
                              recipients, None, principal)
    status = FAILED if any(r.status == FAILED for r in recipients) else SENT
    return DeliveryUpdate(entry.id, status, attempts, None,
                          last_error if status == FAILED else None, recipients,
                          now if status == SENT else None, principal)


def _send(entry: OutboxEntry, practice: Practice, channels: _Channels,
          pending: list[Recipient], now: dt.datetime) -> list[tuple[Recipient, Outcome]]:
    """Each pending recipient with the outcome of this attempt."""
    results: list[tuple[Recipient, Outcome]] = []
    emails = [r for r in pending if r.channel == EMAIL]
    smtp = channels.smtp
    if emails and smtp is None:
        results += [(r, permanent("delivery.smtp is no longer configured")) for r in emails]
    elif emails and smtp is not None:
        addresses = [r.address for r in emails]
        message = content.email_message(entry, practice, addresses, now)
        outcomes = smtp.send(message, practice.delivery.sender or "", addresses)
        results += [(r, outcomes[r.address]) for r in emails]
    for hook in (r for r in pending if r.channel != EMAIL):
        if channels.webhook is None:
            results.append((hook, permanent("delivery.webhook is no longer configured")))
            continue
        from .recipients import persons

        document = content.webhook_payload(entry, practice, persons(entry, practice)[0], now)
        results.append((hook, channels.webhook.send(document)))
    return results
