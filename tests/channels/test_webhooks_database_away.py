"""Telegram's webhook and Slack's events while PostgreSQL is away (a restart): a verified update is
kept in the gateway's spool and acknowledged with 200, the customer gets the apology in their
language, and once the database is back the update is handled through the normal path exactly
once, however many copies arrived (duplicates, Slack retries, two gateway replicas). A forged
request is refused as always and nothing of it is kept. The database is taken away by cutting a
TCP proxy in front of PostgreSQL (tests/helpers/database_away.py): PostgreSQL only."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.channels.chat_spool import SPOOL_FILE, Spool
from bot.channels.slack_text import to_plain
from bot.channels.telegram import TelegramChannel
from bot.core.db import conversations, create_db_engine, messages, processed_updates
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import (
    FakeSlack,
    block_actions,
    button_of,
    event_callback,
    message_event,
    posted_message,
)
from testkit.fakes.tcp_proxy import TcpProxy
from testkit.fakes.telegram_api import FakeTelegram, unescape_markdown
from tests.helpers.channels import rasa_messages, wait_until
from tests.helpers.database_away import behind_proxy
from tests.helpers.slack import TEAM, send, slack_settings
from tests.helpers.telegram import TOKEN, telegram_settings

SECRET = "webhook-Secret_42"
WEBHOOK = "/telegram/webhook"
CHATS = itertools.count(300_001)
REPLAYED_WITHIN_S = 30.0


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN, first_update_id=70_000_000)
    yield fake
    fake.stop()


@pytest.fixture
def away(settings: Settings) -> Iterator[tuple[TcpProxy, Settings]]:
    with behind_proxy(settings) as found:
        yield found


@pytest.fixture
def proxy(away: tuple[TcpProxy, Settings]) -> TcpProxy:
    """The proxy in front of PostgreSQL: the test cuts it (the database is away) and restores it."""
    return away[0]


@pytest.fixture
def telegram_gateway(
    away: tuple[TcpProxy, Settings], bot_api: FakeTelegram, rasa: FakeServer, actions: FakeServer
) -> Callable[..., TestClient]:
    """``telegram_gateway(**overrides)``: a gateway with Telegram's webhook, on the database through
    the proxy and the fakes (``overrides``: a replica's own settings, such as its VAR_DIR)."""

    def gateway(**overrides: Any) -> TestClient:
        configured = telegram_settings(
            away[1],
            bot_api,
            rasa,
            actions,
            telegram_webhook_url="https://bot.example.com",
            telegram_secret_token=SECRET,
            **overrides,
        )
        return TestClient(create_app(configured, channels=[TelegramChannel(configured)]))

    return gateway


@pytest.fixture
def slack_gateway(
    away: tuple[TcpProxy, Settings], rasa: FakeServer, actions: FakeServer, slack: FakeSlack
) -> Callable[[], TestClient]:
    """``slack_gateway()``: a gateway with the customers' Slack app, on the database through the
    proxy and the fakes."""
    return lambda: TestClient(create_app(slack_settings(away[1], rasa, actions, slack)))


def handled(settings: Settings, channel: str, update_id: object) -> int:
    """How often the update log recorded this update as handled (read without the proxy)."""
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count())
                .select_from(processed_updates)
                .where(
                    processed_updates.c.channel == channel, processed_updates.c.update_id == str(update_id)
                )
            ).scalar_one()
    finally:
        engine.dispose()


def transcript(settings: Settings, channel: str, sender: object) -> list[tuple[str, str]]:
    """The customer's messages and the replies to them, in order (read without the proxy)."""
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.direction, messages.c.text)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(conversations.c.channel == channel, conversations.c.sender == str(sender))
                .order_by(messages.c.id)
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def cut_while_rasa_answers(rasa: FakeServer, proxy: TcpProxy) -> None:
    """The next answer of Rasa cuts the database first: the update's message is stored and
    recorded as handled by then, its answer cannot be."""
    answer = rasa.state["reply"]  # type: ignore[attr-defined]

    def cut(body: dict[str, Any]) -> list[dict[str, Any]]:
        rasa.state["reply"] = answer  # type: ignore[attr-defined]
        proxy.cut()
        return answer(body)

    rasa.state["reply"] = cut  # type: ignore[attr-defined]


def spooled(settings: Settings, channel: str) -> int:
    return len(Spool(settings.var_dir / SPOOL_FILE, channel))


# --- Telegram -----------------------------------------------------------------------------------


def post_update(client: TestClient, update: dict[str, Any] | bytes, secret: str = SECRET) -> httpx.Response:
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    return client.post(WEBHOOK, content=body, headers=headers)


