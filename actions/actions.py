"""Custom actions. Every customer-facing text is a domain response with nl/fr/en variants
(conditioned on the ``language`` slot); actions only choose the response and fill it in."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List
from zoneinfo import ZoneInfo

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.knowledge import person_button
from bot.connectors.coverage import CoverageProvider, CoverageUnavailable, Place, coverage_provider
from bot.core.db import create_db_engine
from bot.core.hours import BusinessHours, HoursRepository, describe_opening
from bot.core.outages import Outage, OutageRepository
from bot.core.ownership import Escalations
from bot.core.repetition import Turn, is_angry_repetition
from bot.core.rules import Rule, default_rules
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.taxonomy import reason_for_intent

LABELS_FILE = Path(__file__).with_name("intent_labels.yml")
NOT_SUGGESTED = {"nlu_fallback", "out_of_scope", "greet", "goodbye", "thanks"}


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


def local_zone() -> ZoneInfo:
    """The time zone customers are told times in (TIME_ZONE)."""
    return _settings().time_zone


def _coverage() -> CoverageProvider:
    """The configured coverage provider (COVERAGE_PROVIDER); the demo CSV only in a demo."""
    return coverage_provider(_settings())


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """One database engine (and pool) for every action of this process."""
    return create_db_engine(_settings().database_url)


@lru_cache(maxsize=1)
def _outage_repository() -> OutageRepository:
    return OutageRepository(_engine())


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


def place_from_tracker(tracker: Tracker, provider: CoverageProvider) -> tuple[Place | None, str]:
    """The place the customer means: the extracted entity, else a name or postcode in the text.

    Returns the place (None if unknown) and the raw words the customer used for it.
    """
    raw = next(tracker.get_latest_entity_values("place"), None)
    text = tracker.latest_message.get("text") or ""
    for candidate in (raw, text):
        if candidate:
            place = provider.find(candidate)
            if place:
                return place, str(raw or place.key)
    return None, str(raw or "")


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


PLACE_PROMPTS = {"utter_ask_place", "utter_coverage_unknown_place", "utter_outage_list", "utter_outage_none"}
OUTAGE_PROMPTS = {"utter_outage_list", "utter_outage_none"}


def last_bot_response(tracker: Tracker) -> str | None:
    """Name of the response the bot sent just before the customer's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            return (event.get("metadata") or {}).get("utter_action")
    return None


class ActionCoverageCheck(Action):
    """Answers "is there coverage at <place>?" and mentions an ongoing outage there.

    Asks for the place when the message has none; a reply to that question that is not a
    known place gets a helpful "unknown place" answer instead of a second question.
    """

    def __init__(
        self, provider: CoverageProvider | None = None, outages: OutageRepository | None = None
    ) -> None:
        self._provider = provider
        self._outages = outages

    without_place = "utter_ask_place"

    def name(self) -> str:
        return "action_coverage_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        try:
            place, raw = place_from_tracker(tracker, self._provider or _coverage())
        except CoverageUnavailable:
            dispatcher.utter_message(response="utter_coverage_unavailable")
            return [SlotSet("place", None)]
        previous = last_bot_response(tracker)
        if place is None:
            if not raw and previous not in PLACE_PROMPTS:
                dispatcher.utter_message(response=self.without_place)
                return [SlotSet("place", None)]
            shown = raw or tracker.latest_message.get("text") or ""
            dispatcher.utter_message(response="utter_coverage_unknown_place", place=shown[:60])
            return [SlotSet("place", None)]
        language = conversation_language(tracker, "nl")
        name = place.name(language)
        dispatcher.utter_message(response=coverage_response(place), place=name)
        if place.country == "NL":
            dispatcher.utter_message(response="utter_coverage_partner_nl", place=name)
        now = datetime.now(local_zone())
        found = (self._outages or _outage_repository()).active([place.key, place.province], now=now)
        if found:
            utter_outage(dispatcher, found[0], name, now)
        elif previous in OUTAGE_PROMPTS:
            dispatcher.utter_message(response="utter_outage_none_place", place=name)
        return [SlotSet("place", place.key)]


class ActionCoverage5G(ActionCoverageCheck):
    """ "Is there 5G?": the coverage at the place when one is named, else how to get 5G."""

    without_place = "utter_coverage_5g"

    def name(self) -> str:
        return "action_coverage_5g"


def coverage_response(place: Place) -> str:
    if place.g5 == "yes":
        return "utter_coverage_5g_everywhere"
    if place.g5 == "partial":
        return "utter_coverage_5g_partly"
    if place.g4 == "good":
        return "utter_coverage_4g"
    return "utter_coverage_4g_partial"


