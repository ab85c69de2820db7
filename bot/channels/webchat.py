"""The web chat: the chat API, the gateway's own chat page and the embeddable widget.

``<script src="https://<gateway>/widget.js" defer></script>`` puts the chat on any page; the
gateway's page (``/``) is the same script in full-page mode. :func:`install_webchat` installs on
the gateway: the script and a small JSON config (the persona), the chat API (a message, the
history to restore a reloaded page, the stream of what reaches the customer outside a request),
and CORS for the endpoints the widget calls from the host page's origin. No cookies or
credentials are involved: the customer is identified by the random sender id the widget keeps
in the host page's localStorage.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.core import events
from bot.core.feed import ChangeFeed, Event
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.store import ConversationStore
from bot.router import IncomingMessage, InvalidMessage, Router, valid_sender
from bot.web.http import (
    MAX_ROW_ID,
    ApiError,
    error_response,
    events_script_response,
    feed_stream,
    json_object,
    sse,
    sse_response,
)

STATIC_DIR = Path(__file__).with_name("static")
SCRIPT = STATIC_DIR / "widget.js"
CACHE_S = 300  # short: a new widget.js reaches host pages within minutes
WIDGET_PATHS = frozenset(
    {"/widget.js", "/api/widget/config", "/api/chat", "/api/chat/history", "/api/chat/stream"}
)
ANY_ORIGIN = ("*",)
MAX_BODY_BYTES = 64 * 1024
# Where widget.js takes the pushed events' names: /*EVENTS*/{...}/*EVENTS*/, written in when served.
EVENTS_SLOT = re.compile(rb"/\*EVENTS\*/(.*?)/\*EVENTS\*/", re.DOTALL)


class ChatServices(Protocol):
    """What the chat routes use of the gateway's services (``app.state.services``)."""

    router: Router
    store: ConversationStore
    feed: ChangeFeed


def install_webchat(app: FastAPI, settings: Settings) -> None:
    """The web chat on the gateway: the widget, the chat API and the chat page."""
    install_widget(app, settings)
    install_chat_routes(app)
    install_chat_page(app, settings)


# -- the widget -----------------------------------------------------------------------------


def install_widget(app: FastAPI, settings: Settings) -> None:
    """Routes and cross-origin rules the widget needs on the gateway."""
    app.add_middleware(WidgetCors, paths=WIDGET_PATHS, origins=widget_origins(settings))

    @app.get("/widget.js", include_in_schema=False)
    async def widget_script(request: Request) -> Response:
        return script_response(request)

    @app.get("/api/widget/config")
    async def widget_config(request: Request) -> JSONResponse:
        return JSONResponse(config(settings, str(request.base_url)), headers=cache_headers())


def widget_origins(settings: Settings) -> tuple[str, ...]:
    """The host-page origins allowed to call the widget's endpoints (WIDGET_ORIGINS, ``*`` = any).

    Read defensively so the gateway still starts on settings without the field.
    """
    origins = tuple(getattr(settings, "widget_origins", None) or ANY_ORIGIN)
    return ANY_ORIGIN if "*" in origins else tuple(o.rstrip("/") for o in origins)


def config(settings: Settings, base_url: str) -> dict[str, object]:
    """What the widget shows before the first message: the persona and the languages."""
    return {
        "botName": settings.bot_name,
        "avatar": urljoin(base_url, settings.bot_avatar_url),
        "languages": list(SUPPORTED_LANGUAGES),
        "defaultLanguage": settings.default_language,
        "maxMessageChars": settings.max_message_chars,
    }


def cache_headers() -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={CACHE_S}", "X-Content-Type-Options": "nosniff"}


def widget_script() -> bytes:
    """widget.js with the pushed events' names written in from :mod:`bot.core.events`: the
    widget runs on other sites' pages, so it brings them itself rather than read a global."""
    names = events.page_json().encode()
    return EVENTS_SLOT.sub(lambda _match: names, SCRIPT.read_bytes(), count=1)


