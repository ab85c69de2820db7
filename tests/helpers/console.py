"""Agents logging in to the console: over its HTTP API (one session cookie and CSRF token per
agent, several agents on one client) and in a browser page; chats waiting in the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from bot.agentdesk.console_api import COOKIE
from bot.core.chat_sessions import ChatSessions
from bot.core.db import conversations, handoffs, messages, utcnow
from bot.core.rules import default_rules
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation

PASSWORD = "correct horse battery"


@dataclass
class AgentApi:
    """A logged-in agent: its own session cookie and CSRF token, on a client shared with others."""

    http: httpx.Client
    token: str
    csrf: str
    username: str

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.token}"}

    @property
    def headers(self) -> dict[str, str]:
        """What every request of this agent sends: the session cookie and the CSRF token."""
        return {**self.cookie, "X-CSRF-Token": self.csrf}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/agent/api/{path}", params=params, headers=self.cookie)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(f"/agent/api/{path}", json=body or {}, headers=self.headers)

    def act(self, cid: str, action: str, **body: Any) -> httpx.Response:
        return self.post(f"conversations/{cid}/{action}", body)

    def ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        return response.json()

    def queue(self) -> dict[str, Any]:
        return self.ok(self.get("queue"))

    def packet(self, cid: str) -> dict[str, Any]:
        return self.ok(self.get(f"conversations/{cid}"))


def log_in_request(http: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/agent/api/login", json={"username": username, "password": password})


def set_cookie(response: httpx.Response) -> Any:
    return SimpleCookie(response.headers["set-cookie"])[COOKIE]


def log_in(http: httpx.Client, username: str) -> AgentApi:
    """Log ``username`` in (password PASSWORD); the client keeps no cookie of it afterwards."""
    response = log_in_request(http, username)
    assert response.status_code == 200, response.text
    http.cookies.clear()  # each AgentApi sends its own cookie: several agents share one client
    return AgentApi(http, set_cookie(response).value, response.json()["csrf"], username)


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def log_in_page(page: Page, base: str, username: str) -> None:
    """Log in on the console's page at ``base``, the way an agent does."""
    page.goto(base + "/agent/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-btn")
    expect(page.locator("#agent-name")).to_contain_text(username.title())


def agent_page(
    browser: Browser,
    base: str,
    username: str,
    errors: list[str],
    *,
    locale: str = "fr-BE",
    width: int = 1280,
    dialogs_are_errors: bool = False,
) -> Page:
    """The console at ``base`` in a new browser context, ``username`` logged in (log_in_page); the
    page's script errors go to ``errors``, and with ``dialogs_are_errors`` any dialog's message too
    (the dialog dismissed)."""
    page = browser.new_context(locale=locale, viewport={"width": width, "height": 800}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    if dialogs_are_errors:
        page.on("dialog", lambda d: (errors.append(d.message), d.dismiss()))
    log_in_page(page, base, username)
    return page


def hide_tab(page: Page) -> None:
    """As if the agent switched to another tab."""
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {get: () => true, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )


def add_agent(
    directory: AgentDirectory,
    http: httpx.Client,
    username: str,
    languages: tuple[str, ...] = ("nl",),
    *,
    role: str = "agent",
    online: bool = True,
) -> AgentApi:
    directory.create(username, PASSWORD, display_name=username.capitalize(), role=role, languages=languages)
    agent = log_in(http, username)
    if online:
        agent.ok(agent.post("presence", {"presence": "online"}))
    return agent


def queue_chat(
    engine: Engine,
    said: str,
    *,
    language: str = "nl",
    channel: str = "web",
    reason: str = "request_human",
    minutes_ago: float = 1,
    sender: str | None = None,
    summary: str | None = None,
) -> str:
    """A conversation where the customer said ``said``, queued ``minutes_ago`` with ``reason``."""
    with engine.begin() as conn:
        cid = insert_conversation(conn, language=language, channel=channel)
        if sender:
            conn.execute(update(conversations).where(conversations.c.id == cid).values(sender=sender))
        conn.execute(
            insert(messages).values(
                conversation_id=cid,
                direction="in",
                author="customer",
                text=said,
                language=language,
                status="answered",
            )
        )
    handoff = HandoffQueue(engine).escalate(
        cid, default_rules()[reason], summary=summary, slots={"plan": "Go"}
    )
    assert handoff is not None
    with engine.begin() as conn:
        created = utcnow() - timedelta(minutes=minutes_ago)
        conn.execute(update(handoffs).where(handoffs.c.id == handoff.id).values(created_at=created))
    return cid


def web_chat(engine: Engine, sender: str, said: str, **queued: Any) -> tuple[str, str, str]:
    """A web chat of ``sender``, who holds its conversation token, queued after they said ``said``
    (queue_chat; ``queued``: its options): (conversation, sender, token)."""
    session = ChatSessions(engine).claim(sender)
    assert session is not None and session.token
    return queue_chat(engine, said, sender=session.sender, **queued), session.sender, session.token
