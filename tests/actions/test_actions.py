"""Custom actions on real rasa_sdk Trackers with a CollectingDispatcher."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from actions import actions as actions_module
from actions.actions import (
    ActionClarify,
    ActionCoverage5G,
    ActionCoverageCheck,
    ActionOutageStatus,
    ActionSessionStart,
    format_local,
    last_bot_response,
)
from bot.connectors.coverage import demo_provider
from bot.core.db import outages
from bot.core.outages import OutageRepository
from bot.core.settings import Settings


def tracker(
    text: str,
    intent: str,
    *,
    language: str = "nl",
    entities: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    return Tracker(
        sender_id="conv-1",
        slots={"language": language, **(slots or {})},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return events, dispatcher.messages


def said(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(response name, template variables) for each message."""
    plain = {"text", "buttons", "image", "elements", "attachment", "template", "response", "custom"}
    return [(m["response"], {k: v for k, v in m.items() if k not in plain}) for m in messages]


@pytest.fixture(autouse=True)
def demo_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the demo data: the actions' provider is the demo CSV
    (COVERAGE_PROVIDER=demo; without it, outside a demo, there is no coverage data)."""
    demo = Settings.from_env({**os.environ, "COVERAGE_PROVIDER": "demo"})
    monkeypatch.setattr(actions_module, "_settings", lambda: demo)


@pytest.fixture
def no_outages(engine: Engine) -> OutageRepository:
    return OutageRepository(engine)


def asked(response: str) -> list[dict[str, Any]]:
    """Events of a conversation where the bot's last message was ``response``."""
    return [
        {"event": "user", "text": "..."},
        {"event": "bot", "text": "...", "metadata": {"utter_action": response}},
        {"event": "user", "text": "..."},
    ]


def test_coverage_for_an_extracted_place_in_the_customer_language(no_outages: OutageRepository) -> None:
    t = tracker(
        "est-ce que ça capte à Gand",
        "coverage_check_place",
        language="fr",
        entities=[{"entity": "place", "value": "Gand"}],
    )
    events, messages = run(ActionCoverageCheck(demo_provider(), no_outages), t)
    assert events == [SlotSet("place", "gent")]
    assert said(messages) == [("utter_coverage_5g_everywhere", {"place": "Gand"})]


def test_coverage_finds_a_place_the_model_missed_including_typos_and_postcodes(
    no_outages: OutageRepository,
) -> None:
    action = ActionCoverageCheck(outages=no_outages)
    events, messages = run(action, tracker("heb ik bereik in bastogn", "coverage_check_place"))
    assert events == [SlotSet("place", "bastogne")]
    assert said(messages) == [("utter_coverage_4g_partial", {"place": "Bastenaken"})]
    _, messages = run(action, tracker("8500", "coverage_check_place", language="en"))
    assert said(messages) == [("utter_coverage_5g_everywhere", {"place": "Kortrijk"})]


def test_coverage_in_the_netherlands_mentions_the_partner_network(no_outages: OutageRepository) -> None:
    t = tracker("coverage in Texel?", "coverage_check_place", language="en")
    _, messages = run(ActionCoverageCheck(outages=no_outages), t)
    assert said(messages) == [
        ("utter_coverage_4g_partial", {"place": "Texel"}),
        ("utter_coverage_partner_nl", {"place": "Texel"}),
    ]


def test_5g_question_with_a_place_answers_for_that_place(no_outages: OutageRepository) -> None:
    action = ActionCoverage5G(outages=no_outages)
    _, messages = run(action, tracker("is er 5G in Geel?", "coverage_5g"))
    assert said(messages) == [("utter_coverage_4g", {"place": "Geel"})]
    _, messages = run(action, tracker("werkt 5G op mijn gsm?", "coverage_5g"))
    assert said(messages) == [("utter_coverage_5g", {})]


def test_coverage_without_a_place_asks_for_one(no_outages: OutageRepository) -> None:
    t = tracker("heb ik goed bereik?", "coverage_check_place")
    events, messages = run(ActionCoverageCheck(outages=no_outages), t)
    assert events == [SlotSet("place", None)]
    assert said(messages) == [("utter_ask_place", {})]


def test_unknown_place_gets_a_helpful_answer_not_an_error(no_outages: OutageRepository) -> None:
    action = ActionCoverageCheck(outages=no_outages)
    t = tracker(
        "is er bereik in Zwalm", "coverage_check_place", entities=[{"entity": "place", "value": "Zwalm"}]
    )
    events, messages = run(action, t)
    assert events == [SlotSet("place", None)]
    assert said(messages) == [("utter_coverage_unknown_place", {"place": "Zwalm"})]


def test_an_answer_to_the_place_question_is_never_met_with_the_same_question(
    no_outages: OutageRepository,
) -> None:
    t = tracker("Atlantis city", "coverage_check_place", language="en")
    t.events = asked("utter_ask_place")
    _, messages = run(ActionCoverageCheck(outages=no_outages), t)
    assert said(messages) == [("utter_coverage_unknown_place", {"place": "Atlantis city"})]


