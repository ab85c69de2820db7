"""The webcare team's Slack, end to end: escalations posted to the agents' channel from the change
feed, Take / Hand back / Close clicks and thread replies signed and pushed through the real bolt
app in the gateway, answers through the real AsyncWebClient to a fake Slack Web API, and the same
state as the web console (whose API is used alongside)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.agentdesk.slack import SlackAgentWorkspace
from bot.channels.common import ConversationRefs, run_on_loop
from bot.channels.slack import SlackCustomerChannel
from bot.channels.slack_text import to_plain
from bot.core.db import conversations
from bot.core.identity import Identity
from bot.core.masking import mask_text
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import (
    FakeSlack,
    block_actions,
    button_of,
    event_callback,
    message_event,
    posted_message,
    signed_headers,
)
from tests.helpers.channels import wait_until
from tests.helpers.console import PASSWORD, log_in
from tests.helpers.slack import SECRET as CUSTOMER_SECRET
from tests.helpers.slack import TEAM as CUSTOMER_TEAM
from tests.helpers.slack import TOKEN as CUSTOMER_TOKEN
from tests.helpers.webcare import (
    AGENT_TEAM,
    AGENT_TOKEN,
    PHONE,
    SUMMARY,
    WEBCARE,
    both_apps_slack,
    click,
    escalate,
    handoff_of,
    post_of,
    posts_of,
    reply_in_thread,
    send,
    shows,
    take_chat,
    webcare_settings,
)

# --- fixtures (one fake Slack for the module, like the fake Rasa of tests/agentdesk/conftest.py) --


@pytest.fixture(scope="module")
def module_slack() -> Iterator[FakeSlack]:
    fake = both_apps_slack(locales={"UCUST": "nl-BE"})
    yield fake
    fake.stop()


@pytest.fixture
def slack(module_slack: FakeSlack) -> FakeSlack:
    module_slack.calls.clear()
    return module_slack


@pytest.fixture
def app_settings(settings: Settings, rasa: FakeServer, actions: FakeServer, slack: FakeSlack) -> Settings:
    return webcare_settings(settings, rasa, actions, slack)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    """The gateway with the channels its settings enable: here only the agents' workspace."""
    with TestClient(create_app(app_settings)) as client:
        yield client


@pytest.fixture
def ann(directory: AgentDirectory) -> str:
    """A Dutch and French speaking agent, offline, linked to Slack user UANN."""
    agent = directory.create("ann", PASSWORD, display_name="Ann", languages=("nl", "fr"))
    directory.link(agent.id, "slack", "UANN")
    return "UANN"


@pytest.fixture
def bob(directory: AgentDirectory) -> str:
    agent = directory.create("bob", PASSWORD, display_name="Bob", languages=("nl",))
    directory.link(agent.id, "slack", "UBOB")
    directory.set_presence(agent.id, "online")
    return "UBOB"


# --- helpers ------------------------------------------------------------------------------------


