"""A conversation begun or continued while the database is away (bot/channels/chat_spool.py): the
gateway issues the token all the same, keeps the pending session in the spool row, and the replay
makes it once; the customer then reads every message they sent, in one conversation, with the
token they hold. A token nobody issued opens nothing. The gateway runs through a TCP proxy that
the test cuts (tests/helpers/database_away.py); the spool and the sessions alone run anywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.channels import chat_spool
from bot.channels.chat_spool import ChatSpool, SpooledMessage, TokenNotYet, drain_once
from bot.core.chat_sessions import ChatSessions, new_token, token_hash
from bot.core.language import LanguageChoice
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer
from tests.helpers.database_away import behind_proxy


def row(text: str, header: str | None = None) -> dict[str, Any]:
    return {
        "sender": "web-1",
        "text": text,
        "locale": "nl-BE",
        "metadata": {},
        "header_token": header,
        "cookie_token": None,
    }


# --- the pieces ---------------------------------------------------------------------------------


def test_a_pending_session_is_made_once_whichever_replay_comes_first(engine: Engine) -> None:
    sessions, other_replica = ChatSessions(engine), ChatSessions(engine)
    token = new_token()
    first = sessions.adopt(token_hash(token), "web-new")
    again = other_replica.adopt(token_hash(token), "web-new")
    assert first.sender == again.sender == "web-new"
    found = sessions.find(token)
    assert found is not None and found.sender == "web-new"
    assert sessions.find(new_token()) is None  # a token nobody issued opens nothing


def test_a_pending_session_never_takes_a_sender_someone_else_has(engine: Engine) -> None:
    sessions = ChatSessions(engine)
    ConversationStore(engine).record_inbound(
        channel="web",
        sender="web-known",
        text="hallo",
        locale=None,
        choose_language=lambda _: LanguageChoice("nl", "test"),
    )
    taken_by_history = sessions.adopt(token_hash(new_token()), "web-known")
    assert taken_by_history.sender not in ("web-known", "")
    owner = sessions.open()
    taken_by_token = sessions.adopt(token_hash(new_token()), owner.sender)
    assert taken_by_token.sender != owner.sender


def test_a_row_whose_token_opens_nothing_yet_waits_without_holding_up_the_others(tmp_path: Path) -> None:
    spool = ChatSpool(tmp_path / "spool.db")
    for text, header in (("een", "t-other"), ("twee", None), ("drie", "t-other"), ("vier", None)):
        spool.put(row(text, header))
    stored: list[str] = []
    known = False

    def store(message: SpooledMessage) -> None:
        if message.header_token == "t-other" and not known:
            raise TokenNotYet("t-other")
        stored.append(message.text)

    assert drain_once(spool, store) == 2 and stored == ["twee", "vier"]
    waiting = spool.claim()
    assert waiting is not None and waiting.waiting_since is not None  # since its first try
    spool.give_back(waiting.id)
    known = True
    assert drain_once(spool, store) == 2 and stored == ["twee", "vier", "een", "drie"]


# --- the gateway with PostgreSQL away -----------------------------------------------------------


@contextmanager
def gateways(
    settings: Settings, rasa: FakeServer, actions: FakeServer, replicas: int = 1
) -> Iterator[tuple[Any, list[TestClient]]]:
    """``replicas`` gateways on one database through the proxy, each with a spool of its own."""
    with behind_proxy(settings) as (proxy, through), ExitStack() as stack:
        clients = [
            stack.enter_context(
                TestClient(
                    create_app(
                        through.with_overrides(
                            rasa_url=rasa.url,
                            action_server_url=actions.url,
                            var_dir=settings.var_dir / f"r{i}",
                        )
                    ),
                    raise_server_exceptions=False,
                )
            )
            for i in range(replicas)
        ]
        yield proxy, clients


def until(check: Any, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the spooled messages were not stored"
        time.sleep(0.2)


def away_post(client: TestClient, body: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    response = client.post("/api/chat", json={"locale": "nl-BE", **body}, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.json()["spooled"] is True
    return response.json()


def history_of(client: TestClient, token: str) -> list[str]:
    response = client.get("/api/chat/history", headers={"X-Chat-Token": token})
    if response.status_code == 401:
        return []
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"] if m["author"] == "customer"]


def test_a_new_customer_whose_first_messages_are_spooled_reads_them_in_one_conversation(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    with gateways(settings, rasa, actions) as (proxy, [client]):
        proxy.cut()
        first = away_post(client, {"sender": "web-fresh", "text": "hallo"})
        token = first["token"]
        assert token and first["sender"] == "web-fresh"
        assert "cc_chat" in client.cookies  # the page's cookie too
        client.cookies.clear()  # the widget: the header alone
        second = away_post(
            client, {"sender": first["sender"], "text": "ben je daar?"}, {"X-Chat-Token": token}
        )
        assert second["token"] is None and second["sender"] == "web-fresh"
        proxy.restore()
        until(lambda: len(history_of(client, token)) == 2)
        time.sleep(2.5)  # a drain more: nothing stored twice
        assert history_of(client, token) == ["hallo", "ben je daar?"]
        again = client.post(
            "/api/chat", json={"sender": "web-fresh", "text": "dag"}, headers={"X-Chat-Token": token}
        )
        assert again.status_code == 200 and again.json()["token"] is None
        assert history_of(client, token) == ["hallo", "ben je daar?", "dag"]


def test_the_page_cookie_issued_while_away_keeps_the_conversation(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    with gateways(settings, rasa, actions) as (proxy, [client]):
        proxy.cut()
        first = away_post(client, {"sender": "web-page", "text": "bonjour"})
        away_post(client, {"sender": first["sender"], "text": "il y a quelqu'un ?"})  # the cookie
        proxy.restore()
        until(lambda: len(history_of(client, first["token"])) == 2)
        response = client.get("/api/chat/history")  # the cookie alone, as the page reads it
        assert [m["text"] for m in response.json()["messages"] if m["author"] == "customer"] == [
            "bonjour",
            "il y a quelqu'un ?",
        ]


def test_an_existing_customer_stays_in_their_conversation_and_a_forged_token_opens_nothing(
    settings: Settings, rasa: FakeServer, actions: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_spool, "PENDING_WAIT_S", 1.0)
    with gateways(settings, rasa, actions) as (proxy, [client]):
        before = client.post("/api/chat", json={"sender": "web-known", "text": "hallo", "locale": "nl-BE"})
        token = before.json()["token"]
        client.cookies.clear()
        proxy.cut()
        mine = away_post(client, {"sender": "web-known", "text": "nog iets"}, {"X-Chat-Token": token})
        assert mine["token"] is None and mine["sender"] == "web-known"
        forged = new_token()
        away_post(client, {"sender": "web-known", "text": "ik ben het echt"}, {"X-Chat-Token": forged})
        away_post(client, {"sender": "web-forger", "text": "laat me binnen"}, {"X-Chat-Token": forged})
        proxy.restore()
        until(lambda: len(history_of(client, token)) == 2)
        until(lambda: len(client.app.state.chat_spool) == 0, timeout_s=15)  # type: ignore[attr-defined]
        assert history_of(client, token) == ["hallo", "nog iets"]
        assert client.get("/api/chat/history", headers={"X-Chat-Token": forged}).status_code == 401
        after = client.post(
            "/api/chat", json={"sender": "web-known", "text": "x"}, headers={"X-Chat-Token": forged}
        )
        assert after.status_code == 401


def test_a_customer_spread_over_two_replicas_while_away_reads_one_conversation(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    with gateways(settings, rasa, actions, replicas=2) as (proxy, [one, other]):
        proxy.cut()
        first = away_post(one, {"sender": "web-roaming", "text": "hallo"})
        token = {"X-Chat-Token": first["token"]}
        away_post(other, {"sender": first["sender"], "text": "hallo??"}, token)  # a spool of its own
        away_post(one, {"sender": first["sender"], "text": "nog steeds?"}, token)
        proxy.restore()
        until(lambda: len(history_of(one, first["token"])) == 3)
        assert sorted(history_of(other, first["token"])) == sorted(["hallo", "hallo??", "nog steeds?"])
        assert history_of(one, first["token"])[0] == "hallo"
