"""The web chat page in headless Chromium (Debian's), driven by Playwright, on the pass's shared
stack (a new browser context: a customer of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.run import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-BE", viewport={"width": 390, "height": 760})
    yield context.new_page()
    context.close()


def test_customer_chats_in_french_on_a_phone_sized_page(stack: Stack, page: Page, tmp_path: Path) -> None:
    page.goto(stack.settings.gateway_url + "/")
    expect(page.locator("#botname")).to_have_text("Mila")
    expect(page.locator("#text")).to_have_attribute("placeholder", "Écrivez votre message…")
    page.fill("#text", "Bonjour, comment puis-je payer ma facture ?")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot").first).to_contain_text("Bancontact", timeout=20000)
    page.fill("#text", "<img src=x onerror=alert(1)>")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.me").last).to_have_text("<img src=x onerror=alert(1)>")
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=20000)
    assert page.locator(".msg img").count() == 0  # shown as text, never as markup
    page.screenshot(path=str(tmp_path / "webchat.png"))
