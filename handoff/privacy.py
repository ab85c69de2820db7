"""Privacy operations (GDPR): retention per kind of personal data, one customer's export and
erasure, and the audit log of who touched personal data (``audit_log`` in bot/core/db.py).

The kinds of personal data, where they live and how long they stay (``RETENTION_*_DAYS``; 0 keeps
that kind for good):

* **transcripts** (our database): a *closed* conversation closed longer ago than
  ``RETENTION_TRANSCRIPT_DAYS`` goes with everything that refers to it (messages, handoffs, CSAT,
  platform references: every table with a foreign key to ``conversations``). Open ones stay.
* **tracker events** (Rasa's ``events`` table on ``RASA_TRACKER_URL``): events whose timestamp is
  older than ``RETENTION_TRACKER_DAYS``.
* **insights copy** (``nlu_turns``): customer messages copied older than ``RETENTION_INSIGHTS_DAYS``.
* **exports**: the files ``python -m bot.manage export-customer`` writes to ``var/exports/``,
  older than ``RETENTION_EXPORT_DAYS``.

:meth:`Privacy.enforce_retention` deletes all of that; the gateway runs it every
``RETENTION_INTERVAL`` (:meth:`Privacy.run_if_due`). Every delete is idempotent and works in
small batches, so several gateway replicas may run it at once.

A customer is their channel identity (channel, sender): ``conversations.channel`` and ``.sender``.
Rasa's ``sender_id`` is our conversation id (bot/router.py sends it), so Rasa's events of a
customer are those of their conversations. :meth:`Privacy.erase_customer` deletes all of it in
two steps that cannot leave half done:

1. our database, in one transaction: the conversations and every row referring to them, their
   ``nlu_turns``, and the audit row, which names the conversation ids and says Rasa's part is
   ``pending``;
2. Rasa's events of those conversations, then their ``nlu_turns`` once more (the insights copy may
   have read an event between the two steps), and the audit row is marked ``done``.

When Rasa's store cannot be reached, step 1 stands and :class:`TrackerUnavailable` is raised:
erasing the customer again finishes the job, since an erasure also deletes Rasa's events of the
conversations named by earlier erasures of the same customer that are still ``pending``.

The audit log does not keep a customer's sender: their subject is ``customer:<channel>:<hash>``
(:func:`customer_subject`, a SHA-256 of channel and sender), so an erased customer leaves no
identity behind while "was this customer erased, by whom, when" stays answerable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.db import OWNER_CLOSED, audit_log, conversations, metadata, nlu_turns, utcnow
from bot.core.settings import Settings

BATCH = 500  # rows per statement / transaction: no long lock on a busy table
EXPORTS_FOLDER = "exports"  # under VAR_DIR


class Action(str, Enum):
    """``audit_log.action``."""

    TRANSCRIPT_READ = "transcript.read"  # an agent opened (or streamed, or exported) a transcript
    CUSTOMER_EXPORT = "customer.export"
    CUSTOMER_ERASE = "customer.erase"
    RETENTION = "retention.run"


RETENTION_ACTOR = "retention"
RETENTION_SUBJECT = "retention"
TRACKER_PENDING, TRACKER_DONE = "pending", "done"


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


# -- the audit log ---------------------------------------------------------------------------


def customer_subject(channel: str, sender: str) -> str:
    """The audit log's name for a customer: their channel and a hash of their sender id."""
    digest = hashlib.sha256(f"{channel}\n{sender}".encode()).hexdigest()[:32]
    return f"customer:{channel}:{digest}"


