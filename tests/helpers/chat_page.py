"""The customer on the gateway's chat page in a browser (``chat_page`` in tests/channels/conftest.py):
the window sizes it is tried at, and writing a message."""

from __future__ import annotations

from playwright.sync_api import Page

SIZES = {"desktop": (1280, 800), "phone": (390, 760)}


def say(page: Page, text: str) -> None:
    """The customer types ``text`` and presses Enter."""
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
