"""The gateway's HTTP toolkit (bot/web/http.py): JSON bodies and errors, and the one stream loop
behind the web chat's and the console's server-sent events (keep-alive, end, disconnect)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bot.core.feed import Event
from bot.web.http import (
    KEEPALIVE,
    MAX_ROW_ID,
    ApiError,
    client_address,
    event_id,
    feed_stream,
    install_error_handler,
    json_object,
    sse,
)


def body_app(**options: Any) -> TestClient:
    app = FastAPI()
    install_error_handler(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return await json_object(request, 32, **options)

    return TestClient(app)


@pytest.mark.parametrize(
    "content, status, code",
    [
        (b'{"a": 1}', 200, None),
        (b"not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b'{"a": "' + b"x" * 40 + b'"}', 413, "too_large"),
    ],
)
def test_json_bodies_and_their_errors(content: bytes, status: int, code: str | None) -> None:
    response = body_app().post("/echo", content=content)
    assert response.status_code == status
    if code is not None:
        assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]


def test_a_json_only_endpoint_wants_the_content_type_and_reads_nothing_as_an_object() -> None:
    client = body_app(require_json_type=True, empty_is_object=True)
    refused = client.post("/echo", content=b"{}", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "json_required"
    empty = client.post("/echo", content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 200 and empty.json() == {}


def test_an_api_error_is_answered_in_the_documented_shape() -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.get("/nope")
    async def nope() -> None:
        raise ApiError(409, "taken", "someone else has it")

    response = TestClient(app).get("/nope")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "taken", "message": "someone else has it"}}


def test_sse_formats_one_event() -> None:
    assert sse("owner", {"owner": "agent"}) == 'event: owner\ndata: {"owner": "agent"}\n\n'
    assert sse("message", {"id": 7}, 7) == 'id: 7\nevent: message\ndata: {"id": 7}\n\n'


class FakeFeed:
    """A change feed whose rounds are scripted: each wait moves it (with events) or times out."""

    def __init__(self, rounds: list[list[Event] | None]) -> None:
        self.rounds, self.seq, self.version, self.pending = rounds, 0, 0, []

    async def wait(self, version: int, timeout_s: float) -> int:
        await asyncio.sleep(0)
        changes = self.rounds.pop(0) if self.rounds else None
        if changes is not None:
            self.version += 1
            self.pending = changes
        return self.version

    def since(self, seq: int) -> tuple[list[Event], bool]:
        changes, self.pending = self.pending, []
        self.seq += len(changes)
        return changes, True


class FakeRequest:
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    async def is_disconnected(self) -> bool:
        self.rounds -= 1
        return self.rounds < 0


class CountingView:
    """Sends a chunk per change, and ends on an event of kind "end"."""

    async def start(self) -> list[str]:
        return ["first\n\n"]

    async def update(self, changes: list[Event], complete: bool, moved: bool) -> list[str] | None:
        if any(c.kind == "end" for c in changes):
            return None
        return [f"{c.kind}\n\n" for c in changes]


def event(kind: str) -> Event:
    return Event(0, kind, "c", "web", "s", {})


def collect(feed: FakeFeed, request: FakeRequest, **options: Any) -> list[str]:
    async def run() -> list[str]:
        return [chunk async for chunk in feed_stream(request, feed, CountingView(), **options)]  # type: ignore[arg-type]

    return asyncio.run(run())


def test_the_stream_keeps_an_idle_connection_alive_and_stops_when_the_client_is_gone() -> None:
    feed = FakeFeed([None, [event("message")], [], None])
    chunks = collect(feed, FakeRequest(rounds=5), keepalive_s=60)
    # a timed-out wait says so; a wake with nothing for this view does not (nothing was idle long)
    assert chunks == ["retry: 2000\n\n", "first\n\n", KEEPALIVE, "message\n\n", KEEPALIVE]


def test_a_busy_feed_still_keeps_a_quiet_stream_alive() -> None:
    feed = FakeFeed([[], [], []])
    chunks = collect(feed, FakeRequest(rounds=4), keepalive_s=0)
    assert chunks[2:] == [KEEPALIVE, KEEPALIVE, KEEPALIVE]


def test_a_view_that_ends_gets_the_farewell() -> None:
    feed = FakeFeed([[event("message")], [event("end")]])
    chunks = collect(feed, FakeRequest(rounds=10), farewell="event: logout\ndata: {}\n\n")
    assert chunks[-2:] == ["message\n\n", "event: logout\ndata: {}\n\n"]


# --- query values and the client's address ---------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [(None, 0), ("", 0), ("17", 17), ("-5", 0), ("9" * 20, MAX_ROW_ID), (str(2**63), MAX_ROW_ID)],
)
def test_an_event_id_is_clamped_to_what_a_database_holds(raw: str | None, expected: int) -> None:
    assert event_id(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "1e5", "9" * 21, "1" * 5000, "12\x00", "0x10", "--1"])
def test_anything_but_a_short_integer_is_not_an_event_id(raw: str) -> None:
    with pytest.raises(ApiError) as refused:
        event_id(raw)
    assert (refused.value.status, refused.value.code) == (400, "invalid_after")


def address_app(trusted: tuple[str, ...], peer: str) -> TestClient:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> dict[str, str]:
        return {"client": client_address(request, trusted)}

    return TestClient(app, client=(peer, 40000))


@pytest.mark.parametrize(
    "trusted, peer, forwarded, expected",
    [
        ((), "198.51.100.7", "203.0.113.9", "198.51.100.7"),  # no proxy trusted: the peer
        (("10.0.0.0/8",), "198.51.100.7", "203.0.113.9", "198.51.100.7"),  # peer not a proxy
        (("10.0.0.0/8",), "10.1.2.3", "203.0.113.9", "203.0.113.9"),
        (("10.0.0.0/8",), "10.1.2.3", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged left part
        (("10.0.0.0/8",), "10.1.2.3", "203.0.113.9, 10.9.9.9", "203.0.113.9"),  # two proxies
        (("10.0.0.0/8",), "10.1.2.3", "", "10.1.2.3"),
        (("10.0.0.0/8",), "10.1.2.3", "10.0.0.1, 10.0.0.2", "10.0.0.1"),
        (("10.0.0.0/8",), "10.1.2.3", "nonsense", "nonsense"),
        (("2001:db8::/32",), "2001:db8::1", "2001:db8:1::5, 192.0.2.1", "192.0.2.1"),
    ],
)
def test_x_forwarded_for_counts_only_from_trusted_proxies(
    trusted: tuple[str, ...], peer: str, forwarded: str, expected: str
) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert address_app(trusted, peer).get("/who", headers=headers).json() == {"client": expected}


def test_an_error_can_carry_headers() -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.get("/slow-down")
    async def slow_down() -> None:
        raise ApiError(429, "rate_limited", "wait", headers={"Retry-After": "7"})

    response = TestClient(app).get("/slow-down")
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json() == {"error": {"code": "rate_limited", "message": "wait"}}


def test_the_frameworks_own_refusals_have_the_documented_shape() -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.post("/outages/{outage_id}/resolve")
    async def resolve(outage_id: int) -> dict[str, int]:
        return {"id": outage_id}

    client = TestClient(app)
    for response, status, code in (
        (client.get("/nowhere"), 404, "not_found"),
        (client.get("/outages/1/resolve"), 405, "method_not_allowed"),
        (client.post("/outages/abc/resolve"), 422, "invalid_request"),
    ):
        assert response.status_code == status
        assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    assert client.get("/outages/1/resolve").headers["allow"] == "POST"
