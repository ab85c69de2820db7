"""The one running assistant of a test pass (``stack`` in tests/conftest.py), shared by the
end-to-end and browser tests: what it is seeded with, and how a test finds its own chat on it.

Sharing the stack means sharing its database: every test is a customer of its own (a fresh
sender) and finds its conversation by that sender, never by being the only one in a queue."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import Page
from sqlalchemy.engine import Engine

from bot.channels.chat_access import COOKIE as CHAT_COOKIE
from bot.core.db import utcnow
from bot.core.outages import OutageRepository
from handoff.agents import AgentDirectory
from tests.helpers.console import PASSWORD

OUTAGE_PLACE, OUTAGE_SERVICE = "hasselt", "4G/5G"  # tests/web/test_e2e.py asks about it
HANDOFF_AGENT = "sophie"  # logs in to the console page in tests/agentdesk/test_handoff_browser.py
# Claims the widget's chat over the console API in tests/channels/test_widget_browser.py: an account
# of its own (a second "Sophie"), so that neither test sees the other's presence or chats.
WIDGET_AGENT = "sophie.widget"


def seed(engine: Engine) -> None:
    """An outage going on now, and the agents of the browser tests (offline, French and Dutch)."""
    now = utcnow()
    OutageRepository(engine).add(
        OUTAGE_PLACE, OUTAGE_SERVICE, now - timedelta(hours=1), now + timedelta(hours=2)
    )
    directory = AgentDirectory(engine)
    for username in (HANDOFF_AGENT, WIDGET_AGENT):
        directory.create(username, PASSWORD, display_name="Sophie", languages="fr,nl")


def conversation_of(page: Page, base: str) -> str:
    """The conversation of the web chat or widget on ``page``, read with its token: the one the
    embedded widget keeps in the host page's storage (namespaced by the gateway ``base``), else
    the gateway page's HttpOnly cookie (which the page's scripts cannot read, the browser can)."""
    key = f"cc-widget:{base}:token"
    token = page.evaluate("key => localStorage.getItem(key)", key)
    if not token:
        cookies = [c for c in page.context.cookies(base + "/api/chat") if c["name"] == CHAT_COOKIE]
        token = cookies[0]["value"] if cookies else None
    assert token, "the widget keeps the conversation token in localStorage, the page in its cookie"
    history = httpx.get(f"{base}/api/chat/history", headers={"X-Chat-Token": token}).json()
    return history["conversation_id"]
