"""TriedAlready: "I already did that" after an answer means it did not help."""

from __future__ import annotations

import pytest

from bot.rasa.nlu.tried_already import TriedAlready, did_not_help, lacks_it, tried_already
from tests.helpers.nlu import classified


@pytest.mark.parametrize(
    "text",
    [
        "heb ik al gedaan",
        "dat heb ik al geprobeerd",
        "ik heb al herstart",
        "ja roaming staat aan",
        "roaming staat al aan",
        "c'est déjà fait",
        "j'ai déjà redémarré",
        "le roaming est déjà activé",
        "already tried that",
        "I already restarted my phone",
        "roaming is already on",
        "no, tried that already",
        "yes i restarted it",
        "ja, ik heb hem herstart",
        "oui j'ai redémarré le téléphone",
        "yeah checked the settings",
    ],
)
def test_saying_it_was_already_done_is_recognised_in_each_language(text: str) -> None:
    assert tried_already(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/deny",
        "I already paid, why do I get a reminder",  # a question
        "ik heb al betaald",  # no trying or checking
        "is roaming already on?",
        "hoe zet ik roaming aan",
        "heb je al mijn betaling gecontroleerd",  # asks whether we did
        "no sim card detected, already restarted the phone",  # a problem of its own
        "login not working, tried 5 times already",
        "geen bereik in Gent, ik heb al herstart",
        "ik heb al herstart en de vliegtuigmodus aan en uit gezet maar nog altijd niks",  # long
        "my phone is on but there is no signal",
        "ik heb al een nieuwe sim",
        "yes I did",  # a yes to "did this help?"
        "ja, gedaan",
        "oui c'est fait merci",
        "yes i restarted it and now it works",  # solved
        "yes, how do I restart it?",
    ],
)
def test_questions_and_problems_are_left_to_the_classifier(text: str) -> None:
    assert not tried_already(text)


def test_the_message_becomes_a_deny_unless_it_is_sensitive() -> None:
    component = TriedAlready.create({}, None, None, None)
    said, fraud, other = component.process(
        [
            classified("ja roaming staat aan", "coverage_abroad", 0.92),
            classified("al gedaan", "sensitive_fraud", 0.6),
            classified("roaming staat niet aan", "coverage_abroad", 0.9),
        ]
    )
    assert said.get("intent") == {"name": "deny", "confidence": 1.0} and said.get("tried_already")
    assert fraud.get("intent")["name"] == "sensitive_fraud"
    assert other.get("intent")["name"] == "coverage_abroad"


@pytest.mark.parametrize(
    "text",
    [
        "ik heb die niet",
        "nee, die heb ik niet meer",
        "I don't have it",
        "i dont have one",
        "je l'ai pas",
        "j'en ai pas",
    ],
)
def test_lacking_what_the_step_needs_is_recognised_in_each_language(text: str) -> None:
    """ "je l'ai pas" after "your PUK is on the card holder or in the app" read as "I don't follow"."""
    assert lacks_it(text) and did_not_help(text)


@pytest.mark.parametrize(
    "text",
    ["ik heb geen bereik", "I don't have internet", "je n'ai pas de réseau", "do you have it?", "I have it"],
)
def test_a_missing_service_or_a_question_is_left_to_the_classifier(text: str) -> None:
    assert not lacks_it(text)


def test_lacking_it_becomes_a_deny() -> None:
    [said] = TriedAlready.create({}, None, None, None).process([classified("je l'ai pas", "confused", 0.6)])
    assert said.get("intent") == {"name": "deny", "confidence": 1.0} and said.get("tried_already")