def test_telegram_updates_wait_in_the_spool_and_are_handled_once_when_postgresql_is_back(
    proxy: TcpProxy,
    settings: Settings,
    bot_api: FakeTelegram,
    rasa: FakeServer,
    telegram_gateway: Callable[..., TestClient],
) -> None:
    chat, forged_chat = next(CHATS), next(CHATS)
    update = bot_api.text_update(chat, "Bonjour, ma facture est trop élevée", language_code="fr")
    with telegram_gateway() as client:
        proxy.cut()
        assert post_update(client, update).status_code == 200
        assert post_update(client, update).status_code == 200  # Telegram sent it twice
        forged = post_update(client, bot_api.text_update(forged_chat, "hallo"), secret="wrong-secret")
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
        assert post_update(client, b'{"update_id": "x"}').status_code == 400
        assert spooled(settings, "telegram") == 2  # the verified, well-formed ones only
        [apology] = bot_api.wait_for("sendMessage", chat)  # once, in the app's language
        assert unescape_markdown(apology.text) == customer_text("rasa_unavailable", "fr")
        assert rasa_messages(rasa) == []
        proxy.restore()
        wait_until(lambda: spooled(settings, "telegram") == 0, REPLAYED_WITHIN_S)
        answer = bot_api.wait_for("sendMessage", chat, 2)[1]
        assert unescape_markdown(answer.text) == "[fr] you said: Bonjour, ma facture est trop élevée"
        assert post_update(client, update).status_code == 200  # and once more, after the replay
        time.sleep(0.5)
    assert rasa_messages(rasa) == ["Bonjour, ma facture est trop élevée"]
    assert handled(settings, "telegram", update["update_id"]) == 1
    assert len(bot_api.sent(chat)) == 2 and bot_api.sent(forged_chat) == []


def test_two_replicas_with_a_spool_each_handle_a_duplicate_once(
    proxy: TcpProxy,
    settings: Settings,
    bot_api: FakeTelegram,
    rasa: FakeServer,
    telegram_gateway: Callable[..., TestClient],
) -> None:
    chat = next(CHATS)
    update = bot_api.text_update(chat, "mijn sim werkt niet", language_code="nl")
    replicas = [settings.with_overrides(var_dir=settings.var_dir / name) for name in ("a", "b")]
    with ExitStack() as running:
        clients = [running.enter_context(telegram_gateway(var_dir=r.var_dir)) for r in replicas]
        proxy.cut()
        for client in clients:
            assert post_update(client, update).status_code == 200
        assert [spooled(r, "telegram") for r in replicas] == [1, 1]
        proxy.restore()
        for replica in replicas:
            wait_until(lambda r=replica: spooled(r, "telegram") == 0, REPLAYED_WITHIN_S)
    assert rasa_messages(rasa) == ["mijn sim werkt niet"]
    assert handled(settings, "telegram", update["update_id"]) == 1


def test_an_update_cut_short_by_the_database_is_kept_and_finished_once(
    proxy: TcpProxy,
    settings: Settings,
    bot_api: FakeTelegram,
    rasa: FakeServer,
    telegram_gateway: Callable[..., TestClient],
) -> None:
    """The database goes away while Rasa answers: after the update was recorded as handled and its
    message stored, before the answer could be. The update is kept, and its replay finishes it:
    the message it had stored is found, not stored a second time."""
    chat = next(CHATS)
    cut_while_rasa_answers(rasa, proxy)
    update = bot_api.text_update(chat, "where is my invoice", language_code="en")
    with telegram_gateway() as client:
        assert post_update(client, update).status_code == 200
        [apology] = bot_api.wait_for("sendMessage", chat)
        assert unescape_markdown(apology.text) == customer_text("rasa_unavailable", "en")
        wait_until(lambda: spooled(settings, "telegram") == 1)
        proxy.restore()
        answer = bot_api.wait_for("sendMessage", chat, 2, timeout=REPLAYED_WITHIN_S)[1]
        assert unescape_markdown(answer.text) == "[en] you said: where is my invoice"
        wait_until(lambda: spooled(settings, "telegram") == 0)
        assert post_update(client, update).status_code == 200  # a late duplicate
        time.sleep(0.5)
    assert rasa_messages(rasa) == [
        "where is my invoice",
        "where is my invoice",
    ]  # asked again: the first answer was lost
    assert handled(settings, "telegram", update["update_id"]) == 1 and len(bot_api.sent(chat)) == 2
    assert transcript(settings, "telegram", chat) == [
        ("in", "where is my invoice"),
        ("out", "[en] you said: where is my invoice"),
    ]


# --- Slack --------------------------------------------------------------------------------------

DM = "D0FRANCOIS"
MENU = [{"title": "Payer ma facture", "payload": "/pay_bill"}]


