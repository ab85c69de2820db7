"""HTTP gateway: the web chat API, the health check and the web chat page."""

from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from bot.clients.rasa import ActionServerClient, RasaClient, RasaUnavailable
from bot.db import create_db_engine, init_schema, ping
from bot.language import Detector, default_detector
from bot.router import IncomingMessage, InvalidMessage, Router
from bot.settings import Settings
from bot.store import ConversationStore

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024


@dataclass
class Services:
    router: Router
    rasa: RasaClient
    actions: ActionServerClient
    http: httpx.Client


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(settings: Settings, *, detector: Detector | None = None) -> FastAPI:
    """Build the gateway app; connections are opened on startup, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.database_url)
        await run_in_threadpool(init_schema, engine)
        http = httpx.Client(timeout=httpx.Timeout(settings.rasa_timeout_s, connect=2.0))
        rasa = RasaClient(settings.rasa_url, token=settings.rasa_token, http=http)
        actions = ActionServerClient(settings.action_server_url, http=http)
        store = ConversationStore(engine)
        router = Router(settings, store, rasa, detector or default_detector(), actions)
        app.state.services = Services(router=router, rasa=rasa, actions=actions, http=http)
        try:
            yield
        finally:
            http.close()
            engine.dispose()

    app = FastAPI(title="Customer-care assistant gateway", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

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
    if not isinstance(sender, str) or not sender.strip():
        return error(422, "invalid_message", "sender is required and must be a non-empty string")
    if not isinstance(text, str):
        return error(422, "invalid_message", "text is required and must be a string")
    if locale is not None and not isinstance(locale, str):
        return error(422, "invalid_message", "locale must be a string")
    return IncomingMessage(channel="web", sender=sender, text=text, locale=locale)


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
    return components


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory bot.gateway:app_from_env``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(Settings.from_env())
