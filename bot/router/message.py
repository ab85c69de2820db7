"""What a channel hands the router: a customer message, checked before anything is stored.

What passes :func:`validated` fits the database (no NUL, which PostgreSQL's text cannot hold; a
sender and a locale within their columns), and lone surrogates, which no database can encode, are
stored as U+FFFD (bot/core/unicode.py). Anything else is an :class:`InvalidMessage` with a reason
the channel can show.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.db import conversations
from bot.core.unicode import well_formed

MAX_SENDER_CHARS = conversations.c.sender.type.length
MAX_LOCALE_CHARS = conversations.c.locale.type.length


class InvalidMessage(ValueError):
    """The channel handed over something that is not a customer message."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


def valid_sender(sender: str | None) -> str:
    """A customer's sender id as stored and looked up (stripped, lone surrogates as U+FFFD), or
    :class:`InvalidMessage`: empty, longer than its column, or with a NUL character."""
    sender = well_formed(sender or "").strip()
    if not sender:
        raise InvalidMessage("sender must not be empty")
    if len(sender) > MAX_SENDER_CHARS:
        raise InvalidMessage(f"sender must be at most {MAX_SENDER_CHARS} characters")
    _no_nul("sender", sender)
    return sender


def _no_nul(field: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidMessage(f"{field} must not contain NUL characters")


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    sender: str
    text: str
    locale: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # A payload the channel itself made (Telegram's /start, a shared location), never typed text.
    channel_payload: bool = False
    # The message's key at its source, the same for every try of the update that carries it
    # (Telegram chat and message id, Slack channel and ts, the web chat request): stored with the
    # message, so that a retry or a replay finds it instead of storing it again.
    source_key: str | None = None
    # The key was made for this very try (a web chat request's own): no earlier try stored it.
    new_key: bool = False


@dataclass(frozen=True)
class RouterResult:
    conversation_id: str
    language: str
    owner: str
    replies: list[dict[str, Any]]
    language_source: str = "conversation"
    timings_ms: dict[str, float] = field(default_factory=dict)  # store, rasa: for Server-Timing


def validated(message: IncomingMessage, max_chars: int) -> IncomingMessage:
    """The message normalised (stripped, well-formed), or :class:`InvalidMessage` with a clear
    reason: an empty or over-long text, a NUL, a locale longer than its column."""
    sender = valid_sender(message.sender)
    body = well_formed(message.text or "").strip()
    if not body:
        raise InvalidMessage("text must not be empty")
    if len(body) > max_chars:
        raise InvalidMessage(f"text must be at most {max_chars} characters", too_large=True)
    _no_nul("text", body)
    locale = message.locale
    if locale is not None:
        locale = well_formed(locale)
        _no_nul("locale", locale)
        if len(locale) > MAX_LOCALE_CHARS:
            raise InvalidMessage(f"locale must be at most {MAX_LOCALE_CHARS} characters")
    metadata = message.metadata
    title = metadata.get("button_title")
    if isinstance(title, str):
        metadata = {**metadata, "button_title": well_formed(title)}
        _no_nul("button_title", title)
    return replace(message, sender=sender, text=body, locale=locale, metadata=metadata)
