"""Web chat messages that arrive while the database is away (a PostgreSQL restart, a fail-over):
kept on the gateway's own disk and stored when the database is back, so the customer gets the
apology in their language with a 200 and nothing that got a 200 is lost.

The spool is a SQLite file in ``VAR_DIR`` (``chat-spool.db``), shared by the gateway processes
of one machine. Each row keeps what the chat API needs to pick the conversation again (the
sender, the conversation token of the header or of the cookie) and the message itself. A drain
loop in every gateway takes the rows in order, one at a time: a row is claimed (``claimed_at``)
so two processes do not take the same one, the message goes through the router as if it had just
arrived (stored, answered by Rasa; the answer reaches the page through history and the live
stream), and the row is deleted. A claim older than :data:`CLAIM_LEASE_S` (its process died) is
taken again, and the replay finds the message its first worker stored (each message carries its
key at its source, bot/router/): a message is stored once. A token that opens nothing any more
drops its row (nobody could read that conversation). While the database is still away the row is
given back and the loop waits.

**A conversation begun while the database is away.** Its token cannot be stored yet, but the
customer must be able to read what they write: the gateway issues a fresh random token all the
same (in the answer, and as the page's cookie) and keeps the *pending session*, the token's
SHA-256 and the sender, in the row; the token itself is never written down. The replay makes that
session first (:meth:`~bot.core.chat_sessions.ChatSessions.adopt`: once, whichever row or
replica comes first, found by its hash by every other) and stores the message in its
conversation. A later message with that token while the database is still away finds the pending
session in this machine's spool file and is kept under it. On another replica (a spool of its own)
the token is unknown until the issuing replica's replay: its row waits (given back, the rows after
it of other tokens go on) up to :data:`PENDING_WAIT_S` from its first try, then is handled as a
token that opens nothing (dropped; with the cookie alone, a conversation of its own as always).
So a token nobody issued opens nothing: it only waits a while before being dropped.

The spool holds at most :data:`MAX_ROWS` messages; beyond that the chat API answers 503
``database_unavailable`` with ``Retry-After``, as when the spool itself cannot be written.

The same file keeps the Telegram and Slack updates that arrive while the database is away, each
row tagged with its channel (:class:`Spool`; their side is bot/channels/update_spool.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.channels.chat_access import COOKIE, TOKEN_HEADER, session_to_send, set_cookie
from bot.core.chat_sessions import ChatSession, ChatSessions, new_token, token_hash, well_shaped
from bot.core.db import database_away
from bot.core.language import locale_language
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.router import IncomingMessage, Router
from bot.web.http import ApiError, error_response

log = logging.getLogger(__name__)

SPOOL_FILE = "chat-spool.db"
MAX_ROWS = 10_000
CLAIM_LEASE_S = 120.0
DRAIN_EVERY_S = 2.0
PENDING_WAIT_S = 120.0  # how long a row waits for another replica to make its token's session


__all__ = ["ChatSpool", "Spool", "SpooledMessage", "SpooledRow", "database_away", "drain_once"]


@dataclass(frozen=True)
class SpooledRow:
    id: int
    body: dict[str, Any]  # what the row's channel needs to handle it again


@dataclass(frozen=True)
class SpooledMessage:
    id: int
    sender: str
    text: str
    locale: str | None
    metadata: dict[str, Any]
    header_token: str | None  # X-Chat-Token
    cookie_token: str | None  # the page's cookie
    key: str | None = None  # the message's key at its source (bot/router/); None in older rows
    pending: dict[str, str] | None = None  # a session issued while away: token_hash, sender
    waiting_since: float | None = None  # when its token first opened nothing on a replay


class TokenNotYet(Exception):
    """The row's token opens nothing yet: it may be another replica's pending session."""

    def __init__(self, token: str) -> None:
        super().__init__("the conversation token opens nothing yet")
        self.token = token


class Spool:
    """One channel's rows of the spool file, oldest first; every method is one short transaction."""

    def __init__(self, path: Path, channel: str = "web") -> None:
        self.path, self.channel = path, channel
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "body TEXT NOT NULL, received_at REAL NOT NULL, claimed_at REAL, "
                "channel TEXT NOT NULL DEFAULT 'web')"
            )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(spool)")}
            if "channel" not in columns:  # a spool file of the web chat alone
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                    conn.execute("ALTER TABLE spool ADD COLUMN channel TEXT NOT NULL DEFAULT 'web'")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")  # a 200 promises the message survives a crash
        return conn

    def put(self, record: dict[str, Any]) -> bool:
        """Keep ``record`` (JSON); False when the file holds :data:`MAX_ROWS` rows of any channel."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("SELECT count(*) FROM spool").fetchone()[0] >= MAX_ROWS:
                conn.execute("ROLLBACK")
                return False
            conn.execute(
                "INSERT INTO spool (channel, body, received_at) VALUES (?, ?, ?)",
                (self.channel, json.dumps(record), time.time()),
            )
            conn.execute("COMMIT")
        return True

    def take(self, up_to: int | None = None, after: int = 0) -> SpooledRow | None:
        """The oldest row (after id ``after``, up to id ``up_to``) nobody works on (or whose
        worker died), claimed."""
        now = time.time()
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT id, body FROM spool WHERE channel = ? AND id > ? AND id <= ? "
                "AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id LIMIT 1",
                (self.channel, after, up_to if up_to is not None else 2**63 - 1, now - CLAIM_LEASE_S),
            ).fetchone()
            if row is not None:
                conn.execute("UPDATE spool SET claimed_at = ? WHERE id = ?", (now, row[0]))
            conn.execute("COMMIT")
        return None if row is None else SpooledRow(row[0], json.loads(row[1]))

    def done(self, row_id: int) -> None:
        with self._lock, self._connect() as conn:
            conn.execute("DELETE FROM spool WHERE id = ?", (row_id,))

    def give_back(self, row_id: int, record: dict[str, Any] | None = None) -> None:
        """Unclaim the row (with ``record``: what it keeps from now on)."""
        with self._lock, self._connect() as conn:
            if record is not None:
                conn.execute("UPDATE spool SET body = ? WHERE id = ?", (json.dumps(record), row_id))
            conn.execute("UPDATE spool SET claimed_at = NULL WHERE id = ?", (row_id,))

    def last_id(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM spool").fetchone()[0])

    def __len__(self) -> int:
        with self._connect() as conn:
            found = conn.execute("SELECT count(*) FROM spool WHERE channel = ?", (self.channel,))
            return int(found.fetchone()[0])


class ChatSpool(Spool):
    """The web chat's rows: :class:`SpooledMessage`."""

    def claim(self, after: int = 0) -> SpooledMessage | None:
        row = self.take(after=after)
        return None if row is None else SpooledMessage(id=row.id, **row.body)

    def pending(self, digest: str) -> dict[str, str] | None:
        """The pending session (token hash, sender) a row of this file keeps for ``digest``."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT body FROM spool WHERE channel = ? "
                "AND json_extract(body, '$.pending.token_hash') = ? LIMIT 1",
                (self.channel, digest),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0])["pending"])


def drain_once(spool: ChatSpool, store: Callable[[SpooledMessage], None]) -> int:
    """Store the spooled messages in order until the spool is empty or the database is still
    away; returns how many were stored (or dropped). A row whose token opens nothing yet
    (:class:`TokenNotYet`) is given back, and so are the rows after it with the same token (their
    order is kept); the others go on."""
    handled, after, waiting = 0, 0, set[str]()
    while (row := spool.claim(after)) is not None:
        after = row.id
        if _token(row) in waiting:
            spool.give_back(row.id)
            continue
        try:
            store(row)
        except TokenNotYet as exc:
            waiting.add(exc.token)
            since = row.waiting_since or time.time()
            spool.give_back(row.id, _record(replace(row, waiting_since=since)))
            continue
        except Exception as exc:
            if database_away(exc):
                spool.give_back(row.id)
                return handled
            log.exception("a spooled chat message could not be stored; dropped")
        spool.done(row.id)
        handled += 1
    return handled


def _token(row: SpooledMessage) -> str | None:
    return row.header_token if row.header_token is not None else row.cookie_token


def _record(row: SpooledMessage) -> dict[str, Any]:
    record = asdict(row)
    del record["id"]
    return record


async def drain_loop(spool: ChatSpool, store: Callable[[SpooledMessage], None]) -> None:
    """Every :data:`DRAIN_EVERY_S`, store what the spool holds (in a worker thread)."""
    while True:
        try:
            stored = await asyncio.to_thread(drain_once, spool, store)
            if stored:
                log.warning("stored %d chat message(s) spooled while the database was away", stored)
        except Exception:  # the spool file itself: try again later
            log.exception("draining the chat spool failed")
        await asyncio.sleep(DRAIN_EVERY_S)


# -- the chat API's side -------------------------------------------------------------------------


async def spool_answer(request: Request, message: IncomingMessage, settings: Settings) -> JSONResponse:
    """Keep the message for later and answer with the apology (200), or 503 when it cannot be kept.

    The answer names the conversation's sender and, when this request begins one, its new token
    (and sets the cookie), as the chat API does with the database there."""
    header, cookie = request.headers.get(TOKEN_HEADER), request.cookies.get(COOKIE)
    spool: ChatSpool = request.app.state.chat_spool
    issued: ChatSession | None = getattr(request.state, "chat_session", None)
    try:
        pending, token = await run_in_threadpool(away_session, spool, header, cookie, message.sender, issued)
        record = {
            "sender": message.sender,
            "text": message.text,
            "locale": message.locale,
            "metadata": dict(message.metadata or {}),
            "header_token": header,
            "cookie_token": cookie,
            "key": message.source_key,
            "pending": pending,
        }
        kept = await run_in_threadpool(spool.put, record)
    except sqlite3.Error:
        log.exception("the chat spool cannot be written")
        kept = False
    if not kept:
        response = error_response(503, "database_unavailable", "the service is busy; try again in a minute")
        response.headers["Retry-After"] = "30"
        return response
    language = locale_language(message.locale) or settings.default_language
    apology = {"text": customer_text("rasa_unavailable", language)}
    body = {"replies": [apology], "language": language, "owner": "bot", "conversation_id": None}
    sender = pending["sender"] if pending is not None else message.sender
    response = JSONResponse({**body, "sender": sender, "token": token, "spooled": True})
    if token is not None:
        set_cookie(response, request, settings, token)
    return response


def away_session(
    spool: ChatSpool, header: str | None, cookie: str | None, sender: str, issued: ChatSession | None
) -> tuple[dict[str, str] | None, str | None]:
    """The pending session a message kept while the database is away goes to, and the token to
    issue with the answer: ``(None, None)`` when its token is for the replay to look up in the
    database. 403 ``wrong_token`` for a pending token of another sender, as with the database."""
    if issued is not None and issued.token is not None:  # issued just before the database went away
        return {"token_hash": token_hash(issued.token), "sender": issued.sender}, issued.token
    if header is not None:
        pending = spool.pending(token_hash(header)) if well_shaped(header) else None
        if pending is not None and pending["sender"] != sender:
            raise ApiError(403, "wrong_token", "this token belongs to another conversation")
        return pending, None
    if well_shaped(cookie):
        pending = spool.pending(token_hash(cookie or ""))
        if pending is None:
            return None, None  # most likely a session of the database
        if pending["sender"] == sender:
            return pending, None
    token = new_token()
    return {"token_hash": token_hash(token), "sender": sender}, token


def spool_store(router: Router, engine: Engine) -> Callable[[SpooledMessage], None]:
    """How the drain loop stores a spooled message: in the conversation its pending session or its
    tokens open, as the chat API would have, through the router (stored, answered)."""
    sessions = ChatSessions(engine)

    def store(row: SpooledMessage) -> None:
        try:
            session = replay_session(sessions, row)
        except ApiError as exc:
            log.warning("a spooled chat message was dropped: %s", exc)
            return
        message = IncomingMessage(
            channel="web",
            sender=session.sender,
            text=row.text,
            locale=row.locale,
            metadata=row.metadata,
            source_key=row.key,
        )
        router.handle(message)

    return store


def replay_session(sessions: ChatSessions, row: SpooledMessage) -> ChatSession:
    """The row's pending session (made now if no replay made it yet), or the one its tokens open;
    :class:`TokenNotYet` while its token opens nothing and it has not waited
    :data:`PENDING_WAIT_S` yet (another replica's pending session)."""
    if row.pending is not None:
        return sessions.adopt(row.pending["token_hash"], row.pending["sender"])
    token = _token(row)
    waited = row.waiting_since is not None and time.time() - row.waiting_since >= PENDING_WAIT_S
    if well_shaped(token) and not waited and sessions.find(token) is None:
        raise TokenNotYet(token or "")
    return session_to_send(sessions, row.header_token, row.cookie_token, row.sender)
