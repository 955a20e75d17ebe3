"""Who may use the review application, in what role, with what password.

Users live in a JSON file beside the database (`<db stem>.users.json`, readable by its owner only), not in
the database: signing in must work while a nightly run holds the DuckDB file, and an operator manages it
with `qa-pipeline users` without touching the call data. Passwords are kept as scrypt hashes (hashlib,
RFC 7914) with a random salt per user, never in clear; checking one compares in constant time.

Roles:
- lead: reviews verdicts, rules on agents' disputes, sees every call
- reviewer: reviews verdicts (calibration between reviewers), may not rule on disputes
- agent: sees only their own calls (agent_id), acknowledges reviews, disputes verdicts
- viewer: reads every page, writes nothing
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("lead", "reviewer", "agent", "viewer")
# scrypt's cost: 2^15 x 8 x 1 uses 32 MiB and about 0.1 s here: slow for a guesser, quick for a sign-in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 10


class UserError(ValueError):
    """A user that cannot be added or changed; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    password_hash: str
    agent_id: str | None = None  # an agent's own id in calls.agent_id

    @property
    def may_review(self) -> bool:
        return self.role in ("lead", "reviewer")

    @property
    def may_rule(self) -> bool:
        return self.role == "lead"

    def may_see_agent(self, agent_id: str | None) -> bool:
        """Whether this user may see a call taken by `agent_id`: an agent only their own."""
        return self.role != "agent" or (agent_id is not None and agent_id == self.agent_id)


def hash_password(password: str) -> str:
    """'scrypt$N$r$p$salt$hash' (base64) of `password` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=32
    )
    encoded = (base64.b64encode(part).decode("ascii") for part in (salt, digest))
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), *encoded])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` (a hash_password result) was made from."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def default_users_path(db_path: str | Path) -> Path:
    path = Path(db_path)
    return path.with_name(f"{path.stem}.users.json")


class UserStore:
    """The users file: read on every sign-in (an operator's change applies at once), written whole."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def all(self) -> list[User]:
        if not self.path.is_file():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return [User(**entry) for entry in document["users"]]
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(f"users file {self.path} cannot be read: {error}") from error

    def get(self, username: str) -> User | None:
        return next((user for user in self.all() if user.username == username), None)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is theirs, else None (the same answer for an unknown name)."""
        user = self.get(username)
        if user is None:
            verify_password(password, _DUMMY_HASH)  # as long as a real check: names are not told apart by time
            return None
        return user if verify_password(password, user.password_hash) else None

    def add(self, username: str, role: str, password: str, agent_id: str | None = None) -> User:
        username = username.strip()
        if not username or any(c.isspace() for c in username):
            raise UserError(f"user name {username!r} must be one word")
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if role == "agent" and not agent_id:
            raise UserError("an agent needs --agent-id (the id their calls carry in calls.agent_id)")
        if role != "agent" and agent_id:
            raise UserError(f"--agent-id is for agents; a {role} sees every call")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        users = [u for u in self.all() if u.username != username]
        user = User(username, role, hash_password(password), agent_id)
        self._write([*users, user])
        return user

    def remove(self, username: str) -> None:
        users = self.all()
        if not any(u.username == username for u in users):
            raise UserError(f"no user {username!r} in {self.path}")
        self._write([u for u in users if u.username != username])

    def _write(self, users: list[User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"users": [asdict(u) for u in sorted(users, key=lambda u: u.username)]}, handle, indent=2)
        partial.replace(self.path)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
