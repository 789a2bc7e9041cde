"""What leaves the machine for one message, under the practice's ``phi`` setting.

With ``phi: none`` (the default) no instance variable's value and no rendered title, subject
or body leaves the machine: the email or webhook names the practice, the message's kind, its
playbook, its ids and the PHI-free ``facts`` its producer recorded (counts, ids, state names),
and says how to read it in frontdesk. With ``phi: titles`` the rendered subject and body go
out as written. The outbox in the store keeps the full rendered message either way.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import Compat32
from typing import Any

from ..model import Practice
from ..outbox import OutboxEntry

_SCALARS = (str, int, float, bool)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in any mail client's source view, unlike base64


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The subject and body a message carries off the machine."""

    subject: str
    body: str


def practice_name(practice: Practice) -> str:
    return practice.name or "Your practice"


def outgoing(entry: OutboxEntry, practice: Practice) -> Outgoing:
    """The subject and body that may leave the machine for ``entry``."""
    if practice.delivery.phi == "titles":
        return Outgoing(entry.subject, entry.body)
    return minimal(entry, practice)


def minimal(entry: OutboxEntry, practice: Practice) -> Outgoing:
    """The ``phi: none`` rendition: the practice, kind, playbook, ids and facts only."""
    name = practice_name(practice)
    facts = dict(entry.facts)
    playbook = facts.pop("playbook", None) or entry.playbook
    instance = facts.pop("instance", None) or entry.instance
    summary, shown, how = facts.pop("summary", None), facts.pop("lines", None), \
        facts.pop("open", None)  # a producer's PHI-free rendition (a digest's task lines)
    subject = f"{name}: {'a ' + entry.kind if entry.kind == 'message' else entry.kind}"
    if playbook:
        subject += f" from {playbook}"
    if isinstance(summary, str):
        subject += f", {summary}"
    lines = [f"{name} has a {entry.kind} for you in frontdesk (outbox message {entry.id}).", "",
             f"kind: {entry.kind}"]
    if playbook:
        version = facts.pop("version", None)
        lines.append(f"playbook: {playbook}" + (f" (version {version})" if version else ""))
    if instance:
        lines.append(f"instance: {instance}")
    lines += [f"{key}: {value}" for key, value in sorted(facts.items())
              if isinstance(value, _SCALARS)]
    if isinstance(shown, list):
        lines += ["", *(str(line) for line in shown)]
    lines += ["", "No patient details are sent by email or chat (delivery.phi: none).",
              "Open frontdesk to read it: "
              + (how if isinstance(how, str) else f"frontdesk show {instance}" if instance
                 else "frontdesk outbox")
              + (" (or frontdesk outbox)" if instance else ""), ""]
    return Outgoing(subject, "\n".join(lines))


class _OneLineHeaders(Compat32):
    """Writes each header as built: ``email_message`` makes every header one ASCII line (a
    subject that is not ASCII, or long, is RFC 2047-encoded and folded by ``Header``), so
    the generator's folding, a third of the cost of an email (``bench send``), is skipped."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        return f"{name}: {value}{self.linesep}"


_ONE_LINE = _OneLineHeaders(linesep="\r\n")


def email_message(entry: OutboxEntry, practice: Practice, addresses: list[str],
                  now: dt.datetime) -> bytes:
    """The email of ``entry`` to ``addresses``, with its stable ``Message-ID``, as sent.

    Built with the classic ``email.mime`` classes: the header registry of ``EmailMessage``
    parses every header it is given and costs more than sending the message (``bench send``).
    """
    text = outgoing(entry, practice)
    body = text.body
    charset: Any = "us-ascii" if body.isascii() else _UTF8_QP  # typeshed: str only; 3.11
    msg = MIMEText(body, "plain", charset)  # takes a Charset too (its body encoding)
    sender = practice.delivery.sender or ""
    msg["From"] = email.utils.formataddr((f"{practice_name(practice)} (frontdesk)", sender))
    msg["To"] = ", ".join(addresses)
    subject = " ".join(text.subject.split())  # one line, whatever a template gave
    msg["Subject"] = subject if subject.isascii() and len(subject) < 900 else \
        Header(subject, "utf-8").encode(linesep="\r\n")
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = entry.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg["X-Frontdesk-Outbox"] = str(entry.id)
    return msg.as_bytes(policy=_ONE_LINE)


def webhook_payload(entry: OutboxEntry, practice: Practice, persons: list[str],
                    now: dt.datetime) -> dict[str, Any]:
    """The JSON document POSTed to the webhook for ``entry`` (docs/delivery.md)."""
    text = outgoing(entry, practice)
    # a template's result names a person or role, but could be anything a playbook rendered
    shown = entry.to_name if entry.to_kind != "name" or practice.delivery.phi == "titles" \
        else None
    return {
        "message_id": entry.message_id, "outbox_id": entry.id, "kind": entry.kind,
        "practice": practice_name(practice), "phi": practice.delivery.phi,
        "to": {"kind": entry.to_kind, "name": shown}, "persons": persons,
        "playbook": entry.playbook, "instance": entry.instance,
        "facts": {k: v for k, v in entry.facts.items() if isinstance(v, _SCALARS)},
        "subject": text.subject, "body": text.body, "created_at": entry.at,
        "sent_at": now.astimezone(dt.UTC).isoformat(),
    }
