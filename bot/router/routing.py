"""The conversation router: every channel hands customer messages to it.

Order of work for one message, on purpose:
1. store the message (and open or find its conversation) before anything else; a message with a
   key at its source is stored once however often its update is tried (a platform's retry, a
   replay of the spool after the database came back): a later try finds the stored message and
   goes on from there, without asking Rasa again when its answer was stored too;
2. look at who owns the conversation; only the bot's conversations go to Rasa;
3. store the replies and return them to the channel that asked.
If Rasa is unreachable the customer gets an apology in their language and the
message stays stored (status ``failed``) so nothing is lost.

While a chat waits for a person the customer may leave the queue or ask to be contacted later
(handoff/waiting.py's payloads, answered here, never by Rasa); a customer who has just joined the
queue is told the expected wait. The opening message (bot/core/welcome.py) is built here too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable

from bot.core.db import OWNER_BOT, OWNER_CLOSED, OWNER_QUEUED, utcnow
from bot.core.follow_up import (
    FOLLOW_UP_KEY,
    WINDOW,
    follow_up_context,
    looks_like_follow_up,
    only_acknowledges,
)
from bot.core.language import ASKED, Detector, LanguageChoice, choose_language
from bot.core.repeats import applies_to as repeats_may_apply
from bot.core.repeats import without_repeats
from bot.core.settings import Settings
from bot.core.store import ConversationStore, Inbound
from bot.core.texts import text as gateway_text
from bot.core.two_questions import answer_reading, answers_both, question_parts
from bot.core.unicode import plain_words, without_markup
from bot.core.wait_question import asks_how_long
from bot.core.welcome import WELCOME_PAYLOADS, welcome_language, welcome_replies
from bot.core.withdrawal import accepts
from bot.rasa.client import ActionServerClient, BotMessage, RasaClient, RasaUnavailable
from bot.router.message import IncomingMessage, RouterResult, valid_sender, validated
from handoff.waiting import QUEUE_LEAVE, QUEUE_PAYLOADS, WaitingRoom

log = logging.getLogger(__name__)
PLAIN_TEXT_MARK = "\u200b"  # zero-width space: see _as_text
MAX_TITLE_CHARS = 80  # a longer message is no typed button title
# A turn whose only button is one of these offers is accepted by a typed yes (Router._pressed).
OFFERS_A_YES_ACCEPTS = frozenset({"/verify_identity"})
FEEDBACK_PAYLOADS = frozenset({"/affirm", "/deny"})  # "did this help?" (domain.yml utter_did_this_help)
OPENING_COMMANDS = frozenset({"/start", "/help"})  # chat-app commands a customer may type anywhere


class Router:
    def __init__(
        self,
        settings: Settings,
        store: ConversationStore,
        rasa: RasaClient,
        detector: Detector,
        actions: ActionServerClient | None = None,
        notify: Callable[[], None] | None = None,
        waiting: WaitingRoom | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.rasa = rasa
        self.detector = detector
        self.actions = actions or ActionServerClient(settings.action_server_url)
        self.notify = notify or (lambda: None)
        self.waiting = waiting or WaitingRoom(settings, store.engine, store=store)

    def validate(self, message: IncomingMessage) -> IncomingMessage:
        """Normalise and check a message before anything is stored (bot/router/message.py)."""
        return validated(message, self.settings.max_message_chars)

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
        inbound = self._earlier_try(message)
        if inbound is None:
            rated = self._csat_answer(message) or self._stale_choice(message)
            if rated is not None:
                return rated
            inbound = self._record(message)
        if inbound.answered_before:
            return self._answered_before(inbound)
        conv = inbound.conversation
        if conv.owner != OWNER_BOT or message.text in QUEUE_PAYLOADS:
            return self._not_for_rasa(inbound, message)
        if inbound.choice.source == ASKED:
            return self._language_switched(inbound)
        if message.text.strip().lower() in OPENING_COMMANDS and not message.channel_payload:
            # typed in the web chat or Slack: the opening message, as Telegram's /start gets
            return self._answer_without_rasa(inbound, welcome_replies(conv.language, self.settings.bot_name))
        stored = time.perf_counter()
        replies, status = self._ask_rasa(conv.id, message, conv.language, inbound)
        answered = time.perf_counter()
        author = "bot" if status == "answered" else "system"
        if status == "answered" and repeats_may_apply(message.text):  # bot/core/repeats.py
            earlier = self.store.recent_bot_texts(conv.id, inbound.message_id)
            replies = without_repeats(replies, earlier, message.text, conv.language)
        owner = self.store.record_outbound(
            conv.id,
            author=author,
            replies=replies,
            language=conv.language,
            answered_message_id=inbound.message_id,
            answered_status=status,
            rasa_had_language=conv.rasa_language,
        )
        if owner == OWNER_QUEUED:  # Rasa has just handed the chat over: say how long it takes
            replies = [*replies, *self.waiting.joined(replace(conv, owner=owner))]
        timings = {
            "store": 1000 * (stored - started + time.perf_counter() - answered),
            "rasa": 1000 * (answered - stored),
        }
        return RouterResult(conv.id, conv.language, owner, replies, inbound.choice.source, timings)

    def _record(self, message: IncomingMessage) -> Inbound:
        """Store the message, or find it when an earlier try of its update stored it (its key).
        Called after :meth:`_earlier_try` found nothing: the store need not look again first."""
        return self.store.record_inbound(
            channel=message.channel,
            sender=message.sender,
            text=message.text,
            locale=message.locale,
            choose_language=self._chooser(message.text, message.locale),
            payload=_inbound_payload(message),
            source_key=message.source_key,
            key_unseen=True,
        )

    def _earlier_try(self, message: IncomingMessage) -> Inbound | None:
        """The message as an earlier try of the same update stored it (the database went away
        while it was handled, a platform's retry): its handling goes on from there."""
        if not message.source_key or message.new_key:
            return None
        return self.store.find_inbound(message.source_key)

    def _answered_before(self, inbound: Inbound) -> RouterResult:
        """An earlier try stored the message and its answer, but was cut short before the channel
        got it: the stored replies are handed to the channel again, Rasa is not asked twice."""
        conv = inbound.conversation
        log.info("conversation %s: message %s was answered before", conv.id, inbound.message_id)
        replies = self.store.replies_to(inbound.message_id)
        return RouterResult(conv.id, conv.language, conv.owner, replies, inbound.choice.source)

    def _csat_answer(self, message: IncomingMessage) -> RouterResult | None:
        """A 1-5 answer to the satisfaction question of a just-closed chat is stored there."""
        answered = self.store.record_csat_answer(
            channel=message.channel,
            sender=message.sender,
            text=message.text,
            window=timedelta(hours=self.settings.csat_window_h),
            source_key=message.source_key,
        )
        if answered is None:
            return None
        conv, _message_id, _score = answered
        replies = [{"text": gateway_text("csat_thanks", conv.language)}]
        self.store.record_outbound(conv.id, author="system", replies=replies, language=conv.language)
        return RouterResult(conv.id, conv.language, OWNER_CLOSED, replies)

    def _stale_choice(self, message: IncomingMessage) -> RouterResult | None:
        """A button of an earlier message (an old quick reply, an old Telegram keyboard) pressed
        while the customer's closed chat still waits for its score: it starts no new chat (which
        would lose the score); the rating is asked again. A typed message starts one as usual."""
        if not message.metadata.get("button_title"):
            return None
        window = timedelta(hours=self.settings.csat_window_h)
        conv = self.store.pending_csat(channel=message.channel, sender=message.sender, window=window)
        if conv is None:
            return None
        buttons = [{"title": str(n), "payload": str(n)} for n in range(1, 6)]
        replies = [{"text": gateway_text("csat_stale_choice", conv.language), "buttons": buttons}]
        self.store.record_outbound(conv.id, author="system", replies=replies, language=conv.language)
        return RouterResult(conv.id, conv.language, OWNER_CLOSED, replies)

    def welcome(self, channel: str, sender: str, locale: str | None) -> RouterResult:
        """The opening message for a customer who opens the chat, stored nowhere: in the language of
        their open conversation, else of ``locale``, else the default. Its buttons work anywhere."""
        conv = self.store.latest_conversation(channel, valid_sender(sender))
        if conv is not None and conv.owner != OWNER_CLOSED:
            language = conv.language
        else:
            language = welcome_language(locale, self.settings.default_language)
        replies = welcome_replies(language, self.settings.bot_name)
        return RouterResult(conv.id if conv else "", language, conv.owner if conv else OWNER_BOT, replies)

    def start(self, message: IncomingMessage) -> RouterResult:
        """A customer opened the chat with a message of its own (Telegram's /start): it is stored
        and answered with the opening message, not by Rasa (a waiting chat answers as usual)."""
        try:
            message = self.validate(message)
            inbound = self._earlier_try(message) or self._record(message)
            if inbound.answered_before:
                return self._answered_before(inbound)
            conv = inbound.conversation
            if conv.owner != OWNER_BOT:
                return self._not_for_rasa(inbound, message)
            return self._answer_without_rasa(inbound, welcome_replies(conv.language, self.settings.bot_name))
        finally:
            self.notify()

    def _language_switched(self, inbound: Inbound) -> RouterResult:
        """A message that only asks to go on in another language (bot/core/language_request.py)
        is answered here, in that language: Rasa would read "can we speak English please" as a
        request for a person. Rasa's language slot follows with the next message."""
        language = inbound.conversation.language
        return self._answer_without_rasa(inbound, [{"text": gateway_text("language_switched", language)}])

    def _answer_without_rasa(self, inbound: Inbound, replies: list[dict[str, Any]]) -> RouterResult:
        """The bot's answer given by the router itself, stored as answering the message."""
        conv = inbound.conversation
        self.store.record_outbound(
            conv.id,
            author="bot",
            replies=replies,
            language=conv.language,
            answered_message_id=inbound.message_id,
            rasa_had_language=conv.language,  # Rasa did not answer: its slot is as it was
        )
        return RouterResult(conv.id, conv.language, OWNER_BOT, replies, inbound.choice.source)

    def _not_for_rasa(self, inbound: Inbound, message: IncomingMessage) -> RouterResult:
        """A person owns the chat (queue or agent): the message is stored, Rasa stays out. The
        queue's own buttons (leave, be contacted later) are answered here, whoever owns it."""
        conv = inbound.conversation
        pressed = (
            message.text
            if message.text in QUEUE_PAYLOADS
            else self._pressed(conv.id, message.text, inbound.message_id)
        )
        if pressed in QUEUE_PAYLOADS:
            replies, owner = self.waiting.command(conv, pressed)
        elif self.waiting.confirms_leaving(conv, message.text):
            replies, owner = self.waiting.command(conv, QUEUE_LEAVE)
        else:
            replies, owner = self._acknowledge_while_queued(inbound, message.text), conv.owner
        return RouterResult(conv.id, conv.language, owner, replies, inbound.choice.source)

    def _acknowledge_while_queued(self, inbound: Inbound, text: str) -> list[dict[str, Any]]:
        """While waiting for a person, confirm a message was passed on (once in a row); after a
        callback was asked, that it is noted; asked how long it takes, the wait (each time).

        With an agent in the conversation nobody else answers: the agent does.
        """
        conv = inbound.conversation
        if conv.owner != OWNER_QUEUED:
            return []
        ack = self.waiting.acknowledgement(conv, text)
        if self.store.last_outbound_text(conv.id) == ack["text"] and not asks_how_long(text):
            return []
        replies = [ack]
        self.store.record_outbound(conv.id, author="system", replies=replies, language=conv.language)
        return replies

    def _as_rasa_text(self, conversation_id: str, text: str, message_id: int) -> str:
        """Only the payload of a button the bot offered in this conversation, or of the opening
        message (offered everywhere), passes as a payload."""
        stripped = text.strip()
        if not stripped.startswith("/"):
            return self._pressed(conversation_id, text, message_id) or text
        if stripped in WELCOME_PAYLOADS:
            return stripped
        if stripped in self.store.offered_payloads(conversation_id, message_id):
            return stripped
        log.info("conversation %s: a typed payload is passed to Rasa as text", conversation_id)
        return _as_text(text)

    def _pressed(self, conversation_id: str, text: str, message_id: int) -> str | None:
        """The payload of a button of the bot's last turn whose title the customer typed ("Nee",
        "Mijn account bekijken", "leave the queue"): typed, it means what pressing it means.
        A bare yes ("ja", "oui svp") when that turn's only button was an offer a yes accepts
        ("I can also look up your own details: tap 'Check my account'") presses it: before, "ja"
        got "Okay. What can I help you with?"."""
        typed = _title_key(text)
        if not typed:
            return None
        buttons = [b for b in self.store.last_turn_buttons(conversation_id, message_id) if b.get("payload")]
        for button in buttons:
            if _title_key(str(button.get("title") or "")) == typed:
                return str(button["payload"])
        if len(buttons) == 1 and buttons[0]["payload"] in OFFERS_A_YES_ACCEPTS and accepts(text):
            return str(buttons[0]["payload"])
        return None

    def _follow_up(self, conversation_id: str, text: str, message_id: int) -> dict[str, Any] | None:
        """How Rasa reads a short message together with the question the bot has just answered
        (bot/core/follow_up.py); the pipeline decides whether to use it. None when the message is
        no follow-up, nothing recent came before, or Rasa cannot say (the message still goes)."""
        if not looks_like_follow_up(text):
            return None
        previous = self.store.previous_question(conversation_id, message_id, utcnow() - WINDOW)
        if not previous or only_acknowledges(previous):  # "hallo" is no question to lean on
            return None
        try:
            return follow_up_context(self.rasa.parse(f"{previous} {text}"))
        except RasaUnavailable as exc:
            log.warning("conversation %s: no follow-up context: %s", conversation_id, exc)
            return None

    def _two_questions(self, text: str) -> tuple[str, str] | None:
        """The message's two questions when each alone is an answer about something else, one
        of them clear (bot/core/two_questions.py); two extra NLU passes, only for a message with
        a boundary."""
        parts = question_parts(text)
        if parts is None:
            return None
        try:
            first, second = (answer_reading(self.rasa.parse(part)) for part in parts)
        except RasaUnavailable:
            return None
        return parts if answers_both(text, parts, first, second) else None

    def _answer_both(
        self, conversation_id: str, parts: tuple[str, str], metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Rasa answers the two questions one after the other. The first answer's "did this
        help?" goes (the second asks it); the second question waits when the first answer handed
        the chat over or asks something back (a form), as the customer would be asked anyway."""
        first = _shown(self.rasa.send_message(conversation_id, parts[0], metadata))
        try:
            conv = self.store.get_conversation(conversation_id)
            if (conv is not None and conv.owner != OWNER_BOT) or self.rasa.active_loop(conversation_id):
                return first
            second = _shown(self.rasa.send_message(conversation_id, parts[1], metadata))
        except RasaUnavailable as exc:  # the first answer is there: it goes
            log.error("Rasa unavailable for the second question of %s: %s", conversation_id, exc)
            return first
        if not second:
            return first
        said_again = {r.get("text") for r in second}
        kept = [r for r in first if not _asks_feedback(r) and r.get("text") not in said_again]
        return [*kept, *second]

    def _ask_rasa(
        self, conversation_id: str, message: IncomingMessage, language: str, inbound: Inbound
    ) -> tuple[list[dict[str, Any]], str]:
        metadata = {**message.metadata, "language": language, "channel": message.channel}
        metadata.pop(FOLLOW_UP_KEY, None)  # only the router says what came before
        try:
            if inbound.needs_language_sync:
                # Responses are chosen by the `language` slot: switch it before Rasa answers.
                # Without a confirmed earlier answer Rasa may have no tracker yet: check first.
                unconfirmed = inbound.conversation.rasa_language is None
                self.rasa.set_slot(conversation_id, "language", language, only_if_tracked=unconfirmed)
            text = message.text
            if inbound.rasa_text:  # a verification code: checked and masked by the store
                text = inbound.rasa_text
            elif not message.channel_payload:
                text = self._as_rasa_text(conversation_id, without_markup(text), inbound.message_id)
                parts = self._two_questions(text)
                if parts:
                    replies = self._answer_both(conversation_id, parts, metadata)
                    return self._never_empty(conversation_id, replies, language)
                context = self._follow_up(conversation_id, text, inbound.message_id)
                if context:
                    metadata[FOLLOW_UP_KEY] = context
            replies = _shown(self.rasa.send_message(conversation_id, text, metadata))
        except RasaUnavailable as exc:
            log.error("Rasa unavailable for conversation %s: %s", conversation_id, exc)
            return [{"text": gateway_text("rasa_unavailable", language)}], "failed"
        return self._never_empty(conversation_id, replies, language)

    def _never_empty(
        self, conversation_id: str, replies: list[dict[str, Any]], language: str
    ) -> tuple[list[dict[str, Any]], str]:
        if replies:
            return replies, "answered"
        # Never leave the customer without an answer. Rasa answers nothing when the action
        # server is down (every custom action fails): that is a technical problem, not a
        # misunderstanding.
        if not self.actions.healthy():
            log.error("action server down; conversation %s got no answer", conversation_id)
            return [{"text": gateway_text("rasa_unavailable", language)}], "failed"
        return [{"text": gateway_text("no_reply", language)}], "answered"


def _shown(bot_messages: list[BotMessage]) -> list[dict[str, Any]]:
    return [m.as_dict() for m in bot_messages if m.text or m.image or m.buttons]


def _asks_feedback(reply: dict[str, Any]) -> bool:
    """The "did this help?" question after an answer: its buttons are a yes and a no."""
    payloads = {b.get("payload") for b in reply.get("buttons") or []}
    return payloads == FEEDBACK_PAYLOADS


def _title_key(text: str) -> str:
    """A button title as typed: case, accents, punctuation and spacing do not count."""
    return plain_words(text) if len(text) <= MAX_TITLE_CHARS else ""


def _as_text(text: str) -> str:
    """Rasa reads any text starting with "/" as an intent payload ("/sensitive_fraud",
    '/billing_refund{"slot": "x"}'). A zero-width space in front makes it the text it is."""
    return f"{PLAIN_TEXT_MARK}{text}"


def _inbound_payload(message: IncomingMessage) -> dict[str, Any] | None:
    """What the transcript keeps beside the text: the title of a pressed button ("Nee" for
    "/deny"), so an agent reads what the customer saw."""
    title = message.metadata.get("button_title")
    return {"button_title": str(title)[:200]} if title else None