def utter_outage(dispatcher: CollectingDispatcher, outage: Outage, place: str, now: datetime) -> None:
    since = format_local(outage.started_at, now)
    if outage.expected_fix_at:
        dispatcher.utter_message(
            response="utter_outage_active",
            place=place,
            services=outage.services,
            since=since,
            eta=format_local(outage.expected_fix_at, now),
        )
    else:
        dispatcher.utter_message(
            response="utter_outage_active_no_eta", place=place, services=outage.services, since=since
        )


class ActionOutageStatus(Action):
    """Answers "is there an outage?" from the outage table, for a place when one is named."""

    def __init__(
        self, provider: CoverageProvider | None = None, outages: OutageRepository | None = None
    ) -> None:
        self._provider = provider
        self._outages = outages

    def name(self) -> str:
        return "action_outage_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        repository = self._outages or _outage_repository()
        try:
            place, _raw = place_from_tracker(tracker, self._provider or _coverage())
        except CoverageUnavailable:  # no place to narrow down to: every open outage
            place = None
        now = datetime.now(local_zone())
        language = conversation_language(tracker, "nl")
        if place is not None:
            found = repository.active([place.key, place.province], now=now)
            if found:
                utter_outage(dispatcher, found[0], place.name(language), now)
            else:
                dispatcher.utter_message(response="utter_outage_none_place", place=place.name(language))
            return [SlotSet("place", place.key)]
        found = repository.active(now=now)
        if found:
            provider = self._provider or _coverage()
            regions = ", ".join(sorted({_region_name(o.region, language, provider) for o in found}))
            dispatcher.utter_message(response="utter_outage_list", regions=regions)
        else:
            dispatcher.utter_message(response="utter_outage_none")
        return []


def _region_name(region: str, language: str, provider: CoverageProvider) -> str:
    try:
        place = provider.find(region)
    except CoverageUnavailable:
        return region
    return place.name(language) if place else region


CLARIFICATIONS = {"utter_clarify", "utter_clarify_topics"}


class ActionClarify(Action):
    """Low-confidence message: ask to rephrase, offering the likeliest topics as buttons.

    The second misunderstanding in a row goes to a person instead (reason ``misunderstood``).
    """

    def __init__(self, escalate: ActionEscalate | None = None) -> None:
        self._escalate = escalate

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if last_bot_response(tracker) in CLARIFICATIONS:
            escalate = self._escalate or ActionEscalate()
            return await escalate.run(dispatcher, tracker, domain, reason="misunderstood")
        language = conversation_language(tracker, "nl")
        buttons = clarify_buttons(tracker.latest_message.get("intent_ranking") or [], language)
        if buttons:
            dispatcher.utter_message(
                response="utter_clarify", buttons=[*buttons, none_of_these_button(language)]
            )
        else:
            # Nothing plausible: say so honestly, with what the customer can do next.
            dispatcher.utter_message(response="utter_clarify_topics", buttons=[person_button(language)])
        return []


def none_of_these_button(language: str) -> Dict[str, str]:
    titles = {
        "nl": "Geen van deze: een medewerker",
        "fr": "Aucun : un conseiller",
        "en": "None of these: a person",
    }
    return {"title": titles.get(language, titles["en"]), "payload": "/request_human"}


def clarify_buttons(ranking: List[Dict[str, Any]], language: str, limit: int = 3) -> List[Dict[str, str]]:
    labels = intent_labels()
    buttons = []
    for entry in ranking:
        name = entry.get("name")
        if name in NOT_SUGGESTED or name not in labels or (entry.get("confidence") or 0) < 0.05:
            continue
        buttons.append({"title": labels[name][language], "payload": f"/{name}"})
        if len(buttons) == limit:
            break
    return buttons


@lru_cache(maxsize=1)
def _hours_repository() -> HoursRepository:
    return HoursRepository(_engine(), time_zone=local_zone())


@lru_cache(maxsize=1)
def _escalations() -> Escalations:
    return Escalations(_engine())


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
            slots={
                k: v for k, v in tracker.slots.items() if v is not None and k != "session_started_metadata"
            },
        )
        dispatcher.utter_message(response=f"utter_escalate_{rule.reason}")
        if handoff is None:
            dispatcher.utter_message(response="utter_handoff_already_waiting")
            return []
        self._tell_the_wait(dispatcher, queue, tracker, conversation_language(tracker, "nl"))
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


def contextual_reason(tracker: Tracker, intent: str | None) -> str:
    """Why an ordinary turn was handed over: a "no" to "did this help?", or an angry repetition."""
    if intent == "deny" and last_bot_response(tracker) == "utter_did_this_help":
        return "not_helped"
    if is_angry_repetition(customer_turns(tracker)):
        return "angry_repetition"
    return "request_human"


def customer_turns(tracker: Tracker, limit: int = 5) -> List[Turn]:
    """The customer's latest messages in this session as (intent, text), oldest first."""
    turns: List[Turn] = []
    for event in reversed(tracker.events):
        if event.get("event") in ("session_started", "restart") or len(turns) == limit:
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
