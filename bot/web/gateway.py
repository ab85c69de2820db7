"""HTTP gateway: the app factory, its lifespan (services, background loops, channels), the health
check, and the wiring of the web chat, the other channels and the agents' console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_api import ConsoleServices, build_router, install_console_errors
from bot.agentdesk.insights_api import build_insights_router
from bot.channels.chat_spool import drain_loop, spool_store
from bot.channels.common import Channel, ChannelContext, UpdateLog, configured_channels
from bot.channels.webchat import STATIC_DIR, install_webchat
from bot.channels.welcome import install_welcome
from bot.connectors.accounts import account_service
from bot.core.db import create_db_engine, init_schema, ping
from bot.core.feed import ChangeFeed
from bot.core.hours import HoursRepository
from bot.core.language import Detector, default_detector
from bot.core.masking import install_log_masking
from bot.core.outages import OutageRepository
from bot.core.settings import Settings, SettingsError
from bot.core.store import ConversationStore
from bot.insights import Insights, open_tracker_engine
from bot.rasa.client import ActionServerClient, RasaClient, RasaUnavailable
from bot.router import Router
from bot.web.http import install_error_handler
from handoff.agents import AgentDirectory
from handoff.console import Console
from handoff.customer import CustomerPanel
from handoff.delivery import Delivery
from handoff.privacy import Privacy
from handoff.queue import HandoffQueue
from handoff.waiting import WaitingRoom

log = logging.getLogger(__name__)
# /health answers within a few seconds even when Rasa is overloaded (its answer then is "down"):
# a load balancer's health check must not time out on a gateway that can take messages.
HEALTH_TIMEOUT_S = 2.0


@dataclass
class Services:
    router: Router
    rasa: RasaClient
    actions: ActionServerClient
    http: httpx.Client
    feed: ChangeFeed
    store: ConversationStore
    channels: dict[str, str] = field(default_factory=dict)  # name -> "up" | "down: <why>"
    probe: RasaClient | None = None  # Rasa as /health asks it: a short timeout (HEALTH_TIMEOUT_S)


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
        language_detector = detector or default_detector()
        if hasattr(language_detector, "warm_up"):  # the first message after a start is not slower
            await run_in_threadpool(language_detector.warm_up)
        router = Router(settings, store, rasa, language_detector, actions, notify=feed.notify)
        probe_http = httpx.Client(timeout=HEALTH_TIMEOUT_S)
        probe = RasaClient(settings.rasa_url, token=settings.rasa_token, http=probe_http)
        app.state.services = Services(router, rasa, actions, http, feed, store, probe=probe)
        queue = HandoffQueue(engine)
        delivery = Delivery()
        console = Console(settings, engine, store, queue, delivery, notify=feed.notify)
        directory = AgentDirectory(engine)
        tracker_engine = open_tracker_engine(settings.rasa_tracker_url)
        insights = Insights(settings, engine, tracker_engine)
        app.state.insights = insights
        app.state.privacy = privacy = Privacy(settings, engine, tracker_engine)
        app.state.console = ConsoleServices(
            settings,
            directory,
            console,
            store,
            OutageRepository(engine),
            feed,
            HoursRepository(engine, time_zone=settings.time_zone),
            insights=insights,
            customers=CustomerPanel(engine, console, account_service(settings)),
        )
        waiting = WaitingRoom(settings, engine, store=store, delivery=delivery, notify=feed.notify)
        tasks = [
            asyncio.create_task(feed.run()),
            asyncio.create_task(_requeue_loop(queue, settings, feed)),
            asyncio.create_task(_waiting_loop(waiting)),
            asyncio.create_task(_insights_loop(insights, settings)),
            asyncio.create_task(_retention_loop(privacy, settings)),
            asyncio.create_task(drain_loop(app.state.chat_spool, spool_store(router, engine))),
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
            probe_http.close()
            tracker_engine.dispose()
            engine.dispose()

    app = FastAPI(title="Customer-care assistant gateway", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(build_router())
    app.include_router(build_insights_router())
    for channel in channels:
        routes = channel.routes()
        if routes is not None:
            app.include_router(routes)
    install_webchat(app, settings)
    install_welcome(app, settings)
    install_error_handler(app)
    install_console_errors(app)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        """200 while this gateway can take customers' messages, so a load balancer keeps it in
        rotation: ``ok``, or ``degraded`` with the component that is down (Rasa, the action
        server, a channel: customers get an apology, agents work on). 503 ``down`` only when
        the database does not answer (nothing can be stored)."""
        services: Services = request.app.state.services
        components = await run_in_threadpool(_check_components, services)
        status = health_status(components)
        return JSONResponse(
            {"status": status, "components": components},
            status_code=503 if status == "down" else 200,
        )

    return app


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


WAITING_CHECK_S = 30.0


async def _waiting_loop(waiting: WaitingRoom) -> None:
    """Waiting customers hear when their expected wait changes noticeably; the chats of silent
    ones are closed after QUEUE_ABANDON_MINUTES (handoff/waiting.py). State is in the database:
    replicas running this at once tell a customer once (row lock) and close a chat once."""
    while True:
        await asyncio.sleep(WAITING_CHECK_S)
        try:
            await run_in_threadpool(waiting.abandon_silent)
            await run_in_threadpool(waiting.refresh)
        except Exception as exc:
            log.warning("updating the waiting customers failed: %s", exc)


async def _insights_loop(insights: Insights, settings: Settings) -> None:
    """Copy new customer messages from Rasa's tracker store and report topic surges."""
    while True:
        await asyncio.sleep(settings.insights_interval_s)
        try:
            await run_in_threadpool(insights.sync)
            await run_in_threadpool(insights.check_surges)
        except Exception as exc:
            log.warning("traffic insights update failed: %s", exc)


