"""The embeddable widget on a page of ANOTHER origin, in Debian's Chromium (Playwright), against the
real Rasa, action server and gateway: opened with the keyboard, a French chat with the typing
indicator, a reload, a human agent (over the console's HTTP API) answering live, the satisfaction
question, a phone-sized screen, and markup that stays text. The stack is the pass's shared one
(tests/conftest.py): each page is a customer of its own, and the agent claims that customer's chat."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect

from bot.channels.webchat import SCRIPT
from bot.core.chat_sessions import ChatSessions
from bot.core.db import create_db_engine
from bot.core.texts import text as customer_text
from bot.run import Stack
from tests.helpers.console import log_in
from tests.helpers.stack import WIDGET_AGENT, conversation_of

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
XSS = "<img src=x onerror=alert(1)>"
QUESTION = "Bonjour, comment puis-je payer ma facture ?"
# A shop page whose CSS would wreck an unprotected widget: none of it may reach the Shadow DOM.
HOST_PAGE = """<!doctype html>
<html lang="fr-BE">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Boutique</title>
<style>
  * { font-size: 40px !important; color: red !important; }
  button, input { display: none !important; }
</style>
</head>
<body>
<a href="#main">Aller au contenu</a>
<h1 id="main">Boutique en ligne</h1>
<p class="msg bot">Un paragraphe de la page, pas un message.</p>
<script src="GATEWAY/widget.js" defer></script>
</body>
</html>
"""


@contextmanager
def serving(respond: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A local HTTP server on a free port (an origin of its own) answering GETs with ``respond``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            with suppress(BrokenPipeError, ConnectionResetError):  # the browser went away
                respond(self)

        def do_OPTIONS(self) -> None:  # noqa: N802 (the preflight of a request with X-Chat-Token)
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Chat-Token")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def send(handler: BaseHTTPRequestHandler, body: bytes, content_type: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Access-Control-Allow-Origin", "*")
    handler.end_headers()
    handler.wfile.write(body)


def host_html(gateway: str, sender: str | None = None, token: str | None = None) -> bytes:
    """The shop's page embedding the widget of ``gateway`` (optionally as a returning customer:
    the sender and conversation token the widget kept in the host page's localStorage)."""
    page = HOST_PAGE.replace("GATEWAY", gateway)
    known = {"sender": sender, "token": token}
    for key, value in known.items():
        if value:
            stored = f"<script>localStorage.setItem('cc-widget:{gateway}:{key}', '{value}')</script>\n"
            page = page.replace("<script src=", stored + "<script src=")
    return page.encode()


@pytest.fixture(scope="module")
def host_page(stack: Stack) -> Iterator[str]:
    """The shop's page, served from another origin (its own port) than the gateway."""
    page = host_html(stack.settings.gateway_url)
    with serving(lambda handler: send(handler, page, "text/html; charset=utf-8")) as url:
        yield url + "/shop.html"


