"""The webcare team's Slack (the agents' app) as the tests set it up: its token, signing secret,
workspace and channel, a fake Slack Web API with both apps, its settings, signed requests to
/slack/agents/events, and a chat escalated to its channel, its post and the clicks on it."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine

from bot.core.rules import default_rules
from bot.core.settings import Settings
from handoff.queue import Handoff, HandoffQueue
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import (
    Bot,
    Call,
    FakeSlack,
    block_actions,
    event_callback,
    message_event,
    posted_message,
)
from tests.helpers.slack import BOT as CUSTOMER_BOT
from tests.helpers.slack import TOKEN as CUSTOMER_TOKEN
from tests.helpers.slack import signed_post

AGENT_TOKEN, AGENT_SECRET, AGENT_TEAM = "xoxb-webcare", "webcare-signing-secret", "T0WEBCARE"
AGENT_BOT = Bot(user_id="UWEBCAREBOT", bot_id="BWEBCARE", team_id=AGENT_TEAM)
WEBCARE = "C0WEBCARE"
IBAN, PHONE = "BE68 5390 0754 7034", "0470 12 34 56"
SUMMARY = f"Klant wil zijn rekening {IBAN} wijzigen en vraagt terug te bellen op {PHONE}"


def both_apps_slack(locales: dict[str, str]) -> FakeSlack:
    """A fake Slack Web API with both apps' bots: the customers' (tests/helpers/slack.py) and the
    webcare team's, each in its own workspace."""
    return FakeSlack({CUSTOMER_TOKEN: CUSTOMER_BOT, AGENT_TOKEN: AGENT_BOT}, locales=locales)


def webcare_settings(
    settings: Settings, rasa: FakeServer, actions: FakeServer, slack: FakeSlack, **overrides: Any
) -> Settings:
    """``settings`` with the fakes and the agents' Slack app enabled (its change feed read every
    50 ms: posts are redrawn as chats change)."""
    return settings.with_overrides(
        rasa_url=rasa.url,
        action_server_url=actions.url,
        rasa_timeout_s=2.0,
        feed_interval_s=0.05,
        slack_api_url=slack.base_url,
        slack_agent_bot_token=AGENT_TOKEN,
        slack_agent_signing_secret=AGENT_SECRET,
        slack_agent_channel=WEBCARE,
        **overrides,
    )


def send(
    client: TestClient, payload: dict[str, Any] | str, *, secret: str = AGENT_SECRET, **options: Any
) -> Response:
    """POST to the agents' app (/slack/agents/events) as Slack does."""
    return signed_post(client, "/slack/agents/events", payload, secret, **options)


def escalate(
    client: TestClient, engine: Engine, sender: str, text: str = "Ik wil mijn rekening wijzigen"
) -> str:
    """A web customer writes; then the chat is queued the way action_escalate does it."""
    response = client.post("/api/chat", json={"sender": sender, "text": text, "locale": "nl-BE"})
    assert response.status_code == 200, response.text
    cid = response.json()["conversation_id"]
    handoff = HandoffQueue(engine).escalate(
        cid, default_rules()["fraud"], summary=SUMMARY, intents=["sensitive_fraud"], slots={}
    )
    assert handoff is not None
    return cid


def post_of(slack: FakeSlack, cid: str) -> Call:
    """The escalation post of this chat (its Take button carries the conversation id)."""

    def for_cid(args: dict[str, Any]) -> bool:
        return args.get("channel") == WEBCARE and cid in json.dumps(args.get("blocks"))

    return slack.wait_for("chat.postMessage", for_cid, token=AGENT_TOKEN)[0]


def posts_of(slack: FakeSlack, cid: str) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage", AGENT_TOKEN)
        if c.args.get("channel") == WEBCARE and cid in json.dumps(c.args.get("blocks"))
    ]


def click(
    client: TestClient, slack: FakeSlack, user: str, post: Call, action_id: str, *, stale: bool = False
) -> None:
    """``user`` clicks the button ``action_id`` of the post as last drawn (``stale``: as first posted)."""
    updates = [c for c in slack.calls_to("chat.update", AGENT_TOKEN) if c.args["ts"] == post.response["ts"]]
    shown = post.args if stale or not updates else updates[-1].args
    button = next(
        e
        for b in shown["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    message = {**posted_message(post), "blocks": shown["blocks"]}
    assert send(client, block_actions(AGENT_TEAM, user, WEBCARE, message, button)).status_code == 200


def shows(slack: FakeSlack, post: Call, text: str) -> Call:
    """Wait for an update of the post whose headline contains ``text``."""

    def redrawn(args: dict[str, Any]) -> bool:
        return args.get("ts") == post.response["ts"] and text in args["blocks"][0]["text"]["text"]

    return slack.wait_for("chat.update", redrawn, token=AGENT_TOKEN)[0]


def take_chat(
    client: TestClient,
    slack: FakeSlack,
    engine: Engine,
    sender: str,
    user: str,
    headline: str = "has this chat",
) -> tuple[str, Call, Call]:
    """The web customer ``sender``'s chat escalated, and Slack user ``user`` clicks Take on its post:
    (the conversation, its post, the post's update whose headline contains ``headline``)."""
    cid = escalate(client, engine, sender)
    post = post_of(slack, cid)
    click(client, slack, user, post, "take")
    return cid, post, shows(slack, post, headline)


def reply_in_thread(client: TestClient, user: str, post: Call, text: str) -> None:
    event = message_event(user, text, WEBCARE, f"{time.time():.6f}", thread_ts=post.response["ts"])
    assert send(client, event_callback(AGENT_TEAM, event)).status_code == 200


def handoff_of(engine: Engine, cid: str) -> Handoff:
    handoff = HandoffQueue(engine).latest_handoff(cid)
    assert handoff is not None
    return handoff
