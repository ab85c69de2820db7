"""The web chat's opening message (GET /api/chat/welcome) on the real gateway, and leaving the queue
end to end through POST /api/chat with the fake Rasa (which escalates as action_escalate does)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import conversations
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text
from bot.core.welcome import WELCOME_PAYLOADS
from bot.web.gateway import create_app
from handoff.queue import HandoffQueue
from handoff.waiting import QUEUE_LEAVE
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies

CHAT_TOKEN = "X-Chat-Token"


def conversation_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(conversations)).scalar_one()


@pytest.mark.parametrize(
    "locale, language, greeting, human",
    [
        ("fr-BE", "fr", "Bonjour ! Je suis Mila", "Parler à un collègue"),
        ("en-US", "en", "Hi! I'm Mila", "Talk to a person"),
        ("nl", "nl", "Hoi! Ik ben Mila", "Met een collega praten"),
        ("de-DE", "nl", "Hoi! Ik ben Mila", "Met een collega praten"),  # the default language
        (None, "nl", "Hoi! Ik ben Mila", "Met een collega praten"),
    ],
)
def test_the_welcome_is_in_the_page_language_and_opens_no_conversation(
    client: TestClient, db: Engine, locale: str | None, language: str, greeting: str, human: str
) -> None:
    response = client.get("/api/chat/welcome", params={"locale": locale} if locale else {})
    assert response.status_code == 200
    body = response.json()
    [reply] = body["replies"]
    assert body["language"] == language and reply["text"].startswith(greeting)
    assert text("welcome_privacy", language) in reply["text"]
    assert {b["payload"] for b in reply["buttons"]} == WELCOME_PAYLOADS
    assert reply["buttons"][-1] == {"title": human, "payload": "/request_human"}
    assert "max-age" in response.headers["cache-control"]
    assert conversation_count(db) == 0


def test_the_welcome_is_readable_from_the_widget_origins_only(gateway_settings: Settings) -> None:
    shop_only = gateway_settings.with_overrides(widget_origins=("https://shop.example",))
    with TestClient(create_app(shop_only)) as client:
        allowed = client.get("/api/chat/welcome?locale=en", headers={"Origin": "https://shop.example"})
        other = client.get("/api/chat/welcome?locale=en", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in other.headers


def test_a_welcome_button_works_as_the_first_message(client: TestClient, rasa: FakeServer) -> None:
    response = client.post(
        "/api/chat",
        json={
            "sender": "web-welcome-1",
            "text": "/billing_explain_bill",
            "locale": "en-GB",
            "button_title": "My bill",
        },
    )
    assert response.status_code == 200 and response.json()["language"] == "en"
    [heard] = rasa.received("POST", "/webhooks/rest/webhook")
    assert heard.json()["message"] == "/billing_explain_bill"  # a payload, though never stored as offered


def test_leave_the_queue_end_to_end(client: TestClient, rasa: FakeServer, db: Engine) -> None:
    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == "/request_human":
            HandoffQueue(db).escalate(body["sender"], default_rules()["request_human"])
            return [{"recipient_id": body["sender"], "text": "Of course, I'll connect you."}]
        return echo_replies(body)

    rasa.state["reply"] = reply  # type: ignore[attr-defined]
    first = client.post(
        "/api/chat",
        json={"sender": "web-leave-1", "text": "/request_human", "locale": "en", "button_title": "Talk"},
    )
    body = first.json()
    assert body["owner"] == "queued"
    status = body["replies"][-1]
    leave = next(b for b in status["buttons"] if b["payload"] == QUEUE_LEAVE)
    assert leave["title"] == "Leave the queue"
    headers = {CHAT_TOKEN: body["token"]}
    chat = {"sender": body["sender"], "locale": "en"}

    left = client.post(
        "/api/chat", json={**chat, "text": leave["payload"], "button_title": leave["title"]}, headers=headers
    )
    assert left.status_code == 200, left.text
    assert left.json()["owner"] == "bot"
    assert left.json()["replies"] == [{"text": text("queue_left", "en").format(bot="Mila")}]
    again = client.post("/api/chat", json={**chat, "text": "what does roaming cost"}, headers=headers).json()
    assert again["owner"] == "bot" and again["replies"] == [{"text": "[en] you said: what does roaming cost"}]
    history = client.get("/api/chat/history", params={"sender": body["sender"]}, headers=headers).json()
    assert [m["text"] for m in history["messages"]][-4:] == [
        "Leave the queue",
        text("queue_left", "en").format(bot="Mila"),
        "what does roaming cost",
        "[en] you said: what does roaming cost",
    ]