def script_response(request: Request) -> Response:
    """widget.js as JavaScript with a short cache and an ETag (a revalidation costs a 304)."""
    body = widget_script()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {**cache_headers(), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


class WidgetCors:
    """Starlette's CORSMiddleware, applied only to the widget's paths: the agent console and
    everything else on the gateway stay same-origin."""

    def __init__(self, app: ASGIApp, paths: frozenset[str], origins: tuple[str, ...]) -> None:
        self.app, self.paths = app, paths
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Last-Event-ID"],
            allow_credentials=False,
            expose_headers=["Server-Timing"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# -- the chat API ---------------------------------------------------------------------------


def install_chat_routes(app: FastAPI) -> None:
    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        message = await read_chat_message(request)
        services: ChatServices = request.app.state.services
        started = time.perf_counter()
        try:
            result = await run_in_threadpool(services.router.handle, message)
        except InvalidMessage as exc:
            return error_response(413 if exc.too_large else 422, "invalid_message", str(exc))
        timings = {**result.timings_ms, "router": 1000 * (time.perf_counter() - started)}
        return JSONResponse(
            {
                "replies": result.replies,
                "language": result.language,
                "owner": result.owner,
                "conversation_id": result.conversation_id,
            },
            headers={"Server-Timing": ", ".join(f"{k};dur={v:.1f}" for k, v in timings.items())},
        )

    @app.get("/api/chat/history")
    async def history(request: Request) -> JSONResponse:
        """The customer's current (or just closed) conversation, to restore the page on reload."""
        sender = _sender(request)
        services: ChatServices = request.app.state.services
        return JSONResponse(await run_in_threadpool(_history, services.store, sender))

    @app.get("/api/chat/stream")
    async def stream(request: Request) -> Any:
        """Server-sent events: messages that reach the customer outside a request (an agent's
        replies, notices, the satisfaction question) and changes of who answers."""
        sender = _sender(request)
        after = _int(request.query_params.get("after") or request.headers.get("last-event-id"))
        services: ChatServices = request.app.state.services
        view = CustomerStream(services.store, sender, after)
        return sse_response(feed_stream(request, services.feed, view))


def install_chat_page(app: FastAPI, settings: Settings) -> None:
    @app.get("/", response_class=HTMLResponse)
    async def webchat() -> HTMLResponse:
        page = (STATIC_DIR / "webchat.html").read_text(encoding="utf-8")
        config = json.dumps({"botName": settings.bot_name, "avatar": settings.bot_avatar_url})
        return HTMLResponse(page.replace("/*CONFIG*/{}", config))

    @app.get("/events.js", include_in_schema=False)
    async def events_script() -> Response:
        """``window.EVENTS`` for the customer's pages on the gateway (widget.js has them built in)."""
        return events_script_response()


async def read_chat_message(request: Request) -> IncomingMessage:
    body = await json_object(request, MAX_BODY_BYTES)
    sender, text, locale = body.get("sender"), body.get("text"), body.get("locale")
    title = body.get("button_title")
    if not isinstance(sender, str) or not sender.strip():
        raise ApiError(422, "invalid_message", "sender is required and must be a non-empty string")
    if not isinstance(text, str):
        raise ApiError(422, "invalid_message", "text is required and must be a string")
    if locale is not None and not isinstance(locale, str):
        raise ApiError(422, "invalid_message", "locale must be a string")
    if title is not None and not isinstance(title, str):
        raise ApiError(422, "invalid_message", "button_title must be a string")
    metadata = {"button_title": title} if title else {}
    return IncomingMessage(channel="web", sender=sender, text=text, locale=locale, metadata=metadata)


def _sender(request: Request) -> str:
    """The ``sender`` query parameter, checked as the router checks a message's sender."""
    try:
        return valid_sender(request.query_params.get("sender"))
    except InvalidMessage as exc:
        raise ApiError(422, "invalid_message", str(exc)) from exc


def _int(raw: str | None) -> int:
    """A message id to resume after: 0 when absent or not a number, never beyond a stored id."""
    try:
        return min(max(0, int(raw)), MAX_ROW_ID) if raw else 0
    except ValueError:
        return 0


def _public_message(message: dict[str, Any]) -> dict[str, Any]:
    payload = message.get("payload") or {}
    return {
        "id": message["id"],
        "author": message["author"],
        "text": payload.get("button_title") or message["text"],
        "buttons": payload.get("buttons") or [],
        "event": payload.get("event"),
        "agent": payload.get("agent"),
        "at": message["created_at"].isoformat(),
    }


def _history(store: ConversationStore, sender: str) -> dict[str, Any]:
    conv = store.latest_conversation("web", sender)
    if conv is None:
        return {"conversation_id": None, "owner": None, "language": None, "messages": [], "last_id": 0}
    rows = store.messages_after([conv.id])
    return {
        "conversation_id": conv.id,
        "owner": conv.owner,
        "language": conv.language,
        "messages": [_public_message(m) for m in rows],
        "last_id": rows[-1]["id"] if rows else 0,
    }


# -- the customer's stream ------------------------------------------------------------------


def _pushed(message: dict[str, Any]) -> bool:
    return (message.get("payload") or {}).get("event") in events.NOTICES


class CustomerStream:
    """Pushed messages and owner changes of one web customer, from the change feed's memory;
    the database is read at the start and only again if the feed dropped events meanwhile."""

    def __init__(self, store: ConversationStore, sender: str, after: int) -> None:
        self.store, self.sender, self.after = store, sender, after
        self.last_owner: str | None = None

    async def start(self) -> list[str]:
        return await self.resync()

    async def update(self, changes: list[Event], complete: bool, moved: bool) -> list[str]:
        if not complete:
            return await self.resync()
        mine = [c for c in changes if c.channel == "web" and c.sender == self.sender]
        pushed = [
            _public_message(c.data)
            for c in mine
            if c.kind == events.MESSAGE and c.data["id"] > self.after and _pushed(c.data)
        ]
        self.after = max([self.after, *(m["id"] for m in pushed)])
        owners = [c.data["owner"] for c in mine if c.kind == events.OWNER]
        return self.chunks(pushed, owners[-1] if owners else None)

    async def resync(self) -> list[str]:
        pushed, self.after, owner = await run_in_threadpool(self._pushed_since, self.after)
        return self.chunks(pushed, owner)

    def _pushed_since(self, after: int) -> tuple[list[dict[str, Any]], int, str | None]:
        """Pushed messages after ``after``, the newest message id seen, and who answers now."""
        conv = self.store.latest_conversation("web", self.sender)
        if conv is None:
            return [], after, None
        rows = self.store.messages_after([conv.id], after)
        pushed = [_public_message(m) for m in rows if _pushed(m)]
        return pushed, max([after, *(m["id"] for m in rows)]), conv.owner

    def chunks(self, pushed: list[dict[str, Any]], owner: str | None) -> list[str]:
        chunks = [sse(events.MESSAGE, m, m["id"]) for m in pushed]
        if owner is not None and owner != self.last_owner:
            self.last_owner = owner
            chunks.append(sse(events.OWNER, {"owner": owner}))
        return chunks
