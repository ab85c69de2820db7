"""Coverage and outage actions (actions/coverage.py) on real Trackers with a CollectingDispatcher."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from actions import actions as actions_module
from actions.coverage import (
    ActionCoverage5G,
    ActionCoverageCheck,
    ActionCoverageIndoor,
    ActionCoverageSlowData,
    ActionOutageStatus,
    coverage_guess,
)
from bot.connectors.coverage import demo_provider
from bot.core.db import outages
from bot.core.outages import OutageRepository
from bot.core.settings import Settings
from tests.helpers.trackers import asked, run, said, tracker


@pytest.fixture(autouse=True)
def demo_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the demo data: the actions' provider is the demo CSV
    (COVERAGE_PROVIDER=demo; without it, outside a demo, there is no coverage data)."""
    demo = Settings.from_env({**os.environ, "COVERAGE_PROVIDER": "demo"})
    monkeypatch.setattr(actions_module, "_settings", lambda: demo)


@pytest.fixture
def no_outages(engine: Engine) -> OutageRepository:
    return OutageRepository(engine)


def test_coverage_for_an_extracted_place_in_the_customer_language(no_outages: OutageRepository) -> None:
    t = tracker(
        "est-ce que ça capte à Gand",
        "coverage_check_place",
        language="fr",
        entities=[{"entity": "place", "value": "Gand"}],
    )
    events, messages = run(ActionCoverageCheck(demo_provider(), no_outages), t)
    assert events == [SlotSet("place", "gent"), SlotSet("coverage_topic", "check")]
    assert said(messages) == [("utter_coverage_5g_everywhere", {"place": "Gand"})]


def test_coverage_finds_a_place_the_model_missed_including_typos_and_postcodes(
    no_outages: OutageRepository,
) -> None:
    action = ActionCoverageCheck(outages=no_outages)
    events, messages = run(action, tracker("heb ik bereik in bastogn", "coverage_check_place"))
    assert events == [SlotSet("place", "bastogne"), SlotSet("coverage_topic", "check")]
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
    assert events == [SlotSet("place", None), SlotSet("coverage_topic", "check")]
    assert said(messages) == [("utter_ask_place", {})]


def test_unknown_place_gets_a_helpful_answer_not_an_error(no_outages: OutageRepository) -> None:
    action = ActionCoverageCheck(outages=no_outages)
    t = tracker(
        "is er bereik in Zwalm", "coverage_check_place", entities=[{"entity": "place", "value": "Zwalm"}]
    )
    events, messages = run(action, t)
    assert events == [SlotSet("place", None), SlotSet("coverage_topic", "check")]
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
    assert events == [SlotSet("place", "hasselt"), SlotSet("coverage_topic", "outage")]
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
    assert events == [SlotSet("coverage_topic", "outage")]
    assert said(messages) == [("utter_outage_list", {"regions": "Hasselt, Luxembourg"})]


def test_an_open_outage_at_the_place_wins_over_good_news_in_every_coverage_answer(
    outage_repo: OutageRepository,
) -> None:
    """Hasselt has 4G and 5G everywhere, but an outage is open there: that is the whole answer."""
    asks = [
        (ActionCoverageCheck, "bereik in Hasselt?", "coverage_check_place", "check"),
        (ActionCoverage5G, "is er 5G in Hasselt?", "coverage_5g", "5g"),
        (ActionCoverageIndoor, "ik heb geen bereik in Hasselt", "coverage_indoor", "indoor"),
        (ActionCoverageSlowData, "mobiele data traag in Hasselt", "coverage_slow_data", "slow_data"),
    ]
    for action, text, intent, topic in asks:
        events, messages = run(action(outages=outage_repo), tracker(text, intent))
        assert events == [SlotSet("place", "hasselt"), SlotSet("coverage_topic", topic)]
        [(name, variables)] = said(messages)
        assert name == "utter_outage_active" and variables["place"] == "Hasselt"


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
    assert events == [SlotSet("coverage_topic", "outage")]
    assert said(messages) == [("utter_outage_list", {"regions": "Luxembourg, hasselt"})]


def test_no_outage_anywhere(engine: Engine) -> None:
    _, messages = run(
        ActionOutageStatus(outages=OutageRepository(engine)), tracker("storing?", "coverage_outage")
    )
    assert said(messages) == [("utter_outage_none", {})]


def test_no_signal_in_a_town_is_answered_for_that_town_then_the_tips(no_outages: OutageRepository) -> None:
    events, messages = run(
        ActionCoverageIndoor(outages=no_outages),
        tracker("I have no signal in Leuven", "coverage_indoor", language="en"),
    )
    assert events == [SlotSet("place", "leuven"), SlotSet("coverage_topic", "indoor")]
    assert said(messages) == [
        ("utter_coverage_fine_place", {"place": "Leuven"}),
        ("utter_coverage_indoor", {}),
        ("utter_did_this_help", {}),
    ]


def test_weak_coverage_in_the_town_is_said_before_the_tips(no_outages: OutageRepository) -> None:
    t = tracker("internet mobile lent à Bouillon", "coverage_slow_data", language="fr")
    events, messages = run(ActionCoverageSlowData(outages=no_outages), t)
    assert events == [SlotSet("place", "bouillon"), SlotSet("coverage_topic", "slow_data")]
    assert said(messages) == [
        ("utter_coverage_4g_partial", {"place": "Bouillon"}),
        ("utter_coverage_slow_data", {}),
        ("utter_did_this_help", {}),
    ]