def action_ids(args: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def ephemeral_to(slack: FakeSlack, user: str) -> dict[str, Any]:
    return slack.wait_for("chat.postEphemeral", lambda a: a.get("user") == user, token=AGENT_TOKEN)[0].args


def owner_of(engine: Engine, cid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()


def history(client: TestClient, sender: str) -> list[dict[str, Any]]:
    return client.get("/api/chat/history", params={"sender": sender}).json()["messages"]


def caught_up(app: FastAPI, workspace: SlackAgentWorkspace, cid: str, owner: str) -> bool:
    """This gateway's workspace has handled the feed event of ``cid`` becoming ``owner``."""
    feed = app.state.services.feed
    seen = [e.seq for e in list(feed.log) if e.conversation_id == cid and e.data.get("owner") == owner]
    return bool(seen) and workspace.processed_seq >= seen[-1]


# --- posting ------------------------------------------------------------------------------------


def test_an_escalation_is_posted_once_with_a_masked_summary_and_a_take_button(
    app_settings: Settings, slack: FakeSlack, engine: Engine
) -> None:
    """Two gateway processes follow the same database: the post is made by exactly one."""
    workspaces = [SlackAgentWorkspace(app_settings), SlackAgentWorkspace(app_settings)]
    with ExitStack() as stack:
        clients = [
            stack.enter_context(TestClient(create_app(app_settings, channels=[w]))) for w in workspaces
        ]
        cid = escalate(clients[0], engine, "web-iban")
        post = post_of(slack, cid)
        for test_client, workspace in zip(clients, workspaces, strict=True):
            wait_until(lambda: caught_up(test_client.app, workspace, cid, "queued"))  # noqa: B023
        # The racer the claim is for: a process that read "no post yet" just before the winner posted.
        for workspace in workspaces:
            found = workspace._view(cid)
            assert found is not None and found[1] is not None
            run_on_loop(workspace.context.loop, workspace._post(found[0], None))  # type: ignore[union-attr]
    assert len(posts_of(slack, cid)) == 1
    assert post.token == AGENT_TOKEN and post.args["channel"] == WEBCARE
    drawn = json.dumps(post.args, ensure_ascii=False)
    for field in (
        "*Reason*\\nfraud",
        "*Priority*\\nurgent",
        "*Language*\\nNL",
        "*Channel*\\nweb",
        "*Waiting*",
    ):
        assert field in drawn
    assert mask_text(SUMMARY) in drawn and "[IBAN BE•• •••• •••• 7034]" in drawn and "[phone •••56]" in drawn
    assert "5390" not in drawn and "12 34" not in drawn
    assert action_ids(post.args) == ["take"] and button_of(post)["value"] == cid
    ref = ConversationRefs(engine).get(cid, "slack_agent_post")
    assert ref == f"{handoff_of(engine, cid).id}:{WEBCARE}:{post.response['ts']}"


def test_a_verified_customer_is_shown_masked_without_amounts(
    app_settings: Settings, slack: FakeSlack, engine: Engine
) -> None:
    """The post names the customer the agent will get (handoff/customer.py), masked: first name,
    last initial, the number's last digits; the web console shows the rest."""
    with TestClient(create_app(app_settings.with_overrides(account_provider="demo"))) as client:
        response = client.post("/api/chat", json={"sender": "web-jan", "text": "hallo", "locale": "nl-BE"})
        cid = response.json()["conversation_id"]
        channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
        Identity(engine).mark_verified(channel, sender, "MC1000001", cid, "sms_code", 30)
        assert HandoffQueue(engine).escalate(cid, default_rules()["fraud"], summary="fraude") is not None
        drawn = json.dumps(post_of(slack, cid).args, ensure_ascii=False)
    assert "*Customer*\\nJan P. · number •••56 · verified (SMS)" in drawn
    # the buttons carry the conversation's random id, which may itself hold "470" (seen once in 9e470d03-...)
    shown = drawn.replace(cid, "<conversation id>")
    assert "Peeters" not in shown and "MC1000001" not in shown and "€" not in shown and "470" not in shown


def test_a_chat_escalated_while_no_gateway_ran_is_posted_at_start(
    app_settings: Settings, slack: FakeSlack, engine: Engine, rasa: FakeServer
) -> None:
    with TestClient(create_app(app_settings, channels=[])) as plain:
        cid = escalate(plain, engine, "web-early")
    with TestClient(create_app(app_settings)):
        post_of(slack, cid)


# --- Take ---------------------------------------------------------------------------------------


def test_take_by_a_linked_agent_claims_the_chat_and_redraws_the_post(
    client: TestClient, slack: FakeSlack, engine: Engine, directory: AgentDirectory, ann: str
) -> None:
    cid, _post, taken = take_chat(client, slack, engine, "web-take", ann, "*Ann* has this chat")
    assert owner_of(engine, cid) == "agent" and handoff_of(engine, cid).claimed_by == "ann"
    assert action_ids(taken.args) == ["hand_back", "close"]
    assert "*Waited*" in json.dumps(taken.args) and mask_text(SUMMARY) in json.dumps(
        taken.args, ensure_ascii=False
    )
    assert directory.by_username("ann").presence == "online"  # taking a chat from Slack: working
    notice = customer_text("agent_joined", "nl").format(agent="Ann")
    wait_until(
        lambda: notice in [m["text"] for m in history(client, "web-take")]
    )  # the feed may redraw first


def test_take_by_an_unlinked_user_explains_how_to_link_and_claims_nothing(
    client: TestClient, slack: FakeSlack, engine: Engine
) -> None:
    cid = escalate(client, engine, "web-unlinked")
    post = post_of(slack, cid)
    click(client, slack, "USTRANGER", post, "take")
    answer = ephemeral_to(slack, "USTRANGER")
    assert answer["channel"] == WEBCARE
    assert "python -m bot.manage link-slack USERNAME USTRANGER" in answer["text"]
    assert owner_of(engine, cid) == "queued" and handoff_of(engine, cid).claimed_by is None


def test_a_second_take_is_refused_and_the_chat_keeps_one_owner(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str, bob: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-twice", ann, "*Ann* has this chat")
    click(client, slack, bob, post, "take", stale=True)  # Slack had not redrawn it yet
    assert ephemeral_to(slack, bob)["text"] == "Already taken by Ann."
    click(client, slack, ann, post, "take", stale=True)
    assert ephemeral_to(slack, ann)["text"] == "You already have this chat."
    assert handoff_of(engine, cid).claimed_by == "ann" and owner_of(engine, cid) == "agent"


def test_take_refuses_a_language_the_agent_does_not_answer(
    client: TestClient, slack: FakeSlack, engine: Engine, directory: AgentDirectory
) -> None:
    agent = directory.create("eve", PASSWORD, display_name="Eve", languages=("fr",))
    directory.link(agent.id, "slack", "UEVE")
    cid = escalate(client, engine, "web-dutch")
    click(client, slack, "UEVE", post_of(slack, cid), "take")
    assert "language you do not answer" in ephemeral_to(slack, "UEVE")["text"]
    assert owner_of(engine, cid) == "queued"


# --- the thread ---------------------------------------------------------------------------------


def test_the_agents_thread_reply_reaches_the_web_customer_and_customer_messages_come_back_masked(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str, bob: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-thread", ann)
    reply_in_thread(
        client,
        ann,
        post,
        "Ik heb je *rekening* aangepast &amp; bevestigd, zie <https://x.example/faq|de FAQ>",
    )
    sent = "Ik heb je rekening aangepast & bevestigd, zie de FAQ (https://x.example/faq)"
    wait_until(lambda: any(m["text"] == sent and m["agent"] == "Ann" for m in history(client, "web-thread")))

    reply_in_thread(client, bob, post, "I can take over if you like")  # a colleague, not the owner
    assert ephemeral_to(slack, bob)["text"].startswith("Not sent to the customer: take this chat first")
    assert "I can take over" not in json.dumps(history(client, "web-thread"))

    client.post("/api/chat", json={"sender": "web-thread", "text": f"Mijn nummer is {PHONE}"})
    relayed = slack.wait_for(
        "chat.postMessage", lambda a: a.get("thread_ts") == post.response["ts"], token=AGENT_TOKEN
    )
    assert relayed[0].args["text"] == "*Customer:* Mijn nummer is [phone •••56]"
    assert relayed[0].args["channel"] == WEBCARE


def test_an_unlinked_users_thread_reply_is_not_sent(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-unlinked-reply", ann)
    reply_in_thread(client, "USTRANGER", post, "hello from outside")
    assert "link-slack USERNAME USTRANGER" in ephemeral_to(slack, "USTRANGER")["text"]
    assert "hello from outside" not in json.dumps(history(client, "web-unlinked-reply"))


# --- hand back and close ------------------------------------------------------------------------


def test_hand_back_returns_the_chat_to_the_bot_and_a_new_escalation_gets_a_new_post(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-back", ann)
    click(client, slack, ann, post, "hand_back")
    back = shows(slack, post, "Handed back to the bot by *Ann*")
    assert action_ids(back.args) == [] and owner_of(engine, cid) == "bot"
    notice = customer_text("handed_back", "nl").format(bot="Mila")
    wait_until(lambda: notice in [m["text"] for m in history(client, "web-back")])

    assert HandoffQueue(engine).escalate(cid, default_rules()["request_human"], summary="again") is not None
    second = wait_until(lambda: [p for p in posts_of(slack, cid) if p is not post] or None)[0]
    assert "request human" in json.dumps(second.args) and action_ids(second.args) == ["take"]
    click(client, slack, ann, second, "take")
    shows(slack, second, "has this chat")
    assert len(posts_of(slack, cid)) == 2


def test_a_customer_who_leaves_the_queue_is_shown_on_the_post(
    client: TestClient, slack: FakeSlack, engine: Engine
) -> None:
    cid = escalate(client, engine, "web-leave")
    post = post_of(slack, cid)
    left = client.post("/api/chat", json={"sender": "web-leave", "text": "/queue_leave"})
    assert left.status_code == 200 and left.json()["owner"] == "bot"
    shown = shows(slack, post, "The customer left the queue")
    assert action_ids(shown.args) == [] and owner_of(engine, cid) == "bot"


def test_close_asks_the_customer_for_a_score_and_redraws_the_post(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str
) -> None:
    cid, post, taken = take_chat(client, slack, engine, "web-close", ann)
    close = button_of(taken, 1)
    assert close["style"] == "danger" and close["confirm"]["confirm"]["text"] == "Close"
    click(client, slack, ann, post, "close")
    shows(slack, post, "Closed by *Ann*")
    assert owner_of(engine, cid) == "closed"
    asked = wait_until(lambda: [m for m in history(client, "web-close") if m["event"] == "csat_question"])
    assert [b["payload"] for b in asked[-1]["buttons"]] == ["1", "2", "3", "4", "5"]


def test_only_the_agent_who_has_the_chat_may_close_it_from_slack(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str, bob: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-not-yours", ann)
    click(client, slack, bob, post, "close")
    assert ephemeral_to(slack, bob)["text"].startswith("Nothing changed:")
    assert owner_of(engine, cid) == "agent"


# --- the same state as the web console ----------------------------------------------------------


def test_claims_and_closes_in_the_web_console_redraw_the_slack_post(
    client: TestClient, slack: FakeSlack, engine: Engine, bob: str
) -> None:
    cid = escalate(client, engine, "web-console")
    post = post_of(slack, cid)
    headers = log_in(client, "bob").headers
    assert client.post("/agent/api/presence", json={"presence": "online"}, headers=headers).status_code == 200
    assert client.post(f"/agent/api/conversations/{cid}/claim", json={}, headers=headers).status_code == 200
    taken = shows(slack, post, "*Bob* has this chat")
    assert action_ids(taken.args) == ["hand_back", "close"]
    assert client.post(f"/agent/api/conversations/{cid}/close", json={}, headers=headers).status_code == 200
    shows(slack, post, "Closed by *Bob*")


def test_a_chat_requeued_after_no_reply_offers_take_again(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str, bob: str
) -> None:
    cid, post, _ = take_chat(client, slack, engine, "web-requeue", ann)
    assert HandoffQueue(engine).requeue_unanswered(timedelta(0))
    waiting = shows(slack, post, "New chat waiting")
    assert action_ids(waiting.args) == ["take"]
    click(client, slack, bob, post, "take")
    shows(slack, post, "*Bob* has this chat")


# --- signatures ---------------------------------------------------------------------------------


def test_forged_and_expired_requests_are_refused_with_401(
    client: TestClient, slack: FakeSlack, engine: Engine, ann: str
) -> None:
    cid = escalate(client, engine, "web-forged")
    post = post_of(slack, cid)
    button = button_of(post)
    body = block_actions(AGENT_TEAM, ann, WEBCARE, posted_message(post), button)
    assert send(client, body, secret=CUSTOMER_SECRET).status_code == 401  # the other app's secret
    assert send(client, body, timestamp=int(time.time()) - 6 * 60).status_code == 401
    event = message_event(ann, "forged reply", WEBCARE, "1.2", thread_ts=post.response["ts"])
    assert send(client, event_callback(AGENT_TEAM, event), secret="forged").status_code == 401
    assert owner_of(engine, cid) == "queued" and slack.calls_to("chat.postEphemeral") == []
    assert "forged reply" not in json.dumps(history(client, "web-forged"))


# --- a Slack customer and the agents' Slack together --------------------------------------------


def test_a_slack_customer_gets_the_reply_an_agent_writes_in_the_webcare_slack(
    app_settings: Settings, slack: FakeSlack, engine: Engine, ann: str
) -> None:
    both = app_settings.with_overrides(slack_bot_token=CUSTOMER_TOKEN, slack_signing_secret=CUSTOMER_SECRET)
    channels = [SlackCustomerChannel(both), SlackAgentWorkspace(both)]
    with TestClient(create_app(both, channels=channels)) as client:
        event = message_event("UCUST", "Iemand heeft mijn SIM misbruikt", "D0CUST", "1710000100.000100")
        # The customers' app's secret does not open the agents' endpoint, nor the other way round.
        assert send(client, event_callback(CUSTOMER_TEAM, event), secret=CUSTOMER_SECRET).status_code == 401
        body = json.dumps(event_callback(CUSTOMER_TEAM, event))
        headers = {"Content-Type": "application/json", **signed_headers(CUSTOMER_SECRET, body)}
        assert client.post("/slack/events", content=body, headers=headers).status_code == 200
        slack.wait_for("chat.postMessage", lambda a: a.get("channel") == "D0CUST", token=CUSTOMER_TOKEN)
        cid = wait_until(lambda: ConversationRefs(engine).find("slack_thread", "D0CUST:1710000100.000100"))
        assert HandoffQueue(engine).escalate(cid, default_rules()["fraud"], summary=SUMMARY) is not None
        post = post_of(slack, cid)
        assert "*Channel*\\nslack" in json.dumps(post.args)
        click(client, slack, ann, post, "take")
        shows(slack, post, "*Ann* has this chat")
        reply_in_thread(client, ann, post, "We blokkeren je SIM meteen")

        def in_customer_thread(args: dict[str, Any]) -> bool:
            return args.get("thread_ts") == "1710000100.000100" and "We blokkeren" in args.get("text", "")

        reply = slack.wait_for("chat.postMessage", in_customer_thread, token=CUSTOMER_TOKEN)[0]
        assert reply.args["channel"] == "D0CUST"
        assert to_plain(reply.args["text"]) == "Ann (klantendienst)\nWe blokkeren je SIM meteen"
