"""`PUT /model` loads the new model in a worker thread, while the old one keeps answering.

Rasa 3.6 loads the model named by `PUT /model` (what `make publish` calls) inside its event loop:
until the new model is unpacked and its components built, no message is parsed. The swap itself
is atomic (``app.ctx.agent = new_agent``), but the wait is not short: in a `make test` run the
load took 18 s, longer than the router's Rasa timeout (15 s), and a customer chatting during the
publish got "a technical problem stops me from answering" (tests/editor/test_publish_e2e.py).

``install`` replaces ``rasa.server._load_agent`` (looked up when the request comes, so patching
after the app is built works) with one that runs Rasa's own loader in a worker thread, on an event
loop of its own. Nothing it creates outlives that loop: the tracker store (SQL) and lock store
(Redis or in-memory) are plain clients, Rasa gives the new agent the running lock store, and the
action endpoint opens its HTTP session per call. No event broker is configured (endpoints.yml).
"""

from __future__ import annotations

import asyncio
from typing import Any

_MARK = "_loads_off_the_loop"


def install() -> None:
    """Load models for `PUT /model` off Rasa's event loop (idempotent)."""
    import rasa.server as server

    original = server._load_agent
    if getattr(original, _MARK, False):
        return

    async def load_agent_in_a_thread(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(lambda: asyncio.run(original(*args, **kwargs)))

    setattr(load_agent_in_a_thread, _MARK, True)
    server._load_agent = load_agent_in_a_thread
