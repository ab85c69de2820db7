"""The web chat's conversation tokens: the gateway issues a random token, and only whoever holds
it reads or continues that sender's conversation (table ``chat_sessions``).

A token maps to exactly one (channel, sender) and a sender has at most one token. Only the
token's SHA-256 is stored: a copy of the database lets nobody into a conversation. Tokens are
256 random bits (:func:`secrets.token_urlsafe`), so a hash without a salt is enough.

Who gets a token for which sender (bot/channels/webchat.py decides when to call what here):

* :meth:`ChatSessions.claim` binds a new token to a sender that has no token and no
  conversation yet: a new customer who chose their sender id (an integrator, the CLI). A sender
  with history but no token (a widget of before the tokens, or a caller who guessed or read a
  sender id) is not claimed: whoever it is gets a new sender instead (:meth:`ChatSessions.open`).
* :meth:`ChatSessions.open` makes a new random sender with its token.
* :meth:`ChatSessions.adopt` stores a token the gateway issued while the database was away
  (bot/channels/chat_spool.py keeps its hash and sender until the database is back).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import chat_sessions, conversations, utcnow

TOKEN_BYTES = 32  # 256 bits, 43 characters in URL-safe base64
# What a token may look like before it is looked up: a forged 1 MB or binary "token" is refused
# without hashing or querying (the issued ones are 43 characters of this alphabet).
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
SENDER_PREFIX = "web-"
USED_EVERY = timedelta(hours=1)  # ``used_at`` is written at most this often per token
# The look-up of every web chat message, built once (no statement or cache key to build per call).
_BY_TOKEN = select(chat_sessions.c.sender, chat_sessions.c.used_at).where(
    chat_sessions.c.token_hash == bindparam("digest"), chat_sessions.c.channel == bindparam("channel")
)


@dataclass(frozen=True)
class ChatSession:
    channel: str
    sender: str
    token: str | None = None  # only when just issued: it is never stored or read back


def well_shaped(token: str | None) -> bool:
    return bool(token) and TOKEN_SHAPE.fullmatch(token or "") is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_sender() -> str:
    return SENDER_PREFIX + secrets.token_hex(16)


class ChatSessions:
    """Tokens of one channel's conversations on the configured database."""

    def __init__(self, engine: Engine, channel: str = "web") -> None:
        self.engine, self.channel = engine, channel

    def find(self, token: str | None) -> ChatSession | None:
        """The session a token opens; None for a missing, malformed or unknown token."""
        if not well_shaped(token):
            return None
        digest, now = token_hash(token or ""), utcnow()
        t = chat_sessions.c
        with self.engine.begin() as conn:
            row = conn.execute(_BY_TOKEN, {"digest": digest, "channel": self.channel}).first()
            if row is None:
                return None
            if row.used_at < now - USED_EVERY:
                conn.execute(update(chat_sessions).where(t.token_hash == digest).values(used_at=now))
        return ChatSession(self.channel, row.sender)

    def claim(self, sender: str) -> ChatSession | None:
        """A token for ``sender`` if it has neither a token nor a conversation yet, else None.

        Two claims at once: the unique (channel, sender) lets only one of them win."""
        c = conversations.c
        with self.engine.begin() as conn:
            known = conn.execute(
                select(exists().where(c.channel == self.channel, c.sender == sender))
            ).scalar()
        if known:
            return None
        return self.issue(sender)

    def open(self) -> ChatSession:
        """A new conversation of its own: a random sender and its token."""
        while True:
            session = self.issue(new_sender())
            if session is not None:
                return session

    def adopt(self, digest: str, sender: str) -> ChatSession:
        """The session of a token the gateway issued while the database was away (only its hash
        ``digest`` was kept), made the first time and found every other (another row, another
        replica's spool). Its sender is ``sender`` if that may be claimed (:meth:`claim`), else a
        new random one: the token opens that conversation, whatever its sender."""
        if (found := self._by_hash(digest)) is not None:
            return found
        c = conversations.c
        with self.engine.begin() as conn:
            known = conn.execute(
                select(exists().where(c.channel == self.channel, c.sender == sender))
            ).scalar()
        candidate = new_sender() if known else sender
        while True:
            now = utcnow()
            values = {"channel": self.channel, "sender": candidate, "created_at": now, "used_at": now}
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(chat_sessions).values(token_hash=digest, **values))
                return ChatSession(self.channel, candidate)
            except IntegrityError:  # made meanwhile by another replay, or the sender has a token
                if (found := self._by_hash(digest)) is not None:
                    return found
                candidate = new_sender()

    def _by_hash(self, digest: str) -> ChatSession | None:
        t = chat_sessions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.sender).where(t.token_hash == digest, t.channel == self.channel)
            ).first()
        return None if row is None else ChatSession(self.channel, row.sender)

    def forget(self, sender: str) -> int:
        """End the sender's session (an erasure): its token opens nothing any more."""
        t = chat_sessions.c
        with self.engine.begin() as conn:
            where = (t.channel == self.channel) & (t.sender == sender)
            return conn.execute(delete(chat_sessions).where(where)).rowcount

    def forget_unused(self, before: datetime) -> int:
        """Delete the sessions not used since ``before`` (retention)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(chat_sessions).where(chat_sessions.c.used_at < before)).rowcount

    def issue(self, sender: str) -> ChatSession | None:
        """A token for ``sender`` whatever its history, None if it has one already: for the
        gateway's own decisions above, and for tools that create conversations themselves
        (benchmarks, test fixtures). Never on a caller's word alone."""
        token, now = new_token(), utcnow()
        values = {
            "token_hash": token_hash(token),
            "channel": self.channel,
            "sender": sender,
            "created_at": now,
            "used_at": now,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(chat_sessions).values(**values))
        except IntegrityError:  # the sender has a token already (or, never seen, the same hash)
            return None
        return ChatSession(self.channel, sender, token)
