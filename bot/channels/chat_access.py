"""Who may use the web chat API for which conversation, and how often.

**Conversation tokens.** The gateway issues a random token with a conversation
(bot/core/chat_sessions.py); reading the history or the stream needs it, and so does writing
into a conversation that has one. A caller-chosen ``sender`` alone opens nothing. The token
travels, in this order of precedence:

* ``X-Chat-Token`` header: the embedded widget (it keeps the token in the host page's
  localStorage: a cookie of the gateway would be a third-party cookie there, which browsers
  block, and SameSite=None would let other sites post with it) and integrators' API clients;
* ``token`` query parameter, on the stream only: EventSource cannot send headers, and the
  value is the server-issued random token, never a sender id;
* the ``cc_chat`` cookie: HttpOnly (page scripts never see it), SameSite=Strict (no other site
  sends it), ``Secure`` on https or with SECURE_COOKIES, path ``/api/chat``; set on the answer
  that issues a token, used by the gateway's own page (same origin). A cookie that belongs to
  another sender than the one a request names, or to no session any more, is ignored.

A POST without a token continues nothing: the ``sender`` it names, if never seen before (no
token, no conversation), is claimed for the caller; any other gets a new random sender instead,
named in the answer with the new token.
So a widget of before the tokens starts a new conversation once after the upgrade: its sender
id travelled in URLs (history, stream), so it may have been logged or guessed, and holding it
is no proof of being the customer.
While the database is away the gateway still issues the token of a new conversation; its
session is kept in the chat spool and made when the database is back (bot/channels/chat_spool.py).

**Rate limits.** POST /api/chat takes a token of its client's bucket (bot/core/ratelimit.py):
CHAT_RATE_BURST at once, then CHAT_RATE_PER_MINUTE; over it, 429 ``rate_limited`` with
Retry-After. The client is its address (IPv6 by /64, as the log-in throttle counts), read from
X-Forwarded-For only when the peer is one of TRUSTED_PROXIES.
"""

from __future__ import annotations

import threading

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bot.core.chat_sessions import ChatSession, ChatSessions
from bot.core.ratelimit import Rate, RateLimiter, retry_after_s
from bot.core.settings import Settings
from bot.web.http import ApiError, client_address
from handoff.throttle import client_key

COOKIE = "cc_chat"
COOKIE_PATH = "/api/chat"
COOKIE_MAX_AGE_S = 365 * 86400  # the session ends with its data (retention, erasure), not the cookie
TOKEN_HEADER = "x-chat-token"
TOKEN_PARAM = "token"
_limiter_lock = threading.Lock()


def sessions_of(request: Request) -> ChatSessions:
    return ChatSessions(request.app.state.services.store.engine)


def _presented(request: Request, *, query: bool) -> tuple[str | None, bool]:
    """The token a request carries, and whether it came from the cookie."""
    header = request.headers.get(TOKEN_HEADER)
    if header is not None:
        return header, False
    if query and TOKEN_PARAM in request.query_params:
        return request.query_params[TOKEN_PARAM], False
    return request.cookies.get(COOKIE), True


async def session_for_reading(request: Request, sender: str | None, *, query: bool = False) -> ChatSession:
    """The session whose conversation a history or stream request may read: 401 without a token
    (``token_required``) or with one that opens nothing (``invalid_token``), 403
    ``wrong_token`` when the request names another sender than the token's."""
    token, from_cookie = _presented(request, query=query)
    session = await run_in_threadpool(sessions_of(request).find, token) if token else None
    if from_cookie and session is not None and sender not in (None, session.sender):
        session = None  # the page's cookie is of another conversation than the one asked for
    if session is None:
        if token and not from_cookie:
            raise ApiError(401, "invalid_token", "this conversation token is not valid (any more)")
        raise ApiError(401, "token_required", "send the conversation token the chat API issued")
    if sender is not None and sender != session.sender:
        raise ApiError(403, "wrong_token", "this token belongs to another conversation")
    return session


def session_for_sending(request: Request, sender: str | None) -> ChatSession:
    """The session a message goes to (see the module docstring): the token's, the claimed
    sender's, or a new one. Blocking (the database): called in the worker thread that then
    hands the message to the router, so a message costs one thread hop."""
    header, cookie = request.headers.get(TOKEN_HEADER), request.cookies.get(COOKIE)
    return session_to_send(sessions_of(request), header, cookie, sender)


def session_to_send(
    sessions: ChatSessions, header: str | None, cookie: str | None, sender: str | None
) -> ChatSession:
    """:func:`session_for_sending` from the tokens themselves (a message kept in the chat spool
    while the database was away is sent with the tokens it came with)."""
    if header is not None:
        session = sessions.find(header)
        if session is None:
            raise ApiError(401, "invalid_token", "this conversation token is not valid (any more)")
        if sender is not None and sender != session.sender:
            raise ApiError(403, "wrong_token", "this token belongs to another conversation")
        return session
    if cookie:
        session = sessions.find(cookie)
        if session is not None and sender in (None, session.sender):
            return session
    if sender is not None:
        claimed = sessions.claim(sender)
        if claimed is not None:
            return claimed
    return sessions.open()


def set_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    secure = request.url.scheme == "https" or settings.secure_cookies
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


async def check_rate(request: Request, settings: Settings) -> None:
    """Take a token of the client's bucket, or refuse with 429 and Retry-After."""
    if settings.chat_rate_per_minute <= 0:
        return
    limiter = _limiter(request, settings)
    client = client_key(client_address(request, settings.trusted_proxies))
    wait_s = await run_in_threadpool(limiter.take, client)
    if wait_s > 0:
        retry = retry_after_s(wait_s)
        raise ApiError(
            429,
            "rate_limited",
            f"too many messages from this address; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def _limiter(request: Request, settings: Settings) -> RateLimiter:
    state = request.app.state
    with _limiter_lock:
        limiter: RateLimiter | None = getattr(state, "chat_limiter", None)
        engine = state.services.store.engine
        if limiter is None or limiter.engine is not engine:  # a new lifespan, a new engine
            rate = Rate(settings.chat_rate_per_minute, settings.chat_rate_burst)
            limiter = state.chat_limiter = RateLimiter(engine, "chat", rate)
    return limiter
