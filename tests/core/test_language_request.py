"""A message that only asks to go on in another language switches to it (and nothing else does)."""

from __future__ import annotations

import pytest

from bot.core.language import ASKED, Detection, choose_language
from bot.core.language_request import asked_language


class Dutch:
    """A detector sure that every message is Dutch."""

    def detect(self, text: str) -> Detection:
        return Detection("nl", 0.99, 0.98)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can we speak english please", "en"),
        ("Could you reply in Dutch please?", "nl"),
        ("English?", "en"),
        ("switch to english", "en"),
        ("kan het in het nederlands?", "nl"),
        ("Nederlands aub", "nl"),
        ("spreekt u Frans?", "fr"),
        ("Kunnen we in het Frans verder?", "fr"),
        ("en français svp", "fr"),
        ("parlez-vous néerlandais ?", "nl"),
        ("Est-ce que vous parlez anglais?", "en"),
        ("peut-on continuer en néerlandais s'il vous plaît", "nl"),
        ("anglais stp", "en"),
    ],
)
def test_a_request_for_a_language_names_it(text: str, language: str) -> None:
    assert asked_language(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "my bill is in French, can I get it in Dutch?",  # the invoice's language: a question for Rasa
        "je veux mes factures en néerlandais",
        "ik wil mijn factuur in het Engels",
        "I don't speak Dutch",  # no language asked for
        "je ne parle pas anglais",
        "ik spreek geen Frans",
        "english or french",  # two languages
        "ik ben Frans",
        "le forfait anglais",
        "/language_en",  # a payload
        "can we speak english please " + "and also " * 10,
    ],
)
def test_other_messages_ask_for_no_language(text: str) -> None:
    assert asked_language(text) is None


def test_the_request_decides_the_language_of_a_conversation_under_way() -> None:
    # The detector would keep Dutch: the request wins, with its own source.
    choice = choose_language(
        "spreek je Engels",
        current="nl",
        locale=None,
        default="nl",
        detector=Dutch(),
        threshold=0.7,
    )
    assert (choice.language, choice.source) == ("en", ASKED)
