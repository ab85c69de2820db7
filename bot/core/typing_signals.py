"""Typing indicators: "<agent> is typing…" for the customer, "the customer is typing…" for the
agent with the chat open.

A signal is one row per conversation and side in ``typing_signals``, rewritten at most every
``THROTTLE_S`` by one conditional UPDATE (``... WHERE at < now - THROTTLE_S``), so a page that
sends too often costs a cheap no-op and several replicas cannot write more often either. The
change feed (bot/core/feed.py) reads the rows changed since its last look, as it reads messages,
and every replica's streams push them; the pages hide an indicator ``EXPIRES_S`` after the last
one (or when that side's message arrives). Nothing of it is ever a message of the transcript.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import typing_signals, utcnow

AGENT, CUSTOMER = "agent", "customer"
SIDES = (AGENT, CUSTOMER)
THROTTLE_S = 3.0  # at most one signal per side and conversation this often
EXPIRES_S = 6.0  # a page hides the indicator this long after the last signal
SWEEP_AFTER = timedelta(hours=1)  # rows older than this are deleted when a new row is written


def signal_typing(
    engine: Engine, conversation_id: str, side: str, name: str | None = None, now: datetime | None = None
) -> bool:
    """Record that ``side`` types in the conversation; False when it was recorded less than
    ``THROTTLE_S`` ago (nothing written: nothing new for the feed)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}")
    now = now or utcnow()
    values = {"name": (name or None) and name[:128], "at": now}
    key = (typing_signals.c.conversation_id == conversation_id) & (typing_signals.c.side == side)
    with engine.begin() as conn:
        stale = typing_signals.c.at < now - timedelta(seconds=THROTTLE_S)
        if conn.execute(update(typing_signals).where(key, stale).values(**values)).rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(typing_signals).values(conversation_id=conversation_id, side=side, **values))
            conn.execute(delete(typing_signals).where(typing_signals.c.at < now - SWEEP_AFTER))
    except IntegrityError:  # the row exists and is recent (or another replica just wrote it)
        return False
    return True
