"""The conversation router: every channel hands customer messages to it.

Order of work for one message, on purpose:
1. store the message (and open or find its conversation) before anything else;
2. look at who owns the conversation; only the bot's conversations go to Rasa;
3. store the replies and return them to the channel that asked.
If Rasa is unreachable the customer gets an apology in their language and the
message stays stored (status ``failed``) so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from bot.core.db import OWNER_BOT, OWNER_CLOSED, OWNER_QUEUED, conversations
from bot.core.language import Detector, LanguageChoice, choose_language
from bot.core.settings import Settings
from bot.core.store import ConversationStore, Inbound
from bot.core.texts import text as gateway_text
from bot.core.unicode import well_formed
from bot.rasa.client import ActionServerClient, RasaClient, RasaUnavailable

log = logging.getLogger(__name__)
MAX_SENDER_CHARS = conversations.c.sender.type.length
MAX_LOCALE_CHARS = conversations.c.locale.type.length
PLAIN_TEXT_MARK = "\u200b"  # zero-width space: see _as_text


class InvalidMessage(ValueError):
    """The channel handed over something that is not a customer message."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


def valid_sender(sender: str | None) -> str:
    """A customer's sender id as stored and looked up (stripped, lone surrogates as U+FFFD), or
    :class:`InvalidMessage`: empty, longer than its column, or with a NUL character."""
    sender = well_formed(sender or "").strip()
    if not sender:
        raise InvalidMessage("sender must not be empty")
    if len(sender) > MAX_SENDER_CHARS:
        raise InvalidMessage(f"sender must be at most {MAX_SENDER_CHARS} characters")
    _no_nul("sender", sender)
    return sender


