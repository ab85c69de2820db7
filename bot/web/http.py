"""The gateway's small HTTP toolkit, shared by the web chat, the channels' webhooks and the agents'
console: JSON errors in the documented shape, JSON request bodies, and server-sent event streams.

Every error a client gets is ``{"error": {"code": ..., "message": ...}}`` with its HTTP status:
return :func:`error_response`, or raise :class:`ApiError` in a route (the handler installed by
:func:`install_error_handler` answers it).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bot.core.events import page_script
from bot.core.feed import ChangeFeed, Event

KEEPALIVE_S = 15.0  # an idle stream says so this often: proxies cut silent connections
RETRY_MS = 2000  # how soon the browser's EventSource reconnects
KEEPALIVE = ": keep-alive\n\n"


# -- errors ---------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered as JSON with its status (see :func:`install_error_handler`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install_error_handler(app: FastAPI) -> None:
    """Answer an :class:`ApiError` raised by any route as its JSON error."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc))


# -- request bodies -------------------------------------------------------------------------


async def json_object(
    request: Request, max_bytes: int, *, require_json_type: bool = False, empty_is_object: bool = False
) -> dict[str, Any]:
    """The request body as a JSON object, or an :class:`ApiError`: 413 ``too_large`` above
    ``max_bytes``, 400 ``invalid_json`` for anything but a JSON object. ``require_json_type``
    first insists on ``Content-Type: application/json`` (415 ``json_required``);
    ``empty_is_object`` reads an empty body as ``{}``."""
    if require_json_type and not (request.headers.get("content-type") or "").startswith("application/json"):
        raise ApiError(415, "json_required", "send a JSON body (Content-Type: application/json)")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"request body must be at most {max_bytes} bytes")
    if not raw and empty_is_object:
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "request body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return body


# -- server-sent events ---------------------------------------------------------------------


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One server-sent event (``id`` only when given: the browser resumes after it)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class LiveView(Protocol):
    """What one open stream shows, as server-sent event chunks; None ends the stream."""

    async def start(self) -> list[str] | None:
        """The first chunks, read from the database."""

    async def update(self, changes: list[Event], complete: bool, moved: bool) -> list[str] | None:
        """The chunks for what the feed brought since the last round: ``changes``, all of them
        unless ``complete`` is False (some were already dropped: read the database again);
        ``moved`` is False when the wait timed out without the feed moving."""


async def feed_stream(
    request: Request,
    feed: ChangeFeed,
    view: LiveView,
    *,
    farewell: str | None = None,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[str]:
    """The stream loop: wait for the change feed, send what ``view`` makes of it, keep an idle
    connection alive with a comment, and stop when the client is gone or the view ends (after
    ``farewell``, if any)."""
    seq, version = feed.seq, feed.version
    yield f"retry: {RETRY_MS}\n\n"
    chunks = await view.start()
    last_sent = time.monotonic()
    while chunks is not None and not await request.is_disconnected():
        for chunk in chunks:
            yield chunk
        if chunks:
            last_sent = time.monotonic()
        previous = version
        version = await feed.wait(version, keepalive_s)
        changes, complete = feed.since(seq)
        seq = feed.seq
        chunks = await view.update(changes, complete, moved=version != previous)
        idle = version == previous or time.monotonic() - last_sent >= keepalive_s
        if chunks is not None and not chunks and idle:
            chunks = [KEEPALIVE]
    if chunks is None and farewell is not None:
        yield farewell


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- the pushed events' names, for the pages ------------------------------------------------


def events_script_response() -> Response:
    """``window.EVENTS``: the names of the pushed events (bot/core/events.py) for a page."""
    media_type = "text/javascript; charset=utf-8"
    return Response(page_script(), media_type=media_type, headers={"Cache-Control": "no-cache"})
