"""The gateway while Rasa or the action server is away: customers get the apology in their
language and their messages are stored, agents work on, /health stays 200 saying ``degraded``
and recovers by itself. (The real processes killed and restarted: test_crash_recovery.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import messages
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text as gateway_text
from bot.web import gateway
from bot.web.gateway import create_app, health_status
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer, Handler, Recorded
from tests.helpers.console import PASSWORD, log_in


class Outage:
    """Switches a fake server off and on: while off, every request gets 503 (as a Rasa that is
    restarting or has no model would; the client treats it like a refused connection)."""

    def __init__(self, server: FakeServer) -> None:
        self.off = False
        for key, handler in list(server.routes.items()):
            server.routes[key] = self._guard(handler)

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Recorded) -> tuple[int, Any]:
            return (503, {"error": "away"}) if self.off else handler(request)

        return guarded


def health(client: TestClient) -> tuple[int, str, dict[str, str]]:
    response = client.get("/health")
    body = response.json()
    return response.status_code, body["status"], body["components"]


def test_health_is_degraded_but_200_while_rasa_or_the_action_server_is_away_and_recovers(
    client: TestClient, rasa: FakeServer, actions: FakeServer
) -> None:
    rasa_outage, actions_outage = Outage(rasa), Outage(actions)
    assert health(client)[:2] == (200, "ok")

    rasa_outage.off = True
    code, status, components = health(client)
    assert (code, status, components["rasa"], components["action_server"]) == (200, "degraded", "down", "up")
    actions_outage.off = True
    code, status, components = health(client)
    assert (code, status, components["action_server"]) == (200, "degraded", "down")

    rasa_outage.off = actions_outage.off = False  # back: nothing to do on the gateway's side
    assert health(client) == (
        200,
        "ok",
        {"gateway": "up", "database": "up", "rasa": "up", "action_server": "up"},
    )


def test_health_answers_within_seconds_while_rasa_is_overloaded(
    gateway_settings: Settings, rasa: FakeServer
) -> None:
    def busy(_request: Recorded) -> tuple[int, Any]:
        time.sleep(5)
        return 200, {"model_id": "fake"}

    rasa.route("GET", "/status", busy)
    patient = gateway_settings.with_overrides(rasa_timeout_s=15.0)  # customers' messages may wait
    with TestClient(create_app(patient)) as client:
        started = time.monotonic()
        code, status, components = health(client)
        assert time.monotonic() - started < 4
    assert (code, status, components["rasa"]) == (200, "degraded", "slow")


def test_health_is_503_down_only_without_the_database(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(_engine: Engine) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(gateway, "ping", unreachable)
    code, status, components = health(client)
    assert (code, status, components["database"]) == (503, "down", "down")


def test_health_status_names() -> None:
    assert health_status({"gateway": "up", "database": "up", "rasa": "up"}) == "ok"
    assert health_status({"gateway": "up", "database": "up", "channel:slack": "down"}) == "degraded"
    assert health_status({"gateway": "up", "database": "down", "rasa": "up"}) == "down"


@pytest.mark.parametrize(
    "language, text",
    [
        ("nl", "mijn simkaart wordt niet herkend door mijn gsm"),
        ("fr", "ma carte sim n'est pas reconnue par mon téléphone"),
        ("en", "my SIM card is not detected by my phone"),
    ],
)
def test_while_rasa_is_away_customers_get_the_apology_in_their_language_and_nothing_is_lost(
    client: TestClient, rasa: FakeServer, db: Engine, language: str, text: str
) -> None:
    outage = Outage(rasa)
    outage.off = True
    sender = f"web-away-{language}"
    body = client.post("/api/chat", json={"sender": sender, "text": text}).json()
    assert body["language"] == language
    assert body["replies"] == [{"text": gateway_text("rasa_unavailable", language)}]
    stored = stored_of(db, body["conversation_id"])
    assert stored == [
        ("in", "customer", text, "failed"),
        ("out", "system", gateway_text("rasa_unavailable", language), "sent"),
    ]

    outage.off = False  # the next message is answered again, in the same conversation
    again = client.post("/api/chat", json={"sender": sender, "text": text}).json()
    assert again["conversation_id"] == body["conversation_id"]
    assert again["replies"] == [{"text": f"[{language}] you said: {text}"}]


def stored_of(db: Engine, cid: str) -> list[tuple[str, str, str, str]]:
    query = select(messages.c.direction, messages.c.author, messages.c.text, messages.c.status)
    with db.connect() as conn:
        rows = conn.execute(query.where(messages.c.conversation_id == cid).order_by(messages.c.id))
        return [tuple(row) for row in rows]


def test_agents_work_on_while_rasa_and_the_action_server_are_away(
    client: TestClient,
    rasa: FakeServer,
    actions: FakeServer,
    db: Engine,
    fast_password_hashing: None,
) -> None:
    AgentDirectory(db).create("nora", PASSWORD, display_name="Nora", languages="nl,fr,en")
    cid = client.post("/api/chat", json={"sender": "web-wants-a-person", "text": "hallo"}).json()
    cid = cid["conversation_id"]
    HandoffQueue(db).escalate(cid, default_rules()["request_human"], summary="wants a person")
    Outage(rasa).off = Outage(actions).off = True

    agent = log_in(TestClient(client.app), "nora")  # cookies of its own, beside the customer's
    agent.ok(agent.post("presence", {"presence": "online"}))
    assert cid in [item["conversation_id"] for item in agent.queue()["offered"]]
    agent.ok(agent.act(cid, "claim"))
    assert [item["conversation_id"] for item in agent.queue()["mine"]] == [cid]
    agent.ok(agent.act(cid, "reply", text="Ik help je verder."))
    answer = client.post("/api/chat", json={"sender": "web-wants-a-person", "text": "dank je"})
    assert answer.status_code == 200 and answer.json()["owner"] == "agent"
    texts = [row[2] for row in stored_of(db, cid)]
    assert texts[-2:] == ["Ik help je verder.", "dank je"]
    assert health(client)[:2] == (200, "degraded")
