"""``GET /api/chat/welcome?locale=fr-BE``: the opening message for the web chat and the widget.

The widget asks for it when it opens on a customer without a conversation. Nothing is stored, so
a page view opens no conversation: the buttons' payloads are accepted by the router in any
conversation (bot/core/welcome.py). Cross-origin like the widget's other endpoints
(WIDGET_ORIGINS), cached briefly per locale.
"""

from __future__ import annotations

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

from bot.channels.webchat import WidgetCors, widget_origins
from bot.core.settings import Settings
from bot.core.welcome import welcome_language, welcome_replies

WELCOME_PATH = "/api/chat/welcome"
CACHE_S = 300
MAX_LOCALE_CHARS = 35  # BCP 47 tags people send are far shorter; anything longer is no locale


def welcome(settings: Settings, locale: str | None) -> dict[str, object]:
    """The language chosen for ``locale`` and the opening message's replies in it."""
    language = welcome_language((locale or "")[:MAX_LOCALE_CHARS], settings.default_language)
    return {"language": language, "replies": welcome_replies(language, settings.bot_name)}


def install_welcome(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(WidgetCors, paths=frozenset({WELCOME_PATH}), origins=widget_origins(settings))

    @app.get(WELCOME_PATH)
    async def chat_welcome(locale: str | None = Query(None)) -> JSONResponse:
        return JSONResponse(
            welcome(settings, locale),
            headers={"Cache-Control": f"public, max-age={CACHE_S}", "X-Content-Type-Options": "nosniff"},
        )
