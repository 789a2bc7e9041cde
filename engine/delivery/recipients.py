"""Who a message goes to: its address (a role, a person, or a template's result) resolved
against practice.yaml's people, then each person's address on every configured channel."""

from __future__ import annotations

from ..model import Practice
from ..outbox import EMAIL, WEBHOOK, OutboxEntry, Recipient


def persons(entry: OutboxEntry, practice: Practice) -> tuple[list[str], str]:
    """The person ids ``entry`` is for, and how its address reads (for messages)."""
    people = practice.people
    if entry.to_kind == "person" or (entry.to_kind == "name" and entry.to_name in people):
        return ([entry.to_name] if entry.to_name in people else []), \
            f"person '{entry.to_name}'"
    holders = [pid for pid, person in people.items() if entry.to_name in person.roles]
    if entry.to_kind == "name":  # a template's result may hold a variable's value (PHI)
        return holders, "the role or person its template gave"
    return holders, f"role '{entry.to_name}'"


def resolve(entry: OutboxEntry, practice: Practice) -> tuple[list[Recipient], str | None]:
    """The recipients of ``entry`` on the configured channels (an email per person who has an
    address, the practice's webhook once), or none and the reason why."""
    delivery = practice.delivery
    found, address = persons(entry, practice)
    recipients: list[Recipient] = []
    if delivery.smtp is not None:
        seen: set[str] = set()
        for pid in found:
            email = practice.people[pid].email
            if email and email.lower() not in seen:
                seen.add(email.lower())
                recipients.append(Recipient(EMAIL, email, pid))
    if delivery.webhook is not None:
        recipients.append(Recipient(WEBHOOK, delivery.webhook.url))
    if recipients:
        return recipients, None
    return [], _nobody(address, found, practice)


def _nobody(address: str, found: list[str], practice: Practice) -> str:
    if not practice.people:
        return f"nobody to deliver to: practice.yaml lists no people (the message is for {address})"
    if not found:
        what = "is not in practice.yaml" if address.startswith("person") else "has no holder"
        return f"nobody to deliver to: {address} {what}"
    return (f"nobody to deliver to: no one of {address} has an email address "
            f"({', '.join(found)}: set people.<id>.email in practice.yaml)")
