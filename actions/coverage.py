"""Coverage and outage answers, from the coverage provider and the outage table.

Every answer about a place agrees with the others: an open outage there comes first (never a
"good news" next to it), the place named in any coverage message is the one answered about, and a
follow-up that only names a place ("and in Namur?") keeps the topic of the previous coverage
question (the ``coverage_topic`` slot).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as base  # settings, time zone and engine, shared with the other actions
from bot.connectors.coverage import (
    CoverageProvider,
    CoverageUnavailable,
    Place,
    coverage_provider,
    normalize,
)
from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.outages import Outage, OutageRepository
from bot.core.taxonomy import FALLBACK_INTENT

TOPIC_SLOT = "coverage_topic"
PLACE_PROMPTS = {"utter_ask_place", "utter_coverage_unknown_place", "utter_outage_list", "utter_outage_none"}
OUTAGE_PROMPTS = {"utter_outage_list", "utter_outage_none"}
# What a follow-up says besides the place: "and in Namur?", "en wat met Gent?", "et du côté de Mons ?"
FOLLOW_UP_WORDS = frozenset(
    "and in at what about how for then there near around also too "
    "en in te wat met voor dan daar hoe zit het bij rond ook "
    "et a au pour alors du cote de d la le les dans vers y quoi chez aussi".split()
)


def _coverage() -> CoverageProvider:
    """The configured coverage provider (COVERAGE_PROVIDER); the demo CSV only in a demo."""
    return coverage_provider(base._settings())


@lru_cache(maxsize=1)
def _outage_repository() -> OutageRepository:
    return OutageRepository(base._engine())


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


def _words(text: str) -> list[str]:
    return normalize(text).replace("'", " ").split()


def is_follow_up(text: str, place: Place, raw: str) -> bool:
    """True when the message names the place and nothing else but follow-up words."""
    place_words = {*_words(" ".join([*place.names.values(), *place.aliases, *place.postcodes, raw]))}
    return all(word in FOLLOW_UP_WORDS for word in _words(text) if word not in place_words)


def coverage_response(place: Place) -> str:
    if place.g5 == "yes":
        return "utter_coverage_5g_everywhere"
    if place.g5 == "partial":
        return "utter_coverage_5g_partly"
    if place.g4 == "good":
        return "utter_coverage_4g"
    return "utter_coverage_4g_partial"


def utter_outage(dispatcher: CollectingDispatcher, outage: Outage, place: str, now: datetime) -> None:
    since = base.format_local(outage.started_at, now)
    if outage.expected_fix_at:
        dispatcher.utter_message(
            response="utter_outage_active",
            place=place,
            services=outage.services,
            since=since,
            eta=base.format_local(outage.expected_fix_at, now),
        )
    else:
        dispatcher.utter_message(
            response="utter_outage_active_no_eta", place=place, services=outage.services, since=since
        )


class CoverageAction(Action, ABC):
    """A coverage question on one topic. A follow-up that only names a place is answered on the
    topic of the previous coverage question instead (by that topic's action)."""

    topic = "check"

    def __init__(
        self, provider: CoverageProvider | None = None, outages: OutageRepository | None = None
    ) -> None:
        self._provider = provider
        self._outages = outages

    @property
    def provider(self) -> CoverageProvider:
        return self._provider or _coverage()

    @property
    def outages(self) -> OutageRepository:
        return self._outages or _outage_repository()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return self.respond(dispatcher, tracker, asks_helped=True)

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, asks_helped: bool
    ) -> List[EventType]:
        """The answer; ``asks_helped=False`` leaves out "did this help?" when another action
        answers through this one (its yes/no rules follow this action only)."""
        try:
            place, raw = place_from_tracker(tracker, self.provider)
        except CoverageUnavailable:
            return self.unavailable(dispatcher, tracker)
        answering = self._on_topic(tracker, place, raw)
        events = answering.answer(
            dispatcher, tracker, place, raw, asks_helped=asks_helped and answering is self
        )
        return [*events, SlotSet(TOPIC_SLOT, answering.topic)]

    def _on_topic(self, tracker: Tracker, place: Place | None, raw: str) -> CoverageAction:
        previous = tracker.get_slot(TOPIC_SLOT)
        if place is None or previous == self.topic or previous not in TOPIC_ACTIONS:
            return self
        if not is_follow_up(tracker.latest_message.get("text") or "", place, raw):
            return self
        return TOPIC_ACTIONS[previous](self._provider, self._outages)

    def open_outage(self, place: Place, now: datetime) -> Outage | None:
        found = self.outages.active([place.key, place.province], now=now)
        return found[0] if found else None

    def say_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, place: Place, coverage: str
    ) -> str | None:
        """Says what holds at the place: its open outage, else the ``coverage`` response and, in
        the Netherlands, the partner network. Returns the place's name after the coverage, None
        after an outage (nothing may follow it that says all is well)."""
        name = place.name(base.conversation_language(tracker, "nl"))
        now = datetime.now(base.local_zone())
        outage = self.open_outage(place, now)
        if outage:
            utter_outage(dispatcher, outage, name, now)
            return None
        dispatcher.utter_message(response=coverage, place=name)
        if place.country == "NL":
            dispatcher.utter_message(response="utter_coverage_partner_nl", place=name)
        return name

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        dispatcher.utter_message(response="utter_coverage_unavailable")
        return [SlotSet("place", None)]

    @abstractmethod
    def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        place: Place | None,
        raw: str,
        asks_helped: bool,
    ) -> List[EventType]:
        """Says the answer on this action's topic; returns the events (the place slot)."""


