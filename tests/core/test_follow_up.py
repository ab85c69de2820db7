"""What a message names: a question about the cost or time of something it does not name."""

from __future__ import annotations

import pytest

from bot.core.follow_up import names_no_topic


@pytest.mark.parametrize(
    "text",
    [
        "how much does it cost",
        "combien ça coûte ?",
        "hoeveel kost dat",
        "How long does it take?",
        "hoe lang duurt het",
    ],
)
def test_cost_or_time_of_nothing_named(text: str) -> None:
    assert names_no_topic(text)


@pytest.mark.parametrize(
    "text",
    [
        "how much is roaming",
        "combien coûte une esim",
        "hoeveel kost bellen naar marokko",
        "how much data do I have left",
        "kan ik dat afzetten",  # asks to do something, not what it costs
        "quand ?",  # one word: no question of its own
        "/billing_roaming_charges",
        "",
    ],
)
def test_a_named_topic_or_another_question(text: str) -> None:
    assert not names_no_topic(text)
