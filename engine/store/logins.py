"""The web board's logins in the store: a password hash per person and the failed attempts.

One row of ``web_logins`` (migration ``0007_web_logins``) per person who has a password:
the Argon2 hash (never the password), when it was set, the failed logins since the last good
one, and the moment until which that person is locked out. The rows are written in their own
short transactions, outside the audit log: a login is not a change to any instance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

COLUMNS = ("person", "hash", "set_at", "failures", "locked_until")


@dataclass(frozen=True, slots=True)
class Login:
    """One person's web login as stored."""

    person: str
    hash: str
    set_at: str
    failures: int
    locked_until: dt.datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Login:
        locked = row[4]
        return cls(str(row[0]), str(row[1]), str(row[2]), int(row[3]),
                   dt.datetime.fromisoformat(locked) if locked else None)


SELECT = f"SELECT {', '.join(COLUMNS)} FROM web_logins WHERE person = ?"
UPSERT = ("INSERT INTO web_logins (person, hash, set_at, failures, locked_until) "
          "VALUES (?, ?, ?, 0, NULL) ON CONFLICT (person) DO UPDATE SET hash = excluded.hash, "
          "set_at = excluded.set_at, failures = 0, locked_until = NULL")
FAILED = "UPDATE web_logins SET failures = failures + 1 WHERE person = ?"
LOCK = "UPDATE web_logins SET locked_until = ? WHERE person = ?"
CLEAR = "UPDATE web_logins SET failures = 0, locked_until = NULL WHERE person = ?"
REHASH = "UPDATE web_logins SET hash = ? WHERE person = ?"


def lock_until(failures: int, after: int, minutes: float, now: dt.datetime) -> dt.datetime | None:
    """Until when ``failures`` consecutive failed logins lock a person out: nothing below
    ``after``; then ``minutes``, doubled for each further failure, at most a day."""
    if failures < after:
        return None
    span = min(minutes * 2 ** (failures - after), 24 * 60)
    return now + dt.timedelta(minutes=span)
