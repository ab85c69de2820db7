"""Evaluating a trained model on held-out messages (the editors' check and the benchmarks).

Held-out messages live in ``bench/heldout/*.yml`` as ``{language: {intent: [texts]}}`` and are
never in the training data (``make check`` refuses a leak).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.core.settings import PROJECT_ROOT

HELDOUT_DIR = PROJECT_ROOT / "bench" / "heldout"


def load_heldout(folder: Path = HELDOUT_DIR) -> list[tuple[str, str, str]]:
    """(language, intent, text) for every held-out message."""
    items = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for language, intents in data.items():
            for intent, texts in (intents or {}).items():
                items += [(language, intent, str(t)) for t in texts or []]
    return items


async def predict(model: Path, texts: list[str]) -> list[tuple[str, float, str]]:
    """(intent, confidence, best intent ignoring the fallback) per text."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise
    agent = Agent.load(str(model))
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = [r["name"] for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        intent = parsed["intent"]
        out.append((intent["name"], float(intent.get("confidence") or 0.0), ranking[0] if ranking else ""))
    return out
