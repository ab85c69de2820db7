"""The agents' workspace running while bench/handoff_latency.py measures: both sides of every
claimed chat keep typing (``POST /api/chat/typing`` and ``POST /agent/api/conversations/ID/typing``
every ``interval_s``, far more often than the pages do). The server writes at most one signal per
side every 3 s and the change feed carries it to every stream (bot/core/typing_signals.py), so the
live feed is measured with the typing indicators on, as agents and customers use it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

TOKEN_HEADER = "X-Chat-Token"


@contextmanager
def typing_everywhere(
    url: str, chats: dict[str, str], agent: httpx.Client, interval_s: float = 0.1
) -> Iterator[dict[str, int]]:
    """While the block runs, the customers (conversation -> token) and ``agent`` type in every
    chat; yields the counts: requests made, signals written (the rest were throttled)."""
    counts = {"requests": 0, "signals": 0, "errors": 0}
    stop = threading.Event()

    def keep_typing() -> None:
        with httpx.Client(base_url=url, timeout=10.0) as customers:
            while not stop.wait(interval_s):
                for cid, token in chats.items():
                    for client, path, headers in (
                        (customers, "/api/chat/typing", {TOKEN_HEADER: token}),
                        (agent, f"/agent/api/conversations/{cid}/typing", {}),
                    ):
                        response = client.post(path, json={}, headers=headers)
                        counts["requests"] += 1
                        counts["errors"] += response.status_code != 200
                        counts["signals"] += response.status_code == 200 and bool(response.json().get("sent"))

    thread = threading.Thread(target=keep_typing, name="typing load", daemon=True)
    thread.start()
    try:
        yield counts
    finally:
        stop.set()
        thread.join(timeout=10.0)
