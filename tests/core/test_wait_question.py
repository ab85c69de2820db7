"""A waiting customer asking about the wait, in Dutch, French and English, and what is not that."""

from __future__ import annotations

import pytest

from bot.core.wait_question import asks_how_long


@pytest.mark.parametrize(
    "text",
    [
        "hoe lang nog?",
        "Hoelang moet ik nog wachten??",
        "duurt het nog lang",
        "wanneer ben ik aan de beurt",
        "hallo? is er iemand?",
        "ik wacht al zo lang",
        "wat is de wachttijd",
        "hoeveel mensen zijn er nog voor mij",
        "combien de temps encore ?",
        "ça va durer longtemps ?",
        "il y a quelqu'un ?",
        "quand est-ce qu'un conseiller va me répondre",
        "je suis toujours en attente",
        "c'est quoi le temps d'attente",
        "how long?",
        "how much longer do I have to wait",
        "when will someone answer me?",
        "hello? anyone there",
        "still waiting...",
        "what's my position in the queue",
        "how many people are ahead of me",
        "WHAT'S TAKING SO LONG",
    ],
)
def test_asks_about_the_wait(text: str) -> None:
    assert asks_how_long(text)


@pytest.mark.parametrize(
    "text",
    [
        "how long does it take to port my number to you?",
        "hoe lang duurt het voor mijn nieuwe simkaart er is?",
        "combien de temps pour recevoir ma nouvelle carte sim par la poste ?",
        "il y a quelqu'un qui a utilisé ma carte sim",
        "my internet is still down",
        "are you there?",  # addressed to whoever reads: passed on as it is
        "never mind, I found it",
        "/queue_leave",
        "",
        "how long " * 20,
    ],
)
def test_other_messages_are_not_about_the_wait(text: str) -> None:
    assert not asks_how_long(text)
