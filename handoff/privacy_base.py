"""What the privacy operations (handoff/privacy.py) share: where personal data lives, here and in
Rasa's tracker store, and how it is read and deleted in small batches.

A customer is their channel identity (channel, sender): ``conversations.channel`` and ``.sender``.
Rasa's ``sender_id`` is our conversation id (bot/router/ sends it), so Rasa's events of a
customer are those of their conversations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, and_, delete, inspect
from sqlalchemy.engine import Connection, Engine

from bot.core.db import conversations, metadata, nlu_turns, utcnow
from bot.core.settings import Settings

BATCH = 500  # rows per statement / transaction: no long lock on a busy table
EXPORTS_FOLDER = "exports"  # under VAR_DIR


class PrivacyError(Exception):
    """A privacy request that cannot be carried out as asked."""


class TrackerUnavailable(PrivacyError):
    """Rasa's tracker store could not be reached. After an erasure: our database is erased, Rasa's
    events are not yet; erase again to finish."""


# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py), mirrored: handoff does not import Rasa.
_tracker_metadata = MetaData()
tracker_events = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def _children() -> tuple[tuple[Table, Column], ...]:
    """Every table with a foreign key to ``conversations``, and that column (bot/core/db.py)."""
    found = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if table is not conversations and fk.references(conversations):
                found.append((table, fk.parent))
    return tuple(found)


CONVERSATION_CHILDREN = _children()


class PrivacyBase:
    """Our database (``engine``) and Rasa's tracker store, shared by retention (handoff/retention.py)
    and one customer's export and erasure (handoff/customer_data.py).

    ``tracker_engine`` is an engine on ``RASA_TRACKER_URL`` (``bot.insights.open_tracker_engine``);
    None, a SQLite file Rasa has not created yet, or a database without Rasa's ``events`` table
    all mean there are no tracker events.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        tracker_engine: Engine | None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tracker_engine = tracker_engine
        self.now = now

    @property
    def exports_dir(self) -> Path:
        return self.settings.var_dir / EXPORTS_FOLDER

    def _tracker(self) -> Engine | None:
        engine = self.tracker_engine
        if engine is None:
            return None
        url = engine.url
        if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).is_file()):
            return None  # Rasa creates its file with its tables: do not make an empty one
        if not inspect(engine).has_table(tracker_events.name):
            return None
        return engine


def delete_conversations(conn: Connection, ids: Sequence[str], also: Any = None) -> dict[str, int]:
    """Delete conversations ``ids`` (those still matching ``also``), what refers to them and
    their insights copy, in ``conn``'s transaction; rows deleted per table."""
    counts: dict[str, int] = {}
    for table, column in CONVERSATION_CHILDREN:
        counts[table.name] = delete_where(conn, table, column, ids)
    counts["nlu_turns"] = delete_where(conn, nlu_turns, nlu_turns.c.conversation_id, ids)
    condition = conversations.c.id.in_(ids) if also is None else and_(conversations.c.id.in_(ids), also)
    counts["conversations"] = conn.execute(delete(conversations).where(condition)).rowcount
    return counts


def delete_where(conn: Connection, table: Table, column: Column, values: Sequence[str]) -> int:
    deleted = 0
    for chunk in chunks(values):
        deleted += conn.execute(delete(table).where(column.in_(chunk))).rowcount
    return deleted


def add_counts(total: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def jsonable(row: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in row._mapping.items()}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value).isoformat()
    return value


def chunks(values: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]
