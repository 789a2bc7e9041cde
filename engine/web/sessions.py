"""Who is logged in to the board: server-side sessions kept in the server's memory.

The browser holds only a random session id (an HttpOnly, SameSite=Lax cookie, Secure under
TLS); the person, the CSRF token and the moment of the last request stay here. A session idle
longer than the practice's ``board.idle_minutes`` is ended at its next request (HIPAA
164.312(a)(2)(iii), automatic logoff), and logging out ends it at once. Restarting the server
logs everyone out.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "frontdesk_session"


@dataclass(slots=True)
class Session:
    """One person's login in one browser."""

    person: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seen: float = field(default_factory=time.monotonic)
    notice: str | None = None  # shown once on the next page (after a redirect)


class Sessions:
    """The live sessions by id; safe to use from the server's threads."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, person: str) -> tuple[str, Session]:
        """A new session for ``person``: its id (for the cookie) and the session."""
        sid = secrets.token_urlsafe(32)
        session = Session(person)
        with self._lock:
            self._by_id[sid] = session
        return sid, session

    def get(self, sid: str | None) -> tuple[Session | None, bool]:
        """The live session of ``sid`` (touched now), and whether one just expired."""
        if not sid:
            return None, False
        now = time.monotonic()
        with self._lock:
            session = self._by_id.get(sid)
            if session is None:
                return None, False
            if now - session.seen > self.idle_seconds:
                del self._by_id[sid]
                return None, True
            session.seen = now
            return session, False

    def close(self, sid: str | None) -> None:
        """End the session ``sid`` (logout)."""
        if sid:
            with self._lock:
                self._by_id.pop(sid, None)
