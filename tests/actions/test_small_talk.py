"""ActionGreet: the greeting's reply in kind, on real Trackers."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.small_talk import ActionGreet, ActionThanks, greeted_before
from tests.actions.test_action_escalate import run


def greeting(text: str, bot_said: list[str | None] | None = None, language: str = "nl") -> Tracker:
    """The customer's greeting ``text`` after the bot's responses ``bot_said`` (one turn each)."""
    events: list[dict] = [{"event": "session_started"}]
    for response in bot_said or []:
        events.append({"event": "user", "text": "...", "parse_data": {"intent": {"name": "greet"}}})
        events.append({"event": "bot", "text": "...", "metadata": {"utter_action": response}})
    events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "greet"}}})
    latest = {"text": text, "intent": {"name": "greet", "confidence": 0.9}, "entities": []}
    return Tracker("c1", {"language": language}, latest, events, False, None, {}, "action_listen")


def replies(tracker: Tracker) -> list[str]:
    events, messages = run(ActionGreet(), tracker)
    assert events == []
    return [m["response"] for m in messages]


@pytest.mark.parametrize("text", ["hallo", "bonjour", "hi there", "goedemorgen"])
def test_a_first_greeting_gets_the_introduction(text: str) -> None:
    assert replies(greeting(text)) == ["utter_greet"]


@pytest.mark.parametrize(
    "text",
    [
        "hoi, alles goed?",
        "Ça va ?",
        "bonjour, comment allez-vous ?",
        "hey, how r u",
        "HOE GAAT HET",
        "hello, hope you're well",
    ],
)
def test_how_are_you_is_answered_in_kind(text: str) -> None:
    assert replies(greeting(text)) == ["utter_how_are_you"]
    assert replies(greeting(text, ["utter_greet"])) == ["utter_how_are_you"]


def test_a_second_greeting_does_not_repeat_the_introduction() -> None:
    assert replies(greeting("hallo", ["utter_greet"])) == ["utter_greet_again"]
    assert replies(greeting("hello", ["utter_how_are_you", "utter_billing_due_date"])) == [
        "utter_greet_again"
    ]


def test_a_greeting_before_the_session_started_does_not_count() -> None:
    tracker = greeting("hallo")
    tracker.events[:0] = [{"event": "bot", "metadata": {"utter_action": "utter_greet"}}]
    assert not greeted_before(tracker)
    assert replies(tracker) == ["utter_greet"]


def thanks(text: str) -> Tracker:
    latest = {"text": text, "intent": {"name": "thanks", "confidence": 0.9}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "thanks"}}}]
    return Tracker("c1", {"language": "fr"}, latest, events, False, None, {}, "action_listen")


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("merci", "utter_thanks"),
        ("thanks a lot!", "utter_thanks"),
        ("merci, bonne journée", "utter_goodbye"),
        ("thanks, bye", "utter_goodbye"),
        ("bedankt, daag", "utter_goodbye"),
        ("super merci, à plus", "utter_goodbye"),
    ],
)
def test_thanks_that_take_leave_get_the_goodbye(text: str, response: str) -> None:
    events, messages = run(ActionThanks(), thanks(text))
    assert events == []
    assert [m["response"] for m in messages] == [response]
