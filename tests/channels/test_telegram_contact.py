"""Telegram's "share my number" (bot/channels/telegram_contact.py) end to end: real Telegram
updates through python-telegram-bot's dispatcher in the real gateway, against the fake Bot API
(testkit/fakes/telegram_api.py), the fake Rasa and the demo account data, on a real database.

The customer's own contact (its ``user_id`` is the sender's) verifies the chat and Rasa gets
``/inform_code``; a contact of someone else, or of a number that is no customer's, verifies
nothing and gets an honest answer. The number never reaches Rasa, the transcript or the logs.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.channels.telegram import TelegramChannel
from bot.connectors.accounts import AccountService
from bot.core.db import conversations, messages, verified_identities
from bot.core.identity import CODE_PAYLOAD, Identity
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from testkit.fakes.accounts import FailingAccountProvider
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies
from testkit.fakes.telegram_api import FakeTelegram, unescape_markdown
from tests.helpers.channels import rasa_heard
from tests.helpers.gateway import live_gateway
from tests.helpers.telegram import TOKEN, telegram_settings

JAN = "+32470123456"  # MC1000001 in the demo data
NOBODY = "+32470999888"  # a valid mobile number of no customer
ASK = {
    "nl": "Wat is je gsm-nummer bij Mila?",
    "fr": "Quel est votre numéro de GSM chez Mila ?",
    "en": "What's your Mila mobile number?",
}
CHATS = itertools.count(300_001)


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN, first_update_id=70_000_000)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shared_settings(
    module_settings: Settings, telegram: FakeTelegram, module_rasa: FakeServer, module_actions: FakeServer
) -> Settings:
    """One database for the module's gateway, with the demo account data."""
    return telegram_settings(module_settings, telegram, module_rasa, module_actions, account_provider="demo")


@pytest.fixture(scope="module")
def engine(module_engine: Engine) -> Engine:
    """The module's database, which its gateway shares (``module_engine``, tests/conftest.py)."""
    return module_engine


@pytest.fixture(scope="module")
def channel(shared_settings: Settings, engine: Engine) -> Iterator[TelegramChannel]:
    """The polling gateway's Telegram channel (running while the module's tests do)."""
    telegram_channel = TelegramChannel(shared_settings)
    with live_gateway(shared_settings, channels=[telegram_channel]):
        yield telegram_channel


@pytest.fixture(autouse=True)
def fresh(telegram: FakeTelegram, rasa: FakeServer, channel: TelegramChannel) -> None:
    telegram.reset()
    rasa.state["reply"] = asking_rasa  # type: ignore[attr-defined]


@pytest.fixture
def chat() -> int:
    """A new customer: their private chat's id, equal to their user id (as on Telegram)."""
    return next(CHATS)


def asking_rasa(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Asks for the number the way Rasa's REST channel sends domain.yml's question (its custom
    part as a message of its own); echoes everything else."""
    if body["message"] in ("mijn verbruik", "ma consommation", "my usage", "/verify_identity"):
        language = body["metadata"]["language"]
        return [
            {"recipient_id": body["sender"], "text": ASK[language]},
            {"recipient_id": body["sender"], "custom": {"ask": "phone_number"}},
        ]
    return echo_replies(body)


def ask_number(telegram: FakeTelegram, chat: int, language: str = "nl") -> Any:
    question = {"nl": "mijn verbruik", "fr": "ma consommation", "en": "my usage"}[language]
    telegram.push(telegram.text_update(chat, question, language_code=language))
    return telegram.wait_for("sendMessage", chat)[-1]


def share(telegram: FakeTelegram, chat: int, number: str, user_id: int | None, count: int) -> Any:
    """The customer shares a contact; returns the bot's ``count``-th message to them."""
    telegram.push(telegram.contact_update(chat, number, user_id=user_id))
    return telegram.wait_for("sendMessage", chat, count)[count - 1]


def verifications(engine: Engine, chat: int) -> list[Any]:
    ids = verified_identities.c
    with engine.connect() as conn:
        return conn.execute(
            select(verified_identities).where(ids.channel == "telegram", ids.sender == str(chat))
        ).all()


def transcript(engine: Engine, chat: int) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(messages.c.text, messages.c.payload)
            .select_from(messages.join(conversations))
            .where(conversations.c.channel == "telegram", conversations.c.sender == str(chat))
            .order_by(messages.c.id)
        ).all()


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_question_for_the_number_offers_the_share_button(
    telegram: FakeTelegram, chat: int, language: str
) -> None:
    question = ask_number(telegram, chat, language)
    hint = customer_text("telegram_share_number_hint", language)
    assert unescape_markdown(question.text) == f"{ASK[language]}\n\n{hint}"
    [[button]] = question.reply_keyboard()
    assert button == {"text": customer_text("telegram_share_number", language), "request_contact": True}
    assert question.args["reply_markup"]["one_time_keyboard"] is True
    assert question.buttons() == []  # no inline keyboard


