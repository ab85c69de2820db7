"""Learning from live traffic: what customers asked that the bot did not handle, and topic trends.

Customer messages are copied, masked, from Rasa's tracker store (its ``events`` table) into our
``nlu_turns`` table, incrementally: ``insights_cursor`` remembers the last tracker event read.
On top of that copy:

* **unhandled messages**: not understood (``nlu_fallback``), out of scope, or among the last
  customer turns before an escalation that says the bot failed (``misunderstood``,
  ``not_helped``, ``angry_repetition``), never a greeting or thanks, grouped by similarity per
  language, which an editor assigns to an intent (the model's guess is chosen in advance only
  when it was sure), dismisses or sets aside as needing new content, and exports as Rasa NLU
  training data;
* **topic trends**: messages per topic, language and channel per day;
* **surge alerts**: a business topic whose messages in a window reach ``SURGE_FACTOR`` times
  their usual number is reported to its department (``handoff/departments.yml``), through the
  ``notify`` callback and ``SURGE_WEBHOOK_URL``.

Neither Rasa nor anything heavy is imported here (the gateway loads this module); scikit-learn
is imported only when messages are grouped.
"""

from __future__ import annotations

from bot.core.taxonomy import topic_of
from bot.insights.grouping import (
    LINKAGE_LIMIT,
    SIMILARITY,
    UNRESOLVED_HANDOFFS,
    UNRESOLVED_TURNS,
    cluster_texts,
    example_text,
    group_items,
    nlu_yaml,
)
from bot.insights.ingest import BATCH_SIZE, CURSOR_NAME, LATE_COMMIT_IDS, open_tracker_engine, tracker_events
from bot.insights.model import (
    ID_CHUNK,
    REASONS,
    SUGGESTION_MIN_CONFIDENCE,
    TOPICS,
    Alert,
    InsightsError,
    TrafficGroup,
    TrafficItem,
    TrendRow,
    Trends,
)
from bot.insights.pleasantries import is_pleasantry
from bot.insights.service import Insights
from bot.insights.surges import (
    ALERTING_TOPICS,
    BASELINE_MIN_WINDOWS,
    DEFAULT_DEPARTMENT,
    TOP_INTENTS,
    WEBHOOK_TIMEOUT_S,
    alert_payload,
)

__all__ = [
    "ALERTING_TOPICS",
    "BASELINE_MIN_WINDOWS",
    "BATCH_SIZE",
    "CURSOR_NAME",
    "DEFAULT_DEPARTMENT",
    "ID_CHUNK",
    "LATE_COMMIT_IDS",
    "LINKAGE_LIMIT",
    "REASONS",
    "SIMILARITY",
    "SUGGESTION_MIN_CONFIDENCE",
    "TOPICS",
    "TOP_INTENTS",
    "UNRESOLVED_HANDOFFS",
    "UNRESOLVED_TURNS",
    "WEBHOOK_TIMEOUT_S",
    "Alert",
    "Insights",
    "InsightsError",
    "TrafficGroup",
    "TrafficItem",
    "TrendRow",
    "Trends",
    "alert_payload",
    "cluster_texts",
    "example_text",
    "group_items",
    "is_pleasantry",
    "nlu_yaml",
    "open_tracker_engine",
    "topic_of",
    "tracker_events",
]
