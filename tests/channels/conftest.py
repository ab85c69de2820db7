"""Fixtures of the customer channels: one fake Rasa, one fake action server and (for the Slack
modules) one fake Slack Web API serve a whole module (stopping a server costs time); every test
starts with an empty Rasa log, echo replies, an NLU that finds ``greet`` in everything and no
Slack calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies, greet_parse
from testkit.fakes.slack_api import FakeSlack
from tests.helpers.slack import customer_slack


@pytest.fixture
def rasa(module_rasa: FakeServer) -> FakeServer:
    module_rasa.requests.clear()
    module_rasa.state["reply"] = echo_replies  # type: ignore[attr-defined]
    module_rasa.state["parse"] = greet_parse  # type: ignore[attr-defined]
    return module_rasa


@pytest.fixture
def actions(module_actions: FakeServer) -> FakeServer:
    return module_actions


@pytest.fixture(scope="module")
def module_slack() -> Iterator[FakeSlack]:
    fake = customer_slack()
    yield fake
    fake.stop()


@pytest.fixture
def slack(module_slack: FakeSlack) -> Iterator[FakeSlack]:
    module_slack.calls.clear()
    yield module_slack
    module_slack.refuse_dms = False
