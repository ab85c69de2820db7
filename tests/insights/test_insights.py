"""Learning from live traffic (bot/insights/, `python -m bot.editor traffic`).

Customer messages are written by Rasa's real SQL tracker store on the test database (a SQLite
file, or a PostgreSQL schema of its own when DATABASE_URL says so), then copied, listed,
grouped, assigned, exported, counted and checked for surges through the real code.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.core.db import insights_cursor, nlu_turns, topic_alerts, utcnow
from bot.core.project import Project
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.editor.__main__ import main
from bot.insights import (
    TOPICS,
    Alert,
    Insights,
    InsightsError,
    TrafficItem,
    cluster_texts,
    group_items,
    open_tracker_engine,
    topic_of,
)
from bot.rasa.stores import SettingsTrackerStore
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation
from testkit.fakes.http_server import FakeServer
from tests.helpers.project import copy_project

NOW = datetime(2025, 3, 10, 10, 30, tzinfo=timezone.utc)  # a Monday, half-way a surge window


# Rasa's tracker store and its engine: tracker_settings, store and tracker_engine (tests/conftest.py).


@pytest.fixture
def insights(tracker_settings: Settings, engine: Engine, tracker_engine: Engine) -> Insights:
    return Insights(tracker_settings, engine, tracker_engine)


def said(
    text: str,
    intent: str = "nlu_fallback",
    confidence: float = 0.3,
    *,
    language: str | None = "nl",
    channel: str | None = "web",
    at: datetime | None = None,
    guess: str | None = None,
) -> UserUttered:
    """A customer message as Rasa stores it; ``guess`` is the best intent below the fallback."""
    ranking = [{"name": intent, "confidence": confidence}]
    if guess:
        ranking.append({"name": guess, "confidence": confidence / 2})
    metadata = {k: v for k, v in (("language", language), ("channel", channel)) if v}
    parse = {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "text": text,
        "intent_ranking": ranking,
        "metadata": metadata,
    }
    return UserUttered(
        text,
        intent=parse["intent"],
        parse_data=parse,
        metadata=metadata,
        timestamp=(at or utcnow() - timedelta(minutes=1)).timestamp(),
    )


def save(store: SettingsTrackerStore, events: list[Any], sender: str | None = None) -> str:
    """Save a conversation (or more of it: Rasa appends only the events it does not have)."""
    sender = sender or str(uuid.uuid4())
    full = []
    for event in events:  # a bot turn after each message, as in a real conversation
        full.append(event)
        if isinstance(event, UserUttered):
            full += [ActionExecuted("utter_x"), BotUttered("ok"), ActionExecuted("action_listen")]
    existing = asyncio.run(store.retrieve_full_tracker(sender))
    previous = list(existing.events) if existing else []
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, previous + full)))
    return sender


def turns(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(nlu_turns).order_by(nlu_turns.c.source_event_id)).all()


def conversation(engine: Engine, cid: str, channel: str, language: str) -> None:
    with engine.begin() as conn:
        insert_conversation(conn, cid=cid, channel=channel, language=language)


# -- ingest ---------------------------------------------------------------------------------------


def test_sync_copies_customer_messages_once_and_picks_up_new_ones(
    insights: Insights, store: SettingsTrackerStore, engine: Engine
) -> None:
    sender = save(
        store,
        [said("hallo", "greet", 0.95), said("mijn factuur klopt niet", "billing_explain_bill", 0.8)],
    )
    assert insights.sync() == 2
    assert insights.sync() == 0
    rows = turns(engine)
    assert [(r.text, r.intent, r.topic, r.status) for r in rows] == [
        ("hallo", "greet", "smalltalk", "new"),
        ("mijn factuur klopt niet", "billing_explain_bill", "billing", "new"),
    ]
    assert {(r.conversation_id, r.channel, r.language) for r in rows} == {(sender, "web", "nl")}
    assert rows[1].confidence == pytest.approx(0.8)

    save(store, [said("et en français ?", "out_of_scope", 0.7, language="fr")], sender)
    save(store, [said("5G in Gent?", "coverage_5g", 0.9, channel="telegram")])
    assert insights.sync() == 2
    assert insights.sync() == 0
    assert [(r.language, r.channel, r.topic) for r in turns(engine)[2:]] == [
        ("fr", "web", "out_of_scope"),
        ("nl", "telegram", "coverage"),
    ]


def test_personal_data_is_masked_and_button_payloads_are_skipped(
    insights: Insights, store: SettingsTrackerStore, engine: Engine
) -> None:
    save(
        store,
        [
            said("bel me op 0470 12 34 56 aub"),
            said("mijn rekening is BE68 5390 0754 7034", "billing_direct_debit", 0.9),
            said("/billing_refund", "billing_refund", 1.0),
            said("   "),
        ],
    )
    assert insights.sync() == 2
    texts = [r.text for r in turns(engine)]
    assert texts == ["bel me op [phone •••56] aub", "mijn rekening is [IBAN BE•• •••• •••• 7034]"]
    assert insights.sync() == 0  # the skipped payloads are not read again and again


def test_an_odd_event_is_skipped_without_blocking_the_others(
    insights: Insights, store: SettingsTrackerStore, engine: Engine, tracker_engine: Engine
) -> None:
    save(store, [said("eerst dit")])
    with tracker_engine.begin() as conn:
        columns = "sender_id, type_name, timestamp, data"
        conn.execute(text(f"INSERT INTO events ({columns}) VALUES ('x', 'user', 1, 'not json')"))
    save(store, [said("en dan\x00 dat", at=NOW), said("nog iets", at=NOW)])
    assert insights.sync() == 3
    assert [r.text for r in turns(engine)] == ["eerst dit", "en dan dat", "nog iets"]
    assert turns(engine)[1].created_at == NOW


def test_channel_and_language_fall_back_to_our_conversation(
    insights: Insights, store: SettingsTrackerStore, engine: Engine
) -> None:
    cid = str(uuid.uuid4())
    conversation(engine, cid, "slack", "en")
    save(store, [said("hi there", "greet", 0.9, language=None, channel=None)], cid)
    save(store, [said("qui est là", "greet", 0.9, language=None, channel=None)])  # a sender we do not know
    insights.sync()
    assert [(r.channel, r.language) for r in turns(engine)] == [("slack", "en"), ("unknown", "nl")]


def test_a_missing_tracker_store_gives_nothing_quietly(
    tracker_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # Our own database has no `events` table: Rasa has not created its tables there yet.
    own = open_tracker_engine(tracker_settings.database_url)
    assert Insights(tracker_settings, engine, own).sync() == 0
    own.dispose()
    missing = tmp_path / "nowhere" / "rasa_tracker.db"
    absent = open_tracker_engine(f"sqlite:///{missing}")
    assert Insights(tracker_settings, engine, absent).sync() == 0
    absent.dispose()
    unset = tracker_settings.with_overrides(rasa_tracker_url=f"sqlite:///{missing}")
    assert Insights(unset, engine).sync() == 0
    assert not missing.exists()  # Rasa's file is Rasa's to create


def test_a_late_commit_below_the_cursor_is_still_copied(
    insights: Insights, store: SettingsTrackerStore, engine: Engine, tracker_engine: Engine
) -> None:
    """PostgreSQL hands out ids before commit: an event may appear after a later one was read."""
    save(store, [said("eerste vraag"), said("tweede vraag"), said("derde vraag")])
    with tracker_engine.begin() as conn:
        late = conn.execute(
            text("SELECT * FROM events WHERE type_name = 'user' ORDER BY id LIMIT 1 OFFSET 1")
        ).one()
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": late.id})
    assert insights.sync() == 2
    columns = ", ".join(late._mapping)
    values = ", ".join(f":{c}" for c in late._mapping)
    with tracker_engine.begin() as conn:
        conn.execute(text(f"INSERT INTO events ({columns}) VALUES ({values})"), dict(late._mapping))
    assert insights.sync() == 1
    assert sorted(r.text for r in turns(engine)) == ["derde vraag", "eerste vraag", "tweede vraag"]
    with engine.connect() as conn:
        assert conn.execute(select(insights_cursor.c.last_event_id)).scalar() > late.id


def test_topics_of_intents() -> None:
    assert [topic_of(i) for i in ("billing_refund", "coverage_5g", "sim_esim", "sensitive_fraud")] == [
        "billing",
        "coverage",
        "sim",
        "sensitive",
    ]
    assert topic_of("request_human") == "sensitive"
    assert (topic_of("nlu_fallback"), topic_of("out_of_scope")) == ("not_understood", "out_of_scope")
    assert {topic_of(i) for i in ("greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny")} == {
        "smalltalk"
    }
    assert set(TOPICS) >= {topic_of(None), topic_of("anything")}


# -- unhandled messages ---------------------------------------------------------------------------


def test_not_understood_out_of_scope_and_unresolved_messages_are_listed(
    insights: Insights, store: SettingsTrackerStore, engine: Engine
) -> None:
    minutes_ago = lambda n: utcnow() - timedelta(minutes=n)  # noqa: E731
    save(store, [said("kunnen jullie mijn fiets maken", "out_of_scope", 0.8, at=minutes_ago(30))])
    save(store, [said("hoe zit het nu met die toestand", at=minutes_ago(29), guess="billing_refund")])
    failed, other = str(uuid.uuid4()), str(uuid.uuid4())
    for cid in (failed, other):
        conversation(engine, cid, "web", "nl")
    texts = ["goeiemiddag", "ik wil geld terug", "het geld van vorige maand", "dat is niet wat ik vroeg"]
    events = [said(t, "billing_refund", 0.6, at=minutes_ago(20 - n)) for n, t in enumerate(texts)]
    save(store, events, failed)
    save(store, [said("ik word opgelicht", "sensitive_fraud", 0.9, at=minutes_ago(10))], other)
    insights.sync()
    queue = HandoffQueue(engine)
    assert queue.escalate(failed, default_rules()["misunderstood"]) is not None
    assert queue.escalate(other, default_rules()["fraud"]) is not None  # not the bot's failure
    after = utcnow() + timedelta(seconds=1)
    save(store, [said("hallo?", "greet", 0.9, at=after)], failed)  # after the escalation: not counted
    insights.sync()

    items = insights.unhandled_items()
    assert {(i.text, i.reason) for i in items} == {
        ("kunnen jullie mijn fiets maken", "out_of_scope"),
        ("hoe zit het nu met die toestand", "not_understood"),
        ("ik wil geld terug", "unresolved"),
        ("het geld van vorige maand", "unresolved"),
        ("dat is niet wat ik vroeg", "unresolved"),
    }
    assert [i.created_at for i in items] == sorted((i.created_at for i in items), reverse=True)
    guessed = next(i for i in items if i.reason == "not_understood")
    assert (guessed.intent, guessed.suggestion) == ("nlu_fallback", "billing_refund")
    assert insights.unhandled_items(since=minutes_ago(25)) == [i for i in items if i.reason == "unresolved"]
    assert insights.unhandled_items(language="fr") == []
    assert len(insights.unhandled_items(limit=2)) == 2
    with pytest.raises(InsightsError, match="status"):
        insights.unhandled(status="weird")


def test_messages_are_grouped_by_similarity_within_a_language(
    insights: Insights, store: SettingsTrackerStore
) -> None:
    nl = [
        "mijn factuur is te hoog",
        "mijn factuurr is te hoog",
        "mijn faktuur is te hoog!!",
        "Mijn factuur is TE hoog",
    ]
    save(store, [said(t, guess="billing_higher_than_usual") for t in nl])
    save(
        store,
        [said(t, guess="coverage_check_place") for t in ("waar is er 5g bereik in gent", "is er 5g in gent")],
    )
    fr = ["ma facture est trop élevée", "ma facture est trop elevee", "mijn factuur is te hoog"]
    save(store, [said(t, language="fr", guess="billing_higher_than_usual") for t in fr])
    save(store, [said("hallo", "out_of_scope", 0.9)])  # a greeting: never a problem
    save(store, [said("verkopen jullie gsm-hoesjes", "out_of_scope", 0.9)])
    insights.sync()

    groups = insights.unhandled()
    summary = [(g.language, sorted(i.text for i in g.items)) for g in groups]
    assert summary == [
        ("nl", sorted(nl)),
        ("fr", ["ma facture est trop elevee", "ma facture est trop élevée"]),
        ("nl", ["is er 5g in gent", "waar is er 5g bereik in gent"]),
        ("nl", ["verkopen jullie gsm-hoesjes"]),
        ("fr", ["mijn factuur is te hoog"]),  # the same words in another language: another group
    ]
    billing = groups[0]
    assert billing.label in nl and billing.suggestion == "billing_higher_than_usual"
    assert billing.reasons == {"not_understood": 4}
    assert billing.key == f"nl-{min(i.id for i in billing.items)}"
    assert groups[3].reasons == {"out_of_scope": 1} and groups[3].suggestion == "out_of_scope"
    assert groups[4].suggestion == "billing_higher_than_usual"
    assert len({g.key for g in groups}) == len(groups)
    assert insights.unhandled() == groups  # deterministic


def item(n: int, text: str, language: str = "nl") -> TrafficItem:
    at = NOW - timedelta(minutes=n)
    return TrafficItem(
        n, "c", "web", language, text, "nlu_fallback", 0.2, None, "not_understood", at, "new", None
    )


def test_grouping_copes_with_one_message_identical_ones_and_thousands() -> None:
    assert [len(g.items) for g in group_items([item(1, "hallo")])] == [1]
    same = group_items([item(n, "waar blijft mijn nieuwe simkaart") for n in range(1, 6)])
    assert [(len(g.items), g.label) for g in same] == [(5, "waar blijft mijn nieuwe simkaart")]
    assert [len(g.items) for g in group_items([item(1, "?"), item(2, "!"), item(3, "?")])] == [2, 1]
    assert cluster_texts([]) == ([], [])

    questions = [
        "mijn factuur is veel te hoog deze maand",
        "waar is er 5g bereik in gent",
        "mijn simkaart wordt niet herkend",
        "ik wil mijn nummer overzetten naar jullie",
        "hoe betaal ik met domiciliering",
    ]
    many = []
    for n in range(3000):  # each question with a typo somewhere and a number customers add
        base = questions[n % len(questions)]
        at = (n * 7) % len(base)
        many.append(item(n + 1, base[:at] + base[at + 1 :] + f" {n}"))
    question_of = {i.id: (i.id - 1) % len(questions) for i in many}
    groups = group_items(many)
    assert all(len({question_of[i.id] for i in g.items}) == 1 for g in groups)  # never mixed
    assert sum(len(g.items) for g in groups[: len(questions)]) >= 0.95 * len(many)

    words = "factuur gsm sim bereik nummer betalen roaming pin 5g abonnement kosten data".split()
    distinct = [f"{words[n % 12]} {words[n // 12 % 12]} {words[n // 144 % 12]} {n % 7}x" for n in range(3000)]
    assert len(set(distinct)) == 3000
    started = time.perf_counter()
    clusters, _centrality = cluster_texts(distinct)
    assert time.perf_counter() - started < 20
    assert sorted(i for c in clusters for i in c) == list(range(len(distinct)))


def test_the_greedy_grouping_for_very_many_messages_keeps_questions_apart() -> None:
    texts = ["mijn factuur is te hoog", "mijn factuurr is te hoog", "waar is er 5g bereik in gent"]
    texts += ["waar is er 5g bereik in gentt", "mijn faktuur is te hoog", "hallo"]
    clusters, centrality = cluster_texts(texts, linkage_limit=2)
    assert sorted(sorted(texts[i] for i in c) for c in clusters) == sorted(
        [
            ["hallo"],
            ["mijn factuur is te hoog", "mijn factuurr is te hoog", "mijn faktuur is te hoog"],
            ["waar is er 5g bereik in gent", "waar is er 5g bereik in gentt"],
        ]
    )
    assert len(centrality) == len(texts)
    assert sorted(cluster_texts(texts)[0]) == sorted(clusters)  # the same as average linkage here


def test_assign_and_dismiss(insights: Insights, store: SettingsTrackerStore) -> None:
    save(
        store, [said(t) for t in ("ik wil mijn geld terug", "geld terug aub", "wat is de zin van het leven")]
    )
    insights.sync()
    refund, again, meaning = sorted(i.id for i in insights.unhandled_items())
    with pytest.raises(InsightsError, match="unknown intent 'billing_refunds'"):
        insights.assign([refund], "billing_refunds", "editor")
    with pytest.raises(InsightsError, match="no messages"):
        insights.assign([], "billing_refund", "editor")
    assert "billing_refund" in insights.intents() and "nlu_fallback" not in insights.intents()
    assert insights.assign([refund, again], "billing_refund", "ann") == 2
    assert insights.dismiss([meaning], "ann") == 1
    assert insights.unhandled() == []
    assigned = insights.unhandled_items(status="assigned")
    assert {(i.id, i.assigned_intent, i.status) for i in assigned} == {
        (refund, "billing_refund", "assigned"),
        (again, "billing_refund", "assigned"),
    }
    assert insights.assign([again], "billing_due_date", "bob") == 1  # an assignment can be changed
    assert insights.assign([meaning], "billing_refund", "bob") == 0  # dismissed stays dismissed
    assert [i.id for i in insights.unhandled_items(status="dismissed")] == [meaning]
    assert insights.reopen([meaning], "bob") == 1
    assert [i.id for i in insights.unhandled_items()] == [meaning]


# -- export ---------------------------------------------------------------------------------------


def test_export_is_valid_rasa_training_data_and_marks_what_it_exported(
    insights: Insights, store: SettingsTrackerStore, tmp_path: Path
) -> None:
    save(store, [said(t) for t in ("ik wil mijn geld terug!", "geld terug van mijn 0470 12 34 56")])
    save(
        store,
        [
            said("rendez-moi mes sous de février svp", language="fr"),
            said("[kaart](place){x} #1: ja", language="fr"),
        ],
    )
    save(store, [said("where is my money", language="en")])
    insights.sync()
    ids = {i.text: i.id for i in insights.unhandled_items()}
    insights.assign(
        [ids["ik wil mijn geld terug!"], ids["geld terug van mijn [phone •••56]"]], "billing_refund", "a"
    )
    insights.assign([ids["rendez-moi mes sous de février svp"]], "billing_refund", "a")
    insights.assign([ids["[kaart](place){x} #1: ja"]], "sim_replace", "a")

    assert insights.export(mark=False).keys() == {"fr", "nl"}
    files = insights.export(language="nl")
    assert list(files) == ["nl"]
    assert yaml.safe_load(files["nl"]) == {
        "version": "3.1",
        "nlu": [
            {
                "intent": "billing_refund",
                "examples": "- ik wil mijn geld terug!\n- geld terug van mijn [phone •••56]\n",
            }
        ],
    }
    assert insights.export(language="nl") == {}  # exported: not again
    assert {i.status for i in insights.unhandled_items(status="exported")} == {"exported"}

    fr = insights.export()["fr"]
    path = tmp_path / "fr.yml"
    path.write_text(fr, encoding="utf-8")
    data = load_data(str(path), language="fr")
    assert {(m.get("intent"), m.get("text")) for m in data.intent_examples} == {
        ("billing_refund", "rendez-moi mes sous de février svp"),
        ("sim_replace", "[kaart] (place){x} #1: ja"),  # not read as an entity annotation
    }
    assert data.entity_examples == []
    assert insights.export() == {}


def test_export_leaves_out_what_the_training_data_already_has(
    insights: Insights, store: SettingsTrackerStore
) -> None:
    existing = next(
        e.value for e in Project(insights.project_root).examples("nl") if e.intent == "billing_invoice_copy"
    )
    new = "stuur die factuur van januari nog eens op aub"
    save(store, [said(existing.upper() + " ?"), said(new)])
    insights.sync()
    ids = [i.id for i in insights.unhandled_items()]
    assert insights.assign(ids, "billing_invoice_copy", "a") == 2
    files = insights.export()
    assert yaml.safe_load(files["nl"])["nlu"][0]["examples"] == f"- {new}\n"
    assert {i.status for i in insights.unhandled_items(status="exported")} == {"exported"}
    assert len(insights.unhandled_items(status="exported")) == 2


# -- trends and surges ----------------------------------------------------------------------------


def test_trends_per_day_topic_language_and_channel(insights: Insights, store: SettingsTrackerStore) -> None:
    yesterday, today = NOW - timedelta(days=1), NOW - timedelta(hours=1)
    save(
        store,
        [said("factuur", "billing_refund", 0.9, at=yesterday), said("5g?", "coverage_5g", 0.9, at=yesterday)],
    )
    save(store, [said("facture", "billing_refund", 0.9, language="fr", channel="telegram", at=today)] * 3)
    save(store, [said("bill", "billing_due_date", 0.9, language="en", at=today), said("??", at=today)])
    save(store, [said("old", "billing_refund", 0.9, at=NOW - timedelta(days=20))])
    insights.sync()

    trends = insights.trends(days=3, now=NOW)
    assert trends.days == [NOW.date() - timedelta(days=n) for n in (2, 1, 0)]
    assert [(r.day, r.topic, r.language, r.channel, r.count) for r in trends.rows] == [
        (yesterday.date(), "billing", "nl", "web", 1),
        (yesterday.date(), "coverage", "nl", "web", 1),
        (today.date(), "billing", "en", "web", 1),
        (today.date(), "billing", "fr", "telegram", 3),
        (today.date(), "not_understood", "nl", "web", 1),
    ]
    assert trends.alerts == []
    telegram = insights.trends(days=3, now=NOW, channel="telegram").rows
    assert [(r.topic, r.count) for r in telegram] == [("billing", 3)]
    assert [r.language for r in insights.trends(days=3, now=NOW, language="en").rows] == ["en"]
    assert len(insights.trends(days=30, now=NOW).days) == 30


@pytest.fixture
def webhook() -> Iterator[FakeServer]:
    server = FakeServer()
    server.route("POST", "/hooks/surge", lambda request: (200, {"ok": True}))
    server.start()
    yield server
    server.stop()


def surge_insights(
    settings: Settings, engine: Engine, tracker: Engine, **changes: Any
) -> tuple[Insights, list[Alert]]:
    notified: list[Alert] = []
    settings = settings.with_overrides(
        surge_factor=3.0, surge_min_messages=10, surge_window_minutes=60, surge_baseline_days=1, **changes
    )
    return Insights(settings, engine, tracker, notify=notified.append), notified


def usual_traffic(store: SettingsTrackerStore) -> None:
    """Every hour of the day before the current window: 5 billing and 1 coverage message."""
    window = NOW.replace(minute=0)
    events = []
    for hour in range(1, 25):
        at = window - timedelta(hours=hour) + timedelta(minutes=10)
        events += [said("factuur", "billing_explain_bill", 0.9, at=at)] * 5
        events.append(said("bereik", "coverage_check_place", 0.9, at=at))
    save(store, events)


def burst(store: SettingsTrackerStore, count: int, intent: str, at: datetime = NOW) -> None:
    save(store, [said(f"{intent} {n}", intent, 0.9, at=at - timedelta(seconds=n)) for n in range(count)])


def test_no_alert_below_the_minimum_or_the_usual_level(
    tracker_settings: Settings, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    insights, notified = surge_insights(tracker_settings, engine, tracker_engine)
    usual_traffic(store)
    burst(store, 9, "coverage_outage")  # 9 times the usual, but fewer than SURGE_MIN_MESSAGES
    burst(store, 12, "billing_explain_bill")  # 12 >= 10, but not 3 x the usual 5
    insights.sync()
    assert insights.check_surges(NOW) == []
    assert notified == []


def test_a_surge_alerts_its_department_once_per_window(
    tracker_settings: Settings,
    engine: Engine,
    tracker_engine: Engine,
    store: SettingsTrackerStore,
    webhook: FakeServer,
) -> None:
    hook = f"{webhook.url}/hooks/surge"
    insights, notified = surge_insights(tracker_settings, engine, tracker_engine, surge_webhook_url=hook)
    usual_traffic(store)
    burst(store, 8, "coverage_outage")
    burst(store, 3, "coverage_check_place")
    burst(store, 2, "coverage_slow_data")
    burst(store, 1, "coverage_5g")
    burst(store, 16, "billing_explain_bill")  # more than 3 x the usual 5 a window
    insights.sync()

    alerts = insights.check_surges(NOW)
    window = NOW.replace(minute=0)
    assert [(a.topic, a.department, a.count, a.window_start, a.window_end) for a in alerts] == [
        ("billing", "Billing", 16, window, window + timedelta(hours=1)),
        ("coverage", "Network operations", 14, window, window + timedelta(hours=1)),
    ]
    coverage = alerts[1]
    assert coverage.top_intents == ["coverage_outage", "coverage_check_place", "coverage_slow_data"]
    assert coverage.baseline == pytest.approx(1.0, abs=0.05) and coverage.notified
    assert [a.id for a in notified] == [a.id for a in alerts]  # called before the webhook
    posted = [r.json() for r in webhook.received("POST", "/hooks/surge")]
    assert [(p["type"], p["topic"], p["department"], p["count"]) for p in posted] == [
        ("topic_surge", "billing", "Billing", 16),
        ("topic_surge", "coverage", "Network operations", 14),
    ]
    assert posted[1]["top_intents"] == coverage.top_intents
    assert posted[1]["window_start"] == window.isoformat() and "Network operations" in posted[1]["text"]

    burst(store, 20, "coverage_outage", at=NOW + timedelta(minutes=10))
    insights.sync()
    assert insights.check_surges(NOW + timedelta(minutes=20)) == []  # same window: not again
    assert len(webhook.requests) == 2
    burst(store, 20, "coverage_outage", at=NOW + timedelta(minutes=40))  # the next window
    insights.sync()
    later = insights.check_surges(NOW + timedelta(minutes=40))
    assert [(a.topic, a.count, a.window_start) for a in later] == [
        ("coverage", 20, window + timedelta(hours=1))
    ]
    assert [a.topic for a in insights.trends(days=1, now=NOW + timedelta(hours=1)).alerts] == [
        "coverage",
        "coverage",
        "billing",
    ]


def test_no_alert_before_there_is_a_baseline(
    tracker_settings: Settings, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    """A new installation's first busy hour is no surge of every topic: 12 windows of history
    first (BASELINE_MIN_WINDOWS, here 12 h)."""
    insights, notified = surge_insights(tracker_settings, engine, tracker_engine)
    window = NOW.replace(minute=0)
    save(store, [said("factuur", "billing_explain_bill", 0.9, at=window - timedelta(hours=11, minutes=50))])
    burst(store, 20, "sim_lost_stolen")
    burst(store, 20, "coverage_outage")
    insights.sync()
    assert insights.check_surges(NOW) == [] and notified == []
    save(store, [said("factuur", "billing_explain_bill", 0.9, at=window - timedelta(hours=12, minutes=5))])
    insights.sync()
    assert sorted(alert.topic for alert in insights.check_surges(NOW)) == ["coverage", "sim"]


def test_a_failed_webhook_is_logged_and_tried_again(
    tracker_settings: Settings,
    engine: Engine,
    tracker_engine: Engine,
    store: SettingsTrackerStore,
    webhook: FakeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = iter([(500, {"error": "down"}), (200, {"ok": True})])
    webhook.route("POST", "/hooks/surge", lambda request: next(answers))
    hook = f"{webhook.url}/hooks/surge"
    insights, notified = surge_insights(tracker_settings, engine, tracker_engine, surge_webhook_url=hook)
    usual_traffic(store)  # a baseline: a day of history
    burst(store, 12, "sim_lost_stolen")
    insights.sync()
    alerts = insights.check_surges(NOW)
    assert [(a.topic, a.department, a.notified) for a in alerts] == [("sim", "SIM & activation", False)]
    assert notified == alerts  # the callback still heard of it
    assert "refused by the webhook: HTTP 500" in caplog.text
    assert "/hooks/surge" not in caplog.text  # webhook URLs hold a secret
    assert insights.check_surges(NOW + timedelta(minutes=1)) == []
    assert len(webhook.received("POST", "/hooks/surge")) == 2
    with engine.connect() as conn:
        assert conn.execute(select(topic_alerts.c.notified)).scalars().all() == [True]


def test_a_window_that_just_closed_is_still_checked(
    tracker_settings: Settings, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    insights, notified = surge_insights(tracker_settings, engine, tracker_engine)
    usual_traffic(store)  # a baseline: a day of history
    burst(store, 12, "nlu_fallback", at=NOW.replace(minute=59, second=59))
    insights.sync()
    alerts = insights.check_surges(NOW.replace(minute=0) + timedelta(hours=1, seconds=30))
    assert [(a.topic, a.department, a.window_start) for a in alerts] == [
        ("not_understood", "Content editors", NOW.replace(minute=0))
    ]
    assert insights.check_surges(NOW.replace(minute=0) + timedelta(hours=1, minutes=5)) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(topic_alerts)).scalar() == 1


# -- the command ----------------------------------------------------------------------------------


@pytest.fixture
def command_env(tracker_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads its settings from the environment, as an editor's shell has them."""
    monkeypatch.setenv("VAR_DIR", str(tracker_settings.var_dir))
    monkeypatch.setenv("DATABASE_URL", tracker_settings.database_url)
    monkeypatch.setenv("RASA_TRACKER_URL", tracker_settings.rasa_tracker_url)


