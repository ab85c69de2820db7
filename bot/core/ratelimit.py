"""Token buckets in the database (table ``rate_buckets``), so every gateway replica shares them,
as the console's log-in throttle (handoff/throttle.py) shares its attempts.

A bucket holds at most ``burst`` tokens and refills at ``per_minute`` tokens a minute; a request
takes one token or is refused with the seconds until one is back. One bucket per client
(``<limit>:<client key>``): a client that floods empties its own bucket only, and the others
never wait for it.

The common case is one conditional UPDATE that refills and takes at once, so two replicas (or
two threads) taking from the same bucket never both get the last token: PostgreSQL locks the
row for the UPDATE, SQLite serialises writers. Times are seconds since the epoch in a float
column, so the arithmetic is the same SQL on both engines. Buckets that have been full for a
while are deleted now and then (a missing bucket is a full one).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Float, bindparam, case, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select, Update

from bot.core.db import rate_buckets

KEY_CHARS = 96  # the column's width
CLEANUP_EVERY_S = 60.0


@dataclass(frozen=True)
class Rate:
    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0

    @property
    def refill_s(self) -> float:
        """Seconds an empty bucket takes to be full again."""
        return self.burst / self.per_second


class RateLimiter:
    """One named limit (``chat``...) on the configured database."""

    def __init__(self, engine: Engine, name: str, rate: Rate, clock: Callable[[], float] = time.time) -> None:
        if rate.per_minute <= 0 or rate.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and a burst of at least 1")
        self.engine, self.name, self.rate, self.clock = engine, name, rate, clock
        self._cleaned = 0.0
        self._lock = threading.Lock()
        self._take, self._level = _statements(rate)

    def key(self, client: str) -> str:
        return f"{self.name}:{client}"[:KEY_CHARS]

    def take(self, client: str) -> float:
        """Take a token for ``client``: 0 when the request may go ahead, else the seconds to wait."""
        key, now = self.key(client), self.clock()
        self._cleanup(now)
        params = {"key": key, "now": now}
        for _ in range(3):  # another take may create or delete the bucket in between
            with self.engine.begin() as conn:
                taken = conn.execute(self._take, params).rowcount
            if taken or self._create(key, now):
                return 0.0
            with self.engine.connect() as conn:
                left = conn.execute(self._level, params).scalar()
            if left is not None and left < 1.0:
                return (1.0 - float(left)) / self.rate.per_second
        return 1.0 / self.rate.per_second

    def _create(self, key: str, now: float) -> bool:
        """A new (full) bucket with one token taken; False when it is there already."""
        try:
            with self.engine.begin() as conn:
                values = {"bucket": key, "tokens": self.rate.burst - 1.0, "updated_s": now}
                conn.execute(insert(rate_buckets).values(**values))
        except IntegrityError:
            return False
        return True

    def _cleanup(self, now: float) -> None:
        """Now and then, delete the buckets that are full again (they cost nothing to recreate)."""
        with self._lock:
            if now - self._cleaned < CLEANUP_EVERY_S:
                return
            self._cleaned = now
        with self.engine.begin() as conn:
            stale = rate_buckets.c.updated_s < now - self.rate.refill_s
            conn.execute(delete(rate_buckets).where(rate_buckets.c.bucket.like(f"{self.name}:%"), stale))


def _statements(rate: Rate) -> tuple[Update, Select]:
    """The take (refill and take one token, if there is one) and the level of a bucket, built once
    per limit with the bucket's ``key`` and the time ``now`` as parameters: a request then builds
    no statement and no cache key."""
    t = rate_buckets.c
    now = bindparam("now", type_=Float())
    elapsed = case((t.updated_s < now, now - t.updated_s), else_=0.0)
    refill = t.tokens + elapsed * rate.per_second
    level = case((refill > rate.burst, float(rate.burst)), else_=refill)
    bucket = t.bucket == bindparam("key")
    take = update(rate_buckets).where(bucket, level >= 1.0).values(tokens=level - 1.0, updated_s=now)
    return take, select(level).where(bucket)


def retry_after_s(wait_s: float) -> int:
    """The whole seconds of a Retry-After header (at least 1)."""
    return max(1, math.ceil(wait_s))
