"""The embeddable web chat widget: ``<script src="https://<gateway>/widget.js" defer></script>``.

Installed on the gateway by :func:`install_widget`: it serves the script and a small JSON
config (the persona), and answers CORS for the few endpoints the widget calls from the host
page's origin. No cookies or credentials are involved: the customer is identified by the
random sender id the widget keeps in the host page's localStorage.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urljoin

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.core.settings import SUPPORTED_LANGUAGES, Settings

SCRIPT = Path(__file__).with_name("static") / "widget.js"
CACHE_S = 300  # short: a new widget.js reaches host pages within minutes
WIDGET_PATHS = frozenset(
    {"/widget.js", "/api/widget/config", "/api/chat", "/api/chat/history", "/api/chat/stream"}
)
ANY_ORIGIN = ("*",)


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


def script_response(request: Request) -> Response:
    """widget.js as JavaScript with a short cache and an ETag (a revalidation costs a 304)."""
    body = SCRIPT.read_bytes()
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
