"""The long-tail evaluation: does the assistant answer the right article or intent, admit it
does not know, or answer something else with confidence?

Held-out questions in ``bench/heldout/longtail/<lang>.yml`` as ``{lang: {label: [texts]}}``,
where a label is an article id, an intent, or ``_unanswerable`` (nothing in the help centre or
the intents answers it). Used by ``bench/longtail.py`` and the editors' check.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.core.taxonomy import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, is_escalation

LONGTAIL_DIR = PROJECT_ROOT / "bench" / "heldout" / "longtail"
UNANSWERABLE = "_unanswerable"
# What the assistant does with a message, from the NLU result: an answer (article id or intent),
# or one of these honest outcomes.
HONEST = {FALLBACK_INTENT, OUT_OF_SCOPE_INTENT}
SMALLTALK = {"greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny"}


@dataclass(frozen=True)
class Item:
    language: str
    label: str
    text: str


def load_longtail(folder: Path = LONGTAIL_DIR) -> list[Item]:
    items = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for language, labels in data.items():
            for label, texts in (labels or {}).items():
                items += [Item(language, str(label), str(t)) for t in texts or []]
    return items


def outcome(parsed: dict[str, Any]) -> str:
    """The answer an NLU result leads to: an article id, an intent, 'handover' or 'honest'."""
    intent = (parsed.get("intent") or {}).get("name") or FALLBACK_INTENT
    if is_escalation(intent):
        return "handover"
    if intent in HONEST:
        return "honest"
    if intent == KNOWLEDGE_INTENT:
        return str((parsed.get("article") or {}).get("id") or "honest")
    return intent


def score(items: list[Item], outcomes: list[str]) -> dict[str, dict[str, int]]:
    """Per language: right, wrong (confidently about something else), honest (don't know,
    clarify, handover), and for the unanswerable ones how many were answered anyway."""
    stats: dict[str, dict[str, int]] = {lang: defaultdict(int) for lang in SUPPORTED_LANGUAGES}
    for item, result in zip(items, outcomes, strict=True):
        s = stats[item.language]
        answered = result not in ("honest", "handover") and result not in SMALLTALK
        if item.label == UNANSWERABLE:
            s["unanswerable"] += 1
            s["answered_anyway"] += answered
            continue
        s["n"] += 1
        if result == item.label:
            s["right"] += 1
        elif answered or result in SMALLTALK:
            s["wrong"] += 1
        else:
            s["honest"] += 1
    return stats


PARSE_BATCH = 64


async def parse_all(model: Path, texts: list[str], batch: int = PARSE_BATCH) -> list[dict[str, Any]]:
    """The NLU result of every text, as ``Agent.parse_message`` gives it, the model loaded once.

    Texts go through the NLU graph ``batch`` at a time: every component of the pipeline takes a
    list of messages, and the sentence encoders are much faster on a batch (the editors' check
    parses some 4,500 texts: minutes one by one, seconds in batches). Same results as one by one.
    """
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    processor = agent.processor
    if processor is None or processor.http_interpreter is not None:
        return [await agent.parse_message(text) for text in texts]
    results: list[dict[str, Any]] = []
    for start in range(0, len(texts), max(batch, 1)):
        results += _parse_batch(processor, texts[start : start + batch])
    return results


def _parse_batch(processor: Any, texts: list[str]) -> list[dict[str, Any]]:
    """One run of the NLU graph for several messages (what MessageProcessor does for one)."""
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    target = processor.model_metadata.nlu_target
    inputs = {
        PLACEHOLDER_MESSAGE: [UserMessage(text) for text in texts],
        PLACEHOLDER_TRACKER: DialogueStateTracker.from_events("parse_all", []),
    }
    parsed = []
    for message in processor.graph_runner.run(inputs=inputs, targets=[target])[target]:
        data: dict[str, Any] = {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": []}
        data.update(message.as_dict(only_output_properties=True))
        parsed.append(data)
    return parsed


def simulate(
    parsed: dict[str, Any], article_threshold: float, intent_threshold: float, ambiguity: float = 0.05
) -> str:
    """The outcome the pipeline would give with other thresholds, from one parse result (the
    classifier's ranking is kept as it made it): used to calibrate without retraining."""
    final = (parsed.get("intent") or {}).get("name") or FALLBACK_INTENT
    if is_escalation(final):
        return "handover"
    ranking = [e for e in parsed.get("intent_ranking") or [] if e["name"] != FALLBACK_INTENT]
    if not ranking:
        return "honest"
    top = ranking[0]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    if top["confidence"] < intent_threshold or top["confidence"] - second < ambiguity:
        return "honest"
    if top["name"] == KNOWLEDGE_INTENT:
        article = parsed.get("article") or {}
        if float(article.get("confidence") or 0) >= article_threshold:
            return str(article.get("id"))
        # as ArticleThreshold: the best intent if clear without the help centre's share
        conditional = float(article.get("conditional") or 0)
        p_knowledge = float(article.get("confidence") or 0) / conditional if conditional else 1.0
        others = [e for e in ranking if e["name"] != KNOWLEDGE_INTENT]
        if (
            others
            and p_knowledge < 1.0
            and others[0]["confidence"] / (1.0 - p_knowledge) >= article_threshold
        ):
            return "honest" if others[0]["name"] in HONEST else others[0]["name"]
        return "honest"
    return "honest" if top["name"] in HONEST else top["name"]
