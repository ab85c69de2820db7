"""Snoozing a chat: the agent who has it puts it aside (the customer is looking something up) until
a chosen time or the customer's next message, whichever comes first.

The state is two columns of the open handoff, so every gateway replica sees the same and no
process keeps a timer: ``snoozed_until`` and ``snoozed_after_id`` (the conversation's newest
message when it was snoozed). Whether a chat is still snoozed is worked out when it is read
(:func:`snooze_entry`): the time has not come and no customer message is newer than that id.
Nothing is written when it wakes; the agent's next reply, a new snooze, "wake now" or a transfer
clears the columns. Who has the chat does not change: ``conversations.owner`` stays ``agent``,
the handoff's ``claimed_by`` and ``first_reply_at`` stay as they are, so the metrics count a
snoozed chat as the agent's. Only a chat the agent has answered can be snoozed (a customer still
waiting for a first reply is not put aside: the first-reply promise and the requeue of unanswered
chats stay whole). Snoozing and waking by hand are audited (``chat.snooze``, ``chat.unsnooze``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.core.db import handoffs, messages
from handoff.audit import Action, conversation_subject, record

# The choices the console offers; "tomorrow" is the next calendar day at MORNING, local time.
PRESETS: dict[str, timedelta | None] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "3h": timedelta(hours=3),
    "tomorrow": None,
}
MORNING = time(9, 0)
MIN_SNOOZE = timedelta(minutes=1)
MAX_SNOOZE = timedelta(days=14)
CLEARED: dict[str, Any] = {"snoozed_until": None, "snoozed_after_id": None}
WOKE_BY_TIME, WOKE_BY_CUSTOMER = "time", "customer"


def snooze_setup() -> dict[str, Any]:
    """What the console offers: the presets' names and the morning "tomorrow" means."""
    return {"presets": list(PRESETS), "morning": MORNING.strftime("%H:%M")}


class SnoozeError(ValueError):
    """The snooze was asked wrongly (an unknown choice, a time in the past or too far ahead)."""

    code = "invalid_snooze"


@dataclass(frozen=True)
class SnoozeRequest:
    """One of PRESETS, or ``until``: an ISO 8601 time (without an offset: the team's local time)."""

    preset: str | None = None
    until: str | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object]) -> SnoozeRequest:
        preset, until = body.get("preset"), body.get("until")
        if (preset is None) == (until is None):
            raise SnoozeError(f"give a preset ({', '.join(PRESETS)}) or an until time, not both")
        if preset is not None and preset not in PRESETS:
            raise SnoozeError(f"preset must be one of {', '.join(PRESETS)}")
        if until is not None and not isinstance(until, str):
            raise SnoozeError("until must be an ISO 8601 date and time")
        return cls(preset if isinstance(preset, str) else None, until if isinstance(until, str) else None)

    def wake_at(self, now: datetime, zone: ZoneInfo) -> datetime:
        """When the chat comes back (UTC), checked to be 1 minute to 14 days after ``now``."""
        if self.preset is not None:
            step = PRESETS[self.preset]
            at = now + step if step is not None else tomorrow_morning(now, zone)
        else:
            at = _parse_time(self.until or "", zone)
        if not now + MIN_SNOOZE <= at <= now + MAX_SNOOZE:
            raise SnoozeError("the wake-up time must be between 1 minute and 14 days from now")
        return at.astimezone(timezone.utc)


def tomorrow_morning(now: datetime, zone: ZoneInfo) -> datetime:
    """The next calendar day at MORNING in ``zone`` (whatever the clocks do overnight), in UTC."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, MORNING, tzinfo=zone).astimezone(timezone.utc)


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise SnoozeError("until must be an ISO 8601 date and time") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


# -- the database ---------------------------------------------------------------------------------


def snooze_chat(
    engine: Engine, handoff_id: int, conversation_id: str, agent: str, until: datetime, now: datetime
) -> bool:
    """Snooze the agent's answered chat until ``until``; False when it is not theirs (any more)
    or not answered yet. Audited in the same transaction."""
    with engine.begin() as conn:
        newest = conn.execute(
            select(func.max(messages.c.id)).where(messages.c.conversation_id == conversation_id)
        ).scalar()
        theirs = (
            handoffs.c.id == handoff_id,
            handoffs.c.ended_at.is_(None),
            handoffs.c.claimed_by == agent,
            handoffs.c.first_reply_at.is_not(None),
        )
        values = {"snoozed_until": until, "snoozed_after_id": int(newest or 0)}
        if conn.execute(update(handoffs).where(*theirs).values(**values)).rowcount != 1:
            return False
        details = {"handoff_id": handoff_id, "until": until.isoformat()}
        record(conn, agent, Action.CHAT_SNOOZE, conversation_subject(conversation_id), details, now)
    return True


def wake_chat(engine: Engine, handoff_id: int, conversation_id: str, agent: str, now: datetime) -> bool:
    """The agent ends the snooze by hand; False when there was none to end."""
    with engine.begin() as conn:
        theirs = (
            handoffs.c.id == handoff_id,
            handoffs.c.claimed_by == agent,
            handoffs.c.snoozed_until.is_not(None),
        )
        if conn.execute(update(handoffs).where(*theirs).values(**CLEARED)).rowcount != 1:
            return False
        details = {"handoff_id": handoff_id}
        record(conn, agent, Action.CHAT_UNSNOOZE, conversation_subject(conversation_id), details, now)
    return True


@dataclass(frozen=True)
class Snooze:
    until: datetime
    after_id: int

    def woke(self, now: datetime, last_customer_id: int) -> str | None:
        """None while still snoozed, else what woke it (the customer wins a tie)."""
        if last_customer_id > self.after_id:
            return WOKE_BY_CUSTOMER
        return WOKE_BY_TIME if now >= self.until else None


def snoozes_of(engine: Engine, handoff_ids: list[int]) -> dict[int, Snooze]:
    """The snoozes set on these handoffs (woken or not), by handoff id."""
    if not handoff_ids:
        return {}
    query = select(handoffs.c.id, handoffs.c.snoozed_until, handoffs.c.snoozed_after_id).where(
        handoffs.c.id.in_(handoff_ids), handoffs.c.snoozed_until.is_not(None)
    )
    with engine.connect() as conn:
        return {row.id: Snooze(row.snoozed_until, row.snoozed_after_id or 0) for row in conn.execute(query)}


def snooze_entry(snooze: Snooze | None, now: datetime, last_customer_id: int) -> dict[str, Any]:
    """What the console shows of a chat's snooze: ``snoozed`` (still put aside), ``snoozed_until``
    and ``woke`` (``time`` or ``customer``: back since, until the agent replies)."""
    if snooze is None:
        return {"snoozed": False, "snoozed_until": None, "woke": None}
    woke = snooze.woke(now, last_customer_id)
    return {"snoozed": woke is None, "snoozed_until": snooze.until.isoformat(), "woke": woke}
