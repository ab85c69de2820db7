"""Copying customer messages, masked, from Rasa's tracker store into ``nlu_turns``.

Incremental: ``insights_cursor`` remembers the last tracker event read, and each sync re-reads
the ids just below it for events committed late (see LATE_COMMIT_IDS).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError

from bot.core.db import conversations, insights_cursor, nlu_turns
from bot.core.masking import mask_text
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.taxonomy import FALLBACK_INTENT, topic_of
from bot.insights.model import NO_ARTICLE, _chunks

log = logging.getLogger(__name__)

CURSOR_NAME = "rasa_tracker"
BATCH_SIZE = 500
# PostgreSQL hands out event ids before commit, so an event can appear below the cursor after a
# later one was read. Each sync re-reads this many ids below the cursor for such late commits.
LATE_COMMIT_IDS = 2000
# The bot's "I can't answer that one yet" (actions/clarify.py ActionClarify: nothing plausible).
DONT_KNOW_RESPONSE = "utter_clarify_topics"

# Rasa's SQLTrackerStore table, just the columns read here (bot.rasa.stores owns the real one).
_tracker_metadata = MetaData()
tracker_events = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("data", Text),
)


def open_tracker_engine(url: str) -> Engine:
    """An engine on Rasa's tracker store that reads it as it is.

    Not :func:`bot.core.db.create_db_engine`: its SQLite pragmas would switch Rasa's file to WAL
    from outside. SQLite waits up to 10 s for Rasa's write lock instead of failing.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, future=True, connect_args={"timeout": 10, "check_same_thread": False})
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=2, max_overflow=2)


