"""The router with an update tried again (a platform's retry, the spool's replay after the database
came back): a message with a key at its source is stored once; a try cut short before its answer
was stored asks Rasa again, a try cut short after it hands the stored answer to the channel
without asking Rasa twice. The database "going away" is one failing store call here; the
channels' tests cut a real PostgreSQL connection (tests/channels/test_webhooks_database_away.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.core.db import OWNER_CLOSED, conversations, csat, messages, utcnow
from bot.core.settings import Settings
from bot.core.texts import text as gateway_text
from bot.router import IncomingMessage, Router
from testkit.fakes.http_server import FakeServer
from tests.helpers.channels import rasa_messages
from tests.helpers.router import make_router

AWAY = OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
MENU = [{"title": "Pay my bill", "payload": "/pay_bill"}]


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    return make_router(settings, engine, rasa, actions)


def transcript(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.direction, messages.c.text, messages.c.status).order_by(messages.c.id)
        )
        return [tuple(row) for row in rows]


def message(text: str, key: str | None) -> IncomingMessage:
    return IncomingMessage("telegram", "4711", text, "en", source_key=key)


def test_an_update_tried_again_after_it_was_answered_gets_the_stored_answer(
    router: Router,
    engine: Engine,
    rasa: FakeServer,
) -> None:
    rasa.state["reply"] = lambda body: [{"recipient_id": body["sender"], "text": "Choose:", "buttons": MENU}]
    first = router.handle(message("my bill please", "telegram:4711:1"))
    again = router.handle(message("my bill please", "telegram:4711:1"))
    assert again.replies == first.replies == [{"text": "Choose:", "buttons": MENU}]
    assert again.conversation_id == first.conversation_id
    assert rasa_messages(rasa) == ["my bill please"]  # asked once
    assert transcript(engine) == [("in", "my bill please", "answered"), ("out", "Choose:", "sent")]
    router.handle(message("my bill please", "telegram:4711:2"))  # the same words, a new message
    assert rasa_messages(rasa) == ["my bill please", "my bill please"] and len(transcript(engine)) == 4


def test_an_update_cut_short_before_its_answer_was_stored_is_stored_once_and_answered(
    router: Router,
    engine: Engine,
    rasa: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_answer = router.store.record_outbound

    def database_away(*args: Any, **kwargs: Any) -> str:
        monkeypatch.setattr(router.store, "record_outbound", store_answer)  # back for the next try
        raise AWAY

    monkeypatch.setattr(router.store, "record_outbound", database_away)
    with pytest.raises(OperationalError):
        router.handle(message("where is my invoice", "telegram:4711:5"))
    assert transcript(engine) == [("in", "where is my invoice", "received")]
    result = router.handle(message("where is my invoice", "telegram:4711:5"))
    assert result.replies == [{"text": "[en] you said: where is my invoice"}]
    # Rasa heard it twice (its answer was lost with the database); the transcript has it once.
    assert rasa_messages(rasa) == ["where is my invoice", "where is my invoice"]
    assert transcript(engine) == [
        ("in", "where is my invoice", "answered"),
        ("out", "[en] you said: where is my invoice", "sent"),
    ]


def test_an_opening_message_tried_again_is_stored_and_welcomed_once(
    router: Router,
    engine: Engine,
    rasa: FakeServer,
) -> None:
    first = router.start(message("/start", "telegram:4711:9"))
    again = router.start(message("/start", "telegram:4711:9"))
    assert again.replies == first.replies and first.replies
    assert [row[0] for row in transcript(engine)] == ["in"] + ["out"] * len(first.replies)
    assert rasa_messages(rasa) == []


def test_a_rating_tried_again_is_stored_once_and_starts_no_new_chat(
    router: Router,
    engine: Engine,
    rasa: FakeServer,
) -> None:
    chat = router.handle(message("thanks, bye", "telegram:4711:20"))
    with engine.begin() as conn:
        conn.execute(update(conversations).values(owner=OWNER_CLOSED, closed_at=utcnow()))
        conn.execute(
            insert(csat).values(conversation_id=chat.conversation_id, language="en", asked_at=utcnow())
        )
    first = router.handle(message("4", "telegram:4711:21"))
    again = router.handle(message("4", "telegram:4711:21"))
    thanks = [{"text": gateway_text("csat_thanks", "en")}]
    assert first.replies == again.replies == thanks
    assert again.conversation_id == chat.conversation_id
    with engine.connect() as conn:
        assert conn.execute(select(conversations.c.id)).scalars().all() == [chat.conversation_id]
        assert conn.execute(select(csat.c.score)).scalars().all() == [4]
    assert [text for _, text, _ in transcript(engine)].count("4") == 1
