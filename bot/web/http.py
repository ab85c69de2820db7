"""The gateway's small HTTP toolkit, shared by the web chat, the channels' webhooks and the agents'
console: JSON errors in the documented shape, JSON request bodies, a stream's resume id and the
client's address (X-Forwarded-For from trusted proxies only), and server-sent event streams.

Every error a client gets is ``{"error": {"code": ..., "message": ...}}`` with its HTTP status:
return :func:`error_response`, or raise :class:`ApiError` in a route (the handler installed by
:func:`install_error_handler` answers it). A route that finds the database away (a PostgreSQL
restart) answers 503 ``database_unavailable`` with ``Retry-After``, never a 500; a live stream
that finds it away ends quietly, and the page reconnects.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.core.db import database_away
from bot.core.events import page_script
from bot.core.feed import ChangeFeed, Event
from bot.core.unicode import well_formed

KEEPALIVE_S = 15.0  # an idle stream says so this often: proxies cut silent connections
RETRY_MS = 2000  # how soon the browser's EventSource reconnects
KEEPALIVE = ": keep-alive\n\n"
MAX_JSON_DEPTH = 32  # arrays and objects inside each other (the gateway's bodies need 3)
MAX_JSON_INT_DIGITS = 20  # any 64-bit id fits; Python refuses over 4,300 with a ValueError
MAX_ROW_ID = 2**63 - 1  # the largest id a database holds (SQLite INTEGER, PostgreSQL BIGINT)
DATABASE_RETRY_AFTER_S = 5  # a PostgreSQL restart takes seconds
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
log = logging.getLogger(__name__)


# -- errors ---------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered as JSON with its status and any ``headers`` (such as Retry-After; see
    :func:`install_error_handler`)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def database_unavailable() -> JSONResponse:
    """503 while the database is away: the client retries after a few seconds."""
    message = "the database cannot be reached right now; try again in a few seconds"
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S), "Cache-Control": "no-store"}
    return error_response(503, "database_unavailable", message, headers)


def install_error_handler(app: FastAPI) -> None:
    """Answer an :class:`ApiError` raised by any route as its JSON error, and so the framework's
    own refusals too: an unknown path or method, a path parameter that is not what the route
    takes (``/outages/abc/resolve``)."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail).lower(), exc.headers)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if not database_away(exc):
            raise exc  # a query the database refused: a bug, answered 500 and logged
        log.warning("database away: %s %s answered 503", request.method, request.url.path)
        return database_unavailable()

    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(DisconnectionError, database_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = [".".join(str(part) for part in error.get("loc", ())) for error in exc.errors()]
        return error_response(422, "invalid_request", "invalid " + ", ".join(where[:3] or ["request"]))


# -- request bodies -------------------------------------------------------------------------


async def json_object(
    request: Request, max_bytes: int, *, require_json_type: bool = False, empty_is_object: bool = False
) -> dict[str, Any]:
    """The request body as a JSON object (read by :func:`parse_json`), or an :class:`ApiError`:
    413 ``too_large`` above ``max_bytes``, 400 ``invalid_json`` for anything but a JSON object.
    ``require_json_type`` first insists on ``Content-Type: application/json`` (415
    ``json_required``); ``empty_is_object`` reads an empty body as ``{}``."""
    if require_json_type and not (request.headers.get("content-type") or "").startswith("application/json"):
        raise ApiError(415, "json_required", "send a JSON body (Content-Type: application/json)")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"request body must be at most {max_bytes} bytes")
    if not raw and empty_is_object:
        return {}
    message = "request body must be a JSON object"
    try:
        body = parse_json(raw)
    except JsonLimit as exc:
        raise ApiError(400, "invalid_json", f"{message}: {exc}") from exc
    except ValueError as exc:
        raise ApiError(400, "invalid_json", message) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", message)
    return body


class JsonLimit(ValueError):
    """JSON that is valid but beyond what the gateway reads (the reason is for the client)."""


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, or a ValueError, whatever the body: UTF-8 only, nested at most
    :data:`MAX_JSON_DEPTH` deep (no RecursionError), integers of at most
    :data:`MAX_JSON_INT_DIGITS` digits, finite numbers only (no NaN, no Infinity, no 1e999);
    a lone surrogate (``"\\ud800"``) in a string or key becomes U+FFFD, so what is read can be
    stored (bot/core/unicode.py)."""
    text = raw.decode("utf-8-sig")  # a leading BOM is ignored; UnicodeDecodeError is a ValueError
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise JsonLimit(f"nested more than {MAX_JSON_DEPTH} deep")
    try:
        value = _DECODER.decode(text)
    except RecursionError as exc:  # not reached after the depth check; kept as a backstop
        raise JsonLimit(f"nested more than {MAX_JSON_DEPTH} deep") from exc
    return _well_formed(value) if "\\u" in text else value


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise JsonLimit(f"numbers must have at most {MAX_JSON_INT_DIGITS} digits")
    return int(digits)


def _json_float(spelled: str) -> float:
    number = float(spelled)
    if not math.isfinite(number):
        raise JsonLimit("numbers must be finite")
    return number


def _json_constant(name: str) -> Any:
    raise JsonLimit(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep, strings left out; counted
    before parsing, since parsing is what a deep body would crash."""
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _well_formed(value: Any) -> Any:
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, list):
        return [_well_formed(item) for item in value]
    if isinstance(value, dict):
        return {well_formed(key): _well_formed(item) for key, item in value.items()}
    return value


# -- query values and the client's address --------------------------------------------------


_EVENT_ID = re.compile(r"-?\d{1,20}")


def event_id(raw: str | None) -> int:
    """A message id to resume a stream after (``after`` or Last-Event-ID): 0 when absent, clamped
    to what a database holds (no 20-digit overflow reaches a query), or a 400 ``invalid_after``
    for anything but an integer of at most 20 digits."""
    raw = (raw or "").strip()
    if not raw:
        return 0
    if not _EVENT_ID.fullmatch(raw):
        raise ApiError(400, "invalid_after", "after must be a message id (an integer)")
    return min(max(0, int(raw)), MAX_ROW_ID)


def client_address(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address as the rate limits count it: the peer's, unless the peer is one of
    ``trusted_proxies`` (TRUSTED_PROXIES); then the nearest address in X-Forwarded-For that is
    not a trusted proxy (right to left: what a client writes in itself sits left of what the
    proxies add, so it is never reached while a proxy's entry is there)."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _trusted(host: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


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
    try:
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
    except Exception as exc:
        if not database_away(exc):
            raise
        log.warning("database away: the stream %s ends", request.url.path)
        return  # the page reconnects, and is told 503 until the database is back
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
