"""Server-issued web chat sessions (bot/channels/chat_access.py): a conversation is opened by the
token the gateway issued with it, never by a sender id a caller chose or read; the page keeps the
token in an HttpOnly cookie, the embedded widget and API clients send it as X-Chat-Token. Every
wrong, missing, forged, huge or garbled token answers 4xx in the documented shape and stores
nothing. On SQLite and (DATABASE_URL) PostgreSQL; the stream's own tests run a real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.channels.chat_access import COOKIE
from bot.core.chat_sessions import ChatSessions
from bot.core.db import chat_sessions, conversations, messages, utcnow
from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.privacy import Privacy
from testkit.fakes.http_server import FakeServer
from tests.helpers.gateway import live_gateway

SHOP = {"Origin": "https://shop.example"}
FORGED = [
    "A" * 43,  # well shaped, never issued
    "x",  # too short
    "x" * 5000,  # huge
    "abc\x01def" + "a" * 40,  # a control character
    "tok\ten" + "a" * 40,
    "é" * 43,
    "../../etc/passwd" + "a" * 30,
    "a" * 42 + " ",
]


@pytest.fixture
def client(gateway_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(gateway_settings, channels=[])) as client:
        yield client


def say(client: TestClient, sender: str, text: str = "hallo", token: str | None = None) -> httpx.Response:
    headers = {"X-Chat-Token": token} if token else {}
    return client.post("/api/chat", json={"sender": sender, "text": text}, headers=headers)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (conversations, messages, chat_sessions)
        )


def texts_of(engine: Engine, sender: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(messages.c.text)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(conversations.c.sender == sender, messages.c.author == "customer")
                .order_by(messages.c.id)
            ).scalars()
        )


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token
    return token


# --- issuing -----------------------------------------------------------------------------------


def test_a_new_sender_gets_a_token_and_the_page_an_httponly_strict_cookie(client: TestClient) -> None:
    first = say(client, "web-alice")
    body = first.json()
    assert body["sender"] == "web-alice" and len(body["token"]) == 43
    cookie = SimpleCookie(first.headers["set-cookie"])[COOKIE]
    assert cookie.value == body["token"] and cookie["httponly"] and cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/api/chat" and not cookie["secure"]  # plain http here
    again = say(client, "web-alice", token=body["token"])
    assert again.json()["token"] is None and "set-cookie" not in again.headers  # issued once
    assert again.json()["conversation_id"] == body["conversation_id"]


def test_the_cookie_is_secure_on_https_and_with_secure_cookies(gateway_settings: Settings) -> None:
    with TestClient(create_app(gateway_settings, channels=[]), base_url="https://testserver") as https:
        assert SimpleCookie(say(https, "web-tls").headers["set-cookie"])[COOKIE]["secure"]
    forced = gateway_settings.with_overrides(secure_cookies=True)
    with TestClient(create_app(forced, channels=[])) as http:
        assert SimpleCookie(say(http, "web-forced").headers["set-cookie"])[COOKIE]["secure"]


def test_the_page_reads_its_history_with_its_cookie_alone(client: TestClient) -> None:
    say(client, "web-page")  # the client keeps the cookie, as the page's browser does
    history = client.get("/api/chat/history")
    assert history.status_code == 200 and history.json()["sender"] == "web-page"
    assert [m["author"] for m in history.json()["messages"]] == ["customer", "bot"]
    assert client.get("/api/chat/history", params={"sender": "web-page"}).status_code == 200


# --- a sender alone opens nothing ----------------------------------------------------------------


def test_a_sender_without_its_token_reads_nothing(client: TestClient) -> None:
    token = token_of(say(client, "web-victim", "mijn IBAN is BE71 0961 2345 6769"))
    client.cookies.clear()  # another browser: only the sender id is known
    refused(client.get("/api/chat/history", params={"sender": "web-victim"}), 401, "token_required")
    refused(client.get("/api/chat/stream", params={"sender": "web-victim"}), 401, "token_required")
    refused(client.get("/api/chat/history"), 401, "token_required")
    # the token works from anywhere, in a header; never as a query parameter of the history
    ok = client.get("/api/chat/history", params={"sender": "web-victim"}, headers={"X-Chat-Token": token})
    assert ok.status_code == 200 and ok.json()["messages"][0]["text"].startswith("mijn IBAN")
    refused(client.get("/api/chat/history", params={"token": token}), 401, "token_required")


def test_posting_as_someone_elses_sender_starts_a_conversation_of_ones_own(
    client: TestClient, engine: Engine
) -> None:
    victim = say(client, "web-victim").json()
    client.cookies.clear()
    intruder = say(client, "web-victim", "wat is mijn saldo?")
    assert intruder.status_code == 200
    taken = intruder.json()
    assert taken["sender"] != "web-victim" and taken["sender"].startswith("web-") and taken["token"]
    assert taken["conversation_id"] != victim["conversation_id"]
    assert texts_of(engine, "web-victim") == ["hallo"]  # nothing written into the victim's chat
    assert texts_of(engine, taken["sender"]) == ["wat is mijn saldo?"]


def test_a_widget_of_before_the_tokens_starts_afresh_once(
    client: TestClient, engine: Engine, rasa: FakeServer
) -> None:
    """A conversation made before the upgrade (a sender, no session): its sender id travelled in
    URLs, so holding it proves nothing; the next message opens a new conversation under a new
    sender, and the old one stays where it is for the agents."""
    say(client, "legacy-uuid", "oud bericht")
    ChatSessions(engine).forget("legacy-uuid")  # as it was before the upgrade: no session
    client.cookies.clear()
    refused(client.get("/api/chat/history", params={"sender": "legacy-uuid"}), 401, "token_required")
    answer = say(client, "legacy-uuid", "nieuw bericht").json()
    assert answer["sender"] != "legacy-uuid" and answer["token"]
    assert texts_of(engine, "legacy-uuid") == ["oud bericht"]
    assert texts_of(engine, answer["sender"]) == ["nieuw bericht"]
    follow_up = say(client, answer["sender"], "en verder", token=answer["token"]).json()
    assert follow_up["conversation_id"] == answer["conversation_id"] and follow_up["token"] is None


def test_another_conversations_token_is_refused(client: TestClient, engine: Engine) -> None:
    mine = token_of(say(client, "web-mine"))
    token_of(say(client, "web-theirs"))
    before = counts(engine)
    header = {"X-Chat-Token": mine}
    refused(
        client.get("/api/chat/history", params={"sender": "web-theirs"}, headers=header), 403, "wrong_token"
    )
    refused(
        client.get("/api/chat/stream", params={"sender": "web-theirs"}, headers=header), 403, "wrong_token"
    )
    refused(say(client, "web-theirs", "hallo daar", token=mine), 403, "wrong_token")
    assert counts(engine) == before


def test_a_cookie_of_another_conversation_is_ignored(client: TestClient) -> None:
    say(client, "web-first")
    say(client, "web-second")  # the cookie now opens the second conversation
    refused(client.get("/api/chat/history", params={"sender": "web-first"}), 401, "token_required")
    assert client.get("/api/chat/history").json()["sender"] == "web-second"


@pytest.mark.parametrize("forged", FORGED)
def test_forged_huge_and_garbled_tokens_answer_4xx_and_store_nothing(
    client: TestClient, engine: Engine, rasa: FakeServer, forged: str
) -> None:
    token_of(say(client, "web-real"))
    client.cookies.clear()
    before, asked = counts(engine), len(rasa.received("POST", "/webhooks/rest/webhook"))
    raw = forged.encode("utf-8")
    sent = [
        client.get("/api/chat/history", headers=[("X-Chat-Token", raw)]),
        client.get("/api/chat/stream", params={"token": forged}),
        client.get("/api/chat/stream", headers=[("X-Chat-Token", raw)]),
        client.post(
            "/api/chat", json={"sender": "web-real", "text": "hallo"}, headers=[("X-Chat-Token", raw)]
        ),
        client.get("/api/chat/history", headers={"Cookie": f"{COOKIE}={forged.encode().hex()}"}),
    ]
    for response in sent:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert response.json()["error"]["code"] in ("invalid_token", "token_required")
    assert counts(engine) == before
    assert len(rasa.received("POST", "/webhooks/rest/webhook")) == asked


def test_a_stale_cookie_is_replaced_by_a_new_conversation(client: TestClient, engine: Engine) -> None:
    old = token_of(say(client, "web-stale"))
    ChatSessions(engine).forget("web-stale")  # an erasure ended the session
    refused(client.get("/api/chat/history"), 401, "token_required")  # the page shows a new chat
    refused(say(client, "web-stale", token=old), 401, "invalid_token")  # the widget forgets it
    fresh = say(client, "web-new-page")  # the page's next message: a new cookie
    assert fresh.status_code == 200 and SimpleCookie(fresh.headers["set-cookie"])[COOKIE].value != old
    assert client.get("/api/chat/history").json()["sender"] == "web-new-page"


@pytest.mark.parametrize("after", ["abc", "9" * 25, "1e3", "\x00"])
def test_a_stream_resumed_after_garbage_is_a_400(client: TestClient, after: str) -> None:
    token = token_of(say(client, "web-after-junk"))
    response = client.get("/api/chat/stream", params={"after": after}, headers={"X-Chat-Token": token})
    refused(response, 400, "invalid_after")
    refused(
        client.get("/api/chat/stream", headers={"X-Chat-Token": token, "Last-Event-ID": after}),
        400,
        "invalid_after",
    )


# --- the stream, on a real server ----------------------------------------------------------------


def first_events(http: httpx.Client, params: dict[str, Any], headers: dict[str, str]) -> str:
    """The stream's opening (the retry line and the owner), then the connection is dropped."""
    with http.stream("GET", "/api/chat/stream", params=params, headers=headers) as response:
        assert response.status_code == 200, response.read()
        seen = ""
        for chunk in response.iter_text():
            seen += chunk
            if "event: owner" in seen:
                return seen
    raise AssertionError(seen)


