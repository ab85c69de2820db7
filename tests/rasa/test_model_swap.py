"""`PUT /model` loads off Rasa's event loop: messages keep being answered meanwhile."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import rasa.server as server

from bot.rasa import model_swap


@pytest.fixture
def slow_loader(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Rasa's loader replaced by one that blocks its thread for 0.5 s, as unpacking a model does."""
    calls: list[dict[str, Any]] = []

    async def blocking_load(**kwargs: Any) -> str:
        time.sleep(0.5)
        calls.append(kwargs)
        return "new agent"

    monkeypatch.setattr(server, "_load_agent", blocking_load)
    return calls


def test_the_event_loop_keeps_serving_while_a_model_loads(slow_loader: list[dict[str, Any]]) -> None:
    model_swap.install()

    async def scenario() -> tuple[Any, int]:
        ticks = 0

        async def answering() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        other = asyncio.create_task(answering())
        agent = await server._load_agent(model_path="models/new.tar.gz")
        other.cancel()
        return agent, ticks

    agent, ticks = asyncio.run(scenario())
    assert agent == "new agent"
    assert slow_loader == [{"model_path": "models/new.tar.gz"}]
    assert ticks >= 10  # ~25 ticks of 20 ms fit in the 0.5 s load; none would if it blocked


def test_installing_twice_wraps_once(slow_loader: list[dict[str, Any]]) -> None:
    model_swap.install()
    wrapped = server._load_agent
    model_swap.install()
    assert server._load_agent is wrapped


def test_a_failed_load_reaches_rasa_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(**kwargs: Any) -> None:
        raise server.ErrorResponse(400, "BadRequest", "could not be loaded")

    monkeypatch.setattr(server, "_load_agent", failing)
    model_swap.install()
    with pytest.raises(server.ErrorResponse):
        asyncio.run(server._load_agent(model_path="missing.tar.gz"))
