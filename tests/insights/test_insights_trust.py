"""Insights people can trust: a weak guess is shown, never chosen in advance; greetings and thanks
are never problems; "needs new content" is an editor's decision of its own; questions no
help-centre article matched form groups of their own; the trends count the team's local days."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.core.db import handoffs
from bot.core.settings import Settings
from bot.insights import Insights
from bot.insights.model import SUGGESTION_MIN_CONFIDENCE
from bot.insights.pleasantries import is_pleasantry
from testkit.databases import insert_conversation
from tests.helpers.insights import Said, add_turns, write_tracker

NOW = datetime.now(timezone.utc)


@pytest.fixture
def insights(settings: Settings, engine: Engine) -> Iterator[Insights]:
    insights = Insights(settings, engine)
    yield insights
    insights.close()


def said(settings: Settings, *messages: Said, conversation: str | None = None) -> str:
    conversation = conversation or str(uuid.uuid4())
    write_tracker(settings, conversation, messages, NOW)
    return conversation


def test_a_weak_guess_is_shown_but_not_chosen_in_advance(settings: Settings, insights: Insights) -> None:
    weak = "kan ik mijn nummer meenemen naar het buitenland"
    sure = "wanneer komt mijn nieuwe simkaart aan"
    said(settings, Said(weak, suggestion="sim_number_porting", suggestion_confidence=0.21))
    said(settings, Said(weak + "?", suggestion="sim_number_porting", suggestion_confidence=0.25))
    said(settings, Said(sure, suggestion="sim_delivery", suggestion_confidence=0.7))
    said(settings, Said(sure + "?", suggestion="sim_delivery", suggestion_confidence=0.8))
    insights.sync()
    groups = {g.suggestion: g for g in insights.unhandled()}
    assert groups["sim_number_porting"].suggestion_confidence == pytest.approx(0.23)
    assert not groups["sim_number_porting"].confident  # shown as a guess, the editor chooses
    assert groups["sim_delivery"].suggestion_confidence == pytest.approx(0.75)
    assert groups["sim_delivery"].confident and SUGGESTION_MIN_CONFIDENCE <= 0.75
    item = groups["sim_delivery"].items[0]
    assert item.suggestion_confidence in (0.7, 0.8)


def test_greetings_and_thanks_are_never_listed_as_problems(
    settings: Settings, engine: Engine, insights: Insights
) -> None:
    for text in ("hallo", "Bonjour !", "merci beaucoup", "dank je wel!!", "thanks, bye 👋", "Goedemorgen"):
        said(settings, Said(text, intent="nlu_fallback", confidence=0.3))
    said(settings, Said("hallo, mijn factuur is veel te hoog", intent="nlu_fallback", confidence=0.3))
    # a conversation the bot failed: its last turns are unresolved, but not its greeting
    failed = said(
        settings,
        Said("goeiedag", intent="greet", confidence=0.97, minutes_ago=12),
        Said(
            "mijn simkaart werkt niet meer sinds gisteren",
            intent="sim_activation",
            confidence=0.6,
            minutes_ago=11,
        ),
    )
    with engine.begin() as conn:
        insert_conversation(conn, cid=failed)
        conn.execute(
            insert(handoffs).values(
                conversation_id=failed,
                reason="not_helped",
                priority="normal",
                priority_rank=2,
                language="nl",
                channel="web",
                created_at=NOW - timedelta(minutes=10),
            )  # fmt: skip
        )
    insights.sync()
    listed = sorted(item.text for group in insights.unhandled() for item in group.items)
    assert listed == ["hallo, mijn factuur is veel te hoog", "mijn simkaart werkt niet meer sinds gisteren"]


@pytest.mark.parametrize(
    ("text", "intent", "pleasantry"),
    [
        ("hoi!", None, True),
        ("Merci, bonne journée", None, True),
        ("ok thanks", None, True),
        ("Salut 😀", None, True),
        ("thank you so much", None, True),
        ("anything", "greet", True),
        ("bonjour, ma facture est fausse", None, False),
        ("dank je, maar mijn vraag is niet beantwoord", None, False),
        ("", None, False),
        ("??", None, False),
    ],
)
def test_what_counts_as_a_pleasantry(text: str, intent: str | None, pleasantry: bool) -> None:
    assert is_pleasantry(text, intent) is pleasantry


def test_needs_new_content_is_a_decision_of_its_own(settings: Settings, insights: Insights) -> None:
    said(settings, Said("kan ik mijn abonnement pauzeren tijdens mijn reis"))
    said(settings, Said("kan ik mijn abonnement pauzeren tijdens een reis"))
    insights.sync()
    [group] = insights.unhandled()
    ids = [item.id for item in group.items]
    assert insights.needs_content(ids, "ada") == 2
    assert insights.unhandled() == []
    [waiting] = insights.unhandled(status="needs_content")
    assert sorted(item.id for item in waiting.items) == sorted(ids)
    assert insights.export(mark=False) == {}  # not training material
    assert insights.reopen(ids, "ada") == 2
    assert [len(g.items) for g in insights.unhandled()] == [2]


ARTICLE = {"id": "roaming_outside_eu", "confidence": 0.08, "conditional": 0.2, "lexical": 0.1}


def test_questions_no_article_matched_are_grouped_apart(settings: Settings, insights: Insights) -> None:
    """The help centre was searched, nothing matched and the bot said it cannot answer yet: an
    article to write. Asked to rephrase with topics, or answered by a model without a help
    centre, the same words stay "not understood"."""
    missing = "kan ik mijn abonnement pauzeren tijdens mijn reis"
    said(settings, Said(missing, article=ARTICLE, reply="utter_clarify_topics", minutes_ago=3))
    said(settings, Said(missing + "?", article=ARTICLE, reply="utter_clarify_topics", minutes_ago=2))
    said(settings, Said(missing + "!", article=ARTICLE, reply="utter_clarify", minutes_ago=1))
    said(settings, Said(missing + " ??", reply="utter_clarify_topics", minutes_ago=1))
    said(
        settings,
        Said("puis-je suspendre mon abonnement", "fr", article=ARTICLE, reply="utter_clarify_topics"),
    )
    insights.sync()
    groups = insights.unhandled()
    assert sorted((g.language, g.reasons.get("no_article", 0), len(g.items)) for g in groups) == [
        ("fr", 1, 1),
        ("nl", 0, 2),  # asked to rephrase; and a model without the help centre
        ("nl", 2, 2),
    ]
    [missing_nl] = [g for g in groups if g.language == "nl" and "no_article" in g.reasons]
    assert missing_nl.reasons == {"no_article": 2}
    assert {item.reason for item in missing_nl.items} == {"no_article"}
    # two days: "3 minutes ago" may be yesterday in the team's zone when this runs just after midnight
    assert sum(insights.trends(days=2).per_topic()["no_article"]) == 3


def test_a_message_that_only_names_a_topic_is_no_content_to_write(
    settings: Settings, insights: Insights
) -> None:
    """ "factuur" got the bill's menu (understood as a topic): not listed for the editors."""
    said(settings, Said("factuur", intent="nlu_fallback", confidence=1.0, topic="bill"))
    said(settings, Said("kan ik mijn abonnement pauzeren", intent="nlu_fallback", confidence=0.2))
    insights.sync()
    listed = [item.text for group in insights.unhandled() for item in group.items]
    assert listed == ["kan ik mijn abonnement pauzeren"]


def test_trends_count_the_teams_local_days(settings: Settings, engine: Engine, insights: Insights) -> None:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
    add_turns(engine, 2, "billing", datetime(2025, 3, 9, 23, 30, tzinfo=timezone.utc))  # 10 March 00:30 CET
    add_turns(engine, 1, "billing", datetime(2025, 3, 9, 22, 30, tzinfo=timezone.utc))  # 9 March 23:30 CET
    trends = insights.trends(days=2, now=now)
    assert [day.isoformat() for day in trends.days] == ["2025-03-09", "2025-03-10"]
    assert trends.per_topic()["billing"] == [1, 2]
