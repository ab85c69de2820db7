"""Snoozing a chat over the console's HTTP API, on a real database (handoff/snooze.py): a POST with
the CSRF token by the agent who has the chat and answered it; the chat leaves "mine" for
"snoozed" with its wake-up time and comes back when the time comes or the customer writes (the
console's live stream shows both without a database write); close, hand back and transfer still
work; the metrics keep counting it as the agent's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.agentdesk.console_stream import ConsoleStream
from bot.core import events
from bot.core.chat_sessions import ChatSessions
from bot.core.db import audit_log, conversations, handoffs
from bot.core.feed import ChangeFeed, Event
from bot.core.settings import Settings
from handoff.snooze import tomorrow_morning
from tests.helpers.clock import Clock
from tests.helpers.console import AgentApi, error_code, queue_chat


def answered_chat(engine: Engine, agent: AgentApi, said: str = "hallo") -> tuple[str, str]:
    """A web chat ``agent`` took and answered, whose customer holds a token: (conversation, token)."""
    session = ChatSessions(engine).claim(f"web-snooze-{said}")
    assert session is not None and session.token
    cid = queue_chat(engine, said, sender=session.sender)
    agent.ok(agent.act(cid, "claim"))
    agent.ok(agent.act(cid, "reply", text="Zoek je klantnummer even op, ik wacht."))
    return cid, session.token


def ids(entries: list[dict]) -> list[str]:
    return [e["conversation_id"] for e in entries]


def customer_says(client: TestClient, engine: Engine, token: str, text: str) -> None:
    sender = ChatSessions(engine).find(token).sender  # type: ignore[union-attr]
    sent = client.post("/api/chat", json={"sender": sender, "text": text}, headers={"X-Chat-Token": token})
    assert sent.status_code == 200, sent.text


def console_clock(desk_client: TestClient, later: timedelta) -> Clock:
    """The console's clock moved ``later`` (the gateway reads the time through it)."""
    clock = Clock(datetime.now(timezone.utc) + later)
    desk_client.app.state.console.console.now = clock  # type: ignore[attr-defined]
    return clock


def test_an_agent_snoozes_an_answered_chat_and_it_leaves_the_active_list(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann, bob = desk_agent("ann"), desk_agent("bob")
    other, _ = answered_chat(engine, ann, "andere vraag")
    cid = queue_chat(engine, "nog niet beantwoord")
    ann.ok(ann.act(cid, "claim"))
    refused = ann.act(cid, "snooze", preset="15m")  # the customer has not had an answer yet
    assert (refused.status_code, error_code(refused)) == (409, "reply_first")
    ann.ok(ann.act(cid, "reply", text="Ik kijk het na"))

    no_csrf = desk_client.post(
        f"/agent/api/conversations/{cid}/snooze", json={"preset": "15m"}, headers=ann.cookie
    )
    assert (no_csrf.status_code, error_code(no_csrf)) == (403, "csrf")
    by_get = desk_client.get(f"/agent/api/conversations/{cid}/snooze", headers=ann.cookie)
    assert by_get.status_code in (404, 405)
    for body, status, code in (
        ({"preset": "2h"}, 422, "invalid_snooze"),
        ({}, 422, "invalid_snooze"),
        ({"until": "2020-01-01T09:00"}, 422, "invalid_snooze"),
        ({"until": "next week"}, 422, "invalid_snooze"),
    ):
        wrong = ann.act(cid, "snooze", **body)
        assert (wrong.status_code, error_code(wrong)) == (status, code), body
    assert error_code(bob.act(cid, "snooze", preset="15m")) == "not_yours"

    before = datetime.now(timezone.utc)
    done = ann.ok(ann.act(cid, "snooze", preset="15m"))
    until = datetime.fromisoformat(done["snoozed_until"])
    assert before + timedelta(minutes=15) <= until <= datetime.now(timezone.utc) + timedelta(minutes=15)

    view = ann.queue()
    assert ids(view["mine"]) == [other] and ids(view["snoozed"]) == [cid]
    snoozed = view["snoozed"][0]
    assert (snoozed["snoozed"], snoozed["woke"], snoozed["claimed_by"]) == (True, None, "ann")
    assert datetime.fromisoformat(snoozed["snoozed_until"]) == until
    assert view["mine"][0]["snoozed_until"] is None
    with engine.connect() as conn:
        owner = conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "chat.snooze")).one()
    assert owner == "agent"  # still with a person: the customer's messages reach Ann, not the bot
    assert (audit.actor, audit.subject) == ("ann", f"conversation:{cid}")
    assert audit.details["until"] == done["snoozed_until"]

    # still Ann's for the metrics: her chat, answered, nobody waiting
    figures = ann.ok(ann.get("metrics"))
    assert figures["first_reply"]["waiting_now"] == 0
    assert [(a["agent"], a["chats"], a["replied"]) for a in figures["by_agent"]] == [("ann", 2, 2)]


