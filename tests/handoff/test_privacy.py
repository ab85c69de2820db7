"""Privacy operations (handoff/privacy.py) on a real database and Rasa's real SQL tracker store:
retention per kind of data, one customer's export and erasure (here and in Rasa's store, audited,
finished by a retry when Rasa's store was down), the audit of agents' reads, the admin routes
(admin + CSRF) and the commands."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import Engine

from bot.core.db import (
    OWNER_AGENT,
    OWNER_BOT,
    OWNER_CLOSED,
    OWNER_QUEUED,
    audit_log,
    conversation_notes,
    conversation_refs,
    conversations,
    csat,
    handoffs,
    messages,
    nlu_turns,
    utcnow,
)
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.insights import Insights, open_tracker_engine
from bot.manage import main as manage
from bot.rasa.stores import SettingsTrackerStore
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.audit import Action, customer_subject
from handoff.privacy import Privacy, PrivacyError, TrackerUnavailable
from handoff.privacy_base import CONVERSATION_CHILDREN, tracker_events
from handoff.queue import HandoffQueue
from tests.helpers import console
from tests.helpers.console import PASSWORD, error_code

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)


# --- fixtures and helpers -------------------------------------------------------------------


# Rasa's tracker store and its engine: tracker_settings, store and tracker_engine (tests/conftest.py).


@pytest.fixture
def privacy(tracker_settings: Settings, engine: Engine, tracker_engine: Engine) -> Privacy:
    return Privacy(tracker_settings, engine, tracker_engine, now=lambda: NOW)


def add_conversation(
    engine: Engine,
    channel: str,
    sender: str,
    *,
    owner: str = OWNER_CLOSED,
    at: datetime = NOW,
    texts: tuple[str, ...] = ("hallo",),
) -> str:
    """A conversation with messages, a handoff, a CSAT answer, a platform reference and an
    agent's note."""
    cid = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel=channel,
                sender=sender,
                owner=owner,
                language="nl",
                created_at=at - timedelta(hours=1),
                updated_at=at,
                closed_at=at if owner == OWNER_CLOSED else None,
            )
        )
        for n, text in enumerate(texts):
            conn.execute(
                insert(messages).values(
                    conversation_id=cid,
                    direction="in",
                    author="customer",
                    text=text,
                    language="nl",
                    status="answered",
                    created_at=at - timedelta(minutes=50 - n),
                )
            )
        conn.execute(
            insert(handoffs).values(
                conversation_id=cid,
                reason="fraud",
                priority="urgent",
                priority_rank=0,
                language="nl",
                channel=channel,
                summary="customer needs a person",
                intents=["sensitive_fraud"],
                slots={"customer_number": "C-1001"},
                created_at=at - timedelta(minutes=40),
                ended_at=at if owner == OWNER_CLOSED else None,
            )
        )
        conn.execute(insert(csat).values(conversation_id=cid, language="nl", asked_at=at, score=4))
        conn.execute(insert(conversation_refs).values(conversation_id=cid, kind="slack_thread", value="17.1"))
        note = {
            "conversation_id": cid,
            "agent": "ann",
            "agent_name": "Ann",
            "text": "belde al",
            "created_at": at,
        }
        conn.execute(insert(conversation_notes).values(**note))  # an agent's internal note
    return cid


