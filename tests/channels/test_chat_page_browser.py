"""The gateway's full chat page (widget.js in page mode) in Chromium, on a desktop and a phone-size
window, against the real gateway on uvicorn, the fake Rasa and an agent over the console's API:
answered and superseded quick replies are disabled (an old one pressed after the agent closed the
chat starts nothing and the score is kept), the rating buttons arrive in view, a typing bubble
waits with the customer, and a reload brings back the agent's part without duplicates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import conversations, create_db_engine, csat
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.core.texts import text as customer_text
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from tests.helpers.chat_page import say
from tests.helpers.console import PASSWORD, AgentApi, log_in
from tests.helpers.gateway import live_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
HELPED = "Cela vous a-t-il aidé ?"
YES_NO = [{"title": "Oui", "payload": "/affirm"}, {"title": "Non", "payload": "/deny"}]


def helped_replies(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer asks whether it helped, with Oui / Non."""
    return [
        {"recipient_id": body["sender"], "text": f"Réponse à : {body['message']}"},
        {"recipient_id": body["sender"], "text": HELPED, "buttons": YES_NO},
    ]


@pytest.fixture
def gateway(
    gateway_settings: Settings, rasa: FakeServer, fast_password_hashing: None
) -> Iterator[httpx.Client]:
    rasa.state["reply"] = helped_replies  # type: ignore[attr-defined]
    with live_gateway(gateway_settings.with_overrides(feed_interval_s=0.05), channels=[]) as http:
        yield http


@pytest.fixture
def db(settings: Settings, gateway: httpx.Client) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ann(gateway: httpx.Client, db: Engine) -> AgentApi:
    AgentDirectory(db).create("ann", PASSWORD, display_name="Ann", languages=("fr",))
    agent = log_in(gateway, "ann")
    agent.ok(agent.post("presence", {"presence": "online"}))
    return agent


def log_of(page: Page) -> Locator:
    return page.locator("cc-chat-widget .log")


def handed_to(ann: AgentApi, db: Engine) -> str:
    """The page's conversation, escalated the way the action server does it, claimed by Ann."""
    with db.connect() as conn:
        sender = conn.execute(select(conversations.c.sender)).scalars().one()
    conv = ConversationStore(db).latest_conversation("web", sender)
    assert conv is not None
    assert HandoffQueue(db).escalate(conv.id, default_rules()["fraud"], summary="fraud", intents=["greet"])
    ann.ok(ann.act(conv.id, "claim"))
    return conv.id


def in_view(page: Page, target: Locator) -> bool:
    """Every pixel of ``target`` is inside the conversation's visible area and the window."""
    return target.evaluate(
        """(el) => {
            const box = el.getBoundingClientRect();
            const log = el.closest('.log').getBoundingClientRect();
            return box.top >= log.top - 1 && box.bottom <= log.bottom + 1
                && box.bottom <= window.innerHeight + 1 && box.height > 0;
        }"""
    )


def test_answered_and_superseded_quick_replies_are_disabled_and_the_score_is_kept(
    chat_page: Page, ann: AgentApi, db: Engine, tmp_path: Path
) -> None:
    log = log_of(chat_page)
    # the opening's choices first: a customer who writes before they arrive gets no opening
    expect(log.locator(".buttons")).to_have_count(1)
    say(chat_page, "Ma facture est trop élevée")
    first = log.locator(".buttons").nth(1)  # after the opening's choices
    expect(first.locator("button")).to_have_text(["Oui", "Non"])
    expect(first.locator("button:enabled")).to_have_count(2)
    expect(log.locator(".buttons").first.locator("button:enabled")).to_have_count(0)  # superseded

    say(chat_page, "Et mon abonnement ?")  # typed instead of pressed: the choices are answered
    expect(log.locator(".buttons")).to_have_count(3)
    expect(first.locator("button:enabled")).to_have_count(0)
    second = log.locator(".buttons").nth(2)
    second.get_by_role("button", name="Non").click()
    expect(log.locator(".msg.me").last).to_have_text("Non")
    expect(second.get_by_role("button", name="Non")).to_have_attribute("aria-pressed", "true")
    expect(log.locator(".buttons")).to_have_count(4)
    third = log.locator(".buttons").nth(3)
    expect(third.locator("button:enabled")).to_have_count(2)

    cid = handed_to(ann, db)  # the agent's notice supersedes the bot's question
    expect(log.locator(".msg.notice")).to_contain_text("Ann", timeout=10000)
    expect(third.locator("button:enabled")).to_have_count(0)
    ann.ok(ann.act(cid, "reply", text="Je regarde votre facture."))
    expect(log.locator(".msg.agent")).to_contain_text("Je regarde votre facture.")
    ann.ok(ann.act(cid, "close"))
    rating = log.locator(".buttons").last
    expect(rating.locator("button")).to_have_text(["1", "2", "3", "4", "5"], timeout=10000)
    expect(rating.locator("button:enabled")).to_have_count(5)
    expect(log.locator(".buttons button:enabled")).to_have_count(5)  # only the rating
    chat_page.screenshot(path=str(tmp_path / "chat-page.png"))

    old = third.get_by_role("button", name="Oui")  # an old choice, pressed anyway
    expect(old).to_be_disabled()
    old.dispatch_event("click")
    old.evaluate("el => el.click()")
    chat_page.wait_for_timeout(300)
    expect(log.locator(".msg.me").last).to_have_text("Non")  # nothing was sent

    rating.get_by_role("button", name="4").click()
    expect(log.locator(".msg.bot").last).to_have_text(customer_text("csat_thanks", "fr"), timeout=10000)
    with db.connect() as conn:
        owners = conn.execute(select(conversations.c.owner)).scalars().all()
        score = conn.execute(select(csat.c.score).where(csat.c.conversation_id == cid)).scalar_one()
    assert owners == ["closed"] and score == 4  # no new conversation, the score is kept


