"""Web board passwords: Argon2 hashes in the store (never in practice.yaml), and the lockout
with backoff after failed logins (persisted per person, so a restart does not lift it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..model import Board
from ..store import Store

MIN_LENGTH = 10
MAX_LENGTH = 1024
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used (None when it may)."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted; the parameters are in the hash)."""
    return _HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """How a login attempt went: ``ok``, or the message to show (the same for a wrong
    person and a wrong password, so the page does not tell who has an account)."""

    ok: bool
    message: str = ""


WRONG = "wrong name or password"


def check_login(store: Store, person: str, password: str, board: Board,
                now: dt.datetime) -> LoginResult:
    """Check ``person``'s ``password`` against the store, counting a failure (and locking the
    person out after ``board.lockout_after`` in a row); a locked person is refused even with
    the right password until the lockout ends."""
    login = store.web_login(person)
    if login is None:
        _HASHER.hash(password)  # about the same time as a real check: no timing tell
        return LoginResult(False, WRONG)
    if login.locked_until is not None and login.locked_until > now:
        return LoginResult(False, _locked(login.locked_until, now))
    try:
        _HASHER.verify(login.hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        until = store.web_login_failed(person, now, board.lockout_after,
                                       board.lockout_minutes)
        return LoginResult(False, _locked(until, now) if until else WRONG)
    rehashed = hash_password(password) if _HASHER.check_needs_rehash(login.hash) else None
    store.web_login_succeeded(person, rehashed)
    return LoginResult(True)


def _locked(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return (f"too many failed logins: this login is locked for about {minutes} minute(s); "
            "try again later or ask an administrator")
