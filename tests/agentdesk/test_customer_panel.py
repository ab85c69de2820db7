"""The customer panel in the agent console (bot/agentdesk/customer_routes.py, handoff/customer.py,
static/js/console-customer.js): over HTTP, who may read it and what it holds; in Debian's Chromium,
what an agent sees of a verified customer and of his earlier conversations (the gateway wires the
demo account system in)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.core.db import audit_log, conversations
from bot.core.identity import Identity
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import PASSWORD, log_in, log_in_page
from tests.helpers.gateway import live_gateway

JAN = "MC1000001"


@pytest.fixture
def app_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    return settings.with_overrides(
        rasa_url=rasa.url, action_server_url=actions.url, feed_interval_s=0.05, account_provider="demo"
    )


@pytest.fixture
def client(app_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as client:
        yield client


def handed_over(engine: Engine, language: str = "nl", verified: bool = True) -> str:
    with engine.begin() as conn:
        cid = insert_conversation(conn, language=language, channel="telegram")
    assert (
        HandoffQueue(engine).escalate(cid, default_rules()["request_human"], summary="wil een mens")
        is not None
    )
    if verified:
        Identity(engine).mark_verified("telegram", cid, JAN, cid, "telegram_contact", 30)
    return cid


def reads(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(audit_log).where(audit_log.c.action == "account.read")
        return conn.execute(query).scalar_one()


def test_the_panel_over_http(client: TestClient, engine: Engine, directory: AgentDirectory) -> None:
    directory.create("ann", PASSWORD, display_name="Ann", languages=("nl",))
    directory.create("pierre", PASSWORD, display_name="Pierre", languages=("fr",))
    ann, pierre = log_in(client, "ann"), log_in(client, "pierre")
    cid, plain = handed_over(engine), handed_over(engine, verified=False)
    assert client.get(f"/agent/api/conversations/{cid}/customer").status_code == 401
    panel = ann.ok(ann.get(f"conversations/{cid}/customer"))
    assert panel["verified"]["method"] == "Telegram" and panel["account"]["name"] == "Jan Peeters"
    assert len(panel["account"]["invoices"]) == 3 and panel["account"]["usage"]["renews_on"]
    assert ann.ok(ann.get(f"conversations/{plain}/customer")) == {"verified": None, "earlier": []}
    assert pierre.get(f"conversations/{cid}/customer").status_code == 403  # not in Pierre's languages
    assert ann.get("conversations/nope/customer").status_code == 404
    assert reads(engine) == 1


@pytest.mark.browser
def test_an_agent_sees_the_verified_customer(
    app_settings: Settings, engine: Engine, directory: AgentDirectory, browser: Browser
) -> None:
    directory.create("ann", PASSWORD, display_name="Ann", languages=("nl",))
    directory.set_ui_language(directory.by_username("ann").id, "en")  # type: ignore[union-attr]
    earlier = handed_over(engine)  # an earlier chat of Jan's, verified too
    cid, plain = handed_over(engine), handed_over(engine, verified=False)
    # an unverified Telegram user who wrote before: no account, his earlier chat is listed
    returning = handed_over(engine, verified=False)
    with engine.begin() as conn:
        before = insert_conversation(conn, channel="telegram", owner="closed")
        conn.execute(update(conversations).where(conversations.c.id == before).values(sender=returning))
    with live_gateway(app_settings) as http:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        log_in_page(page, str(http.base_url).rstrip("/"), "ann")
        page.select_option("#presence", "online")
        page.locator(f'#offered .queue-item[data-conversation="{cid}"]').click()
        panel = page.locator("#customer-panel")
        expect(panel.locator("summary")).to_contain_text("Jan Peeters (MC1000001), verified by Telegram")
        expect(panel).to_contain_text("Mila Smart")
        expect(panel.locator("table.customer-invoices tbody tr")).to_have_count(3)
        expect(panel.locator("td.amount").first).to_contain_text("€")
        expect(panel).to_contain_text("Usage this month")
        # his earlier conversations, 24 h dates; one click opens that chat
        before = panel.locator(".customer-earlier li")
        expect(before).to_have_count(1)
        expect(before).to_contain_text("Telegram · queued · Asked for a person")
        assert re.search(r"\b\d\d:\d\d\b", before.inner_text()) and not re.search(
            r"AM|PM", before.inner_text()
        )
        before.get_by_role("button").click()
        expect(page.locator(f'#offered .queue-item[data-conversation="{earlier}"]')).to_have_attribute(
            "aria-current", "true"
        )
        page.locator(f'#offered .queue-item[data-conversation="{cid}"]').click()
        # open (the earlier chat's panel is Jan's too, and the chats' summaries are the same)
        expect(page.locator(f'#offered .queue-item[data-conversation="{cid}"]')).to_have_attribute(
            "aria-current", "true"
        )
        page.select_option("#ui-language", "nl")  # the panel follows the console's language
        expect(panel.locator("summary")).to_contain_text("geverifieerd via Telegram")
        page.locator(f'#offered .queue-item[data-conversation="{plain}"]').click()
        expect(page.locator(f'#offered .queue-item[data-conversation="{plain}"]')).to_have_attribute(
            "aria-current", "true"
        )
        expect(page.locator("#p-summary")).to_have_text("wil een mens")
        expect(panel).to_be_hidden()
        page.locator(f'#offered .queue-item[data-conversation="{returning}"]').click()
        expect(panel.locator("summary")).to_contain_text("niet geverifieerd")
        expect(panel.locator(".customer-earlier li")).to_have_count(1)
        expect(panel).not_to_contain_text("Jan Peeters")
