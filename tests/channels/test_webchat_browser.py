"""The web chat page in headless Chromium (Debian's), driven by Playwright, on the pass's shared
stack (a new browser context: a customer of its own; an outage in Hasselt going on): a French chat
on a phone, the conversation token kept in an HttpOnly cookie, and coverage answers that agree
with the outage and keep the topic in a follow-up, on a desktop and a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.channels.chat_access import COOKIE as CHAT_COOKIE
from bot.run import Stack
from tests.helpers.domain import COVERAGE_QUESTIONS, NAMUR, response_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SIZES = {"desktop": (1280, 800), "phone": (390, 760)}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-BE", viewport={"width": 390, "height": 760})
    yield context.new_page()
    context.close()


def test_customer_chats_in_french_on_a_phone_sized_page(stack: Stack, page: Page, tmp_path: Path) -> None:
    page.goto(stack.settings.gateway_url + "/")
    expect(page.locator("#botname")).to_have_text("Mila")
    expect(page.locator("#text")).to_have_attribute("placeholder", "Écrivez votre message…")
    expect(page.locator(".msg.bot").first).to_contain_text("Bonjour ! Je suis Mila")  # the opening
    page.fill("#text", "Bonjour, comment puis-je payer ma facture ?")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot").nth(1)).to_contain_text("Bancontact", timeout=20000)
    page.fill("#text", "<img src=x onerror=alert(1)>")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.me").last).to_have_text("<img src=x onerror=alert(1)>")
    expect(page.locator(".msg.bot")).to_have_count(3, timeout=20000)
    assert page.locator(".msg img").count() == 0  # shown as text, never as markup
    page.screenshot(path=str(tmp_path / "webchat.png"))


def test_the_page_keeps_its_conversation_token_in_an_httponly_cookie(stack: Stack, page: Page) -> None:
    """Same origin, the page needs no token in its storage: the gateway's HttpOnly, SameSite=Strict
    cookie opens the conversation, and the page's scripts cannot read it."""
    base = stack.settings.gateway_url
    page.goto(base + "/")
    page.fill("#text", "Bonjour, comment puis-je payer ma facture ?")
    page.keyboard.press("Enter")
    expect(page.locator("#log")).to_contain_text("Bancontact", timeout=20000)
    [cookie] = [c for c in page.context.cookies(base + "/api/chat") if c["name"] == CHAT_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/chat"
    assert CHAT_COOKIE not in page.evaluate("document.cookie")
    storage = page.evaluate("JSON.stringify(localStorage)")
    assert cookie["value"] not in storage and ":token" not in storage
    page.reload()  # the history comes back with the cookie alone
    expect(page.locator(".msg.me").first).to_have_text("Bonjour, comment puis-je payer ma facture ?")
    expect(page.locator("#log")).to_contain_text("Bancontact")


@pytest.mark.parametrize("size", list(SIZES))
def test_coverage_answers_agree_with_the_outage_and_keep_the_topic(
    stack: Stack, browser: Browser, size: str, tmp_path: Path
) -> None:
    """5G and "no signal" where an outage is open get the outage, never "good news" or indoor
    tips; "et à Namur ?" after an outage question is still about outages (tests/web/test_e2e.py
    asks the same over HTTP in every language)."""
    width, height = SIZES[size]
    context = browser.new_context(locale="fr-BE", viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(stack.settings.gateway_url + "/")
    answers = page.locator(".msg.bot")
    expect(answers).to_have_count(1)  # the opening
    five_g, no_signal, elsewhere, follow_up = COVERAGE_QUESTIONS["fr"]
    outage = response_text("utter_outage_active", "fr").split("{place}")[0] + "Hasselt"
    none_in = response_text("utter_outage_none_place", "fr")
    expected = [outage, outage, none_in.format(place="Genk"), none_in.format(place=NAMUR["fr"])]
    for turn, (question, answer) in enumerate(
        zip((five_g, no_signal, elsewhere, follow_up), expected, strict=True)
    ):
        page.fill("#text", question)
        page.keyboard.press("Enter")
        expect(answers).to_have_count(turn + 2, timeout=30000)
        expect(answers.last).to_contain_text(answer)
        assert answers.last.inner_text().startswith(answer)
    good_news = response_text("utter_coverage_5g_everywhere", "fr").split("{place}")[0]
    assert good_news not in page.locator("#log").inner_text()
    page.screenshot(path=str(tmp_path / f"coverage-fr-{size}.png"), full_page=True)
    context.close()
