"""The honest queue in Chromium (Playwright): the customer on the gateway's chat page (desktop and
phone size), a French-speaking agent in the console, the gateway on uvicorn with its own waiting
loop and a fake Rasa that escalates. A clarification offers "none of these: a person"; the
expected wait is told on joining and again when more agents come online; the customer leaves the
queue and is back with the bot; a silent chat is closed after the configured minutes (the pass run
here at a fixed time in open hours) and the metrics count it; a customer asks to be contacted
later and the agent reads that readably, in 24 h local time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.engine import Engine

from actions.clarify import none_of_these_button
from bot.core.db import handoffs
from bot.core.hours import DAYS, BusinessHours, parse_hours
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from handoff.agents import AgentDirectory
from handoff.queue import CALLBACK_SLOT, HandoffQueue
from handoff.waiting import DEFAULT_HANDLING_S, WaitingRoom, describe_wait
from testkit.fakes.http_server import FakeServer
from tests.helpers.chat_page import say
from tests.helpers.console import PASSWORD, add_agent, agent_page, queue_chat
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
AHEAD = 4  # French chats already waiting when the customer joins
CLARIFY = "Je ne suis pas sûre d'avoir compris. Vous parlez de :"
CONNECTING = "Bien sûr, je vous mets en relation avec un collègue."
ABANDON_MINUTES = 45


class OpenEveryDay:
    """Business hours for the abandonment pass run in the test: every day 08:00-20:00."""

    def __init__(self, settings: Settings) -> None:
        spec = {"weekly": {day: ["08:00", "20:00"] for day in DAYS}}
        self.hours = parse_hours(spec, time_zone=settings.time_zone)

    def current(self) -> BusinessHours:
        return self.hours


def escalating_rasa(rasa: FakeServer, engine: Engine) -> None:
    """Rasa as the assistant answers here: an unclear first message gets a clarification with
    "none of these: a person" (actions/clarify.py), asking for a person escalates as
    action_escalate does (the fake shares the gateway's database), anything else is echoed."""

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        said, conversation = body["message"], body["sender"]
        if said == "/request_human" or "conseiller" in said:
            HandoffQueue(engine).escalate(conversation, default_rules()["request_human"])
            return [{"recipient_id": conversation, "text": CONNECTING}]
        if "incompréhensible" in said:
            bill = {"title": "Comprendre ma facture", "payload": "/billing_explain_bill"}
            return [
                {"recipient_id": conversation, "text": CLARIFY, "buttons": [bill, none_of_these_button("fr")]}
            ]
        return [{"recipient_id": conversation, "text": f"Réponse à : {said}"}]

    rasa.state["reply"] = reply  # type: ignore[attr-defined]


@pytest.fixture
def gateway(
    gateway_settings: Settings,
    engine: Engine,
    rasa: FakeServer,
    fast_password_hashing: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[httpx.Client]:
    """The gateway, its waiting loop every 0.3 s (never abandoning: the test runs that pass at a
    time of its choosing)."""
    monkeypatch.setattr("bot.web.gateway.WAITING_CHECK_S", 0.3)
    escalating_rasa(rasa, engine)
    live = gateway_settings.with_overrides(feed_interval_s=0.05, queue_abandon_minutes=0)
    with live_gateway(live, channels=[]) as http:
        yield http


@pytest.fixture
def directory(engine: Engine) -> AgentDirectory:
    """The agents: Sophie, French-speaking and offline until she opens the console."""
    directory = AgentDirectory(engine)
    directory.create("sophie", PASSWORD, display_name="Sophie", languages="fr")
    return directory


def agent_console(browser: Browser, gateway: httpx.Client, username: str, errors: list[str]) -> Page:
    return agent_page(browser, str(gateway.base_url).rstrip("/"), username, errors)


def waiting_ahead(engine: Engine) -> list[str]:
    return [queue_chat(engine, f"question {i}", language="fr", minutes_ago=2 + i) for i in range(AHEAD)]


def wait_text(agents: int, *, joined: bool) -> str:
    """What a customer at place AHEAD + 1 reads with ``agents`` online (no handling times yet)."""
    place = AHEAD + 1
    wait = describe_wait(place * DEFAULT_HANDLING_S / agents, "fr")
    told = (
        customer_text("queue_wait", "fr").format(wait=wait)
        if joined
        else customer_text("queue_wait_update", "fr").format(position=place, wait=wait)
    )
    return f"{told} {customer_text('queue_callback_offer', 'fr')}"  # a long wait: a callback offered


def abandon_silent_chats(settings: Settings, engine: Engine) -> list[str]:
    """The gateway's abandonment pass, at noon tomorrow in the team's open hours (not the wall clock)."""
    tomorrow = datetime.now(settings.time_zone).date() + timedelta(days=1)
    noon = datetime.combine(tomorrow, time(12), tzinfo=settings.time_zone)
    room = WaitingRoom(
        settings.with_overrides(queue_abandon_minutes=ABANDON_MINUTES),
        engine,
        hours=OpenEveryDay(settings),
        now=lambda: noon,
    )
    return room.abandon_silent()


def test_the_customer_hears_the_wait_leaves_the_queue_and_a_silent_chat_is_closed(
    chat_page: Page,
    gateway: httpx.Client,
    engine: Engine,
    settings: Settings,
    browser: Browser,
    directory: AgentDirectory,
    tmp_path: Path,
) -> None:
    waiting_ahead(engine)
    queue_chat(engine, "vraag van gisteren", language="nl", minutes_ago=90)  # past the 1 h promise
    errors: list[str] = []
    sophie = agent_console(browser, gateway, "sophie", errors)
    sophie.click("#go-online")
    expect(sophie.locator("#offered .queue-item")).to_have_count(AHEAD)

    # an unclear message: the topics, and always "none of these: a person"
    log = chat_page.locator("cc-chat-widget .log")
    expect(log.locator(".buttons")).to_have_count(1)  # the opening's choices, before the customer writes
    say(chat_page, "Ma facture est incompréhensible")
    expect(log.locator(".msg.bot").last).to_have_text(CLARIFY)
    choices = log.locator(".buttons").last.locator("button")
    expect(choices).to_have_text(["Comprendre ma facture", "Aucun : un conseiller"])
    choices.last.click()

    # in the queue: the expected wait (one agent online), leave and a callback offered
    expect(chat_page.locator("#status")).to_have_text("Un collègue va vous répondre", timeout=10000)
    expect(log.locator(".msg.bot").last).to_have_text(wait_text(1, joined=True))
    expect(log.locator(".buttons")).to_have_count(3)  # the opening's, the clarification's, the queue's
    offered = log.locator(".buttons").nth(2).locator("button")
    expect(offered).to_have_text(["Quitter la file", "Me recontacter plus tard"])
    mine = sophie.locator("#offered .queue-item").last
    expect(sophie.locator("#offered .queue-item")).to_have_count(AHEAD + 1)
    expect(mine.locator(".reason")).to_have_text("Demande un conseiller")
    cid = mine.get_attribute("data-conversation")

    # a colleague comes online: the wait halves, and the customer is told without asking
    add_agent(directory, gateway, "marc", ("fr",))
    expect(log.locator(".msg.notice").last).to_have_text(wait_text(2, joined=False), timeout=10000)
    expect(offered.first).to_be_disabled()  # superseded by the update's own buttons
    update = log.locator(".buttons").nth(3).locator("button")
    expect(update).to_have_text(["Quitter la file", "Me recontacter plus tard"])
    chat_page.screenshot(path=str(tmp_path / "queue-wait.png"))

    # leaving the queue: back with the bot, and gone from the agent's queue at once
    update.first.click()
    left = customer_text("queue_left", "fr").format(bot="Mila")
    expect(log.locator(".msg.bot").last).to_have_text(left)
    expect(chat_page.locator("#status")).to_have_text("Assistante numérique")
    expect(sophie.locator(f'#offered .queue-item[data-conversation="{cid}"]')).to_have_count(0)
    say(chat_page, "Et mon abonnement ?")
    expect(log.locator(".msg.bot").last).to_have_text("Réponse à : Et mon abonnement ?")
    sophie.click("#show-closed")
    sophie.fill("#closed-q", "incompréhensible")
    expect(sophie.locator("#closed .queue-item")).to_have_count(1)
    expect(sophie.locator("#closed .queue-item")).to_contain_text("Le client a quitté la file")

    # the promise counts the chat still waiting past it (the Dutch one, 90 min)
    sophie.click("#tab-metrics")
    expect(sophie.locator("#metric-sla .detail")).to_contain_text("1 attendent encore, depuis plus de 1 h")
    expect(sophie.locator("#metric-left-queue .value")).to_have_text("1 / 0")

    # back in the queue, then silent: the abandonment pass closes it and tells the customer
    say(chat_page, "Finalement je veux un conseiller")
    expect(chat_page.locator("#status")).to_have_text("Un collègue va vous répondre", timeout=10000)
    closed = abandon_silent_chats(settings, engine)
    assert cid in closed and len(closed) == AHEAD + 2  # the French ones, the Dutch one, the customer
    abandoned = customer_text("queue_abandoned", "fr").format(minutes=ABANDON_MINUTES)
    expect(log.locator(".msg.notice").last).to_have_text(abandoned, timeout=10000)
    expect(log.locator(".buttons button:enabled")).to_have_count(0)  # nothing left to press
    expect(chat_page.locator("#status")).to_have_text("Assistante numérique")
    chat_page.screenshot(path=str(tmp_path / "queue-abandoned.png"))

    # the metrics count the abandoned chats; the closed view labels them
    sophie.click("#tab-queue")
    sophie.click("#tab-metrics")
    escalations = AHEAD + 3  # the French, the Dutch, and the customer's two
    share = round(100 * (AHEAD + 2) / escalations)
    expect(sophie.locator("#metric-abandoned .value")).to_have_text(
        re.compile(rf"^{AHEAD + 2} \({share}\s?%\)$")
    )
    expect(sophie.locator("#metric-escalations .value")).to_have_text(str(escalations))
    assert errors == []


def test_a_customer_asks_to_be_contacted_later_and_the_agent_reads_it(
    chat_page: Page,
    gateway: httpx.Client,
    engine: Engine,
    settings: Settings,
    browser: Browser,
    directory: AgentDirectory,
    tmp_path: Path,
) -> None:
    ahead = waiting_ahead(engine)
    add_agent(directory, gateway, "marc", ("fr",))  # one agent online: a long wait

    log = chat_page.locator("cc-chat-widget .log")
    say(chat_page, "Je veux parler à un conseiller")
    expect(log.locator(".msg.bot").last).to_have_text(wait_text(1, joined=True), timeout=10000)
    log.locator(".buttons").last.get_by_role("button", name="Me recontacter plus tard").click()
    expect(log.locator(".msg.bot").last).to_have_text(customer_text("queue_callback_ask", "fr"))
    say(chat_page, "0470 12 34 56, de préférence après 17 h")
    expect(log.locator(".msg.bot").last).to_have_text(customer_text("queue_callback_noted", "fr"))
    expect(log.locator(".buttons").last.locator("button")).to_have_text(["Quitter la file"])
    expect(chat_page.locator("#status")).to_have_text("Un collègue va vous répondre")

    # the agent sees the request in the queue and in the chat, in French, 24 h Brussels time
    errors: list[str] = []
    sophie = agent_console(browser, gateway, "sophie", errors)
    sophie.click("#go-online")
    item = sophie.locator("#offered .queue-item").last
    expect(sophie.locator("#offered .queue-item")).to_have_count(AHEAD + 1)
    cid = item.get_attribute("data-conversation")
    assert cid is not None and cid not in ahead
    asked = callback_time(engine, settings, cid)
    # today's time alone ("14:05"); with its day only if midnight passed in between
    expect(item.locator(".callback")).to_have_text(
        re.compile(rf"^Souhaite être recontacté \(demandé à (.+ )?{asked}\)$")
    )
    for other in ahead:
        expect(sophie.locator(f'#offered .queue-item[data-conversation="{other}"] .callback')).to_have_count(
            0
        )
    item.click()
    expect(sophie.locator("#p-callback")).to_have_text(
        re.compile(
            rf"^Le client a demandé à (.+ )?{asked} à être recontacté plus tard : "
            "ses coordonnées sont dans la conversation.$"
        )
    )
    expect(sophie.locator("#p-slots")).not_to_contain_text("requested_at")
    expect(sophie.locator("#transcript .entry.customer").last).to_contain_text("0470 12 34 56")
    sophie.screenshot(path=str(tmp_path / "console-callback-fr.png"))

    # a chat waiting for a callback is never closed for silence; the agent takes it and answers
    closed = abandon_silent_chats(settings, engine)
    assert sorted(closed) == sorted(ahead)
    sophie.click("#claim")
    expect(sophie.locator("#reply-form")).to_be_visible()
    sophie.fill("#reply-text", "Bonjour, je vous appelle à 17 h.")
    sophie.click("#send-reply")
    expect(log.locator(".msg.agent").last).to_contain_text("je vous appelle à 17 h", timeout=10000)
    assert errors == []


def callback_time(engine: Engine, settings: Settings, conversation_id: str) -> str:
    """When the customer asked for the callback, as the console shows it: 24 h, the team's zone."""
    with engine.connect() as conn:
        slots = conn.execute(
            select(handoffs.c.slots).where(handoffs.c.conversation_id == conversation_id)
        ).scalar_one()
    asked = datetime.fromisoformat(slots[CALLBACK_SLOT]["requested_at"])
    return asked.astimezone(settings.time_zone).strftime("%H:%M")
