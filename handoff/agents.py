"""Webcare agents: accounts, log-in sessions and presence.

Passwords are hashed with Argon2id (argon2-cffi). A session cookie carries a random token;
the database keeps only its SHA-256, next to the session's own CSRF token. Presence decides
routing: only ``online`` agents are offered chats, and an agent whose console has not been
heard from for a while counts as offline.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import agent_links, agent_sessions, agents, utcnow
from bot.core.settings import SUPPORTED_LANGUAGES

ROLES = ("agent", "admin")
PRESENCES = ("online", "away", "offline")
MIN_PASSWORD_CHARS = 10
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this keeps a log-in for an unknown user as slow as a wrong password."""
    return _hasher.hash("not a real password, only for timing")


class AgentError(ValueError):
    """An agent account cannot be created or changed as asked."""


@dataclass(frozen=True)
class Agent:
    id: int
    username: str
    display_name: str
    role: str
    languages: tuple[str, ...]
    presence: str
    active: bool
    last_seen_at: datetime | None
    ui_language: str | None = None  # the console's language; None: the browser's

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def effective_presence(self, now: datetime, stale_after: timedelta) -> str:
        """``offline`` when the console has been silent longer than ``stale_after``."""
        if self.presence == "offline" or self.last_seen_at is None:
            return "offline"
        return self.presence if now - self.last_seen_at <= stale_after else "offline"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "languages": list(self.languages),
            "presence": self.presence,
            "active": self.active,
        }


@dataclass(frozen=True)
class Session:
    agent: Agent
    csrf_token: str
    expires_at: datetime


