"""One truth in every view: what an agent writes in the web console also reaches the escalation
post's thread in the agents' Slack, and a post or relay that a gateway reserved in the database
but never made (it died) is made by another gateway, exactly once. Against the local fake Slack
Web API (testkit/fakes/slack_api.py), with the fixtures of test_slack.py and the helpers of
tests/helpers/webcare.py."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.agentdesk.slack import SlackAgentWorkspace
from bot.agentdesk.slack_posts import POST_REF, PostLedger, PostRef
from bot.channels.common import ConversationRefs
from bot.core.db import messages, processed_updates, utcnow
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation
from testkit.fakes.slack_api import FakeSlack
from tests.agentdesk import test_slack as shared
from tests.helpers.channels import wait_until
from tests.helpers.console import log_in
from tests.helpers.webcare import (
    AGENT_TOKEN,
    PHONE,
    WEBCARE,
    escalate,
    handoff_of,
    post_of,
    posts_of,
    reply_in_thread,
    shows,
    take_chat,
)

# The fixtures of test_slack.py: one fake Slack for the module, the gateway, a linked agent.
module_slack, slack, app_settings, client, ann, bob = (
    shared.module_slack,
    shared.slack,
    shared.app_settings,
    shared.client,
    shared.ann,
    shared.bob,
)
LEASE_S = 3.0


def thread_posts(slack: FakeSlack, post_ts: str) -> list[dict[str, Any]]:
    return [
        c.args for c in slack.calls_to("chat.postMessage", AGENT_TOKEN) if c.args.get("thread_ts") == post_ts
    ]


def texts_of(engine: Engine, cid: str, author: str) -> dict[str, int]:
    """The conversation's messages by ``author``: text -> id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.text, messages.c.id).where(
                messages.c.conversation_id == cid, messages.c.author == author
            )
        ).all()
    return {row.text: row.id for row in rows}


def started(workspace: SlackAgentWorkspace) -> bool:
    return workspace.processed_seq >= 0


# --- the web console's replies in the thread ----------------------------------------------------


def test_a_web_console_reply_appears_masked_in_the_slack_thread_and_a_slack_reply_is_not_echoed(
    client: TestClient, slack: FakeSlack, engine: Engine, bob: str
) -> None:
    first = client.post(
        "/api/chat", json={"sender": "web-one-truth", "text": "Mijn rekening", "locale": "nl-BE"}
    )
    cid, token = first.json()["conversation_id"], {"X-Chat-Token": first.json()["token"]}
    assert HandoffQueue(engine).escalate(cid, default_rules()["fraud"], summary="rekening") is not None
    post = post_of(slack, cid)
    agent = log_in(client, "bob")
    assert (
        client.post("/agent/api/presence", json={"presence": "online"}, headers=agent.headers).status_code
        == 200
    )
    assert (
        client.post(f"/agent/api/conversations/{cid}/claim", json={}, headers=agent.headers).status_code
        == 200
    )
    shows(slack, post, "*Bob* has this chat")
    text = f"Ik bel je terug op {PHONE}"
    sent = client.post(f"/agent/api/conversations/{cid}/reply", json={"text": text}, headers=agent.headers)
    assert sent.status_code == 200, sent.text
    ts = post.response["ts"]
    relayed = slack.wait_for("chat.postMessage", lambda a: a.get("thread_ts") == ts, token=AGENT_TOKEN)
    assert relayed[0].args["text"] == "*Bob* (web console): Ik bel je terug op [phone •••56]"
    assert relayed[0].args["channel"] == post.args["channel"]

    reply_in_thread(client, bob, post, "Geregeld vanuit Slack")  # already in the thread: not again
    wait_until(lambda: "Geregeld vanuit Slack" in texts_of(engine, cid, "agent"))
    said = client.post(
        "/api/chat", json={"sender": "web-one-truth", "text": "Dank je"}, headers=token
    )  # the next relay
    assert said.status_code == 200, said.text
    slack.wait_for("chat.postMessage", lambda a: "Dank je" in a.get("text", ""), token=AGENT_TOKEN)
    assert [a["text"] for a in thread_posts(slack, ts)] == [
        "*Bob* (web console): Ik bel je terug op [phone •••56]",
        "*Customer:* Dank je",
    ]


def test_a_transfer_to_a_colleague_redraws_the_post_though_the_owner_stays_agent(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str, bob: str
) -> None:
    """The feed sees no owner change (agent -> agent): the transfer's notice redraws the post."""
    cid, post, _ = take_chat(client, slack, engine, "web-transfer", ann, "*Ann* has this chat")
    agent = log_in(client, "ann")
    moved = client.post(f"/agent/api/conversations/{cid}/transfer", json={"to": "bob"}, headers=agent.headers)
    assert moved.status_code == 200, moved.text
    shows(slack, post, "*Bob* has this chat")


# --- reservations of a gateway that died --------------------------------------------------------


