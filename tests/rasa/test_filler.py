"""A greeting before and a help request after a problem: the encoders read the problem alone."""

from __future__ import annotations

import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.filler import without_filler
from bot.rasa.nlu.shorthand import SHORTHAND_TEXT, ChatShorthand, text_for_features


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        (
            "mijn internet is super traag sinds gisteren, wat kan ik doen?",
            "mijn internet is super traag sinds gisteren",
        ),
        (
            "Hello, mijn internet is traag sinds gisteren, kunnen jullie helpen?",
            "mijn internet is traag sinds gisteren",
        ),
        ("ma facture est trop élevée, vous pouvez m’aider ?", "ma facture est trop élevée"),
        ("bonjour, ma sim ne marche plus, qu'est-ce que je dois faire ?", "ma sim ne marche plus"),
        ("Ma facture est trop élevée. Je fais quoi maintenant ?", "Ma facture est trop élevée"),
        ("my texts won't send, any ideas?", "my texts won't send"),
        ("no signal at home, what can i do about it?", "no signal at home"),
        ("mijn sms komt niet aan, iemand een idee?", "mijn sms komt niet aan"),
        ("hi there, my sim is blocked pls help", "my sim is blocked"),
    ],
)
def test_greeting_and_help_request_are_dropped(typed: str, read: str) -> None:
    assert without_filler(typed) == read


@pytest.mark.parametrize(
    "typed",
    [
        "wat kan ik doen?",  # what can the assistant do: capabilities, kept as typed
        "help",
        "hello",
        "hallo wat kan ik doen",
        "hoi, mijn factuur",  # too little left to stand alone
        "I need help",
        "can you help me with my bill",  # the help request carries the topic
        "mon idée est simple je veux des idées",  # not a question "une idée ?"
        "ik wil een idee",
    ],
)
def test_short_or_topical_messages_stay_as_typed(typed: str) -> None:
    assert without_filler(typed) == typed


def test_the_encoders_read_the_problem_and_the_text_stays_as_typed() -> None:
    typed = "mijn factuur is te hoog, wat kan ik doen?"
    message = Message(data={TEXT: typed})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    ChatShorthand({}).process([message])
    assert message.get(TEXT) == typed
    assert message.get(SHORTHAND_TEXT) == "mijn factuur is te hoog"
    assert text_for_features(message) == "mijn factuur is te hoog"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "hostile",
    [
        "mijn sms werkt niet, help " + "?" * 1990 + "x",
        "help " + "? svp " * 300 + "x",
        "mijn sms werkt niet " + "help " * 400 + "x",
    ],
)
def test_a_long_run_of_question_marks_does_not_hang_the_pattern(hostile: str) -> None:
    """The closing pattern once backtracked exponentially on "help ???…?x" (24 marks: 22 s);
    a message may have 2,000 characters. Nothing here is a help request at the end."""
    assert without_filler(hostile) == hostile