class ActionCoverageCheck(CoverageAction):
    """Answers "is there coverage at <place>?"; an ongoing outage there is the answer instead.

    Asks for the place when the message has none; a reply to that question that is not a
    known place gets a helpful "unknown place" answer instead of a second question.
    """

    without_place = "utter_ask_place"

    def name(self) -> str:
        return "action_coverage_check"

    def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        place: Place | None,
        raw: str,
        asks_helped: bool,
    ) -> List[EventType]:
        previous = base.last_bot_response(tracker)
        if place is None:
            if not raw and previous not in PLACE_PROMPTS:
                dispatcher.utter_message(response=self.without_place)
            else:
                shown = raw or tracker.latest_message.get("text") or ""
                dispatcher.utter_message(response="utter_coverage_unknown_place", place=shown[:60])
            return [SlotSet("place", None)]
        name = self.say_place(dispatcher, tracker, place, coverage_response(place))
        if name is not None and previous in OUTAGE_PROMPTS:
            dispatcher.utter_message(response="utter_outage_none_place", place=name)
        return [SlotSet("place", place.key)]


class ActionCoverage5G(ActionCoverageCheck):
    """ "Is there 5G?": the coverage at the place when one is named, else how to get 5G."""

    topic = "5g"
    without_place = "utter_coverage_5g"

    def name(self) -> str:
        return "action_coverage_5g"


class ActionCoverageIndoor(CoverageAction):
    """Weak or no signal. With a place: an outage there, else its coverage; the tips (and "did
    this help?") when nothing is wrong there or no place is named."""

    topic = "indoor"
    tips = "utter_coverage_indoor"

    def name(self) -> str:
        return "action_coverage_indoor"

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        return self.give_tips(dispatcher, asks_helped=True)

    def give_tips(self, dispatcher: CollectingDispatcher, asks_helped: bool) -> List[EventType]:
        dispatcher.utter_message(response=self.tips)
        if asks_helped:
            dispatcher.utter_message(response="utter_did_this_help")
        return []

    def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        place: Place | None,
        raw: str,
        asks_helped: bool,
    ) -> List[EventType]:
        if place is None:
            return self.give_tips(dispatcher, asks_helped)
        fine = "utter_coverage_fine_place" if place.g4 == "good" else coverage_response(place)
        if self.say_place(dispatcher, tracker, place, fine) is None:
            return [SlotSet("place", place.key)]
        return [SlotSet("place", place.key), *self.give_tips(dispatcher, asks_helped)]


