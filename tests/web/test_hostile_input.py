"""Hostile input on the gateway's JSON endpoints never gives a 500 and never half-stores:
nesting thousands deep, a 5,000-digit number, lone surrogates, NUL characters, a locale wider
than its column, ids beyond a 64-bit integer. Runs on SQLite and (DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.channels import webchat
from bot.core import events
from bot.core.db import conversations, messages
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.web.gateway import create_app
from bot.web.http import install_error_handler, json_object, sse
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer
from tests.helpers.gateway import live_gateway

PASSWORD = "correct horse battery"
DEEP_LIST = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 2500 + b"1" + b"}" * 2500  # within the console's 16 KiB
HUGE_INT = b"1" * 5000
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def rasa(module_rasa: FakeServer) -> FakeServer:
    module_rasa.requests.clear()
    return module_rasa


@pytest.fixture
def actions(module_actions: FakeServer) -> FakeServer:
    return module_actions


@pytest.fixture
def client(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Iterator[TestClient]:
    configured = settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0)
    with TestClient(create_app(configured)) as client:
        yield client


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        count = func.count()
        return (
            conn.execute(select(count).select_from(conversations)).scalar_one(),
            conn.execute(select(count).select_from(messages)).scalar_one(),
        )


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


# --- the toolkit: json_object --------------------------------------------------------------


def echo_app() -> TestClient:
    app = FastAPI()
    install_error_handler(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return await json_object(request, 64 * 1024)

    return TestClient(app)


@pytest.mark.parametrize(
    "content",
    [
        DEEP_LIST,
        DEEP_OBJECT,
        b'{"a": ' + DEEP_LIST + b"}",
        b'{"n": ' + HUGE_INT + b"}",
        b'{"n": -' + HUGE_INT + b"}",
        b'{"n": NaN}',
        b'{"n": Infinity}',
    ],
    ids=["deep-list", "deep-object", "deep-value", "huge-int", "huge-negative-int", "nan", "infinity"],
)
def test_json_object_refuses_deep_nesting_huge_numbers_and_non_json_constants(content: bytes) -> None:
    refused(echo_app().post("/echo", content=content), 400, "invalid_json")


def test_json_object_allows_ordinary_nesting_and_replaces_lone_surrogates() -> None:
    client = echo_app()
    nested = {"a": [[[{"b": [1, 2.5, -3, 12345678901234567890]}]]]}
    assert client.post("/echo", json=nested).json() == nested
    content = b'{"t\\udc00": "a\\ud800b", "pair": "\\ud83d\\ude00", "l": ["\\udfff"]}'
    echoed = client.post("/echo", content=content).json()
    assert echoed == {"t\ufffd": "a\ufffdb", "pair": "\U0001f600", "l": ["\ufffd"]}


# --- the chat API ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        DEEP_LIST,
        DEEP_OBJECT,
        b'{"sender": "s", "text": "hi", "locale": ' + DEEP_LIST + b"}",
        b'{"sender": "s", "text": ' + HUGE_INT + b"}",
        b'{"sender": ' + HUGE_INT + b', "text": "hi"}',
    ],
    ids=["deep-list", "deep-object", "deep-locale", "huge-int-text", "huge-int-sender"],
)
def test_chat_refuses_deep_json_and_huge_numbers_with_400(
    client: TestClient, engine: Engine, rasa: FakeServer, content: bytes
) -> None:
    refused(client.post("/api/chat", content=content, headers=JSON), 400, "invalid_json")
    assert stored(engine) == (0, 0) and rasa.received("POST", "/webhooks/rest/webhook") == []


def test_chat_stores_a_lone_surrogate_replaced(client: TestClient, engine: Engine) -> None:
    content = b'{"sender": "web-\\ud800", "text": "hallo \\udc00 daar \\ud83d\\ude00"}'
    response = client.post("/api/chat", content=content, headers=JSON)
    assert response.status_code == 200, response.text
    with engine.connect() as conn:
        [sender] = conn.execute(select(conversations.c.sender)).scalars()
        texts = list(conn.execute(select(messages.c.text).where(messages.c.author == "customer")).scalars())
    assert sender == "web-\ufffd" and texts == ["hallo \ufffd daar \U0001f600"]
    history = client.get("/api/chat/history", params={"sender": "web-\ufffd"}).json()
    assert history["messages"][0]["text"] == "hallo \ufffd daar \U0001f600"


@pytest.mark.parametrize(
    "body",
    [
        {"sender": "web-nul", "text": "hal\x00lo"},
        {"sender": "web\x00nul", "text": "hallo"},
        {"sender": "web-nul", "text": "hallo", "locale": "nl\x00BE"},
        {"sender": "web-nul", "text": "hallo", "locale": "nl-BE" + "x" * 295},
        {"sender": "web-nul", "text": "hallo", "locale": "x" * 17},
        {"sender": "web-nul", "text": "hallo", "button_title": "J\x00a"},
    ],
    ids=["nul-text", "nul-sender", "nul-locale", "locale-300", "locale-17", "nul-button-title"],
)
def test_chat_refuses_nul_characters_and_a_locale_wider_than_its_column_storing_nothing(
    client: TestClient, engine: Engine, rasa: FakeServer, body: dict[str, Any]
) -> None:
    refused(client.post("/api/chat", json=body), 422, "invalid_message")
    assert stored(engine) == (0, 0) and rasa.received("POST", "/webhooks/rest/webhook") == []


def test_a_locale_of_the_column_width_is_kept(client: TestClient, engine: Engine) -> None:
    locale = "fr-BE-x-" + "a" * 8
    response = client.post("/api/chat", json={"sender": "web-16", "text": "ok", "locale": locale})
    assert response.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(conversations.c.locale)).scalar_one() == locale


@pytest.mark.parametrize("sender", ["\x00", "web\x00x", " "])
def test_history_refuses_a_nul_sender(client: TestClient, sender: str) -> None:
    refused(client.get("/api/chat/history", params={"sender": sender}), 422, "invalid_message")


def test_the_stream_refuses_a_nul_sender(
    settings: Settings, rasa: FakeServer, actions: FakeServer, engine: Engine
) -> None:
    """On a real server: a stream that opens (the bug) is seen at once, not read forever."""
    configured = settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url)
    with live_gateway(configured, channels=[]) as http:
        for sender in ("\x00", "web\x00x"):
            with http.stream("GET", "/api/chat/stream", params={"sender": sender}) as response:
                assert response.status_code == 422
                response.read()
                assert response.json()["error"]["code"] == "invalid_message"


# --- the console: log-in and the admin API ---------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [DEEP_LIST, DEEP_OBJECT, b'{"username": ' + HUGE_INT + b', "password": "x"}'],
    ids=["deep-list", "deep-object", "huge-int"],
)
def test_login_refuses_deep_json_and_huge_numbers_with_400(client: TestClient, content: bytes) -> None:
    refused(client.post("/agent/api/login", content=content, headers=JSON), 400, "invalid_json")


@pytest.mark.parametrize(
    "content",
    [b'{"username": "ann\\ud800", "password": "x"}', b'{"username": "ann", "password": "\\udfff"}'],
)
def test_login_with_a_lone_surrogate_is_just_a_wrong_login(
    client: TestClient, content: bytes, fast_password_hashing: None
) -> None:
    refused(client.post("/agent/api/login", content=content, headers=JSON), 401, "bad_credentials")


@pytest.fixture
def admin(client: TestClient, engine: Engine, fast_password_hashing: None) -> dict[str, str]:
    AgentDirectory(engine).create("root", PASSWORD, role="admin", languages=["nl"])
    response = client.post("/agent/api/login", json={"username": "root", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"], **JSON}


@pytest.mark.parametrize("agent_id", ["99999999999999999999", str(2**63), "-" + "9" * 20])
def test_an_agent_id_beyond_64_bits_is_no_such_agent(
    client: TestClient, admin: dict[str, str], agent_id: str
) -> None:
    response = client.post(f"/agent/api/agents/{agent_id}", json={"display_name": "X"}, headers=admin)
    refused(response, 422, "invalid_agent")
    assert response.json()["error"]["message"] == "no such agent"


@pytest.mark.parametrize("outage_id", ["99999999999999999999", str(2**63), "-" + "9" * 20])
def test_an_outage_id_beyond_64_bits_is_not_found(
    client: TestClient, admin: dict[str, str], outage_id: str
) -> None:
    response = client.post(f"/agent/api/outages/{outage_id}/resolve", headers=admin)
    refused(response, 404, "not_found")


def test_a_stream_resumed_after_an_id_beyond_64_bits_sends_no_message(
    client: TestClient, engine: Engine
) -> None:
    """``after`` (or Last-Event-ID) is clamped to the largest id a database holds."""
    assert client.post("/api/chat", json={"sender": "web-after", "text": "hallo"}).status_code == 200
    after = webchat._int("9" * 20)
    stream = webchat.CustomerStream(ConversationStore(engine), "web-after", after)
    assert asyncio.run(stream.start()) == [sse(events.OWNER, {"owner": "bot"})]  # no message
    assert stream.after == after
