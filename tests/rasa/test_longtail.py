"""The long-tail held-out set and its scoring (bot/rasa/longtail.py), without a model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.core.taxonomy import ACCOUNT_ARTICLE_TOPICS, ACCOUNT_INTENT_TOPICS
from bot.rasa.longtail import Item, load_longtail, score


def test_each_item_keeps_the_file_it_came_from(tmp_path: Path) -> None:
    (tmp_path / "nl.yml").write_text("nl:\n  check_usage:\n    - hoeveel data nog\n", encoding="utf-8")
    (tmp_path / "account.yml").write_text(
        "nl:\n  check_usage:\n    - mijn data aub\nen:\n  account_logout:\n    - log me off\n",
        encoding="utf-8",
    )
    assert load_longtail(tmp_path) == [
        Item("nl", "check_usage", "mijn data aub", "account"),
        Item("en", "account_logout", "log me off", "account"),
        Item("nl", "check_usage", "hoeveel data nog", "nl"),
    ]


def test_an_account_question_is_also_answered_by_an_answer_that_contains_it() -> None:
    """'Has my payment arrived?' gets the payment status with the bill's answer too; in the
    general long tail the article also covers how long a transfer takes, so there it is wrong."""
    items = [
        Item("en", "payment_processing_time", "did you get my last payment", "account"),
        Item("en", "payment_processing_time", "how long does a transfer take", "en"),
        Item("en", "billing_due_date", "how much is my bill and by when", "account"),
        Item("en", "account_logout", "log me off", "account"),
    ]
    outcomes = ["billing_due_date", "billing_due_date", "payment_processing_time", "account_logout"]
    en = score(items, outcomes)["en"]
    assert (en["n"], en["right"], en["wrong"]) == (4, 2, 2)


def test_the_account_questions_cover_every_personal_answer_in_every_language() -> None:
    """At least 20 per language, labelled with what the project answers them with."""
    allowed = set(ACCOUNT_ARTICLE_TOPICS) | set(ACCOUNT_INTENT_TOPICS) | {"account_logout"}
    account = [i for i in load_longtail() if i.source == "account"]
    assert {i.label for i in account} <= allowed
    assert Counter(i.language for i in account) == {lang: 36 for lang in ("nl", "fr", "en")}
    for language in ("nl", "fr", "en"):
        assert {i.label for i in account if i.language == language} == allowed