def save_tracker(store: SettingsTrackerStore, cid: str, texts: tuple[str, ...], at: datetime) -> None:
    """Rasa's events of one conversation, as Rasa's SQL tracker store writes them."""
    events: list[Any] = []
    for n, text in enumerate(texts):
        when = (at + timedelta(seconds=n)).timestamp()
        parse = {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": [], "text": text}
        metadata = {"channel": "web", "language": "nl"}
        events += [
            UserUttered(text, parse["intent"], parse_data=parse, metadata=metadata, timestamp=when),
            ActionExecuted("utter_x", timestamp=when),
            BotUttered("ok", timestamp=when),
            ActionExecuted("action_listen", timestamp=when),
        ]
    asyncio.run(store.save(DialogueStateTracker.from_events(cid, events)))


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def rows_of(engine: Engine, cid: str) -> dict[str, int]:
    """How many rows of each kind our database holds about one conversation."""
    found = {"conversations": count(engine, conversations, conversations.c.id == cid)}
    for table, column in CONVERSATION_CHILDREN:
        found[table.name] = count(engine, table, column == cid)
    found["nlu_turns"] = count(engine, nlu_turns, nlu_turns.c.conversation_id == cid)
    return found


def tracker_count(tracker: Engine, cid: str) -> int:
    return count(tracker, tracker_events, tracker_events.c.sender_id == cid)


def audits(engine: Engine, action: Action | None = None) -> list[Any]:
    query = select(audit_log).order_by(audit_log.c.id)
    if action is not None:
        query = query.where(audit_log.c.action == action.value)
    with engine.connect() as conn:
        return conn.execute(query).all()


@pytest.fixture
def two_customers(
    privacy: Privacy,
    engine: Engine,
    store: SettingsTrackerStore,
    tracker_settings: Settings,
    tracker_engine: Engine,
) -> dict[str, list[str]]:
    """Ann (web "ann-browser": two conversations, one open) and Bob (web "bob-browser"); the same
    sender id on Telegram is someone else. Each conversation has Rasa events and insights rows."""
    people = {
        "ann": [
            add_conversation(engine, "web", "ann-browser", at=NOW - timedelta(days=3), texts=("ann one",)),
            add_conversation(engine, "web", "ann-browser", owner=OWNER_BOT, texts=("ann two", "ann three")),
        ],
        "bob": [add_conversation(engine, "web", "bob-browser", texts=("bob one",))],
        "ann_telegram": [add_conversation(engine, "telegram", "ann-browser", texts=("other one",))],
    }
    for cids in people.values():
        for cid in cids:
            with engine.connect() as conn:
                texts = conn.execute(
                    select(messages.c.text).where(messages.c.conversation_id == cid).order_by(messages.c.id)
                ).scalars()
                save_tracker(store, cid, tuple(texts), utcnow() - timedelta(minutes=5))
    assert Insights(tracker_settings, engine, tracker_engine).sync() == 5  # the insights copy of each message
    return people


# --- the schema -----------------------------------------------------------------------------


def test_every_table_that_refers_to_a_conversation_is_followed() -> None:
    names = {table.name for table, _ in CONVERSATION_CHILDREN}
    assert {"messages", "handoffs", "csat", "conversation_refs"} <= names
    for table, _ in CONVERSATION_CHILDREN:  # nothing refers to them in turn (erasure deletes one level)
        assert not [t for t, _ in CONVERSATION_CHILDREN if any(fk.references(table) for fk in t.foreign_keys)]


def test_retention_settings_have_defaults_and_are_checked() -> None:
    settings = Settings.from_env({})
    assert (
        settings.retention_transcript_days,
        settings.retention_tracker_days,
        settings.retention_insights_days,
        settings.retention_export_days,
        settings.retention_interval_s,
    ) == (365, 90, 180, 30, 86400.0)
    assert Settings.from_env({"RETENTION_TRACKER_DAYS": "0"}).retention_tracker_days == 0
    with pytest.raises(ValueError, match="RETENTION_INSIGHTS_DAYS"):
        Settings.from_env({"RETENTION_INSIGHTS_DAYS": "-1"})


# --- retention ------------------------------------------------------------------------------


def test_retention_deletes_only_what_is_old_and_closed(
    privacy: Privacy, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    old = NOW - timedelta(days=400)
    expired = add_conversation(engine, "web", "a", at=old)
    recent = add_conversation(engine, "web", "b", at=NOW - timedelta(days=300))
    open_old = {
        owner: add_conversation(engine, "web", owner, owner=owner, at=old) for owner in ("bot", "queued")
    }
    agent_old = add_conversation(engine, "web", "c", owner=OWNER_AGENT, at=old)
    # Rasa's events: one conversation 100 days old, one from yesterday
    save_tracker(store, expired, ("old question",), NOW - timedelta(days=100))
    save_tracker(store, recent, ("new question",), NOW - timedelta(days=1))
    with engine.begin() as conn:  # the insights copy: 200 and 10 days old
        for n, days in enumerate((200, 10)):
            conn.execute(
                insert(nlu_turns).values(
                    source_event_id=900_000 + n,
                    conversation_id=recent,
                    channel="web",
                    language="nl",
                    text=f"copy {days}",
                    topic="other",
                    created_at=NOW - timedelta(days=days),
                )
            )
    exports = privacy.exports_dir
    exports.mkdir(parents=True)
    for name, days in (("old.json", 31), ("new.json", 29)):
        (exports / name).write_text("{}")
        stamp = (NOW - timedelta(days=days)).timestamp()
        os.utime(exports / name, (stamp, stamp))
    (exports / "notes.txt").write_text("not an export")
    os.utime(exports / "notes.txt", (old.timestamp(), old.timestamp()))

    counts = privacy.enforce_retention(NOW)

    assert counts == {
        "conversations": 1,
        "messages": 1,
        "handoffs": 1,
        "csat": 1,
        "conversation_refs": 1,
        "conversation_notes": 1,
        "verification_codes": 0,
        "verified_identities": 0,
        "nlu_turns": 1,
        "tracker_events": 4,
        "exports": 1,
    }
    assert not any(rows_of(engine, expired).values())
    for kept in (recent, agent_old, *open_old.values()):
        assert rows_of(engine, kept)["messages"] == 1 and rows_of(engine, kept)["csat"] == 1
    assert tracker_count(tracker_engine, expired) == 0 and tracker_count(tracker_engine, recent) == 4
    with engine.connect() as conn:
        assert list(conn.execute(select(nlu_turns.c.text)).scalars()) == ["copy 10"]
    assert sorted(p.name for p in exports.iterdir()) == ["new.json", "notes.txt"]
    (run,) = audits(engine, Action.RETENTION)
    assert run.actor == "retention" and run.details["deleted"] == counts
    assert run.details["limits_days"] == {
        "transcripts": 365,
        "tracker_events": 90,
        "insights": 180,
        "exports": 30,
    }

    assert privacy.enforce_retention(NOW) == dict.fromkeys(counts, 0)  # idempotent: nothing left to do


def test_a_zero_limit_keeps_that_kind_for_good(
    tracker_settings: Settings, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    settings = tracker_settings.with_overrides(retention_transcript_days=0, retention_tracker_days=0)
    cid = add_conversation(engine, "web", "a", at=NOW - timedelta(days=4000))
    save_tracker(store, cid, ("old question",), NOW - timedelta(days=4000))
    counts = Privacy(settings, engine, tracker_engine).enforce_retention(NOW)
    assert counts["conversations"] == counts["tracker_events"] == 0
    assert rows_of(engine, cid)["messages"] == 1 and tracker_count(tracker_engine, cid) == 4


def test_retention_runs_when_due_by_the_audit_log(privacy: Privacy, engine: Engine) -> None:
    day = timedelta(days=1)
    assert privacy.run_if_due(day, NOW) is not None  # never ran
    assert privacy.run_if_due(day, NOW + timedelta(hours=23)) is None  # ran (by any replica) lately
    assert privacy.run_if_due(day, NOW + timedelta(hours=25)) is not None
    assert len(audits(engine, Action.RETENTION)) == 2


def test_retention_without_a_tracker_store(
    tracker_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """Rasa has not created its SQLite file yet: nothing to delete there, and no file is made."""
    missing = tmp_path / "nowhere" / "rasa_tracker.db"
    absent = open_tracker_engine(f"sqlite:///{missing}")
    assert Privacy(tracker_settings, engine, absent).enforce_retention(NOW)["tracker_events"] == 0
    assert not missing.exists()
    assert Privacy(tracker_settings, engine, None).enforce_retention(NOW)["tracker_events"] == 0


def test_retention_goes_on_without_rasa_and_says_so(tracker_settings: Settings, engine: Engine) -> None:
    cid = add_conversation(engine, "web", "a", at=NOW - timedelta(days=400))
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/none", future=True)
    with pytest.raises(TrackerUnavailable, match="next run"):
        Privacy(tracker_settings, engine, unreachable).enforce_retention(NOW)
    unreachable.dispose()
    assert not any(rows_of(engine, cid).values())  # the other kinds went
    (run,) = audits(engine, Action.RETENTION)
    assert run.details["deleted"]["conversations"] == 1 and "tracker" in run.details["failed"]


# --- export ---------------------------------------------------------------------------------


def test_export_holds_everything_of_the_customer_and_nothing_of_another(
    privacy: Privacy, engine: Engine, two_customers: dict[str, list[str]]
) -> None:
    data = privacy.export_customer("web", "ann-browser", actor="dpo")

    json.dumps(data)  # JSON-able as it is
    assert data["customer"] == {"channel": "web", "sender": "ann-browser"}
    assert [c["id"] for c in data["conversations"]] == two_customers["ann"]
    first, second = data["conversations"]
    assert [m["text"] for m in first["messages"]] == ["ann one"]
    assert [m["text"] for m in second["messages"]] == ["ann two", "ann three"]
    assert first["handoffs"][0]["slots"] == {"customer_number": "C-1001"}
    assert first["csat"][0]["score"] == 4 and first["conversation_refs"][0]["value"] == "17.1"
    assert [i["text"] for i in second["insights"]] == ["ann two", "ann three"]
    user_texts = [e["data"]["text"] for e in second["tracker_events"] if e["type_name"] == "user"]
    assert user_texts == ["ann two", "ann three"]
    assert {e["sender_id"] for e in first["tracker_events"]} == {two_customers["ann"][0]}
    assert data["counts"] == {
        "conversations": 2,
        "messages": 3,
        "handoffs": 2,
        "csat": 2,
        "conversation_refs": 2,
        "conversation_notes": 2,
        "verification_codes": 0,
        "verified_identities": 0,
        "insights": 3,
        "tracker_events": 12,
    }
    text = json.dumps(data)
    assert "bob" not in text and "other one" not in text
    for cid in two_customers["bob"] + two_customers["ann_telegram"]:
        assert cid not in text

    (audit,) = audits(engine, Action.CUSTOMER_EXPORT)
    assert audit.actor == "dpo" and audit.subject == customer_subject("web", "ann-browser")
    assert "ann-browser" not in audit.subject and audit.details["counts"] == data["counts"]


def test_export_of_an_unknown_customer_is_empty(privacy: Privacy) -> None:
    data = privacy.export_customer("web", "nobody", actor="dpo")
    assert data["conversations"] == [] and data["counts"] == {"conversations": 0}
    with pytest.raises(PrivacyError):
        privacy.export_customer("web", "  ", actor="dpo")


def test_an_export_without_rasa_fails_rather_than_leave_its_events_out(
    tracker_settings: Settings, engine: Engine, two_customers: dict[str, list[str]]
) -> None:
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/none", future=True)
    with pytest.raises(TrackerUnavailable):
        Privacy(tracker_settings, engine, unreachable).export_customer("web", "ann-browser", actor="dpo")
    unreachable.dispose()
    assert audits(engine, Action.CUSTOMER_EXPORT) == []


def test_an_export_file_is_for_its_owner_only(privacy: Privacy, two_customers: dict[str, list[str]]) -> None:
    path = privacy.write_export(privacy.export_customer("web", "ann-browser"))
    assert path.parent == privacy.exports_dir and "ann-browser" not in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["counts"]["conversations"] == 2


# --- erasure --------------------------------------------------------------------------------


def test_erase_removes_the_customer_everywhere_and_audits(
    privacy: Privacy, engine: Engine, tracker_engine: Engine, two_customers: dict[str, list[str]]
) -> None:
    result = privacy.erase_customer("web", "ann-browser", actor="dpo")

    assert result["conversations"] == 2
    assert result["deleted"] == {
        "messages": 3,
        "handoffs": 2,
        "csat": 2,
        "conversation_refs": 2,
        "conversation_notes": 2,
        "verification_codes": 0,
        "verified_identities": 0,
        "nlu_turns": 3,
        "conversations": 2,
        "tracker_events": 12,
    }
    for cid in two_customers["ann"]:
        assert not any(rows_of(engine, cid).values()) and tracker_count(tracker_engine, cid) == 0
    for cid in two_customers["bob"] + two_customers["ann_telegram"]:  # the others are untouched
        assert rows_of(engine, cid) == {
            "conversations": 1,
            "messages": 1,
            "handoffs": 1,
            "csat": 1,
            "conversation_refs": 1,
            "conversation_notes": 1,
            "verification_codes": 0,
            "verified_identities": 0,
            "nlu_turns": 1,
        }
        assert tracker_count(tracker_engine, cid) == 4
    (audit,) = audits(engine, Action.CUSTOMER_ERASE)
    assert (audit.actor, audit.subject) == ("dpo", customer_subject("web", "ann-browser"))
    assert audit.created_at == NOW and audit.details["tracker"] == "done"
    assert audit.details["deleted"] == result["deleted"]
    assert sorted(audit.details["conversations"]) == sorted(two_customers["ann"])

    again = privacy.erase_customer("web", "ann-browser", actor="dpo")  # a no-op, audited as asked
    assert again["conversations"] == 0 and not any(again["deleted"].values())
    assert len(audits(engine, Action.CUSTOMER_ERASE)) == 2
    assert privacy.export_customer("web", "ann-browser", actor="dpo")["conversations"] == []
    assert count(engine, conversations) == 2


def test_an_erasure_interrupted_before_rasa_is_finished_by_a_retry(
    tracker_settings: Settings,
    engine: Engine,
    privacy: Privacy,
    tracker_engine: Engine,
    two_customers: dict[str, list[str]],
) -> None:
    before = {cid: tracker_count(tracker_engine, cid) for cid in two_customers["ann"]}
    assert before == dict(zip(two_customers["ann"], (4, 8), strict=True))
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/none", future=True)
    down = Privacy(tracker_settings, engine, unreachable, now=lambda: NOW)
    with pytest.raises(TrackerUnavailable, match="again"):
        down.erase_customer("web", "ann-browser", actor="dpo")
    # our database is erased in full, Rasa's events are still there, and the audit says so
    for cid in two_customers["ann"]:
        assert not any(rows_of(engine, cid).values()) and tracker_count(tracker_engine, cid) == before[cid]
    (first,) = audits(engine, Action.CUSTOMER_ERASE)
    assert first.details["tracker"] == "pending"

    retry = privacy.erase_customer("web", "ann-browser", actor="dpo")

    assert retry["conversations"] == 0 and retry["deleted"]["tracker_events"] == 12
    for cid in two_customers["ann"]:
        assert tracker_count(tracker_engine, cid) == 0
    first, second = audits(engine, Action.CUSTOMER_ERASE)
    assert first.details["tracker"] == second.details["tracker"] == "done"
    assert first.details["finished_by"] == second.id
    assert tracker_count(tracker_engine, two_customers["bob"][0]) == 4
    unreachable.dispose()


def test_an_erasure_needs_an_actor(privacy: Privacy) -> None:
    with pytest.raises(PrivacyError, match="actor"):
        privacy.erase_customer("web", "ann-browser", actor=" ")


# --- the console: agents' reads and the admin routes ----------------------------------------


@pytest.fixture
def client(
    tracker_settings: Settings, fast_password_hashing: None, store: SettingsTrackerStore
) -> Iterator[TestClient]:
    with TestClient(create_app(tracker_settings)) as client:
        yield client


def log_in(client: TestClient, engine: Engine, username: str, role: str) -> dict[str, str]:
    """Headers of a logged-in agent's requests: the session cookie and the CSRF token."""
    AgentDirectory(engine).create(username, PASSWORD, role=role, languages=("nl",))
    return console.log_in(client, username).headers


def test_an_agent_reading_a_transcript_is_audited(client: TestClient, engine: Engine) -> None:
    cid = add_conversation(engine, "web", "ann-browser", owner=OWNER_BOT)
    assert HandoffQueue(engine).escalate(cid, default_rules()["fraud"]) is not None
    agent = log_in(client, engine, "ann", "agent")
    assert count(engine, audit_log) == 0

    assert client.get(f"/agent/api/conversations/{cid}", headers=agent).status_code == 200
    assert client.get(f"/agent/api/conversations/{cid}/export", headers=agent).status_code == 200
    assert client.get("/agent/api/conversations/nope", headers=agent).status_code == 404  # nothing read

    reads = audits(engine, Action.TRANSCRIPT_READ)
    assert [(r.actor, r.subject) for r in reads] == [("ann", f"conversation:{cid}")] * 2
    assert reads[0].details["handoff_id"] >= 1


def test_the_privacy_routes_are_for_admins_with_their_csrf_token(
    client: TestClient, engine: Engine, tracker_engine: Engine, store: SettingsTrackerStore
) -> None:
    cid = add_conversation(engine, "web", "ann-browser", owner=OWNER_QUEUED)
    other = add_conversation(engine, "web", "bob-browser")
    save_tracker(store, cid, ("hallo",), utcnow())
    admin = log_in(client, engine, "root", "admin")
    agent = log_in(client, engine, "ann", "agent")
    body = {"channel": "web", "sender": "ann-browser"}

    for path in ("export", "erase"):
        url = f"/agent/api/admin/privacy/{path}"
        assert error_code(client.post(url, json=body)) == "not_logged_in"
        assert error_code(client.post(url, json=body, headers=agent)) == "admin_only"
        no_csrf = {"Cookie": admin["Cookie"]}
        assert error_code(client.post(url, json=body, headers=no_csrf)) == "csrf"
        form = client.post(url, content="channel=web", headers={**admin, "Content-Type": "text/plain"})
        assert (form.status_code, error_code(form)) == (415, "json_required")
        invalid = client.post(url, json={"channel": "web"}, headers=admin)
        assert (invalid.status_code, error_code(invalid)) == (422, "invalid_customer")
    assert count(engine, audit_log) == 0 and rows_of(engine, cid)["messages"] == 1

    exported = client.post("/agent/api/admin/privacy/export", json=body, headers=admin)
    assert exported.status_code == 200 and exported.headers["cache-control"] == "no-store"
    (conversation,) = exported.json()["conversations"]
    assert conversation["id"] == cid and len(conversation["tracker_events"]) == 4

    erased = client.post("/agent/api/admin/privacy/erase", json=body, headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["deleted"]["conversations"] == 1 and erased.json()["deleted"]["tracker_events"] == 4
    assert not any(rows_of(engine, cid).values()) and tracker_count(tracker_engine, cid) == 0
    assert rows_of(engine, other)["messages"] == 1
    assert [(a.actor, a.action) for a in audits(engine)] == [
        ("root", "customer.export"),
        ("root", "customer.erase"),
    ]


# --- the commands ---------------------------------------------------------------------------


def test_the_commands_export_erase_and_run_retention(
    tracker_settings: Settings,
    engine: Engine,
    tracker_engine: Engine,
    two_customers: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "ann.json"
    assert (
        manage(
            ["export-customer", "web", "ann-browser", "--out", str(out), "--actor", "dpo"], tracker_settings
        )
        == 0
    )
    assert "2 conversation(s) exported" in capsys.readouterr().out
    assert json.loads(out.read_text())["counts"]["messages"] == 3

    assert manage(["export-customer", "web", "ann-browser"], tracker_settings) == 0
    (kept,) = (tracker_settings.var_dir / "exports").iterdir()
    assert str(kept) in capsys.readouterr().out

    assert manage(["export-customer", "web", "ann-browser", "--out", "-"], tracker_settings) == 0
    assert json.loads(capsys.readouterr().out)["customer"]["sender"] == "ann-browser"

    assert manage(["erase-customer", "web", "ann-browser", "--actor", "dpo"], tracker_settings) == 2
    assert "--yes" in capsys.readouterr().err
    assert rows_of(engine, two_customers["ann"][0])["conversations"] == 1

    assert manage(["erase-customer", "web", "ann-browser", "--actor", "dpo", "--yes"], tracker_settings) == 0
    assert "conversations=2" in capsys.readouterr().out
    assert tracker_count(tracker_engine, two_customers["ann"][1]) == 0

    assert manage(["retention"], tracker_settings) == 0
    printed = capsys.readouterr().out  # what is past its retention depends on today's date
    assert printed.startswith("conversations=") and "tracker_events=" in printed and "exports=0" in printed
    assert [a.action for a in audits(engine)] == [
        "customer.export",
        "customer.export",
        "customer.export",
        "customer.erase",
        "retention.run",
    ]
