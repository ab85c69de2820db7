"""The buttons of the bot's last turn (bot/core/store.py ``last_turn_buttons``): what a customer
who types a button's title means. Read back from the customer's message, a few rows at a time,
whatever the length of the conversation or of the turn."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bot.core.language import LanguageChoice
from bot.core.store import LAST_TURN_ROWS, ConversationStore


def english(_current: str | None) -> LanguageChoice:
    return LanguageChoice("en", "default")


def say(store: ConversationStore, text: str) -> tuple[str, int]:
    inbound = store.record_inbound(
        channel="web", sender="turns", text=text, locale="en", choose_language=english
    )
    return inbound.conversation.id, inbound.message_id


def answer(store: ConversationStore, conversation_id: str, replies: list[dict[str, Any]]) -> None:
    store.record_outbound(conversation_id, author="bot", replies=replies, language="en")


def buttons(*titles: str) -> list[dict[str, str]]:
    return [{"title": t, "payload": f"/{t.lower()}"} for t in titles]


def test_only_the_turn_since_the_customers_previous_message_counts(engine: Engine) -> None:
    store = ConversationStore(engine)
    conv, _ = say(store, "hello")
    answer(store, conv, [{"text": "Pick one", "buttons": buttons("Old")}])
    say(store, "billing")
    answer(
        store, conv, [{"text": "About your bill"}, {"text": "Did it help?", "buttons": buttons("Yes", "No")}]
    )
    _, asked = say(store, "yes")
    assert store.last_turn_buttons(conv, asked) == buttons("Yes", "No")
    _, again = say(store, "no")  # nothing said in between: no buttons
    assert store.last_turn_buttons(conv, again) == []


def test_a_turn_longer_than_the_rows_read_back_is_read_whole(engine: Engine) -> None:
    store = ConversationStore(engine)
    conv, _ = say(store, "hello")
    first = [{"text": "Choose", "buttons": buttons("Pay", "Stop")}]
    rest = [{"text": f"notice {n}"} for n in range(LAST_TURN_ROWS)]
    answer(store, conv, first + rest)
    _, asked = say(store, "pay")
    assert store.last_turn_buttons(conv, asked) == buttons("Pay", "Stop")


def test_bot_messages_before_the_first_customer_message_are_a_turn(engine: Engine) -> None:
    store = ConversationStore(engine)
    conv, first = say(store, "hello")
    answer(store, conv, [{"text": "Choose", "buttons": buttons("A")}])
    _, asked = say(store, "a")
    assert store.last_turn_buttons(conv, first) == []
    assert store.last_turn_buttons(conv, asked) == buttons("A")
