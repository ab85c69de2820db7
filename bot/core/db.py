"""Database schema and engine creation (SQLAlchemy 1.4 Core, 2.0-style API).

One schema serves SQLite (the embedded default) and PostgreSQL (production). The tables below
are what the code expects; the migrations in ``bot/core/migrations`` make a database match
them (``init_schema``).
The ``conversations.owner`` column is the single source of truth for who may
answer a conversation: ``bot``, ``queued``, ``agent`` or ``closed``.
"""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.pool import QueuePool


class Owner(str, Enum):
    """Who may answer a conversation (``conversations.owner``); see ``bot.core.ownership``."""

    BOT = "bot"
    QUEUED = "queued"
    AGENT = "agent"
    CLOSED = "closed"


class Priority(str, Enum):
    """How urgent a handoff is, most urgent first (``handoffs.priority``)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """0 for the most urgent priority; the queue sorts on it."""
        return list(Priority).index(self)


OWNER_BOT = Owner.BOT.value
OWNER_QUEUED = Owner.QUEUED.value
OWNER_AGENT = Owner.AGENT.value
OWNER_CLOSED = Owner.CLOSED.value
OWNERS = tuple(o.value for o in Owner)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every engine (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC values")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("owner", String(16), nullable=False, default=OWNER_BOT),
    Column("language", String(2), nullable=False),
    Column("rasa_language", String(2)),  # the language Rasa's slot last had (set after an answer)
    Column("locale", String(16)),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Column("closed_at", UTCDateTime),
)
# The live feeds (agent console, web chat push) watch max(updated_at) to notice ownership changes.
Index("ix_conversations_updated", conversations.c.updated_at)
# At most one open conversation per customer and channel: the database enforces it.
Index(
    "uq_conversations_open",
    conversations.c.channel,
    conversations.c.sender,
    unique=True,
    sqlite_where=conversations.c.owner != OWNER_CLOSED,
    postgresql_where=conversations.c.owner != OWNER_CLOSED,
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("author", String(16), nullable=False),  # customer | bot | agent | system
    Column("text", Text, nullable=False),
    Column("language", String(2)),
    Column("status", String(16), nullable=False),  # received | answered | failed | sent
    Column("payload", JSON),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    # A customer message's key at its source (a Telegram chat and message id, a Slack channel and
    # ts, a web chat request): a retried or replayed update finds its message instead of storing
    # it again (bot/core/store.py). None for replies and for messages stored before 0009.
    Column("source_key", String(160)),
)
Index("ix_messages_conversation", messages.c.conversation_id, messages.c.id)
Index(
    "ux_messages_source_key",
    messages.c.source_key,
    unique=True,
    sqlite_where=messages.c.source_key.isnot(None),
    postgresql_where=messages.c.source_key.isnot(None),
)

# One row per escalation. The conversation's `owner` says who may answer; this row says why
# it left the bot, how urgent it is and which agent has it.
handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", Integer, nullable=False),  # 0 = most urgent
    Column("language", String(2), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("summary", Text),
    Column("intents", JSON),
    Column("slots", JSON),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("claimed_by", String(64)),
    Column("claimed_at", UTCDateTime),
    Column("first_reply_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("outcome", String(16)),  # closed | handed_back
    Column("wrap_up", String(32)),  # the closing agent's wrap-up code (handoff/workspace.py)
    # Snoozed by the agent who has it (handoff/snooze.py): out of their active chats until this
    # time, or until a customer message newer than snoozed_after_id, whichever comes first.
    Column("snoozed_until", UTCDateTime),
    Column("snoozed_after_id", Integer),
)
Index("ix_handoffs_open", handoffs.c.ended_at, handoffs.c.priority_rank, handoffs.c.created_at)

# Webcare agents. `languages` is a comma-separated list of the languages the agent answers in;
# `presence` (online | away | offline) decides whether the queue offers them chats.
agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # agent | admin
    Column("languages", String(32), nullable=False),
    Column("presence", String(16), nullable=False, default="offline"),
    Column("active", Boolean, nullable=False, default=True),
    Column("last_seen_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("ui_language", String(2)),  # the console's language; None: the browser's
)

# Agents' internal notes on a conversation (handoff/workspace.py): shown to agents in the
# transcript, never sent to the customer. ``handoff_id`` is the handoff open when it was written
# (no foreign key: erasure deletes a conversation's children in any order).
conversation_notes = Table(
    "conversation_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("handoff_id", Integer),
    Column("agent", String(64), nullable=False),  # the author's username
    Column("agent_name", String(128), nullable=False),  # their display name when they wrote it
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)
Index("ix_conversation_notes_conversation", conversation_notes.c.conversation_id, conversation_notes.c.id)

# Who is typing in a conversation (bot/core/typing_signals.py): one row per conversation and side
# (agent | customer), rewritten at most every few seconds while someone types. The change feed reads
# it, so every gateway replica shows it; it is never part of the transcript. No foreign key: rows
# hold no customer data, expire by themselves and are swept an hour later.
typing_signals = Table(
    "typing_signals",
    metadata,
    Column("conversation_id", String(36), primary_key=True),
    Column("side", String(16), primary_key=True),
    Column("name", String(128)),  # the agent's display name; None for the customer
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_typing_signals_at", typing_signals.c.at)

# Console log-ins. The cookie holds a random token; only its SHA-256 is stored, so a leaked
# database does not leak sessions. Each session has its own CSRF token.
agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Console log-in attempts, for the throttle (handoff/throttle.py) every gateway replica shares:
# the client's address, the username as typed (normalised, known or not), and whether it worked.
# Failures are kept for the throttle's window, successes for a month.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(64), nullable=False),
    Column("username", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
)
Index("ix_login_attempts_client", login_attempts.c.client, login_attempts.c.attempted_at)
Index("ix_login_attempts_username", login_attempts.c.username, login_attempts.c.attempted_at)
Index("ix_login_attempts_time", login_attempts.c.attempted_at)

# Customer satisfaction after a chat with a person: asked on close, answered 1-5.
csat = Table(
    "csat",
    metadata,
    Column("conversation_id", String(36), ForeignKey("conversations.id"), primary_key=True),
    Column("language", String(2), nullable=False),
    Column("asked_at", UTCDateTime, nullable=False),
    Column("score", Integer),
    Column("answered_at", UTCDateTime),
)

# Platform updates already handled (Telegram update ids, Slack event ids): a retried or
# duplicated delivery is recognised by its primary key and processed once.
processed_updates = Table(
    "processed_updates",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("update_id", String(128), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Where a conversation lives on a platform, beyond its sender id: the Slack thread a customer
# wrote in, the thread of the escalation post in the agents' Slack channel, ...
conversation_refs = Table(
    "conversation_refs",
    metadata,
    Column("conversation_id", String(36), ForeignKey("conversations.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("value", String(256), nullable=False),
)
Index("ix_conversation_refs_value", conversation_refs.c.kind, conversation_refs.c.value)

# An agent's account on another platform (their Slack user in the webcare workspace).
agent_links = Table(
    "agent_links",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id"), nullable=False),
)

# The webcare team's hours as last changed by an admin (one row, id 1); without it the
# hours come from handoff/hours.yml.
business_hours = Table(
    "business_hours",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

outages = Table(
    "outages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("region", String(64), nullable=False),  # a place key, a province or "*" for national
    Column("services", String(64), nullable=False),  # e.g. "4G,5G" or "voice,data"
    Column("started_at", UTCDateTime, nullable=False),
    Column("expected_fix_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
)


# Customer messages copied from Rasa's tracker store (bot/insights/), masked, with what the
# NLU made of them: content editors review the ones the bot did not understand, and the topic
# trends count them. No foreign key to conversations: the tracker may know senders we do not.
# An editor's decision on a turn; needs_content: no intent fits, the bot needs a new intent or article.
NLU_TURN_STATUSES = ("new", "assigned", "dismissed", "exported", "needs_content")
nlu_turns = Table(
    "nlu_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_event_id", Integer, nullable=False, unique=True),  # Rasa's events.id
    Column("conversation_id", String(36), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("language", String(2), nullable=False),
    Column("text", Text, nullable=False),
    Column("intent", String(64)),
    Column("confidence", Float),
    Column("suggestion", String(64)),  # best intent of the ranking that is not nlu_fallback
    Column("topic", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="new"),  # one of NLU_TURN_STATUSES
    Column("assigned_intent", String(64)),
    Column("assigned_by", String(64)),
    Column("assigned_at", UTCDateTime),
    Column("exported_at", UTCDateTime),
    Column("suggestion_confidence", Float),  # the model's confidence in the suggestion
)
Index("ix_nlu_turns_created", nlu_turns.c.created_at)
Index("ix_nlu_turns_status_language", nlu_turns.c.status, nlu_turns.c.language)
Index("ix_nlu_turns_conversation", nlu_turns.c.conversation_id, nlu_turns.c.created_at)

# How far the copy of Rasa's tracker events has got (the last events.id read).
insights_cursor = Table(
    "insights_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
)

# A topic whose messages surged in one window; the unique key makes one alert per topic per window.
topic_alerts = Table(
    "topic_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(32), nullable=False),
    Column("department", String(64), nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("top_intents", JSON),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("notified", Boolean, nullable=False, default=False),
    UniqueConstraint("topic", "window_start", name="uq_topic_alerts_window"),
)


# Who did what with personal data, and when (handoff/privacy.py): customer exports and erasures,
# retention runs and every agent's read of a transcript. ``subject`` names what was touched:
# ``conversation:<id>``, ``customer:<channel>:<hash>`` (the sender itself is not kept) or
# ``retention``. Kept when the data it speaks of is gone.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(64), nullable=False),  # an agent's username, an admin's name, "retention"
    Column("action", String(32), nullable=False),  # see handoff.privacy.Action
    Column("subject", String(160), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("details", JSON),
)
Index("ix_audit_log_created", audit_log.c.created_at)
Index("ix_audit_log_subject", audit_log.c.subject, audit_log.c.created_at)
Index("ix_audit_log_action", audit_log.c.action, audit_log.c.created_at)


# One-time codes sent to prove a customer's number (bot/core/identity.py). Neither the code nor
# the number is kept: the code as a salted HMAC-SHA256, the number as a hash (for the
# sends-per-hour limit). ``customer_id`` is empty when the number is not a customer's: such a
# code is never sent and never matches, so the answers cannot tell customers from others.
# ``verified_minutes`` is how long the channel identity stays verified once the code is right.
verification_codes = Table(
    "verification_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("number_hash", String(64), nullable=False),
    Column("customer_id", String(64)),
    Column("code_hash", String(64), nullable=False),
    Column("salt", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # open | used | locked | replaced
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("verified_minutes", Integer, nullable=False),
)
_codes = verification_codes.c
Index("ix_verification_codes_conversation", _codes.conversation_id, _codes.created_at)
Index("ix_verification_codes_number", _codes.number_hash, _codes.created_at)
Index("ix_verification_codes_created", _codes.created_at)

# A channel identity (web chat session, Telegram user, Slack user) proven to be a customer's,
# one row per verification: the newest row without ``ended_at`` and not past ``expires_at``
# is the identity's current customer. ``method`` is how it was proven (sms_code,
# telegram_contact); "log me out" sets ``ended_at``. Both tables hang off the conversation
# they were made in, so a customer's erasure and the transcripts' retention take them along.
verified_identities = Table(
    "verified_identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("method", String(16), nullable=False),
    Column("verified_at", UTCDateTime, nullable=False, default=utcnow),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
)
Index("ix_verified_identities_sender", verified_identities.c.channel, verified_identities.c.sender)
Index("ix_verified_identities_customer", verified_identities.c.customer_id, verified_identities.c.verified_at)
Index("ix_verified_identities_expires", verified_identities.c.expires_at)

# The web chat's conversation tokens (bot/core/chat_sessions.py): a token the gateway issued
# opens one sender's conversation; only its SHA-256 is kept. One token per sender.
chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("used_at", UTCDateTime, nullable=False, default=utcnow),  # to the hour
    UniqueConstraint("channel", "sender", name="uq_chat_sessions_sender"),
)
Index("ix_chat_sessions_used", chat_sessions.c.used_at)

# Token buckets of the per-client rate limits (bot/core/ratelimit.py): ``<limit>:<client>``,
# the tokens left and when they were counted (seconds since the epoch).
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("bucket", String(96), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_s", Float, nullable=False),
)
Index("ix_rate_buckets_updated", rate_buckets.c.updated_s)


SQLITE_BUSY_MS = 10_000  # how long a query (and the switch to WAL) waits for another writer


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets readers and one writer work at once; NORMAL sync avoids an fsync per commit."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor, deadline_ms: int = SQLITE_BUSY_MS) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the file.

    The first connections to a new file race to convert it; SQLite answers the loser "database
    is locked" at once, without its busy handler (waiting could deadlock), so processes starting
    together on a new database (gateway + launcher, replicas) would fail. Once the file is in WAL
    mode the pragma only reads it and never waits.
    """
    waited = 0.0
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            held = "locked" in str(exc) or "busy" in str(exc)
            if not held or waited * 1000 >= deadline_ms:
                raise
            pause = random.uniform(0.005, 0.05)
            time.sleep(pause)
            waited += pause


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("use a SQLite file: an in-memory database is not shared between connections")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 1.4 opens a new SQLite connection per checkout by default (NullPool);
        # a pool keeps them, so a message costs no connect and no PRAGMAs.
        engine = create_engine(
            url,
            future=True,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=16,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_schema(engine: Engine) -> None:
    """Upgrade the database to the newest migration (idempotent, safe for concurrent starts).

    A new database gets every revision of ``bot/core/migrations``; one made by ``create_all``
    before migrations existed is adopted at the baseline revision, then upgraded. A change to
    the tables above needs a revision: ``python -m bot.manage make-migration "message"``.
    """
    from bot.core.migrations import upgrade  # its env.py imports this module

    upgrade(engine)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def database_away(exc: BaseException) -> bool:
    """The database cannot be reached (as opposed to a query it refuses): a restart, a fail-over."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