def test_the_customers_own_contact_verifies_the_chat(
    telegram: FakeTelegram,
    rasa: FakeServer,
    engine: Engine,
    chat: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what the gateway logs (python-telegram-bot's DEBUG shows raw updates)
    ask_number(telegram, chat)
    answer = share(telegram, chat, JAN.lstrip("+"), user_id=chat, count=2)  # Telegram often omits "+"
    [row] = verifications(engine, chat)
    assert (row.customer_id, row.method) == ("MC1000001", "telegram_contact")
    verified = Identity(engine).verified("telegram", str(chat))
    assert verified is not None and verified.customer_id == "MC1000001"
    heard = rasa_heard(rasa)[-1]
    assert heard["message"] == CODE_PAYLOAD  # Rasa reads the outcome, never the number
    assert heard["metadata"]["button_title"] == customer_text("telegram_share_number", "nl")
    assert unescape_markdown(answer.text) == f"[nl] you said: {CODE_PAYLOAD}"
    assert answer.removes_keyboard  # the keyboard goes with the next answer
    stored = transcript(engine, chat)
    assert [m.text for m in stored][-2:] == [CODE_PAYLOAD, f"[nl] you said: {CODE_PAYLOAD}"]
    everything = repr(stored) + repr(rasa_heard(rasa)) + caplog.text
    assert "470123456" not in everything and "470 12 34 56" not in everything


@pytest.mark.parametrize("owner", ["someone else", "no Telegram account"])
def test_a_contact_of_someone_else_verifies_nothing(
    telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int, owner: str
) -> None:
    ask_number(telegram, chat)
    heard, stored = len(rasa_heard(rasa)), len(transcript(engine, chat))
    user_id = chat + 1 if owner == "someone else" else None
    answer = share(telegram, chat, JAN, user_id=user_id, count=2)
    assert unescape_markdown(answer.text) == customer_text("telegram_contact_not_own", "nl")
    [[button]] = answer.reply_keyboard()  # the customer may share their own instead
    assert button["request_contact"] is True
    assert verifications(engine, chat) == [] and Identity(engine).verified("telegram", str(chat)) is None
    assert len(rasa_heard(rasa)) == heard and len(transcript(engine, chat)) == stored


def test_a_contact_before_any_conversation_is_refused_when_it_is_not_their_own(
    telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    """What the "text only" answer said of a contact before: now the honest refusal, in the
    app's language, and still nothing stored."""
    telegram.push(telegram.contact_update(chat, JAN, user_id=None, language_code="en"))
    [answer] = telegram.wait_for("sendMessage", chat)
    assert unescape_markdown(answer.text) == customer_text("telegram_contact_not_own", "en")
    assert rasa_heard(rasa) == [] and transcript(engine, chat) == []


def test_their_own_contact_before_any_conversation_starts_the_check(
    telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    question = share(telegram, chat, JAN, user_id=chat, count=1)
    assert rasa_heard(rasa)[-1]["message"] == "/verify_identity"
    assert question.reply_keyboard()  # the button comes with the question
    assert verifications(engine, chat) == []
    answer = share(telegram, chat, JAN, user_id=chat, count=2)  # shared again: now it counts
    assert rasa_heard(rasa)[-1]["message"] == CODE_PAYLOAD and len(verifications(engine, chat)) == 1
    assert answer.removes_keyboard


def test_their_own_number_that_is_no_customers_is_said_honestly(
    telegram: FakeTelegram, rasa: FakeServer, engine: Engine, chat: int
) -> None:
    ask_number(telegram, chat, "fr")
    heard = len(rasa_heard(rasa))
    answer = share(telegram, chat, NOBODY, user_id=chat, count=2)
    assert unescape_markdown(answer.text) == customer_text("telegram_contact_not_customer", "fr")
    assert verifications(engine, chat) == [] and len(rasa_heard(rasa)) == heard


def test_an_account_system_outage_is_said_honestly(
    telegram: FakeTelegram, rasa: FakeServer, engine: Engine, channel: TelegramChannel, chat: int
) -> None:
    assert channel._contacts is not None
    working = channel._contacts.accounts
    channel._contacts.accounts = AccountService(FailingAccountProvider(), timeout_s=1.0)
    try:
        ask_number(telegram, chat, "en")
        answer = share(telegram, chat, JAN, user_id=chat, count=2)
    finally:
        channel._contacts.accounts = working
    assert unescape_markdown(answer.text) == customer_text("telegram_contact_unavailable", "en")
    assert verifications(engine, chat) == []


def test_a_typed_number_leaves_the_keyboard_until_the_next_answer(telegram: FakeTelegram, chat: int) -> None:
    ask_number(telegram, chat)
    telegram.push(telegram.text_update(chat, "0470 12 34 56"))
    answer = telegram.wait_for("sendMessage", chat, 2)[1]
    assert answer.removes_keyboard
    telegram.push(telegram.text_update(chat, "123456"))
    assert not telegram.wait_for("sendMessage", chat, 3)[2].removes_keyboard  # removed once
