"""Conversation and transcript persistence used by the router."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import OWNER_BOT, OWNER_CLOSED, conversations, csat, messages, utcnow
from bot.core.identity import CODE_MASK, CODE_PAYLOAD, capture_code, identity_step
from bot.core.language import LanguageChoice

ChooseLanguage = Callable[[str | None], LanguageChoice]
LAST_TURN_ROWS = 8  # rows read back for the last turn's buttons before reading the whole turn

# Statements of every message, built once: each execution then skips building the statement and
# its cache key (SQLAlchemy memoizes it on the statement), a good part of a query's cost.
_OPEN_CONVERSATION = select(conversations).where(
    conversations.c.channel == bindparam("channel"),
    conversations.c.sender == bindparam("sender"),
    conversations.c.owner != OWNER_CLOSED,
)
_CONVERSATION_OWNER = select(conversations.c.owner).where(conversations.c.id == bindparam("conversation"))
_UPDATE_CONVERSATION = update(conversations).where(conversations.c.id == bindparam("conversation"))
_INSERT_MESSAGE = insert(messages)
_UPDATE_MESSAGE = update(messages).where(messages.c.id == bindparam("message"))
_LAST_TURN = (
    select(messages.c.direction, messages.c.payload)
    .where(messages.c.conversation_id == bindparam("conversation"), messages.c.id < bindparam("before"))
    .order_by(messages.c.id.desc())
    .limit(LAST_TURN_ROWS)
)
_INBOUND_BY_KEY = (
    select(
        messages.c.id.label("message_id"),
        messages.c.text.label("message_text"),
        messages.c.status.label("message_status"),
        conversations,
    )
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(messages.c.source_key == bindparam("source_key"), messages.c.direction == "in")
)


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
    # What Rasa gets instead of the text: ``/inform_code`` for a verification code, which is
    # checked and masked here (bot/core/identity.py) and never leaves the store.
    rasa_text: str | None = None
    # The status of the message when an earlier try of the same update had stored it (found by
    # its source key: nothing was stored now); None when it was stored now.
    earlier_status: str | None = None

    @property
    def answered_before(self) -> bool:
        """An earlier try stored this message and the answer to it (a replay has nothing to ask)."""
        return self.earlier_status not in (None, "received")

    @property
    def needs_language_sync(self) -> bool:
        """True when Rasa's ``language`` slot may differ from the conversation's language.

        A new conversation needs no sync: its first message carries the language in the
        metadata that ``action_session_start`` reads.
        """
        conv = self.conversation
        return self.previous_language is not None and conv.rasa_language != conv.language


@dataclass(frozen=True)
class _Incoming:
    """A customer message as :meth:`ConversationStore.record_inbound` was given it (each try of
    its transaction stores it from this)."""

    channel: str
    sender: str
    text: str
    locale: str | None
    choose_language: ChooseLanguage
    payload: dict[str, Any] | None
    source_key: str | None


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
        source_key: str | None = None,
        key_unseen: bool = False,
    ) -> Inbound:
        """Store a customer message in its open conversation (created if needed), atomically.

        The language is decided inside the same transaction, from the conversation's
        current language, so concurrent messages see a consistent conversation.

        With a ``source_key`` the store is idempotent: a message already stored under that key
        (an earlier try of the same update, another replica at the same moment) is found and
        returned (``earlier_status`` set) and nothing is stored. The key's unique index decides
        a race: the loser's transaction fails as a whole and is tried again, finding the winner's.
        ``key_unseen`` says the caller has just looked the key up (:meth:`find_inbound`) and found
        nothing: the first try does not look again (a message stored meanwhile under the key makes
        its insert fail on that index, and the next try finds it).
        """
        message = _Incoming(channel, sender, text, locale, choose_language, payload, source_key)
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    look = source_key and not (key_unseen and attempt == 0)
                    found = _find_inbound(conn, source_key) if look else None
                    if found is not None:
                        return found
                    return self._record_inbound(conn, message)
            except IntegrityError:
                # Another request opened the conversation (or stored this message) at the same
                # moment: retry, reading it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def find_inbound(self, source_key: str) -> Inbound | None:
        """The customer message stored under ``source_key`` by an earlier try, if any."""
        with self.engine.connect() as conn:
            return _find_inbound(conn, source_key)

    def replies_to(self, message_id: int) -> list[dict[str, Any]]:
        """The bot's and the gateway's replies stored after a customer message, up to the next
        one: what an earlier try of its update answered, to be delivered by its replay."""
        with self.engine.connect() as conn:
            asked = select(messages.c.conversation_id).where(messages.c.id == message_id)
            rows = conn.execute(
                select(messages.c.direction, messages.c.author, messages.c.text, messages.c.payload)
                .where(messages.c.conversation_id == asked.scalar_subquery(), messages.c.id > message_id)
                .order_by(messages.c.id)
            ).all()
        replies: list[dict[str, Any]] = []
        for row in rows:
            if row.direction == "in":
                break
            if row.author in ("bot", "system"):
                replies.append({"text": row.text, **(row.payload or {})})
        return replies

    def _record_inbound(self, conn: Connection, message: _Incoming) -> Inbound:
        now = utcnow()
        row = conn.execute(_OPEN_CONVERSATION, {"channel": message.channel, "sender": message.sender}).first()
        previous_language = None
        if row is None:
            choice = message.choose_language(None)
            conv = Conversation(
                id=str(uuid.uuid4()),
                channel=message.channel,
                sender=message.sender,
                owner=OWNER_BOT,
                language=choice.language,
                locale=message.locale,
                created_at=now,
            )
            conn.execute(
                insert(conversations).values(
                    id=conv.id,
                    channel=conv.channel,
                    sender=conv.sender,
                    owner=conv.owner,
                    language=conv.language,
                    locale=conv.locale,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            conv = _conversation(row)
            previous_language = conv.language
            choice = message.choose_language(conv.language)
            values: dict[str, Any] = {"updated_at": now, "language": choice.language}
            if message.locale and not conv.locale:
                values["locale"] = message.locale
            conn.execute(_UPDATE_CONVERSATION, {"conversation": conv.id, **values})
            conv = replace(conv, language=choice.language)
        captured = None
        if previous_language is not None:  # only a conversation already under way waits for a code
            captured = capture_code(conn, conv.id, message.channel, message.sender, message.text, now)
        stored = captured.text if captured else message.text
        language = choice.language
        message_id = _insert_customer_message(
            conn, conv.id, stored, language, "received", message.payload, now, message.source_key
        )
        return Inbound(conv, message_id, choice, previous_language, CODE_PAYLOAD if captured else None)

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
                conn.execute(_UPDATE_MESSAGE, {"message": answered_message_id, "status": answered_status})
            if answered_status == "answered" and rasa_had_language != language:
                slot = {"conversation": conversation_id, "rasa_language": language}
                conn.execute(_UPDATE_CONVERSATION, slot)
            return conn.execute(_CONVERSATION_OWNER, {"conversation": conversation_id}).scalar_one()

    def last_outbound_text(self, conversation_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(messages.c.text)
                .where(messages.c.conversation_id == conversation_id, messages.c.direction == "out")
                .order_by(messages.c.id.desc())
                .limit(1)
            ).scalar()

    def previous_question(self, conversation_id: str, before_message_id: int, since: datetime) -> str | None:
        """The customer's message just before this one when the bot answered it after ``since``:
        the context of a short follow-up (bot/core/follow_up.py). A number or code given for the
        identity check in between is passed over (``identity_step``): the question before it is
        the one the bot has just answered. None when a person or a notice came in between, for a
        button's payload, or when it was not answered by the bot."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.direction, messages.c.author, messages.c.text, messages.c.status)
                .where(
                    messages.c.conversation_id == conversation_id,
                    messages.c.id < before_message_id,
                    messages.c.created_at >= since,
                )
                .order_by(messages.c.id.desc())
                .limit(20)
            ).all()
        for row in rows:
            if row.direction == "out":
                if row.author != "bot":
                    return None
                continue
            answered = row.author == "customer" and row.status == "answered"
            if answered and identity_step(row.text):
                continue
            return row.text if answered and not row.text.lstrip().startswith("/") else None
        return None

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

    def last_turn_buttons(self, conversation_id: str, before_message_id: int) -> list[dict[str, Any]]:
        """The buttons of what was said to the customer since their previous message (the
        answer a customer message replies to)."""
        payloads = self._last_turn_payloads(conversation_id, before_message_id)
        if payloads is None:  # a long turn: all of it
            payloads = self._turn_payloads(conversation_id, before_message_id)
        return [b for p in payloads for b in ((p or {}).get("buttons") or []) if isinstance(b, dict)]

    def _last_turn_payloads(self, conversation_id: str, before_message_id: int) -> list[Any] | None:
        """The payloads of the last turn, read back from the customer's message to their previous
        one (a few rows, however long the conversation); None when the turn is longer than
        :data:`LAST_TURN_ROWS` rows."""
        with self.engine.connect() as conn:
            params = {"conversation": conversation_id, "before": before_message_id}
            rows = conn.execute(_LAST_TURN, params).all()
        turn = list(itertools.takewhile(lambda row: row.direction == "out", rows))
        if len(turn) == LAST_TURN_ROWS:
            return None
        return [row.payload for row in reversed(turn)]

    def _turn_payloads(self, conversation_id: str, before_message_id: int) -> list[Any]:
        """The payloads of what was said since the customer's message before this one, oldest first."""
        earlier = messages.c.conversation_id == conversation_id, messages.c.id < before_message_id
        last_in = select(func.coalesce(func.max(messages.c.id), 0)).where(
            *earlier, messages.c.direction == "in"
        )
        query = (
            select(messages.c.payload)
            .where(*earlier, messages.c.direction == "out", messages.c.id > last_in.scalar_subquery())
            .order_by(messages.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def recent_bot_texts(self, conversation_id: str, before_message_id: int, limit: int = 6) -> list[str]:
        """The texts of the last ``limit`` messages said to the customer before a message of theirs."""
        query = (
            select(messages.c.text)
            .where(
                messages.c.conversation_id == conversation_id,
                messages.c.id < before_message_id,
                messages.c.direction == "out",
            )
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [t for t in conn.execute(query).scalars() if t]

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

    def conversations_since(self, channel: str, sender: str, since: datetime) -> list[Conversation]:
        """The customer's conversations created or still active since ``since``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(conversations)
                .where(
                    conversations.c.channel == channel,
                    conversations.c.sender == sender,
                    conversations.c.updated_at >= since,
                )
                .order_by(conversations.c.created_at, conversations.c.id)
            ).all()
        return [_conversation(row) for row in rows]

    def newest_messages(self, conversation_ids: list[str], limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` messages of these conversations, oldest first."""
        if not conversation_ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages)
                .where(messages.c.conversation_id.in_(conversation_ids))
                .order_by(messages.c.id.desc())
                .limit(limit)
            ).all()
        return [dict(row._mapping) for row in reversed(rows)]

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
        self, *, channel: str, sender: str, text: str, window: timedelta, source_key: str | None = None
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
            row = _pending_csat(conn, channel, sender, now - window)
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
            message_id = _insert_customer_message(
                conn, conv.id, text, conv.language, "answered", answer, now, source_key
            )
        return conv, message_id, score

    def pending_csat(self, *, channel: str, sender: str, window: timedelta) -> Conversation | None:
        """The customer's closed chat whose satisfaction question (asked within ``window``) is
        still unanswered, when no other chat of theirs is open."""
        with self.engine.connect() as conn:
            row = _pending_csat(conn, channel, sender, utcnow() - window)
        return _conversation(row) if row else None


def _pending_csat(conn: Connection, channel: str, sender: str, since: datetime) -> Any:
    """The row of the customer's latest chat with an unanswered CSAT question asked since
    ``since``; None when there is none or another chat of theirs is open."""
    mine = (conversations.c.channel == channel, conversations.c.sender == sender)
    if conn.execute(select(conversations.c.id).where(*mine, conversations.c.owner != OWNER_CLOSED)).first():
        return None
    return conn.execute(
        select(conversations)
        .join(csat, csat.c.conversation_id == conversations.c.id)
        .where(*mine, csat.c.score.is_(None), csat.c.asked_at > since)
        .order_by(csat.c.asked_at.desc())
        .limit(1)
    ).first()


def _insert_customer_message(
    conn: Connection,
    conversation_id: str,
    text: str,
    language: str,
    status: str,
    payload: dict[str, Any] | None,
    now: datetime,
    source_key: str | None = None,
) -> int:
    values = {
        "conversation_id": conversation_id,
        "direction": "in",
        "author": "customer",
        "text": text,
        "language": language,
        "status": status,
        "payload": payload,
        "created_at": now,
        "source_key": source_key,
    }
    return int(conn.execute(_INSERT_MESSAGE, values).inserted_primary_key[0])


def _find_inbound(conn: Connection, source_key: str) -> Inbound | None:
    """The customer message stored under ``source_key``, as :meth:`ConversationStore.record_inbound`
    returned it then (its conversation as it is now; a masked code goes to Rasa as the code)."""
    row = conn.execute(_INBOUND_BY_KEY, {"source_key": source_key}).first()
    if row is None:
        return None
    conv = _conversation(row)
    choice = LanguageChoice(conv.language, "conversation")
    rasa_text = CODE_PAYLOAD if CODE_MASK in row.message_text else None
    return Inbound(conv, row.message_id, choice, conv.language, rasa_text, earlier_status=row.message_status)


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
