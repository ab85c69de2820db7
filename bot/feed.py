"""Change notification for the live views (agent console, web chat push).

Writers live in several processes: the gateway stores customer and agent messages, the
action server queues escalations. One poller per gateway process reads a cheap signature of
the database (the newest message id and the newest ownership change) and wakes every waiting
stream when it moves; writes made by this process wake them at once through :meth:`notify`.
Each stream then reads only what it shows, so N open consoles cost one poll, not N.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.db import conversations, messages

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, engine: Engine, interval_s: float = 0.2) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.version = 0
        self._signature: Any = None
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def signature(self) -> tuple[Any, Any]:
        with self.engine.connect() as conn:
            return conn.execute(
                select(
                    select(func.max(messages.c.id)).scalar_subquery(),
                    select(func.max(conversations.c.updated_at)).scalar_subquery(),
                )
            ).one()

    async def run(self) -> None:
        """Poll until cancelled (started by the gateway's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        while True:
            try:
                current = await run_in_threadpool(self.signature)
                if current != self._signature:
                    self._signature = current
                    self._bump()
            except Exception as exc:  # the database may blip; the feed must keep going
                log.warning("change feed poll failed: %s", exc)
            await asyncio.sleep(self.interval_s)

    def _bump(self) -> None:
        self.version += 1
        if self._event is not None:
            event, self._event = self._event, asyncio.Event()
            event.set()

    def notify(self) -> None:
        """Something changed in this process; safe to call from worker threads."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(self._bump)

    async def wait(self, seen_version: int, timeout_s: float) -> int:
        """Return as soon as the version differs from ``seen_version`` or after the timeout."""
        if self.version != seen_version:
            return self.version
        if self._event is None:  # not running (yet): behave like a slow poll
            await asyncio.sleep(min(timeout_s, self.interval_s))
            return self.version
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
        return self.version
