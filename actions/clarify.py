"""What the bot says when it did not understand: "did you mean ...?" with the likeliest topics,
a topic's menu, "I can't answer that one yet", and the reply to the customer's "huh?". A second
misunderstanding in a row goes to a person (reason ``misunderstood``)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionEscalate, conversation_language, intent_labels, last_bot_response
from actions.knowledge import article_button, person_button, suggested_article_button
from bot.core.topics import Topic, default_topics

NOT_SUGGESTED = {"nlu_fallback", "out_of_scope", "greet", "goodbye", "thanks"}

# The bot's "I did not understand you" messages, and its reply to the customer's "huh?": a second
# misunderstanding right after one of them goes to a person.
CLARIFICATIONS = {"utter_clarify", "utter_clarify_topics", "utter_confused"}
# "What would you like to know about your bill?": the menu of a topic the customer only named
# (data/topics.yml); not a misunderstanding, so an unclear message after it is clarified as usual.
TOPIC_MENU = "utter_clarify_topic"
# Nothing yet, or only a greeting: a "huh?" is not about an answer.
OPENERS = frozenset({None, "utter_greet", "utter_how_are_you", "utter_greet_again"})


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
        topic = tracker.latest_message.get("topic") or {}
        if topic.get("id"):
            return await self._topic_menu(dispatcher, tracker, domain, str(topic["id"]))
        guessed = self._coverage_guess(tracker)
        if guessed is not None:
            return guessed().respond(dispatcher, tracker, asks_helped=False)
        if last_bot_response(tracker) in CLARIFICATIONS:
            escalate = self._escalate or ActionEscalate()
            return await escalate.run(dispatcher, tracker, domain, reason="misunderstood")
        language = conversation_language(tracker, "nl")
        suggestion = suggested_article_button(tracker, language)
        ranking = tracker.latest_message.get("intent_ranking") or []
        buttons = clarify_buttons(ranking, language, limit=2 if suggestion else 3)
        buttons = [suggestion, *buttons] if suggestion else buttons
        if buttons:
            dispatcher.utter_message(
                response="utter_clarify", buttons=[*buttons, none_of_these_button(language)]
            )
        else:
            # Nothing plausible: say so honestly, with what the customer can do next.
            dispatcher.utter_message(response="utter_clarify_topics", buttons=[person_button(language)])
        return []

    async def _topic_menu(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any], topic_id: str
    ) -> List[EventType]:
        """ "factuur", "question about my plan": which of the topic's questions is it? Naming a
        topic again right after its menu means the menu did not help: a person takes over."""
        language = conversation_language(tracker, "nl")
        topic = default_topics().get(topic_id)
        buttons = topic_buttons(topic, language) if topic else []
        if not buttons or last_bot_response(tracker) == TOPIC_MENU:
            escalate = self._escalate or ActionEscalate()
            return await escalate.run(dispatcher, tracker, domain, reason="misunderstood")
        name = topic.names.get(language) or topic.names.get("en") or topic.id
        dispatcher.utter_message(
            response=TOPIC_MENU, topic_name=name, buttons=[*buttons, none_of_these_button(language)]
        )
        return []

    @staticmethod
    def _coverage_guess(tracker: Tracker) -> Any:
        """A coverage question about a known place that the model could not settle gets the
        coverage answer for that place, not a clarification (actions/coverage.py)."""
        from actions.coverage import _coverage, coverage_guess  # coverage imports this module
        from actions.knowledge import article_topic

        return coverage_guess(tracker, _coverage(), article_topic(tracker))


class ActionConfused(Action):
    """ "??", "huh?", "wat bedoel je?", "je comprends pas": the customer did not follow.

    At the start or after a greeting they get what the assistant helps with; after anything
    else an apology, an invitation to put the question in their own words, and a person button.
    Right after a clarification or that apology, the misunderstanding is repeated: a person
    takes over (reason ``misunderstood``), as for a second clarification."""

    def __init__(self, escalate: ActionEscalate | None = None) -> None:
        self._escalate = escalate

    def name(self) -> str:
        return "action_confused"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        last = last_bot_response(tracker)
        if last in CLARIFICATIONS:
            escalate = self._escalate or ActionEscalate()
            return await escalate.run(dispatcher, tracker, domain, reason="misunderstood")
        dispatcher.utter_message(response="utter_capabilities" if last in OPENERS else "utter_confused")
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


def topic_buttons(topic: Topic, language: str) -> List[Dict[str, str]]:
    """The topic's options as buttons titled in ``language``: an intent by its label, an article
    by its title (an option without a title in that language is left out)."""
    labels = intent_labels()
    buttons = []
    for option in topic.options:
        if option.article:
            button = article_button(option.article, language)
        else:
            title = (labels.get(option.intent) or {}).get(language) or default_topics().label(
                option.intent, language
            )
            button = {"title": title, "payload": f"/{option.intent}"} if title else None
        if button:
            buttons.append(button)
    return buttons
