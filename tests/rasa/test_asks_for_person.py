"""AsksForAPerson: an explicit request for a person beside a question goes to a person."""

from __future__ import annotations

import pytest

from bot.rasa.nlu.asks_for_person import AsksForAPerson, asks_for_a_person
from tests.helpers.nlu import classified


@pytest.mark.parametrize(
    "text",
    [
        "ma facture est trop élevée et je veux parler à quelqu'un",
        "ma facture est trop élevée, passez-moi un conseiller",
        "je voudrais parler à un conseiller pour ma facture",
        "internet marche pas, je veux un conseiller",
        "je veux parler avec quelqu'un de chez vous",
        "mijn factuur is te hoog en ik wil iemand spreken",
        "ik wil met een medewerker praten over mijn factuur",
        "mijn sim werkt niet, verbind me door met een medewerker",
        "kan ik iemand van de klantendienst spreken over mijn factuur",
        "ik wil een mens, mijn factuur klopt niet",
        "my bill is too high and i want to talk to a human",
        "my bill is too high, let me talk to an agent",
        "no signal at home since monday, can I speak to someone please",
        "I need to speak with customer service about my roaming charges",
        "transfer me to an agent, my esim doesn't work",
        "mijn 4g werkt niet. kan ik iemand van de klantendienst spreken?",  # "niet" negates the 4g
        "mijn internet werkt niet en ik wil iemand spreken",
    ],
)
def test_a_request_for_a_person_is_read_beside_a_question(text: str) -> None:
    assert asks_for_a_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "how much does it cost to talk to someone in Morocco",  # a call the customer makes
        "bellen met iemand in het buitenland, wat kost dat",
        "je veux parler à quelqu'un au Maroc, c'est combien",
        "I want to talk to my daughter in Spain, is roaming included",
        "I don't want to talk to a person, just tell me",  # negated
        "ik wil niet met iemand praten",
        "je ne veux pas parler à quelqu'un",
        "ik hoef geen medewerker, zeg het gewoon",
        "no need to talk to an agent, just tell me",
        "can I have a person added to my plan",  # a line, not a person of ours
        "est-ce que je peux avoir une personne supplémentaire sur mon abonnement",
        "how do I transfer my number",
        "passez-moi le code puk",
        "kan ik data geven aan iemand anders",
        "comment parler à mon répondeur",
    ],
)
def test_calls_lines_and_negations_are_no_request(text: str) -> None:
    assert not asks_for_a_person(text)


# A hang guard, not a speed target: the router lets 2,000 characters through.
@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text", ["i want to talk " * 140, "ik wil met " * 200 + "x", "je veux parler " * 130]
)
def test_long_input_is_read_without_hanging(text: str) -> None:
    assert not asks_for_a_person(text)


def test_the_request_wins_over_an_answer_but_not_over_a_sensitive_case() -> None:
    component = AsksForAPerson.create({}, None, None, None)
    bill = classified(
        "ma facture est trop élevée et je veux parler à quelqu'un", "billing_higher_than_usual", 0.66
    )
    bill.set(
        "intent_ranking", [{"name": "billing_higher_than_usual", "confidence": 0.66}], add_to_output=True
    )
    fraud = classified("someone stole my phone, I want to talk to an agent", "sensitive_fraud", 0.8)
    question = classified("how do I set up voicemail", "knowledge", 0.9)
    asked, kept, other = component.process([bill, fraud, question])
    assert asked.get("intent") == {"name": "request_human", "confidence": 1.0} and asked.get(
        "asks_for_a_person"
    )
    assert [e["name"] for e in asked.get("intent_ranking")] == ["request_human", "billing_higher_than_usual"]
    assert kept.get("intent")["name"] == "sensitive_fraud" and not kept.get("asks_for_a_person")
    assert other.get("intent")["name"] == "knowledge"


def test_a_weak_request_for_a_person_becomes_a_sure_one() -> None:
    component = AsksForAPerson.create({}, None, None, None)
    text = "mijn 4g werkt niet. kan ik iemand van de klantendienst spreken?"
    [sure] = component.process([classified(text, "request_human", 0.38)])
    assert sure.get("intent") == {"name": "request_human", "confidence": 1.0}
    assert sure.get("asks_for_a_person")
