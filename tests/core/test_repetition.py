"""Angry repetition (bot/core/repetition.py) and the policy that hands it to a person."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core.repetition import is_angry_repetition, sounds_angry
from bot.rasa.policies import customer_places, customer_turns

PIN = "sim_pin_puk"
BILL = "billing_higher_than_usual"


@pytest.mark.parametrize(
    "text",
    [
        "WAAROM IS MIJN FACTUUR ZO HOOG",
        "mijn factuur is nog steeds te hoog",
        "dat is belachelijk, weer die factuur",
        "pourquoi ma facture est si élevée ?!",
        "toujours pas de réponse sur ma facture",
        "c'est inadmissible cette facture",
        "why is my bill so high!!",
        "my bill is STILL too high",
        "this is ridiculous, my bill again",
    ],
)
def test_anger_and_persistence_are_recognised_in_three_languages(text: str) -> None:
    assert sounds_angry(text)
    assert is_angry_repetition([(BILL, "waarom is mijn factuur zo hoog"), (BILL, text)])


@pytest.mark.parametrize(
    "text",
    ["waarom is mijn factuur hoger", "et pour ma facture élevée ?", "ok, and why is my bill higher", "5G"],
)
def test_a_calm_repetition_is_answered_again(text: str) -> None:
    assert not sounds_angry(text)
    assert not is_angry_repetition([(BILL, "bill?"), (BILL, text)])


def test_the_third_time_in_a_row_is_enough_without_anger() -> None:
    turns = [(BILL, "bill?"), (BILL, "bill high"), (BILL, "and my bill")]
    assert is_angry_repetition(turns)


@pytest.mark.parametrize(
    ("third", "repeated"),
    [
        ("waar vind ik die", False),  # a question about the answer, naming nothing said before
        ("en waar staat dat?", False),
        ("en de puk code dan?", True),  # the same thing named again
        ("waar vind ik die!!", True),  # angry
        ("ik ben mijn pincode vergeten", True),  # the first question again, word for word
    ],
)
def test_a_third_question_about_the_answer_is_no_repetition(third: str, repeated: bool) -> None:
    """ "ik ben mijn pincode vergeten", "en de puk code?" (the PUK lines pointed at), then "waar
    vind ik die": it was handed over as an angry repetition ("that's frustrating")."""
    turns = [(PIN, "ik ben mijn pincode vergeten"), (PIN, "en de puk code?"), (PIN, third)]
    assert is_angry_repetition(turns) is repeated


@pytest.mark.parametrize(
    "turns",
    [
        [(BILL, "WHY!!")],  # nothing to repeat
        [("sim_pin_puk", "pin?"), (BILL, "WHY IS MY BILL SO HIGH!!")],  # another topic
        [("greet", "hi"), ("greet", "HELLO!!")],  # not a topic question
        [("sensitive_complaint", "x"), ("sensitive_complaint", "COMPLAINT!!")],  # escalates anyway
    ],
)
def test_other_turns_are_not_angry_repetitions(turns: list[tuple[str, str]]) -> None:
    assert not is_angry_repetition(turns)


def test_the_same_question_about_another_place_is_a_new_question() -> None:
    """ "coverage in Gent?", "and in Namur?", "and in Mons?": follow-ups, not a repetition."""
    check = "coverage_check_place"
    turns = [(check, "bereik in Gent?"), (check, "en in Namen?"), (check, "en in Bergen, nog steeds?")]
    assert not is_angry_repetition(turns, ["Gent", "Namen", "Bergen"])
    assert is_angry_repetition(turns, ["Gent", "namen", "Namen"])  # the same place again, annoyed
    calm = turns[:2] + [(check, "en in Namen?")]
    assert not is_angry_repetition(calm, ["Gent", "Namen", "Namen"])  # asked twice, calmly
    assert is_angry_repetition(turns, [None, None, None]) and is_angry_repetition(turns)


def user(text: str, intent: str, place: str | None = None) -> UserUttered:
    entities = [{"entity": "place", "value": place}] if place else []
    return UserUttered(text, {"name": intent, "confidence": 0.9}, entities)


def test_the_policy_reads_the_customer_turns_of_the_current_session() -> None:
    events = [
        ActionExecuted("action_listen"),
        user("old", BILL),
        BotUttered("..."),
        SessionStarted(),
        ActionExecuted("action_listen"),
        user("bill?", BILL),
        BotUttered("..."),
        ActionExecuted("action_listen"),
        user("MY BILL!!", BILL),
    ]
    tracker = DialogueStateTracker.from_events("c", events, domain=Domain.empty())
    assert customer_turns(tracker, 5) == [(BILL, "bill?"), (BILL, "MY BILL!!")]
    assert customer_turns(tracker, 1) == [(BILL, "MY BILL!!")]


def test_the_policy_reads_the_place_each_customer_turn_named() -> None:
    check = "coverage_check_place"
    events = [
        ActionExecuted("action_listen"),
        user("bereik in Gent?", check, "Gent"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        user("heb ik bereik?", check),
        BotUttered("..."),
        ActionExecuted("action_listen"),
        user("en in Namen?", check, "Namen"),
    ]
    tracker = DialogueStateTracker.from_events("c", events, domain=Domain.empty())
    assert customer_places(tracker, 5) == [None, "Namen"]
    assert customer_places(tracker, 1) == ["Namen"]
