"""DoItForMe: "can you do it for me?" after an answer goes to a person who can."""

from __future__ import annotations

import pytest

from bot.rasa.nlu.do_for_me import DoItForMe, do_for_me
from tests.helpers.nlu import classified


@pytest.mark.parametrize(
    "text",
    [
        "can you do it for me?",
        "can't you just block it for me",
        "why can't you do it",
        "could u do that pls",
        "yes please block it",
        "ok but can you do that for me then",
        "you do it",
        "can someone do it for me",
        "please sort it out for me",
        "kun je dat voor mij doen?",
        "kan jij het niet gewoon regelen",
        "doe jij het maar",
        "blokkeer hem maar aub",
        "kunnen jullie dat niet van jullie kant doen",
        "zou je dat kunnen doen voor mij",
        "vous pouvez le faire ?",
        "pouvez-vous la bloquer pour moi svp",
        "tu peux pas le faire à ma place",
        "bloquez-la svp",
        "est-ce que vous pouvez vous en occuper",
        "tu peux faire ça pour moi ?",
    ],
)
def test_asking_the_bot_to_do_it_is_recognised_in_each_language(text: str) -> None:
    assert do_for_me(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/deny",
        "what can you do for me",  # the bot's capabilities
        "wat kan je voor mij doen",
        "qu'est-ce que tu peux faire pour moi",
        "how do I do it",  # the customer's own question
        "hoe doe ik dat",
        "yes do it",  # a yes to a question the bot asked
        "ja doe het maar",
        "vas-y fais-le",
        "ik zal het zelf doen",  # the customer doing it
        "ik blokkeer hem wel",
        "je la bloque moi-même",
        "thank you, will do it",
        "I lost my sim card, can you block it?",  # names what: the classifier's
        "can you block my sim",
        "vous pouvez m'envoyer la facture en PDF par mail",  # "la" is an article
        "kunnen jullie die bot even uitzetten en een collega laten antwoorden",
        "stop it now",
        "can you explain it",
    ],
)
def test_questions_and_other_requests_are_left_to_the_classifier(text: str) -> None:
    assert not do_for_me(text)


# A hang guard, not a speed target: the router lets 2,000 characters through.
@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", ["can you do it " * 150, "kun je " * 300 + "x", "pouvez-vous " * 180])
def test_long_input_is_read_without_hanging(text: str) -> None:
    assert not do_for_me(text)


def test_control_characters_do_not_hide_the_request() -> None:
    assert do_for_me("\x00\x07 vous pouvez\u200b le faire")


def test_the_message_becomes_a_deny_unless_it_is_sensitive() -> None:
    component = DoItForMe.create({}, None, None, None)
    asked, cancel, other = component.process(
        [
            classified("can you do it for me?", "capabilities", 0.8),
            classified("kunnen jullie het voor mij opzeggen", "sensitive_cancellation", 0.7),
            classified("how do I block my sim", "sim_lost_stolen", 0.9),
        ]
    )
    assert asked.get("intent") == {"name": "deny", "confidence": 1.0} and asked.get("do_for_me")
    assert cancel.get("intent")["name"] == "sensitive_cancellation" and not cancel.get("do_for_me")
    assert other.get("intent")["name"] == "sim_lost_stolen"