def _no_nul(field: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidMessage(f"{field} must not contain NUL characters")


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    sender: str
    text: str
    locale: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # A payload the channel itself made (Telegram's /start, a shared location), never typed text.
    channel_payload: bool = False


@dataclass(frozen=True)
class RouterResult:
    conversation_id: str
    language: str
    owner: str
    replies: list[dict[str, Any]]
    language_source: str = "conversation"
    timings_ms: dict[str, float] = field(default_factory=dict)  # store, rasa: for Server-Timing


class Router:
    def __init__(
        self,
        settings: Settings,
        store: ConversationStore,
        rasa: RasaClient,
        detector: Detector,
        actions: ActionServerClient | None = None,
        notify: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.rasa = rasa
        self.detector = detector
        self.actions = actions or ActionServerClient(settings.action_server_url)
        self.notify = notify or (lambda: None)

    def validate(self, message: IncomingMessage) -> IncomingMessage:
        """Normalise and check a message; raises :class:`InvalidMessage` with a clear reason.

        Checked before anything is stored: what passes fits the database (no NUL, which
        PostgreSQL's text cannot hold; a locale within its column), and lone surrogates, which
        no database can encode, are stored as U+FFFD (bot/core/unicode.py)."""
        sender = valid_sender(message.sender)
        body = well_formed(message.text or "").strip()
        if not body:
            raise InvalidMessage("text must not be empty")
        if len(body) > self.settings.max_message_chars:
            raise InvalidMessage(
                f"text must be at most {self.settings.max_message_chars} characters",
                too_large=True,
            )
        _no_nul("text", body)
        locale = message.locale
        if locale is not None:
            locale = well_formed(locale)
            _no_nul("locale", locale)
            if len(locale) > MAX_LOCALE_CHARS:
                raise InvalidMessage(f"locale must be at most {MAX_LOCALE_CHARS} characters")
        metadata = message.metadata
        title = metadata.get("button_title")
        if isinstance(title, str):
            metadata = {**metadata, "button_title": well_formed(title)}
            _no_nul("button_title", title)
        return IncomingMessage(message.channel, sender, body, locale, metadata, message.channel_payload)

    def _chooser(self, text: str, locale: str | None):
        def choose(current: str | None) -> LanguageChoice:
            return choose_language(
                text,
                current=current,
                locale=locale,
                default=self.settings.default_language,
                detector=self.detector,
                threshold=self.settings.language_confidence,
            )

        return choose

    def handle(self, message: IncomingMessage) -> RouterResult:
        """Validate, store, route and answer one customer message (live views are notified)."""
        try:
            return self._handle(self.validate(message))
        finally:
            self.notify()

    def _handle(self, message: IncomingMessage) -> RouterResult:
        started = time.perf_counter()
        rated = self._csat_answer(message)
        if rated is not None:
            return rated
        inbound = self.store.record_inbound(
            channel=message.channel,
            sender=message.sender,
            text=message.text,
            locale=message.locale,
            choose_language=self._chooser(message.text, message.locale),
            payload=_inbound_payload(message),
        )
        conv = inbound.conversation
        if conv.owner != OWNER_BOT:
            # Someone else owns it (queue or agent): the message is stored, Rasa stays out.
            replies = self._acknowledge_while_queued(inbound)
            return RouterResult(conv.id, conv.language, conv.owner, replies, inbound.choice.source)
        stored = time.perf_counter()
        replies, status = self._ask_rasa(conv.id, message, conv.language, inbound)
        answered = time.perf_counter()
        author = "bot" if status == "answered" else "system"
        owner = self.store.record_outbound(
            conv.id,
            author=author,
            replies=replies,
            language=conv.language,
            answered_message_id=inbound.message_id,
            answered_status=status,
            rasa_had_language=conv.rasa_language,
        )
        timings = {
            "store": 1000 * (stored - started + time.perf_counter() - answered),
            "rasa": 1000 * (answered - stored),
        }
        return RouterResult(conv.id, conv.language, owner, replies, inbound.choice.source, timings)

    def _csat_answer(self, message: IncomingMessage) -> RouterResult | None:
        """A 1-5 answer to the satisfaction question of a just-closed chat is stored there."""
        answered = self.store.record_csat_answer(
            channel=message.channel,
            sender=message.sender,
            text=message.text,
            window=timedelta(hours=self.settings.csat_window_h),
        )
        if answered is None:
            return None
        conv, _message_id, _score = answered
        replies = [{"text": gateway_text("csat_thanks", conv.language)}]
        self.store.record_outbound(conv.id, author="system", replies=replies, language=conv.language)
        return RouterResult(conv.id, conv.language, OWNER_CLOSED, replies)

    def _acknowledge_while_queued(self, inbound: Inbound) -> list[dict[str, Any]]:
        """While waiting for a person, confirm a message was passed on (once in a row).

        With an agent in the conversation nobody else answers: the agent does.
        """
        conv = inbound.conversation
        if conv.owner != OWNER_QUEUED:
            return []
        ack = gateway_text("handoff_message_passed", conv.language)
        if self.store.last_outbound_text(conv.id) == ack:
            return []
        replies = [{"text": ack}]
        self.store.record_outbound(conv.id, author="system", replies=replies, language=conv.language)
        return replies

    def _as_rasa_text(self, conversation_id: str, text: str, message_id: int) -> str:
        """Only the payload of a button the bot offered in this conversation passes as a payload."""
        stripped = text.strip()
        if not stripped.startswith("/"):
            return text
        if stripped in self.store.offered_payloads(conversation_id, message_id):
            return stripped
        log.info("conversation %s: a typed payload is passed to Rasa as text", conversation_id)
        return _as_text(text)

    def _ask_rasa(
        self, conversation_id: str, message: IncomingMessage, language: str, inbound: Inbound
    ) -> tuple[list[dict[str, Any]], str]:
        metadata = {**message.metadata, "language": language, "channel": message.channel}
        try:
            if inbound.needs_language_sync:
                # Responses are chosen by the `language` slot: switch it before Rasa answers.
                # Without a confirmed earlier answer Rasa may have no tracker yet: check first.
                unconfirmed = inbound.conversation.rasa_language is None
                self.rasa.set_slot(conversation_id, "language", language, only_if_tracked=unconfirmed)
            text = message.text
            if not message.channel_payload:
                text = self._as_rasa_text(conversation_id, text, inbound.message_id)
            bot_messages = self.rasa.send_message(conversation_id, text, metadata)
        except RasaUnavailable as exc:
            log.error("Rasa unavailable for conversation %s: %s", conversation_id, exc)
            return [{"text": gateway_text("rasa_unavailable", language)}], "failed"
        replies = [m.as_dict() for m in bot_messages if m.text or m.image or m.buttons]
        if replies:
            return replies, "answered"
        # Never leave the customer without an answer. Rasa answers nothing when the action
        # server is down (every custom action fails): that is a technical problem, not a
        # misunderstanding.
        if not self.actions.healthy():
            log.error("action server down; conversation %s got no answer", conversation_id)
            return [{"text": gateway_text("rasa_unavailable", language)}], "failed"
        return [{"text": gateway_text("no_reply", language)}], "answered"


def _as_text(text: str) -> str:
    """Rasa reads any text starting with "/" as an intent payload ("/sensitive_fraud",
    '/billing_refund{"slot": "x"}'). A zero-width space in front makes it the text it is."""
    return f"{PLAIN_TEXT_MARK}{text}"


def _inbound_payload(message: IncomingMessage) -> dict[str, Any] | None:
    """What the transcript keeps beside the text: the title of a pressed button ("Nee" for
    "/deny"), so an agent reads what the customer saw."""
    title = message.metadata.get("button_title")
    return {"button_title": str(title)[:200]} if title else None
