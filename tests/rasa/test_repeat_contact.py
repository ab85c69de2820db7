"""A customer who says they have asked before is handed over as a complaint."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.repeat_contact import RepeatContact, asked_before


@pytest.mark.parametrize(
    "text",
    [
        "I've asked this 3 times already and nobody answers!! my internet doesn't work",
        "this is the third time I'm asking, my bill is wrong",
        "I ALREADY ASKED YESTERDAY AND NO ONE REPLIED. WHERE IS MY REFUND",
        "how many times do I have to ask for my refund",
        "still no answer about my porting request",
        "ik heb dit al 3 keer gevraagd en mijn internet werkt nog altijd niet",
        "voor de vierde keer: mijn sim werkt niet!!",
        "hoe vaak moet ik het nog vragen, mijn factuur klopt niet",
        "dit is de derde keer dat ik bel voor hetzelfde",
        "ik heb jullie al 5 keer gebeld over mijn netwerk",
        "je l'ai déjà demandé trois fois, internet marche pas",
        "ÇA FAIT 3 FOIS QUE JE DEMANDE, MA FACTURE EST FAUSSE",
        "c'est la 4e fois que je vous écris pour ma sim",
        "combien de fois je dois demander mon remboursement",
        "personne ne me répond, ma facture est fausse",
        "IK HEB AL 3 KEER GEBELD EN NOG STEEDS GEEN OPLOSSING VOOR MIJN FACTUUR",
        "I've called 3 times and still no solution for my bill",
        "j'ai déjà appelé 3 fois et toujours pas de solution pour ma facture",
        "mijn probleem met de roaming is nog altijd niet opgelost",
        "toujours rien de réglé pour mon portage",
    ],
)
def test_a_repeat_contact_in_three_languages(text: str) -> None:
    assert asked_before(text)


@pytest.mark.parametrize(
    "text",
    [
        # a repeated payment or event, not a repeated contact
        "can I ask why I paid 2 times this month",
        "mag ik vragen waarom ik 2 keer betaald heb",
        "je voudrais demander pourquoi j'ai payé 2 fois",
        "for the third time this month my network is down",
        "voor de derde keer deze week valt mijn netwerk weg",
        "pour la troisième fois ce mois-ci pas de réseau",
        # calls to others, and nobody picking up
        "I called Morocco three times and got charged a lot",
        "ik heb 3 keer naar Marokko gebeld",
        "nobody answers because my number is hidden",
        "j'appelle ma mère et personne ne répond",
        # a symptom that goes on, not a problem brought to us before
        "my network still drops every evening",
        "mijn internet werkt nog steeds niet na het herstarten",
        "toujours pas de réseau dans ma cuisine",
        # tries, not contacts
        "I already restarted my phone",
        "entered my pin wrong three times now it asks for puk",
        "j'ai tapé 3 fois le mauvais code pin",
        "al 2 keer reclame uitgezet en toch weer een promo sms",
        "",
        '/inform_code{"code": "123456"}',
        "<b>third</b>",
    ],
)
def test_no_repeat_contact(text: str) -> None:
    assert not asked_before(text)


def message(text: str, intent: str, ranking: dict[str, float]) -> Message:
    return Message(
        data={
            TEXT: text,
            INTENT: {"name": intent, "confidence": ranking.get(intent, 0.3)},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking.items()],
        }
    )


def decide(msg: Message, **config: Any) -> Message:
    component = RepeatContact({**RepeatContact.get_default_config(), **config})
    [out] = component.process([msg])
    return out


def test_a_topic_becomes_a_complaint_when_the_customer_asked_before() -> None:
    msg = decide(
        message(
            "3rd time I'm asking, my data doesn't work", "coverage_slow_data", {"coverage_slow_data": 0.8}
        )
    )
    assert msg.get(INTENT) == {"name": "sensitive_complaint", "confidence": 1.0}
    assert msg.get("repeat_contact") is True


def test_an_unsure_other_sensitive_case_becomes_a_complaint() -> None:
    # the Dutch repeat contact the classifier once took for fraud ("block your SIM now")
    ranking = {"sensitive_fraud": 0.31, "coverage_slow_data": 0.3}
    msg = decide(
        message("ik heb dit al 3 keer gevraagd, mijn internet werkt niet", "sensitive_fraud", ranking)
    )
    assert msg.get(INTENT)["name"] == "sensitive_complaint"


def test_a_sure_other_sensitive_case_and_a_request_for_a_person_are_kept() -> None:
    fraud = decide(
        message("third time I report it: someone uses my sim", "sensitive_fraud", {"sensitive_fraud": 0.7})
    )
    assert fraud.get(INTENT)["name"] == "sensitive_fraud"
    person = decide(message("asked 3 times, give me a human", "request_human", {"request_human": 0.4}))
    assert person.get(INTENT)["name"] == "request_human"


def test_without_the_cue_nothing_changes() -> None:
    msg = decide(message("my data doesn't work", "coverage_slow_data", {"coverage_slow_data": 0.8}))
    assert msg.get(INTENT)["name"] == "coverage_slow_data"
    assert msg.get("repeat_contact") is None
