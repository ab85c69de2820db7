"""Conversation and transcript persistence used by the router."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import OWNER_BOT, OWNER_CLOSED, conversations, csat, messages, utcnow
from bot.core.language import LanguageChoice

ChooseLanguage = Callable[[str | None], LanguageChoice]


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: str
    sender: str
    owner: str
    language: str
    locale: str | None
    created_at: datetime
    rasa_language: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A stored customer message and the conversation it belongs to."""

    conversation: Conversation
    message_id: int
    choice: LanguageChoice
    previous_language: str | None  # None for a new conversation

    @property
    def needs_language_sync(self) -> bool:
        """True when Rasa's ``language`` slot may differ from the conversation's language.

        A new conversation needs no sync: its first message carries the language in the
        metadata that ``action_session_start`` reads.
        """
        conv = self.conversation
        return self.previous_language is not None and conv.rasa_language != conv.language


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row.id,
        channel=row.channel,
        sender=row.sender,
        owner=row.owner,
        language=row.language,
        locale=row.locale,
        created_at=row.created_at,
        rasa_language=row.rasa_language,
    )


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_inbound(
        self,
        *,
        channel: str,
        sender: str,
        text: str,
        locale: str | None,
        choose_language: ChooseLanguage,
        payload: dict[str, Any] | None = None,
    ) -> Inbound:
        """Store a customer message in its open conversation (created if needed), atomically.

        The language is decided inside the same transaction, from the conversation's
        current language, so concurrent messages see a consistent conversation.
        """
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    return self._record_inbound(conn, channel, sender, text, locale, choose_language, payload)
            except IntegrityError:
                # Another request opened the conversation at the same moment: retry, reading it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _record_inbound(
        self,
        conn: Connection,
        channel: str,
        sender: str,
        text: str,
        locale: str | None,
        choose_language: ChooseLanguage,
        payload: dict[str, Any] | None = None,
    ) -> Inbound:
        now = utcnow()
        row = conn.execute(
            select(conversations).where(
                conversations.c.channel == channel,
                conversations.c.sender == sender,
                conversations.c.owner != OWNER_CLOSED,
            )
        ).first()
        previous_language = None
        if row is None:
            choice = choose_language(None)
            conv = Conversation(
                id=str(uuid.uuid4()),
                channel=channel,
                sender=sender,
                owner=OWNER_BOT,
                language=choice.language,
                locale=locale,
                created_at=now,
            )
            conn.execute(
                insert(conversations).values(
                    id=conv.id,
                    channel=channel,
                    sender=sender,
                    owner=OWNER_BOT,
                    language=conv.language,
                    locale=locale,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            conv = _conversation(row)
            previous_language = conv.language
            choice = choose_language(conv.language)
            values: dict[str, Any] = {"updated_at": now, "language": choice.language}
            if locale and not conv.locale:
                values["locale"] = locale
            conn.execute(update(conversations).where(conversations.c.id == conv.id).values(**values))
            conv = Conversation(**{**conv.__dict__, "language": choice.language})
        message_id = _insert_customer_message(conn, conv.id, text, choice.language, "received", payload, now)
        return Inbound(conv, message_id, choice, previous_language)

    def record_outbound(
        self,
        conversation_id: str,
        *,
        author: str,
        replies: Iterable[dict[str, Any]],
        language: str,
        answered_message_id: int | None = None,
        answered_status: str = "answered",
        rasa_had_language: str | None = None,
    ) -> str:
        """Store the replies and mark the inbound message they answer, in one transaction.

        Returns who owns the conversation now: a custom action may just have handed it over.
        """
        now = utcnow()
        rows = [
            {
                "conversation_id": conversation_id,
                "direction": "out",
                "author": author,
                "text": reply.get("text") or "",
                "language": language,
                "status": "sent",
                "payload": {k: v for k, v in reply.items() if k != "text"} or None,
                "created_at": now,
            }
            for reply in replies
        ]
        with self.engine.begin() as conn:
            if rows:
                conn.execute(insert(messages), rows)
            if answered_message_id is not None:
                conn.execute(
                    update(messages)
                    .where(messages.c.id == answered_message_id)
                    .values(status=answered_status)
                )
            if answered_status == "answered" and rasa_had_language != language:
                conn.execute(
                    update(conversations)
                    .where(conversations.c.id == conversation_id)
                    .values(rasa_language=language)
                )
            return conn.execute(
                select(conversations.c.owner).where(conversations.c.id == conversation_id)
            ).scalar_one()

    def last_outbound_text(self, conversation_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(messages.c.text)
                .where(messages.c.conversation_id == conversation_id, messages.c.direction == "out")
                .order_by(messages.c.id.desc())
                .limit(1)
            ).scalar()

    def offered_payloads(self, conversation_id: str, before_message_id: int) -> set[str]:
        """Button payloads the bot offered in this conversation before a customer message: the
        only typed "/..." texts that may reach Rasa as payloads (anything else is the text it is)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.payload).where(
                    messages.c.conversation_id == conversation_id,
                    messages.c.direction == "out",
                    messages.c.id < before_message_id,
                )
            ).scalars()
            return {
                str(button.get("payload"))
                for payload in rows
                for button in ((payload or {}).get("buttons") or [])
                if isinstance(button, dict) and button.get("payload")
            }

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
        return _conversation(row) if row else None

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """All messages of a conversation, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages).where(messages.c.conversation_id == conversation_id).order_by(messages.c.id)
            ).all()
        return [dict(row._mapping) for row in rows]

    def messages_after(
        self, conversation_ids: list[str], after_id: int = 0, *, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Messages of these conversations with an id above ``after_id``, oldest first."""
        if not conversation_ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages)
                .where(messages.c.conversation_id.in_(conversation_ids), messages.c.id > after_id)
                .order_by(messages.c.id)
                .limit(limit)
            ).all()
        return [dict(row._mapping) for row in rows]

    def latest_conversation(self, channel: str, sender: str) -> Conversation | None:
        """The customer's open conversation, else the one closed most recently."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations)
                .where(conversations.c.channel == channel, conversations.c.sender == sender)
                .order_by((conversations.c.owner == OWNER_CLOSED).asc(), conversations.c.updated_at.desc())
                .limit(1)
            ).first()
        return _conversation(row) if row else None

    def add_system_message(
        self, conversation_id: str, *, author: str, text: str, language: str, payload: dict[str, Any]
    ) -> int:
        """Store a message that reaches the customer outside a request (agent reply, CSAT...)."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(messages).values(
                        conversation_id=conversation_id,
                        direction="out",
                        author=author,
                        text=text,
                        language=language,
                        status="sent",
                        payload=payload,
                        created_at=utcnow(),
                    )
                ).inserted_primary_key[0]
            )

    def record_csat_answer(
        self, *, channel: str, sender: str, text: str, window: timedelta
    ) -> tuple[Conversation, int, int] | None:
        """Store a 1-5 answer to a pending CSAT question of the customer's last closed chat.

        Returns (conversation, message id, score), or None when the message is not such an
        answer (then nothing is stored here and the message starts or continues a chat).
        """
        score = parse_rating(text)
        if score is None:
            return None
        now = utcnow()
        with self.engine.begin() as conn:
            if conn.execute(
                select(conversations.c.id).where(
                    conversations.c.channel == channel,
                    conversations.c.sender == sender,
                    conversations.c.owner != OWNER_CLOSED,
                )
            ).first():
                return None
            row = conn.execute(
                select(conversations)
                .join(csat, csat.c.conversation_id == conversations.c.id)
                .where(
                    conversations.c.channel == channel,
                    conversations.c.sender == sender,
                    csat.c.score.is_(None),
                    csat.c.asked_at > now - window,
                )
                .order_by(csat.c.asked_at.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            conv = _conversation(row)
            answered = conn.execute(
                update(csat)
                .where(csat.c.conversation_id == conv.id, csat.c.score.is_(None))
                .values(score=score, answered_at=now)
            )
            if answered.rowcount != 1:
                return None
            answer = {"event": "csat_answer", "score": score}
            message_id = _insert_customer_message(conn, conv.id, text, conv.language, "answered", answer, now)
        return conv, message_id, score


def _insert_customer_message(
    conn: Connection,
    conversation_id: str,
    text: str,
    language: str,
    status: str,
    payload: dict[str, Any] | None,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(messages).values(
                conversation_id=conversation_id,
                direction="in",
                author="customer",
                text=text,
                language=language,
                status=status,
                payload=payload,
                created_at=now,
            )
        ).inserted_primary_key[0]
    )


RATING_WORDS = re.compile(
    r"^\s*([1-5])\s*(?:/\s*5|sur\s*5|op\s*5|out of\s*5|⭐|★)?\s*[.!]?\s*$", re.IGNORECASE
)


def parse_rating(text: str) -> int | None:
    """'4', '4/5', '4 sur 5', '⭐⭐⭐⭐' -> 4; anything else -> None."""
    stripped = text.strip()
    stars = stripped.replace("\ufe0f", "")
    if stars and set(stars) <= {"⭐", "★"} and len(stars) <= 5:
        return len(stars)
    match = RATING_WORDS.match(stripped)
    return int(match.group(1)) if match else None
