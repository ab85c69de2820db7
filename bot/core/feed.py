"""Change feed for the live views (agent console, web chat push).

Writers live in several processes: the gateway stores customer and agent messages, the
action server queues escalations. One poller per gateway process reads what changed since
its last look, in three cheap queries (new messages by id, conversations by ``updated_at``,
typing signals by time: bot/core/typing_signals.py), and appends it to an in-memory log of
:class:`Event`. Every open stream reads that log, so a
change costs three queries per gateway, not a few per open stream. Writes made by this process
wake the poller at once through :meth:`notify`; other processes' writes are seen within
``interval_s``.

Late commits: PostgreSQL hands out ids before a transaction commits, so a message may become
visible after one with a higher id. Each poll reads the ids above its cursor plus the ids it
skipped in the last ``LOOKBACK`` (not yet committed, or rolled back), and conversations changed
in the last ``LOOKBACK``; what it already saw is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.core import events
from bot.core.db import conversations, messages, typing_signals

log = logging.getLogger(__name__)
SEEN_IDS = 2000
LOOKBACK = timedelta(seconds=5)


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str  # events.MESSAGE | events.OWNER
    conversation_id: str
    channel: str
    sender: str
    data: dict[str, Any]  # the message row, or {"owner": ...}


class _Bounded:
    """Remembers the last ``size`` keys (and a value per key)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        return self.items.get(key)

    def put(self, key: Any, value: Any = True) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


