"""The agents' workspace in Debian's Chromium (Playwright), against the gateway on uvicorn, for a
French-speaking agent: the console in French (labels, reasons, errors, 24 h dates in the team's
time zone), asked to go online, the queue searched, filtered and paged, a note kept from the
customer, a close confirmed with a wrap-up code, the closed chats searched, the metrics and the
language switched and kept; then on a phone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from bot.core.db import handoffs, messages, utcnow
from bot.core.rules import default_rules
from bot.core.settings import Settings
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation
from tests.helpers.console import PASSWORD, log_in
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.browser]
REASONS = ("request_human", "fraud", "complaint", "not_helped")
XSS = "<img src=x onerror=alert(1)>"


def seed(engine: Engine) -> list[str]:
    """28 chats waiting in French and Dutch, an hour and a half down to a minute; the newest
    first said a thing worth searching."""
    cids = []
    for i in range(28):
        language, reason = ("fr", "nl")[i % 2], REASONS[i % len(REASONS)]
        said = "Ma facture de roaming en Espagne est fausse" if i == 0 else f"question {i} {XSS}"
        with engine.begin() as conn:
            cid = insert_conversation(conn, language=language)
            conn.execute(
                insert(messages).values(
                    conversation_id=cid,
                    direction="in",
                    author="customer",
                    text=said,
                    language=language,
                    status="answered",
                )  # fmt: skip
            )
        handoff = HandoffQueue(engine).escalate(cid, default_rules()[reason], summary=f"résumé {i}")
        assert handoff is not None
        with engine.begin() as conn:
            created = utcnow() - timedelta(minutes=1 + 3 * i)
            conn.execute(update(handoffs).where(handoffs.c.id == handoff.id).values(created_at=created))
        cids.append(cid)
    return cids


def handed_over(engine: Engine, settings: Settings) -> dict[str, datetime]:
    """When each chat was handed over, in the team's time zone."""
    with engine.connect() as conn:
        rows = conn.execute(select(handoffs.c.conversation_id, handoffs.c.created_at)).all()
    return {cid: created.astimezone(settings.time_zone) for cid, created in rows}


def log_in_as(page: Page, base: str, username: str) -> None:
    page.goto(base + "/agent/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-btn")


