"""Traffic as the insights see it: customer messages saved by Rasa's own SQL tracker store (as
Rasa's NLU parsed them), and turns straight into the trends' table."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.core.db import nlu_turns
from bot.core.settings import Settings
from bot.rasa.stores import sql_store_arguments

PORTING_NL = (
    "kan ik mijn nummer meenemen naar het buitenland",
    "kan ik mijn nummer meenemen naar buitenland?",
    "kan ik mn nummer meenemen naar het buitenland",
)


@dataclass(frozen=True)
class Said:
    """A customer message as Rasa's NLU parsed it."""

    text: str
    language: str = "nl"
    intent: str = "nlu_fallback"
    confidence: float = 0.22
    suggestion: str | None = None
    channel: str = "web"
    minutes_ago: float = 10
    suggestion_confidence: float = 0.21  # the model's confidence in its suggestion
    article: dict[str, Any] | None = None  # the help centre's best article, as the NLU adds it
    reply: str | None = None  # the response the bot answered with (its ``utter_action``)
    topic: str | None = None  # a message that only names a topic (bot/rasa/nlu/topics.py)


def user_event(said: Said, now: datetime) -> UserUttered:
    ranking = [{"name": said.intent, "confidence": said.confidence}]
    if said.suggestion:
        ranking.append({"name": said.suggestion, "confidence": said.suggestion_confidence})
    parse: dict[str, Any] = {
        "text": said.text,
        "intent": ranking[0],
        "intent_ranking": ranking,
        "entities": [],
    }
    if said.article is not None:
        parse["article"] = said.article
    if said.topic is not None:
        parse["topic"] = {"id": said.topic}
    return UserUttered(
        said.text,
        intent=ranking[0],
        parse_data=parse,  # type: ignore[arg-type]
        metadata={"language": said.language, "channel": said.channel},
        timestamp=(now - timedelta(minutes=said.minutes_ago)).timestamp(),
    )


def write_tracker(settings: Settings, conversation: str, said: Sequence[Said], now: datetime) -> None:
    """One conversation's events, saved by Rasa's own SQL tracker store where Rasa keeps them."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = SQLTrackerStore(Domain.empty(), **sql_store_arguments(settings.rasa_tracker_url))
    events: list[Any] = [ActionExecuted("action_listen")]
    for message in said:
        events.append(user_event(message, now))
        if message.reply:
            events += [
                ActionExecuted("action_clarify"),
                BotUttered("…", metadata={"utter_action": message.reply}),
            ]
        events.append(ActionExecuted("action_listen"))
    tracker = DialogueStateTracker.from_events(conversation, events)
    try:  # on a thread of its own: Playwright's sync API keeps an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, store.save(tracker)).result()
    finally:
        store.engine.dispose()


_source_ids = itertools.count(1_000_000)


def add_turns(
    engine: Engine, n: int, topic: str, at: datetime, language: str = "nl", channel: str = "web"
) -> None:
    """``n`` messages straight into the trends' table (as sync would store them)."""
    if n == 0:
        return
    intent = {"not_understood": "nlu_fallback", "smalltalk": "greet"}.get(topic, f"{topic}_x")
    rows = [
        {
            "source_event_id": next(_source_ids),
            "conversation_id": str(uuid.uuid4()),
            "channel": channel,
            "language": language,
            "text": f"{topic} question {i}",
            "intent": intent if topic != "out_of_scope" else "out_of_scope",
            "confidence": 0.9,
            "topic": topic,
            "created_at": at,
            "status": "new",
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(nlu_turns), rows)
