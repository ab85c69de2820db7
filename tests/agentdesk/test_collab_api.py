"""Working on a chat with others over HTTP, on a real database: typing indicators both ways
(throttled, never in the transcript, through the change feed every replica reads), unread counts
in the agent's chats, and passing a chat to a colleague or a language team (one owner throughout,
a neutral notice for the customer, a note, an audit row)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.agentdesk.console_stream import SEEN_EVERY_S, ConsoleStream
from bot.channels.webchat import CustomerStream
from bot.core import events
from bot.core.chat_sessions import ChatSessions
from bot.core.db import audit_log, conversation_notes, conversations, handoffs, messages, typing_signals
from bot.core.feed import ChangeFeed, Event
from bot.core.texts import text as customer_text
from tests.helpers.console import AgentApi, error_code, queue_chat


def web_chat(engine: Engine, said: str = "hallo", language: str = "nl") -> tuple[str, str]:
    """A queued web chat whose customer holds a conversation token: (conversation, token)."""
    session = ChatSessions(engine).claim(f"web-typing-{said}")
    assert session is not None and session.token
    return queue_chat(engine, said, language=language, sender=session.sender), session.token


def stored_texts(engine: Engine, cid: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(messages.c.text).where(messages.c.conversation_id == cid)).scalars())


def owner_of(engine: Engine, cid: str) -> tuple[str, str | None, str]:
    """The conversation's owner, and its open handoff's agent and language."""
    with engine.connect() as conn:
        owner = conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()
        handoff = conn.execute(
            select(handoffs.c.claimed_by, handoffs.c.language).where(
                handoffs.c.conversation_id == cid, handoffs.c.ended_at.is_(None)
            )
        ).one()
    return owner, handoff.claimed_by, handoff.language


def mine(agent: AgentApi) -> dict[str, dict]:
    return {e["conversation_id"]: e for e in agent.queue()["mine"]}


# --- typing -----------------------------------------------------------------------------------


def test_typing_travels_through_the_feed_both_ways_throttled_and_never_in_the_transcript(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann, bob = desk_agent("ann"), desk_agent("bob")
    cid, token = web_chat(engine)
    other = ChangeFeed(engine)  # another gateway replica's feed on the same database
    other.poll()
    refused = desk_client.post(f"/agent/api/conversations/{cid}/typing", json={}, headers=ann.cookie)
    assert refused.status_code == 403 and error_code(refused) == "csrf"
    not_yet = ann.act(cid, "typing")  # only the agent who has the chat
    assert not_yet.status_code == 409 and error_code(not_yet) == "not_yours"
    ann.ok(ann.act(cid, "claim"))
    assert error_code(bob.act(cid, "typing")) == "not_yours"

    assert ann.ok(ann.act(cid, "typing"))["sent"] is True
    assert ann.ok(ann.act(cid, "typing"))["sent"] is False  # at most one per 3 s
    assert desk_client.post("/api/chat/typing").status_code == 401  # the customer needs their token
    wrong = desk_client.post("/api/chat/typing", headers={"X-Chat-Token": "x" * 43})
    assert wrong.status_code == 401
    preflight = {  # the widget on a shop's page sends its token from another origin
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-chat-token",
    }
    allowed = desk_client.options("/api/chat/typing", headers=preflight)
    assert (
        allowed.status_code == 200
        and "x-chat-token" in allowed.headers["access-control-allow-headers"].lower()
    )
    said = desk_client.post("/api/chat/typing", headers={"X-Chat-Token": token})
    assert said.status_code == 200 and said.json()["sent"] is True

    seen = [
        (kind, c, data["side"], data["name"])
        for kind, c, _ch, _s, data in other.poll()
        if kind == events.TYPING
    ]
    assert sorted(seen) == [(events.TYPING, cid, "agent", "Ann"), (events.TYPING, cid, "customer", None)]
    assert [e for e in other.poll() if e[0] == events.TYPING] == []  # each once
    assert stored_texts(engine, cid) == ["hallo", customer_text("agent_joined", "nl").format(agent="Ann")]
    with engine.connect() as conn:
        assert conn.execute(select(typing_signals.c.side)).scalars().all() != []


def test_the_streams_show_the_other_side_typing_only(engine: Engine) -> None:
    cid, _token = web_chat(engine)
    with engine.connect() as conn:
        sender = conn.execute(select(conversations.c.sender).where(conversations.c.id == cid)).scalar_one()
    feed = ChangeFeed(engine)
    both = [
        feed_event(1, cid, sender, {"side": "agent", "name": "Ann", "at": "t"}),
        feed_event(2, cid, sender, {"side": "customer", "name": None, "at": "t"}),
    ]
    console = ConsoleStream(None, "", cid, 0)  # type: ignore[arg-type]
    assert [chunk_of(c) for c in console.from_feed(both)] == [
        (events.TYPING, {"side": "customer", "name": None, "at": "t"})
    ]
    elsewhere = ConsoleStream(None, "", "another", 0)  # type: ignore[arg-type]
    assert elsewhere.from_feed(both) == []
    customer = CustomerStream(None, sender, 0)  # type: ignore[arg-type]
    pushed = [chunk_of(c) for c in asyncio_run(customer.update(both, True, True))]
    assert pushed == [(events.TYPING, {"name": "Ann"})]
    assert feed.since(0) == ([], True)


def feed_event(seq: int, cid: str, sender: str, data: dict) -> Event:
    return Event(seq, events.TYPING, cid, "web", sender, data)


def chunk_of(chunk: str) -> tuple[str, dict]:
    lines = dict(line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line)
    return lines["event"], json.loads(lines["data"])


def asyncio_run(coro: Coroutine[Any, Any, list[str]]) -> list[str]:
    return asyncio.run(coro)


# --- unread counts ----------------------------------------------------------------------------


def test_the_agents_chats_count_the_customer_messages_since_the_last_reply(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann")
    cid, token = web_chat(engine, "eerste vraag")
    ann.ok(ann.act(cid, "claim"))
    assert mine(ann)[cid]["unread"] == 1  # what the customer said before anyone answered
    ann.ok(ann.act(cid, "reply", text="Ik kijk even"))
    assert mine(ann)[cid]["unread"] == 0
    sender = ChatSessions(engine).find(token).sender  # type: ignore[union-attr]
    for text in ("nog iets", "en dit"):
        sent = desk_client.post(
            "/api/chat", json={"sender": sender, "text": text}, headers={"X-Chat-Token": token}
        )
        assert sent.status_code == 200, sent.text
    entry = mine(ann)[cid]
    assert entry["unread"] == 2 and entry["last_customer_id"] == max_customer_id(engine, cid)


def max_customer_id(engine: Engine, cid: str) -> int:
    with engine.connect() as conn:
        query = select(messages.c.id).where(
            messages.c.conversation_id == cid, messages.c.author == "customer"
        )
        return max(conn.execute(query).scalars())


def test_a_round_that_reads_the_console_again_still_announces_the_customers_message(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    """Every SEEN_EVERY_S a round of the console's stream reads the agent's view again from the
    database: a customer's message in another of the agent's chats in that round still comes as
    an activity event (the page's alert while its tab is hidden), not only as an unread count."""
    ann = desk_agent("ann")
    cid, token = web_chat(engine, "eerste vraag")
    ann.ok(ann.act(cid, "claim"))
    stream = ConsoleStream(desk_client.app.state.console, ann.token, None, 0)  # type: ignore[attr-defined]
    asyncio.run(stream.start())
    feed = ChangeFeed(engine)  # what the gateway's feed reads when the customer writes
    feed.poll()
    sender = ChatSessions(engine).find(token).sender  # type: ignore[union-attr]
    sent = desk_client.post(
        "/api/chat", json={"sender": sender, "text": "nog iets"}, headers={"X-Chat-Token": token}
    )
    assert sent.status_code == 200, sent.text
    changes = [Event(seq, *change) for seq, change in enumerate(feed.poll(), start=1)]
    stream.last_seen -= SEEN_EVERY_S  # this round reads everything again
    pushed = [chunk_of(chunk) for chunk in asyncio.run(stream.update(changes, True, True)) or []]
    newest = max_customer_id(engine, cid)
    assert (events.ACTIVITY, {"conversation_id": cid, "message_id": newest}) in pushed
    [view] = [data for name, data in pushed if name == events.QUEUE]
    assert view["mine"][0]["last_customer_id"] == newest  # the page counts it once


# --- transfer ---------------------------------------------------------------------------------


def test_an_agent_passes_a_chat_to_an_online_colleague_with_a_note(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann, bob = desk_agent("ann", ("nl", "fr")), desk_agent("bob", ("fr",))
    carl, dirk = desk_agent("carl", ("fr",), online=False), desk_agent("dirk", ("nl",))
    cid, _token = web_chat(engine, "bonjour", "fr")
    ann.ok(ann.act(cid, "claim"))
    assert [c["username"] for c in ann.ok(ann.get("colleagues"))["colleagues"]] == ["bob", "dirk"]
    for body, status, code in (
        ({"to": "nobody"}, 404, "unknown_colleague"),
        ({"to": "ann"}, 422, "transfer_to_self"),
        ({"to": "carl"}, 409, "colleague_offline"),
        ({"to": "dirk"}, 409, "colleague_language"),
        ({}, 422, "invalid_transfer"),
        ({"to": "bob", "language": "fr"}, 422, "invalid_transfer"),
        ({"language": "de"}, 422, "invalid_transfer"),
        ({"to": "bob", "note": "x" * 2001}, 413, "note_too_long"),
    ):
        refused = ann.act(cid, "transfer", **body)
        assert (refused.status_code, error_code(refused)) == (status, code), body
    assert error_code(bob.act(cid, "transfer", to="ann")) == "not_yours"
    assert owner_of(engine, cid) == ("agent", "ann", "fr")

    done = ann.ok(ann.act(cid, "transfer", to="Bob", note="Factuur al gecontroleerd"))
    assert done["to"] == "bob" and done["note"]["text"] == "Factuur al gecontroleerd"
    assert owner_of(engine, cid) == ("agent", "bob", "fr")
    assert cid in mine(bob) and cid not in mine(ann)
    assert error_code(ann.act(cid, "reply", text="nog ik")) == "not_yours"
    bob.ok(bob.act(cid, "reply", text="Bonjour, je reprends"))
    assert stored_texts(engine, cid)[-2] == customer_text("transferred", "fr")  # neutral: no names
    with engine.connect() as conn:
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "chat.transfer")).one()
        notes = conn.execute(select(conversation_notes.c.agent)).scalars().all()
    assert (audit.actor, audit.subject, audit.details["to"]) == ("ann", f"conversation:{cid}", "bob")
    assert notes == ["ann"] and carl and dirk


def test_an_agent_passes_a_chat_to_a_language_team(
    engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann, fien = desk_agent("ann", ("nl",)), desk_agent("fien", ("fr",))
    cid, _token = web_chat(engine, "je parle français", "nl")  # detected wrong: the customer writes French
    ann.ok(ann.act(cid, "claim"))
    assert cid not in [e["conversation_id"] for e in fien.queue()["offered"]]
    ann.ok(ann.act(cid, "transfer", language="fr", note="Klant spreekt Frans"))
    assert owner_of(engine, cid) == ("queued", None, "fr")
    assert cid in [e["conversation_id"] for e in fien.queue()["offered"]]
    assert cid not in mine(ann)
    assert stored_texts(engine, cid)[-1] == customer_text("transferred", "nl")  # the customer's language
    fien.ok(fien.act(cid, "claim"))
    assert owner_of(engine, cid) == ("agent", "fien", "fr")
    assert error_code(ann.act(cid, "transfer", language="fr")) == "not_yours"
