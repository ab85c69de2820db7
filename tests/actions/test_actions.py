"""Custom actions on real rasa_sdk Trackers with a CollectingDispatcher."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions import actions as actions_module
from actions.actions import (
    ActionSessionStart,
    format_local,
    last_bot_response,
)
from actions.clarify import ActionClarify
from actions.knowledge import ActionAnswerArticle
from bot.core.settings import Settings
from tests.helpers.trackers import asked, run, said, tracker


def test_clarify_offers_likely_topics_as_buttons_in_language() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "billing_refund", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
        {"name": "billing_invoice_copy", "confidence": 0.25},
        {"name": "sim_esim", "confidence": 0.01},
    ]
    _, messages = run(
        ActionClarify(), tracker("euh facture truc", "nlu_fallback", language="fr", ranking=ranking)
    )
    assert [m["response"] for m in messages] == ["utter_clarify"]
    assert messages[0]["buttons"] == [
        {"title": "Remboursement ou note de crédit", "payload": "/billing_refund"},
        {"title": "Copie d'une facture", "payload": "/billing_invoice_copy"},
        {"title": "Aucun : un conseiller", "payload": "/request_human"},
    ]


FALLBACK_RANKING = [
    {"name": "knowledge", "confidence": 0.45},
    {"name": "billing_higher_than_usual", "confidence": 0.2},
    {"name": "prepaid_balance_unknown_intent", "confidence": 0.1},
    {"name": "billing_explain_bill", "confidence": 0.1},
    {"name": "billing_due_date", "confidence": 0.08},
]


def test_clarify_offers_the_likely_article_first_and_pressing_it_answers_that_article() -> None:
    """ "Did you mean ...?": the article the help centre's second stage prefers, titled in the
    customer's language, then the likeliest intents, then a person."""
    article = {"id": "check_usage", "confidence": 0.45, "conditional": 0.8, "lexical": 0.2}
    t = tracker(
        "g plus de gigas ou pas", "nlu_fallback", language="fr", ranking=FALLBACK_RANKING, article=article
    )
    _, messages = run(ActionClarify(), t)
    assert [m["response"] for m in messages] == ["utter_clarify"]
    assert messages[0]["buttons"] == [
        {
            "title": "Suivre votre consommation de data, minutes et SMS",
            "payload": '/knowledge{"article_id": "check_usage"}',
        },
        {"title": "Facture plus élevée", "payload": "/billing_higher_than_usual"},
        {"title": "Comprendre ma facture", "payload": "/billing_explain_bill"},
        {"title": "Aucun : un conseiller", "payload": "/request_human"},
    ]
    pressed = tracker(
        messages[0]["buttons"][0]["payload"],
        "knowledge",
        language="fr",
        entities=[{"entity": "article_id", "value": "call_forwarding"}],
    )
    _, answer = run(ActionAnswerArticle(), pressed)
    assert [m["response"] for m in answer] == ["utter_article", "utter_did_this_help"]
    assert answer[0]["link"] == "https://help.mila-mobile.example/fr/call_forwarding"


@pytest.mark.parametrize(
    "article",
    [
        {"id": "check_usage", "confidence": 0.45, "conditional": 0.4, "lexical": 0.9},  # not preferred
        {"id": "check_usage", "confidence": 0.1, "conditional": 0.9, "lexical": 0.9},  # implausible
        {"id": "no_such_article", "confidence": 0.6, "conditional": 0.9, "lexical": 0.9},
    ],
)
def test_clarify_offers_no_article_that_is_not_a_plausible_one(article: dict) -> None:
    t = tracker("euh", "nlu_fallback", language="en", ranking=FALLBACK_RANKING, article=article)
    _, messages = run(ActionClarify(), t)
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/billing_higher_than_usual",
        "/billing_explain_bill",
        "/billing_due_date",
        "/request_human",
    ]


