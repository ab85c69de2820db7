"""A full handoff in two real browsers (Debian's Chromium, Playwright): the customer in the web
chat, the agent in the console, both against the real Rasa, action server and gateway (the pass's
shared stack: the agent takes this customer's chat, whatever else waits in the queue)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.core.db import create_db_engine, csat
from bot.core.texts import text as customer_text
from bot.run import Stack
from tests.helpers.console import log_in_page
from tests.helpers.stack import HANDOFF_AGENT, conversation_of

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
XSS = "<img src=x onerror=alert(1)>"


def new_page(browser: Browser, locale: str, width: int, dialogs: list[str]) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return page


def test_customer_escalates_agent_answers_closes_and_customer_rates(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    base, dialogs = stack.settings.gateway_url, []
    customer = new_page(browser, "fr-BE", 390, dialogs)
    agent = new_page(browser, "fr-BE", 1280, dialogs)

    customer.goto(base + "/")
    # the opening first, as a customer reads it (the widget leaves it out once the customer wrote)
    expect(customer.locator(".msg.bot")).to_have_count(1)
    customer.fill("#text", "je veux parler à un conseiller s'il vous plaît")
    customer.keyboard.press("Enter")
    expect(customer.locator("#status")).to_have_text("Un collègue va vous répondre", timeout=20000)
    # the opening, why a colleague, the queue position or (outside business hours) when the team
    # is back, then the expected wait with "leave the queue"
    expect(customer.locator(".msg.bot")).to_have_count(4)
    # the opening's choices stay as a record, disabled; the newest ones can be pressed
    expect(customer.locator(".buttons").first.locator("button").first).to_be_disabled()
    offered = customer.locator(".buttons").last.locator("button").first
    expect(offered).to_have_text("Quitter la file")
    expect(offered).to_be_enabled()
    expect(customer.locator("#send")).to_be_enabled()
    customer.fill("#text", XSS)
    customer.keyboard.press("Enter")
    expect(customer.locator(".msg.bot").last).to_have_text(customer_text("handoff_message_passed", "fr"))

    conversation = conversation_of(customer, base)
    log_in_page(agent, base, HANDOFF_AGENT)  # the console in French, the browser's language
    expect(agent.locator("#presence-prompt")).to_be_visible()  # asked to go online
    expect(agent.locator("#availability")).to_contain_text("Vous n'êtes pas en ligne")
    agent.select_option("#presence", "online")
    expect(agent.locator("#presence-prompt")).to_be_hidden()
    agent.fill("#q", conversation)  # whatever else waits in the shared stack's queue
    item = agent.locator(f'#offered .queue-item[data-conversation="{conversation}"]')
    expect(item).to_have_count(1, timeout=5000)
    expect(item.locator(".reason")).to_have_text("Demande un conseiller")
    item.click()
    expect(agent.locator("#p-language")).to_have_text("Français")
    expect(agent.locator("#transcript .entry.customer").last.locator(".text")).to_have_text(XSS)
    assert agent.locator("#transcript img").count() == 0

    agent.click("#claim")
    expect(customer.locator(".msg.notice").last).to_contain_text("Sophie", timeout=5000)
    expect(customer.locator("#status")).to_contain_text("Un collègue vous aide")
    agent.fill("#reply-text", "Bonjour, je regarde votre dossier tout de suite.")
    agent.click("#send-reply")
    expect(customer.locator(".msg.agent").last).to_contain_text("je regarde votre dossier", timeout=5000)

    expect(customer.locator("#send")).to_be_enabled()
    customer.fill("#text", "merci, j'attends")
    customer.keyboard.press("Enter")
    last_customer = agent.locator("#transcript .entry.customer").last
    expect(last_customer).to_contain_text("merci, j'attends", timeout=5000)

    agent.click("#close")  # confirmed, with a wrap-up code
    agent.locator("#close-dialog").get_by_label("Résolu").check()
    agent.click("#confirm-close")
    question = customer_text("csat_question", "fr")
    expect(customer.locator(".msg.notice").last).to_have_text(question, timeout=5000)
    customer.locator(".buttons").last.locator("button", has_text="4").click()
    expect(customer.locator(".msg.bot").last).to_have_text(customer_text("csat_thanks", "fr"), timeout=10000)

    customer.reload()  # the conversation survives a reload
    expect(customer.locator(".msg.agent")).to_contain_text("je regarde votre dossier")
    expect(customer.locator(".buttons")).to_have_count(0)  # the answered score is not offered again
    expect(agent.locator("#p-owner")).to_have_text("clôturée")
    expect(agent.locator("#agent-name")).to_be_in_viewport()
    customer.screenshot(path=str(tmp_path / "customer.png"))
    agent.screenshot(path=str(tmp_path / "agent.png"))
    assert dialogs == []  # no script from a message ever ran

    engine = create_db_engine(stack.settings.database_url)
    with engine.connect() as conn:
        scores = select(csat.c.score).where(csat.c.conversation_id == conversation)
        assert conn.execute(scores).scalars().all() == [4]
    engine.dispose()
