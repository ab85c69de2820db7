"""The console's log-in throttle tells clients apart by the same rule as the chat's rate limit:
the peer's address, or, when the peer is one of TRUSTED_PROXIES, the client its X-Forwarded-For
names (bot/web/http.py ``client_address``). uvicorn's own proxy-header handling is off
(bot/run.py), so a header from anyone else never moves an attacker to another address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.core.settings import Settings
from bot.run import Stack
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import PASSWORD, error_code
from tests.helpers.gateway import live_gateway

PROXY = "10.0.0.5"
ATTACKER, AGENT = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def app_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    return settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0)


@pytest.fixture
def behind_proxy(app_settings: Settings) -> Settings:
    return app_settings.with_overrides(trusted_proxies=("10.0.0.0/8",))


@pytest.fixture
def ann(directory: AgentDirectory) -> str:
    directory.create("ann", PASSWORD, display_name="Ann")
    return "ann"


def log_in(
    http: httpx.Client | TestClient, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return http.post("/agent/api/login", json={"username": "ann", "password": password}, headers=headers)


def via(http: TestClient, peer: str) -> TestClient:
    """Another connection to the same gateway, from ``peer``."""
    return TestClient(http.app, client=(peer, 50000))


@pytest.fixture
def proxied(behind_proxy: Settings) -> Iterator[TestClient]:
    """The gateway behind a trusted proxy: every request arrives from PROXY."""
    with TestClient(create_app(behind_proxy), client=(PROXY, 50000)) as client:
        yield client


def test_an_attacker_behind_the_proxy_does_not_lock_out_the_agent_behind_the_same_proxy(
    proxied: TestClient, ann: str
) -> None:
    for _ in range(5):
        assert log_in(proxied, "guess", f"{ATTACKER}, {PROXY}").status_code == 401
    refused = log_in(proxied, "guess", ATTACKER)
    assert refused.status_code == 429 and error_code(refused) == "too_many_attempts"
    assert int(refused.headers["retry-after"]) >= 2
    assert log_in(proxied, PASSWORD, AGENT).status_code == 200  # another client: not slowed down


def test_a_client_left_of_the_proxy_cannot_pick_its_address(proxied: TestClient, ann: str) -> None:
    """What a client writes in X-Forwarded-For itself sits left of what the proxy appends."""
    for n in range(5):
        assert log_in(proxied, "guess", f"192.0.2.{n}, {ATTACKER}").status_code == 401
    assert log_in(proxied, "guess", f"192.0.2.77, {ATTACKER}").status_code == 429


def test_x_forwarded_for_from_an_untrusted_client_is_ignored(proxied: TestClient, ann: str) -> None:
    attacker = via(proxied, ATTACKER)  # straight to the gateway, not through the proxy
    for n in range(5):
        assert log_in(attacker, "guess", f"198.51.100.{n}").status_code == 401
    assert log_in(attacker, "guess", "198.51.100.99").status_code == 429  # one client, whatever it says
    assert log_in(proxied, PASSWORD, AGENT).status_code == 200
    assert log_in(via(proxied, AGENT), PASSWORD).status_code == 200


def test_on_uvicorn_a_spoofed_header_from_localhost_is_ignored_without_trusted_proxies(
    app_settings: Settings, ann: str
) -> None:
    """uvicorn on its own trusts X-Forwarded-For from 127.0.0.1 (FORWARDED_ALLOW_IPS); the gateway
    runs it without, so only TRUSTED_PROXIES (none here) could make the header count."""
    with live_gateway(app_settings) as http:
        for n in range(5):
            assert log_in(http, "guess", f"198.51.100.{n}").status_code == 401
        assert log_in(http, "guess", "198.51.100.99").status_code == 429


def test_on_uvicorn_a_trusted_proxys_header_names_the_client(behind_proxy: Settings, ann: str) -> None:
    with live_gateway(behind_proxy.with_overrides(trusted_proxies=("127.0.0.1",))) as http:
        for _ in range(5):
            assert log_in(http, "guess", ATTACKER).status_code == 401
        assert log_in(http, "guess", ATTACKER).status_code == 429
        assert log_in(http, PASSWORD, AGENT).status_code == 200


def test_make_run_starts_the_gateway_without_uvicorns_proxy_headers(
    settings: Settings, tmp_path: Path
) -> None:
    gateway = Stack(settings, tmp_path / "model.tar.gz").commands()["gateway"]
    assert "--no-proxy-headers" in gateway
