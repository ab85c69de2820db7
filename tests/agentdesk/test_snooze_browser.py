"""Keyboard shortcuts and snoozing in Debian's Chromium (Playwright), against the gateway on
uvicorn (a fake Rasa: the chats are already with the agents), for a French-speaking agent: the
help overlay (?, Esc), taking the next chat (T), replying (R, Ctrl+Enter), a note (N), moving
through the list (J/K, Alt+↓/↑), single keys ignored while typing, snoozing (S) with the wake-up
time in 24 h Brussels time, the chat back when the customer writes and when its time comes (unread,
with an alert), and closing a snoozed chat (C, confirmed); then the snooze on a phone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.core.db import handoffs, utcnow
from bot.core.settings import Settings
from handoff.agents import AgentDirectory
from tests.helpers.console import PASSWORD, agent_page, hide_tab, log_in, web_chat
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.browser]


def french_chat(engine: Engine, said: str, reason: str, minutes_ago: float) -> tuple[str, str, str]:
    """A queued French web chat whose customer holds a token: (conversation, sender, token)."""
    return web_chat(engine, f"web-keys-{reason}", said, language="fr", reason=reason, minutes_ago=minutes_ago)


def item(page: Page, section: str, cid: str) -> Locator:
    return page.locator(f'#{section} .queue-item[data-conversation="{cid}"]')


def snoozed_until(engine: Engine, settings: Settings, cid: str) -> datetime:
    """The chat's wake-up time in the team's time zone."""
    with engine.connect() as conn:
        until = conn.execute(
            select(handoffs.c.snoozed_until).where(
                handoffs.c.conversation_id == cid, handoffs.c.ended_at.is_(None)
            )
        ).scalar_one()
    return until.astimezone(settings.time_zone)


def wake_pattern(engine: Engine, settings: Settings, cid: str) -> str:
    """A regex for the wake-up time as the console shows it: "00:12" today, with the date when it
    falls on another day in the team's time zone ("7 déc., 00:12": a one-hour snooze taken after
    23:00 wakes tomorrow; the test failed between 23:00 and midnight)."""
    until = snoozed_until(engine, settings, cid)
    other_day = until.date() != datetime.now(settings.time_zone).date()
    return (r"\d{1,2} \S+ " if other_day else "") + re.escape(until.strftime("%H:%M"))


def test_a_french_speaking_agent_works_with_the_keyboard_and_snoozes_chats(
    settings: Settings, live_settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    AgentDirectory(engine).create("sophie", PASSWORD, display_name="Sophie", languages="fr")
    fraud, _fraud_sender, _ = french_chat(engine, "On a volé mon téléphone", "fraud", 5)
    complaint, complaint_sender, complaint_token = french_chat(
        engine, "Je ne suis pas content", "complaint", 4
    )
    other, _other_sender, _ = french_chat(engine, "Une question", "request_human", 3)
    errors: list[str] = []
    with live_gateway(live_settings) as http:
        base = str(http.base_url).rstrip("/")
        page = agent_page(browser, base, "sophie", errors, dialogs_are_errors=True)
        page.click("#go-online")
        expect(page.locator("#offered .queue-item")).to_have_count(3)
        page.locator("body").focus()

        # ? lists the shortcuts in French; Esc closes the list
        page.keyboard.press("?")
        keys = page.locator("#keys-dialog")
        expect(keys).to_be_visible()
        expect(keys.locator("#keys-title")).to_have_text("Raccourcis clavier")
        expect(keys).to_contain_text("Prendre la prochaine conversation en attente")
        expect(keys).to_contain_text("Mettre la conversation en veille")
        page.screenshot(path=str(tmp_path / "console-keys-fr.png"))
        page.keyboard.press("Escape")
        expect(keys).to_be_hidden()
        page.click("#keys-help")  # the header's button does the same
        expect(keys).to_be_visible()
        page.click("#close-keys")
        expect(keys).to_be_hidden()

        # T takes the most urgent chat and puts the cursor in the reply box
        page.keyboard.press("t")
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        expect(page.locator("#p-owner")).to_have_text("avec un conseiller")
        expect(item(page, "mine", fraud)).to_have_count(1)
        expect(page.locator("#reply-text")).to_be_focused()
        # letters typed in the reply are text, not shortcuts; Ctrl+Enter sends
        page.keyboard.type("Je vérifie : pouvez-vous chercher votre numéro IMEI ? ")
        expect(page.locator("#keys-dialog")).to_be_hidden()
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#transcript .entry.agent")).to_contain_text(
            ["pouvez-vous chercher votre numéro IMEI"]
        )
        expect(page.locator("#reply-text")).to_have_value("")

        # Esc leaves the text field; N opens a note, Ctrl+Enter keeps it, Esc closes the note
        page.keyboard.press("Escape")
        expect(page.locator("#reply-text")).not_to_be_focused()
        page.keyboard.press("n")
        expect(page.locator("#note-text")).to_be_focused()
        page.keyboard.type("Vol signalé, attendre l'IMEI")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#transcript .entry.note .text")).to_have_text("Vol signalé, attendre l'IMEI")
        page.keyboard.press("n")
        page.keyboard.press("Escape")
        expect(page.locator("#note-form")).not_to_have_attribute("open", "")

        # S snoozes: a dialog in French, Esc cancels, then one hour
        page.keyboard.press("s")
        snooze = page.locator("#snooze-dialog")
        expect(snooze).to_be_visible()
        expect(snooze.locator("#snooze-title")).to_have_text("Mettre cette conversation en veille ?")
        expect(snooze.locator("label.snooze-choice")).to_have_text(
            ["15 minutes", "1 heure", "3 heures", "Demain à 09:00", "Un autre moment"]
        )
        page.keyboard.press("Escape")
        expect(snooze).to_be_hidden()
        expect(item(page, "mine", fraud)).to_have_count(1)  # cancelling changes nothing
        page.keyboard.press("s")
        snooze.get_by_label("1 heure").check()
        page.screenshot(path=str(tmp_path / "console-snooze-dialog-fr.png"))
        page.click("#confirm-snooze")
        expect(snooze).to_be_hidden()
        expect(item(page, "mine", fraud)).to_have_count(0)
        wake = wake_pattern(engine, settings, fraud)
        until_text = item(page, "snoozed", fraud).locator(".snoozed-until")
        expect(until_text).to_have_text(re.compile(f"^jusqu'à {wake}$"))
        expect(page.locator("#snoozed-count")).to_have_text("1")
        expect(page.locator("#p-snooze-text")).to_have_text(
            re.compile(f"^En veille jusqu'à {wake} ; revient plus tôt si le client écrit\\.$")
        )
        assert not re.search(r"AM|PM", page.locator("#snoozed").inner_text())
        page.screenshot(path=str(tmp_path / "console-snoozed-fr.png"))

        # the next chat; an unanswered chat cannot be snoozed, with the reason in French
        page.keyboard.press("t")
        expect(page.locator("#p-reason")).to_have_text("Réclamation")
        expect(page.locator("#reply-text")).to_be_focused()  # taken
        page.keyboard.press("Escape")
        page.keyboard.press("s")
        page.keyboard.press("Enter")  # the first choice, 15 minutes
        expect(page.locator("#snooze-error")).to_have_text(
            "Répondez d'abord au client ; ensuite vous pourrez mettre la conversation en veille."
        )
        page.keyboard.press("Escape")
        page.keyboard.press("r")
        page.keyboard.type("Je regarde votre dossier.")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#transcript .entry.agent")).to_have_count(1)

        # J/K and Alt+↓/↑ move through the list: mine, snoozed, then waiting
        page.keyboard.press("Alt+ArrowDown")  # works while typing too
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        expect(page.locator("#p-snooze")).to_be_visible()
        page.keyboard.press("j")  # still in the reply box: a letter
        expect(page.locator("#reply-text")).to_have_value("j")
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        page.fill("#reply-text", "")
        page.keyboard.press("Escape")
        page.keyboard.press("j")
        expect(page.locator("#p-reason")).to_have_text("Demande un conseiller")
        expect(item(page, "offered", other)).to_have_attribute("aria-current", "true")
        expect(item(page, "offered", other)).to_be_focused()
        page.keyboard.press("k")
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        page.keyboard.press("Alt+ArrowUp")
        expect(page.locator("#p-reason")).to_have_text("Réclamation")

        # the complaint snoozed for 15 min by keyboard alone; its customer writes: back, unread
        page.keyboard.press("s")
        page.keyboard.press("Enter")
        expect(item(page, "snoozed", complaint)).to_have_count(1)
        expect(snooze).to_be_hidden()  # single keys do nothing while a dialog is open
        page.keyboard.press("j")  # to the fraud chat: the complaint is not open any more
        expect(page.locator("#p-reason")).to_have_text("Fraude possible")
        hide_tab(page)
        sent = http.post(
            "/api/chat",
            json={"sender": complaint_sender, "text": "Mon numéro client est 12345"},
            headers={"X-Chat-Token": complaint_token},
        )
        assert sent.status_code == 200, sent.text
        expect(item(page, "mine", complaint).locator(".unread")).to_have_text("1")
        expect(item(page, "snoozed", complaint)).to_have_count(0)
        assert "Nouveau message d'un client" in page.evaluate("live.alerts")

        # the fraud chat's time comes (moved forward in the database): back, unread, announced
        with engine.begin() as conn:
            soon = utcnow() + timedelta(seconds=2)
            conn.execute(
                update(handoffs)
                .where(handoffs.c.conversation_id == fraud, handoffs.c.ended_at.is_(None))
                .values(snoozed_until=soon)
            )
        page.keyboard.press("Alt+ArrowUp")  # another chat: the page reads its queue again
        expect(page.locator("#p-reason")).to_have_text("Réclamation")
        back = item(page, "mine", fraud)
        expect(back.locator(".woke")).to_have_text("Fin de la veille", timeout=10000)
        expect(page.locator("#snoozed-section")).to_be_hidden()
        expect(page).to_have_title("(1) Console webcare")  # the fraud chat (the complaint is open: read)
        assert "Une conversation en veille est de retour" in page.evaluate("live.alerts")
        back.click()
        expect(back.locator(".woke")).to_have_count(0)  # seen
        expect(page.locator("#p-snooze")).to_be_hidden()

        # a snoozed chat can be closed: C asks for confirmation and a wrap-up code
        page.locator("body").focus()
        page.keyboard.press("s")
        page.keyboard.press("Enter")
        expect(item(page, "snoozed", fraud)).to_have_count(1)
        page.keyboard.press("c")
        close = page.locator("#close-dialog")
        expect(close.locator("#close-title")).to_have_text("Clôturer cette conversation ?")
        page.keyboard.press("Escape")
        expect(close).to_be_hidden()
        expect(page.locator("#p-owner")).to_have_text("avec un conseiller")
        page.keyboard.press("c")
        close.get_by_label("Résolu").check()
        page.click("#confirm-close")
        expect(page.locator("#p-owner")).to_have_text("clôturée")
        expect(item(page, "snoozed", fraud)).to_have_count(0)
        expect(page.locator("#snoozed-section")).to_be_hidden()

        # single keys do nothing in the queue's search field either
        page.fill("#q", "")
        page.locator("#q").press_sequentially("tjks")
        expect(page.locator("#q")).to_have_value("tjks")
        expect(page.locator("#snooze-dialog")).to_be_hidden()
        expect(page.locator("#p-owner")).to_have_text("clôturée")
    assert errors == []


def test_the_snooze_control_works_on_a_phone(
    settings: Settings, live_settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    AgentDirectory(engine).create(
        "sophie", PASSWORD, display_name="Sophie Vandenberghe-Dumoulin", languages="fr"
    )
    cid, _sender, _token = french_chat(engine, "Une question " + "très longue " * 20, "request_human", 2)
    errors: list[str] = []
    with live_gateway(live_settings) as http:
        api = log_in(http, "sophie")
        api.ok(api.post("presence", {"presence": "online"}))
        api.ok(api.act(cid, "claim"))
        api.ok(api.act(cid, "reply", text="Je regarde."))
        base = str(http.base_url).rstrip("/")
        page = agent_page(browser, base, "sophie", errors, width=390, dialogs_are_errors=True)
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#keys-help")).to_be_hidden()  # no keyboard to speak of
        item(page, "mine", cid).click()
        page.locator("#snooze").scroll_into_view_if_needed()
        opened = datetime.now(settings.time_zone).date()  # the team's calendar, not the machine's
        page.click("#snooze")
        dialog = page.locator("#snooze-dialog")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844
        for control in ("#confirm-snooze", "#snooze-day", "#snooze-time", "#cancel-snooze"):
            part = page.locator(control).bounding_box()
            assert part and part["x"] >= 0 and part["x"] + part["width"] <= 390, control
            assert part["height"] >= 24, control  # big enough for a finger

        # another time: a day of the team's calendar and a time on 24 h, as French agents write it
        page.select_option("#snooze-day", label="demain")
        expect(dialog.get_by_label("Un autre moment")).to_be_checked()
        page.fill("#snooze-time", "25h00")
        page.click("#confirm-snooze")
        expect(page.locator("#snooze-error")).to_have_text("Écrivez l'heure sous la forme 14:30.")
        page.fill("#snooze-time", "14h30")
        page.screenshot(path=str(tmp_path / "console-snooze-fr-phone.png"))
        day = date.fromisoformat(page.locator("#snooze-day").input_value())
        page.click("#confirm-snooze")
        expect(dialog).to_be_hidden()
        expected = datetime.combine(day, time(14, 30), tzinfo=settings.time_zone)
        today = {datetime.now(settings.time_zone).date(), opened}  # the same day, but for a midnight
        assert day in {d + timedelta(days=1) for d in today}
        with engine.connect() as conn:
            stored = select(handoffs.c.snoozed_until).where(handoffs.c.conversation_id == cid)
            assert conn.execute(stored).scalar_one() == expected
        wake = item(page, "snoozed", cid).locator(".snoozed-until")
        expect(wake).to_contain_text("14:30")
        assert wake.inner_text().startswith("jusqu'à ") and not re.search(r"AM|PM", wake.inner_text())
        expect(page.locator("#p-snooze")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "console-snoozed-fr-phone.png"), full_page=True)
        page.click("#unsnooze")  # "wake now"
        expect(item(page, "mine", cid)).to_have_count(1)
        expect(page.locator("#snoozed-section")).to_be_hidden()
    assert errors == []