class IngestMixin:
    """:meth:`sync` of :class:`bot.insights.Insights`: the tracker's new customer messages."""

    settings: Settings
    engine: Engine
    tracker_engine: Engine | None
    _owns_tracker_engine: bool
    _sync_lock: threading.Lock
    _skipped: set[int]

    def sync(self) -> int:
        """Copy the tracker's new customer messages; returns how many were added.

        Returns 0 while Rasa has not created its tracker database or ``events`` table yet.
        """
        with self._sync_lock:
            tracker = self._tracker()
            if tracker is None or not _has_events_table(tracker):
                return 0
            added = self._sync_late(tracker)
            while True:
                cursor = self._cursor()
                rows = _read_events(tracker, tracker_events.c.id > cursor)
                if not rows:
                    return added
                stored = self._store(rows, (cursor, rows[-1].id))
                if stored is None:  # another process moved the cursor: read again from there
                    continue
                added += stored
                if len(rows) < BATCH_SIZE:
                    return added

    def _tracker(self) -> Engine | None:
        if self.tracker_engine is None:
            if _missing_sqlite_file(self.settings.rasa_tracker_url):
                return None  # do not create Rasa's file: Rasa creates it with its tables
            self.tracker_engine = open_tracker_engine(self.settings.rasa_tracker_url)
            self._owns_tracker_engine = True
        if _missing_sqlite_file(self.tracker_engine.url):
            return None
        return self.tracker_engine

    def _sync_late(self, tracker: Engine) -> int:
        """Events committed after a later event was read (see LATE_COMMIT_IDS): their ids are
        compared first, so only the missing events are read in full."""
        cursor = self._cursor()
        low = max(0, cursor - LATE_COMMIT_IDS)
        self._skipped = {i for i in self._skipped if i > low}
        if cursor == 0:
            return 0
        in_range = (tracker_events.c.id > low) & (tracker_events.c.id <= cursor)
        with tracker.connect() as conn:
            ids = set(conn.execute(select(tracker_events.c.id).where(_USER_EVENT, in_range)).scalars())
        with self.engine.connect() as conn:
            ids -= set(
                conn.execute(
                    select(nlu_turns.c.source_event_id).where(
                        nlu_turns.c.source_event_id > low, nlu_turns.c.source_event_id <= cursor
                    )
                ).scalars()
            )
        ids -= self._skipped
        if not ids:
            return 0
        rows: list[Any] = []
        for chunk in _chunks(sorted(ids)):
            rows += _read_events(tracker, tracker_events.c.id.in_(chunk), limit=None)
        return self._store(rows, None) or 0

    def _cursor(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(insights_cursor.c.last_event_id).where(insights_cursor.c.name == CURSOR_NAME)
            ).scalar()
        return int(value or 0)

    def _store(self, rows: Sequence[Any], advance: tuple[int, int] | None) -> int | None:
        """Insert the turns of ``rows`` and move the cursor ``advance=(from, to)`` in one
        transaction; None when another process got there first (nothing is changed then)."""
        with self.engine.connect() as conn:
            known = _conversation_info(conn, {r.sender_id for r in rows})
        turns = []
        for row in rows:  # masked before the transaction: it holds no lock meanwhile
            try:
                turn = self._turn(row, known)
            except (TypeError, ValueError, OverflowError) as exc:  # one odd event must not block the rest
                log.warning("tracker event %s skipped: %s", row.id, exc)
                turn = None
            if turn is None:
                self._skipped.add(row.id)
            else:
                turns.append(turn)
        _confirm_no_article(self.tracker_engine, turns)
        ids = [t["source_event_id"] for t in turns]
        try:
            with self.engine.begin() as conn:
                existing = set()
                for chunk in _chunks(ids):
                    existing |= set(
                        conn.execute(
                            select(nlu_turns.c.source_event_id).where(nlu_turns.c.source_event_id.in_(chunk))
                        ).scalars()
                    )
                fresh = [t for t in turns if t["source_event_id"] not in existing]
                if fresh:
                    conn.execute(insert(nlu_turns), fresh)
                if advance is not None and not _move_cursor(conn, *advance):
                    raise _CursorMoved
        except _CursorMoved:
            return None
        except IntegrityError:  # a concurrent sync inserted some of them: fine if it moved on
            if advance is None or self._cursor() != advance[0]:
                return None
            raise
        return len(fresh)

    def _turn(self, row: Any, known: dict[str, tuple[str, str]]) -> dict[str, Any] | None:
        """The ``nlu_turns`` row of a tracker ``user`` event; None for payloads and empty texts."""
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            return None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
            return None
        parse = _mapping(data.get("parse_data"))
        metadata = _mapping(data.get("metadata")) or _mapping(parse.get("metadata"))
        # A message without any intent was not understood either.
        intent = str(_mapping(parse.get("intent")).get("name") or row.intent_name or FALLBACK_INTENT)[:64]
        conversation_id = str(row.sender_id)[:36]
        channel, language = known.get(conversation_id, (None, None))
        timestamp = row.timestamp if row.timestamp is not None else data.get("timestamp")
        suggestion, suggestion_confidence = _suggestion(parse.get("intent_ranking"))
        return {
            "source_event_id": row.id,
            "conversation_id": conversation_id,
            "channel": str(metadata.get("channel") or channel or "unknown")[:32],
            "language": _language(metadata.get("language"), language, self.settings.default_language),
            "text": mask_text(text.strip().replace("\x00", "")),  # PostgreSQL text holds no NUL
            "intent": intent,
            "confidence": _number(_mapping(parse.get("intent")).get("confidence")),
            "suggestion": suggestion,
            "suggestion_confidence": suggestion_confidence,
            # confirmed by the bot's reply in _confirm_no_article
            "topic": NO_ARTICLE if intent == FALLBACK_INTENT and parse.get("article") else topic_of(intent),
            "created_at": datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc),
            # "factuur", "question about my plan": understood as a topic and answered with its
            # menu (bot/rasa/nlu/topics.py), so nothing for an editor to write
            "status": "dismissed" if _mapping(parse.get("topic")).get("id") else "new",
        }


class _CursorMoved(Exception):
    pass


def _missing_sqlite_file(url: str | URL) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    return not parsed.database or not Path(parsed.database).is_file()


def _has_events_table(engine: Engine) -> bool:
    return inspect(engine).has_table(tracker_events.name)


_USER_EVENT = tracker_events.c.type_name == "user"


