"""Rasa tracker and lock stores configured from :mod:`bot.core.settings` (named in endpoints.yml).

This keeps one source of configuration: the same environment that points the router
at PostgreSQL points Rasa's tracker store there, and REDIS_URL switches Rasa to the
Redis lock store so several Rasa replicas can serve the same conversations safely.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.core.masking import install_log_masking
from bot.core.settings import Settings
from bot.rasa import model_swap
from bot.rasa import speedups as rasa_speedups


def sql_store_arguments(url: str) -> dict[str, Any]:
    """SQLTrackerStore keyword arguments for a SQLAlchemy URL."""
    parsed = make_url(url)
    return {
        "dialect": parsed.drivername,
        "host": parsed.host,
        "port": parsed.port,
        "db": parsed.database,
        "username": parsed.username,
        "password": parsed.password,
        "query": dict(parsed.query) or None,
    }


class SettingsTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store on ``Settings.rasa_tracker_url``.

    Reading a conversation fetches only the events' JSON column: Rasa's own query builds an
    ORM object per event, which made every reply slower as the conversation grew.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        settings: Optional[Settings] = None,
        **kwargs: Any,
    ) -> None:
        settings = settings or Settings.from_env()
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        install_log_masking()  # Rasa logs message texts at debug level: mask personal data
        model_swap.install()  # `PUT /model` (make publish) loads while the old model answers
        self._fast_reads = settings.rasa_speedups
        if settings.rasa_speedups:
            rasa_speedups.install()
        super().__init__(
            domain=domain,
            event_broker=event_broker,
            **sql_store_arguments(settings.rasa_tracker_url),
        )

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if not self._fast_reads:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        rasa_speedups.freeze_heap_once()
        return await _retrieve_events_only(self, sender_id, fetch_events_from_all_sessions)


# A lock's key outlives its last ticket by this much: long enough for any reader, short enough
# that a replica killed while holding a lock leaves nothing behind in Redis for good.
LOCK_KEY_MARGIN_S = 60


class ExpiringRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store, with keys that expire.

    Rasa deletes a conversation's lock key when its last ticket is returned, and never sets an
    expiry: a replica killed (OOM, kill -9, a lost node) between taking and returning a ticket
    leaves the key in Redis forever, one per conversation it held. Here each save gives the key
    the lifetime of its last ticket plus :data:`LOCK_KEY_MARGIN_S`. A key that expires holds
    only expired tickets, which the lock already ignores.
    """

    def save_lock(self, lock: TicketLock) -> None:
        self.red.set(self.key_prefix + lock.conversation_id, lock.dumps(), ex=lock_key_ttl(lock))


def lock_key_ttl(lock: TicketLock, now: Optional[float] = None) -> int:
    """Seconds the lock's key is kept: until its last ticket expires, plus the margin."""
    now = time.time() if now is None else now
    last = max((ticket.expires for ticket in lock.tickets), default=now)
    return max(1, math.ceil(last - now)) + LOCK_KEY_MARGIN_S


def redis_lock_store(url: str) -> RedisLockStore:
    parsed = make_url(url)
    return ExpiringRedisLockStore(
        host=parsed.host or "localhost",
        port=parsed.port or 6379,
        db=int(parsed.database or 1),
        username=parsed.username,
        password=parsed.password,
    )


class SettingsLockStore(LockStore):
    """Redis lock store when ``REDIS_URL`` is set, else the in-memory one (single replica)."""

    def __init__(self, endpoint_config: Any = None, settings: Optional[Settings] = None) -> None:
        settings = settings or Settings.from_env()
        self.inner: LockStore = (
            redis_lock_store(settings.redis_url) if settings.redis_url else InMemoryLockStore()
        )
        super().__init__()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self.inner.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.inner.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.inner.save_lock(lock)


async def _retrieve_events_only(
    store: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
) -> Optional[DialogueStateTracker]:
    with store.session_scope() as session:
        query = store._event_query(session, sender_id, fetch_events_from_all_sessions)
        rows = query.with_entities(store.SQLEvent.data).all()
    events = [json.loads(row.data) for row in rows]
    if store.domain and events:
        return DialogueStateTracker.from_dict(sender_id, events, store.domain.slots)
    return None
