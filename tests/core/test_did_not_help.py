"""A customer saying in so many words that the answer did not help, in nl, fr and en."""

from __future__ import annotations

import pytest

from bot.core.did_not_help import says_it_did_not_help


@pytest.mark.parametrize(
    "text",
    [
        "that doesn't help me",
        "that didnt help at all",
        "not helpful",
        "dat helpt niet",
        "dat heeft me niet geholpen",
        "daar heb ik niets aan",
        "ça ne m'aide pas",
        "ça m'a pas aidé",
        "ça sert à rien",
    ],
)
def test_did_not_help(text: str) -> None:
    assert says_it_did_not_help(text)


@pytest.mark.parametrize(
    "text", ["no", "nee", "non merci", "no thanks", "I need help with my bill", "help", "aide-moi"]
)
def test_a_bare_no_or_a_call_for_help(text: str) -> None:
    assert not says_it_did_not_help(text)