def test_tomorrow_means_nine_in_the_teams_time_zone(
    desk_client: TestClient, engine: Engine, settings: Settings, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann")
    cid, _ = answered_chat(engine, ann)
    before = datetime.now(timezone.utc)
    until = datetime.fromisoformat(ann.ok(ann.act(cid, "snooze", preset="tomorrow"))["snoozed_until"])
    after = datetime.now(timezone.utc)
    assert until in {
        tomorrow_morning(before, settings.time_zone),
        tomorrow_morning(after, settings.time_zone),
    }
    assert until.astimezone(settings.time_zone).strftime("%H:%M") == "09:00"

    local = (datetime.now(settings.time_zone) + timedelta(hours=2)).replace(second=0, microsecond=0)
    chosen = ann.ok(ann.act(cid, "snooze", until=local.strftime("%Y-%m-%dT%H:%M")))  # a new time
    assert datetime.fromisoformat(chosen["snoozed_until"]) == local
    assert datetime.fromisoformat(ann.queue()["snoozed"][0]["snoozed_until"]) == local


def test_a_snoozed_chat_comes_back_when_the_customer_writes(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann")
    cid, token = answered_chat(engine, ann)
    ann.ok(ann.act(cid, "snooze", preset="1h"))
    customer_says(desk_client, engine, token, "Gevonden: 12345")
    view = ann.queue()
    assert ids(view["mine"]) == [cid] and view["snoozed"] == []
    entry = view["mine"][0]
    assert (entry["snoozed"], entry["woke"], entry["unread"]) == (False, "customer", 1)
    ann.ok(ann.act(cid, "reply", text="Dank je, ik zie het"))  # the reply ends the snooze
    entry = ann.queue()["mine"][0]
    assert (entry["snoozed_until"], entry["woke"], entry["unread"]) == (None, None, 0)


def test_a_snoozed_chat_comes_back_when_its_time_comes(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann")
    cid, _ = answered_chat(engine, ann)
    ann.ok(ann.act(cid, "snooze", preset="1h"))
    console_clock(desk_client, timedelta(minutes=59))
    assert ids(ann.queue()["snoozed"]) == [cid]
    console_clock(desk_client, timedelta(minutes=61))
    view = ann.queue()
    assert ids(view["mine"]) == [cid] and view["snoozed"] == []
    assert (view["mine"][0]["woke"], view["mine"][0]["unread"]) == ("time", 0)
    with engine.connect() as conn:  # nothing was written: the time alone decides
        stored = conn.execute(select(handoffs.c.snoozed_until).where(handoffs.c.conversation_id == cid))
        assert stored.scalar_one() is not None


def test_wake_now_close_hand_back_and_transfer_work_on_a_snoozed_chat(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann, bob = desk_agent("ann"), desk_agent("bob")
    woken, _ = answered_chat(engine, ann, "een")
    closed, _ = answered_chat(engine, ann, "twee")
    handed, _ = answered_chat(engine, ann, "drie")
    passed, _ = answered_chat(engine, ann, "vier")
    for cid in (woken, closed, handed, passed):
        ann.ok(ann.act(cid, "snooze", preset="3h"))
    assert ids(ann.queue()["mine"]) == []
    assert error_code(bob.act(woken, "unsnooze")) == "not_yours"

    assert ann.ok(ann.act(woken, "unsnooze"))["woken"] is True
    assert ann.ok(ann.act(woken, "unsnooze"))["woken"] is False
    ann.ok(ann.act(closed, "close", wrap_up="follow_up"))
    ann.ok(ann.act(handed, "handback"))
    ann.ok(ann.act(passed, "transfer", to="bob", note="Klant zoekt zijn nummer op"))

    view = ann.queue()
    assert ids(view["mine"]) == [woken] and view["snoozed"] == []
    assert view["mine"][0]["woke"] is None
    assert ids(bob.queue()["mine"]) == [passed] and bob.queue()["mine"][0]["snoozed_until"] is None
    with engine.connect() as conn:
        ended = dict(
            conn.execute(
                select(handoffs.c.conversation_id, handoffs.c.outcome).where(handoffs.c.ended_at.is_not(None))
            ).all()
        )
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars().all()
    assert ended == {closed: "closed", handed: "handed_back"}
    assert [a for a in actions if a.startswith("chat.")] == ["chat.snooze"] * 4 + [
        "chat.unsnooze",
        "chat.transfer",
    ]


# --- the console's live stream ------------------------------------------------------------------


def chunk_events(chunks: list[str] | None) -> list[tuple[str, dict]]:
    assert chunks is not None
    found = []
    for chunk in chunks:
        fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line)
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def queue_views(chunks: list[str] | None) -> list[dict]:
    return [data for name, data in chunk_events(chunks) if name == events.QUEUE]


def test_the_console_stream_shows_a_chat_coming_back_without_a_database_write(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann")
    by_time, _ = answered_chat(engine, ann, "tijd")
    by_customer, token = answered_chat(engine, ann, "klant")
    ann.ok(ann.act(by_time, "snooze", preset="15m"))
    ann.ok(ann.act(by_customer, "snooze", preset="1h"))
    stream = ConsoleStream(desk_client.app.state.console, ann.token, None, 0)  # type: ignore[attr-defined]
    [first] = queue_views(asyncio.run(stream.start()))
    assert ids(first["snoozed"]) == [by_time, by_customer] and first["mine"] == []

    feed = ChangeFeed(engine)  # what the gateway's feed reads when the customer writes
    feed.poll()
    customer_says(desk_client, engine, token, "Ik heb het gevonden")
    changes = [Event(seq, *change) for seq, change in enumerate(feed.poll(), start=1)]
    pushed = chunk_events(asyncio.run(stream.update(changes, True, True)))
    assert (events.ACTIVITY, {"conversation_id": by_customer, "message_id": changes[0].data["id"]}) in [
        (name, data) for name, data in pushed if name == events.ACTIVITY
    ]
    [back] = [data for name, data in pushed if name == events.QUEUE]
    assert ids(back["mine"]) == [by_customer] and ids(back["snoozed"]) == [by_time]

    assert asyncio.run(stream.update([], True, False)) == []  # nothing due yet
    console_clock(desk_client, timedelta(minutes=16))  # a round of the stream after the wake-up time
    [woken] = queue_views(asyncio.run(stream.update([], True, False)))
    assert ids(woken["mine"]) == [by_time, by_customer] and woken["snoozed"] == []  # in claim order
    assert [e["woke"] for e in woken["mine"]] == ["time", "customer"]
    assert stream.next_wake is None
