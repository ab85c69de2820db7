"""Fixtures of the customer channels: one fake Rasa, one fake action server and (for the Slack
modules) one fake Slack Web API serve a whole module (stopping a server costs time); every test
starts with an empty Rasa log, echo replies, an NLU that finds ``greet`` in everything and no
Slack calls. The chat page in a browser, for the modules that run a live ``gateway``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies, greet_parse
from testkit.fakes.slack_api import FakeSlack
from tests.helpers.chat_page import SIZES
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


@pytest.fixture(params=list(SIZES))
def chat_page(request: pytest.FixtureRequest, browser: Browser, gateway: httpx.Client) -> Iterator[Page]:
    """The customer's page: the chat page of the module's ``gateway`` (a live gateway,
    tests/helpers/gateway.py) in French, in a desktop and in a phone-size window."""
    width, height = SIZES[request.param]
    context = browser.new_context(locale="fr-BE", viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{gateway.base_url}/")
    yield page
    context.close()
