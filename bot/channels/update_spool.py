"""Telegram and Slack updates while the database is away (a PostgreSQL restart, a fail-over): kept
in the gateway's spool file (bot/channels/chat_spool.py, rows tagged with the channel), answered
200, and handled through the channel's normal path once the database is back.

Two moments an update is kept:

* **At the webhook**, after the request was verified exactly as always (Telegram's secret token;
  Slack's signature and timestamp): when the database does not answer (:meth:`UpdateSpool.
  database_answers`), the update is written to the spool (synchronous, fsync'd) *before* the 200
  (:meth:`UpdateSpool.acknowledge`); a spool that is full or cannot be written gives 503
  ``database_unavailable`` with ``Retry-After``, and the platform retries. Nothing unverified is
  ever kept.
* **While it is handled**: the database may go away while an update acknowledged a moment before
  (or fetched by long polling) is being handled. :meth:`UpdateSpool.guarded` keeps it then, with
  the update ids its handling had already recorded as handled (``owned``, see below).

Either way the customer gets the gateway's apology in the language the update itself gives (the
Telegram app's language, the Slack user's locale), as the web chat does; nothing asks the database.

**Replay.** Every :data:`REPLAY_EVERY_S`, while the database answers, each gateway takes its
channel's rows oldest first (a row is claimed, so two processes sharing the file never take the
same one; a claim of a process that died is taken again after ``CLAIM_LEASE_S``) and hands each
to the channel's normal handling under a :class:`~bot.channels.common.Handling` marked ``replay``.
Cut short by the database again, the row is given back (with the ids recorded meanwhile) and the
loop waits; otherwise it is deleted.

**Exactly once.** Repeats are told apart by the update log in the database
(:class:`~bot.channels.common.UpdateLog`, Telegram's ``update_id``, Slack's ``event_id`` and click),
as on the normal path: an update spooled twice (a duplicate, a Slack retry, on one replica or on
several, each with a spool of its own) is handled by whichever replay records it first, and a
repeat arriving after the replay is refused as always. An update whose handling was cut short
after it recorded its id carries that id as ``owned``: its replay is the same handling, not a
repeat, and every other copy is refused by the id already recorded. The customer's message that
such a handling had already stored is not stored again: it carries its key at its source (the
Telegram chat and message id, the Slack channel and ts or click), unique in the database, and the
replay goes on from the stored message (bot/router/); Rasa is asked again only when no answer to
it had been stored. A gateway killed between the end of a replay and the deletion of its row
replays it once more after the lease: its message and answer are found, not stored again, but
the answer may reach the customer a second time (at least once for that delivery). The other
window left: the database going away after Rasa answered and before the answer was stored; the
replay asks Rasa again (Rasa's tracker sees the message twice, the transcript once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi.responses import Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.channels.chat_spool import SPOOL_FILE, Spool
from bot.channels.common import HANDLING, Handling
from bot.core.db import database_away, ping
from bot.web.http import error_response

log = logging.getLogger(__name__)

REPLAY_EVERY_S = 2.0
STOP_TIMEOUT_S = 10.0
RETRY_AFTER_S = 30  # a full or broken spool: the platform retries later
Record = dict[str, Any]
Apology = Callable[[Record], Awaitable[None]]


class RecentKeys:
    """The last ``size`` keys seen, to do something once per key in this process (an apology)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size, self._keys = size, OrderedDict[str, None]()

    def first(self, key: str) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class UpdateSpool:
    """One channel's spooled updates: keep them (webhook, guard), replay them (a loop)."""

    def __init__(self, var_dir: Path, channel: str, engine: Engine, apologise: Apology | None = None) -> None:
        self.rows = Spool(var_dir / SPOOL_FILE, channel)
        self.channel, self.engine, self.apologise = channel, engine, apologise
        self._background: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    # -- keeping ---------------------------------------------------------------------------

    async def database_answers(self) -> bool:
        try:
            await run_in_threadpool(ping, self.engine)
        except Exception as exc:  # whatever the reason, nothing could be stored now
            log.debug("database check of %s failed: %s", self.channel, exc)
            return False
        return True

    async def keep(self, record: Record, owned: Iterable[str] = ()) -> bool:
        """Write ``record`` to the spool (False: full or not writable); the apology follows in
        the background, so that the platform's acknowledgement does not wait for it."""
        try:
            kept = await run_in_threadpool(self.rows.put, {**record, "owned": sorted(owned)})
        except sqlite3.Error:
            log.exception("the %s spool cannot be written", self.channel)
            kept = False
        if kept and self.apologise is not None:
            self._in_background(self.apologise(record))
        return kept

    async def acknowledge(self, record: Record) -> Response:
        """The webhook's answer while the database is away: 200 once kept, else 503."""
        if await self.keep(record):
            log.warning("%s update kept in the spool: the database is away", self.channel)
            return Response(status_code=200)
        message = "the database is away and the spool is full; try again later"
        return error_response(503, "database_unavailable", message, {"Retry-After": str(RETRY_AFTER_S)})

    async def guarded(self, record: Record, work: Awaitable[None]) -> None:
        """Run the normal handling of one update (``work``). If the database goes away meanwhile,
        the update is kept (a replay's: its row is given back by :meth:`replay_once`)."""
        current = HANDLING.get()
        handling = current if current is not None and current.replay else Handling()
        token = HANDLING.set(handling) if handling is not current else None
        try:
            await work
        except Exception as exc:
            if not database_away(exc):
                raise
            if handling.replay:
                handling.away = True
            elif not await self.keep(record, handling.claims):
                log.error("a %s update was lost: the database and the spool are away", self.channel)
            else:
                log.warning("%s update kept in the spool: the database went away", self.channel)
        finally:
            if token is not None:
                HANDLING.reset(token)

    def _in_background(self, coroutine: Awaitable[None]) -> None:
        async def quietly() -> None:
            try:
                await coroutine
            except Exception as exc:
                log.warning("the %s apology could not be sent: %s", self.channel, exc)

        task = asyncio.ensure_future(quietly())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- replaying -------------------------------------------------------------------------

    async def replay_once(self, replay: Callable[[Record], Awaitable[None]]) -> int:
        """Hand the rows spooled so far to ``replay`` (the channel's normal handling), oldest
        first, until they are done or the database is away again; returns how many were done."""
        up_to = await run_in_threadpool(self.rows.last_id)
        done = 0
        while not self._stop.is_set() and (row := await run_in_threadpool(self.rows.take, up_to)):
            if done == 0 and not await self.database_answers():
                await run_in_threadpool(self.rows.give_back, row.id)
                return done
            owned = frozenset(row.body.get("owned") or ())
            handling = Handling(owned=owned, replay=True)
            token = HANDLING.set(handling)
            try:
                await replay(row.body)
            except Exception:
                log.exception("a spooled %s update could not be handled; dropped", self.channel)
            finally:
                HANDLING.reset(token)
            if handling.away:
                kept = {**row.body, "owned": sorted(owned | set(handling.claims))}
                await run_in_threadpool(self.rows.give_back, row.id, kept)
                return done
            await run_in_threadpool(self.rows.done, row.id)
            done += 1
        return done

    def start(self, replay: Callable[[Record], Awaitable[None]]) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._replay_loop(replay), name=f"{self.channel}-spool")

    async def stop(self) -> None:
        """Let the replay under way finish (its database work runs in a thread), then stop."""
        self._stop.set()
        tasks = {t for t in [self._task, *self._background] if t is not None}
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _replay_loop(self, replay: Callable[[Record], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            try:
                done = await self.replay_once(replay)
                if done:
                    log.warning(
                        "handled %d %s update(s) spooled while the database was away", done, self.channel
                    )
            except Exception:  # the spool file itself: try again later
                log.exception("replaying the %s spool failed", self.channel)
            waiter = asyncio.ensure_future(self._stop.wait())  # not wait_for: bpo-42130 (bot/core/feed.py)
            try:
                await asyncio.wait({waiter}, timeout=REPLAY_EVERY_S)
            finally:
                waiter.cancel()
