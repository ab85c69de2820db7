"""Retention: personal data is deleted once older than its kind's limit (``RETENTION_*_DAYS``; 0
keeps that kind for good).

* **transcripts** (our database): a *closed* conversation closed longer ago than
  ``RETENTION_TRANSCRIPT_DAYS`` goes with everything that refers to it (messages, handoffs, CSAT,
  platform references: every table with a foreign key to ``conversations``). Open ones stay.
* **tracker events** (Rasa's ``events`` table on ``RASA_TRACKER_URL``): events whose timestamp is
  older than ``RETENTION_TRACKER_DAYS``.
* **insights copy** (``nlu_turns``): customer messages copied older than ``RETENTION_INSIGHTS_DAYS``.
* **exports**: the files ``python -m bot.manage export-customer`` writes to ``var/exports/``,
  older than ``RETENTION_EXPORT_DAYS``.
* **identity checks** (bot/core/identity.py: ``verification_codes``, which are also the
  sends-per-hour counters, and ``verified_identities``): codes a day after they were made, and
  verifications 30 days after they ran out or the customer logged out, whatever the limits
  above (:meth:`Identity.purge_counts`). Both hang off a conversation, so they also go with
  its transcript, and with a customer's export and erasure.

:meth:`Retention.enforce_retention` deletes all of that; the gateway runs it every
``RETENTION_INTERVAL`` (:meth:`Retention.run_if_due`). Every delete is idempotent and works in
small batches, so several gateway replicas may run it at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from bot.core.chat_sessions import ChatSessions
from bot.core.db import OWNER_CLOSED, audit_log, conversations, nlu_turns
from bot.core.identity import Identity
from handoff.audit import Action, record
from handoff.privacy_base import (
    BATCH,
    CONVERSATION_CHILDREN,
    PrivacyBase,
    TrackerUnavailable,
    add_counts,
    aware,
    delete_conversations,
    tracker_events,
)

RETENTION_ACTOR = "retention"
RETENTION_SUBJECT = "retention"


class Retention(PrivacyBase):
    """The retention job over our database and Rasa's tracker store (part of handoff.privacy.Privacy)."""

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
            add_counts(counts, self._expire_conversations(transcripts))
            # web chat tokens unused as long (their sender may be a customer number)
            idle = ChatSessions(self.engine).forget_unused(transcripts)
            if idle:
                counts["chat_sessions"] = idle
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
        add_counts(counts, Identity(self.engine, lambda: now).purge_counts())
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
        if last is not None and aware(last) > now - interval:
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
                    add_counts(counts, delete_conversations(conn, ids, also=closed_before))
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
