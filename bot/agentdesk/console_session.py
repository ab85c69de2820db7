"""What every route of the agents' console shares: its services, the agent's session (cookie,
CSRF token; the log-in throttle is handoff/throttle.py) and the request helpers of the
console's pages and API.

Security: the session cookie is HttpOnly, SameSite=Strict, ``Secure`` when SECURE_COOKIES is
set, and scoped to ``/agent``. Every state-changing request must be JSON (a cross-site form
cannot send that without a CORS preflight, which is never granted) and, once logged in, carry
the session's CSRF token in ``X-CSRF-Token``. Customer text only ever reaches the page as JSON
that the page renders with ``textContent``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.core.feed import ChangeFeed
from bot.core.hours import HoursRepository
from bot.core.outages import OutageRepository
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.web.http import ApiError, error_response, json_object
from handoff.agents import AgentDirectory, Session
from handoff.console import Console, ConsoleError
from handoff.customer import CustomerPanel
from handoff.throttle import LoginThrottle

if TYPE_CHECKING:  # the insights module is loaded by the gateway, only when it is wired in
    from bot.insights import Insights

STATIC_DIR = Path(__file__).with_name("static")
COOKIE = "cc_agent"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 16 * 1024


@dataclass
class ConsoleServices:
    settings: Settings
    directory: AgentDirectory
    console: Console
    store: ConversationStore
    outages: OutageRepository
    feed: ChangeFeed
    hours: HoursRepository
    insights: Insights | None = None
    customers: CustomerPanel | None = None  # the verified customer's panel (handoff/customer.py)
    login_throttle: LoginThrottle | None = None  # None: the default policy on the directory's database

    @property
    def throttle(self) -> LoginThrottle:
        if self.login_throttle is None:
            self.login_throttle = LoginThrottle(self.directory.engine)
        return self.login_throttle


def services_of(request: Request) -> ConsoleServices:
    return request.app.state.console


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object a state-changing request must send (an empty body counts as ``{}``)."""
    return await json_object(request, MAX_BODY_BYTES, require_json_type=True, empty_is_object=True)


async def current_session(request: Request, *, write: bool = False, admin: bool = False) -> Session:
    services = services_of(request)
    session = await run_in_threadpool(services.directory.session, request.cookies.get(COOKIE))
    if session is None:
        raise ApiError(401, "not_logged_in", "log in first")
    if write:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise ApiError(403, "csrf", "missing or wrong CSRF token")
    if admin and not session.agent.is_admin:
        raise ApiError(403, "admin_only", "only an admin can do this")
    return session


def me(session: Session, console: Console) -> dict[str, Any]:
    """The logged-in agent as their pages see them: the account, the console's language (None:
    the browser's), whether the queue offers them chats now, and the session's CSRF token."""
    agent = session.agent
    extra = {"ui_language": agent.ui_language, "available": console.is_available(agent)}
    return {**agent.public(), **extra, "csrf": session.csrf_token}


def query_int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def install_console_errors(app: FastAPI) -> None:
    """A refusal of the handoff console (not yours, taken meanwhile...) as a JSON error; the
    gateway answers :class:`ApiError` itself (bot.web.http)."""

    @app.exception_handler(ConsoleError)
    async def console_error(_request: Request, exc: ConsoleError) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc))
