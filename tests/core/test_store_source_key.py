"""The idempotent store of a customer message (bot/core/store.py): a message with a key at its
source (a Telegram chat and message id, a Slack channel and ts, a web chat request) is stored once,
however often and however concurrently its update is tried; every try gets the same row. On
SQLite, and on PostgreSQL when DATABASE_URL says so (tests/conftest.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import messages
from bot.core.language import LanguageChoice
from bot.core.store import ConversationStore, Inbound

TRIES = 6


def english(_current: str | None) -> LanguageChoice:
    return LanguageChoice("en", "default")


def record(store: ConversationStore, text: str, key: str | None, sender: str = "c1") -> Inbound:
    return store.record_inbound(
        channel="telegram", sender=sender, text=text, locale="en", choose_language=english, source_key=key
    )


def customer_rows(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(messages.c.text, messages.c.source_key)
            .where(messages.c.direction == "in")
            .order_by(messages.c.id)
        )
        return [tuple(row) for row in found]


def test_a_message_tried_again_is_found_not_stored_twice(engine: Engine) -> None:
    store = ConversationStore(engine)
    first = record(store, "where is my invoice", "telegram:1:10")
    again = record(store, "where is my invoice", "telegram:1:10")
    assert first.earlier_status is None and again.earlier_status == "received"
    assert again.message_id == first.message_id
    assert again.conversation.id == first.conversation.id and not again.answered_before
    other = record(store, "where is my invoice", "telegram:1:11")  # the same words, a new message
    unkeyed = [record(store, "hello", None) for _ in range(2)]  # no key: stored each time, as before
    assert other.earlier_status is None and unkeyed[0].message_id != unkeyed[1].message_id
    assert customer_rows(engine) == [
        ("where is my invoice", "telegram:1:10"),
        ("where is my invoice", "telegram:1:11"),
        ("hello", None),
        ("hello", None),
    ]


def test_a_message_whose_answer_was_stored_is_found_with_its_replies(engine: Engine) -> None:
    store = ConversationStore(engine)
    first = record(store, "menu", "slack:T1:D1:1.0001")
    replies = [{"text": "Choose:", "buttons": [{"title": "Pay", "payload": "/pay"}]}, {"text": "Or ask"}]
    store.record_outbound(
        first.conversation.id,
        author="bot",
        replies=replies,
        language="en",
        answered_message_id=first.message_id,
    )
    record(store, "next one", "slack:T1:D1:1.0002")  # the replies end where the next message starts
    store.record_outbound(first.conversation.id, author="bot", replies=[{"text": "later"}], language="en")
    found = store.find_inbound("slack:T1:D1:1.0001")
    assert found is not None and found.answered_before and found.message_id == first.message_id
    assert store.replies_to(found.message_id) == replies
    assert store.find_inbound("slack:T1:D1:9.9999") is None


def test_concurrent_tries_of_one_message_store_it_once(engine: Engine) -> None:
    """Several replicas (threads here, each with its own connection) store the same update at the
    same moment, in a conversation that does not exist yet: one row, and all get it."""
    store = ConversationStore(engine)
    start = threading.Barrier(TRIES)

    def attempt(_: int) -> Inbound:
        start.wait()
        return record(store, "my sim does not work", "web:3f2a", sender="c-race")

    with ThreadPoolExecutor(TRIES) as pool:
        results = list(pool.map(attempt, range(TRIES)))
    assert len({r.message_id for r in results}) == 1
    assert len({r.conversation.id for r in results}) == 1
    assert sum(r.earlier_status is None for r in results) == 1
    assert customer_rows(engine) == [("my sim does not work", "web:3f2a")]


def test_a_caller_that_has_just_looked_the_key_up_still_gets_a_message_stored_meanwhile(
    engine: Engine,
) -> None:
    """``key_unseen``: the first try does not look the key up again; when another try stored the
    message in between, the key's unique index fails the insert and the next try finds it."""
    store = ConversationStore(engine)
    assert store.find_inbound("web:meanwhile") is None
    first = record(store, "my sim does not work", "web:meanwhile")  # another replica, in between
    again = store.record_inbound(
        channel="telegram",
        sender="c1",
        text="my sim does not work",
        locale="en",
        choose_language=english,
        source_key="web:meanwhile",
        key_unseen=True,
    )
    assert again.earlier_status == "received" and again.message_id == first.message_id
    assert customer_rows(engine) == [("my sim does not work", "web:meanwhile")]
