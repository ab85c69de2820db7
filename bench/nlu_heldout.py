"""Held-out evaluation: intent accuracy and reply-language accuracy per language.

Messages in bench/heldout/*.yml are never in the training data. Prints, per language,
intent accuracy (target >= 95%) and how often the reply language equals the message
language for a new conversation (target >= 98%), plus the misclassified messages.

    .venv/bin/python -m bench.nlu_heldout [--model models/assistant-XXXX.tar.gz]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.language import choose_language, default_detector  # noqa: E402
from bot.core.settings import SUPPORTED_LANGUAGES, Settings  # noqa: E402
from bot.core.taxonomy import is_answer_topic, is_escalation  # noqa: E402
from bot.rasa.evaluation import load_heldout, predict  # noqa: E402

ANSWERS_TO_THE_BOT = {"inform_number", "inform_code"}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--show-errors", type=int, default=40)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.model is None:
        from bot.rasa.training import ensure_model

        args.model = ensure_model(settings.model_dir)
    items = load_heldout()
    predictions = asyncio.run(predict(args.model, [t for _, _, t in items]))
    detector = default_detector()
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    for (language, intent, text), (predicted, confidence, best) in zip(items, predictions, strict=True):
        s = stats[language]
        s["n"] += 1
        s["intent_ok"] += predicted == intent
        s["fallback"] += predicted == "nlu_fallback"
        s["wrong"] += predicted not in (intent, "nlu_fallback")
        s["top1_ok"] += best == intent
        if escalates(intent):
            s["sensitive"] += 1
            s["escalated"] += escalates(predicted)
        elif is_answer_topic(intent):
            s["ordinary"] += 1
            s["false_escalation"] += escalates(predicted)
        chosen = choose_language(
            text,
            # a number or a code only ever answers the bot's question, inside a conversation
            # that already has its language; every other message opens a new conversation
            current=language if intent in ANSWERS_TO_THE_BOT else None,
            locale=None,
            default=settings.default_language,
            detector=detector,
            threshold=settings.language_confidence,
        ).language
        s["lang_ok"] += chosen == language
        if predicted != intent:
            errors.append(f"  [{language}] {intent} -> {predicted} ({confidence:.2f}): {text}")
        if chosen != language:
            errors.append(f"  [{language}] language -> {chosen}: {text}")
    print(f"model: {args.model}")
    print(f"{'lang':<5}{'n':>5}{'intent acc':>12}{'clarified':>11}{'wrong':>8}{'top-1':>8}{'reply lang':>12}")
    total = defaultdict(int)
    for language in SUPPORTED_LANGUAGES:
        s = stats[language]
        for k, v in s.items():
            total[k] += v
        print(_row(language, s))
    print(_row("all", total))
    print(f"\n{'lang':<5}{'sensitive':>10}{'escalated':>11}{'ordinary':>10}{'false esc.':>12}")
    for language in [*SUPPORTED_LANGUAGES, "all"]:
        s = total if language == "all" else stats[language]
        recall = 100 * s["escalated"] / max(s["sensitive"], 1)
        false = 100 * s["false_escalation"] / max(s["ordinary"], 1)
        print(f"{language:<5}{s['sensitive']:>10}{recall:>10.1f}%{s['ordinary']:>10}{false:>11.1f}%")
    print("escalated: sensitive or request-for-a-person messages handed to a person (target 100%);")
    print("false esc.: ordinary billing/coverage/SIM questions handed over (target <= 2%)\n")
    print("intent acc: right intent; clarified: low confidence, asked to rephrase; wrong: confident and")
    print("wrong; top-1: best intent ignoring the fallback threshold. targets: intent accuracy >= 95%,")
    print("reply language >= 98%")
    if errors:
        print(f"\nerrors ({len(errors)}):")
        print("\n".join(errors[: args.show_errors]))
    return 0


escalates = is_escalation


def _row(label: str, s: dict[str, int]) -> str:
    n = max(s["n"], 1)
    return (
        f"{label:<5}{s['n']:>5}{100 * s['intent_ok'] / n:>11.1f}%{100 * s['fallback'] / n:>10.1f}%"
        f"{100 * s['wrong'] / n:>7.1f}%{100 * s['top1_ok'] / n:>7.1f}%{100 * s['lang_ok'] / n:>11.1f}%"
    )


if __name__ == "__main__":
    sys.exit(main())