RETENTION_FIRST_CHECK_S = 60.0  # after a start: tests and short-lived runs do not trigger it
RETENTION_CHECK_S = 3600.0  # then hourly: is the last run (any replica's) older than the interval?


async def _retention_loop(privacy: Privacy, settings: Settings) -> None:
    """Delete personal data past its retention (handoff/privacy.py) every RETENTION_INTERVAL.

    Due by the last run in the audit log, so restarts do not postpone it; replicas that run it at
    once do no harm (batches, idempotent deletes)."""
    interval = timedelta(seconds=settings.retention_interval_s)
    delay = min(RETENTION_FIRST_CHECK_S, settings.retention_interval_s)
    while True:
        await asyncio.sleep(delay)
        delay = min(RETENTION_CHECK_S, settings.retention_interval_s)
        try:
            counts = await run_in_threadpool(privacy.run_if_due, interval)
            if counts is not None:
                log.info("retention: deleted %s", counts)
        except Exception as exc:
            log.warning("retention run failed: %s", exc)


def health_status(components: dict[str, Any]) -> str:
    """``down`` without the database, ``degraded`` with any other component down, else ``ok``."""
    if components.get("database") != "up":
        return "down"
    return "ok" if all(v == "up" for v in components.values()) else "degraded"


def _check_components(services: Services) -> dict[str, Any]:
    components: dict[str, Any] = {"gateway": "up"}
    try:
        ping(services.router.store.engine)
        components["database"] = "up"
    except Exception as exc:
        log.warning("database health check failed: %s", exc)
        components["database"] = "down"
    try:
        (services.probe or services.rasa).status()
        components["rasa"] = "up"
    except RasaUnavailable as exc:
        # "slow": it did not answer within HEALTH_TIMEOUT_S (busy, or hung); "down": refused, error
        components["rasa"] = "slow" if isinstance(exc.__cause__, httpx.TimeoutException) else "down"
    components["action_server"] = "up" if services.actions.healthy() else "down"
    for name, status in services.channels.items():
        components[f"channel:{name}"] = "up" if status == "up" else "down"
    return components


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory bot.web.gateway:app_from_env``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_masking()  # personal data never reaches the logs
    return create_app(Settings.from_env())