@pytest.fixture
def outage_repo(engine: Engine) -> OutageRepository:
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            insert(outages),
            [
                {
                    "region": "hasselt",
                    "services": "4G/5G",
                    "started_at": now - timedelta(hours=2),
                    "expected_fix_at": now + timedelta(hours=3),
                    "resolved_at": None,
                },
                {
                    "region": "Luxembourg",
                    "services": "voice",
                    "started_at": now - timedelta(minutes=30),
                    "expected_fix_at": None,
                    "resolved_at": None,
                },
                {
                    "region": "gent",
                    "services": "4G",
                    "started_at": now - timedelta(days=2),
                    "expected_fix_at": None,
                    "resolved_at": now - timedelta(days=1),
                },
                {
                    "region": "brugge",
                    "services": "4G",
                    "started_at": now + timedelta(hours=5),
                    "expected_fix_at": None,
                    "resolved_at": None,
                },
            ],
        )
    return OutageRepository(engine)


def test_outage_at_a_named_place(outage_repo: OutageRepository) -> None:
    t = tracker("storing in hasselt?", "coverage_outage", entities=[{"entity": "place", "value": "hasselt"}])
    events, messages = run(ActionOutageStatus(outages=outage_repo), t)
    assert events == [SlotSet("place", "hasselt")]
    [(name, variables)] = said(messages)
    assert name == "utter_outage_active"
    assert variables["place"] == "Hasselt" and variables["services"] == "4G/5G"
    assert set(variables) == {"place", "services", "since", "eta"}


def test_outage_in_the_province_without_expected_fix(outage_repo: OutageRepository) -> None:
    _, messages = run(
        ActionOutageStatus(outages=outage_repo),
        tracker("panne à Bouillon ?", "coverage_outage", language="fr"),
    )
    [(name, variables)] = said(messages)
    assert name == "utter_outage_active_no_eta" and variables["place"] == "Bouillon"


def test_no_outage_at_place_resolved_and_planned_ones_do_not_count(outage_repo: OutageRepository) -> None:
    for text in ("is er een storing in gent", "storing in brugge"):
        _, messages = run(ActionOutageStatus(outages=outage_repo), tracker(text, "coverage_outage"))
        assert said(messages)[0][0] == "utter_outage_none_place"


def test_outage_without_place_lists_current_ones(outage_repo: OutageRepository) -> None:
    events, messages = run(
        ActionOutageStatus(outages=outage_repo),
        tracker("is there an outage", "coverage_outage", language="en"),
    )
    assert events == []
    assert said(messages) == [("utter_outage_list", {"regions": "Hasselt, Luxembourg"})]


def test_coverage_mentions_an_ongoing_outage_at_the_place(outage_repo: OutageRepository) -> None:
    _, messages = run(
        ActionCoverageCheck(outages=outage_repo), tracker("bereik in Hasselt?", "coverage_check_place")
    )
    assert [name for name, _ in said(messages)] == ["utter_coverage_5g_everywhere", "utter_outage_active"]


def test_place_given_after_outage_question_answers_the_outage_question(outage_repo: OutageRepository) -> None:
    t = tracker("Gent", "coverage_check_place")
    t.events = asked("utter_outage_list")
    _, messages = run(ActionCoverageCheck(outages=outage_repo), t)
    assert said(messages) == [
        ("utter_coverage_5g_everywhere", {"place": "Gent"}),
        ("utter_outage_none_place", {"place": "Gent"}),
    ]


def test_outside_a_demo_the_actions_never_answer_from_the_demo_data(
    outage_repo: OutageRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production settings (no DEMO, no COVERAGE_PROVIDER): no coverage data, said honestly."""
    monkeypatch.setattr(actions_module, "_settings", lambda: Settings.from_env({}))
    for action in (ActionCoverageCheck(outages=outage_repo), ActionCoverage5G(outages=outage_repo)):
        events, messages = run(action, tracker("bereik in Hasselt?", "coverage_check_place"))
        assert events == [SlotSet("place", None)]
        assert said(messages) == [("utter_coverage_unavailable", {})]
    # The outage table still answers, listing every open outage by its region.
    t = tracker("storing in hasselt?", "coverage_outage", entities=[{"entity": "place", "value": "hasselt"}])
    events, messages = run(ActionOutageStatus(outages=outage_repo), t)
    assert events == []
    assert said(messages) == [("utter_outage_list", {"regions": "Luxembourg, hasselt"})]


def test_no_outage_anywhere(engine: Engine) -> None:
    _, messages = run(
        ActionOutageStatus(outages=OutageRepository(engine)), tracker("storing?", "coverage_outage")
    )
    assert said(messages) == [("utter_outage_none", {})]


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


def test_clarify_without_candidates_asks_to_rephrase() -> None:
    _, messages = run(
        ActionClarify(), tracker("??", "nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 1}])
    )
    assert said(messages) == [("utter_clarify_topics", {})]
    assert messages[0]["buttons"] == [{"title": "Een medewerker spreken", "payload": "/request_human"}]


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
