"""How one attempt on one recipient went: delivered, or failed for now or for good."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    """``delivered``, or an ``error`` (the server's reply) that is ``temporary`` (retried
    after a backoff) or permanent (the recipient is given up)."""

    delivered: bool
    error: str | None = None
    temporary: bool = False


DELIVERED = Outcome(True)


def temporary(error: str) -> Outcome:
    return Outcome(False, error, True)


def permanent(error: str) -> Outcome:
    return Outcome(False, error, False)


def by_code(code: int, reply: str) -> Outcome:
    """An SMTP reply's outcome: 4xx is temporary, anything else that is not 2xx permanent."""
    text = f"{code} {reply}".strip()
    return temporary(text) if 400 <= code < 500 else permanent(text)


class ChannelDown(Exception):
    """The channel cannot be used in this run (connection refused, login refused, TLS
    failure): every recipient it would serve fails temporarily with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