@dataclass
class Pages:
    """Pages in fresh browser contexts (own storage) whose dialogs are recorded (none may open)."""

    browser: Browser
    dialogs: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def open(self, width: int, height: int) -> Page:
        """The browser speaks English; the shop's page is French (<html lang="fr-BE">)."""
        context = self.browser.new_context(locale="en-US", viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        return page


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    for context in opened.contexts:
        context.close()


def tab_to(page: Page, target: Locator, limit: int = 20) -> None:
    """Press Tab until ``target`` has the focus, the way a keyboard user gets there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("e => e.getRootNode().activeElement === e"):
            return
    raise AssertionError("Tab never reached the element")


class Agent:
    """Sophie, working the console through its HTTP API."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=15)
        self.http.headers.update(log_in(self.http, WIDGET_AGENT).headers)
        self.post("presence", presence="online")

    def post(self, path: str, **body: str) -> None:
        response = self.http.post(f"/agent/api/{path}", json=body)
        assert response.status_code == 200, response.text

    def act(self, conversation_id: str, action: str, **body: str) -> None:
        self.post(f"conversations/{conversation_id}/{action}", **body)


def assert_box(locator: Locator, expected: dict[str, float], tolerance: float = 1.0) -> None:
    """The element's box is ``expected`` to within ``tolerance`` px (layout may land on sub-pixels)."""
    box = locator.bounding_box()
    assert box is not None, "the element is not rendered"
    assert all(abs(box[side] - value) <= tolerance for side, value in expected.items()), (box, expected)


def say(page: Page, widget: Locator, text: str) -> None:
    widget.locator("input").fill(text)
    widget.locator("input").press("Enter")


def test_widget_on_another_origin_chats_survives_reloads_and_brings_the_agent(
    stack: Stack, host_page: str, pages: Pages, tmp_path: Path
) -> None:
    base = stack.settings.gateway_url
    page = pages.open(1280, 800)
    page.goto(host_page)
    widget = page.locator("cc-chat-widget")
    launcher, panel, log = widget.locator(".launcher"), widget.locator(".panel"), widget.locator(".log")

    # The launcher is there, untouched by the page's CSS, and the widget's CSS stays inside.
    expect(launcher).to_be_visible()
    viewport = page.viewport_size
    assert viewport is not None
    # 60 px square, 20 px from the right and bottom edges of the window
    assert_box(
        launcher,
        {"x": viewport["width"] - 80, "y": viewport["height"] - 80, "width": 60, "height": 60},
    )
    expect(launcher.locator("img")).to_have_attribute("src", f"{base}/static/avatar.svg")
    expect(launcher).to_have_attribute("aria-label", "Ouvrir le chat")  # the page's language
    host_paragraph = page.locator("body > p.msg")
    assert host_paragraph.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    expect(panel).to_be_hidden()

    # Keyboard only: Tab to the launcher, Enter opens, the focus lands in the input.
    tab_to(page, launcher)
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(widget.get_by_label("Votre message")).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.locator("h2")).to_have_text("Mila")
    expect(widget.locator(".status")).to_have_text("Assistante numérique")
    expect(log).to_have_attribute("aria-live", "polite")  # new messages are read out
    # The opening message, in the page's language: the persona, a privacy line, four choices.
    expect(log.locator(".msg.bot").first).to_contain_text("Bonjour ! Je suis Mila")
    expect(log.locator(".buttons button").last).to_have_text("Parler à un collègue")

    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    expect(log.locator(".msg.bot").nth(1)).to_contain_text("Bancontact", timeout=20000)
    expect(widget.locator(".typing")).to_be_hidden()

    page.reload()  # the conversation (and the open panel) survive a reload
    expect(log.locator(".msg.me").first).to_have_text(QUESTION)
    expect(log.locator(".msg.bot").first).to_contain_text("Bancontact")
    expect(panel).to_be_visible()

    # While an answer is on its way the typing indicator shows (the request is held meanwhile).
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(f"{base}/api/chat", hold)
    say(page, widget, XSS)
    expect(widget.locator(".typing")).to_be_visible()
    expect(widget.locator(".typing")).to_contain_text("Mila est en train d'écrire…")
    expect(widget.locator(".send")).to_be_disabled()
    deadline = time.monotonic() + 20
    while not held:
        assert time.monotonic() < deadline, "the widget never sent the message"
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute(f"{base}/api/chat")
    expect(widget.locator(".typing")).to_be_hidden(timeout=20000)
    expect(log.locator(".msg.me").last).to_have_text(XSS)  # as text, never as markup
    assert log.locator("img").count() == 0

    say(page, widget, "je veux parler à un conseiller")
    expect(widget.locator(".status")).to_have_text("Un collègue va vous répondre", timeout=20000)
    page.keyboard.press("Escape")  # the customer closes the panel while waiting
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()

    # Sophie claims the chat and answers: both arrive without a reload.
    sophie = Agent(base)
    conversation = conversation_of(page, base)
    sophie.act(conversation, "claim")
    expect(widget.locator(".badge")).to_be_visible(timeout=5000)  # news while the panel was closed
    expect(launcher).to_have_attribute("aria-label", "Ouvrir le chat (nouveau message)")
    page.keyboard.press("Enter")
    expect(widget.get_by_label("Votre message")).to_be_focused()
    expect(widget.locator(".badge")).to_be_hidden()
    joined = customer_text("agent_joined", "fr").format(agent="Sophie")
    expect(log.locator(".msg.notice").last).to_have_text(joined)
    expect(log.locator(".msg.notice").last).to_have_css("text-align", "center")
    expect(widget.locator(".status")).to_have_text("Un collègue vous aide · Sophie")
    sophie.act(conversation, "reply", text="Bonjour, je regarde votre facture tout de suite.")
    answer = log.locator(".msg.agent").last
    expect(answer).to_contain_text("je regarde votre facture", timeout=5000)
    expect(answer.locator(".who")).to_have_text("Sophie")

    # Closing asks for a score; after a reload only that newest question's buttons are offered.
    sophie.act(conversation, "close")
    expect(log.locator(".msg.notice").last).to_have_text(customer_text("csat_question", "fr"), timeout=5000)
    page.reload()
    expect(log.locator(".msg.agent")).to_contain_text("je regarde votre facture")
    expect(widget.locator(".status")).to_have_text("Assistante numérique")
    expect(log.locator(".buttons")).to_have_count(1)
    expect(log.locator(".buttons button")).to_have_text(["1", "2", "3", "4", "5"])
    tab_to(page, log.get_by_role("button", name="4"))
    page.keyboard.press("Enter")
    expect(log.locator(".msg.me").last).to_have_text("4")
    expect(log.locator(".msg.bot").last).to_have_text(customer_text("csat_thanks", "fr"), timeout=10000)
    expect(log.locator(".buttons button:enabled")).to_have_count(0)  # answered: none can be pressed again
    expect(log.locator(".buttons button[aria-pressed=true]")).to_have_text("4")
    page.screenshot(path=str(tmp_path / "widget-desktop.png"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert pages.dialogs == []  # no script from a message ever ran


@pytest.mark.parametrize("width", [320, 390])
def test_widget_is_full_screen_on_a_phone_and_escape_returns_to_the_launcher(
    stack: Stack, host_page: str, pages: Pages, tmp_path: Path, width: int
) -> None:
    page = pages.open(width, 760)
    page.goto(host_page)
    widget = page.locator("cc-chat-widget")
    launcher, panel = widget.locator(".launcher"), widget.locator(".panel")

    tab_to(page, launcher)
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    assert_box(panel, {"x": 0, "y": 0, "width": width, "height": 760})  # the whole viewport
    expect(widget.get_by_label("Votre message")).to_be_focused()
    expect(widget.locator(".close")).to_have_attribute("aria-label", "Fermer le chat")
    expect(launcher).to_be_hidden()  # the panel's own close button replaces it
    expect(widget.locator(".log .buttons button")).to_have_count(4)  # the opening's choices
    for _ in range(6):  # from the input back through the four choices, the conversation, the header
        page.keyboard.press("Shift+Tab")
    expect(widget.locator(".close")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # full screen, the focus stays in the panel
    expect(widget.locator(".send")).to_be_focused()
    page.keyboard.press("Tab")
    expect(widget.locator(".close")).to_be_focused()
    page.screenshot(path=str(tmp_path / f"widget-phone-{width}.png"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_visible()
    expect(launcher).to_be_focused()
    assert pages.dialogs == []


def message(mid: int, author: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "author": author, "text": text, "buttons": [], "event": None, "agent": None, **extra}


HISTORY = {
    "conversation_id": "c-1",
    "owner": "agent",
    "language": "en",
    "last_id": 5,
    "messages": [
        message(1, "customer", "hello"),
        message(2, "bot", "Did that help?", buttons=[{"title": "Yes", "payload": "/affirm"}]),
        message(3, "customer", "No"),
        message(4, "system", "Sam has joined.", event="agent_joined", agent="Sam"),
        message(
            5, "bot", "Pick one", buttons=[{"title": "A", "payload": "a"}, {"title": "B", "payload": "b"}]
        ),
    ],
}
RETURNING_TOKEN = "tok3n-of-the-returning-customer-0123456789ab"
PUSHED = [
    message(7, "agent", "First reply", event="agent_reply", agent="Sam"),
    message(8, "agent", "Second reply", event="agent_reply", agent="Sam"),
]


class FakeGateway:
    """Just enough of the gateway for a returning customer: the script, its config, a history whose
    newest message is id 5, and a stream that ends after each push (a proxy cutting it, say). The
    second connection sends message 7 again, the way an overlap would."""

    def __init__(self) -> None:
        self.stream_after: list[str] = []
        self.tokens: list[str | None] = []  # the token each history and stream request carried

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        if url.path == "/widget.js":
            send(handler, SCRIPT.read_bytes(), "text/javascript; charset=utf-8")
        elif url.path == "/api/widget/config":
            self.json(handler, {"botName": "Mila", "avatar": "/static/avatar.svg", "defaultLanguage": "nl"})
        elif url.path == "/static/avatar.svg":
            send(handler, (SCRIPT.parent / "avatar.svg").read_bytes(), "image/svg+xml")
        elif url.path == "/api/chat/history":
            self.tokens.append(handler.headers.get("X-Chat-Token"))
            self.json(handler, HISTORY)
        elif url.path == "/api/chat/stream":
            query = parse_qs(url.query)
            self.tokens.append(query.get("token", [None])[0])  # EventSource sends no headers
            self.stream(handler, query["after"][0])
        else:
            handler.send_error(404)

    def json(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        send(handler, json.dumps(body).encode(), "application/json")

    def stream(self, handler: BaseHTTPRequestHandler, after: str) -> None:
        self.stream_after.append(after)
        pushed = PUSHED[: len(self.stream_after)]
        events = "".join(f"id: {m['id']}\nevent: message\ndata: {json.dumps(m)}\n\n" for m in pushed)
        send(handler, ("retry: 60000\n\n" + events).encode(), "text/event-stream")


def test_a_returning_customer_gets_the_history_and_the_stream_resumes_after_the_last_id(
    pages: Pages, tmp_path: Path
) -> None:
    fake = FakeGateway()
    with serving(fake.respond) as gateway:
        page_html = host_html(gateway, sender="s-1", token=RETURNING_TOKEN)
        with serving(lambda handler: send(handler, page_html, "text/html; charset=utf-8")) as shop:
            page = pages.open(1280, 800)
            page.goto(shop + "/shop.html")
            widget = page.locator("cc-chat-widget")
            launcher, log = widget.locator(".launcher"), widget.locator(".log")

            expect(widget.locator(".badge")).to_be_visible(timeout=5000)  # pushed while closed
            expect(launcher).to_have_attribute("aria-label", "Open chat (new message)")  # the chat's language
            for _ in range(50):
                if len(fake.stream_after) >= 3:
                    break
                page.wait_for_timeout(100)
            assert fake.stream_after[:3] == ["5", "7", "8"]  # each reconnection resumes after the last id
            assert set(fake.tokens) == {RETURNING_TOKEN}  # the history and every stream carried it

            tab_to(page, launcher)
            page.keyboard.press("Enter")
            expect(log.locator(".msg.agent")).to_have_text(["SamFirst reply", "SamSecond reply"])
            expect(log.locator(".buttons")).to_have_count(1)  # only the newest message's choices
            expect(log.locator(".buttons button")).to_have_text(["A", "B"])
            expect(widget.locator(".status")).to_have_text("A colleague is helping you · Sam")
            expect(widget.get_by_label("Your message")).to_be_focused()
            page.screenshot(path=str(tmp_path / "widget-returning.png"))
    assert pages.dialogs == []


@pytest.mark.parametrize("kept", ["sender of before the tokens", "token that opens nothing"])
def test_a_widget_without_a_valid_token_starts_a_conversation_of_its_own(
    stack: Stack, pages: Pages, kept: str
) -> None:
    """A widget of before the tokens kept only its sender (its conversation is not shown: the
    sender travelled in URLs); one whose token no longer opens anything (erased) forgets it. Either
    way the customer's next message opens a new conversation whose token the widget keeps."""
    base = stack.settings.gateway_url
    old = f"s-{uuid.uuid4().hex}"
    earlier = httpx.post(f"{base}/api/chat", json={"sender": old, "text": "mijn oude vraag"}, timeout=30)
    assert earlier.status_code == 200
    engine = create_db_engine(stack.settings.database_url)
    try:
        ChatSessions(engine).forget(old)  # as before the upgrade, or after an erasure
    finally:
        engine.dispose()
    token = "A" * 43 if kept.startswith("token") else None
    page_html = host_html(base, sender=old, token=token)
    with serving(lambda handler: send(handler, page_html, "text/html; charset=utf-8")) as shop:
        page = pages.open(1280, 800)
        page.goto(shop + "/shop.html")
        widget = page.locator("cc-chat-widget")
        widget.locator(".launcher").click()
        log = widget.locator(".log")
        # the opening's four choices: the widget greets only once its (refused) restore is over
        expect(log.locator(".buttons button")).to_have_count(4)
        expect(log.locator(".msg.me")).to_have_count(0)  # nothing of the old conversation
        expect(log).not_to_contain_text("mijn oude vraag")
        say(page, widget, QUESTION)
        expect(log).to_contain_text("Bancontact", timeout=20000)
        read = "key => localStorage.getItem(key)"
        sender, kept_token = (page.evaluate(read, f"cc-widget:{base}:{key}") for key in ("sender", "token"))
    assert sender and sender != old and kept_token and kept_token != token
    history = httpx.get(f"{base}/api/chat/history", headers={"X-Chat-Token": kept_token}).json()
    assert history["sender"] == sender and history["messages"][0]["text"] == QUESTION
    assert pages.dialogs == []