def test_a_french_speaking_agent_works_the_queue_in_french(
    settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    directory = AgentDirectory(engine)
    directory.create("sophie", PASSWORD, display_name="Sophie", languages="fr,nl")
    directory.create("marc", PASSWORD, display_name="Marc", languages="nl,fr")
    cids = seed(engine)
    roaming = cids[0]
    errors: list[str] = []
    with live_gateway(settings.with_overrides(feed_interval_s=0.05)) as http:
        base = str(http.base_url).rstrip("/")
        context = browser.new_context(locale="fr-BE", viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append(d.message), d.dismiss()))

        page.goto(base + "/agent/")  # before logging in: the browser's language
        expect(page.locator("#login-btn")).to_have_text("Se connecter")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.fill("#username", "sophie")
        page.fill("#password", "wrong password!")
        page.click("#login-btn")
        expect(page.locator("#login-error")).to_have_text("Nom d'utilisateur ou mot de passe incorrect.")
        log_in_as(page, base, "sophie")

        # A new agent is asked to go online, with what waits for her; not a silent empty queue.
        expect(page.locator("#presence-prompt")).to_be_visible()
        expect(page.locator("#presence-prompt-text")).to_have_text(
            "28 conversations attendent dans vos langues. Passez en ligne pour recevoir des conversations."
        )
        expect(page.locator("#availability")).to_contain_text("Vous n'êtes pas en ligne")
        page.click("#go-online")
        expect(page.locator("#presence-prompt")).to_be_hidden()
        expect(page.locator("#presence")).to_have_value("online")

        # 25 a page, the most urgent first, with readable reasons
        items = page.locator("#offered .queue-item")
        expect(items).to_have_count(25)
        expect(page.locator("#queue-range")).to_have_text("1–25 sur 28")
        expect(items.first.locator(".reason")).to_have_text("Fraude possible")
        expect(page.locator('#offered .reason[data-reason="request_human"]').first).to_have_text(
            "Demande un conseiller"
        )
        assert "request_human" not in page.locator("#offered").inner_text()
        page.click("#queue-next")
        expect(items).to_have_count(3)
        expect(page.locator("#queue-range")).to_have_text("26–28 sur 28")
        page.click("#queue-prev")
        expect(items).to_have_count(25)

        # search and filters
        page.fill("#q", "ROAMING")
        expect(items).to_have_count(1)
        expect(items.first).to_have_attribute("data-conversation", roaming)
        page.fill("#q", "personne n'a dit ça")
        expect(items).to_have_count(0)
        expect(page.locator("#availability")).to_have_text(
            "Aucune conversation en attente ne correspond à votre recherche."
        )
        page.fill("#q", "")
        page.click("#queue-more summary")
        page.select_option("#f-reason", "complaint")
        page.select_option("#f-language", "fr")
        expect(items).to_have_count(7)
        expect(page.locator("#offered .reason")).to_have_text(["Réclamation"] * 7)
        page.select_option("#f-wait", "60")  # waiting over an hour
        expect(items).to_have_count(2)
        page.select_option("#f-sort", "newest")
        page.select_option("#f-reason", "")
        page.select_option("#f-language", "")
        page.select_option("#f-wait", "0")
        expect(items.first).to_have_attribute("data-conversation", roaming)

        # the chat: French labels, 24 h times in Brussels, customer markup as text
        items.first.click()
        expect(page.locator("#p-reason")).to_have_text("Demande un conseiller")
        expect(page.locator("#p-language")).to_have_text("Français")
        expect(page.locator("#p-owner")).to_have_text("en file d'attente")
        started = page.locator("#p-started").inner_text()
        local = handed_over(engine, settings)
        assert local[roaming].strftime("%H:%M") in started and not re.search(r"AM|PM", started)
        page.click("#claim")
        expect(page.locator("#p-owner")).to_have_text("avec un conseiller")
        expect(page.locator("#reply-form")).to_be_visible()

        # an internal note: in the transcript, marked, never sent to the customer
        page.click("#note-form summary")
        page.fill("#note-text", f"Déjà appelé hier {XSS}")
        page.click("#add-note")
        note = page.locator("#transcript .entry.note")
        expect(note).to_have_count(1)
        expect(note.locator(".text")).to_have_text(f"Déjà appelé hier {XSS}")
        expect(note.locator(".meta")).to_have_text(re.compile(r"^Note interne · Sophie · \d\d:\d\d$"))
        assert page.locator("#transcript img").count() == 0
        with engine.connect() as conn:
            said = conn.execute(
                select(messages.c.text).where(messages.c.conversation_id == roaming)
            ).scalars()
            assert not any("Déjà appelé" in text for text in said)

        # a colleague takes the chat she is reading: she sees it at once, and cannot take it any more
        page.select_option("#f-sort", "priority")
        target = cids[25]  # the fraud waiting longest: the most urgent
        expect(items.first).to_have_attribute("data-conversation", target)
        items.first.click()
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        marc = log_in(http, "marc")
        marc.ok(marc.post("presence", {"presence": "online"}))
        marc.ok(marc.act(target, "claim"))
        expect(page.locator("#p-owner")).to_have_text("avec un conseiller")
        expect(page.locator("#claim")).to_be_disabled()
        expect(page.locator(f'#offered .queue-item[data-conversation="{target}"]')).to_have_count(0)

        # an error in French, by its code
        page.click("#note-form summary")
        page.fill("#note-text", "x" * 2001)
        page.click("#add-note")
        too_long = "Cette note est trop longue (2000 caractères au plus)."
        expect(page.locator("#chat-error")).to_have_text(too_long)
        page.fill("#note-text", "")

        # closing asks for a wrap-up code, and confirmation
        page.locator(f'#mine .queue-item[data-conversation="{roaming}"]').click()
        expect(page.locator("#transcript .entry.note")).to_have_count(1)  # notes come with the chat
        page.click("#close")
        dialog = page.locator("#close-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#close-title")).to_have_text("Clôturer cette conversation ?")
        expect(page.locator("#confirm-close")).to_be_disabled()
        page.click("#cancel-close")
        expect(dialog).to_be_hidden()
        expect(page.locator("#p-owner")).to_have_text("avec un conseiller")  # cancelling changes nothing
        page.click("#close")
        dialog.get_by_label("Résolu").check()
        page.click("#confirm-close")
        expect(page.locator("#p-owner")).to_have_text("clôturée")
        expect(page.locator("#p-waiting")).to_contain_text("Clôturée · Résolu")
        with engine.connect() as conn:
            stored = select(handoffs.c.wrap_up).where(handoffs.c.conversation_id == roaming)
            assert conn.execute(stored).scalar_one() == "solved"

        # closed chats can be found again
        page.click("#show-closed")
        page.fill("#closed-q", "roaming")
        closed = page.locator("#closed .queue-item")
        expect(closed).to_have_count(1)
        expect(closed.first).to_contain_text("Clôturée · Résolu")
        page.screenshot(path=str(tmp_path / "console-fr.png"))

        # metrics in French, days in the team's time zone
        page.click("#tab-metrics")
        expect(page.locator("#metric-sla .label")).to_have_text("Réponse en moins de 1 h")
        expect(page.locator("#metric-waiting .value")).to_have_text("27")  # Marc's too: no reply yet
        today = datetime.now(settings.time_zone).date()
        handed_today = sum(when.date() == today for when in local.values())
        today_row = page.locator(f'#metrics-days-table tr[data-date="{today.isoformat()}"] td')
        expect(today_row.nth(1)).to_have_text(str(handed_today))
        expect(page.locator('#metrics-agents-table tr[data-agent="sophie"]')).to_be_visible()
        page.screenshot(path=str(tmp_path / "metrics-fr.png"), full_page=True)

        # her choice of language is kept; "browser language" goes back to French
        page.select_option("#ui-language", "en")
        expect(page.locator("#metric-sla .label")).to_have_text("Answered within 1 h")
        expect(page.locator("#tab-queue")).to_have_text("Chats")
        page.reload()
        expect(page.locator("#tab-queue")).to_have_text("Chats")
        page.select_option("#ui-language", "")
        expect(page.locator("#tab-queue")).to_have_text("Conversations")

        # on a phone: nothing wider than the screen
        page.set_viewport_size({"width": 390, "height": 800})
        page.click("#tab-queue")
        expect(page.locator("#offered .queue-item").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "console-fr-phone.png"), full_page=True)
        context.close()
    assert errors == []
