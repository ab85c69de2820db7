"""Real rasa_sdk Trackers for the action tests, and what an action said."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def tracker(
    text: str,
    intent: str,
    *,
    language: str = "nl",
    entities: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    article: dict[str, Any] | None = None,
    topic: str | None = None,
) -> Tracker:
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    if article:
        latest["article"] = article  # what the help centre's components put on the message
    if topic:
        latest["topic"] = {"id": topic}  # a message that only names a topic (bot/rasa/nlu/topics.py)
    return Tracker(
        sender_id="conv-1",
        slots={"language": language, **(slots or {})},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return events, dispatcher.messages


def said(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(response name, template variables) for each message."""
    plain = {"text", "buttons", "image", "elements", "attachment", "template", "response", "custom"}
    return [(m["response"], {k: v for k, v in m.items() if k not in plain}) for m in messages]


def asked(response: str) -> list[dict[str, Any]]:
    """Events of a conversation where the bot's last message was ``response``."""
    return [
        {"event": "user", "text": "..."},
        {"event": "bot", "text": "...", "metadata": {"utter_action": response}},
        {"event": "user", "text": "..."},
    ]
