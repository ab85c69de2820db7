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


async def parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


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
        return (
            str(article.get("id")) if float(article.get("confidence") or 0) >= article_threshold else "honest"
        )
    return "honest" if top["name"] in HONEST else top["name"]
