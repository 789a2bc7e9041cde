"""The clock: real, or fixed by ``--now`` / ``$FRONTDESK_NOW`` so a scenario can be simulated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from ..errors import UsageError


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment, timezone-aware."""
        ...


@dataclass(slots=True)
class SystemClock:
    tz: dt.tzinfo

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


@dataclass(slots=True)
class FixedClock:
    moment: dt.datetime

    def now(self) -> dt.datetime:
        return self.moment

    def advance_to(self, moment: dt.datetime) -> None:
        self.moment = moment


def parse_now(text: str, tz: dt.tzinfo) -> dt.datetime:
    """An ISO-8601 date or datetime; without an offset it is in the practice time zone."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--now: '{text}' is not an ISO-8601 date or datetime "
                         "(e.g. 2026-01-05T09:00)") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def make_clock(now_text: str | None, tz: dt.tzinfo) -> Clock:
    """A fixed clock when ``now_text`` is given, else the real one."""
    return FixedClock(parse_now(now_text, tz)) if now_text else SystemClock(tz)
