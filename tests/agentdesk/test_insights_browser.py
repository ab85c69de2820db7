"""The traffic-insights page in Debian's Chromium (Playwright), against the gateway on uvicorn:
an admin reviews what the bot did not understand, assigns a group to an intent, downloads the
training examples, reads the topic chart and the surge alert; markup in a message stays text. A
French-speaking admin reads the page in French, without greetings or thanks listed and without an
alert before there is a baseline."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from bot.agentdesk.console_texts import console_texts
from bot.core.settings import Settings
from bot.insights import TOPICS, Insights
from handoff.agents import AgentDirectory
from tests.helpers.console import PASSWORD, log_in_page
from tests.helpers.gateway import live_gateway
from tests.helpers.insights import PORTING_NL, Said, add_turns, write_tracker

pytestmark = [pytest.mark.browser]
HTML = "<b>html</b> staat er in mijn factuur??"
FRENCH = ("je ne comprends pas le montant de ma facture", "je comprends pas le montant de ma facture!")
SCREENSHOT = Path("/tmp/insights.png")


def seed(settings: Settings, engine: Engine, now: datetime) -> tuple[int, float]:
    """Unhandled messages in three languages (through Rasa's tracker store), a week of topic
    history, and a burst of coverage questions a minute ago that raises an alert; returns the
    burst size and the alert's baseline (it depends on the hour: the history is counted from its
    first message)."""
    porting = "sim_number_porting"
    conversations: list[list[Said]] = [
        [Said(PORTING_NL[0], suggestion=porting, minutes_ago=50)],
        [Said(PORTING_NL[1], suggestion=porting, channel="telegram", minutes_ago=40)],
        [Said(PORTING_NL[2], suggestion=porting, minutes_ago=30)],
        [Said(HTML, intent="out_of_scope", confidence=0.6, minutes_ago=20)],
        [Said(text, language="fr", suggestion="billing_explain_bill", minutes_ago=25) for text in FRENCH],
        [Said("do you sell phone cases", language="en", intent="out_of_scope", confidence=0.8)],
    ]
    burst = settings.surge_min_messages + 2
    conversations.append(
        [
            Said(
                f"geen 4G meer in Gent sinds {i} minuten",
                intent="coverage_outage",
                confidence=0.93,
                minutes_ago=1,
            )
            for i in range(burst)
        ]
    )
    for said in conversations:
        write_tracker(settings, str(uuid.uuid4()), said, now)
    today = now.date()
    for days_ago in range(1, 7):  # the usual traffic of the past days, for the chart
        noon = datetime.combine(today - timedelta(days=days_ago), time(12), timezone.utc)
        add_turns(engine, 2 + days_ago % 3, "billing", noon, "nl", "web")
        add_turns(engine, 1 + days_ago % 2, "sim", noon, "fr", "telegram")
        add_turns(engine, 1, "coverage", noon, "en", "web")
        add_turns(engine, days_ago % 2, "smalltalk", noon, "nl", "web")
    insights = Insights(settings, engine)
    try:
        insights.sync()
        [alert] = insights.check_surges(now)
        assert alert.topic == "coverage"
    finally:
        insights.close()
    return burst, alert.baseline


def test_admin_reviews_unhandled_messages_exports_them_and_reads_the_trends(
    settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    directory = AgentDirectory(engine)
    directory.create("ada", PASSWORD, display_name="Ada", role="admin", languages="nl,fr,en")
    directory.create("ben", PASSWORD, display_name="Ben", role="agent", languages="nl")
    now = datetime.now(timezone.utc)
    burst, baseline = seed(settings, engine, now)
    local = settings.time_zone  # the trends count the team's days
    history = {(now - timedelta(days=n)).replace(hour=12).astimezone(local).date() for n in range(1, 7)}
    coverage_days = len(history | {(now - timedelta(minutes=1)).astimezone(local).date()})
    dialogs: list[str] = []
    errors: list[str] = []
    quiet = settings.with_overrides(feed_interval_s=0.05, insights_interval_s=3600.0)
    with live_gateway(quiet) as http:
        base = str(http.base_url).rstrip("/")
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(base + "/agent/insights")  # not logged in: a way to the log-in, nothing else
        expect(page.locator("#gate")).to_be_visible()
        expect(page.locator("#gate-link")).to_have_attribute("href", "/agent/")
        expect(page.locator("#app")).to_be_hidden()

        log_in_page(page, base, "ada")
        page.click("#insights-link")
        expect(page).to_have_url(base + "/agent/insights")
        expect(page.locator("#agent-name")).to_have_text("Ada")

        # (a) not understood: the groups, markup shown as text
        groups = page.locator("#groups .group")
        expect(groups).to_have_count(4)  # nl porting, nl markup, fr bill, en out of scope
        expect(page.locator("#groups .msg", has_text="<b>html</b>")).to_have_text(HTML)
        assert page.locator("#groups b, #groups img").count() == 0
        porting = groups.filter(has_text=PORTING_NL[0])
        expect(porting.locator(".lang")).to_have_text("nl")
        expect(porting.locator(".items li")).to_have_count(3)
        expect(porting.locator(".reasons")).to_contain_text("not understood · 3")
        # the model's weak guess (21 %) is shown, not chosen: one click on Assign cannot teach it
        expect(porting.locator("select.intent")).to_have_value("")
        expect(porting.locator(".assign")).to_be_disabled()
        expect(porting.locator(".guess")).to_contain_text("The bot's guess: sim_number_porting (21")
        porting.locator(".use-guess").click()
        expect(porting.locator("select.intent")).to_have_value("sim_number_porting")
        porting.locator(".assign").click()
        expect(page.locator("#unhandled-status")).to_contain_text("Assigned 3 messages to sim_number_porting")
        expect(groups.filter(has_text=PORTING_NL[0])).to_have_count(0)
        expect(groups).to_have_count(3)

        french = groups.filter(has_text=FRENCH[0])
        expect(french.locator("select.intent")).to_have_value("")
        french.locator(".items input[type=checkbox]").nth(1).uncheck()
        expect(french.locator(".dismiss")).to_have_text("Dismiss 1")
        french.locator(".dismiss").click()
        expect(page.locator("#unhandled-status")).to_contain_text("Dismissed 1 message")
        expect(groups.filter(has_text=FRENCH[0]).locator(".items li")).to_have_count(1)

        # no intent fits the phone cases: the bot needs new content, listed apart
        cases = groups.filter(has_text="do you sell phone cases")
        cases.locator(".needs-content").click()
        expect(page.locator("#unhandled-status")).to_contain_text("1 message marked as needing new content")
        expect(groups.filter(has_text="do you sell phone cases")).to_have_count(0)
        page.select_option("#u-status", "needs_content")
        expect(groups).to_have_count(1)
        expect(groups.first.locator(".reopen")).to_have_text("Look again at 1")
        page.select_option("#u-status", "new")
        expect(groups).to_have_count(2)

        # (b) export: the download holds the assigned examples; a second one has nothing new
        with page.expect_download() as download:
            page.click("#export-nl")
        assert download.value.suggested_filename == "traffic-nl.yml"
        nlu = yaml.safe_load(Path(download.value.path()).read_text(encoding="utf-8"))
        assert [block["intent"] for block in nlu["nlu"]] == ["sim_number_porting"]
        assert sorted(nlu["nlu"][0]["examples"].replace("- ", "").splitlines()) == sorted(PORTING_NL)
        page.click("#export-nl")
        expect(page.locator("#export-status")).to_contain_text("Nothing new to export in nl")

        # (c) topic trends: stacked bars per topic and day, a legend with every topic
        chart = page.locator("#chart")
        expect(chart).to_be_visible()
        expect(chart.locator("rect.bar[data-topic=coverage]")).to_have_count(coverage_days)
        expect(chart.locator("rect.bar[data-topic=billing]")).to_have_count(6)
        assert chart.locator("rect.bar[data-topic=sim]").count() == 6
        assert chart.locator("rect.bar[data-topic=out_of_scope]").count() >= 1
        expect(chart.locator("text", has_text="messages")).to_have_count(1)  # the y axis label
        legend = page.locator("#legend li")
        expect(legend).to_have_count(len(TOPICS))
        expect(page.locator("#legend li[data-topic=coverage]")).to_contain_text(f"coverage ({6 + burst})")
        page.select_option("#t-channel", "telegram")
        expect(chart.locator("rect.bar[data-topic=billing]")).to_have_count(0)
        expect(chart.locator("rect.bar[data-topic=sim]")).to_have_count(6)
        page.select_option("#t-channel", "")
        expect(chart.locator("rect.bar[data-topic=billing]")).to_have_count(6)

        # (d) the surge alert
        alert = page.locator("#alerts li")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text("coverage")
        expect(alert).to_contain_text("Network operations")
        usual = f"{baseline:.1f}"  # as the page writes a baseline under 10
        expect(alert).to_contain_text(
            f"{burst} messages in {settings.surge_window_minutes} min, usually {usual}"
        )
        expect(alert).to_contain_text("coverage_outage")

        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.screenshot(path=str(tmp_path / "insights.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 800})  # a phone: no sideways scrolling
        expect(chart).to_have_attribute("viewBox", re.compile(r"^0 0 3[0-8]\d "))  # redrawn to fit
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "insights-phone.png"), full_page=True)

        other = browser.new_context().new_page()  # an agent who is not an admin
        log_in_page(other, base, "ben")
        expect(other.locator("#insights-link")).to_be_hidden()
        other.goto(base + "/agent/insights")
        expect(other.locator("#gate-text")).to_have_text("Only admins can see the traffic insights.")
        expect(other.locator("#groups .group")).to_have_count(0)
        other.context.close()
        context.close()
    assert dialogs == [] and errors == []  # no script from a message ever ran


def test_a_french_speaking_admin_reads_the_insights_in_french_without_pleasantries_or_early_alerts(
    settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    """Greetings and thanks are never problems, the weak guess is shown in French and not chosen,
    and a first burst with no history behind it raises no alert; then on a phone."""
    AgentDirectory(engine).create("claire", PASSWORD, display_name="Claire", role="admin", languages="fr")
    now = datetime.now(timezone.utc)
    for text in ("Bonjour !", "merci beaucoup", "bonsoir", "merci, bonne journée"):
        write_tracker(settings, str(uuid.uuid4()), [Said(text, language="fr", confidence=0.3)], now)
    write_tracker(
        settings,
        str(uuid.uuid4()),
        [Said(text, language="fr", suggestion="billing_explain_bill", minutes_ago=25) for text in FRENCH],
        now,
    )
    burst = [
        Said(f"pas de 4G à Namur depuis {i} minutes", "fr", "coverage_outage", 0.93, minutes_ago=1)
        for i in range(settings.surge_min_messages + 2)
    ]
    write_tracker(settings, str(uuid.uuid4()), burst, now)
    insights = Insights(settings, engine)
    try:
        insights.sync()
        assert insights.check_surges(now) == []  # no baseline yet: no alert, however busy
    finally:
        insights.close()
    texts = {key: variants["fr"] for key, variants in console_texts().items()}
    errors: list[str] = []
    with live_gateway(settings.with_overrides(insights_interval_s=3600.0)) as http:
        base = str(http.base_url).rstrip("/")
        context = browser.new_context(locale="fr-BE", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        log_in_page(page, base, "claire")
        page.click("#insights-link")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("#unhandled-title")).to_have_text(texts["insights_not_understood"])

        groups = page.locator("#groups .group")
        expect(groups).to_have_count(1)  # the bill question; no greeting, no thanks
        for pleasantry in ("Bonjour", "merci", "bonsoir"):
            expect(page.locator("#groups")).not_to_contain_text(pleasantry)
        bill = groups.first
        expect(bill.locator(".guess")).to_contain_text(
            texts["insights_guess"].format(intent="billing_explain_bill")
        )
        expect(bill.locator(".use-guess")).to_have_text(texts["insights_use_guess"])
        expect(bill.locator("select.intent")).to_have_value("")
        expect(bill.locator(".assign")).to_be_disabled()
        expect(bill.locator(".needs-content")).to_have_text(texts["insights_needs_content"].format(n=2))

        axis = texts["insights_axis_day"].format(zone=settings.time_zone.key)
        expect(page.locator("#chart text", has_text=axis)).to_have_count(1)  # the team's days
        # the trends (and their alerts) have arrived: before, there are no alerts on the page either
        expect(page.locator("#alerts li")).to_have_count(0)
        expect(page.locator("#alerts-empty")).to_have_text(texts["insights_no_alerts"])
        page.screenshot(path=str(tmp_path / "insights-fr.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "insights-fr-phone.png"), full_page=True)
        context.close()
    assert errors == []
