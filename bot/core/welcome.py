"""The opening message: who the assistant is, what it does, a privacy line, and buttons for a few
topics and for a person, in the customer's language.

Shown when a customer opens the web chat or the widget (``GET /api/chat/welcome``, nothing
stored: a page view opens no conversation), on Telegram's /start and at a Slack DM's first
contact. Its buttons are "welcome payloads": the router passes them to Rasa as payloads in any
conversation, offered there or not (bot/router/), so pressing one works before the first
message was ever stored.
"""

from __future__ import annotations

from typing import Any

from bot.core.language import locale_language
from bot.core.texts import text

# (text key of the title, payload): intents of domain.yml that start their topic well.
WELCOME_BUTTONS: tuple[tuple[str, str], ...] = (
    ("welcome_button_billing", "/billing_explain_bill"),
    ("welcome_button_coverage", "/coverage_check_place"),  # asks for the place
    ("welcome_button_sim", "/sim_activate"),
    ("welcome_button_human", "/request_human"),
)
WELCOME_PAYLOADS = frozenset(payload for _key, payload in WELCOME_BUTTONS)


def welcome_language(locale: str | None, default: str) -> str:
    """'fr-BE' -> 'fr'; the default for an unsupported or missing locale."""
    return locale_language(locale) or default


def welcome_replies(language: str, bot_name: str) -> list[dict[str, Any]]:
    """The opening message as replies (one: the greeting, the privacy line, the buttons)."""
    greeting = text("welcome", language).format(bot=bot_name)
    buttons = [{"title": text(key, language), "payload": payload} for key, payload in WELCOME_BUTTONS]
    return [{"text": f"{greeting}\n\n{text('welcome_privacy', language)}", "buttons": buttons}]
