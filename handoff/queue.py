"""The agent queue: what waits, who took what, and the ownership transitions of agents and of the
waiting customer (leave the queue, ask to be contacted later; a silent one is abandoned).

The transitions themselves (one table, one conditional UPDATE) are in ``bot.core.ownership``.
Handoff outcomes: ``closed``, ``handed_back``, ``left_queue`` (the customer went back to the bot)
and ``abandoned`` (closed after the customer's silence in the queue).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from bot.core.db import conversations, handoffs, utcnow
from bot.core.ownership import Escalations, Handoff, Owner, Transition, handoff_from_row, move

__all__ = ["CALLBACK_SLOT", "Handoff", "HandoffQueue", "wants_callback"]

# In a handoff's slots: the customer would rather be contacted than wait ({"requested_at": iso}).
CALLBACK_SLOT = "callback"


def wants_callback(handoff: Handoff) -> bool:
    return bool(handoff.slots.get(CALLBACK_SLOT))


class HandoffQueue(Escalations):
    """The agents' side of the queue: claim, reply, hand back, close, requeue."""

    def claimed_by(self, agent: str) -> list[Handoff]:
        """The open chats this agent has taken, oldest claim first."""
        query = (
            select(handoffs)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(
                handoffs.c.ended_at.is_(None),
                handoffs.c.claimed_by == agent,
                conversations.c.owner == Owner.AGENT.value,
            )
            .order_by(handoffs.c.claimed_at, handoffs.c.id)
        )
        with self.engine.connect() as conn:
            return [handoff_from_row(row) for row in conn.execute(query)]

    def latest_handoff(self, conversation_id: str) -> Handoff | None:
        """The conversation's most recent handoff, open or ended."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id)
                .order_by(handoffs.c.id.desc())
                .limit(1)
            ).first()
        return handoff_from_row(row) if row else None

    def claim(self, handoff_id: int, agent: str) -> bool:
        """Give a waiting conversation to ``agent``; exactly one of concurrent claims wins."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(handoffs.c.conversation_id).where(
                    handoffs.c.id == handoff_id, handoffs.c.ended_at.is_(None)
                )
            ).first()
            if row is None or not move(conn, row.conversation_id, Transition.CLAIM):
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id)
                .values(claimed_by=agent, claimed_at=utcnow())
            )
        return True

    def record_agent_reply(self, conversation_id: str, agent: str) -> bool:
        """Note the first human reply (for the one-hour promise) and end a snooze (the agent is
        on the chat again: handoff/snooze.py); False if not this agent's."""
        with self.engine.begin() as conn:
            current = self._open_handoff(conn, conversation_id)
            if current is None or current.claimed_by != agent:
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == current.id, handoffs.c.first_reply_at.is_(None))
                .values(first_reply_at=utcnow())
            )
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == current.id, handoffs.c.snoozed_until.is_not(None))
                .values(snoozed_until=None, snoozed_after_id=None)
            )
        return True

    def hand_back(self, conversation_id: str) -> bool:
        """The agent gives the conversation back to the bot."""
        return self._end(conversation_id, Transition.HAND_BACK, "handed_back")

    def close(self, conversation_id: str) -> bool:
        """End the conversation; the customer's next message starts a new one with the bot."""
        return self._end(conversation_id, Transition.CLOSE, "closed")

    def leave(self, conversation_id: str) -> bool:
        """The waiting customer goes back to the bot; False once an agent has taken the chat."""
        return self._end(conversation_id, Transition.LEAVE_QUEUE, "left_queue")

    def abandon(self, conversation_id: str) -> bool:
        """Close a waiting chat whose customer went silent; False if it is no longer waiting."""
        return self._end(conversation_id, Transition.ABANDON, "abandoned")

    def request_callback(self, conversation_id: str, now: datetime | None = None) -> bool:
        """Mark the open handoff: contact the customer later. The chat stays in the queue (never
        abandoned); the contact details are the customer's next messages. False without one."""
        with self.engine.begin() as conn:
            current = self._open_handoff(conn, conversation_id)
            if current is None:
                return False
            if not wants_callback(current):
                requested = {"requested_at": (now or utcnow()).isoformat()}
                conn.execute(
                    update(handoffs)
                    .where(handoffs.c.id == current.id)
                    .values(slots={**current.slots, CALLBACK_SLOT: requested})
                )
        return True

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
                if move(conn, conversation_id, Transition.REQUEUE):
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
        return handoff_from_row(row) if row else None

    def _end(self, conversation_id: str, transition: Transition, outcome: str) -> bool:
        with self.engine.begin() as conn:
            if not move(conn, conversation_id, transition):
                return False
            conn.execute(
                update(handoffs)
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.ended_at.is_(None))
                .values(ended_at=utcnow(), outcome=outcome)
            )
        return True