def test_the_rating_buttons_arrive_in_view(chat_page: Page, ann: AgentApi, db: Engine) -> None:
    log = log_of(chat_page)
    say(chat_page, "Ma facture est trop élevée")
    expect(log.locator(".msg.bot").last).to_have_text(HELPED)
    cid = handed_to(ann, db)
    for n in range(12):  # a long chat: the log scrolls
        ann.ok(ann.act(cid, "reply", text=f"Message {n} de votre conseillère, assez long pour une ligne."))
    expect(log.locator(".msg.agent")).to_have_count(12, timeout=10000)
    log.evaluate("el => { el.scrollTop = 0; }")  # the customer scrolled back up to read
    ann.ok(ann.act(cid, "close"))
    rating = log.locator(".buttons").last
    expect(rating.locator("button")).to_have_count(5, timeout=10000)
    deadline = time.monotonic() + 5
    while not in_view(chat_page, rating):
        assert time.monotonic() < deadline, "the rating buttons are not in view"
        chat_page.wait_for_timeout(50)
    assert in_view(chat_page, log.locator(".msg.notice").last)  # the question above them too


def test_a_typing_bubble_waits_with_the_customer(chat_page: Page, gateway: httpx.Client) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    chat_page.route(f"{gateway.base_url}/api/chat", hold)
    typing = chat_page.locator("cc-chat-widget .typing")
    expect(typing).to_be_hidden()
    say(chat_page, "Ma facture est trop élevée")
    expect(typing).to_be_visible()
    expect(typing.locator(".dot")).to_have_count(3)  # the "…" bubble
    expect(chat_page.get_by_role("status")).to_have_text("Mila est en train d'écrire…")
    expect(chat_page.locator("#send")).to_be_disabled()
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "the page never sent the message"
        chat_page.wait_for_timeout(50)
    chat_page.wait_for_timeout(300)
    expect(typing).to_be_visible()  # as long as the answer is on its way
    held[0].continue_()
    expect(log_of(chat_page).locator(".msg.bot").last).to_have_text(HELPED)
    expect(typing).to_be_hidden()
    assert chat_page.get_by_role("status").all_inner_texts() in ([], [""])


def test_a_reload_brings_back_the_agents_part_and_the_stream_adds_no_duplicates(
    chat_page: Page, ann: AgentApi, db: Engine
) -> None:
    log = log_of(chat_page)
    say(chat_page, "Ma facture est trop élevée")
    expect(log.locator(".msg.bot").last).to_have_text(HELPED)
    cid = handed_to(ann, db)
    ann.ok(ann.act(cid, "reply", text="Je regarde votre facture."))
    expect(log.locator(".msg.agent")).to_have_count(1, timeout=10000)
    say(chat_page, "Merci")
    expect(chat_page.locator("#send")).to_be_enabled()  # answered, so stored: a reload cuts no request off
    chat_page.reload()
    expect(log.locator(".msg.me")).to_have_text(["Ma facture est trop élevée", "Merci"])
    expect(log.locator(".msg.bot")).to_have_text(["Réponse à : Ma facture est trop élevée", HELPED])
    expect(log.locator(".msg.notice")).to_have_count(1)  # Ann joined
    expect(log.locator(".msg.agent")).to_have_text(["AnnJe regarde votre facture."])
    expect(chat_page.locator("#status")).to_contain_text("Ann")
    ann.ok(ann.act(cid, "reply", text="C'est corrigé."))
    expect(log.locator(".msg.agent")).to_have_count(2, timeout=10000)
    chat_page.wait_for_timeout(500)  # a repeated push would have arrived by now
    expect(log.locator(".msg.agent")).to_have_text(["AnnJe regarde votre facture.", "AnnC'est corrigé."])
    expect(log.locator(".msg.notice")).to_have_count(1)
    texts = [text.replace("\n", "") for text in log.locator(".msg").all_inner_texts()]
    assert (
        texts.index("AnnJe regarde votre facture.") < texts.index("Merci") < texts.index("AnnC'est corrigé.")
    )