def test_clarify_without_candidates_asks_to_rephrase() -> None:
    _, messages = run(
        ActionClarify(), tracker("??", "nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 1}])
    )
    assert said(messages) == [("utter_clarify_topics", {})]
    assert messages[0]["buttons"] == [{"title": "Een medewerker spreken", "payload": "/request_human"}]


@pytest.mark.parametrize(
    ("language", "name", "first", "cancel"),
    [
        ("nl", "je abonnement", "Onze abonnementen en prijzen", "Opzeggen"),
        ("fr", "votre abonnement", "Nos abonnements et leurs prix", "Résilier"),
        ("en", "your plan", "Our plans and prices", "Cancel"),
    ],
)
def test_a_bare_topic_gets_its_menu_in_the_customers_language(
    language: str, name: str, first: str, cancel: str
) -> None:
    """ "mon abonnement": which question about it? Articles by their title, intents by their
    label, then a person."""
    t = tracker("mon abonnement", "nlu_fallback", language=language, topic="plan")
    _, messages = run(ActionClarify(), t)
    assert said(messages) == [("utter_clarify_topic", {"topic_name": name})]
    buttons = messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        '/knowledge{"article_id": "plans_overview"}',
        '/knowledge{"article_id": "change_plan"}',
        '/knowledge{"article_id": "contract_duration_end"}',
        "/sensitive_cancellation",
        "/request_human",
    ]
    assert (buttons[0]["title"], buttons[3]["title"]) == (first, cancel)


def test_a_topic_named_again_after_its_menu_goes_to_a_person() -> None:
    class Escalate:
        def __init__(self) -> None:
            self.reasons: list[str] = []

        async def run(self, dispatcher: object, tracker: object, domain: object, reason: str) -> list:
            self.reasons.append(reason)
            return []

    escalate = Escalate()
    t = tracker("factuur!!", "nlu_fallback", topic="bill")
    t.events = asked("utter_clarify_topic")
    _, messages = run(ActionClarify(escalate), t)  # type: ignore[arg-type]
    assert messages == [] and escalate.reasons == ["misunderstood"]
    t.events = asked("utter_clarify")  # after a clarification, naming a topic is an answer to it
    _, messages = run(ActionClarify(escalate), t)  # type: ignore[arg-type]
    assert [m["response"] for m in messages] == ["utter_clarify_topic"]


def test_session_start_sets_persona_and_language_from_first_message_metadata() -> None:
    settings = Settings.from_env({"BOT_NAME": "Nora", "DEFAULT_LANGUAGE": "en"})
    t = Tracker(
        "c",
        {"session_started_metadata": {"language": "fr"}, "place": "gent", "language": None},
        {},
        [],
        False,
        None,
        {},
        None,
    )
    events, messages = run(ActionSessionStart(settings), t)
    assert messages == []
    assert events == [
        SessionStarted(),
        SlotSet("place", "gent"),
        SlotSet("language", "fr"),
        SlotSet("bot_name", "Nora"),
        ActionExecuted("action_listen"),
    ]


def test_session_start_falls_back_to_carried_language_then_default() -> None:
    settings = Settings.from_env({"DEFAULT_LANGUAGE": "en"})
    carried = Tracker("c", {"language": "nl"}, {}, [], False, None, {}, None)
    assert SlotSet("language", "nl") in run(ActionSessionStart(settings), carried)[0]
    fresh = Tracker("c", {}, {}, [], False, None, {}, None)
    assert SlotSet("language", "en") in run(ActionSessionStart(settings), fresh)[0]


def test_times_are_shown_in_brussels_time() -> None:
    now = datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
    assert format_local(datetime(2026, 7, 1, 12, 30, tzinfo=timezone.utc), now) == "14:30"
    assert format_local(datetime(2026, 7, 2, 12, 30, tzinfo=timezone.utc), now) == "02/07 14:30"


def test_times_are_shown_in_the_configured_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    lisbon = Settings.from_env({"TIME_ZONE": "Europe/Lisbon", "COVERAGE_PROVIDER": "demo"})
    monkeypatch.setattr(actions_module, "_settings", lambda: lisbon)
    now = datetime(2026, 7, 1, 22, 0, tzinfo=timezone.utc)  # 23:00 in Lisbon, already 2 July in Brussels
    assert format_local(datetime(2026, 7, 1, 22, 30, tzinfo=timezone.utc), now) == "23:30"
    assert format_local(datetime(2026, 7, 2, 8, 0, tzinfo=timezone.utc), now) == "02/07 09:00"


def test_last_bot_response_looks_only_at_the_turn_before_the_latest_message() -> None:
    t = tracker("x", "greet")
    t.events = asked("utter_ask_place")
    assert last_bot_response(t) == "utter_ask_place"
    t.events = [
        {"event": "bot", "metadata": {"utter_action": "utter_greet"}},
        {"event": "user"},
        {"event": "user"},
    ]
    assert last_bot_response(t) is None