def _read_events(tracker: Engine, condition: Any, limit: int | None = BATCH_SIZE) -> list[Any]:
    query = select(tracker_events).where(_USER_EVENT, condition).order_by(tracker_events.c.id).limit(limit)
    with tracker.connect() as conn:
        return list(conn.execute(query))


def _move_cursor(conn: Connection, old: int, new: int) -> bool:
    """Move the cursor from ``old`` to ``new``; False when it is no longer at ``old``."""
    if old == 0:
        exists = conn.execute(
            select(insights_cursor.c.last_event_id).where(insights_cursor.c.name == CURSOR_NAME)
        ).first()
        if exists is None:
            conn.execute(insert(insights_cursor).values(name=CURSOR_NAME, last_event_id=new))
            return True
    result = conn.execute(
        update(insights_cursor)
        .where(insights_cursor.c.name == CURSOR_NAME, insights_cursor.c.last_event_id == old)
        .values(last_event_id=new)
    )
    return result.rowcount == 1


def _conversation_info(conn: Connection, ids: set[str]) -> dict[str, tuple[str, str]]:
    """conversation id -> (channel, language) of the conversations we know."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted({str(i)[:36] for i in ids})):
        query = select(conversations.c.id, conversations.c.channel, conversations.c.language)
        for row in conn.execute(query.where(conversations.c.id.in_(chunk))):
            found[row.id] = (row.channel, row.language)
    return found


def _confirm_no_article(tracker: Engine | None, turns: list[dict[str, Any]]) -> None:
    """A fallback turn on which the help centre was searched (its ``article``) counts as "no
    article matched" only when the bot then said it cannot answer yet; Rasa saves a turn's
    events together, so the reply is there when the message is. Otherwise it was not understood."""
    candidates = {t["source_event_id"]: t for t in turns if t["topic"] == NO_ARTICLE}
    confirmed = _dont_know_replies(tracker, candidates) if tracker is not None and candidates else set()
    for event_id, turn in candidates.items():
        if event_id not in confirmed:
            turn["topic"] = topic_of(FALLBACK_INTENT)


def _dont_know_replies(tracker: Engine, candidates: dict[int, dict[str, Any]]) -> set[int]:
    """The user events of ``candidates`` the bot answered with DONT_KNOW_RESPONSE."""
    senders = sorted({t["conversation_id"] for t in candidates.values()})
    events: list[Any] = []
    with tracker.connect() as conn:
        for chunk in _chunks(senders):
            events += conn.execute(
                select(
                    tracker_events.c.id,
                    tracker_events.c.sender_id,
                    tracker_events.c.type_name,
                    case((tracker_events.c.type_name == "bot", tracker_events.c.data)).label("data"),
                ).where(
                    tracker_events.c.sender_id.in_(chunk),
                    tracker_events.c.id >= min(candidates),
                    tracker_events.c.type_name.in_(("user", "bot")),
                )
            ).all()
    last_user: dict[str, int] = {}
    found = set()
    for event in sorted(events, key=lambda e: e.id):
        if event.type_name == "user":
            last_user[event.sender_id] = event.id
        elif last_user.get(event.sender_id) in candidates and _utter_action(event.data) == DONT_KNOW_RESPONSE:
            found.add(last_user[event.sender_id])
    return found


def _utter_action(data: str | None) -> str | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    return _mapping(_mapping(event).get("metadata")).get("utter_action")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _language(*candidates: Any) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate in SUPPORTED_LANGUAGES:
            return candidate
    return SUPPORTED_LANGUAGES[0]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _suggestion(ranking: Any) -> tuple[str | None, float | None]:
    """The best-ranked intent that is not the fallback, what the model would have guessed, and
    its confidence."""
    entries = ranking if isinstance(ranking, list) else []
    candidates = [
        r for r in entries if isinstance(r, dict) and r.get("name") and r.get("name") != FALLBACK_INTENT
    ]
    if not candidates:
        return None, None
    best = max(candidates, key=lambda r: _number(r.get("confidence")) or 0.0)
    return str(best["name"])[:64], _number(best.get("confidence"))
