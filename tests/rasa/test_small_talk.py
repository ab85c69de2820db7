"""SmallTalkLean: a greeting or "I'll put it another way" is given on a lean, an answer is not."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.small_talk import SmallTalkLean


def fell_back(*ranking: tuple[str, float]) -> Message:
    message = Message({"text": "yo, ça roule ?"})
    entries = [{"name": "nlu_fallback", "confidence": 0.3}] + [
        {"name": n, "confidence": c} for n, c in ranking
    ]
    message.set("intent", entries[0], add_to_output=True)
    message.set("intent_ranking", entries, add_to_output=True)
    return message


def lean(message: Message) -> str:
    [out] = SmallTalkLean.create({}, None, None, None).process([message])
    return out.get("intent")["name"]


def test_a_greeting_the_classifier_leans_towards_is_given() -> None:
    assert lean(fell_back(("greet", 0.28), ("goodbye", 0.15))) == "greet"
    assert lean(fell_back(("confused", 0.29), ("thanks", 0.06))) == "confused"


@pytest.mark.parametrize(
    "ranking",
    [
        (("greet", 0.18), ("goodbye", 0.1)),  # too weak
        (("greet", 0.28), ("goodbye", 0.25)),  # too close to the next
        (("deny", 0.29), ("greet", 0.1)),  # a no changes the conversation
        (("billing_due_date", 0.29), ("greet", 0.1)),  # an answer needs the fallback's 0.3
        (),
    ],
)
def test_anything_else_keeps_the_fallback(ranking: tuple) -> None:
    assert lean(fell_back(*ranking)) == "nlu_fallback"


def test_a_message_that_did_not_fall_back_is_left_alone() -> None:
    message = Message({"text": "hallo"})
    message.set("intent", {"name": "greet", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "greet", "confidence": 0.9}])
    assert lean(message) == "greet"
