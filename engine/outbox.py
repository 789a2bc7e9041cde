"""The outbox as a delivery queue: a stored message, its recipients and its delivery state.

Plain data shared by the store (which keeps it in the ``outbox`` table, migration
``0006_delivery``) and the delivery edge (``frontdesk.delivery``, which updates it after each
attempt). A message is ``pending`` until every recipient has it (``sent``) or it cannot be
delivered (``failed``: a permanent refusal, nobody to deliver to, or too many temporary
failures); ``attempts`` counts the delivery runs that tried it and ``next_attempt`` is when
``tick`` may try again (``send`` tries every pending message whatever its backoff).

Recipients are resolved from the message's address on its first attempt and then kept, with a
status each, so that a retry goes only to those who have not got it yet.

Enqueueing (for commands that write messages about no instance, such as digests): build
``runtime.instance.Message`` values and give them to ``Store.enqueue`` (their own transaction)
or put them in a ``Change.messages`` committed by ``Txn.apply``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
STATUSES = (PENDING, SENT, FAILED)

EMAIL = "email"
WEBHOOK = "webhook"


@dataclass(slots=True)
class Recipient:
    """One destination of a message: a person's address on a channel, or the practice's
    webhook (``person`` None); ``status`` is ``pending``, ``sent`` or ``failed``."""

    channel: str
    address: str
    person: str | None = None
    status: str = PENDING
    error: str | None = None
    sent_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recipients_text(recipients: list[Recipient] | None) -> str | None:
    """The stored JSON of a recipient list (None: not resolved yet)."""
    if recipients is None:
        return None
    return json.dumps([r.to_dict() for r in recipients], separators=(",", ":"))


def recipients_value(text: str | None) -> list[Recipient] | None:
    if text is None:
        return None
    return [Recipient(**item) for item in json.loads(text)]


@dataclass(slots=True)
class OutboxEntry:
    """A stored message with its delivery state."""

    id: int
    kind: str
    instance: str | None
    at: str  # ISO-8601 with offset
    to_kind: str
    to_name: str
    subject: str
    body: str
    message_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    status: str = PENDING
    attempts: int = 0
    next_attempt: str | None = None
    last_error: str | None = None
    recipients: list[Recipient] | None = None
    sent_at: str | None = None
    sent_by: str | None = None
    playbook: str | None = None  # the instance's playbook (joined), for what leaves the machine

    def to_json(self) -> dict[str, Any]:
        """The message as ``outbox --json`` shows it (docs/reference.md)."""
        return {
            "id": self.id, "kind": self.kind, "instance": self.instance,
            "playbook": self.playbook, "at": self.at, "to": self.to_name,
            "to_kind": self.to_kind, "subject": self.subject, "body": self.body,
            "message_id": self.message_id, "status": self.status, "attempts": self.attempts,
            "next_attempt": self.next_attempt, "last_error": self.last_error,
            "recipients": None if self.recipients is None
            else [r.to_dict() for r in self.recipients],
            "sent_at": self.sent_at, "sent_by": self.sent_by,
        }


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """What one attempt changed of a message: written by ``Store.record_delivery``."""

    id: int
    status: str
    attempts: int
    next_attempt: dt.datetime | None
    last_error: str | None
    recipients: list[Recipient] | None
    sent_at: dt.datetime | None
    sent_by: str
