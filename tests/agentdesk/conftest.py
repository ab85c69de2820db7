"""Fixtures of the agents' front-ends: every test here logs agents in, and one fake Rasa and one
fake action server serve a whole module (tests tell their requests apart by conversation id)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import AgentApi, add_agent


@pytest.fixture(autouse=True)
def _cheap_hashes(fast_password_hashing: None) -> None:
    """Agents log in: cheap Argon2 parameters (fixture in tests/conftest.py)."""


@pytest.fixture
def rasa(module_rasa: FakeServer) -> FakeServer:
    return module_rasa


@pytest.fixture
def actions(module_actions: FakeServer) -> FakeServer:
    return module_actions


@pytest.fixture
def directory(engine: Engine) -> AgentDirectory:
    return AgentDirectory(engine)


@pytest.fixture
def live_settings(gateway_settings: Settings) -> Settings:
    """The fakes' ``gateway_settings`` (tests/conftest.py) with the change feed read every 50 ms:
    for the console in a browser (tests/helpers/gateway.py), which shows changes as they come."""
    return gateway_settings.with_overrides(feed_interval_s=0.05)


# The agents' HTTP API on the gateway (test_collab_api.py, test_workspace_api.py). Named apart
# from the root ``client`` so that the modules using that one keep it.


@pytest.fixture
def desk_client(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Iterator[TestClient]:
    """The gateway on the test's database and the module's fake Rasa and action server."""
    app_settings = settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url)
    with TestClient(create_app(app_settings)) as client:
        yield client


@pytest.fixture
def desk_agent(desk_client: TestClient, directory: AgentDirectory) -> Callable[..., AgentApi]:
    """``desk_agent("ann", ("nl",), ...)``: a new agent, logged in on ``desk_client`` (add_agent)."""
    return partial(add_agent, directory, desk_client)
