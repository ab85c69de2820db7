"""The long-tail evaluation: does the assistant answer the right article or intent, admit it
does not know, or answer something else with confidence?

Held-out questions in ``bench/heldout/longtail/*.yml`` as ``{lang: {label: [texts]}}``,
where a label is an article id, an intent, or ``_unanswerable`` (nothing in the help centre or
the intents answers it): ``<lang>.yml`` the general long tail, ``account.yml`` the questions about
the customer's own account (each item keeps its file's name as ``source``, so a report can show a
set apart). Used by ``bench/longtail.py`` and the editors' check.
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
from bot.core.taxonomy import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, SMALLTALK_INTENTS, is_escalation

LONGTAIL_DIR = PROJECT_ROOT / "bench" / "heldout" / "longtail"
UNANSWERABLE = "_unanswerable"
# What the assistant does with a message, from the NLU result: an answer (article id or intent),
# or one of these honest outcomes.
HONEST = {FALLBACK_INTENT, OUT_OF_SCOPE_INTENT}
SMALLTALK = frozenset(SMALLTALK_INTENTS)
# The questions about the customer's own account (account.yml) ask for their own status, so
# an outcome whose personal answer contains the asked one answers them too: "has my payment
# arrived?" is answered by the bill's answer, which ends with the payment status
# (actions/account.py: _bill_due calls _payment). Not for the general long tail, where
# payment_processing_time also covers how long a transfer takes or a wrong reference.
ACCOUNT_SET = "account"
ALSO_ANSWERED_BY = {"payment_processing_time": frozenset({"billing_due_date"})}


@dataclass(frozen=True)
class Item:
    language: str
    label: str
    text: str
    source: str = ""  # the file's name without .yml ("nl", "account")


def load_longtail(folder: Path = LONGTAIL_DIR) -> list[Item]:
    items = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for language, labels in data.items():
            for label, texts in (labels or {}).items():
                items += [Item(language, str(label), str(t), path.stem) for t in texts or []]
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


def is_right(item: Item, result: str) -> bool:
    if result == item.label:
        return True
    return item.source == ACCOUNT_SET and result in ALSO_ANSWERED_BY.get(item.label, ())


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
        if is_right(item, result):
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
    parsed: dict[str, Any],
    intent_preference: float,
    article_conditional: float,
    lexical_threshold: float,
    intent_rescue: float = 0.4,
    intent_rescue_floor: float = 0.05,
    article_sure: float = 1.01,
    intent_threshold: float = 0.3,
    ambiguity: float = 0.05,
    escalation_threshold: float = 0.3,
    yield_to_article: bool = True,
    out_of_scope_threshold: float | None = None,
) -> str:
    """The outcome the pipeline would give with other thresholds, from one parse result: runs
    ArticleDecision itself on the classifier's own ranking (kept on the article), then the
    fallback's threshold and ambiguity, OutOfScopeNeighbours (``out_of_scope_threshold`` on the
    margin the parse result carries; None: not applied), the escalation guard (which yields to a
    chosen article at least as likely as the escalation intents together), and RepeatContact's
    last word. Used to calibrate without retraining."""
    from bot.rasa.nlu.classifier import article_outweighs
    from bot.rasa.nlu.out_of_scope import NEIGHBOURS
    from bot.rasa.nlu.repeat_contact import asked_before

    if asked_before(str(parsed.get("text") or "")):
        return "handover"  # RepeatContact: a complaint, or the sensitive case it keeps
    article = parsed.get("article") or {}
    classified = article.get("classified") or parsed.get("intent_ranking") or []
    settings = {
        "intent_preference": intent_preference,
        "article_conditional": article_conditional,
        "lexical_threshold": lexical_threshold,
        "intent_rescue": intent_rescue,
        "intent_rescue_floor": intent_rescue_floor,
        "article_sure": article_sure,
    }
    decided = _decide(article, classified, settings, intent_threshold, ambiguity)
    neighbours = parsed.get(NEIGHBOURS) or {}
    margin = neighbours.get("margin")
    if out_of_scope_threshold is not None and margin is not None and decided != "handover":
        nearest_outside = float(margin) >= out_of_scope_threshold and not neighbours.get("in_scope")
        decided = "honest" if nearest_outside else decided
    escalation = sum(float(e["confidence"]) for e in classified if is_escalation(e["name"]))
    if escalation < escalation_threshold:
        return decided
    chose = KNOWLEDGE_INTENT if article and decided == str(article.get("id")) else decided
    if yield_to_article and article_outweighs(chose, article, escalation):
        return decided
    return "handover"


def _decide(
    article: dict[str, Any],
    classified: list[dict[str, Any]],
    settings: dict[str, float],
    intent_threshold: float,
    ambiguity: float,
) -> str:
    """ArticleDecision and the FallbackClassifier's threshold and ambiguity, without the guard."""
    from bot.rasa.nlu.classifier import ArticleDecision

    intents = [e for e in classified if e["name"] not in (KNOWLEDGE_INTENT, FALLBACK_INTENT)]
    if not intents:
        return "honest"
    decision = ArticleDecision(settings)
    decided, ranking = decision.decide(classified, article) if article else (intents[0], intents)
    name = decided["name"]
    if name == KNOWLEDGE_INTENT:
        return str(article.get("id"))
    if name == FALLBACK_INTENT:
        return "honest"
    second = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
    confidence = float(decided["confidence"])
    if confidence < intent_threshold or confidence - second < ambiguity:
        return "honest"
    if is_escalation(name):
        return "handover"
    return "honest" if name in HONEST else name
