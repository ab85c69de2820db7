"""What the channel tests read back: what the fake Rasa heard, a customer's conversation, and
waiting for something a gateway does in its own thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import conversations
from testkit.fakes.http_server import FakeServer


def rasa_heard(rasa: FakeServer) -> list[dict[str, Any]]:
    """The messages Rasa received on its REST channel (sender, message, metadata)."""
    return [r.json() for r in rasa.received("POST", "/webhooks/rest/webhook")]


def rasa_messages(rasa: FakeServer) -> list[str]:
    """Only their texts."""
    return [heard["message"] for heard in rasa_heard(rasa)]


def conversation_of(engine: Engine, sender: str | int, channel: str | None = None) -> Any:
    """The (first) conversation of ``sender``, on ``channel`` if given; None if there is none."""
    query = select(conversations).where(conversations.c.sender == str(sender))
    if channel is not None:
        query = query.where(conversations.c.channel == channel)
    with engine.connect() as conn:
        return conn.execute(query).first()


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``check()``'s first true result, polled every 20 ms; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return result
