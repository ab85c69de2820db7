"""The Telegram channel end to end: the real python-telegram-bot inside the real gateway, against a
local fake Bot API (testkit/fakes/telegram_api.py) and the fake Rasa, on a real database.

Long polling runs in a uvicorn server in a thread (the channel lives in the gateway's event
loop); webhook mode is driven with Starlette's TestClient. Like in production, one gateway
serves many customers: the module shares one polling gateway and one webhook gateway on one
database, and every test is a customer of its own (a fresh chat id). Assertions are on what
the fake Bot API received (sendMessage, answerCallbackQuery, setWebhook...) and on what Rasa
and the database saw.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from telegram.helpers import escape_markdown

from bot.channels.telegram import (
    HASHED_PAYLOAD,
    TelegramChannel,
    callback_data,
    location_payload,
    markdown,
    split_text,
    utf16_units,
)
from bot.core.db import conversations, csat, messages, processed_updates
from bot.core.rules import default_rules
from bot.core.settings import Settings, SettingsError
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies
from testkit.fakes.telegram_api import FakeTelegram, round_trip, unescape_markdown
from tests.helpers.channels import conversation_of as channel_conversation
from tests.helpers.channels import rasa_heard, wait_until
from tests.helpers.console import PASSWORD
from tests.helpers.gateway import live_gateway
from tests.helpers.telegram import TOKEN, telegram_settings

SECRET = "webhook-Secret_42"
WEBHOOK = "/telegram/webhook"

# --- fixtures -------------------------------------------------------------------------------

CHATS = itertools.count(100_001)


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """The Bot API the polling gateway talks to (stopping a server costs ~0.5 s: one per module)."""
    fake = FakeTelegram(TOKEN)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def hook_telegram() -> Iterator[FakeTelegram]:
    """The Bot API of the webhook gateway (a second poller on ``telegram`` would steal updates).

    Its update ids differ from ``telegram``'s: on one database, equal ids would be repeats.
    """
    fake = FakeTelegram(TOKEN, first_update_id=50_000_000)
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh_fakes(telegram: FakeTelegram, rasa: FakeServer) -> None:
    """Every test starts with an empty Bot API (and, tests/channels/conftest.py, an empty Rasa log
    and echo replies)."""
    telegram.reset()


@pytest.fixture
def chat() -> int:
    """A new customer: the chat id of their private chat (equal to their user id, as on Telegram)."""
    return next(CHATS)


@pytest.fixture(scope="module")
def shared_settings(
    module_settings: Settings, telegram: FakeTelegram, module_rasa: FakeServer, module_actions: FakeServer
) -> Settings:
    """One database for the module's gateways (SQLite, or a PostgreSQL schema with DATABASE_URL);
    a shared location is placed with the demo coverage data."""
    return telegram_settings(module_settings, telegram, module_rasa, module_actions, coverage_provider="demo")


@pytest.fixture(scope="module")
def engine(module_engine: Engine) -> Engine:
    """The module's database, which its gateways share (``module_engine``, tests/conftest.py)."""
    return module_engine


def running_gateway(settings: Settings) -> AbstractContextManager[httpx.Client]:
    """The gateway with a Telegram channel on uvicorn, on a free port, in a thread."""
    return live_gateway(settings, channels=[TelegramChannel(settings)])


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings, engine: Engine) -> Iterator[httpx.Client]:
    """The polling gateway (uvicorn): an HTTP client for its console API."""
    with running_gateway(shared_settings) as http:
        yield http


@pytest.fixture(scope="module")
def hook(
    shared_settings: Settings,
    engine: Engine,
    hook_telegram: FakeTelegram,
    module_rasa: FakeServer,
    module_actions: FakeServer,
) -> Iterator[TestClient]:
    """A gateway in webhook mode, on the same database."""
    settings = telegram_settings(
        shared_settings,
        hook_telegram,
        module_rasa,
        module_actions,
        telegram_webhook_url="https://bot.example.com",
        telegram_secret_token=SECRET,
    )
    with TestClient(create_app(settings, channels=[TelegramChannel(settings)])) as client:
        yield client


# --- helpers --------------------------------------------------------------------------------


