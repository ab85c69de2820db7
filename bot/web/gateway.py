"""HTTP gateway: the web chat API, the health check and the web chat page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_api import ConsoleServices, build_router, install_error_handlers
from bot.agentdesk.insights_api import build_insights_router
from bot.channels.common import Channel, ChannelContext, UpdateLog, configured_channels
from bot.channels.webchat import install_widget
from bot.core.db import create_db_engine, init_schema, ping
from bot.core.feed import ChangeFeed, Event
from bot.core.hours import HoursRepository
from bot.core.language import Detector, default_detector
from bot.core.masking import install_log_masking
from bot.core.outages import OutageRepository
from bot.core.settings import Settings, SettingsError
from bot.core.store import ConversationStore
from bot.insights import Insights, open_tracker_engine
from bot.rasa.client import ActionServerClient, RasaClient, RasaUnavailable
from bot.router import IncomingMessage, InvalidMessage, Router
from handoff.agents import AgentDirectory
from handoff.console import Console
from handoff.delivery import Delivery
from handoff.queue import HandoffQueue

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parents[1] / "channels" / "static"
MAX_BODY_BYTES = 64 * 1024


@dataclass
class Services:
    router: Router
    rasa: RasaClient
    actions: ActionServerClient
    http: httpx.Client
    feed: ChangeFeed
    store: ConversationStore
    channels: dict[str, str] = field(default_factory=dict)  # name -> "up" | "down: <why>"


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(
    settings: Settings,
    *,
    detector: Detector | None = None,
    channels: list[Channel] | None = None,
) -> FastAPI:
    """Build the gateway app; connections are opened on startup, not at import.

    ``channels`` defaults to the channels whose credentials the settings hold.
    """
    channels = configured_channels(settings) if channels is None else channels

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.database_url)
        await run_in_threadpool(init_schema, engine)
        http = httpx.Client(timeout=httpx.Timeout(settings.rasa_timeout_s, connect=2.0))
        rasa = RasaClient(settings.rasa_url, token=settings.rasa_token, http=http)
        actions = ActionServerClient(settings.action_server_url, http=http)
        store = ConversationStore(engine)
        feed = ChangeFeed(engine, settings.feed_interval_s)
        router = Router(settings, store, rasa, detector or default_detector(), actions, notify=feed.notify)
        app.state.services = Services(router, rasa, actions, http, feed, store)
        queue = HandoffQueue(engine)
        delivery = Delivery()
        console = Console(settings, engine, store, queue, delivery, notify=feed.notify)
        directory = AgentDirectory(engine)
        tracker_engine = open_tracker_engine(settings.rasa_tracker_url)
        insights = Insights(settings, engine, tracker_engine)
        app.state.insights = insights
        app.state.console = ConsoleServices(
            settings,
            directory,
            console,
            store,
            OutageRepository(engine),
            feed,
            HoursRepository(engine),
            insights=insights,
        )
        tasks = [
            asyncio.create_task(feed.run()),
            asyncio.create_task(_requeue_loop(queue, settings, feed)),
            asyncio.create_task(_insights_loop(insights, settings)),
        ]
        context = ChannelContext(
            settings,
            engine,
            router,
            store,
            queue,
            console,
            directory,
            delivery,
            feed,
            asyncio.get_running_loop(),
        )
        started = await _start_channels(channels, context, app.state.services)
        try:
            yield
        finally:
            for channel in reversed(started):
                with contextlib.suppress(Exception):
                    await channel.stop()
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=5)  # a stuck task must not hold up the shutdown
            http.close()
            tracker_engine.dispose()
            engine.dispose()

    app = FastAPI(title="Customer-care assistant gateway", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(build_router())
    app.include_router(build_insights_router())
    install_widget(app, settings)
    for channel in channels:
        routes = channel.routes()
        if routes is not None:
            app.include_router(routes)
    install_error_handlers(app)

    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        parsed = await _read_chat_body(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        services: Services = request.app.state.services
        started = time.perf_counter()
        try:
            result = await run_in_threadpool(services.router.handle, parsed)
        except InvalidMessage as exc:
            return error(413 if exc.too_large else 422, "invalid_message", str(exc))
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
        sender = (request.query_params.get("sender") or "").strip()
        if not sender or len(sender) > 128:
            return error(422, "invalid_message", "sender is required")
        services: Services = request.app.state.services
        return JSONResponse(await run_in_threadpool(_history, services.store, sender))

    @app.get("/api/chat/stream")
    async def stream(request: Request) -> Any:
        """Server-sent events: messages that reach the customer outside a request (an agent's
        replies, notices, the satisfaction question) and changes of who answers."""
        sender = (request.query_params.get("sender") or "").strip()
        if not sender or len(sender) > 128:
            return error(422, "invalid_message", "sender is required")
        after = _int(request.query_params.get("after") or request.headers.get("last-event-id"))
        services: Services = request.app.state.services
        return StreamingResponse(
            _customer_events(request, services, sender, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        components = await run_in_threadpool(_check_components, services)
        healthy = all(v == "up" for v in components.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "components": components},
            status_code=200 if healthy else 503,
        )

    @app.get("/", response_class=HTMLResponse)
    async def webchat() -> HTMLResponse:
        page = (STATIC_DIR / "webchat.html").read_text(encoding="utf-8")
        config = json.dumps({"botName": settings.bot_name, "avatar": settings.bot_avatar_url})
        return HTMLResponse(page.replace("/*CONFIG*/{}", config))

    return app


async def _read_chat_body(request: Request) -> IncomingMessage | JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return error(413, "too_large", f"request body must be at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "invalid_json", "request body must be a JSON object")
    if not isinstance(body, dict):
        return error(400, "invalid_json", "request body must be a JSON object")
    sender, text, locale = body.get("sender"), body.get("text"), body.get("locale")
    title = body.get("button_title")
    if not isinstance(sender, str) or not sender.strip():
        return error(422, "invalid_message", "sender is required and must be a non-empty string")
    if not isinstance(text, str):
        return error(422, "invalid_message", "text is required and must be a string")
    if locale is not None and not isinstance(locale, str):
        return error(422, "invalid_message", "locale must be a string")
    if title is not None and not isinstance(title, str):
        return error(422, "invalid_message", "button_title must be a string")
    metadata = {"button_title": title} if title else {}
    return IncomingMessage(channel="web", sender=sender, text=text, locale=locale, metadata=metadata)


PUSHED_EVENTS = {"agent_reply", "agent_joined", "handed_back", "csat_question", "closed"}


def _int(raw: str | None) -> int:
    try:
        return max(0, int(raw)) if raw else 0
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


def _pushed_since(
    store: ConversationStore, sender: str, after: int
) -> tuple[list[dict[str, Any]], int, str | None]:
    """Pushed messages after ``after``, the newest message id seen, and who answers now."""
    conv = store.latest_conversation("web", sender)
    if conv is None:
        return [], after, None
    rows = store.messages_after([conv.id], after)
    pushed = [_public_message(m) for m in rows if (m.get("payload") or {}).get("event") in PUSHED_EVENTS]
    return pushed, max([after, *(m["id"] for m in rows)]), conv.owner


KEEPALIVE_S = 15.0


async def _customer_events(
    request: Request, services: Services, sender: str, after: int
) -> AsyncIterator[str]:
    """Pushed messages and owner changes of this web customer, from the change feed's memory;
    the database is read at the start and only again if the feed dropped events meanwhile."""
    feed = services.feed
    seq, version, last_owner = feed.seq, feed.version, None
    yield "retry: 2000\n\n"
    resync, changes = True, []
    while not await request.is_disconnected():
        if resync:
            pushed, after, owner = await run_in_threadpool(_pushed_since, services.store, sender, after)
        else:
            pushed, owner = _pushed_from_feed(changes, sender, after)
            after = max([after, *(m["id"] for m in pushed)])
        chunks = [f"id: {m['id']}\nevent: message\ndata: {json.dumps(m)}\n\n" for m in pushed]
        if owner is not None and owner != last_owner:
            last_owner = owner
            chunks.append(f"event: owner\ndata: {json.dumps({'owner': owner})}\n\n")
        for chunk in chunks:
            yield chunk
        previous = version
        version = await feed.wait(version, KEEPALIVE_S)
        if version == previous:
            yield ": keep-alive\n\n"
        changes, complete = feed.since(seq)
        seq, resync = feed.seq, not complete


def _pushed_from_feed(
    changes: list[Event], sender: str, after: int
) -> tuple[list[dict[str, Any]], str | None]:
    mine = [c for c in changes if c.channel == "web" and c.sender == sender]
    pushed = [
        _public_message(c.data)
        for c in mine
        if c.kind == "message"
        and c.data["id"] > after
        and (c.data.get("payload") or {}).get("event") in PUSHED_EVENTS
    ]
    owners = [c.data["owner"] for c in mine if c.kind == "owner"]
    return pushed, owners[-1] if owners else None


async def _start_channels(
    channels: list[Channel], context: ChannelContext, services: Services
) -> list[Channel]:
    """Start every configured channel; one that cannot start (platform unreachable, bad token)
    is reported by /health and leaves the web chat and the other channels running."""
    started = []
    for channel in channels:
        try:
            await channel.start(context)
        except SettingsError:
            raise  # a misconfiguration must be fixed, not run around
        except Exception as exc:
            log.error("channel %s did not start: %s", channel.name, exc)
            services.channels[channel.name] = f"down: {exc}"[:200]
            continue
        started.append(channel)
        services.channels[channel.name] = "up"
        log.info("channel %s started", channel.name)
    return started


UPDATES_KEPT = timedelta(days=7)  # platforms retry for minutes, not days


async def _requeue_loop(queue: HandoffQueue, settings: Settings, feed: ChangeFeed) -> None:
    """Chats whose agent has not replied in time go back to the queue; old update ids go."""
    timeout = timedelta(seconds=settings.agent_reply_timeout_s)
    while True:
        await asyncio.sleep(min(30.0, max(1.0, settings.agent_reply_timeout_s / 4)))
        try:
            if await run_in_threadpool(queue.requeue_unanswered, timeout):
                feed.notify()
            await run_in_threadpool(UpdateLog(queue.engine).forget_older_than, UPDATES_KEPT)
        except Exception as exc:
            log.warning("re-queueing unanswered chats failed: %s", exc)


async def _insights_loop(insights: Insights, settings: Settings) -> None:
    """Copy new customer messages from Rasa's tracker store and report topic surges."""
    while True:
        await asyncio.sleep(settings.insights_interval_s)
        try:
            await run_in_threadpool(insights.sync)
            await run_in_threadpool(insights.check_surges)
        except Exception as exc:
            log.warning("traffic insights update failed: %s", exc)


def _check_components(services: Services) -> dict[str, Any]:
    components: dict[str, Any] = {"gateway": "up"}
    try:
        ping(services.router.store.engine)
        components["database"] = "up"
    except Exception as exc:
        log.warning("database health check failed: %s", exc)
        components["database"] = "down"
    try:
        services.rasa.status()
        components["rasa"] = "up"
    except RasaUnavailable:
        components["rasa"] = "down"
    components["action_server"] = "up" if services.actions.healthy() else "down"
    for name, status in services.channels.items():
        components[f"channel:{name}"] = "up" if status == "up" else "down"
    return components


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory bot.web.gateway:app_from_env``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_masking()  # personal data never reaches the logs
    return create_app(Settings.from_env())
