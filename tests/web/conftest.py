"""Fixtures of the end-to-end tests: a customer of their own talking to the pass's stack."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.run import Stack


@pytest.fixture
def chat(stack: Stack) -> Iterator[Callable[..., dict[str, Any]]]:
    """Sends a message as a new customer over POST /api/chat and returns the gateway's reply."""
    client = httpx.Client(base_url=stack.settings.gateway_url, timeout=30)
    sender = f"e2e-{uuid.uuid4().hex[:8]}"

    def say(text: str, **extra: str) -> dict[str, Any]:
        response = client.post("/api/chat", json={"sender": sender, "text": text, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    yield say
    client.close()