def test_signal_and_data_tips_without_a_place_or_without_coverage_data(
    no_outages: OutageRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    for action, tips in (
        (ActionCoverageIndoor, "utter_coverage_indoor"),
        (ActionCoverageSlowData, "utter_coverage_slow_data"),
    ):
        events, messages = run(action(outages=no_outages), tracker("binnen geen bereik", "coverage_indoor"))
        assert events == [SlotSet("coverage_topic", action.topic)]
        assert said(messages) == [(tips, {}), ("utter_did_this_help", {})]
    monkeypatch.setattr(actions_module, "_settings", lambda: Settings.from_env({}))
    events, messages = run(
        ActionCoverageIndoor(outages=no_outages), tracker("geen bereik in Gent", "coverage_indoor")
    )
    assert events == []
    assert said(messages) == [("utter_coverage_indoor", {}), ("utter_did_this_help", {})]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("and in Namur?", "en"),
        ("what about Namur then?", "en"),
        ("en in Namen?", "nl"),
        ("et à Namur ?", "fr"),
    ],
)
def test_a_follow_up_naming_only_a_place_keeps_the_topic(
    outage_repo: OutageRepository, text: str, language: str
) -> None:
    """After an outage question, "and in Namur?" (read as a coverage check) is an outage question."""
    t = tracker(text, "coverage_check_place", language=language, slots={"coverage_topic": "outage"})
    events, messages = run(ActionCoverageCheck(outages=outage_repo), t)
    assert events == [SlotSet("place", "namur"), SlotSet("coverage_topic", "outage")]
    assert [name for name, _ in said(messages)] == ["utter_outage_none_place"]


def test_a_follow_up_on_signal_gets_the_place_and_tips_without_asking_again(
    no_outages: OutageRepository,
) -> None:
    """The question "did this help?" belongs to the signal action's own turn, not to a follow-up."""
    t = tracker("en in Leuven?", "coverage_check_place", slots={"coverage_topic": "indoor"})
    events, messages = run(ActionCoverageCheck(outages=no_outages), t)
    assert events == [SlotSet("place", "leuven"), SlotSet("coverage_topic", "indoor")]
    assert said(messages) == [
        ("utter_coverage_fine_place", {"place": "Leuven"}),
        ("utter_coverage_indoor", {}),
    ]


def test_a_new_question_with_a_place_is_not_a_follow_up(outage_repo: OutageRepository) -> None:
    t = tracker("is er 5G in Namen?", "coverage_5g", slots={"coverage_topic": "outage"})
    events, messages = run(ActionCoverage5G(outages=outage_repo), t)
    assert events == [SlotSet("place", "namur"), SlotSet("coverage_topic", "5g")]
    assert said(messages) == [("utter_coverage_5g_everywhere", {"place": "Namen"})]


def _unsettled(text: str, *ranked: tuple[str, float]) -> Tracker:
    """A message the model left to the fallback, with the classifier's ranking below it."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}]
    ranking += [{"name": name, "confidence": confidence} for name, confidence in ranked]
    return tracker(text, "nlu_fallback", language="fr", ranking=ranking)


def test_an_unsettled_coverage_question_about_a_known_place_gets_that_coverage_answer() -> None:
    t = _unsettled("je n'ai pas de réseau à Hasselt", ("knowledge", 0.42), ("coverage_indoor", 0.21))
    assert coverage_guess(t, demo_provider(), article_topic="coverage") is ActionCoverageIndoor
    t = _unsettled("pas de signal à Hasselt", ("coverage_check_place", 0.27), ("coverage_indoor", 0.13))
    assert coverage_guess(t, demo_provider(), article_topic=None) is ActionCoverageCheck


@pytest.mark.parametrize(
    ("text", "ranked", "topic"),
    [
        # the help centre ranked a shop article first: a question about a shop in a town
        ("un magasin à Hasselt ?", (("knowledge", 0.5), ("coverage_check_place", 0.2)), "account"),
        # no place the coverage data knows
        ("je n'ai pas de réseau chez moi", (("coverage_indoor", 0.25),), None),
        # the likeliest intent is not about coverage
        ("ma facture de Hasselt", (("billing_explain_bill", 0.25), ("coverage_check_place", 0.2)), None),
        # a coverage intent too weak to act on
        ("Hasselt bof", (("coverage_check_place", 0.06),), None),
    ],
)
def test_no_coverage_guess_without_a_place_a_coverage_intent_or_a_coverage_article(
    text: str, ranked: tuple[tuple[str, float], ...], topic: str | None
) -> None:
    assert coverage_guess(_unsettled(text, *ranked), demo_provider(), article_topic=topic) is None


def test_a_guessed_coverage_answer_does_not_ask_whether_it_helped(no_outages: OutageRepository) -> None:
    """Its yes/no rules follow the coverage action, not the clarification that answered."""
    t = _unsettled("je n'ai pas de réseau à Hasselt", ("coverage_indoor", 0.21))
    dispatcher = CollectingDispatcher()
    events = ActionCoverageIndoor(demo_provider(), no_outages).respond(dispatcher, t, asks_helped=False)
    assert SlotSet("coverage_topic", "indoor") in events
    assert "utter_did_this_help" not in [m["response"] for m in dispatcher.messages]
    assert dispatcher.messages