def _agent(row: Any) -> Agent:
    return Agent(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        languages=tuple(x for x in row.languages.split(",") if x),
        presence=row.presence,
        active=bool(row.active),
        last_seen_at=row.last_seen_at,
        ui_language=row.ui_language,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_languages(languages: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(languages, str):
        items = languages.split(",")
    elif isinstance(languages, (list, tuple)) and all(isinstance(x, str) for x in languages):
        items = list(languages)
    else:
        raise AgentError("languages must be text like 'nl,fr' or a list of language codes")
    cleaned = tuple(dict.fromkeys(x.strip().lower() for x in items if x.strip()))
    unknown = [x for x in cleaned if x not in SUPPORTED_LANGUAGES]
    if unknown or not cleaned:
        raise AgentError(f"languages must be a non-empty subset of {', '.join(SUPPORTED_LANGUAGES)}")
    return cleaned


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AgentError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")


class AgentDirectory:
    """Agent accounts and their sessions, on the configured database."""

    def __init__(
        self,
        engine: Engine,
        session_ttl: timedelta = timedelta(hours=12),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.session_ttl = session_ttl
        self.now = now  # the clock sessions open and expire on (a test moves its own)

    def create(
        self,
        username: str,
        password: str,
        *,
        display_name: str | None = None,
        role: str = "agent",
        languages: list[str] | tuple[str, ...] | str = ("nl",),
    ) -> Agent:
        username = username.strip().lower()
        if not username or len(username) > 64 or not username.replace(".", "").replace("-", "").isalnum():
            raise AgentError("the username must be 1-64 letters, digits, dots or dashes")
        if role not in ROLES:
            raise AgentError(f"role must be one of {', '.join(ROLES)}")
        check_password(password)
        if display_name is not None and not isinstance(display_name, str):
            raise AgentError("display_name must be text")
        values = {
            "username": username,
            "display_name": (display_name or username).strip()[:128],
            "password_hash": _hasher.hash(password),
            "role": role,
            "languages": ",".join(normalise_languages(languages)),
            "presence": "offline",
            "active": True,
            "created_at": utcnow(),
        }
        try:
            with self.engine.begin() as conn:
                agent_id = conn.execute(insert(agents).values(**values)).inserted_primary_key[0]
        except IntegrityError as exc:
            raise AgentError(f"an agent called {username!r} already exists") from exc
        found = self.get(int(agent_id))
        assert found is not None
        return found

    def get(self, agent_id: int) -> Agent | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(agents).where(agents.c.id == agent_id)).first()
        return _agent(row) if row else None

    def by_username(self, username: str) -> Agent | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(agents).where(agents.c.username == username.strip().lower())).first()
        return _agent(row) if row else None

    def all(self) -> list[Agent]:
        with self.engine.connect() as conn:
            return [_agent(r) for r in conn.execute(select(agents).order_by(agents.c.username))]

    def count_admins(self) -> int:
        return sum(1 for a in self.all() if a.is_admin and a.active)

    def update(self, agent_id: int, **changes: Any) -> Agent:
        """Change display_name, role, languages, active or password (admin screens)."""
        values: dict[str, Any] = {}
        if "display_name" in changes:
            if not isinstance(changes["display_name"], str) or not changes["display_name"].strip():
                raise AgentError("display_name must be non-empty text")
            values["display_name"] = changes["display_name"].strip()[:128]
        if "role" in changes:
            if changes["role"] not in ROLES:
                raise AgentError(f"role must be one of {', '.join(ROLES)}")
            values["role"] = changes["role"]
        if "languages" in changes:
            values["languages"] = ",".join(normalise_languages(changes["languages"]))
        if "active" in changes:
            values["active"] = bool(changes["active"])
            if not values["active"]:
                values["presence"] = "offline"
        if changes.get("password"):
            check_password(changes["password"])
            values["password_hash"] = _hasher.hash(changes["password"])
        with self.engine.begin() as conn:
            if values:
                conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
            if not values.get("active", True) or "password_hash" in values:
                conn.execute(delete(agent_sessions).where(agent_sessions.c.agent_id == agent_id))
        found = self.get(agent_id)
        if found is None:
            raise AgentError("no such agent")
        return found

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The agent when the password is right and the account active; None otherwise."""
        with self.engine.connect() as conn:
            row = conn.execute(select(agents).where(agents.c.username == username.strip().lower())).first()
        stored = row.password_hash if row else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    update(agents).where(agents.c.id == row.id).values(password_hash=_hasher.hash(password))
                )
        return _agent(row)

    def open_session(self, agent: Agent) -> tuple[str, Session]:
        """A new session; returns the cookie token (never stored) and the session."""
        token, now = secrets.token_urlsafe(32), self.now()
        session = Session(agent, secrets.token_urlsafe(24), now + self.session_ttl)
        with self.engine.begin() as conn:
            conn.execute(
                insert(agent_sessions).values(
                    token_hash=_token_hash(token),
                    agent_id=agent.id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
            conn.execute(delete(agent_sessions).where(agent_sessions.c.expires_at < now))
        return token, session

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token, None when unknown, expired or the agent inactive."""
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(agent_sessions, agents)
                .join(agents, agents.c.id == agent_sessions.c.agent_id)
                .where(agent_sessions.c.token_hash == _token_hash(token))
            ).first()
        if row is None or row.expires_at <= self.now() or not row.active:
            return None
        return Session(_agent(row), row.csrf_token, row.expires_at)

    def close_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == _token_hash(token)))

    def set_presence(self, agent_id: int, presence: str) -> None:
        if presence not in PRESENCES:
            raise AgentError(f"presence must be one of {', '.join(PRESENCES)}")
        with self.engine.begin() as conn:
            conn.execute(
                update(agents).where(agents.c.id == agent_id).values(presence=presence, last_seen_at=utcnow())
            )

    def set_ui_language(self, agent_id: int, language: str | None) -> None:
        """The console's language for this agent (one of SUPPORTED_LANGUAGES), or None for the
        browser's."""
        if language is not None and language not in SUPPORTED_LANGUAGES:
            raise AgentError(f"the console's language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        with self.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id).values(ui_language=language))

    def seen(self, agent_id: int, now: datetime | None = None) -> None:
        """The agent's console is alive (called by its live stream, at most every 20 s)."""
        with self.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id).values(last_seen_at=now or utcnow()))

    def link(self, agent_id: int, provider: str, external_id: str) -> None:
        """Tie an account on another platform (e.g. a Slack user id) to this agent."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(agent_links).where(
                    agent_links.c.provider == provider, agent_links.c.external_id == external_id
                )
            )
            conn.execute(
                insert(agent_links).values(provider=provider, external_id=external_id, agent_id=agent_id)
            )

    def by_link(self, provider: str, external_id: str) -> Agent | None:
        """The active agent linked to this platform account, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(agents)
                .join(agent_links, agent_links.c.agent_id == agents.c.id)
                .where(agent_links.c.provider == provider, agent_links.c.external_id == external_id)
            ).first()
        return _agent(row) if row is not None and row.active else None
