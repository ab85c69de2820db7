"""Working live with the customer and colleagues in Debian's Chromium (Playwright), against the
gateway on uvicorn (a fake Rasa: the chats are already with the agents): a French-speaking agent
and a customer see each other typing, the agent's other chats count unread messages (badge and
tab title, an alert while the tab is hidden), the chat goes to a colleague who sees it arrive,
then one to a language team; the console on a phone and the transcript's share of a desktop."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.chat_sessions import ChatSessions
from bot.core.db import handoffs
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from handoff.agents import AgentDirectory
from tests.helpers.console import PASSWORD, agent_page, hide_tab, log_in, web_chat
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.browser]


def customer_page(browser: Browser, base: str, sender: str, token: str) -> tuple[BrowserContext, Page]:
    """The gateway's chat page as the customer who holds ``token`` (its cookie, the page's sender)."""
    context = browser.new_context(locale="fr-BE", viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "cc_chat", "value": token, "url": base + "/api/chat"}])
    context.add_init_script(f"localStorage.setItem('cc-widget:{base}:sender', '{sender}')")
    page = context.new_page()
    page.goto(base + "/")
    return context, page


def claim(page: Page, cid: str) -> None:
    """The agent goes online and claims the chat ``cid`` from the queue on the page."""
    page.click("#go-online")
    page.locator(f'#offered .queue-item[data-conversation="{cid}"]').click()
    page.click("#claim")
    expect(page.locator("#reply-form")).to_be_visible()


def test_typing_unread_counts_and_transfers_for_a_french_speaking_agent(
    live_settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    directory = AgentDirectory(engine)
    directory.create("sophie", PASSWORD, display_name="Sophie", languages="fr,nl")
    directory.create("marc", PASSWORD, display_name="Marc", languages="fr,en")
    first, first_sender, first_token = web_chat(
        engine, "web-browser-first", "Bonjour, ma facture est fausse", language="fr"
    )
    second, _second_sender, second_token = web_chat(
        engine, "web-browser-second", "Mon internet est lent", language="fr"
    )
    errors: list[str] = []
    with live_gateway(live_settings) as http:
        base = str(http.base_url).rstrip("/")
        sophie = agent_page(browser, base, "sophie", errors)
        claim(sophie, first)
        context, customer = customer_page(browser, base, first_sender, first_token)
        expect(customer.locator(".msg.me").first).to_have_text("Bonjour, ma facture est fausse")
        expect(customer.locator("#status")).to_contain_text("Un collègue vous aide")

        # the customer types: the agent sees it, and it goes away by itself
        customer.locator("#text").press_sequentially("J'ai une", delay=30)
        expect(sophie.locator("#typing")).to_have_text("Le client est en train d'écrire…")
        expect(sophie.locator("#typing")).to_be_hidden(timeout=9000)
        # the agent types: the customer sees her name, until her message arrives
        sophie.locator("#reply-text").press_sequentially("Je regarde", delay=30)
        typing = customer.locator(".agent-typing")
        expect(typing).to_have_text("Sophie est en train d'écrire…")
        sophie.click("#send-reply")
        expect(customer.locator(".msg.agent").last).to_contain_text("Je regarde")
        expect(typing).to_be_hidden()
        assert "en train d'écrire" not in sophie.locator("#transcript").inner_text()  # never a message

        # her other chat counts what its customer wrote; the tab's title shows the total
        api = log_in(http, "sophie")
        api.ok(api.act(second, "claim"))
        mine_second = sophie.locator(f'#mine .queue-item[data-conversation="{second}"]')
        expect(mine_second.locator(".unread")).to_have_text("1")
        hide_tab(sophie)
        said = http.post(
            "/api/chat",
            json={"sender": None, "text": "Vous êtes là ?"},
            headers={"X-Chat-Token": second_token},
        )
        assert said.status_code == 422  # a sender is required: the page's own customer sends it below
        sender = ChatSessions(engine).find(second_token).sender  # type: ignore[union-attr]
        for text in ("Vous êtes là ?", "Allô ?"):
            sent = http.post(
                "/api/chat", json={"sender": sender, "text": text}, headers={"X-Chat-Token": second_token}
            )
            assert sent.status_code == 200, sent.text
        expect(mine_second.locator(".unread")).to_have_text("3")
        expect(mine_second.locator(".unread")).to_have_attribute("aria-label", "3 messages non lus")
        expect(sophie).to_have_title("(3) Console webcare")
        assert "Nouveau message d'un client" in sophie.evaluate("live.alerts")
        mine_second.click()
        expect(mine_second.locator(".unread")).to_have_count(0)
        expect(sophie).to_have_title("Console webcare")

        # the first chat goes to Marc, who sees it arrive; the customer reads a neutral notice
        marc = agent_page(browser, base, "marc", errors, locale="en-GB")
        marc.click("#go-online")
        expect(marc.locator("#presence")).to_have_value("online")  # online before Sophie lists colleagues
        sophie.locator(f'#mine .queue-item[data-conversation="{first}"]').click()
        # open before the transfer: its button is enabled for the chat open until now too
        expect(sophie.locator(f'#mine .queue-item[data-conversation="{first}"]')).to_have_attribute(
            "aria-current", "true"
        )
        sophie.click("#transfer")
        dialog = sophie.locator("#transfer-dialog")
        expect(dialog.locator("#transfer-title")).to_have_text("Transférer cette conversation ?")
        expect(dialog.locator("#transfer-to option")).to_have_text(
            ["Marc (fr, en)", "Équipe Nederlands", "Équipe Français", "Équipe English"]
        )
        sophie.select_option("#transfer-to", "agent:marc")
        sophie.fill("#transfer-note", "Client déjà identifié")
        sophie.screenshot(path=str(tmp_path / "console-transfer-fr.png"))
        sophie.click("#confirm-transfer")
        expect(dialog).to_be_hidden()
        expect(sophie.locator("#no-chat")).to_be_visible()
        expect(sophie.locator(f'#mine .queue-item[data-conversation="{first}"]')).to_have_count(0)
        expect(marc.locator(f'#mine .queue-item[data-conversation="{first}"]')).to_have_count(1)
        expect(customer.locator(".msg.notice").last).to_have_text(customer_text("transferred", "fr"))
        marc.locator(f'#mine .queue-item[data-conversation="{first}"]').click()
        expect(marc.locator("#transcript .entry.note .text")).to_have_text("Client déjà identifié")
        expect(marc.locator("#reply-form")).to_be_visible()

        # the second chat back to the queue for the Dutch team
        sophie.locator(f'#mine .queue-item[data-conversation="{second}"]').click()
        sophie.click("#transfer")
        sophie.select_option("#transfer-to", "team:nl")
        sophie.click("#confirm-transfer")
        expect(sophie.locator(f'#offered .queue-item[data-conversation="{second}"]')).to_have_count(1)
        with engine.connect() as conn:
            row = conn.execute(
                select(handoffs.c.language, handoffs.c.claimed_by).where(
                    handoffs.c.conversation_id == second, handoffs.c.ended_at.is_(None)
                )
            ).one()
        assert (row.language, row.claimed_by) == ("nl", None)
        context.close()
    assert errors == []


def test_the_console_fits_a_phone_and_leaves_the_transcript_most_of_a_desktop(
    gateway_settings: Settings, engine: Engine, browser: Browser
) -> None:
    AgentDirectory(engine).create(
        "sophie", PASSWORD, display_name="Sophie Vandenberghe-Dumoulin", languages="fr,nl,en"
    )
    cid, _sender, _token = web_chat(
        engine, "web-browser-long", "Une question " + "très longue " * 30, language="fr"
    )
    errors: list[str] = []
    with live_gateway(gateway_settings) as http:
        base = str(http.base_url).rstrip("/")
        page = agent_page(browser, base, "sophie", errors)
        claim(page, cid)
        transcript = page.locator("#transcript").bounding_box()
        packet = page.locator("#packet").bounding_box()
        assert transcript and packet and transcript["height"] > 800 / 2 > packet["height"]

        page.set_viewport_size({"width": 390, "height": 844})
        for part in ("header", "#packet", "#transcript", "#reply-form"):
            box = page.locator(part).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, part
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.querySelector('header').scrollWidth") <= 390

        # the sound can be muted, and stays so
        expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
        page.click("#sound")
        expect(page.locator("#sound")).to_have_attribute("title", "Activer le son")
        page.reload()
        expect(page.locator("#sound")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#sound")).to_have_text("Son")
    assert errors == []
