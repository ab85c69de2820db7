"""An agent passes a chat they have to a named colleague or to a language team, with a note.

Who answers stays where it always is: ``conversations.owner`` says a person has the chat and the
open handoff's ``claimed_by`` says which one. A transfer to a colleague is one transaction: the
conditional ``Transition.TRANSFER`` (the chat must still be with a person) and an UPDATE of
``claimed_by`` that only succeeds while the transferring agent still has it; a transfer to a
team is ``Transition.REQUEUE`` with the handoff's language set, so the chat waits for that
team. Either way exactly one agent (or the queue) has the chat, whatever runs at the same time.
A snooze (handoff/snooze.py) ends with the transfer: whoever takes over gets an active chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot.core.db import handoffs
from bot.core.ownership import Transition, move
from bot.core.settings import SUPPORTED_LANGUAGES
from handoff.audit import Action, conversation_subject, record
from handoff.snooze import CLEARED as SNOOZE_CLEARED

MAX_TRANSFER_NOTE_CHARS = 2000


class TransferError(ValueError):
    """The transfer was asked wrongly (``code`` names why, as the API's error codes do)."""

    def __init__(self, message: str, code: str = "invalid_transfer") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TransferRequest:
    """To a colleague (``to``: their username) or to a team (``language``), never both."""

    to: str | None = None
    language: str | None = None
    note: str = ""

    @classmethod
    def parse(cls, body: dict[str, object]) -> TransferRequest:
        to, language, note = body.get("to"), body.get("language"), body.get("note") or ""
        if not isinstance(note, str):
            raise TransferError("note must be text")
        if len(note.strip()) > MAX_TRANSFER_NOTE_CHARS:
            raise TransferError(f"a note has at most {MAX_TRANSFER_NOTE_CHARS} characters", "note_too_long")
        if (to is None) == (language is None):
            raise TransferError("name a colleague (to) or a language team (language), not both")
        if to is not None and (not isinstance(to, str) or not to.strip()):
            raise TransferError("to must be a colleague's username")
        if language is not None and language not in SUPPORTED_LANGUAGES:
            raise TransferError(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return cls(to.strip().lower() if isinstance(to, str) else None, language, note.strip())


class _Lost(Exception):
    """The chat changed hands meanwhile: the transaction is rolled back."""


def to_colleague(
    engine: Engine, handoff_id: int, conversation_id: str, agents: tuple[str, str], now: datetime
) -> bool:
    """Give the chat of ``agents[0]`` to ``agents[1]``; False if it is not theirs any more."""
    giver, taker = agents
    details = {"handoff_id": handoff_id, "to": taker}
    return _apply(
        engine,
        Transition.TRANSFER,
        conversation_id,
        handoff_id,
        giver,
        {"claimed_by": taker, "claimed_at": now, **SNOOZE_CLEARED},
        details,
        now,
    )


def to_team(
    engine: Engine, handoff_id: int, conversation_id: str, giver: str, language: str, now: datetime
) -> bool:
    """Put the chat of ``giver`` back in the queue for the ``language`` team."""
    values = {"claimed_by": None, "claimed_at": None, "language": language, **SNOOZE_CLEARED}
    details = {"handoff_id": handoff_id, "language": language}
    return _apply(engine, Transition.REQUEUE, conversation_id, handoff_id, giver, values, details, now)


def _apply(
    engine: Engine,
    transition: Transition,
    conversation_id: str,
    handoff_id: int,
    giver: str,
    values: dict[str, object],
    details: dict[str, object],
    now: datetime,
) -> bool:
    """The owner's transition and the handoff's change together, audited; or nothing at all."""
    try:
        with engine.begin() as conn:
            if not move(conn, conversation_id, transition):
                raise _Lost
            mine = (
                handoffs.c.id == handoff_id,
                handoffs.c.ended_at.is_(None),
                handoffs.c.claimed_by == giver,
            )
            if conn.execute(update(handoffs).where(*mine).values(**values)).rowcount != 1:
                raise _Lost
            record(conn, giver, Action.CHAT_TRANSFER, conversation_subject(conversation_id), details, now)
    except _Lost:
        return False
    return True
