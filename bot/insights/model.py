"""What the insights hand out (messages, groups, trends, alerts) and what their parts share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.core import taxonomy

# The help centre had no article for a message and the bot said it cannot answer it yet: content
# an editor could write (bot/insights/ingest.py). A topic of the trends and a reason of its own.
NO_ARTICLE = "no_article"
TOPICS = (*taxonomy.TOPICS, "not_understood", NO_ARTICLE, "out_of_scope", "smalltalk")
REASONS = ("not_understood", NO_ARTICLE, "out_of_scope", "unresolved")
ID_CHUNK = 500
SUGGESTION_MIN_CONFIDENCE = 0.5  # a group's suggested intent is chosen in advance only from this


class InsightsError(ValueError):
    """An editor's request that cannot be done (unknown intent, nothing selected, ...)."""


@dataclass(frozen=True)
class TrafficItem:
    id: int
    conversation_id: str
    channel: str
    language: str
    text: str
    intent: str | None
    confidence: float | None
    suggestion: str | None
    reason: str  # one of REASONS
    created_at: datetime
    status: str
    assigned_intent: str | None
    suggestion_confidence: float | None = None  # the model's confidence in ``suggestion``


@dataclass(frozen=True)
class TrafficGroup:
    key: str  # f"{language}-{smallest item id}": stable while the group keeps its first item
    language: str
    label: str  # the most central text of the group
    items: list[TrafficItem]  # newest first
    suggestion: str | None  # the most common suggestion of the items
    reasons: dict[str, int]
    suggestion_confidence: float | None = None  # the mean confidence of the items suggesting it

    @property
    def confident(self) -> bool:
        """Sure enough of its suggestion for the page to choose it in advance: below
        SUGGESTION_MIN_CONFIDENCE one click on Assign would teach the model its own guess."""
        confidence = self.suggestion_confidence or 0.0
        return self.suggestion is not None and confidence >= SUGGESTION_MIN_CONFIDENCE


@dataclass(frozen=True)
class TrendRow:
    day: date
    topic: str
    language: str
    channel: str
    count: int


@dataclass(frozen=True)
class Alert:
    id: int
    topic: str
    department: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline: float
    top_intents: list[str]
    created_at: datetime
    notified: bool = False  # the department's webhook (or, without one, the callback) took it


@dataclass(frozen=True)
class Trends:
    days: list[date]
    rows: list[TrendRow]
    alerts: list[Alert]

    def per_topic(self) -> dict[str, list[int]]:
        """Messages per topic and day (in the order of ``days``), over languages and channels;
        the known topics first, in TOPICS order, then any other in the rows."""
        topics = list(TOPICS) + sorted({row.topic for row in self.rows} - set(TOPICS))
        position = {day: i for i, day in enumerate(self.days)}
        series = {topic: [0] * len(self.days) for topic in topics}
        for row in self.rows:
            index = position.get(row.day)
            if index is not None:
                series[row.topic][index] += row.count
        return series


def _chunks(values: Sequence[Any], size: int = ID_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
