"""Who owns a conversation, and the only way that changes.

``conversations.owner`` is the single source of truth: bot -> queued (escalation) -> agent
(claim) -> bot (hand back) or closed; a waiting customer may leave the queue (queued -> bot), and
a waiting chat its customer abandoned is closed (queued -> closed). ``TRANSITIONS`` is the one
table of allowed moves; every move is one conditional UPDATE (``... WHERE owner IN <allowed
sources>``) inside a transaction, so two parties can never both win: two agents claiming at
once, or an escalation racing a close, leave exactly one result.

The escalation itself (bot -> queued, with its handoff row) lives here because both the action
server and the agents' side request it; the agents' operations are in ``handoff.queue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.core.db import Owner, Priority, conversations, handoffs, utcnow
from bot.core.rules import Rule


class Transition(str, Enum):
    ESCALATE = "escalate"
    CLAIM = "claim"
    REQUEUE = "requeue"
    HAND_BACK = "hand_back"
    CLOSE = "close"
    LEAVE_QUEUE = "leave_queue"  # the waiting customer goes back to the bot
    ABANDON = "abandon"  # a waiting customer went silent: the chat is closed
    TRANSFER = "transfer"  # an agent passes their chat to a colleague (handoffs.claimed_by changes)


# transition -> (owners it may start from, owner it leads to)
TRANSITIONS: dict[Transition, tuple[tuple[Owner, ...], Owner]] = {
    Transition.ESCALATE: ((Owner.BOT,), Owner.QUEUED),
    Transition.CLAIM: ((Owner.QUEUED,), Owner.AGENT),
    Transition.REQUEUE: ((Owner.AGENT,), Owner.QUEUED),
    Transition.HAND_BACK: ((Owner.AGENT, Owner.QUEUED), Owner.BOT),
    Transition.CLOSE: ((Owner.BOT, Owner.QUEUED, Owner.AGENT), Owner.CLOSED),
    # Only from the queue: once an agent has taken the chat, the customer is with a person.
    Transition.LEAVE_QUEUE: ((Owner.QUEUED,), Owner.BOT),
    Transition.ABANDON: ((Owner.QUEUED,), Owner.CLOSED),
    # The owner stays a person; which one is the open handoff's claimed_by (handoff/transfer.py).
    Transition.TRANSFER: ((Owner.AGENT,), Owner.AGENT),
}


def move(conn: Connection, conversation_id: str, transition: Transition) -> bool:
    """Apply ``transition`` if the current owner allows it; True when this call made the change."""
    sources, target = TRANSITIONS[transition]
    values: dict[str, Any] = {"owner": target.value, "updated_at": utcnow()}
    if target is Owner.CLOSED:
        values["closed_at"] = values["updated_at"]
    result = conn.execute(
        update(conversations)
        .where(
            conversations.c.id == conversation_id,
            conversations.c.owner.in_([s.value for s in sources]),
        )
        .values(**values)
    )
    return result.rowcount == 1


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


def handoff_from_row(row: Any) -> Handoff:
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


class Escalations:
    """Requests for a person (bot -> queued) and the customer's place in the queue."""

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
            if conv is None or not move(conn, conversation_id, Transition.ESCALATE):
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
        return handoff_from_row(row)

    def waiting(self, languages: tuple[str, ...] | None = None) -> list[Handoff]:
        """Unclaimed handoffs, most urgent first, then longest waiting; optionally by language."""
        query = (
            select(handoffs)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(handoffs.c.ended_at.is_(None), conversations.c.owner == Owner.QUEUED.value)
            .order_by(handoffs.c.priority_rank, handoffs.c.created_at, handoffs.c.id)
        )
        if languages is not None:
            query = query.where(handoffs.c.language.in_(languages))
        with self.engine.connect() as conn:
            return [handoff_from_row(row) for row in conn.execute(query)]

    def position(self, conversation_id: str) -> int | None:
        """1-based place in the queue of a waiting conversation (among its language)."""
        queue = self.waiting()
        mine = next((h for h in queue if h.conversation_id == conversation_id), None)
        if mine is None:
            return None
        same_language = [h for h in queue if h.language == mine.language]
        return same_language.index(mine) + 1


__all__ = ["TRANSITIONS", "Escalations", "Handoff", "Owner", "Priority", "Transition", "move"]
