"""The console page in Debian's Chromium (Playwright) while PostgreSQL is away: a French-speaking
agent sees "connexion à la base de données perdue, nouvelle tentative…" instead of an error, is
not sent back to the log-in when the page is reloaded meanwhile, and once the database is back
the notice goes and the queue is live again without a reload. The database is taken away by
cutting a TCP proxy in front of PostgreSQL (tests/helpers/database_away.py): PostgreSQL only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from bot.agentdesk.console_texts import console_texts
from bot.core.settings import Settings
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import PASSWORD, log_in_page, queue_chat
from tests.helpers.database_away import behind_proxy
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.browser]


def test_the_console_says_the_database_is_lost_and_recovers_by_itself(
    settings: Settings, engine: Engine, browser: Browser, rasa: FakeServer, actions: FakeServer
) -> None:
    AgentDirectory(engine).create("sophie", PASSWORD, display_name="Sophie", languages="fr")
    notice_text = console_texts()["database_lost"]["fr"]
    errors: list[str] = []
    with behind_proxy(settings) as (proxy, through):
        live = through.with_overrides(feed_interval_s=0.05, rasa_url=rasa.url, action_server_url=actions.url)
        with live_gateway(live) as http:
            base = str(http.base_url).rstrip("/")
            page = browser.new_context(locale="fr-BE").new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in_page(page, base, "sophie")
            page.click("#go-online")
            expect(page.locator("#presence")).to_have_value("online")  # the server has it before the cut
            notice = page.locator("#database-notice")
            expect(notice).to_be_hidden()

            proxy.cut()
            page.click("#tab-metrics")  # the page asks the API: 503 database_unavailable
            expect(notice).to_be_visible()
            expect(notice).to_have_text(notice_text)
            page.reload()  # still away: the notice, not the log-in
            expect(notice).to_be_visible()
            expect(page.locator("#login")).to_be_hidden()

            proxy.restore()
            expect(notice).to_be_hidden(timeout=15_000)
            expect(page.locator("#agent-name")).to_contain_text("Sophie")
            page.click("#tab-queue")
            waiting = queue_chat(engine, "Bonjour, ma facture est fausse", language="fr")
            expect(page.locator(f'#offered .queue-item[data-conversation="{waiting}"]')).to_be_visible()
    assert errors == []
