"""The opening message in Chromium (Playwright) against the real gateway on uvicorn and the fake
Rasa: the demo page's widget starts in the browser's language and greets when opened, a welcome
button starts the conversation, and the full chat page greets at once. Nothing is stored before
the customer writes or presses a button."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import conversations, create_db_engine, init_schema
from bot.core.settings import Settings
from testkit.fakes.http_server import FakeServer
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def gateway(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Iterator[httpx.Client]:
    configured = settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0)
    with live_gateway(configured, channels=[]) as http:
        yield http


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    yield engine
    engine.dispose()


def browser_page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    return context.new_page()


def conversation_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(conversations)).scalar_one()


@pytest.mark.parametrize(
    "locale, greeting, launcher, buttons",
    [
        ("fr-FR", "Bonjour ! Je suis Mila", "Ouvrir le chat", ["Ma facture", "Parler à un collègue"]),
        ("en-US", "Hi! I'm Mila", "Open chat", ["My bill", "Talk to a person"]),
    ],
)
def test_the_demo_widget_greets_in_the_browsers_language(
    browser: Browser,
    gateway: httpx.Client,
    rasa: FakeServer,
    db: Engine,
    locale: str,
    greeting: str,
    launcher: str,
    buttons: list[str],
) -> None:
    page = browser_page(browser, locale)
    page.goto(f"{gateway.base_url}/static/widget-demo.html")
    widget = page.locator("cc-chat-widget")
    expect(widget.locator(".launcher")).to_have_attribute("aria-label", launcher)
    widget.locator(".launcher").click()
    bubble = widget.locator(".log .msg.bot")
    expect(bubble).to_have_count(1)
    expect(bubble).to_contain_text(greeting)
    choices = widget.locator(".log .buttons button")
    expect(choices).to_have_count(4)
    assert [choices.nth(0).inner_text(), choices.nth(3).inner_text()] == buttons
    assert conversation_count(db) == 0  # opening the chat stores nothing

    choices.nth(3).click()  # a person, please
    expect(widget.locator(".log .msg.me")).to_have_text(buttons[1])
    expect(widget.locator(".log .msg.bot").last).to_contain_text("you said: /request_human")
    heard = rasa.received("POST", "/webhooks/rest/webhook")[-1].json()
    assert heard["message"] == "/request_human" and heard["metadata"]["language"] == locale[:2]
    page.context.close()


def test_the_chat_page_greets_at_once_and_not_again_after_the_first_message(
    browser: Browser, gateway: httpx.Client, db: Engine
) -> None:
    page = browser_page(browser, "nl-BE")
    page.goto(f"{gateway.base_url}/")
    log = page.locator("cc-chat-widget .log")
    expect(log.locator(".msg.bot")).to_contain_text("Hoi! Ik ben Mila")
    expect(log.locator(".buttons button")).to_have_count(4)
    page.locator("cc-chat-widget #text").fill("hallo")
    page.locator("cc-chat-widget #text").press("Enter")
    expect(log.locator(".msg.bot").last).to_contain_text("you said: hallo")
    # the opening's choices are answered: still shown, none can be pressed any more
    expect(log.locator(".buttons.done button")).to_have_count(4)
    expect(log.locator(".buttons button:enabled")).to_have_count(0)
    page.reload()
    expect(log.locator(".msg.bot")).to_have_count(1)  # the history only: no second opening
    expect(log.locator(".msg.bot")).to_contain_text("you said: hallo")
    assert conversation_count(db) == 1
    page.context.close()
