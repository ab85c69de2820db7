"""Custom actions. Every customer-facing text is a domain response with nl/fr/en variants
(conditioned on the ``language`` slot); actions only choose the response and fill it in."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List
from zoneinfo import ZoneInfo

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.account import verified_customer_note
from bot.core.db import create_db_engine
from bot.core.did_not_help import says_it_did_not_help
from bot.core.hours import BusinessHours, HoursRepository, describe_opening
from bot.core.ownership import Escalations
from bot.core.repetition import Turn, is_angry_repetition
from bot.core.rules import Rule, default_rules
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.taxonomy import reason_for_intent
from bot.core.texts import text

LABELS_FILE = Path(__file__).with_name("intent_labels.yml")


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


def local_zone() -> ZoneInfo:
    """The time zone customers are told times in (TIME_ZONE)."""
    return _settings().time_zone


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """One database engine (and pool) for every action of this process."""
    return create_db_engine(_settings().database_url)


@lru_cache(maxsize=1)
def intent_labels() -> Dict[str, Dict[str, str]]:
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8")) or {}


def conversation_language(tracker: Tracker, default: str) -> str:
    language = tracker.get_slot("language")
    return language if language in SUPPORTED_LANGUAGES else default


def format_local(moment: datetime, now: datetime) -> str:
    """'14:30' today, '23/11 14:30' another day, in local time (TIME_ZONE)."""
    zone = local_zone()
    local, today = moment.astimezone(zone), now.astimezone(zone)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%d/%m %H:%M")


class ActionSessionStart(Action):
    """Starts a session: keeps slots, sets the persona's name and the starting language."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._given_settings = settings

    @property
    def settings(self) -> Settings:
        return self._given_settings or _settings()

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        carried = {
            k: v for k, v in tracker.slots.items() if v is not None and k != "session_started_metadata"
        }
        events += [SlotSet(key, value) for key, value in carried.items()]
        metadata = tracker.get_slot("session_started_metadata") or {}
        language = metadata.get("language") if isinstance(metadata, dict) else None
        if language not in SUPPORTED_LANGUAGES:
            language = carried.get("language") or self.settings.default_language
        events += [SlotSet("language", language), SlotSet("bot_name", self.settings.bot_name)]
        events.append(ActionExecuted("action_listen"))
        return events


def last_bot_response(tracker: Tracker) -> str | None:
    """Name of the response the bot sent just before the customer's latest message."""
    before = bot_responses_before(tracker, turns=1)
    return before[0] if before else None


def session_events(tracker: Tracker) -> Iterator[Dict[str, Any]]:
    """The tracker's events of this session, newest first (up to its start or a restart)."""
    for event in reversed(tracker.events):
        if event.get("event") in ("session_started", "restart"):
            return
        yield event


def bot_responses_before(tracker: Tracker, turns: int) -> List[str | None]:
    """The response the bot sent last before each of the customer's latest ``turns`` messages,
    newest first (None: nothing, or a text without a response name), within this session."""
    found: List[str | None] = []
    pending = False  # a customer message whose preceding response is not yet found
    for event in session_events(tracker):
        kind = event.get("event")
        if kind == "user":
            if pending:
                found.append(None)
            if len(found) == turns:
                break
            pending = True
        elif kind == "bot" and pending:
            found.append((event.get("metadata") or {}).get("utter_action"))
            pending = False
            if len(found) == turns:
                break
    if pending and len(found) < turns:
        found.append(None)
    return found


# Replies to "thanks" and "bye": the conversation goes on after them, so a "no, still not
# working" right after one still refers to the answer before it.
PLEASANTRIES = frozenset({"utter_thanks", "utter_goodbye"})


def answered_just_before(tracker: Tracker) -> bool:
    """Whether the customer's latest message follows an answer or "did this help?", directly or
    with only a pleasantry in between: "thanks" → "you're welcome" → "actually it's still slow"
    means the answer did not help. An answer that ends on a question of its own ("shall I check
    it's you?") counts too when the message says in so many words that it did not help ("that
    doesn't help me" after the due date and the offer to verify is no "no" to the offer)."""
    before = bot_responses_before(tracker, turns=2)
    if before and before[0] in PLEASANTRIES:
        before = before[1:]
    if bool(before) and (before[0] == "utter_did_this_help" or is_answer(before[0])):
        return True
    return says_it_did_not_help(tracker.latest_message.get("text") or "") and any(
        is_answer(response) for response in last_turn_responses(tracker)
    )


