"""A verification code typed in the chat: checked and masked by the store, never sent to Rasa,
never in the transcript or the logs (bot/core/identity.py, bot/core/store.py, bot/router/)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core import identity as identity_module
from bot.core.db import messages
from bot.core.identity import CODE_MASK, CODE_PAYLOAD, Identity
from bot.core.language import default_detector
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.rasa.client import ActionServerClient, RasaClient
from bot.router import IncomingMessage, Router
from testkit.fakes.http_server import FakeServer


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    client = RasaClient(rasa.url, timeout_s=2)
    return Router(
        settings, ConversationStore(engine), client, default_detector(), ActionServerClient(actions.url)
    )


def test_the_code_goes_to_rasa_as_a_payload_and_is_masked_everywhere(
    router: Router,
    engine: Engine,
    rasa: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(identity_module, "new_code", lambda: "583920")
    first = router.handle(IncomingMessage("web", "cust-1", "kan je in mijn account kijken"))
    Identity(engine).issue(first.conversation_id, "web", "+32470123456", "MC1000001", 30)  # the action did
    with caplog.at_level(logging.DEBUG):
        router.handle(IncomingMessage("web", "cust-1", "583 920"))
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent == ["kan je in mijn account kijken", CODE_PAYLOAD]
    with engine.connect() as conn:
        stored = list(conn.execute(select(messages.c.text).where(messages.c.direction == "in")).scalars())
    assert stored == ["kan je in mijn account kijken", CODE_MASK]
    assert "583920" not in caplog.text and "583 920" not in caplog.text
    assert Identity(engine).verified("web", "cust-1").customer_id == "MC1000001"  # type: ignore[union-attr]


def test_a_typed_payload_cannot_pretend_to_be_a_checked_code(router: Router, rasa: FakeServer) -> None:
    router.handle(IncomingMessage("web", "cust-2", CODE_PAYLOAD))
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent != [CODE_PAYLOAD]  # passed as text, not as the intent
