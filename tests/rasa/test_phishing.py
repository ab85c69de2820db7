"""A customer who says they clicked a suspicious link is a fraud case (bot/rasa/nlu/phishing.py)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.classifier import EscalationGuard
from bot.rasa.nlu.phishing import clicked_a_link


@pytest.mark.parametrize(
    "text",
    [
        "ik heb al op de link geklikt",
        "I already clicked the link",
        "j'ai déjà cliqué sur le lien",
        "oops I already clicked on the link in that text, now what",
        "ik heb op de link in die sms geklikt, wat moet ik nu doen",
        "j'ai cliqué sur le lien du sms, qu'est-ce que je dois faire",
        "I opened the link in that fake sms and entered my card details",
        "heb de link aangeklikt",
    ],
)
def test_a_click_on_a_link_is_said(text: str) -> None:
    assert clicked_a_link(text)


@pytest.mark.parametrize(
    "text",
    [
        "got a dodgy text with a link, I did NOT click it, where do I report it",  # the spam article's
        "kreeg een sms met een verdachte link, ik heb er NIET op geklikt, moet ik da ergens melden?",
        "heb nie geklikt op die link",
        "I haven't clicked the link, is it safe to delete?",
        "ik heb de link niet aangeklikt",
        "je n'ai pas cliqué sur le lien",
        "j'ai recu un sms bizarre avec un lien, j'ai pas cliqué, je fais quoi",
        "jai recu un sms soi disant de la banque avec un lien, jai rien clique",
        "oplichters sturen me sms'en met een link, niks aangeklikt, gewoon wissen?",
        "should I click the link in this message",  # not done
        "faut-il cliquer sur le lien de ce message",
        "what happens if I clicked the link?",
        "I clicked on the link in your email to reset my password but nothing happens",  # ours, failing
        "de activatielink werkt niet als ik erop geklikt heb",
        "I clicked the button in the app",  # no link
        "I opened the link you sent but it doesn't say how much it costs",  # the bot's own link
        "ik heb op de link hierboven geklikt maar daar staat het niet",
        "j'ai cliqué sur le lien que vous m'avez donné, je ne trouve pas",
        "",
    ],
)
def test_no_click_or_our_own_link_is_no_fraud(text: str) -> None:
    assert not clicked_a_link(text)


def test_the_guard_hands_a_click_to_a_person_whatever_the_classifier_said() -> None:
    m = Message({"text": "I already clicked the link"})
    m.set("intent", {"name": "account_logout", "confidence": 0.41})
    m.set("intent_ranking", [{"name": "account_logout", "confidence": 0.41}])
    [guarded] = EscalationGuard({"escalation_threshold": 0.3}).process([m])
    assert guarded.get("intent") == {"name": "sensitive_fraud", "confidence": 1.0}
    assert guarded.get("intent_ranking") == [{"name": "account_logout", "confidence": 0.41}]
