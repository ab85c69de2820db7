"""The audit log of who touched personal data (``audit_log`` in bot/core/db.py): customer exports
and erasures, agents reading transcripts and accounts, chat transfers and snoozes, and the
retention runs.

The audit log does not keep a customer's sender: their subject is ``customer:<channel>:<hash>``
(:func:`customer_subject`, a SHA-256 of channel and sender), so an erased customer leaves no
identity behind while "was this customer erased, by whom, when" stays answerable.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from bot.core.db import audit_log, utcnow


class Action(str, Enum):
    """``audit_log.action``."""

    TRANSCRIPT_READ = "transcript.read"  # an agent opened (or streamed, or exported) a transcript
    ACCOUNT_READ = "account.read"  # an agent opened a verified customer's account (handoff/customer.py)
    CHAT_TRANSFER = "chat.transfer"  # an agent passed a chat to a colleague or a team (handoff/transfer.py)
    CHAT_SNOOZE = "chat.snooze"  # an agent put their chat aside until a time (handoff/snooze.py)
    CHAT_UNSNOOZE = "chat.unsnooze"  # an agent ended their chat's snooze by hand
    CUSTOMER_EXPORT = "customer.export"
    CUSTOMER_ERASE = "customer.erase"
    RETENTION = "retention.run"


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
