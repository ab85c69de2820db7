"""Per-client rate limits on POST /api/chat (bot/channels/chat_access.py, bot/core/ratelimit.py):
a client over its burst gets 429 with Retry-After in the documented error shape and stores
nothing; a flooding client does not slow the others down; X-Forwarded-For counts only from a
trusted proxy; replicas share the buckets. On SQLite and (DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import messages
from bot.core.settings import Settings
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer

PROXY = "10.0.0.5"
BURST = 5
# One token every 10 s after the burst: slow enough that a loaded machine (the PostgreSQL pass
# beside the publish loop in `make test`) never refills a token while a test sends its burst; at
# one a second the sixth message of the burst test was once answered instead of refused.
TOKEN_S = 10.0


@pytest.fixture
def limited(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    """A burst of 5, then one message every 10 s, per client; the proxy at 10.0.0.0/24 is trusted."""
    return settings.with_overrides(
        rasa_url=rasa.url,
        action_server_url=actions.url,
        rasa_timeout_s=2.0,
        chat_rate_per_minute=60.0 / TOKEN_S,
        chat_rate_burst=BURST,
        trusted_proxies=("10.0.0.0/24",),
    )


@pytest.fixture
def app(limited: Settings) -> Iterator[FastAPI]:
    app = create_app(limited, channels=[])
    with TestClient(app):  # runs the lifespan: the services every client below uses
        yield app


def client_at(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000))


def say(client: TestClient, sender: str, text: str = "hallo", **headers: str) -> httpx.Response:
    return client.post("/api/chat", json={"sender": sender, "text": text}, headers=headers)


def stored_messages(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar_one()


def test_over_its_burst_a_client_gets_429_with_retry_after_and_nothing_is_stored(
    app: FastAPI, engine: Engine
) -> None:
    client = client_at(app, "198.51.100.20")
    assert [say(client, f"web-burst-{n}").status_code for n in range(BURST)] == [200] * BURST
    before = stored_messages(engine)
    refused = say(client, "web-burst-x")
    assert refused.status_code == 429
    assert refused.json() == {
        "error": {"code": "rate_limited", "message": refused.json()["error"]["message"]}
    }
    assert 1 <= int(refused.headers["retry-after"]) <= TOKEN_S  # at most one token's time
    assert stored_messages(engine) == before
    malformed = client.post("/api/chat", content=b"{not json")  # refused before it is even read
    assert malformed.status_code == 429


def test_a_flooding_client_does_not_starve_the_others(app: FastAPI, engine: Engine) -> None:
    """Eight threads of one client send 120 messages at once; meanwhile three other customers
    chat at a human pace and every one of their messages is answered."""
    flood, calm = client_at(app, "203.0.113.66"), [client_at(app, f"192.0.2.{n}") for n in (1, 2, 3)]
    start = threading.Barrier(9)

    def flooding(n: int) -> list[int]:
        start.wait()
        return [say(flood, f"web-flood-{n}-{i}").status_code for i in range(15)]

    def chatting() -> list[int]:
        start.wait()
        return [
            say(c, f"web-calm-{i}-{n}", "hoe betaal ik").status_code
            for n in range(3)
            for i, c in enumerate(calm)
        ]

    started = time.monotonic()
    with ThreadPoolExecutor(9) as pool:
        floods = [pool.submit(flooding, n) for n in range(8)]
        calm_codes = pool.submit(chatting).result(timeout=120)
        flood_codes = [code for f in floods for code in f.result(timeout=120)]
    took_s = time.monotonic() - started
    assert calm_codes == [200] * 9
    assert set(flood_codes) == {200, 429}
    assert flood_codes.count(200) <= BURST + took_s / TOKEN_S + 1  # the burst, and the tokens since
    assert stored_messages(engine) == 2 * (9 + flood_codes.count(200))  # each 200: message + reply


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(app: FastAPI) -> None:
    proxy = client_at(app, PROXY)
    for n in range(BURST):
        assert say(proxy, f"web-fwd-a{n}", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert say(proxy, "web-fwd-a", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    # behind the proxy another customer has a bucket of their own; a forged left part changes nothing
    assert say(proxy, "web-fwd-b", **{"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    forged = {"X-Forwarded-For": "7.7.7.7, 198.51.100.1"}
    assert say(proxy, "web-fwd-c", **forged).status_code == 429
    # a client that is not a proxy cannot pick its address: every message counts against its own
    direct = client_at(app, "198.51.100.9")
    codes = [
        say(direct, f"web-spoof-{n}", **{"X-Forwarded-For": f"10.9.9.{n}"}).status_code for n in range(8)
    ]
    assert codes.count(429) >= 2


def test_replicas_share_the_buckets(limited: Settings, engine: Engine) -> None:
    first, second = create_app(limited, channels=[]), create_app(limited, channels=[])
    with TestClient(first), TestClient(second):
        codes = [
            say(client_at(replica, "198.51.100.77"), f"web-replica-{n}").status_code
            for n, replica in enumerate([first, second] * 4)
        ]
    assert codes[:BURST] == [200] * BURST and codes[BURST:] == [429] * (8 - BURST)


def test_no_limit_when_the_rate_is_zero(limited: Settings) -> None:
    unlimited = limited.with_overrides(chat_rate_per_minute=0.0)
    with TestClient(create_app(unlimited, channels=[]), client=("198.51.100.3", 1)) as client:
        assert {say(client, f"web-free-{n}").status_code for n in range(BURST * 3)} == {200}