def last_turn_responses(tracker: Tracker) -> List[str | None]:
    """The responses of the bot's turn before the customer's latest message, newest first."""
    found: List[str | None] = []
    users = 0
    for event in session_events(tracker):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users == 2:
                break
        elif kind == "bot" and users == 1:
            found.append((event.get("metadata") or {}).get("utter_action"))
    return found


# The bot's answers to a question (billing, coverage, outages, SIM, the customer's account): a
# "no" right after one of them means it did not help. Except the answers that end on a question
# of their own ("which town?", "shall I check it's you?"): the "no" answers that question.
ANSWER_PREFIXES = ("utter_billing_", "utter_coverage_", "utter_outage_", "utter_sim_", "utter_account_")
ANSWERS_THAT_ASK = frozenset(
    {
        "utter_coverage_unknown_place",
        "utter_outage_none",
        "utter_outage_list",
        "utter_account_offer_verification",
        "utter_account_what_now",
    }
)


def is_answer(response: str | None) -> bool:
    """Whether the bot's response ``response`` answered a question (and asked nothing)."""
    return (response or "").startswith(ANSWER_PREFIXES) and response not in ANSWERS_THAT_ASK


@lru_cache(maxsize=1)
def _hours_repository() -> HoursRepository:
    return HoursRepository(_engine(), time_zone=local_zone())


@lru_cache(maxsize=1)
def _escalations() -> Escalations:
    return Escalations(_engine())


# The intent's own probability below which the classifier was not sure which case it is.
SURE_OF_THE_CASE = 0.5


def unsure_which_case(message: Dict[str, Any]) -> bool:
    """The escalation guard handed the message over on the sensitive intents' *sum*, and no one
    of them is likely on its own (bot/rasa/nlu/classifier.py EscalationGuard): "IK HEB AL 3 KEER
    GEBELD EN NOG STEEDS GEEN OPLOSSING" reached 0.3 as fraud 0.16 + payment difficulty 0.14 and
    was told "That's serious ... block your SIM now". A person still takes over (recall first),
    with words that fit any case; the queue keeps the likeliest reason for its priority. A repeat
    contact is a complaint whatever the ranking says (bot/rasa/nlu/repeat_contact.py)."""
    intent = message.get("intent") or {}
    if message.get("repeat_contact"):
        return False
    own = {e.get("name"): e.get("confidence") for e in message.get("intent_ranking") or []}
    confidence = own.get(intent.get("name"))
    return confidence is not None and float(confidence) < SURE_OF_THE_CASE


# "block it for me" after the lost-phone steps: the SIM must be blocked now, also at night when
# the team is offline, so the customer hears the 24/7 blocking line beside the handover.
URGENT_DO_FOR_ME = {"utter_sim_lost_stolen": "escalate_do_for_me_block"}


def do_for_me_text(tracker: Tracker) -> str:
    """The text key for "can you do it for me?" after the answer the bot just gave."""
    return URGENT_DO_FOR_ME.get(last_bot_response(tracker), "escalate_do_for_me")


class ActionEscalate(Action):
    """Hands the conversation to the agent queue, with the reason the rules give the intent.

    The customer hears, in their language, why a colleague is better placed, and either
    their place in the queue (during business hours) or when the team is back.
    """

    def __init__(
        self,
        queue: Escalations | None = None,
        rules: Dict[str, Rule] | None = None,
        hours: BusinessHours | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._queue = queue
        self._rules = rules
        self._hours = hours
        self._now = now or (lambda: datetime.now(local_zone()))

    def name(self) -> str:
        return "action_escalate"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
        reason: str | None = None,
    ) -> List[EventType]:
        rules = self._rules or default_rules()
        intent = tracker.latest_message.get("intent", {}).get("name")
        reason = reason or reason_for_intent(intent) or contextual_reason(tracker, intent)
        rule = rules.get(reason) or rules["request_human"]
        queue = self._queue or _escalations()
        handoff = queue.escalate(
            tracker.sender_id,
            rule,
            summary=handoff_summary(tracker, conversation_language(tracker, "nl")),
            intents=recent_intents(tracker),
            slots=await packet_slots(tracker, getattr(queue, "engine", None)),
        )
        language = conversation_language(tracker, "nl")
        if reason == "not_helped" and tracker.latest_message.get("do_for_me"):
            dispatcher.utter_message(text=text(do_for_me_text(tracker), language))
        elif reason == reason_for_intent(intent) and unsure_which_case(tracker.latest_message):
            dispatcher.utter_message(text=text("escalate_unsure", language))
        else:
            dispatcher.utter_message(response=f"utter_escalate_{rule.reason}")
        if handoff is None:
            dispatcher.utter_message(response="utter_handoff_already_waiting")
            return []
        self._tell_the_wait(dispatcher, queue, tracker, language)
        return []

    def _tell_the_wait(
        self, dispatcher: CollectingDispatcher, queue: Escalations, tracker: Tracker, language: str
    ) -> None:
        hours = self._hours or _hours_repository().current()
        now = self._now()
        if hours.is_open(now):
            position = queue.position(tracker.sender_id) or 1
            dispatcher.utter_message(response="utter_handoff_waiting_open", position=position)
        else:
            reopens = describe_opening(hours.next_opening(now), now, language)
            dispatcher.utter_message(response="utter_handoff_waiting_closed", reopens=reopens)


