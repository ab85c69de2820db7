"""Rasa's tracker and lock stores, configured from Settings, on the real engines."""

from __future__ import annotations

import asyncio
import os
import uuid

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core.settings import Settings
from bot.rasa.stores import (
    LOCK_KEY_MARGIN_S,
    SettingsLockStore,
    SettingsTrackerStore,
    lock_key_ttl,
    sql_store_arguments,
)

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")


def test_sql_store_arguments_from_url() -> None:
    args = sql_store_arguments("postgresql://u:p@db.local:5433/rasa?options=-csearch_path%3Dx")
    assert args == {
        "dialect": "postgresql",
        "host": "db.local",
        "port": 5433,
        "db": "rasa",
        "username": "u",
        "password": "p",
        "query": {"options": "-csearch_path=x"},
    }
    assert sql_store_arguments("sqlite:////tmp/t.db")["db"] == "/tmp/t.db"


def test_tracker_store_persists_on_the_configured_database(settings: Settings) -> None:
    settings = settings.with_overrides(rasa_tracker_url=settings.database_url)
    domain = Domain.from_yaml("slots:\n  language:\n    type: text\n    mappings: [{type: custom}]\n")
    store = SettingsTrackerStore(domain=domain, settings=settings)
    sender = f"conv-{uuid.uuid4()}"
    tracker = DialogueStateTracker.from_events(sender, [UserUttered("hallo"), SlotSet("language", "nl")])
    asyncio.run(store.save(tracker))
    again = SettingsTrackerStore(domain=domain, settings=settings)
    restored = asyncio.run(again.retrieve(sender))
    assert restored is not None and restored.get_slot("language") == "nl"
    assert again.engine.url.get_backend_name() == settings.database_url.split(":")[0].split("+")[0]


def test_lock_store_uses_redis_when_configured(settings: Settings) -> None:
    store = SettingsLockStore(settings=settings.with_overrides(redis_url=REDIS_URL))
    assert isinstance(store.inner, RedisLockStore)
    conversation = f"conv-{uuid.uuid4()}"

    async def hold() -> bool:
        async with store.lock(conversation):
            keys = redis.Redis.from_url(REDIS_URL).keys(f"*{conversation}")
            return len(keys) == 1

    assert asyncio.run(hold())
    assert redis.Redis.from_url(REDIS_URL).keys(f"*{conversation}") == []


def test_lock_store_is_in_memory_by_default(settings: Settings) -> None:
    store = SettingsLockStore(settings=settings.with_overrides(redis_url=None))
    assert isinstance(store.inner, InMemoryLockStore)


def test_fast_reads_return_the_same_tracker_as_rasa(settings: Settings) -> None:
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    settings = settings.with_overrides(rasa_tracker_url=settings.database_url)
    domain = Domain.from_yaml("slots:\n  language:\n    type: text\n    mappings: [{type: custom}]\n")
    fast = SettingsTrackerStore(domain=domain, settings=settings)
    plain = SettingsTrackerStore(domain=domain, settings=settings.with_overrides(rasa_speedups=False))
    sender = f"conv-{uuid.uuid4()}"
    events = [UserUttered("old session"), SessionStarted(), ActionExecuted("action_listen")]
    events += [UserUttered(f"m{i}") for i in range(30)] + [SlotSet("language", "fr")]
    asyncio.run(fast.save(DialogueStateTracker.from_events(sender, events)))
    for method in ("retrieve", "retrieve_full_tracker"):
        a = asyncio.run(getattr(fast, method)(sender))
        b = asyncio.run(getattr(plain, method)(sender))
        assert a is not None and b is not None
        assert [e.as_dict() for e in a.events] == [e.as_dict() for e in b.events]
    assert asyncio.run(fast.retrieve("nobody")) is None


def test_a_lock_key_expires_after_its_last_ticket(settings: Settings) -> None:
    """A replica killed while it holds a conversation's lock leaves no key behind for good: the
    key lives as long as its last ticket plus the margin (Rasa's own store sets no expiry)."""
    store = SettingsLockStore(settings=settings.with_overrides(redis_url=REDIS_URL)).inner
    assert isinstance(store, RedisLockStore)
    conversation = f"conv-{uuid.uuid4()}"
    lock = store.get_or_create_lock(conversation)
    lock.issue_ticket(30)
    store.save_lock(lock)  # as a replica does before it dies holding the ticket
    ttl = redis.Redis.from_url(REDIS_URL).ttl(store.key_prefix + conversation)
    assert LOCK_KEY_MARGIN_S + 25 <= ttl <= LOCK_KEY_MARGIN_S + 31
    store.delete_lock(conversation)


def test_lock_key_ttl_counts_from_the_last_ticket() -> None:
    lock = TicketLock("c")
    assert lock_key_ttl(lock, now=100.0) == 1 + LOCK_KEY_MARGIN_S  # no ticket: kept briefly
    lock.tickets.extend([Ticket(0, 110.0), Ticket(1, 125.5)])
    assert lock_key_ttl(lock, now=100.0) == 26 + LOCK_KEY_MARGIN_S
    assert lock_key_ttl(lock, now=200.0) == 1 + LOCK_KEY_MARGIN_S  # all expired