def shown(text: str) -> str:
    """What the bot sends for ``text``: MarkdownV2, escaped."""
    return escape_markdown(text, version=2)


def conversation_of(engine: Engine, chat_id: int) -> Any:
    return channel_conversation(engine, chat_id, "telegram")


def stored_messages(engine: Engine, chat_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(messages.join(conversations))
            .where(conversations.c.channel == "telegram", conversations.c.sender == str(chat_id))
        ).scalar_one()


def handled(engine: Engine, *updates: dict[str, Any]) -> int:
    """How many of these updates were recorded as handled."""
    ids = [str(u["update_id"]) for u in updates]
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(processed_updates)
            .where(processed_updates.c.channel == "telegram", processed_updates.c.update_id.in_(ids))
        ).scalar_one()


def say(telegram: FakeTelegram, chat_id: int, text: str, language_code: str | None = "nl") -> str:
    """The customer writes; returns the (unescaped) first reply the bot sends them."""
    before = len(telegram.sent(chat_id))
    telegram.push(telegram.text_update(chat_id, text, language_code=language_code))
    return unescape_markdown(telegram.wait_for("sendMessage", chat_id, before + 1)[before].text)


# --- formatting -----------------------------------------------------------------------------


def test_split_text_cuts_at_lines_then_words_and_counts_utf16() -> None:
    lines = "\n".join(f"Regel {i:03d}: " + "woord " * 12 for i in range(200))
    pieces = split_text(lines, 4096)
    assert len(pieces) > 1 and all(utf16_units(p) <= 4096 for p in pieces)
    assert all(p.endswith("woord") for p in pieces)  # cut at line ends
    assert "\n".join(pieces).split() == lines.split()
    words = "abc " * 3000
    assert [len(p) for p in split_text(words, 100)][:2] == [99, 99]  # at a space
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]  # no boundary: hard cut
    emoji = "🙂" * 3000  # two UTF-16 units each
    assert [utf16_units(p) for p in split_text(emoji)] == [4096, 1904]
    assert split_text("kort") == ["kort"]


def test_markdown_escapes_every_special_character_and_bolds_the_agent() -> None:
    text = r"Prijs: €10.00 (incl. btw) - zie *promo* _nu_ [link] ~x~ `code` > # + = | { } ! \ einde."
    assert unescape_markdown(markdown(text)) == text
    assert markdown("a.b", "Ann-Sofie") == "*Ann\\-Sofie*\na\\.b"


def test_callback_data_fits_64_bytes() -> None:
    assert callback_data("/affirm") == "/affirm"
    long_payload = '/coverage_check_place{"place": "' + "é" * 40 + '"}'
    hashed = callback_data(long_payload)
    assert hashed.startswith(HASHED_PAYLOAD) and len(hashed.encode()) <= 64
    assert callback_data(HASHED_PAYLOAD + "x") != HASHED_PAYLOAD + "x"  # never mistaken for a hash


def test_location_payloads() -> None:
    assert location_payload(51.0543, 3.7174) == '/coverage_check_place{"place": "gent"}'
    assert location_payload(48.8566, 2.3522) == '/coverage_check_place{"place": "48.86, 2.35"}'


# --- text through the router ----------------------------------------------------------------


