"""bot.core.follow_up.identity_step: what a customer gives for the identity check, as stored."""

from __future__ import annotations

import pytest

from bot.core.follow_up import identity_step
from bot.core.identity import CODE_MASK
from bot.core.masking import mask_text


@pytest.mark.parametrize(
    "text",
    [
        CODE_MASK,
        mask_text("0470 12 34 56"),
        mask_text("mijn nummer is 0470 12 34 56"),
        mask_text("voilà : +32 485 11 22 33"),
        "MC1000001",
        "klantnummer mc-1000001",
    ],
)
def test_a_number_or_code_for_the_check_is_an_identity_step(text: str) -> None:
    assert identity_step(text)


@pytest.mark.parametrize(
    "text",
    [
        "hoeveel data heb ik nog?",
        "et ma dernière recharge c'était quand",
        "ok",
        "1234",  # a PIN or an amount is no number of the check
        mask_text("ik word gebeld door 0470 12 34 56 en die persoon scheldt me uit, wat kan ik doen"),
        "[phone",  # not a mask
    ],
)
def test_a_question_or_a_number_in_a_question_is_not(text: str) -> None:
    assert not identity_step(text)
