"""What a waiting customer says when a person is no longer needed, and the yes to leaving."""

from __future__ import annotations

import pytest

from bot.core.withdrawal import accepts, confirms, withdraws


@pytest.mark.parametrize(
    "text",
    [
        "never mind, I found it myself",
        "nevermind",
        "forget it, it's working again",
        "it's sorted now thanks",
        "I don't need anyone anymore",
        "laat maar, het is al opgelost",
        "Laat maar zitten",
        "het werkt weer, niet meer nodig",
        "ik heb het al gevonden, bedankt",
        "c'est bon, ça remarche",
        "laissez tomber",
        "j'ai trouvé merci",
        "plus besoin, problème résolu",
        # changed their mind (a cancellation they asked for, say)
        "neen toch niet",
        "ik heb me bedacht",
        "finalement non",
        "j'ai changé d'avis",
        "I changed my mind",
    ],
)
def test_no_longer_needed(text: str) -> None:
    assert withdraws(text)


@pytest.mark.parametrize(
    "text",
    [
        "my internet is still down",
        "are you there?",
        "mijn factuur is nog altijd te hoog",
        "je n'ai toujours pas de réseau",
        "het werkt toch niet",  # a problem that goes on
        "toch niet opgelost",
        "/queue_leave",
        "",
        "never mind " + "the bill, my internet is still down and nobody answers me " * 2,  # a long story
    ],
)
def test_everything_else_still_needs_a_person(text: str) -> None:
    assert not withdraws(text)


@pytest.mark.parametrize("text", ["yes", "yes please", "ja graag", "oui", "d'accord", "ok"])
def test_a_short_yes_confirms(text: str) -> None:
    assert confirms(text)


@pytest.mark.parametrize("text", ["no", "nee", "yes but my bill", "", "oui mais non"])
def test_anything_else_is_no_yes(text: str) -> None:
    assert not confirms(text)


@pytest.mark.parametrize("text", ["ja", "ja graag", "yes please", "oui", "oui svp", "sure"])
def test_a_yes_accepts_an_offer(text: str) -> None:
    assert accepts(text)


@pytest.mark.parametrize("text", ["ok", "ok merci", "ja bedankt", "thanks", "nee", "ja maar mijn factuur"])
def test_an_acknowledgement_or_anything_else_accepts_nothing(text: str) -> None:
    assert not accepts(text)
