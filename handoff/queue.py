"""The agent queue and the ownership transitions of a conversation.

``conversations.owner`` is the single source of truth: bot -> queued (escalation) ->
agent (claim) -> bot (hand back) or closed. Every transition is one conditional UPDATE
(``... WHERE owner = <expected>``) inside a transaction, so two parties can never both win:
two agents claiming at once, or an escalation racing a close, leave exactly one result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.db import (
    OWNER_AGENT,
    OWNER_BOT,
    OWNER_CLOSED,
    OWNER_QUEUED,
    conversations,
    handoffs,
    utcnow,
)
from handoff.rules import Rule


@dataclass(frozen=True)
class Handoff:
    id: int
    conversation_id: str
    reason: str
    priority: str
    language: str
    channel: str
    created_at: datetime
    claimed_by: str | None
    summary: str | None
    intents: list[str]
    slots: dict[str, Any]
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None


def _handoff(row: Any) -> Handoff:
    return Handoff(
        id=row.id,
        conversation_id=row.conversation_id,
        reason=row.reason,
        priority=row.priority,
        language=row.language,
        channel=row.channel,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        summary=row.summary,
        intents=list(row.intents or []),
        slots=dict(row.slots or {}),
        claimed_at=row.claimed_at,
        first_reply_at=row.first_reply_at,
        ended_at=row.ended_at,
        outcome=row.outcome,
    )


def _move(conn: Connection, conversation_id: str, expected: tuple[str, ...], owner: str) -> bool:
    """Change the owner if it is one of ``expected``; True when this call made the change."""
    values: dict[str, Any] = {"owner": owner, "updated_at": utcnow()}
    if owner == OWNER_CLOSED:
        values["closed_at"] = values["updated_at"]
    result = conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.owner.in_(expected))
        .values(**values)
    )
    return result.rowcount == 1


class HandoffQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def escalate(
        self,
        conversation_id: str,
        rule: Rule,
        *,
        summary: str | None = None,
        intents: list[str] | None = None,
        slots: dict[str, Any] | None = None,
    ) -> Handoff | None:
        """Queue a bot conversation for a person; None when the bot no longer owns it."""
        with self.engine.begin() as conn:
            conv = conn.execute(
                select(conversations.c.language, conversations.c.channel).where(
                    conversations.c.id == conversation_id
                )
            ).first()
            if conv is None or not _move(conn, conversation_id, (OWNER_BOT,), OWNER_QUEUED):
                return None
            handoff_id = conn.execute(
                insert(handoffs).values(
                    conversation_id=conversation_id,
                    reason=rule.reason,
                    priority=rule.priority,
                    priority_rank=rule.rank,
                    language=conv.language,
                    channel=conv.channel,
                    summary=summary,
                    intents=intents or [],
                    slots=slots or {},
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).one()
        return _handoff(row)

    def waiting(self, languages: tuple[str, ...] | None = None) -> list[Handoff]:
        """Unclaimed handoffs, most urgent first, then longest waiting; optionally by language."""
        query = (
            select(handoffs)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(handoffs.c.ended_at.is_(None), conversations.c.owner == OWNER_QUEUED)
            .order_by(handoffs.c.priority_rank, handoffs.c.created_at, handoffs.c.id)
        )
        if languages is not None:
            query = query.where(handoffs.c.language.in_(languages))
        with self.engine.connect() as conn:
            return [_handoff(row) for row in conn.execute(query)]

    def claimed_by(self, agent: str) -> list[Handoff]:
        """The open chats this agent has taken, oldest claim first."""
        query = (
            select(handoffs)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(
                handoffs.c.ended_at.is_(None),
                handoffs.c.claimed_by == agent,
                conversations.c.owner == OWNER_AGENT,
            )
            .order_by(handoffs.c.claimed_at, handoffs.c.id)
        )
        with self.engine.connect() as conn:
            return [_handoff(row) for row in conn.execute(query)]

    def latest_handoff(self, conversation_id: str) -> Handoff | None:
        """The conversation's most recent handoff, open or ended."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id)
                .order_by(handoffs.c.id.desc())
                .limit(1)
            ).first()
        return _handoff(row) if row else None

    def position(self, conversation_id: str) -> int | None:
        """1-based place in the queue of a waiting conversation (among its language)."""
        queue = self.waiting()
        mine = next((h for h in queue if h.conversation_id == conversation_id), None)
        if mine is None:
            return None
        same_language = [h for h in queue if h.language == mine.language]
        return same_language.index(mine) + 1

    def claim(self, handoff_id: int, agent: str) -> bool:
        """Give a waiting conversation to ``agent``; exactly one of concurrent claims wins."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(handoffs.c.conversation_id).where(
                    handoffs.c.id == handoff_id, handoffs.c.ended_at.is_(None)
                )
            ).first()
            if row is None or not _move(conn, row.conversation_id, (OWNER_QUEUED,), OWNER_AGENT):
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id)
                .values(claimed_by=agent, claimed_at=utcnow())
            )
        return True

    def record_agent_reply(self, conversation_id: str, agent: str) -> bool:
        """Note the first human reply (for the one-hour promise); False if not this agent's."""
        with self.engine.begin() as conn:
            current = self._open_handoff(conn, conversation_id)
            if current is None or current.claimed_by != agent:
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == current.id, handoffs.c.first_reply_at.is_(None))
                .values(first_reply_at=utcnow())
            )
        return True

    def hand_back(self, conversation_id: str) -> bool:
        """The agent gives the conversation back to the bot."""
        return self._end(conversation_id, (OWNER_AGENT, OWNER_QUEUED), OWNER_BOT, "handed_back")

    def close(self, conversation_id: str) -> bool:
        """End the conversation; the customer's next message starts a new one with the bot."""
        return self._end(conversation_id, (OWNER_BOT, OWNER_QUEUED, OWNER_AGENT), OWNER_CLOSED, "closed")

    def requeue_unanswered(self, older_than: timedelta, now: datetime | None = None) -> list[int]:
        """Claimed handoffs whose agent has not replied within ``older_than`` go back to the queue."""
        deadline = (now or utcnow()) - older_than
        requeued = []
        with self.engine.begin() as conn:
            stale = conn.execute(
                select(handoffs.c.id, handoffs.c.conversation_id).where(
                    and_(
                        handoffs.c.ended_at.is_(None),
                        handoffs.c.claimed_at.is_not(None),
                        handoffs.c.claimed_at < deadline,
                        handoffs.c.first_reply_at.is_(None),
                    )
                )
            ).all()
            for handoff_id, conversation_id in stale:
                if _move(conn, conversation_id, (OWNER_AGENT,), OWNER_QUEUED):
                    conn.execute(
                        update(handoffs)
                        .where(handoffs.c.id == handoff_id)
                        .values(claimed_by=None, claimed_at=None)
                    )
                    requeued.append(handoff_id)
        return requeued

    def open_handoff(self, conversation_id: str) -> Handoff | None:
        with self.engine.connect() as conn:
            return self._open_handoff(conn, conversation_id)

    @staticmethod
    def _open_handoff(conn: Connection, conversation_id: str) -> Handoff | None:
        row = conn.execute(
            select(handoffs)
            .where(handoffs.c.conversation_id == conversation_id, handoffs.c.ended_at.is_(None))
            .order_by(handoffs.c.id.desc())
        ).first()
        return _handoff(row) if row else None

    def _end(self, conversation_id: str, expected: tuple[str, ...], owner: str, outcome: str) -> bool:
        with self.engine.begin() as conn:
            if not _move(conn, conversation_id, expected, owner):
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.ended_at.is_(None))
                .values(ended_at=utcnow(), outcome=outcome)
            )
        return True
