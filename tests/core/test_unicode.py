"""Text every store can hold, compared without case and accents, and read without markup."""

from __future__ import annotations

import pytest

from bot.core.unicode import fold, plain_words, well_formed, without_markup


def test_lone_surrogates_are_replaced_and_pairs_kept() -> None:
    assert well_formed("a\ud800b") == "a\ufffdb" and well_formed("😀") == "😀"


def test_folded_and_plain() -> None:
    assert fold("Liège") == "liege" and plain_words("  Laat MAAR!! ") == "laat maar"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("<b>hoe</b> activeer ik mijn esim", "hoe activeer ik mijn esim"),
        (
            '<p>Bonjour&nbsp;!</p><p>ma facture &amp; <a href="x">mon abonnement</a></p>',
            "Bonjour ! ma facture & mon abonnement",
        ),
        ("line one<br/>line two", "line one line two"),
        ("<DIV class='x'>Mijn <B>factuur</B></DIV>", "Mijn factuur"),
        ("<script>alert(1)</script> my bill", "my bill"),
        ("<STYLE type='text/css'>p {color: red}</STYLE>bonjour <script src=x></script>", "bonjour"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # nothing else: kept as typed
    ],
)
def test_markup_is_read_as_its_words(typed: str, read: str) -> None:
    assert without_markup(typed) == read


@pytest.mark.parametrize(
    "kept",
    [
        "ik <3 jullie",
        "is 5 < 10 > 2?",
        "Tom & Jerry &amp;",
        "<br/>",
        "<<<>>>",
        "",
        "Hoe betaal ik mijn factuur & mijn <abonnement>?",  # a word in brackets is what was written
        "mijn nummer is <0470 12 34 56>",
        "<bold> is no tag",
    ],
)
def test_text_without_tags_or_with_nothing_else_is_kept(kept: str) -> None:
    assert without_markup(kept) == kept
