"""The gateway's HTTP toolkit (bot/web/http.py): JSON bodies and errors, and the one stream loop
behind the web chat's and the console's server-sent events (keep-alive, end, disconnect)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bot.core.feed import Event
from bot.web.http import KEEPALIVE, ApiError, feed_stream, install_error_handler, json_object, sse


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
