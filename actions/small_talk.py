"""The replies to a greeting and to thanks: the introduction once, "fine, thanks" to "how are
you?", a short invitation when the customer greets again in the same conversation, and a goodbye
(not "anything else?") to thanks that take leave."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import session_events
from bot.core.small_talk import asks_how_i_am, says_goodbye

# The replies to a greeting: after one of them, a second "hallo" does not need the introduction.
GREETINGS = frozenset({"utter_greet", "utter_how_are_you", "utter_greet_again"})


def greeted_before(tracker: Tracker) -> bool:
    """Whether the bot answered a greeting earlier in this session."""
    return any(
        event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in GREETINGS
        for event in session_events(tracker)
    )


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def greeting_reply(text: str, greeted: bool) -> str:
    """The response for a greeting ``text``: "how are you?" is answered, the introduction once."""
    if asks_how_i_am(text):
        return "utter_how_are_you"
    return "utter_greet_again" if greeted else "utter_greet"


class ActionGreet(Action):
    """ "hallo", "ça va ?", "hey, how are you": the greeting's reply in kind (domain responses)."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response=greeting_reply(latest_text(tracker), greeted_before(tracker)))
        return []


class ActionThanks(Action):
    """ "thanks": "you're welcome, anything else?"; "thanks, bye" / "merci, bonne journée": the
    goodbye, since the customer is leaving."""

    def name(self) -> str:
        return "action_thanks"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        leaving = says_goodbye(latest_text(tracker))
        dispatcher.utter_message(response="utter_goodbye" if leaving else "utter_thanks")
        return []
