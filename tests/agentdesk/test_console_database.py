"""The agent console while the database is away (a PostgreSQL restart): every console, admin and
insights route answers 503 ``database_unavailable`` in the documented error shape with
``Retry-After``, never a 500; a live stream that finds the database away ends quietly (the page
reconnects); and all of it works again by itself once the database is back. The database is taken
away by cutting a TCP proxy in front of PostgreSQL (tests/helpers/database_away.py); the error
shape and the stream's end are also checked without PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.core.feed import ChangeFeed, Event
from bot.core.settings import Settings
from bot.web.gateway import create_app
from bot.web.http import feed_stream, install_error_handler
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer
from testkit.fakes.tcp_proxy import TcpProxy
from tests.helpers.console import PASSWORD, log_in
from tests.helpers.database_away import behind_proxy

AWAY = OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))


def assert_database_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "error": {
            "code": "database_unavailable",
            "message": "the database cannot be reached right now; try again in a few seconds",
        }
    }
    assert int(response.headers["Retry-After"]) > 0


# --- without PostgreSQL: the shape, and a stream's end ------------------------------------------


def test_a_route_that_finds_the_database_away_answers_503_and_a_refused_query_stays_a_500() -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.get("/away")
    async def away() -> None:
        raise AWAY

    @app.get("/refused")
    async def refused() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    with TestClient(app, raise_server_exceptions=False) as client:
        assert_database_unavailable(client.get("/away"))
        assert client.get("/refused").status_code == 500


class Request:
    """What feed_stream asks of a request: a client that stays."""

    class url:  # noqa: N801
        path = "/agent/api/stream"

    async def is_disconnected(self) -> bool:
        return False


class LosesTheDatabase:
    """A live view whose second round finds the database away."""

    def __init__(self) -> None:
        self.rounds = 0

    async def start(self) -> list[str] | None:
        return ["event: queue\ndata: {}\n\n"]

    async def update(self, changes: list[Event], complete: bool, moved: bool) -> list[str] | None:
        self.rounds += 1
        if self.rounds == 2:
            raise AWAY
        return []


def test_a_stream_that_finds_the_database_away_ends_quietly(engine: Engine) -> None:
    async def read() -> list[str]:
        stream = feed_stream(
            Request(), ChangeFeed(engine, 0.01), LosesTheDatabase(), farewell="bye", keepalive_s=0.01
        )  # type: ignore[arg-type]
        return [chunk async for chunk in stream]

    chunks = asyncio.run(read())
    assert chunks[0].startswith("retry:") and chunks[1].startswith("event: queue")
    assert "bye" not in chunks  # not logged out: the page reconnects and gets 503 until it is back


# --- the gateway with PostgreSQL away -----------------------------------------------------------


@pytest.fixture
def console(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> Iterator[tuple[TcpProxy, TestClient]]:
    with behind_proxy(settings) as (proxy, through):
        live = through.with_overrides(rasa_url=rasa.url, action_server_url=actions.url)
        with TestClient(create_app(live), raise_server_exceptions=False) as client:
            yield proxy, client


def test_console_admin_and_insights_routes_answer_503_while_postgresql_is_away_and_recover(
    console: tuple[TcpProxy, TestClient], engine: Engine
) -> None:
    proxy, client = console
    AgentDirectory(engine).create("ann", PASSWORD, display_name="Ann", role="admin", languages=["nl"])
    ann = log_in(client, "ann")
    assert ann.get("queue").status_code == 200
    proxy.cut()
    for response in (
        ann.get("me"),
        ann.get("queue"),
        ann.get("agents"),  # admin
        ann.get("outages"),
        ann.post("presence", {"presence": "away"}),
        ann.get("insights/trends"),
        ann.post("agents", {"username": "bob", "password": PASSWORD, "languages": ["fr"]}),  # admin write
        client.get("/agent/api/stream", headers=ann.cookie),
        client.post("/agent/api/login", json={"username": "ann", "password": PASSWORD}),
    ):
        assert_database_unavailable(response)
    proxy.restore()
    assert ann.get("queue").status_code == 200  # by itself, with the same session
    assert ann.get("agents").status_code == 200
