"""Fixtures of the customer channels: one fake Rasa and one fake action server serve a whole
module (stopping a server costs time); every test starts with an empty Rasa log and echo replies."""

from __future__ import annotations

import pytest

from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies


@pytest.fixture
def rasa(module_rasa: FakeServer) -> FakeServer:
    module_rasa.requests.clear()
    module_rasa.state["reply"] = echo_replies  # type: ignore[attr-defined]
    return module_rasa


@pytest.fixture
def actions(module_actions: FakeServer) -> FakeServer:
    return module_actions