def test_a_post_reserved_by_a_gateway_that_died_is_posted_once_by_another_after_the_lease(
    app_settings: Settings, slack: FakeSlack, engine: Engine
) -> None:
    with TestClient(create_app(app_settings, channels=[])) as plain:
        cid = escalate(plain, engine, "web-orphan")
    workspaces = [SlackAgentWorkspace(app_settings), SlackAgentWorkspace(app_settings)]
    for workspace in workspaces:
        workspace.lease_s = LEASE_S
    reserved = PostRef.reservation(handoff_of(engine, cid).id)  # reserved now, then the process died
    assert ConversationRefs(engine).claim(cid, POST_REF, reserved.value)
    with ExitStack() as stack:
        for workspace in workspaces:
            stack.enter_context(TestClient(create_app(app_settings, channels=[workspace])))
        wait_until(lambda: all(started(w) for w in workspaces))
        assert posts_of(slack, cid) == []  # within the lease the reservation holds
        post = post_of(slack, cid)  # after it, one of the two takes over
        time.sleep(LEASE_S)  # both have looked for unfinished posts again since
    assert len(posts_of(slack, cid)) == 1
    ts = post.response["ts"]
    assert ConversationRefs(engine).get(cid, POST_REF) == f"{reserved.handoff_id}:{WEBCARE}:{ts}"
    assert ConversationRefs(engine).get(cid, "slack_agent_thread") == f"{WEBCARE}:{ts}"


def test_a_relay_reserved_by_a_gateway_that_died_is_posted_once_by_another(
    app_settings: Settings, slack: FakeSlack, engine: Engine
) -> None:
    with TestClient(create_app(app_settings)) as first:
        opened = first.post(
            "/api/chat", json={"sender": "web-orphan-relay", "text": "Hallo", "locale": "nl-BE"}
        )
        cid, token = opened.json()["conversation_id"], {"X-Chat-Token": opened.json()["token"]}
        assert HandoffQueue(engine).escalate(cid, default_rules()["fraud"], summary="hallo") is not None
        post = post_of(slack, cid)
        wait_until(lambda: ConversationRefs(engine).get(cid, "slack_agent_thread"))
    with TestClient(create_app(app_settings, channels=[])) as plain:  # the gateway that will die
        said = plain.post(
            "/api/chat", json={"sender": "web-orphan-relay", "text": "Hallo, nog iemand daar?"}, headers=token
        )
        message_id = max(texts_of(engine, cid, "customer").values())
    assert said.status_code == 200
    with engine.begin() as conn:  # it reserved the relay a minute ago and died before posting
        key, when = f"relay:{message_id}", utcnow() - timedelta(minutes=1)
        conn.execute(insert(processed_updates).values(channel="slack_agents", update_id=key, created_at=when))
    workspaces = [SlackAgentWorkspace(app_settings), SlackAgentWorkspace(app_settings)]
    with ExitStack() as stack:
        for workspace in workspaces:
            stack.enter_context(TestClient(create_app(app_settings, channels=[workspace])))
        ts = post.response["ts"]
        slack.wait_for("chat.postMessage", lambda a: a.get("thread_ts") == ts, token=AGENT_TOKEN)
        time.sleep(0.5)  # the other may be taking it over too: it must not
    assert [a["text"] for a in thread_posts(slack, ts)] == ["*Customer:* Hallo, nog iemand daar?"]


def test_post_refs_read_every_format() -> None:
    assert PostRef.parse("7:C1:1700.1") == PostRef(7, "posted", "C1", "1700.1")
    assert PostRef.parse("7:failed") == PostRef(7, "failed")
    assert PostRef.parse("7:pending@1700000000.500") == PostRef(7, "pending", reserved_at=1700000000.5)
    legacy = PostRef.parse("7:pending")  # reserved by a gateway before the lease: taken over
    assert legacy is not None and legacy.unfinished(utcnow(), 60.0)
    fresh = PostRef.reservation(7)
    assert PostRef.parse(fresh.value) == fresh and not fresh.unfinished(utcnow(), 60.0)
    assert PostRef.parse("7:pending@soon") is None and PostRef.parse("x:failed") is None
    assert json.dumps(fresh.value).count(":") == 1


def test_a_slow_poster_whose_reservation_was_taken_over_is_told_its_post_is_a_duplicate(
    engine: Engine,
) -> None:
    """It then deletes its own post (SlackAgentWorkspace._post): the taker's stays, once."""
    with engine.begin() as conn:
        cid = insert_conversation(conn)
    ledger = PostLedger(engine)
    slow = PostRef.reservation(7, utcnow() - timedelta(minutes=5))
    assert ledger.reserve(cid, None, slow)
    assert ledger.unfinished_posts(utcnow(), 60.0) == [cid]
    taker = PostRef.reservation(7)
    assert ledger.reserve(cid, slow, taker) and not ledger.reserve(cid, slow, PostRef.reservation(7))
    assert ledger.unfinished_posts(utcnow(), 60.0) == []
    assert not ledger.store_post(cid, slow, PostRef(7, "posted", WEBCARE, "1.1"))
    assert ledger.store_post(cid, taker, PostRef(7, "posted", WEBCARE, "2.2"))
    assert ConversationRefs(engine).get(cid, POST_REF) == f"7:{WEBCARE}:2.2"