class ActionCoverageSlowData(ActionCoverageIndoor):
    """Slow or no mobile data, answered like weak signal with the data tips."""

    topic = "slow_data"
    tips = "utter_coverage_slow_data"

    def name(self) -> str:
        return "action_coverage_slow_data"


class ActionOutageStatus(CoverageAction):
    """Answers "is there an outage?" from the outage table, for a place when one is named."""

    topic = "outage"

    def name(self) -> str:
        return "action_outage_status"

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        # No place to narrow down to: every open outage.
        return [
            *self.answer(dispatcher, tracker, None, "", asks_helped=True),
            SlotSet(TOPIC_SLOT, self.topic),
        ]

    def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        place: Place | None,
        raw: str,
        asks_helped: bool,
    ) -> List[EventType]:
        now = datetime.now(base.local_zone())
        language = base.conversation_language(tracker, "nl")
        if place is not None:
            outage = self.open_outage(place, now)
            if outage:
                utter_outage(dispatcher, outage, place.name(language), now)
            else:
                dispatcher.utter_message(response="utter_outage_none_place", place=place.name(language))
            return [SlotSet("place", place.key)]
        found = self.outages.active(now=now)
        if found:
            regions = ", ".join(sorted({self._region_name(o.region, language) for o in found}))
            dispatcher.utter_message(response="utter_outage_list", regions=regions)
        else:
            dispatcher.utter_message(response="utter_outage_none")
        return []

    def _region_name(self, region: str, language: str) -> str:
        try:
            place = self.provider.find(region)
        except CoverageUnavailable:
            return region
        return place.name(language) if place else region


TOPIC_ACTIONS: Dict[str, type[CoverageAction]] = {
    action.topic: action
    for action in (
        ActionCoverageCheck,
        ActionCoverage5G,
        ActionCoverageIndoor,
        ActionCoverageSlowData,
        ActionOutageStatus,
    )
}

INTENT_ACTIONS: Dict[str, type[CoverageAction]] = {
    "coverage_check_place": ActionCoverageCheck,
    "coverage_5g": ActionCoverage5G,
    "coverage_indoor": ActionCoverageIndoor,
    "coverage_slow_data": ActionCoverageSlowData,
    "coverage_outage": ActionOutageStatus,
}
GUESS_MIN_CONFIDENCE = 0.1
NOT_AN_INTENT = {FALLBACK_INTENT, KNOWLEDGE_INTENT}


def coverage_guess(
    tracker: Tracker, provider: CoverageProvider, article_topic: str | None
) -> type[CoverageAction] | None:
    """The coverage action for a message the model could not settle ("je n'ai pas de réseau à
    Hasselt" split between a festival article and the indoor-signal intent): when the message
    names a place the coverage data knows, the likeliest intent is a coverage one (at least
    ``GUESS_MIN_CONFIDENCE``) and the help centre, if it ranks first, offered a coverage article.
    The place in any coverage message is used; a question about a shop in a town is not."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    if ranking and ranking[0].get("name") == FALLBACK_INTENT:
        ranking = ranking[1:]
    if ranking and ranking[0].get("name") == KNOWLEDGE_INTENT and article_topic != "coverage":
        return None
    intents = [e for e in ranking if e.get("name") not in NOT_AN_INTENT]
    if not intents or intents[0].get("name") not in INTENT_ACTIONS:
        return None
    if float(intents[0].get("confidence") or 0.0) < GUESS_MIN_CONFIDENCE:
        return None
    try:
        place, _ = place_from_tracker(tracker, provider)
    except CoverageUnavailable:
        return None
    return INTENT_ACTIONS[intents[0]["name"]] if place else None
