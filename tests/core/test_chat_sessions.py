"""Web chat conversation tokens (bot/core/chat_sessions.py) and the database token buckets of the
rate limits (bot/core/ratelimit.py), on SQLite and (DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.core.chat_sessions import ChatSessions, token_hash, well_shaped
from bot.core.db import chat_sessions, rate_buckets, utcnow
from bot.core.ratelimit import Rate, RateLimiter, retry_after_s
from testkit.databases import insert_conversation

# --- conversation tokens ---------------------------------------------------------------------


def test_a_new_sender_is_claimed_once_and_only_the_tokens_hash_is_kept(engine: Engine) -> None:
    sessions = ChatSessions(engine)
    session = sessions.claim("web-new")
    assert session is not None and session.sender == "web-new" and session.token
    assert len(session.token) == 43 and well_shaped(session.token)
    assert sessions.claim("web-new") is None  # taken: nobody else gets a token for it
    with engine.connect() as conn:
        [row] = conn.execute(select(chat_sessions)).all()
    assert row.token_hash == token_hash(session.token) and session.token not in str(tuple(row))
    found = sessions.find(session.token)
    assert found is not None and (found.sender, found.token) == ("web-new", None)


def test_a_sender_with_a_conversation_but_no_token_is_not_claimed(engine: Engine) -> None:
    """A widget of before the tokens, or someone who read a sender id in a URL: no proof."""
    with engine.begin() as conn:
        legacy = insert_conversation(conn, channel="web")  # its sender is its id
    sessions = ChatSessions(engine)
    assert sessions.claim(legacy) is None
    fresh = sessions.open()
    assert fresh.sender.startswith("web-") and fresh.sender != legacy and fresh.token
    assert sessions.find(fresh.token).sender == fresh.sender  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "token",
    [None, "", "short", "x" * 129, "a" * 42 + "\x00", "a" * 42 + "\n", "é" * 43, "a b" * 15, "/" * 43],
)
def test_missing_malformed_and_unknown_tokens_open_nothing(engine: Engine, token: str | None) -> None:
    sessions = ChatSessions(engine)
    sessions.claim("web-x")
    assert sessions.find(token) is None
    assert sessions.find("A" * 43) is None  # well shaped, never issued


def test_two_claims_of_one_sender_at_once_give_one_token(engine: Engine) -> None:
    sessions = ChatSessions(engine)
    start = threading.Barrier(6)

    def claim(_: int) -> object:
        start.wait()
        return sessions.claim("web-race")

    with ThreadPoolExecutor(6) as pool:
        won = [s for s in pool.map(claim, range(6)) if s is not None]
    assert len(won) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(chat_sessions)).scalar_one() == 1


def test_forgetting_ends_a_session_and_unused_ones_expire(engine: Engine) -> None:
    sessions = ChatSessions(engine)
    kept, erased, old = (sessions.claim(f"web-{n}") for n in ("kept", "erased", "old"))
    assert kept and erased and old and erased.token and old.token and kept.token
    assert sessions.forget("web-erased") == 1 and sessions.find(erased.token) is None
    with engine.begin() as conn:
        stale = utcnow() - timedelta(days=400)
        conn.execute(update(chat_sessions).where(chat_sessions.c.sender == "web-old").values(used_at=stale))
    assert sessions.forget_unused(utcnow() - timedelta(days=365)) == 1
    assert sessions.find(old.token) is None and sessions.find(kept.token) is not None


def test_using_a_token_refreshes_its_last_use_at_most_hourly(engine: Engine) -> None:
    sessions = ChatSessions(engine)
    session = sessions.claim("web-used")
    assert session is not None and session.token
    long_ago = utcnow() - timedelta(days=3)
    with engine.begin() as conn:
        conn.execute(update(chat_sessions).values(used_at=long_ago))
    sessions.find(session.token)
    with engine.connect() as conn:
        used = conn.execute(select(chat_sessions.c.used_at)).scalar_one()
    assert used > utcnow() - timedelta(minutes=1)


# --- token buckets ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate(engine: Engine) -> None:
    clock = Clock()
    limiter = RateLimiter(engine, "chat", Rate(per_minute=6, burst=3), clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(10.0) and retry_after_s(wait) == 10  # one token per 10 s
    clock.now += 4
    assert limiter.take("a") == pytest.approx(6.0)  # refused attempts take nothing
    clock.now += 6
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    clock.now += 3600
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # full again: at most the burst


def test_clients_and_limits_have_buckets_of_their_own(engine: Engine) -> None:
    clock = Clock()
    chat = RateLimiter(engine, "chat", Rate(per_minute=1, burst=2), clock)
    other = RateLimiter(engine, "other", Rate(per_minute=1, burst=2), clock)
    assert chat.take("flood") == 0 and chat.take("flood") == 0 and chat.take("flood") > 0
    assert chat.take("calm") == 0  # the flood emptied its own bucket only
    assert other.take("flood") == 0


def test_replicas_share_a_bucket_and_never_both_get_the_last_token(engine: Engine) -> None:
    """Two limiters on one database stand for two gateway replicas; 40 takes at once from 8
    threads against a burst of 10 (no refill to speak of) get exactly 10 tokens."""
    rate = Rate(per_minute=0.001, burst=10)
    replicas = [RateLimiter(engine, "chat", rate), RateLimiter(engine, "chat", rate)]
    start = threading.Barrier(8)

    def flood(n: int) -> int:
        start.wait()
        return sum(replicas[n % 2].take("1.2.3.4") == 0 for _ in range(5))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(flood, range(8))) == 10


def test_full_buckets_are_cleaned_up_now_and_then(engine: Engine) -> None:
    clock = Clock()
    limiter = RateLimiter(engine, "chat", Rate(per_minute=60, burst=5), clock)
    for client in ("a", "b", "c"):
        limiter.take(client)
    clock.now += 3600  # all full again, and the cleanup is due
    limiter.take("d")
    with engine.connect() as conn:
        assert list(conn.execute(select(rate_buckets.c.bucket)).scalars()) == ["chat:d"]


def test_a_rate_needs_a_positive_rate_and_burst(engine: Engine) -> None:
    for rate in (Rate(0, 5), Rate(10, 0)):
        with pytest.raises(ValueError):
            RateLimiter(engine, "chat", rate)
