"""What both Slack apps (the customers' channel, bot/channels/slack.py, and the agents' workspace,
bot/agentdesk/slack.py) share on the gateway: their client and bolt apps (:class:`BoltApps`), the
checks of a signed request, the listener work still in flight, and the spool while the database is
away (bot/channels/update_spool.py).

While the database is away, a verified event or button click is kept in the spool before the
200 (:func:`handle_signed`), and a listener cut short by the database going away keeps its
request there too (:meth:`InFlight.track`). A spooled request is replayed through a second bolt
app with the same listeners (:func:`replay_app`): it handles a request before it answers, so the
replay knows when it is done, and it does not check signatures, which were checked on arrival (a
replay may come later than the five minutes a signature is valid).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler, to_async_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.common import ChannelContext
from bot.channels.update_spool import UpdateSpool
from bot.web.http import error_response

STOP_TIMEOUT_S = 10.0
TIMESTAMP = re.compile(r"[0-9]{1,15}")  # X-Slack-Request-Timestamp: Unix seconds
MAX_REQUEST_AGE_S = 5 * 60  # as bolt: an older request is refused (a replay)
KEPT_TYPES = ("event_callback", "block_actions")  # what the listeners handle; others need no database


class InFlight:
    """Listener work still running after bolt's ack, so that ``stop()`` can let it finish.

    Bolt runs listeners as detached tasks, and cancelling a task does not stop the database work
    it waits for in a worker thread: that work would outlive the engine the gateway disposes.
    With a ``spool``, a listener cut short by the database going away keeps its request there.
    """

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.spool: UpdateSpool | None = None

    def track(self, handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(handler)  # bolt injects arguments by the wrapped handler's parameter names
        async def tracked(**kwargs: Any) -> None:
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            try:
                body = kwargs.get("body")
                if self.spool is not None and isinstance(body, dict):
                    await self.spool.guarded({"body": body}, handler(**kwargs))
                else:
                    await handler(**kwargs)
            finally:
                self.tasks.discard(task)  # type: ignore[arg-type]

        return tracked

    def add(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout_s)


async def handle_signed(
    handler: AsyncSlackRequestHandler,
    request: Request,
    signing_secret: str | None,
    spool: UpdateSpool | None = None,
) -> Response:
    """A request to a bolt app's endpoint (both Slack apps use this), after the checks bolt
    misses, which would otherwise be 500s: a timestamp that is not a number is refused like a
    forged signature (401), and a body bolt cannot read (not UTF-8, not JSON where JSON is due,
    not an object) is 400 ``invalid_json`` when correctly signed, 401 when not. The signature and
    its age are checked here first too, so that a refusal has the gateway's error shape (bolt's
    is ``{"error": "invalid request"}``); bolt checks them again. A verified event or click that
    arrives while the database is away goes to ``spool`` (200; 503 if the spool is full)."""
    timestamp = request.headers.get("x-slack-request-timestamp") or ""
    signature = request.headers.get("x-slack-signature") or ""
    if not TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
        return error_response(401, "invalid_signature", "missing or malformed Slack signature headers")
    raw = await request.body()  # Starlette keeps it: bolt's handler reads it again
    if not correctly_signed(signing_secret, raw, timestamp, signature):
        return error_response(401, "invalid_signature", "missing, wrong or stale Slack signature")
    try:
        parsed = to_async_bolt_request(request, raw)  # what bolt's handler does first, parsing included
    except (ValueError, TypeError, AttributeError, RecursionError):
        return error_response(400, "invalid_json", "the body must be a Slack event or action payload")
    body = parsed.body
    if spool is not None and body.get("type") in KEPT_TYPES and not await spool.database_answers():
        return await spool.acknowledge({"body": body})
    return await handler.handle(request)


def correctly_signed(secret: str | None, raw: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature of ``raw``, not older than five minutes: bolt's check, for any bytes
    (slack_sdk's verifier decodes the body as UTF-8 first, and fails on anything else)."""
    if not secret or abs(time.time() - int(timestamp)) > MAX_REQUEST_AGE_S:
        return False
    signed = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


class BoltApps:
    """What each of the two Slack apps is built on: its Web API client, the live bolt app (it checks
    signatures), the replay app of its spooled requests, the request handler and the listener work
    in flight. The subclass registers each listener on both apps."""

    def __init__(
        self, token: str | None, signing_secret: str | None, api_url: str, name: str, timeout_s: int
    ) -> None:
        self.client = AsyncWebClient(token=token, base_url=api_url, timeout=timeout_s)
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret, name=name)
        self.replayer = replay_app(self.client, name)  # requests spooled while the database is away
        self.handler = AsyncSlackRequestHandler(self.app)
        self.context: ChannelContext | None = None
        self.spool: UpdateSpool | None = None
        self.inflight = InFlight()


def replay_app(client: AsyncWebClient, name: str) -> AsyncApp:
    """The bolt app spooled requests are replayed through (give it the live app's listeners)."""
    return AsyncApp(
        client=client, name=f"{name}-replay", process_before_response=True, request_verification_enabled=False
    )


async def replay(app: AsyncApp, body: dict[str, Any]) -> None:
    """Hand a spooled request's payload to ``app``'s listeners; returns when they are done."""
    headers = {"content-type": "application/json"}  # a click's payload is JSON too, once unwrapped
    await app.async_dispatch(AsyncBoltRequest(body=json.dumps(body), headers=headers))
