"""asks_how_i_am: "how are you?" in the customer's words, in nl, fr and en."""

from __future__ import annotations

import pytest

from bot.core.small_talk import asks_how_i_am, says_goodbye


@pytest.mark.parametrize(
    "text",
    [
        "hoe gaat het?",
        "hoi, alles goed?",
        "goedemiddag, hoe gaat het met jou?",
        "hoe is 't ermee",
        "ça va ?",
        "ca va",
        "Comment allez-vous ?",
        "salut, tu vas bien ?",
        "la forme ?",
        "how are you?",
        "hey, how's it going",
        "how r u",
        "you ok?",
        "hi, hope you're doing well",
    ],
)
def test_how_are_you(text: str) -> None:
    assert asks_how_i_am(text)


@pytest.mark.parametrize(
    "text",
    ["hallo", "bonjour", "hi", "goedenavond", "ça va pas du tout", "ça va plus", "is my phone ok with 5g"],
)
def test_other_greetings_and_messages(text: str) -> None:
    assert not asks_how_i_am(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, bye",
        "ok thx bye",
        "merci, au revoir",
        "merci beaucoup et bonne journée",
        "bedankt, daag",
        "dank je, fijne dag nog",
        "thanks have a nice day",
        "super merci, à plus",
        "merci, à bientôt",
    ],
)
def test_goodbyes(text: str) -> None:
    assert says_goodbye(text)


@pytest.mark.parametrize(
    "text", ["thanks", "merci beaucoup", "dank je wel", "thanks, that helped", "vandaag"]
)
def test_thanks_without_a_goodbye(text: str) -> None:
    assert not says_goodbye(text)
