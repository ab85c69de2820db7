"""The webcare team's Slack while PostgreSQL is away: an agent's Take click is verified, kept in the
gateway's spool and acknowledged with 200, and takes the chat once the database is back (a
forged click is refused and not kept). The database is taken away by cutting a TCP proxy in front
of PostgreSQL (tests/helpers/database_away.py): PostgreSQL only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.channels.chat_spool import SPOOL_FILE, Spool
from bot.core.db import conversations
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import Bot, FakeSlack, block_actions, posted_message
from tests.helpers.channels import wait_until
from tests.helpers.console import PASSWORD
from tests.helpers.database_away import behind_proxy
from tests.helpers.slack import signed_post

TOKEN, SECRET, TEAM, WEBCARE = "xoxb-webcare-away", "webcare-away-secret", "T0WEBAWAY", "C0WEBAWAY"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack({TOKEN: Bot("UWEBBOT", "BWEBBOT", TEAM)})
    yield fake
    fake.stop()


def owner_of(engine: Engine, cid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()


def test_a_take_clicked_while_postgresql_is_away_takes_the_chat_once_it_is_back(
    settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer, slack: FakeSlack
) -> None:
    directory = AgentDirectory(engine)
    ann = directory.create("ann", PASSWORD, display_name="Ann", languages=("nl",))
    directory.link(ann.id, "slack", "UANN")
    with behind_proxy(settings) as (proxy, through):
        configured = through.with_overrides(
            rasa_url=rasa.url,
            action_server_url=actions.url,
            feed_interval_s=0.05,
            slack_api_url=slack.base_url,
            slack_agent_bot_token=TOKEN,
            slack_agent_signing_secret=SECRET,
            slack_agent_channel=WEBCARE,
        )
        with TestClient(create_app(configured)) as client:
            said = client.post("/api/chat", json={"sender": "web-away-take", "text": "Ik wil een mens"})
            cid = said.json()["conversation_id"]
            assert (
                HandoffQueue(engine).escalate(cid, default_rules()["request_human"], summary="mens")
                is not None
            )
            post = slack.wait_for("chat.postMessage", lambda a: cid in json.dumps(a.get("blocks")))[0]
            take = next(
                e
                for b in post.args["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "take"
            )
            click = block_actions(TEAM, "UANN", WEBCARE, posted_message(post), take)
            proxy.cut()
            assert signed_post(client, "/slack/agents/events", click, "forged-secret").status_code == 401
            assert signed_post(client, "/slack/agents/events", click, SECRET).status_code == 200
            assert len(Spool(settings.var_dir / SPOOL_FILE, "slack_agents")) == 1  # the signed one
            assert owner_of(engine, cid) == "queued"
            proxy.restore()
            wait_until(lambda: owner_of(engine, cid) == "agent", 30)
            wait_until(lambda: len(Spool(settings.var_dir / SPOOL_FILE, "slack_agents")) == 0)
    handoff = HandoffQueue(engine).latest_handoff(cid)
    assert handoff is not None and handoff.claimed_by == "ann"
