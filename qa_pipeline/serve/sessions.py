"""Signed-in browsers: a random session id in an HttpOnly cookie, the session itself held by the application
process (signing out or a restart ends it; nothing about it is stored in the database).

Every browser gets a session on its first page, signed in or not, and every session has its own CSRF token:
each form carries it in a hidden field and a POST whose field does not equal its session's token is refused
(403). Signing in replaces the session with a new id and token, so an id planted before sign-in is worth
nothing after it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "qa_session"
IDLE_S = 8 * 3600  # a working day without a request ends the session
PRUNE_AT = 1000  # sessions held before idle ones are dropped


@dataclass
class Session:
    session_id: str
    csrf_token: str
    username: str | None = None
    last_seen: float = field(default_factory=time.monotonic)

    def csrf_ok(self, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(submitted.encode(), self.csrf_token.encode())


class Sessions:
    """Sessions by id, for one application process (many request threads)."""

    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _new(self, username: str | None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), username)
        now = time.monotonic()
        with self._lock:
            if len(self._by_id) >= PRUNE_AT:  # every visitor without a cookie starts one: idle ones go
                for stale in [s for s in self._by_id.values() if now - s.last_seen > self.idle_s]:
                    del self._by_id[stale.session_id]
            self._by_id[session.session_id] = session
        return session

    def get_or_start(self, session_id: str | None) -> Session:
        """The session of `session_id`, or a new anonymous one when it is unknown or idle."""
        now = time.monotonic()
        with self._lock:
            session = self._by_id.get(session_id or "")
            if session is not None and now - session.last_seen <= self.idle_s:
                session.last_seen = now
                return session
            if session is not None:
                del self._by_id[session.session_id]
        return self._new(None)

    def sign_in(self, old: Session, username: str) -> Session:
        """A new session for `username`, the old one ended."""
        self.end(old)
        return self._new(username)

    def end(self, session: Session) -> None:
        with self._lock:
            self._by_id.pop(session.session_id, None)
