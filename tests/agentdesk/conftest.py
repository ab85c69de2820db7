"""Fixtures of the agents' front-ends: every test here logs agents in, and one fake Rasa and one
fake action server serve a whole module (tests tell their requests apart by conversation id)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer


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