def conversation_subject(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def record(
    target: Engine | Connection,
    actor: str,
    action: Action,
    subject: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one audit row (in ``target``'s transaction when it is a connection); its id."""
    values = {
        "actor": (actor or "unknown")[:64],
        "action": action.value,
        "subject": subject[:160],
        "created_at": at or utcnow(),
        "details": details,
    }
    if isinstance(target, Connection):
        return int(target.execute(insert(audit_log).values(**values)).inserted_primary_key[0])
    with target.begin() as conn:
        return record(conn, actor, action, subject, details, at)


def record_transcript_read(
    engine: Engine, agent: str, conversation_id: str, at: datetime | None = None, **details: Any
) -> int:
    """An agent read a conversation's transcript (the console's packet, stream and export)."""
    return record(engine, agent, Action.TRANSCRIPT_READ, conversation_subject(conversation_id), details, at)


# -- the service -----------------------------------------------------------------------------


class Privacy:
    """Retention, export and erasure over our database (``engine``) and Rasa's tracker store.

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

    # -- retention -------------------------------------------------------------------------

    def limits(self) -> dict[str, int]:
        """Days kept per kind of data (0: kept for good)."""
        s = self.settings
        return {
            "transcripts": s.retention_transcript_days,
            "tracker_events": s.retention_tracker_days,
            "insights": s.retention_insights_days,
            "exports": s.retention_export_days,
        }

    def enforce_retention(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what is older than its kind's limit; what was deleted, per kind. Audited."""
        now = now or self.now()
        limits = self.limits()

        def cutoff(kind: str) -> datetime | None:
            return now - timedelta(days=limits[kind]) if limits[kind] > 0 else None

        counts = dict.fromkeys(
            ["conversations", *(t.name for t, _ in CONVERSATION_CHILDREN), "nlu_turns", "tracker_events"], 0
        )
        transcripts = cutoff("transcripts")
        if transcripts is not None:
            _add(counts, self._expire_conversations(transcripts))
        tracker, failure = cutoff("tracker_events"), None
        if tracker is not None:
            try:
                counts["tracker_events"] = self._expire_tracker(tracker)
            except SQLAlchemyError as exc:  # the other kinds still go; the run is audited as such
                failure = f"Rasa's tracker store: {type(exc).__name__}"
        insights = cutoff("insights")
        if insights is not None:
            counts["nlu_turns"] += self._expire_nlu_turns(insights)
        exports = cutoff("exports")
        counts["exports"] = self._expire_exports(exports) if exports is not None else 0
        details: dict[str, Any] = {"deleted": counts, "limits_days": limits}
        if failure:
            details["failed"] = failure
        record(self.engine, RETENTION_ACTOR, Action.RETENTION, RETENTION_SUBJECT, details, now)
        if failure:
            raise TrackerUnavailable(f"retention ran, except in {failure}: it is tried again next run")
        return counts

    def run_if_due(self, interval: timedelta, now: datetime | None = None) -> dict[str, int] | None:
        """:meth:`enforce_retention` when the last run in the audit log (by any replica) is older
        than ``interval``, or there is none; None when it was not due."""
        now = now or self.now()
        with self.engine.connect() as conn:
            last = conn.execute(
                select(func.max(audit_log.c.created_at)).where(audit_log.c.action == Action.RETENTION.value)
            ).scalar()
        if last is not None and _aware(last) > now - interval:
            return None
        return self.enforce_retention(now)

    def _expire_conversations(self, cutoff: datetime) -> dict[str, int]:
        c = conversations.c
        closed_before = and_(
            c.owner == OWNER_CLOSED,
            c.updated_at < cutoff,
            or_(c.closed_at.is_(None), c.closed_at < cutoff),
        )
        counts: dict[str, int] = {"conversations": 0}
        while True:
            with self.engine.begin() as conn:
                # Replicas running at once take different batches (PostgreSQL; SQLite has one writer).
                query = select(c.id).where(closed_before).order_by(c.id).limit(BATCH)
                ids = list(conn.execute(query.with_for_update(skip_locked=True)).scalars())
                if ids:
                    _add(counts, _delete_conversations(conn, ids, also=closed_before))
            if len(ids) < BATCH:
                return counts

    def _expire_tracker(self, cutoff: datetime) -> int:
        tracker = self._tracker()
        if tracker is None:
            return 0
        old = tracker_events.c.timestamp < cutoff.timestamp()
        deleted = 0
        while True:
            with tracker.begin() as conn:
                query = select(tracker_events.c.id).where(old).order_by(tracker_events.c.id).limit(BATCH)
                ids = list(conn.execute(query).scalars())
                if ids:
                    deleted += conn.execute(
                        delete(tracker_events).where(tracker_events.c.id.in_(ids), old)
                    ).rowcount
            if len(ids) < BATCH:
                return deleted

    def _expire_nlu_turns(self, cutoff: datetime) -> int:
        old = nlu_turns.c.created_at < cutoff
        deleted = 0
        while True:
            with self.engine.begin() as conn:
                query = select(nlu_turns.c.id).where(old).order_by(nlu_turns.c.id).limit(BATCH)
                ids = list(conn.execute(query).scalars())
                if ids:
                    deleted += conn.execute(delete(nlu_turns).where(nlu_turns.c.id.in_(ids), old)).rowcount
            if len(ids) < BATCH:
                return deleted

    def _expire_exports(self, cutoff: datetime) -> int:
        deleted = 0
        if not self.exports_dir.is_dir():
            return 0
        for path in self.exports_dir.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff.timestamp():
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:  # another replica (sharing VAR_DIR) was first
                continue
        return deleted

    # -- one customer ----------------------------------------------------------------------

    def export_customer(self, channel: str, sender: str, actor: str = "system") -> dict[str, Any]:
        """Everything we and Rasa hold about one customer, as JSON-able data. Audited."""
        channel, sender = _identity(channel, sender)
        now = self.now()
        with self.engine.connect() as conn:
            convs = conn.execute(
                select(conversations)
                .where(conversations.c.channel == channel, conversations.c.sender == sender)
                .order_by(conversations.c.created_at, conversations.c.id)
            ).all()
            ids = [row.id for row in convs]
            related: dict[str, dict[str, list[dict[str, Any]]]] = {cid: {} for cid in ids}
            for table, column in (*CONVERSATION_CHILDREN, (nlu_turns, nlu_turns.c.conversation_id)):
                key = "insights" if table is nlu_turns else table.name
                for cid in ids:
                    related[cid][key] = []
                for chunk in _chunks(ids):
                    order = [c for c in table.primary_key.columns]
                    rows = conn.execute(select(table).where(column.in_(chunk)).order_by(*order))
                    for row in rows:
                        related[row._mapping[column.name]][key].append(_jsonable(row))
        try:
            events = self._tracker_events(ids)
        except SQLAlchemyError as exc:
            raise TrackerUnavailable(
                f"Rasa's tracker store could not be reached ({type(exc).__name__}): try again"
            ) from exc
        conversations_out = []
        for row in convs:
            entry = _jsonable(row)
            entry.update(related[row.id])
            entry["tracker_events"] = events.get(row.id, [])
            conversations_out.append(entry)
        counts = _export_counts(conversations_out)
        record(
            self.engine,
            actor,
            Action.CUSTOMER_EXPORT,
            customer_subject(channel, sender),
            {"counts": counts},
            now,
        )
        return {
            "customer": {"channel": channel, "sender": sender},
            "exported_at": now.isoformat(),
            "counts": counts,
            "conversations": conversations_out,
        }

    def write_export(self, data: dict[str, Any], path: Path | None = None) -> Path:
        """Write an export readable by its owner only; by default into ``var/exports/``, where
        RETENTION_EXPORT_DAYS applies."""
        if path is None:
            customer = data["customer"]
            subject = customer_subject(customer["channel"], customer["sender"]).rsplit(":", 1)[1]
            stamp = self.now().strftime("%Y%m%dT%H%M%S%fZ")
            channel = re.sub(r"[^A-Za-z0-9_-]", "_", customer["channel"])
            path = self.exports_dir / f"customer-{channel}-{subject[:12]}-{stamp}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        return path

    def erase_customer(self, channel: str, sender: str, actor: str) -> dict[str, Any]:
        """Delete everything of one customer, here and in Rasa's tracker store; audited.

        Erasing a customer we hold nothing of (again) deletes nothing and is audited too.
        Raises :class:`TrackerUnavailable` after our database is erased when Rasa's store
        cannot be reached; call again to finish.
        """
        channel, sender = _identity(channel, sender)
        if not (actor or "").strip():
            raise PrivacyError("say who erases (actor)")
        subject = customer_subject(channel, sender)
        now = self.now()
        with self.engine.begin() as conn:
            query = select(conversations.c.id).where(
                conversations.c.channel == channel, conversations.c.sender == sender
            )
            # Locked: a message arriving meanwhile waits, then fails on its missing conversation.
            ids = sorted(conn.execute(query.with_for_update()).scalars())
            deleted = _delete_conversations(conn, ids) if ids else {"conversations": 0}
            earlier = _pending_erasures(conn, subject)
            pending = sorted(set(ids).union(*earlier.values()))
            details = {
                "deleted": deleted,
                "conversations": ids,
                "tracker": TRACKER_PENDING if pending else TRACKER_DONE,
            }
            audit_id = record(conn, actor.strip(), Action.CUSTOMER_ERASE, subject, details, now)
        deleted["tracker_events"] = 0
        if pending:
            try:
                deleted["tracker_events"] = self._delete_tracker_events(pending)
            except SQLAlchemyError as exc:
                raise TrackerUnavailable(
                    "our database is erased, but Rasa's tracker store could not be reached: "
                    f"erase this customer again to finish ({type(exc).__name__})"
                ) from exc
            with self.engine.begin() as conn:
                # the insights copy may have read an event before Rasa's part was deleted
                late = _delete_where(conn, nlu_turns, nlu_turns.c.conversation_id, pending)
                deleted["nlu_turns"] = deleted.get("nlu_turns", 0) + late
                done = {**details, "deleted": deleted, "tracker": TRACKER_DONE}
                conn.execute(update(audit_log).where(audit_log.c.id == audit_id).values(details=done))
                for row_id, row_details in _pending_rows(conn, subject, earlier):
                    finished = {**row_details, "tracker": TRACKER_DONE, "finished_by": audit_id}
                    conn.execute(update(audit_log).where(audit_log.c.id == row_id).values(details=finished))
        return {"subject": subject, "conversations": len(ids), "deleted": deleted, "audit_id": audit_id}

    # -- Rasa's tracker store ----------------------------------------------------------------

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

    def _tracker_events(self, conversation_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        tracker = self._tracker() if conversation_ids else None
        found: dict[str, list[dict[str, Any]]] = {}
        if tracker is None:
            return found
        with tracker.connect() as conn:
            for chunk in _chunks(conversation_ids):
                query = (
                    select(tracker_events)
                    .where(tracker_events.c.sender_id.in_(chunk))
                    .order_by(tracker_events.c.id)
                )
                for row in conn.execute(query):
                    event = _jsonable(row)
                    with contextlib.suppress(ValueError):  # else kept as the text Rasa stored
                        event["data"] = json.loads(row.data) if row.data else None
                    found.setdefault(row.sender_id, []).append(event)
        return found

    def _delete_tracker_events(self, conversation_ids: Sequence[str]) -> int:
        tracker = self._tracker()
        if tracker is None:
            return 0
        with tracker.begin() as conn:
            return _delete_where(conn, tracker_events, tracker_events.c.sender_id, conversation_ids)


# -- helpers ---------------------------------------------------------------------------------


def _identity(channel: str, sender: str) -> tuple[str, str]:
    channel, sender = (channel or "").strip(), (sender or "").strip()
    if not channel or not sender:
        raise PrivacyError("give the customer's channel and sender")
    if len(channel) > 32 or len(sender) > 128:
        raise PrivacyError("a channel has at most 32 characters, a sender at most 128")
    return channel, sender


def _delete_conversations(conn: Connection, ids: Sequence[str], also: Any = None) -> dict[str, int]:
    """Delete conversations ``ids`` (those still matching ``also``), what refers to them and
    their insights copy, in ``conn``'s transaction; rows deleted per table."""
    counts: dict[str, int] = {}
    for table, column in CONVERSATION_CHILDREN:
        counts[table.name] = _delete_where(conn, table, column, ids)
    counts["nlu_turns"] = _delete_where(conn, nlu_turns, nlu_turns.c.conversation_id, ids)
    condition = conversations.c.id.in_(ids) if also is None else and_(conversations.c.id.in_(ids), also)
    counts["conversations"] = conn.execute(delete(conversations).where(condition)).rowcount
    return counts


def _delete_where(conn: Connection, table: Table, column: Column, values: Sequence[str]) -> int:
    deleted = 0
    for chunk in _chunks(values):
        deleted += conn.execute(delete(table).where(column.in_(chunk))).rowcount
    return deleted


def _pending_erasures(conn: Connection, subject: str) -> dict[int, list[str]]:
    """Earlier erasures of this customer whose Rasa part did not finish: audit id -> conversations."""
    rows = conn.execute(
        select(audit_log.c.id, audit_log.c.details).where(
            audit_log.c.subject == subject, audit_log.c.action == Action.CUSTOMER_ERASE.value
        )
    )
    return {
        row.id: list(row.details.get("conversations") or [])
        for row in rows
        if isinstance(row.details, dict) and row.details.get("tracker") == TRACKER_PENDING
    }


def _pending_rows(
    conn: Connection, subject: str, earlier: dict[int, list[str]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    if not earlier:
        return
    rows = conn.execute(select(audit_log.c.id, audit_log.c.details).where(audit_log.c.id.in_(list(earlier))))
    for row in rows:
        yield row.id, dict(row.details or {})


def _export_counts(convs: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"conversations": len(convs)}
    for conv in convs:
        for key, value in conv.items():
            if isinstance(value, list):
                counts[key] = counts.get(key, 0) + len(value)
    return counts


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _jsonable(row: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in row._mapping.items()}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    return value


def _chunks(values: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]
