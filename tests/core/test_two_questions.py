"""Where a message holds two questions (bot/core/two_questions.py)."""

from __future__ import annotations

import pytest

from bot.core.two_questions import CLEAR, answer_reading, answers_both, both_answered, question_parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "hoe herlaad ik mijn prepaid kaart? en hoe stel ik mijn voicemail in?",
            ("hoe herlaad ik mijn prepaid kaart?", "hoe stel ik mijn voicemail in?"),
        ),
        (
            "how do I top up my prepaid? also how do I turn off voicemail",
            ("how do I top up my prepaid?", "how do I turn off voicemail"),
        ),
        (
            "how do I top up my prepaid and how do I turn off voicemail",
            ("how do I top up my prepaid", "how do I turn off voicemail"),
        ),
        (
            "je veux activer le roaming. et aussi comment changer mon code pin ?",
            ("je veux activer le roaming", "comment changer mon code pin ?"),
        ),
        (
            "kan ik met bancontact betalen en wanneer moet ik betalen",
            ("kan ik met bancontact betalen", "wanneer moet ik betalen"),
        ),
        (
            "hallo, hoe herlaad ik mijn kaart en hoe stel ik mijn voicemail in",  # a greeting first
            ("hallo, hoe herlaad ik mijn kaart", "hoe stel ik mijn voicemail in"),
        ),
        (
            "Bonjour ! je voudrais activer le roaming et comment changer mon code pin ?",
            ("Bonjour ! je voudrais activer le roaming", "comment changer mon code pin ?"),
        ),
        (
            "Comment activer ma eSIM ?? Et combien coûte un appel vers le Maroc",
            ("Comment activer ma eSIM?", "combien coûte un appel vers le Maroc"),
        ),
    ],
)
def test_two_questions_split_at_their_boundary(text: str, parts: tuple[str, str]) -> None:
    assert question_parts(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "how do I set up voicemail",  # one question
        "I lost my phone. How do I block my SIM?",  # context, then the question
        "ik ben verhuisd en kan niet meer bellen",  # a story: no question first
        "hallo, ik ben verhuisd en hoe zit het nu",
        "my phone can't connect and can't call",
        "hoi! hoe stel ik voicemail in?",  # a greeting is no question
        "how do I top up? and then?",  # the second leans on the first
        "???  what",
        "",
        "how do I top up? " + "and how do I pay " * 30,  # a story, not two questions
    ],
)
def test_one_question_stays_whole(text: str) -> None:
    assert question_parts(text) is None


def parsed(intent: str, confidence: float, article: dict | None = None) -> dict:
    return {"intent": {"name": intent, "confidence": confidence}, **({"article": article} if article else {})}


def test_a_clear_part_is_an_answer_or_an_article() -> None:
    assert answer_reading(parsed("sim_pin_puk", 0.93)) == ("sim_pin_puk", 0.93)
    article = {"id": "voicemail_disable", "conditional": 0.97}
    assert answer_reading(parsed("knowledge", 0.9, article)) == ("knowledge:voicemail_disable", 0.9)


@pytest.mark.parametrize(
    "reading",
    [
        parsed("sim_pin_puk", 0.6),  # unsure
        parsed("knowledge", 0.9, {"id": "voicemail_disable", "conditional": 0.5}),  # which article?
    ],
)
def test_an_unsure_part_is_not_clear(reading: dict) -> None:
    found = answer_reading(reading)
    assert found is not None and found[1] < CLEAR


@pytest.mark.parametrize(
    "reading",
    [
        parsed("knowledge", 0.9),
        parsed("sensitive_fraud", 0.99),  # for a person: the message stays whole for the guard
        parsed("request_human", 0.99),
        parsed("out_of_scope", 0.95),
        parsed("nlu_fallback", 0.95),
        parsed("thanks", 0.99),
        {},
    ],
)
def test_an_unclear_or_sensitive_part_is_no_answer(reading: dict) -> None:
    assert answer_reading(reading) is None


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "my bill is too high and when do i have to pay it?",
            ("my bill is too high", "when do i have to pay it?"),
        ),
        (
            "mijn factuur is veel te hoog en wanneer moet ik die betalen?",
            ("mijn factuur is veel te hoog", "wanneer moet ik die betalen?"),
        ),
        (
            "ma facture est trop élevée et quand est-ce que je dois la payer ?",
            ("ma facture est trop élevée", "quand est-ce que je dois la payer ?"),
        ),
    ],
)
def test_a_statement_splits_before_a_full_question(text: str, parts: tuple[str, str]) -> None:
    """A complaint and a question: the router answers both when each is clear on its own."""
    assert question_parts(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "ik ben verhuisd en kan niet meer bellen",  # "kan" goes on with the story
        "my internet stopped and how is that possible",  # too short a question of its own: leans back
        "je suis en Espagne et comment ça se fait",
        "i'm abroad and can i still call home for free?",
    ],
)
def test_a_statement_keeps_a_leaning_question(text: str) -> None:
    assert question_parts(text) is None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (("knowledge:esim", 0.67), ("knowledge:international_calls_from_home", 0.97), True),
        (("sim_esim", 0.97), ("coverage_5g", 0.62), True),
        (("sim_esim", 0.97), ("coverage_5g", 0.5), False),  # the other part too unsure
        (("sim_esim", 0.75), ("coverage_5g", 0.7), False),  # neither clear
        (("sim_esim", 0.97), ("sim_esim", 0.9), False),  # the same question twice
        (("sim_esim", 0.97), None, False),  # a part that is no answer
    ],
)
def test_both_parts_are_answered_when_one_is_clear_and_the_other_likely(
    first: tuple[str, float] | None, second: tuple[str, float] | None, expected: bool
) -> None:
    """ "hoe activeer ik mijn esim? en hoeveel kost bellen naar marokko?" (0.67 and 0.97) was read
    whole and got only the Morocco answer."""
    assert both_answered(first, second) is expected
    assert both_answered(second, first) is expected


def test_an_article_reading_is_as_sure_as_its_less_sure_half() -> None:
    reading = answer_reading(parsed("knowledge", 0.9, {"id": "volte", "conditional": 0.65}))
    assert reading == ("knowledge:volte", 0.65)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoe activeer ik mijn esim? en hoeveel kost bellen naar marokko?", True),
        ("how do I top up my prepaid and how do I turn off voicemail", True),  # a question first
        ("I'm in Spain and how do I turn on roaming on my phone?", False),  # a statement: context
    ],
)
def test_a_likely_part_is_enough_only_after_a_question(text: str, expected: bool) -> None:
    """After a statement both parts must be clear: "I'm in Spain" may be only context."""
    parts = question_parts(text)
    assert parts is not None
    assert answers_both(text, parts, ("coverage_check_place", 0.65), ("knowledge:roaming", 0.95)) is expected
    assert answers_both(text, parts, ("coverage_check_place", 0.85), ("knowledge:roaming", 0.95))
