"""Coming to us or leaving us: the direction of a switch between operators."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.switching import OperatorSwitch, switching


def cues(text: str) -> set[str]:
    return {cue for cue, shown in switching(text).items() if shown}


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to move over to you and keep my 0486 number",
        "ik zit nu bij Orange maar wil naar jullie komen met mijn nummer",
        "je viens de chez Proximus, mon numéro peut suivre ?",
        "coming from Lycamobile, can the number come along",
    ],
)
def test_coming_to_us(text: str) -> None:
    assert cues(text) == {"joining_us"}


@pytest.mark.parametrize(
    "text",
    [
        "moving over to Proximus, what do I do with my number",
        "ik stap over naar een andere operator en hou mijn nummer",
        "je pars chez Orange le mois prochain avec mon numéro",
        "I'm quitting you, my number goes elsewhere",
    ],
)
def test_leaving_us(text: str) -> None:
    assert "leaving_us" in cues(text)
    assert "joining_us" not in cues(text)


@pytest.mark.parametrize(
    "text", ["forfait de base, c'est combien ?", "my bill is too high", "la base de données"]
)
def test_ordinary_words_show_no_switch(text: str) -> None:
    assert cues(text) == set()


def test_the_component_adds_the_two_cues_as_one_dense_sentence_feature() -> None:
    component = OperatorSwitch(OperatorSwitch.get_default_config(), "switching")
    [message] = component.process([Message(data={TEXT: "je pars chez Orange"})])
    _, sentence = message.get_dense_features(TEXT)
    assert sentence.features.tolist() == [[0.0, 1.0]]


def test_a_payment_arriving_at_yours_is_no_switch() -> None:
    assert cues("mon virement est arrivé chez vous ?") == set()
