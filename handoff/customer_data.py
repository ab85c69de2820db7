"""One customer's export and erasure (GDPR access and erasure), here and in Rasa's tracker store.

:meth:`CustomerData.erase_customer` deletes everything of a customer in two steps that cannot
leave half done:

1. our database, in one transaction: the conversations and every row referring to them, their
   ``nlu_turns``, and the audit row, which names the conversation ids and says Rasa's part is
   ``pending``;
2. Rasa's events of those conversations, then their ``nlu_turns`` once more (the insights copy may
   have read an event between the two steps), and the audit row is marked ``done``.

When Rasa's store cannot be reached, step 1 stands and :class:`TrackerUnavailable` is raised:
erasing the customer again finishes the job, since an erasure also deletes Rasa's events of the
conversations named by earlier erasures of the same customer that are still ``pending``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.core.db import audit_log, chat_sessions, conversations, nlu_turns
from handoff.audit import Action, customer_subject, record
from handoff.privacy_base import (
    CONVERSATION_CHILDREN,
    PrivacyBase,
    PrivacyError,
    TrackerUnavailable,
    chunks,
    delete_conversations,
    delete_where,
    jsonable,
    tracker_events,
)

TRACKER_PENDING, TRACKER_DONE = "pending", "done"


class CustomerData(PrivacyBase):
    """Export and erase one customer (part of handoff.privacy.Privacy)."""

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
                for chunk in chunks(ids):
                    order = [c for c in table.primary_key.columns]
                    rows = conn.execute(select(table).where(column.in_(chunk)).order_by(*order))
                    for row in rows:
                        related[row._mapping[column.name]][key].append(jsonable(row))
        try:
            events = self._tracker_events(ids)
        except SQLAlchemyError as exc:
            raise TrackerUnavailable(
                f"Rasa's tracker store could not be reached ({type(exc).__name__}): try again"
            ) from exc
        conversations_out = []
        for row in convs:
            entry = jsonable(row)
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
            deleted = delete_conversations(conn, ids) if ids else {"conversations": 0}
            # the web chat's conversation token (bot/core/chat_sessions.py) opens nothing any more
            mine = and_(chat_sessions.c.channel == channel, chat_sessions.c.sender == sender)
            sessions = conn.execute(delete(chat_sessions).where(mine)).rowcount
            if sessions:
                deleted["chat_sessions"] = sessions
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
                late = delete_where(conn, nlu_turns, nlu_turns.c.conversation_id, pending)
                deleted["nlu_turns"] = deleted.get("nlu_turns", 0) + late
                done = {**details, "deleted": deleted, "tracker": TRACKER_DONE}
                conn.execute(update(audit_log).where(audit_log.c.id == audit_id).values(details=done))
                for row_id, row_details in _pending_rows(conn, subject, earlier):
                    finished = {**row_details, "tracker": TRACKER_DONE, "finished_by": audit_id}
                    conn.execute(update(audit_log).where(audit_log.c.id == row_id).values(details=finished))
        return {"subject": subject, "conversations": len(ids), "deleted": deleted, "audit_id": audit_id}

    # -- Rasa's tracker store ----------------------------------------------------------------

    def _tracker_events(self, conversation_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        tracker = self._tracker() if conversation_ids else None
        found: dict[str, list[dict[str, Any]]] = {}
        if tracker is None:
            return found
        with tracker.connect() as conn:
            for chunk in chunks(conversation_ids):
                query = (
                    select(tracker_events)
                    .where(tracker_events.c.sender_id.in_(chunk))
                    .order_by(tracker_events.c.id)
                )
                for row in conn.execute(query):
                    event = jsonable(row)
                    with contextlib.suppress(ValueError):  # else kept as the text Rasa stored
                        event["data"] = json.loads(row.data) if row.data else None
                    found.setdefault(row.sender_id, []).append(event)
        return found

    def _delete_tracker_events(self, conversation_ids: Sequence[str]) -> int:
        tracker = self._tracker()
        if tracker is None:
            return 0
        with tracker.begin() as conn:
            return delete_where(conn, tracker_events, tracker_events.c.sender_id, conversation_ids)


def _identity(channel: str, sender: str) -> tuple[str, str]:
    channel, sender = (channel or "").strip(), (sender or "").strip()
    if not channel or not sender:
        raise PrivacyError("give the customer's channel and sender")
    if len(channel) > 32 or len(sender) > 128:
        raise PrivacyError("a channel has at most 32 characters, a sender at most 128")
    return channel, sender


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