def test_the_stream_opens_with_the_token_in_its_url_a_header_or_the_cookie(
    gateway_settings: Settings,
) -> None:
    with live_gateway(gateway_settings, channels=[]) as http:
        answer = http.post("/api/chat", json={"sender": "web-live", "text": "hallo"}, headers=SHOP)
        token = token_of(answer)
        http.cookies.clear()
        assert "event: owner" in first_events(http, {"token": token, "after": "0"}, SHOP)
        assert "event: owner" in first_events(http, {"after": "9" * 20}, {"X-Chat-Token": token})
        assert "event: owner" in first_events(http, {}, {"Cookie": f"{COOKIE}={token}"})
        refused(http.get("/api/chat/stream", params={"sender": "web-live"}), 401, "token_required")
        refused(http.get("/api/chat/stream", params={"token": "A" * 43}), 401, "invalid_token")


# --- privacy ---------------------------------------------------------------------------------------


def test_erasing_a_web_customer_ends_their_token_and_retention_expires_idle_ones(
    client: TestClient, engine: Engine, gateway_settings: Settings
) -> None:
    privacy = Privacy(gateway_settings, engine, None)
    token = token_of(say(client, "web-erase-me"))
    idle = token_of(say(client, "web-idle"))
    client.cookies.clear()
    erased = privacy.erase_customer("web", "web-erase-me", actor="dpo")
    assert erased["deleted"]["chat_sessions"] == 1
    refused(client.get("/api/chat/history", headers={"X-Chat-Token": token}), 401, "invalid_token")
    with engine.begin() as conn:  # a year and more without a message
        conn.execute(update(chat_sessions).values(used_at=utcnow() - timedelta(days=400)))
        conn.execute(update(conversations).values(owner="closed", updated_at=utcnow() - timedelta(days=400)))
    assert privacy.enforce_retention()["chat_sessions"] == 1
    refused(client.get("/api/chat/history", headers={"X-Chat-Token": idle}), 401, "invalid_token")
