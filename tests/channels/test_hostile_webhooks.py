"""Hostile input on the platforms' webhooks never gives a 500 and never processes anything:
the Telegram webhook (JSON nested thousands deep, a 5,000-digit number) and both Slack apps'
endpoints (a timestamp that is not a number, a correctly signed body that is not JSON). A lone
surrogate in a message that does pass is stored as U+FFFD. SQLite and (DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import conversations, messages, processed_updates
from bot.core.settings import Settings
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import FakeSlack, event_callback, message_event, signed_headers
from testkit.fakes.telegram_api import FakeTelegram
from tests.helpers.channels import wait_until
from tests.helpers.slack import SECRET as CUSTOMER_SECRET
from tests.helpers.slack import TEAM as CUSTOMER_TEAM
from tests.helpers.slack import TOKEN as CUSTOMER_TOKEN
from tests.helpers.telegram import TOKEN as TG_TOKEN
from tests.helpers.webcare import AGENT_SECRET, both_apps_slack, webcare_settings

TG_SECRET = "webhook-Secret_42"
SLACK_ENDPOINTS = {"/slack/events": CUSTOMER_SECRET, "/slack/agents/events": AGENT_SECRET}
DEEP = b"[" * 5000 + b"]" * 5000
HUGE_INT = b"1" * 5000


@pytest.fixture(scope="module")
def module_slack() -> Iterator[FakeSlack]:
    fake = both_apps_slack(locales={"UANN": "nl-BE"})
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TG_TOKEN, first_update_id=70_000_000)
    yield fake
    fake.stop()


@pytest.fixture
def client(
    settings: Settings, rasa: FakeServer, actions: FakeServer, module_slack: FakeSlack, telegram: FakeTelegram
) -> Iterator[TestClient]:
    """The gateway with all three webhooks: Telegram in webhook mode and both Slack apps."""
    module_slack.calls.clear()
    telegram.reset()
    configured = webcare_settings(
        settings,
        rasa,
        actions,
        module_slack,
        slack_bot_token=CUSTOMER_TOKEN,
        slack_signing_secret=CUSTOMER_SECRET,
        telegram_token=TG_TOKEN,
        telegram_api_url=telegram.base_url,
        telegram_webhook_url="https://bot.example.com",
        telegram_secret_token=TG_SECRET,
    )
    with TestClient(create_app(configured)) as client:
        yield client


def nothing_happened(engine: Engine, rasa: FakeServer) -> None:
    with engine.connect() as conn:
        for table in (conversations, messages, processed_updates):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table.name
    assert rasa.received("POST", "/webhooks/rest/webhook") == []


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


# --- Telegram --------------------------------------------------------------------------------


def post_update(client: TestClient, body: bytes) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    return client.post("/telegram/webhook", content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"update_id": 1, "message": ' + DEEP + b"}",
        b'{"update_id": ' + HUGE_INT + b"}",
        b'{"update_id": 70000001, "message": {"message_id": ' + HUGE_INT + b"}}",
    ],
    ids=["deep", "deep-message", "huge-update-id", "huge-message-id"],
)
def test_the_telegram_webhook_refuses_deep_json_and_huge_numbers_with_400(
    client: TestClient, engine: Engine, rasa: FakeServer, body: bytes
) -> None:
    refused(post_update(client, body), 400, "invalid_update")  # the webhook's code for a bad update
    nothing_happened(engine, rasa)


def test_a_lone_surrogate_on_telegram_is_stored_replaced(
    client: TestClient, engine: Engine, rasa: FakeServer, telegram: FakeTelegram
) -> None:
    update = telegram.text_update(424_242, "hallo \ud800 daar", language_code="nl")
    assert post_update(client, json.dumps(update).encode()).status_code == 200
    telegram.wait_for("sendMessage", 424_242)
    assert [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")] == [
        "hallo \ufffd daar"
    ]


# --- both Slack apps -------------------------------------------------------------------------


def signed(secret: str, body: bytes, content_type: str = "application/json") -> dict[str, str]:
    """Slack's v0 signature over any bytes (slack_sdk's generate_signature wants UTF-8)."""
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


@pytest.mark.parametrize("path", SLACK_ENDPOINTS)
@pytest.mark.parametrize("timestamp", ["abc", "12a", "1e9", "-5", " ", "9" * 5000])
def test_a_slack_timestamp_that_is_not_a_number_is_refused_with_401(
    client: TestClient, engine: Engine, rasa: FakeServer, path: str, timestamp: str
) -> None:
    body = json.dumps(event_callback(CUSTOMER_TEAM, message_event("UANN", "hallo", "D0ANN", "1.1")))
    signature = SignatureVerifier(SLACK_ENDPOINTS[path]).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(signature),
    }
    refused(client.post(path, content=body, headers=headers), 401, "invalid_signature")
    nothing_happened(engine, rasa)


@pytest.mark.parametrize("path", SLACK_ENDPOINTS)
def test_a_slack_signature_with_non_ascii_characters_is_refused_with_401(
    client: TestClient, engine: Engine, rasa: FakeServer, path: str
) -> None:
    body = json.dumps(event_callback(CUSTOMER_TEAM, message_event("UANN", "hallo", "D0ANN", "1.2")))
    headers = {**signed(SLACK_ENDPOINTS[path], body.encode()), "X-Slack-Signature": "v0=\u00e9t\u00e9"}
    raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]  # as on the wire
    refused(client.post(path, content=body, headers=raw_headers), 401, "invalid_signature")
    nothing_happened(engine, rasa)


NOT_SLACK_PAYLOADS = [
    (b"not json", "application/json"),
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"a string"', "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (DEEP, "application/json"),
    (b'{"type": "event_callback", "n": ' + HUGE_INT + b"}", "application/json"),
    (b"payload=not+json", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
]
PAYLOAD_IDS = ["text", "broken", "array", "string", "not-utf8", "deep", "huge-int", "form", "form-array"]


@pytest.mark.parametrize("path", SLACK_ENDPOINTS)
@pytest.mark.parametrize("body, content_type", NOT_SLACK_PAYLOADS, ids=PAYLOAD_IDS)
def test_a_correctly_signed_slack_body_that_is_not_a_payload_is_refused_with_400(
    client: TestClient, engine: Engine, rasa: FakeServer, path: str, body: bytes, content_type: str
) -> None:
    headers = signed(SLACK_ENDPOINTS[path], body, content_type)
    refused(client.post(path, content=body, headers=headers), 400, "invalid_json")
    nothing_happened(engine, rasa)


@pytest.mark.parametrize("path", SLACK_ENDPOINTS)
@pytest.mark.parametrize("body, content_type", NOT_SLACK_PAYLOADS, ids=PAYLOAD_IDS)
def test_a_forged_slack_body_that_is_not_a_payload_is_still_401(
    client: TestClient, engine: Engine, rasa: FakeServer, path: str, body: bytes, content_type: str
) -> None:
    headers = signed("not-the-secret", body, content_type)
    refused(client.post(path, content=body, headers=headers), 401, "invalid_signature")
    nothing_happened(engine, rasa)


def test_a_lone_surrogate_on_slack_is_stored_replaced(
    client: TestClient, engine: Engine, rasa: FakeServer
) -> None:
    event = event_callback(CUSTOMER_TEAM, message_event("UANN", "hallo \udc00 daar", "D0ANN", "1710000001.1"))
    body = json.dumps(event)
    response = client.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed_headers(CUSTOMER_SECRET, body)},
    )
    assert response.status_code == 200, response.text
    heard = wait_until(lambda: rasa.received("POST", "/webhooks/rest/webhook"))
    assert [r.json()["message"] for r in heard] == ["hallo \ufffd daar"]
    with engine.connect() as conn:
        texts = conn.execute(select(messages.c.text).where(messages.c.author == "customer")).scalars()
        assert list(texts) == ["hallo \ufffd daar"]


@pytest.mark.parametrize("path", SLACK_ENDPOINTS)
@pytest.mark.parametrize("age_s", [0, 3600])
def test_a_forged_or_stale_slack_signature_is_refused_in_the_documented_shape(
    client: TestClient, engine: Engine, rasa: FakeServer, path: str, age_s: int
) -> None:
    """Refused before bolt sees it: bolt's own refusal is ``{"error": "invalid request"}``."""
    body = json.dumps(event_callback(CUSTOMER_TEAM, message_event("UANN", "hallo", "D0ANN", "1.3"))).encode()
    secret = SLACK_ENDPOINTS[path] if age_s else "not-the-secret"
    headers = signed(secret, body)
    headers["X-Slack-Request-Timestamp"] = str(int(time.time()) - age_s)
    stamp = headers["X-Slack-Request-Timestamp"].encode()
    mac = hmac.new(secret.encode(), b"v0:" + stamp + b":" + body, hashlib.sha256).hexdigest()
    headers["X-Slack-Signature"] = "v0=" + mac
    refused(client.post(path, content=body, headers=headers), 401, "invalid_signature")
    nothing_happened(engine, rasa)
