"""Telegram's webhook (``POST /telegram/webhook``, webhook mode): the secret token, the update's
JSON, and the spool while the database is away (bot/channels/update_spool.py).

Order of the checks: the secret token first (403, nothing read or kept otherwise), then the size
(413) and the update's JSON (400); only a verified, well-formed update is handed on: to
python-telegram-bot's queue when the database answers, else to the spool, before the 200.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.ext import Application

from bot.channels.update_spool import UpdateSpool
from bot.web.http import error_response, parse_json

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
MAX_WEBHOOK_BYTES = 256 * 1024


async def webhook_answer(
    request: Request, secret: str | None, app: Application | None, spool: UpdateSpool | None
) -> Response:
    """The answer to one webhook request; the update goes to ``app``'s queue or to ``spool``."""
    if not secret_matches(secret, request.headers.get(SECRET_HEADER)):
        return error_response(403, "forbidden", "missing or wrong secret token")
    if app is None or spool is None:
        return error_response(503, "unavailable", "the Telegram channel is not running")
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BYTES:
        return error_response(413, "too_large", "update too large")
    parsed = parse_update(raw, app.bot)
    if parsed is None:
        return error_response(400, "invalid_update", "the body must be a Telegram update in JSON")
    data, update = parsed
    if not await spool.database_answers():
        return await spool.acknowledge({"update": data})
    await app.update_queue.put(update)
    return Response(status_code=200)


def secret_matches(expected: str | None, given: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_update(raw: bytes, bot: Bot) -> tuple[dict[str, Any], Update] | None:
    """The update's JSON and the update, or None for anything but a Telegram update."""
    try:
        data = parse_json(raw)  # hardened: deep nesting, huge numbers (bot/web/http.py)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return data, Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def apology_target(update: Update) -> tuple[int, str | None] | None:
    """The private chat of a customer's message or button press, and their app's language code;
    None for what gets no answer anyway (edits, groups, channel posts)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return None
    if update.message is None and update.callback_query is None:
        return None
    return chat.id, user.language_code