def test_the_command_lists_assigns_and_writes_examples_into_the_data(
    tracker_settings: Settings,
    store: SettingsTrackerStore,
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_project(tmp_path / "project")
    traffic = project / "data" / "nlu" / "nl" / "traffic.yml"
    traffic.write_text(
        'version: "3.1"\nnlu:\n# from last week\n- intent: billing_refund\n  examples: |\n'
        "    - krijg ik die 20 euro nog terug van jullie\n\n- intent: sim_esim\n  examples: |\n"
        "    - kan mijn horloge een esim krijgen\n",
        encoding="utf-8",
    )
    save(
        store,
        [said("wanneer storten jullie mijn geld terug"), said("wanneer storte jullie mijn geld terugg")],
    )
    save(store, [said("kan ik een tweede nummer op mijn gsm zetten", guess="sim_esim")])
    save(store, [said("combien pour appeler le maroc depuis la belgique", language="fr")])

    assert main(["traffic", "list", "--days", "7", "--project", str(project)]) == 0
    listing = capsys.readouterr().out
    assert "3 groups, 4 messages" in listing and "suggestion: sim_esim" in listing
    assert main(["traffic", "list", "--language", "fr", "--project", str(project)]) == 0
    assert "1 group, 1 message " in capsys.readouterr().out

    insights = Insights(Settings.from_env(), _engine(tracker_settings), project_root=project)
    ids = {i.text: i.id for i in insights.unhandled_items()}
    refund = [ids["wanneer storten jullie mijn geld terug"], ids["wanneer storte jullie mijn geld terugg"]]
    args = ["--project", str(project), "--by", "ann"]
    esim = str(ids["kan ik een tweede nummer op mijn gsm zetten"])
    abroad = str(ids["combien pour appeler le maroc depuis la belgique"])
    assert main(["traffic", "assign", "billing_refund", *map(str, refund), *args]) == 0
    assert main(["traffic", "assign", "sim_esim", esim, *args]) == 0
    assert main(["traffic", "assign", "coverage_abroad", abroad, *args]) == 0
    capsys.readouterr()
    assert main(["traffic", "assign", "no_such_intent", str(refund[0]), *args]) == 2
    assert "unknown intent 'no_such_intent'" in capsys.readouterr().err

    assert main(["traffic", "export", "--language", "nl", "--project", str(project)]) == 0
    assert (
        "- wanneer storte jullie mijn geld terugg" in capsys.readouterr().out
    )  # a preview: nothing written or marked
    assert "geld terugg" not in traffic.read_text(encoding="utf-8")
    assert main(["traffic", "export", "--write", "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert str(traffic) in out and str(project / "data/nlu/fr/traffic.yml") in out and "make check" in out
    assert traffic.read_text(encoding="utf-8") == (
        'version: "3.1"\nnlu:\n# from last week\n- intent: billing_refund\n  examples: |\n'
        "    - krijg ik die 20 euro nog terug van jullie\n"
        "    - wanneer storten jullie mijn geld terug\n    - wanneer storte jullie mijn geld terugg\n"
        "\n- intent: sim_esim\n  examples: |\n    - kan mijn horloge een esim krijgen\n"
        "    - kan ik een tweede nummer op mijn gsm zetten\n"
    )
    fr = yaml.safe_load((project / "data/nlu/fr/traffic.yml").read_text(encoding="utf-8"))
    assert fr == {
        "version": "3.1",
        "nlu": [
            {"intent": "coverage_abroad", "examples": "- combien pour appeler le maroc depuis la belgique\n"}
        ],
    }
    assert main(["traffic", "export", "--write", "--project", str(project)]) == 0
    assert "nothing to export" in capsys.readouterr().out

    assert main(["check", "--fast", "--project", str(project)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "PASS"


def _engine(settings: Settings) -> Engine:
    from bot.core.db import create_db_engine

    return create_db_engine(settings.database_url)


def test_the_command_shows_trends_and_reports_bad_settings(
    tracker_settings: Settings,
    store: SettingsTrackerStore,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save(store, [said("factuur", "billing_refund", 0.9), said("5g", "coverage_5g", 0.9), said("??")])
    assert main(["traffic", "trends", "--days", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["day", *TOPICS, "total"]
    today = utcnow().astimezone(tracker_settings.time_zone).date().isoformat()  # the team's day
    assert lines[3].split() == [today, "1", "1", "0", "0", "1", "0", "0", "0", "3"]  # no_article: 0
    assert "no surge alerts" in lines[-1]
    monkeypatch.setenv("SURGE_FACTOR", "0.5")
    assert main(["traffic", "trends"]) == 2
    assert "SURGE_FACTOR must be at least 1.0" in capsys.readouterr().err


# -- the gateway ----------------------------------------------------------------------------------


def test_the_gateway_copies_messages_in_the_background(
    tracker_settings: Settings, store: SettingsTrackerStore, engine: Engine
) -> None:
    from fastapi.testclient import TestClient

    from bot.web.gateway import create_app

    save(store, [said("waar blijft mijn simkaart", "sim_activate", 0.9)])
    app = create_app(tracker_settings.with_overrides(insights_interval_s=0.05), channels=[])
    with TestClient(app):
        assert isinstance(app.state.insights, Insights)
        assert app.state.console.insights is app.state.insights
        deadline = time.monotonic() + 10
        while not turns(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.text for r in turns(engine)] == ["waar blijft mijn simkaart"]