def test_a_french_message_is_answered_in_french_with_markdown_escaped(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    text = "Bonjour, comment puis-je payer ma facture ?"
    telegram.push(telegram.text_update(chat, text, language_code="fr"))
    [call] = telegram.wait_for("sendMessage", chat)
    expected = f"[fr] you said: {text}"
    assert call.text == shown(expected) == "\\[fr\\] you said: Bonjour, comment puis\\-je payer ma facture ?"
    assert call.args["parse_mode"] == "MarkdownV2"
    [heard] = rasa_heard(rasa)
    assert heard["message"] == text
    assert heard["metadata"]["telegram_user_id"] == chat and heard["metadata"]["channel"] == "telegram"
    conv = conversation_of(engine, chat)
    assert (conv.language, conv.locale, heard["sender"]) == ("fr", "fr", conv.id)
    assert stored_messages(engine, chat) == 2


@pytest.mark.parametrize(
    "language_code, language", [("nl", "nl"), ("fr-BE", "fr"), ("en", "en"), ("de", "nl")]
)
def test_the_language_code_seeds_a_new_conversation(
    gateway: httpx.Client, telegram: FakeTelegram, chat: int, language_code: str, language: str
) -> None:
    assert say(telegram, chat, "ok", language_code) == f"[{language}] you said: ok"


def test_special_characters_never_break_a_message(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    tricky = r"Kost €4.99/maand (excl. btw) - *niet* _echt_ [zie](x) ~ ` > #1 + = | {a} ! \ 100%."
    rasa.state["reply"] = lambda body: [{"text": tricky}]  # type: ignore[attr-defined]
    telegram.push(telegram.text_update(chat, "x"))
    [call] = telegram.wait_for("sendMessage", chat)
    assert call.text == shown(tricky) and unescape_markdown(call.text) == tricky


def test_start_shows_the_opening_message_and_its_buttons_work(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    """/start through the real dispatcher: the persona, what it does, privacy and buttons, in the
    app's language; Rasa hears nothing until a button is pressed, whose payload it then gets."""
    opening = say(telegram, chat, "/start", "fr")
    assert opening.startswith("Bonjour ! Je suis Mila") and customer_text("welcome_privacy", "fr") in opening
    assert rasa_heard(rasa) == []
    [message] = telegram.sent(chat)
    titles = [b["text"] for row in message.buttons() for b in row]
    assert titles == ["Ma facture", "Couverture réseau", "Activer ma carte SIM", "Parler à un collègue"]
    assert [b["callback_data"] for row in message.buttons() for b in row][-1] == "/request_human"
    telegram.push(telegram.press(chat, "Parler à un collègue", language_code="fr"))
    telegram.wait_for("sendMessage", chat, 2)
    [heard] = rasa_heard(rasa)
    assert heard["message"] == "/request_human" and heard["metadata"]["language"] == "fr"
    assert heard["metadata"]["button_title"] == "Parler à un collègue"


def test_buttons_become_an_inline_keyboard_and_a_press_is_routed_and_answered(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    long_payload = '/coverage_check_place{"place": "' + "knokke-heist " * 6 + '"}'
    buttons = [
        {"title": "Ja, bedankt", "payload": "/affirm"},
        {"title": "Nee", "payload": "/deny"},
        {"title": "Bereik aan zee", "payload": long_payload},
    ]

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == "help":
            return [{"text": "Heeft dit geholpen?", "buttons": buttons}]
        return echo_replies(body)

    rasa.state["reply"] = reply  # type: ignore[attr-defined]
    say(telegram, chat, "help")
    [question] = telegram.sent(chat)
    rows = question.buttons()
    assert [[b["text"] for b in row] for row in rows] == [["Ja, bedankt"], ["Nee"], ["Bereik aan zee"]]
    data = [row[0]["callback_data"] for row in rows]
    assert data[:2] == ["/affirm", "/deny"]
    assert data[2].startswith(HASHED_PAYLOAD) and len(data[2].encode()) <= 64
    yes, sea = telegram.press(chat, "Ja, bedankt"), telegram.press(chat, "Bereik aan zee")

    telegram.push(yes)
    assert unescape_markdown(telegram.wait_for("sendMessage", chat, 2)[1].text) == "[nl] you said: /affirm"
    [answered] = telegram.calls_to("answerCallbackQuery")
    assert answered.args["callback_query_id"] == yes["callback_query"]["id"]
    [removed] = telegram.calls_to("editMessageReplyMarkup")  # a button answers once
    assert removed.args["message_id"] == yes["callback_query"]["message"]["message_id"]
    assert rasa_heard(rasa)[-1]["metadata"]["button_title"] == "Ja, bedankt"

    telegram.push(sea)  # a payload too long for callback_data is found again in the transcript
    telegram.wait_for("sendMessage", chat, 3)
    assert rasa_heard(rasa)[-1]["message"] == long_payload


def test_short_buttons_share_a_row(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    buttons = [{"title": "Oui, merci", "payload": "/affirm"}, {"title": "Non", "payload": "/deny"}]
    rasa.state["reply"] = lambda body: [{"text": "Est-ce que cela vous a aidé ?", "buttons": buttons}]  # type: ignore[attr-defined]
    say(telegram, chat, "aide", "fr")
    assert [[b["text"] for b in row] for row in telegram.sent(chat)[0].buttons()] == [["Oui, merci", "Non"]]


def test_a_9000_character_reply_is_split_in_order(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    long_text = "\n".join(
        f"{i:03d}. Stap {i}: open de app (Instellingen > Netwerk) en tik op 'Zoeken'." for i in range(130)
    )
    assert len(long_text) > 9000
    rasa.state["reply"] = lambda body: [{"text": long_text}, {"text": "Klaar!"}]  # type: ignore[attr-defined]
    telegram.push(telegram.text_update(chat, "lange uitleg"))
    expected = len(split_text(long_text)) + 1
    sent = [unescape_markdown(c.text) for c in telegram.wait_for("sendMessage", chat, expected)]
    assert expected == 4 and len(sent) == expected
    assert all(utf16_units(piece) <= 4096 for piece in sent)
    assert all(piece.endswith("'Zoeken'.") for piece in sent[:-1])  # cut at line ends
    assert "\n".join(sent[:-1]) == long_text and sent[-1] == "Klaar!"


def test_a_message_too_long_is_explained_and_not_stored(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    reply = say(telegram, chat, "Bonjour " * 300, "fr")
    assert reply == customer_text("telegram_too_long", "fr").format(max=2000)
    assert rasa_heard(rasa) == [] and stored_messages(engine, chat) == 0


def test_an_image_reply_is_sent_as_a_photo(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    image = "https://example.com/coverage-map.png"
    rasa.state["reply"] = lambda body: [{"text": "", "image": image}, {"text": "Zo ziet het eruit."}]  # type: ignore[attr-defined]
    assert say(telegram, chat, "kaart") == "Zo ziet het eruit."
    [photo] = telegram.calls_to("sendPhoto", chat)
    assert photo.args["photo"] == image and len(telegram.sent(chat)) == 1


# --- media, locations ------------------------------------------------------------------------

MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "su1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo": {
        "photo": [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}],
        "caption": "kapot",
    },
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "vu1", "duration": 3}},
    "video": {
        "video": {"file_id": "d1", "file_unique_id": "du1", "width": 640, "height": 480, "duration": 5}
    },
    "document": {"document": {"file_id": "f1", "file_unique_id": "fu1", "file_name": "factuur.pdf"}},
}


@pytest.mark.parametrize(
    "kind, language_code, language",
    [
        ("sticker", "nl", "nl"),
        ("photo", "fr", "fr"),
        ("voice", "en", "en"),
        ("video", "fr-BE", "fr"),
        ("document", None, "nl"),
    ],
)
def test_media_get_a_text_only_reply_in_the_customers_language_and_nothing_is_stored(
    gateway: httpx.Client,
    telegram: FakeTelegram,
    rasa: FakeServer,
    engine: Engine,
    chat: int,
    kind: str,
    language_code: str | None,
    language: str,
) -> None:
    telegram.push(telegram.message_update(chat, language_code=language_code, **MEDIA[kind]))
    [call] = telegram.wait_for("sendMessage", chat)
    assert call.text == shown(customer_text("telegram_text_only", language))
    assert rasa_heard(rasa) == [] and conversation_of(engine, chat) is None


def test_media_reply_follows_the_conversation_language_over_the_app_language(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    say(telegram, chat, "Hoe kan ik mijn factuur betalen met een overschrijving?", "en")
    assert conversation_of(engine, chat).language == "nl"
    telegram.push(telegram.message_update(chat, language_code="en", **MEDIA["sticker"]))
    call = telegram.wait_for("sendMessage", chat, 2)[1]
    assert call.text == shown(customer_text("telegram_text_only", "nl"))
    assert len(rasa_heard(rasa)) == 1 and stored_messages(engine, chat) == 2


def test_a_location_near_gent_asks_for_the_coverage_in_gent(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    korenmarkt = {"latitude": 51.0545, "longitude": 3.7205}
    telegram.push(telegram.message_update(chat, language_code="fr", location=korenmarkt))
    [call] = telegram.wait_for("sendMessage", chat)
    [heard] = rasa_heard(rasa)
    assert heard["message"] == '/coverage_check_place{"place": "gent"}'
    assert heard["metadata"]["language"] == "fr"
    assert unescape_markdown(call.text) == '[fr] you said: /coverage_check_place{"place": "gent"}'


def test_a_location_far_from_every_known_place_is_an_unknown_place(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, chat: int
) -> None:
    paris = {"latitude": 48.8566, "longitude": 2.3522}
    telegram.push(telegram.message_update(chat, language_code="en", location=paris))
    telegram.wait_for("sendMessage", chat)
    assert rasa_heard(rasa)[0]["message"] == '/coverage_check_place{"place": "48.86, 2.35"}'


# --- robustness -------------------------------------------------------------------------------


def test_the_same_update_twice_is_processed_once(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    update = telegram.text_update(chat, "Waar vind ik mijn factuur?")
    telegram.push(update, update)
    telegram.wait_for("sendMessage", chat)
    say(telegram, chat, "En mijn pincode?")  # handled after the repeat (same chat): it had its turn
    assert [h["message"] for h in rasa_heard(rasa)] == ["Waar vind ik mijn factuur?", "En mijn pincode?"]
    assert len(telegram.sent(chat)) == 2 and stored_messages(engine, chat) == 4
    assert handled(engine, update) == 1


def test_edits_groups_and_empty_updates_are_ignored(
    gateway: httpx.Client, telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    edited = telegram.text_update(chat, "bewerkt")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": int(time.time())}
    group = telegram.message_update(-chat, chat_type="group", text="hallo allemaal")
    service = telegram.message_update(chat, new_chat_title="x")
    empty = {"update_id": telegram.next_update_id()}
    telegram.push(edited, group, service, empty)
    assert say(telegram, chat, "hallo") == "[nl] you said: hallo"  # in order after the others
    assert [h["message"] for h in rasa_heard(rasa)] == ["hallo"]
    assert telegram.sent(-chat) == [] and len(telegram.sent(chat)) == 1
    assert wait_until(lambda: handled(engine, edited, group, service, empty) == 4)


def test_bot_api_errors_are_logged_without_the_text_and_the_chat_goes_on(
    gateway: httpx.Client, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture, chat: int
) -> None:
    caplog.set_level(logging.INFO)
    telegram.fail("sendMessage", chat_id=chat, code=400, description="Bad Request: chat not found")
    secret_text = "mijn geheime vraag over factuur 4711"
    telegram.push(telegram.text_update(chat, secret_text))
    telegram.wait_for("sendMessage", chat)
    assert say(telegram, chat, "nog eens") == "[nl] you said: nog eens"
    assert f"telegram sendMessage to chat {chat} failed: BadRequest: Chat not found" in caplog.text
    assert secret_text not in caplog.text and TOKEN not in caplog.text


def test_polling_stops_cleanly_confirming_what_it_fetched(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    """A gateway of its own, on a Bot API of its own: two pollers would steal each other's updates."""
    fake = FakeTelegram(TOKEN)
    try:
        with running_gateway(telegram_settings(settings, fake, rasa, actions)):
            assert say(fake, 4242, "hallo") == "[nl] you said: hallo"
        methods = [c.method for c in fake.calls]
        assert methods[:2] == ["getMe", "deleteWebhook"]
        last = fake.calls_to("getUpdates")[-1]
        assert last.args["timeout"] == 0 and last.args["offset"] > 0  # confirms the fetched update
    finally:
        fake.stop()


def test_a_wrong_token_leaves_the_web_chat_running_and_health_says_why(
    settings: Settings, rasa: FakeServer, actions: FakeServer, hook_telegram: FakeTelegram
) -> None:
    configured = telegram_settings(settings, hook_telegram, rasa, actions).with_overrides(
        telegram_token="1:wrong"
    )
    app = create_app(configured, channels=[TelegramChannel(configured)])
    with TestClient(app) as client:
        health = client.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "degraded")  # serves on
        assert health.json()["components"]["channel:telegram"] == "down"
        chat = client.post("/api/chat", json={"sender": "web-still-works", "text": "hallo"})
        assert chat.status_code == 200 and chat.json()["replies"]


def test_latency_helper_for_benchmarks(gateway: httpx.Client, telegram: FakeTelegram, chat: int) -> None:
    assert 0 < round_trip(telegram, chat, "hallo") < 5


# --- webhook mode -----------------------------------------------------------------------------


def post_update(client: TestClient, update: Any, secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return client.post(WEBHOOK, content=body, headers={**headers, "Content-Type": "application/json"})


def say_via(
    client: TestClient, telegram: FakeTelegram, chat_id: int, text: str, language_code: str = "fr"
) -> str:
    before = len(telegram.sent(chat_id))
    assert (
        post_update(client, telegram.text_update(chat_id, text, language_code=language_code)).status_code
        == 200
    )
    return unescape_markdown(telegram.wait_for("sendMessage", chat_id, before + 1)[before].text)


def test_webhook_mode_registers_the_webhook_with_the_secret_token(
    hook: TestClient, hook_telegram: FakeTelegram
) -> None:
    [registered] = hook_telegram.calls_to("setWebhook")
    assert registered.args["url"] == "https://bot.example.com/telegram/webhook"
    assert registered.args["secret_token"] == SECRET
    assert registered.args["allowed_updates"] == ["message", "callback_query"]
    assert hook_telegram.calls_to("getUpdates") == [] and hook_telegram.calls_to("deleteWebhook") == []


def test_webhook_accepts_a_valid_secret_and_processes_a_repeat_once(
    hook: TestClient, hook_telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    update = hook_telegram.text_update(chat, "Bonjour, ma carte SIM ne fonctionne plus", language_code="fr")
    assert post_update(hook, update).status_code == 200
    assert post_update(hook, update).status_code == 200  # Telegram retried
    hook_telegram.wait_for("sendMessage", chat)
    assert say_via(hook, hook_telegram, chat, "merci") == "[fr] you said: merci"
    assert [h["message"] for h in rasa_heard(rasa)] == ["Bonjour, ma carte SIM ne fonctionne plus", "merci"]
    assert len(hook_telegram.sent(chat)) == 2 and handled(engine, update) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
def test_webhook_refuses_a_missing_or_wrong_secret_with_403_and_processes_nothing(
    hook: TestClient,
    hook_telegram: FakeTelegram,
    rasa: FakeServer,
    engine: Engine,
    chat: int,
    secret: str | None,
) -> None:
    forged = hook_telegram.text_update(chat, "hallo")
    response = post_update(hook, forged, secret=secret)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert post_update(hook, b"{not json", secret=secret).status_code == 403
    assert say_via(hook, hook_telegram, chat, "echt", "nl") == "[nl] you said: echt"  # after it, in order
    assert [h["message"] for h in rasa_heard(rasa)] == ["echt"] and handled(engine, forged) == 0


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": "x"}', b""]
)
def test_webhook_refuses_malformed_updates_with_400(
    hook: TestClient, hook_telegram: FakeTelegram, rasa: FakeServer, body: bytes
) -> None:
    sent = len(hook_telegram.calls_to("sendMessage"))
    response = post_update(hook, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_update"
    assert rasa_heard(rasa) == [] and len(hook_telegram.calls_to("sendMessage")) == sent


def test_webhook_mode_without_a_secret_token_does_not_start(
    settings: Settings, rasa: FakeServer, actions: FakeServer, hook_telegram: FakeTelegram
) -> None:
    configured = telegram_settings(settings, hook_telegram, rasa, actions)
    configured = configured.with_overrides(telegram_webhook_url="https://bot.example.com")
    calls = len(hook_telegram.calls)
    app = create_app(configured, channels=[TelegramChannel(configured)])
    with pytest.raises(SettingsError, match="TELEGRAM_SECRET_TOKEN is required"), TestClient(app):
        pass
    assert len(hook_telegram.calls) == calls  # failed before calling Telegram


# --- a handoff on Telegram --------------------------------------------------------------------


def agent_session(http: httpx.Client, directory: AgentDirectory) -> dict[str, str]:
    """Ann (Dutch) logged in and online; returns the headers of her writes."""
    directory.create("ann", PASSWORD, display_name="Ann", languages=["nl"])
    login = http.post("/agent/api/login", json={"username": "ann", "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"X-CSRF-Token": login.json()["csrf"]}
    assert http.post("/agent/api/presence", json={"presence": "online"}, headers=headers).status_code == 200
    return headers


def customer_lines(http: httpx.Client, cid: str, text: str) -> list[dict[str, Any]] | None:
    packet = http.get(f"/agent/api/conversations/{cid}")
    assert packet.status_code == 200, packet.text
    transcript = packet.json()["transcript"]
    return transcript if any(m["text"] == text for m in transcript) else None


def test_a_full_handoff_on_telegram(
    gateway: httpx.Client,
    telegram: FakeTelegram,
    rasa: FakeServer,
    engine: Engine,
    chat: int,
    fast_password_hashing: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        if "medewerker" in body["message"]:  # what action_escalate does, with Rasa's sender id
            assert HandoffQueue(engine).escalate(body["sender"], default_rules()["request_human"])
            return [{"recipient_id": body["sender"], "text": "Ik zet je door naar een collega."}]
        return echo_replies(body)

    rasa.state["reply"] = reply  # type: ignore[attr-defined]
    assert say(telegram, chat, "Ik wil graag met een medewerker praten") == "Ik zet je door naar een collega."
    conv = conversation_of(engine, chat)
    assert conv.owner == "queued" and rasa_heard(rasa)[0]["sender"] == conv.id
    status = telegram.wait_for("sendMessage", chat, 2)[1]  # the queue: expected wait, leave it
    assert status.buttons()[0][0]["callback_data"] == "/queue_leave"

    write = agent_session(gateway, AgentDirectory(engine))

    def act(action: str, **body: str) -> httpx.Response:
        return gateway.post(f"/agent/api/conversations/{conv.id}/{action}", json=body, headers=write)

    assert act("claim").status_code == 200  # delivered before the console's answer
    joined = telegram.sent(chat)[2]
    assert joined.text == shown(customer_text("agent_joined", "nl").format(agent="Ann"))

    assert act("reply", text="Hallo! Ik ben Ann. Wat is je klantnummer (bv. C-1001)?").status_code == 200
    assert telegram.sent(chat)[3].text == "*Ann*\n" + shown(
        "Hallo! Ik ben Ann. Wat is je klantnummer (bv. C-1001)?"
    )

    caplog.set_level(logging.INFO)
    telegram.fail("sendMessage", chat_id=chat)  # the customer blocked the bot for a moment
    assert act("reply", text="Ben je er nog? Geheim 8842").status_code == 200  # stored all the same
    assert "Geheim 8842" not in caplog.text and "delivery on telegram failed" in caplog.text

    telegram.push(telegram.text_update(chat, "Mijn klantnummer is C-1001"))
    transcript = wait_until(lambda: customer_lines(gateway, conv.id, "Mijn klantnummer is C-1001"))
    assert transcript[-1]["author"] == "customer"
    assert len(rasa_heard(rasa)) == 1 and len(telegram.sent(chat)) == 5  # nobody but Ann answers

    assert act("close").status_code == 200
    question = telegram.sent(chat)[5]
    assert question.text == shown(customer_text("csat_question", "nl"))
    assert [[(b["text"], b["callback_data"]) for b in row] for row in question.buttons()] == [
        [(str(n), str(n)) for n in range(1, 6)]
    ]

    telegram.push(telegram.press(chat, "4"))
    thanks = telegram.wait_for("sendMessage", chat, 7)[6]
    assert thanks.text == shown(customer_text("csat_thanks", "nl"))
    assert len(telegram.calls_to("answerCallbackQuery")) == 1
    with engine.connect() as conn:
        assert conn.execute(select(csat.c.score).where(csat.c.conversation_id == conv.id)).scalar_one() == 4
    assert len(rasa_heard(rasa)) == 1
