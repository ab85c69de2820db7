"""What agents keep for themselves about a chat: internal notes and the wrap-up code of a close.

Notes live in their own table (``conversation_notes``), never among the messages: nothing that
delivers, shows or exports a conversation to its customer reads them. Agents see them in the
transcript view, marked as notes. A customer's erasure and the transcripts' retention delete them
with the conversation (handoff/privacy.py deletes every table that refers to conversations).

Wrap-up codes (``WRAP_UPS``) say how a chat ended for the team's figures; the console asks for
one, with a confirmation, when an agent closes a chat (``handoffs.wrap_up``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from bot.core.db import conversation_notes, handoffs, messages

WRAP_UPS = (
    "solved",  # the question is answered, the problem fixed
    "information_given",  # explained, nothing to fix
    "follow_up",  # needs a follow-up (a ticket, a callback, another team)
    "customer_silent",  # the customer stopped answering
    "spam",  # spam, abuse or a duplicate chat
    "other",
)
MAX_NOTE_CHARS = 2000


def add_note(
    engine: Engine,
    conversation_id: str,
    handoff_id: int | None,
    author: tuple[str, str],
    text: str,
    now: datetime,
) -> dict[str, Any]:
    """Store a note by ``author`` (username, display name); returns it as the console shows it."""
    username, name = author
    values = {
        "conversation_id": conversation_id,
        "handoff_id": handoff_id,
        "agent": username,
        "agent_name": name,
        "text": text,
        "created_at": now,
    }
    with engine.begin() as conn:
        note_id = conn.execute(insert(conversation_notes).values(**values)).inserted_primary_key[0]
    return note_entry({**values, "id": int(note_id)})


def notes_of(engine: Engine, conversation_id: str) -> list[dict[str, Any]]:
    """A conversation's notes, oldest first."""
    query = (
        select(conversation_notes)
        .where(conversation_notes.c.conversation_id == conversation_id)
        .order_by(conversation_notes.c.id)
    )
    with engine.connect() as conn:
        return [note_entry(dict(row._mapping)) for row in conn.execute(query)]


def note_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "agent": row["agent"],
        "agent_name": row["agent_name"],
        "text": row["text"],
        "at": row["created_at"].isoformat(),
    }


def set_wrap_up(engine: Engine, handoff_id: int, code: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(handoffs).where(handoffs.c.id == handoff_id).values(wrap_up=code))


def wrap_up_of(engine: Engine, handoff_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(handoffs.c.wrap_up).where(handoffs.c.id == handoff_id)).scalar()


def unread_of(engine: Engine, chats: list[tuple[str, datetime]]) -> dict[str, dict[str, int]]:
    """Per conversation (id, handed over at): ``unread``, the customer's messages since the last
    agent reply of that handoff, and ``last_customer_id`` (0 without any): the console's badges."""
    found = {cid: {"unread": 0, "last_customer_id": 0} for cid, _ in chats}
    if not chats:
        return found
    since = {cid: at for cid, at in chats}
    query = (
        select(messages.c.conversation_id, messages.c.id, messages.c.author, messages.c.created_at)
        .where(messages.c.conversation_id.in_(list(since)), messages.c.author.in_(("customer", "agent")))
        .where(messages.c.created_at >= min(since.values()))
        .order_by(messages.c.id)
    )
    with engine.connect() as conn:
        for row in conn.execute(query):
            counts = found[row.conversation_id]
            if row.created_at < since[row.conversation_id]:
                continue
            if row.author == "agent":
                counts["unread"] = 0
            else:
                counts["unread"] += 1
                counts["last_customer_id"] = row.id
    return found
