"""The web chat: the chat API, the gateway's own chat page and the embeddable widget.

``<script src="https://<gateway>/widget.js" defer></script>`` puts the chat on any page; the
gateway's page (``/``) is the same script in full-page mode. :func:`install_webchat` installs on
the gateway: the script and a small JSON config (the persona), the chat API (a message, the
history to restore a reloaded page, the stream of what reaches the customer outside a request),
and CORS for the endpoints the widget calls from the host page's origin. A conversation is
opened by the random token the gateway issues with it (bot/channels/chat_access.py: a header for
the embedded widget and API clients, an HttpOnly cookie for the gateway's own page); CORS never
allows credentials, so no other site's page can use that cookie.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.channels.chat_access import (
    TOKEN_HEADER,
    check_rate,
    session_for_reading,
    session_for_sending,
    set_cookie,
)
from bot.channels.chat_spool import SPOOL_FILE, ChatSpool, database_away, spool_answer
from bot.core import events
from bot.core.chat_sessions import ChatSession
from bot.core.db import OWNER_AGENT, OWNER_QUEUED, utcnow
from bot.core.feed import ChangeFeed, Event
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.store import ConversationStore
from bot.core.typing_signals import AGENT, CUSTOMER, signal_typing
from bot.router import IncomingMessage, InvalidMessage, Router, RouterResult, valid_sender
from bot.web.http import (
    ApiError,
    error_response,
    event_id,
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
    {
        "/widget.js",
        "/api/widget/config",
        "/api/chat",
        "/api/chat/history",
        "/api/chat/stream",
        "/api/chat/welcome",  # bot/channels/welcome.py: the opening message
        "/api/chat/typing",  # the customer is typing (bot/core/typing_signals.py)
    }
)
ANY_ORIGIN = ("*",)
HISTORY_WINDOW = timedelta(hours=24)  # earlier conversations a reloaded page still shows
HISTORY_MESSAGES = 500  # at most this many (the newest) come back with a reload
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
    install_chat_routes(app, settings)
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
            allow_headers=["Content-Type", "Last-Event-ID", TOKEN_HEADER],
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


def install_chat_routes(app: FastAPI, settings: Settings) -> None:
    app.state.chat_spool = ChatSpool(settings.var_dir / SPOOL_FILE)

    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        """A customer message. While the database is away it is kept in the chat spool and
        answered with the apology (bot/channels/chat_spool.py)."""
        try:
            return await answer_chat(request)
        except Exception as exc:
            if not database_away(exc):
                raise
            services: ChatServices = request.app.state.services
            message = await read_chat_message(request, services.router)
            return await spool_answer(request, message, settings)

    async def answer_chat(request: Request) -> JSONResponse:
        """The answer names the conversation's ``sender`` and, when this request opened a
        conversation, its new ``token`` (also set as the page's cookie)."""
        await check_rate(request, settings)
        services: ChatServices = request.app.state.services
        message = await read_chat_message(request, services.router)
        try:
            handled = await run_in_threadpool(handle_chat, request, services.router, message)
        except InvalidMessage as exc:
            return error_response(413 if exc.too_large else 422, "invalid_message", str(exc))
        session, result, router_ms = handled
        timings = {**result.timings_ms, "router": router_ms}
        response = JSONResponse(
            {
                "replies": result.replies,
                "language": result.language,
                "owner": result.owner,
                "conversation_id": result.conversation_id,
                "sender": session.sender,
                "token": session.token,
            },
            headers={"Server-Timing": ", ".join(f"{k};dur={v:.1f}" for k, v in timings.items())},
        )
        if session.token is not None:
            set_cookie(response, request, settings, session.token)
        return response

    @app.get("/api/chat/history")
    async def history(request: Request) -> JSONResponse:
        """The customer's current (or just closed) conversation, to restore the page on reload."""
        session = await session_for_reading(request, _sender(request))
        services: ChatServices = request.app.state.services
        history = await run_in_threadpool(_history, services.store, session.sender)
        return JSONResponse(history, headers={"Cache-Control": "no-store"})  # a customer's transcript

    @app.post("/api/chat/typing")
    async def typing(request: Request) -> JSONResponse:
        """The customer is typing: shown to the agent who has the chat open (no body needed; the
        conversation is the token's). Counted only while a person has or will have the chat."""
        session = await session_for_reading(request, _sender(request))
        services: ChatServices = request.app.state.services
        sent = await run_in_threadpool(_customer_typing, services, session.sender)
        return JSONResponse({"ok": True, "sent": sent}, headers={"Cache-Control": "no-store"})

    @app.get("/api/chat/stream")
    async def stream(request: Request) -> Any:
        """Server-sent events: messages that reach the customer outside a request (an agent's
        replies, notices, the satisfaction question) and changes of who answers."""
        session = await session_for_reading(request, _sender(request), query=True)
        after = _int(request.query_params.get("after") or request.headers.get("last-event-id"))
        services: ChatServices = request.app.state.services
        view = CustomerStream(services.store, session.sender, after)
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


def handle_chat(
    request: Request, router: Router, message: IncomingMessage
) -> tuple[ChatSession, RouterResult, float]:
    """The message's session (kept on the request for the chat spool), then the router's answer
    and its time in milliseconds: in one worker thread, one hop from the event loop."""
    session = request.state.chat_session = session_for_sending(request, message.sender)
    started = time.perf_counter()
    result = router.handle(replace(message, sender=session.sender))
    return session, result, 1000 * (time.perf_counter() - started)


async def read_chat_message(request: Request, router: Router) -> IncomingMessage:
    """The message, checked as the router will check it: nothing is issued or stored for a
    message it would refuse. Its sender is the one the caller names, which the conversation
    token may not confirm (bot/channels/chat_access.py)."""
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
    key, new_key = _key(request)
    message = IncomingMessage(
        channel="web",
        sender=sender,
        text=text,
        locale=locale,
        metadata=metadata,
        source_key=key,
        new_key=new_key,
    )
    try:
        return router.validate(message)
    except InvalidMessage as exc:
        raise ApiError(413 if exc.too_large else 422, "invalid_message", str(exc)) from exc


def _key(request: Request) -> tuple[str, bool]:
    """The message's key at its source, one per request: the same when the request, cut short by
    the database going away after the message was stored, keeps it in the spool, whose replay then
    finds the stored message instead of storing it twice. True when it was made now (nothing can
    have been stored under it: the router need not look it up)."""
    key = getattr(request.state, "message_key", None)
    if key is not None:
        return key, False
    key = request.state.message_key = f"web:{uuid.uuid4().hex}"
    return key, True


def _sender(request: Request) -> str | None:
    """The optional ``sender`` query parameter, checked as the router checks a message's sender."""
    raw = request.query_params.get("sender")
    if raw is None:
        return None
    try:
        return valid_sender(raw)
    except InvalidMessage as exc:
        raise ApiError(422, "invalid_message", str(exc)) from exc


def _int(raw: str | None) -> int:
    """A message id to resume after (bot.web.http.event_id): 0 when absent, never beyond a
    stored id, 400 for anything but an integer."""
    return event_id(raw)


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


def _customer_typing(services: ChatServices, sender: str) -> bool:
    conv = services.store.latest_conversation("web", sender)
    if conv is None or conv.owner not in (OWNER_AGENT, OWNER_QUEUED):
        return False
    sent = signal_typing(services.store.engine, conv.id, CUSTOMER)
    if sent:
        services.feed.notify()
    return sent


def _history(store: ConversationStore, sender: str) -> dict[str, Any]:
    """The customer's current (or last) conversation, after the earlier ones of the last
    :data:`HISTORY_WINDOW` (a chat an agent closed stays on the page when the customer asks
    something new): every message, customer's, bot's, agent's and notices, oldest first, at
    most :data:`HISTORY_MESSAGES` (the newest). ``last_id`` is where the stream resumes."""
    conv = store.latest_conversation("web", sender)
    if conv is None:
        empty = {"conversation_id": None, "owner": None, "language": None, "messages": [], "last_id": 0}
        return {"sender": sender, **empty}
    since = utcnow() - HISTORY_WINDOW
    earlier = [c.id for c in store.conversations_since("web", sender, since) if c.id != conv.id]
    rows = store.newest_messages([*earlier, conv.id], HISTORY_MESSAGES)
    return {
        "sender": sender,
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
        typing = [c.data for c in mine if c.kind == events.TYPING and c.data["side"] == AGENT]
        chunks = self.chunks(pushed, owners[-1] if owners else None)
        return chunks + ([sse(events.TYPING, {"name": typing[-1]["name"]})] if typing else [])

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
