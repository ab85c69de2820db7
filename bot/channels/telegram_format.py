"""Telegram message formatting, pure functions: MarkdownV2, Telegram's length limit in UTF-16
units, inline keyboards and their callback data."""

from __future__ import annotations

import hashlib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.helpers import escape_markdown

MAX_TEXT_UNITS = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 code units
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64
HASHED_PAYLOAD = "#h:"  # callback data that stands for a longer payload (see callback_data)
ONE_ROW_TITLES = 24  # buttons whose titles together are this short share one row
EMPTY_TEXT = "…"  # Telegram refuses an empty message; a reply may be buttons only


def utf16_units(text: str) -> int:
    """Telegram measures text in UTF-16 code units: characters outside the BMP count twice."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _prefix_within(text: str, limit: int) -> str:
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def _cut_at(window: str) -> int:
    """Where to cut: a line break late in the window, else a space, else any, else hard."""
    half = len(window) // 2
    for separator in ("\n", " "):
        index = window.rfind(separator)
        if index >= half:
            return index
    index = max(window.rfind("\n"), window.rfind(" "))
    return index if index > 0 else max(1, len(window))


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut at line breaks or spaces where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while utf16_units(rest) > limit:
        window = _prefix_within(rest, limit)
        cut = _cut_at(window)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def markdown(text: str, sender_name: str | None = None) -> str:
    """MarkdownV2 for plain text: everything escaped; an agent's name in bold on its own line."""
    body = escape_markdown(text or EMPTY_TEXT, version=2)
    if not sender_name:
        return body
    return f"*{escape_markdown(sender_name, version=2)}*\n{body}"


def callback_data(payload: str) -> str:
    """The payload itself when it fits Telegram's 64 bytes, else a hash resolved from the transcript.

    The hash needs no storage of its own: the buttons are stored with the bot's message, so the
    payload is found again in the conversation (also after a restart, on any gateway process).
    """
    if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith(HASHED_PAYLOAD):
        return payload
    return HASHED_PAYLOAD + hashlib.sha256(payload.encode()).hexdigest()[:32]


def keyboard(buttons: list[dict[str, Any]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    keys = [
        InlineKeyboardButton(
            str(b.get("title") or button_payload(b)), callback_data=callback_data(button_payload(b))
        )
        for b in buttons
    ]
    if sum(len(k.text) for k in keys) <= ONE_ROW_TITLES:
        return InlineKeyboardMarkup([keys])
    return InlineKeyboardMarkup([[k] for k in keys])


def button_payload(button: dict[str, Any]) -> str:
    return str(button.get("payload") or button.get("title") or "")


def button_title(message: Message, data: str) -> str | None:
    """The title of the pressed button, as the customer saw it."""
    if message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