class ActionNoWithoutQuestion(Action):
    """A "no" the bot did not ask for. Right after an answer ("no, that didn't help", "still
    not working") a person takes over, as after "did this help?"; otherwise (after a greeting,
    "glad I could help", "which town?") the bot asks what the customer needs."""

    def __init__(self, escalate: ActionEscalate | None = None) -> None:
        self._escalate = escalate

    def name(self) -> str:
        return "action_no_without_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if answered_just_before(tracker):  # contextual_reason names it not_helped
            escalate = self._escalate or ActionEscalate()
            return await escalate.run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_ask_what_else")
        return []


INTERNAL_SLOTS = ("session_started_metadata", "requested_slot")


async def packet_slots(tracker: Tracker, engine: Engine | None) -> Dict[str, Any]:
    """The slots the agent sees, and who the customer is when their identity was checked
    (``verified_customer``: customer number, name, how), so the agent does not ask again."""
    slots = {
        k: v
        for k, v in tracker.slots.items()
        if v is not None and k not in INTERNAL_SLOTS and not k.startswith("verification_")
    }
    note = (
        await verified_customer_note(engine, tracker.sender_id, conversation_language(tracker, "nl"))
        if engine
        else None
    )
    if note:
        slots["verified_customer"] = note
    return slots


def contextual_reason(tracker: Tracker, intent: str | None) -> str:
    """Why an ordinary turn was handed over: a "no" to "did this help?", or an angry repetition."""
    if intent == "deny" and answered_just_before(tracker):
        return "not_helped"
    if is_angry_repetition(customer_turns(tracker), customer_places(tracker)):
        return "angry_repetition"
    return "request_human"


def customer_places(tracker: Tracker, limit: int = 5) -> List[str | None]:
    """The place each of the customer's latest messages named (None: none), oldest first."""
    places: List[str | None] = []
    for event in session_events(tracker):
        if len(places) == limit:
            break
        if event.get("event") == "user":
            entities = (event.get("parse_data") or {}).get("entities") or []
            places.append(next((e.get("value") for e in entities if e.get("entity") == "place"), None))
    return places[::-1]


def customer_turns(tracker: Tracker, limit: int = 5) -> List[Turn]:
    """The customer's latest messages in this session as (intent, text), oldest first."""
    turns: List[Turn] = []
    for event in session_events(tracker):
        if len(turns) == limit:
            break
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            turns.append((intent, event.get("text") or ""))
    return turns[::-1]


SUMMARY_WORDS = {
    "nl": ("Onderwerpen", "Klant schreef"),
    "fr": ("Sujets", "Le client a écrit"),
    "en": ("Topics", "Customer wrote"),
}


def handoff_summary(tracker: Tracker, language: str, limit: int = 500) -> str:
    """A short summary for the agent, in the conversation's language (the agent speaks it):
    the topics the bot recognised and the customer's last few messages."""
    labels = intent_labels()
    topics = list(dict.fromkeys(i for i in recent_intents(tracker) if i in labels))
    said = [
        text if len(text) <= 160 else text[:159] + "…"
        for _intent, text in customer_turns(tracker, limit=3)
        if text and not text.startswith("/")
    ]
    topics_word, wrote_word = SUMMARY_WORDS.get(language, SUMMARY_WORDS["en"])
    parts = [f"{topics_word}: {', '.join(labels[t][language] for t in topics)}."] if topics else []
    if said:
        parts.append(f"{wrote_word}: " + " / ".join(f"«{t}»" for t in said))
    return " ".join(parts)[:limit]


def recent_intents(tracker: Tracker, limit: int = 10) -> List[str]:
    """The customer's intents in this conversation, oldest first (for the agent's packet)."""
    names = [
        (e.get("parse_data") or {}).get("intent", {}).get("name")
        for e in tracker.events
        if e.get("event") == "user"
    ]
    return [n for n in names if n][-limit:]