def menu_or_echo(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body["message"] == "menu":
        return [{"recipient_id": body["sender"], "text": "Choisissez :", "buttons": MENU}]
    return [{"recipient_id": body["sender"], "text": f"you said: {body['message']}"}]


def posted_texts(slack: FakeSlack, channel: str) -> list[str]:
    return [
        to_plain(c.args.get("text", ""))
        for c in slack.calls_to("chat.postMessage")
        if c.args["channel"] == channel
    ]


def test_slack_events_and_clicks_wait_in_the_spool_and_are_handled_once_when_postgresql_is_back(
    proxy: TcpProxy,
    settings: Settings,
    rasa: FakeServer,
    slack: FakeSlack,
    slack_gateway: Callable[[], TestClient],
) -> None:
    rasa.state["reply"] = menu_or_echo  # type: ignore[attr-defined]
    apology = customer_text("rasa_unavailable", "fr")  # UFR's Slack locale is fr-FR
    with slack_gateway() as client:
        assert (
            send(
                client, event_callback(TEAM, message_event("UFR", "menu", DM, "1720000000.000100"))
            ).status_code
            == 200
        )
        menu = slack.wait_for("chat.postMessage", lambda a: "Choisissez" in a.get("text", ""))[0]
        proxy.cut()
        event = event_callback(TEAM, message_event("UFR", "Ma facture est fausse", DM, "1720000000.000200"))
        assert send(client, event).status_code == 200
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert send(client, event, **retry).status_code == 200  # Slack retried
        click = block_actions(TEAM, "UFR", DM, posted_message(menu), button_of(menu))
        assert send(client, click).status_code == 200
        forged = send(
            client, event_callback(TEAM, message_event("UFR", "faux", DM, "1720000000.000300")), secret="x"
        )
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
        assert spooled(settings, "slack") == 3
        wait_until(
            lambda: posted_texts(slack, DM).count(apology) == 2
        )  # the message and the click, once each
        proxy.restore()
        wait_until(lambda: "you said: Ma facture est fausse" in posted_texts(slack, DM), REPLAYED_WITHIN_S)
        wait_until(lambda: "you said: /pay_bill" in posted_texts(slack, DM), REPLAYED_WITHIN_S)
        assert (
            send(client, event, **{**retry, "X-Slack-Retry-Num": "2"}).status_code == 200
        )  # after the replay
        time.sleep(0.5)
        assert spooled(settings, "slack") == 0
    assert rasa_messages(rasa) == ["menu", "Ma facture est fausse", "/pay_bill"]
    assert handled(settings, "slack", event["event_id"]) == 1
    assert posted_texts(slack, DM).count(apology) == 2


def test_a_slack_event_cut_short_by_the_database_is_kept_and_its_message_stored_once(
    proxy: TcpProxy,
    settings: Settings,
    rasa: FakeServer,
    slack: FakeSlack,
    slack_gateway: Callable[[], TestClient],
) -> None:
    """As Telegram's: the database goes away while Rasa answers a Slack message that was stored
    and recorded as handled; the replay answers it, and the transcript has the message once."""
    rasa.state["reply"] = menu_or_echo  # type: ignore[attr-defined]
    apology = customer_text("rasa_unavailable", "fr")
    with slack_gateway() as client:
        cut_while_rasa_answers(rasa, proxy)
        event = event_callback(TEAM, message_event("UFR", "Ma facture est fausse", DM, "1720000002.000100"))
        assert send(client, event).status_code == 200
        wait_until(lambda: apology in posted_texts(slack, DM))
        wait_until(lambda: spooled(settings, "slack") == 1)
        proxy.restore()
        wait_until(lambda: "you said: Ma facture est fausse" in posted_texts(slack, DM), REPLAYED_WITHIN_S)
        wait_until(lambda: spooled(settings, "slack") == 0)
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert send(client, event, **retry).status_code == 200  # a late retry
        time.sleep(0.5)
    assert rasa_messages(rasa) == ["Ma facture est fausse", "Ma facture est fausse"]  # the answer was lost
    assert handled(settings, "slack", event["event_id"]) == 1
    assert [t for t in posted_texts(slack, DM) if "you said" in t] == ["you said: Ma facture est fausse"]
    assert transcript(settings, "slack", f"{TEAM}:UFR") == [
        ("in", "Ma facture est fausse"),
        ("out", "you said: Ma facture est fausse"),
    ]


def test_an_unsigned_slack_event_is_refused_and_not_kept_while_postgresql_is_away(
    proxy: TcpProxy,
    settings: Settings,
    rasa: FakeServer,
    slack: FakeSlack,
    slack_gateway: Callable[[], TestClient],
) -> None:
    with slack_gateway() as client:
        proxy.cut()
        body = json.dumps(event_callback(TEAM, message_event("UFR", "bonjour", DM, "1720000001.000100")))
        for headers in ({}, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}):
            response = client.post(
                "/slack/events", content=body, headers={"Content-Type": "application/json", **headers}
            )
            assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
        stale = send(client, json.loads(body), timestamp=int(time.time()) - 3600)
        assert stale.status_code == 401
        assert spooled(settings, "slack") == 0 and posted_texts(slack, DM) == []