class ChangeFeed:
    def __init__(self, engine: Engine, interval_s: float = 0.2, capacity: int = 5000) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.log: deque[Event] = deque(maxlen=capacity)
        self.seq = 0
        self.version = 0  # moves on every appended batch and on touch()
        self._message_cursor: int | None = None
        self._updated_cursor: datetime | None = None
        self._seen_messages = _Bounded(SEEN_IDS)
        self._gaps: dict[int, float] = {}  # message id -> when it was first missed
        self._owners = _Bounded(50_000)
        self._typing_cursor: datetime | None = None
        self._typing = _Bounded(SEEN_IDS)  # (conversation, side) -> when last reported
        self._changed: asyncio.Event | None = None
        self._poke: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the poller --------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until cancelled (started by the gateway's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._changed, self._poke = asyncio.Event(), asyncio.Event()
        while True:
            try:
                fresh = await run_in_threadpool(self.poll)
                if fresh:
                    self._append(fresh)
            except Exception as exc:  # the database may blip; the feed must keep going
                log.warning("change feed poll failed: %s", exc)
            await _wait_event(self._poke, self.interval_s)
            self._poke.clear()

    def poll(self) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """What changed since the last poll, as (kind, conversation, channel, sender, data)."""
        with self.engine.connect() as conn:
            if self._message_cursor is None:  # start from now: streams read history themselves
                self._message_cursor = conn.execute(select(func.max(messages.c.id))).scalar() or 0
                self._updated_cursor = conn.execute(select(func.max(conversations.c.updated_at))).scalar()
                self._typing_cursor = conn.execute(select(func.max(typing_signals.c.at))).scalar()
            unseen = messages.c.id > self._message_cursor
            if self._gaps:  # ids skipped so far: a transaction still running, or rolled back
                unseen = or_(unseen, messages.c.id.in_(list(self._gaps)))
            new_messages = conn.execute(
                select(messages, conversations.c.channel, conversations.c.sender)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(unseen)
                .order_by(messages.c.id)
            ).all()
            query = select(
                conversations.c.id,
                conversations.c.channel,
                conversations.c.sender,
                conversations.c.owner,
                conversations.c.updated_at,
            )
            if self._updated_cursor is not None:
                query = query.where(conversations.c.updated_at > self._updated_cursor - LOOKBACK)
            updated = conn.execute(query).all()
            typing = conn.execute(self._typing_query()).all()
        return self._owner_changes(updated) + self._new_messages(new_messages) + self._typing_changes(typing)

    def _typing_query(self) -> Any:
        """Typing signals written since the last look (bot/core/typing_signals.py)."""
        query = select(typing_signals, conversations.c.channel, conversations.c.sender).join(
            conversations, conversations.c.id == typing_signals.c.conversation_id
        )
        if self._typing_cursor is not None:
            query = query.where(typing_signals.c.at > self._typing_cursor - LOOKBACK)
        return query

    def _typing_changes(self, rows: list[Any]) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        found = []
        for row in rows:
            if self._typing_cursor is None or row.at > self._typing_cursor:
                self._typing_cursor = row.at
            key = (row.conversation_id, row.side)
            if self._typing.get(key) == row.at:
                continue
            self._typing.put(key, row.at)
            data = {"side": row.side, "name": row.name, "at": row.at.isoformat()}
            found.append((events.TYPING, row.conversation_id, row.channel, row.sender, data))
        return found

    def _new_messages(self, rows: list[Any]) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        self._remember_gaps([row.id for row in rows])
        found = []
        for row in rows:
            if self._seen_messages.get(row.id):
                continue
            self._seen_messages.put(row.id)
            self._gaps.pop(row.id, None)
            self._message_cursor = max(self._message_cursor or 0, row.id)
            data = {k: v for k, v in row._mapping.items() if k not in ("channel", "sender")}
            found.append((events.MESSAGE, row.conversation_id, row.channel, row.sender, data))
        return found

    def _remember_gaps(self, ids: list[int]) -> None:
        """Ids between the cursor and the newest seen id that are not there yet are looked for
        again for ``LOOKBACK`` (a late commit on PostgreSQL), then forgotten (a rollback)."""
        now, present = monotonic(), set(ids)
        for gap in range((self._message_cursor or 0) + 1, max(ids, default=0)):
            if gap not in present:
                self._gaps.setdefault(gap, now)
        expired = [gap for gap, since in self._gaps.items() if now - since > LOOKBACK.total_seconds()]
        for gap in expired:
            del self._gaps[gap]

    def _owner_changes(self, rows: list[Any]) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        found = []
        for row in rows:
            if self._updated_cursor is None or row.updated_at > self._updated_cursor:
                self._updated_cursor = row.updated_at
            if self._owners.get(row.id) != row.owner:
                self._owners.put(row.id, row.owner)
                found.append((events.OWNER, row.id, row.channel, row.sender, {"owner": row.owner}))
        return found

    def _append(self, fresh: list[tuple[str, str, str, str, dict[str, Any]]]) -> None:
        for kind, conversation_id, channel, sender, data in fresh:
            self.seq += 1
            self.log.append(Event(self.seq, kind, conversation_id, channel, sender, data))
        self._wake()

    def _wake(self) -> None:
        self.version += 1
        if self._changed is not None:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    # -- for writers and readers ----------------------------------------------------------------

    def notify(self) -> None:
        """Something was written in this process: poll now. Safe to call from worker threads."""
        if self._loop is None or self._poke is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(self._poke.set)

    def touch(self) -> None:
        """Wake every stream without a database change (e.g. an agent's presence changed)."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake)

    def since(self, seq: int) -> tuple[list[Event], bool]:
        """Events after ``seq``, and False when some were already dropped from memory."""
        found: list[Event] = []
        for event in reversed(self.log):
            if event.seq <= seq:
                break
            found.append(event)
        complete = not self.log or self.log[0].seq <= seq + 1 or seq >= self.seq
        return found[::-1], complete

    async def wait(self, seen_version: int, timeout_s: float) -> int:
        """Return as soon as the version differs from ``seen_version`` or after the timeout."""
        if self.version != seen_version:
            return self.version
        if self._changed is None:  # not running (yet): behave like a slow poll
            await asyncio.sleep(min(timeout_s, self.interval_s))
            return self.version
        await _wait_event(self._changed, timeout_s)
        return self.version


async def _wait_event(event: asyncio.Event, timeout_s: float) -> None:
    """Wait until ``event`` is set or the timeout passes.

    Not ``asyncio.wait_for``: on Python 3.10 it can swallow a cancellation that arrives just as
    the wait ends (bpo-42130), and a poller or stream that ignores its cancellation keeps the
    gateway from shutting down.
    """
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout_s)
    finally:
        waiter.cancel()
