"""The traffic-insights page in Debian's Chromium (Playwright), against the gateway on uvicorn:
an admin reviews what the bot did not understand, assigns a group to an intent, downloads the
training examples, reads the topic chart and the surge alert; markup in a message stays text."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

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


def seed(settings: Settings, engine: Engine, now: datetime) -> int:
    """Unhandled messages in three languages (through Rasa's tracker store), a week of topic
    history, and a burst of coverage questions a minute ago that raises an alert; returns the
    burst size."""
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
        assert [alert.topic for alert in insights.check_surges(now)] == ["coverage"]
    finally:
        insights.close()
    return burst


def test_admin_reviews_unhandled_messages_exports_them_and_reads_the_trends(
    settings: Settings, engine: Engine, browser: Browser, tmp_path: Path
) -> None:
    directory = AgentDirectory(engine)
    directory.create("ada", PASSWORD, display_name="Ada", role="admin", languages="nl,fr,en")
    directory.create("ben", PASSWORD, display_name="Ben", role="agent", languages="nl")
    now = datetime.now(timezone.utc)
    burst = seed(settings, engine, now)
    history = {now.date() - timedelta(days=n) for n in range(1, 7)}
    coverage_days = len(history | {(now - timedelta(minutes=1)).date()})  # UTC days, whatever the hour
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
        expect(porting.locator("select.intent")).to_have_value("sim_number_porting")  # the suggestion
        porting.locator(".assign").click()
        expect(page.locator("#unhandled-status")).to_contain_text("Assigned 3 messages to sim_number_porting")
        expect(groups.filter(has_text=PORTING_NL[0])).to_have_count(0)
        expect(groups).to_have_count(3)

        french = groups.filter(has_text=FRENCH[0])
        expect(french.locator("select.intent")).to_have_value("billing_explain_bill")
        french.locator(".items input[type=checkbox]").nth(1).uncheck()
        expect(french.locator(".dismiss")).to_have_text("Dismiss 1")
        french.locator(".dismiss").click()
        expect(page.locator("#unhandled-status")).to_contain_text("Dismissed 1 message")
        expect(groups.filter(has_text=FRENCH[0]).locator(".items li")).to_have_count(1)

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
        expect(alert).to_contain_text(f"{burst} messages in {settings.surge_window_minutes} min, usually 0.0")
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
