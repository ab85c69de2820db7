"""Long-tail held-out figures per language (issue: help centre and honest "don't know").

    .venv/bin/python -m bench.longtail [--model models/assistant-XXXX.tar.gz] [--errors 40]

Targets: right answer (article or intent) >= 85 %, confidently wrong <= 2 %, the rest honest
(don't know, clarify, handover); unanswerable questions answered anyway <= 5 %.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.model_arg import model_of, model_parser  # noqa: E402
from bot.core.settings import SUPPORTED_LANGUAGES  # noqa: E402
from bot.rasa.longtail import (  # noqa: E402
    ACCOUNT_SET,
    UNANSWERABLE,
    is_right,
    load_longtail,
    outcome,
    parse_all,
    score,
    simulate,
)

# Sets of bench/heldout/longtail/ also shown on their own (besides all questions together).
SET_APART = (ACCOUNT_SET,)


def main(argv: list[str] | None = None) -> int:
    parser = model_parser()
    parser.add_argument("--errors", type=int, default=60)
    parser.add_argument("--sweep", action="store_true", help="figures for other thresholds (no retraining)")
    args = parser.parse_args(argv)
    args.model = model_of(args)
    items = load_longtail()
    parsed = asyncio.run(parse_all(args.model, [i.text for i in items]))
    outcomes = [outcome(p) for p in parsed]
    print(f"model: {args.model}")
    print_table(score(items, outcomes))
    pairs = list(zip(items, outcomes, strict=True))
    for source in SET_APART:
        mine = [(i, o) for i, o in pairs if i.source == source]
        if mine:
            print(f"\n{source}.yml only:")
            print_table(score([i for i, _ in mine], [o for _, o in mine]))
    rest = [(i, o) for i, o in pairs if i.source not in SET_APART]
    if len(rest) < len(pairs):
        print(f"\nwithout {', '.join(f'{s}.yml' for s in SET_APART)}:")
        print_table(score([i for i, _ in rest], [o for _, o in rest]))
    if args.sweep:
        print_sweep(items, parsed)
    shown = 0
    for item, result, p in zip(items, outcomes, parsed, strict=True):
        if not is_right(item, result) and shown < args.errors:
            if item.label == UNANSWERABLE and result in ("honest", "handover"):
                continue
            article = p.get("article") or {}
            intent = p.get("intent") or {}
            where = f"{item.language}/{item.source}" if item.source in SET_APART else item.language
            print(
                f"  [{where}] {item.label} -> {result} "
                f"({intent.get('name')} {intent.get('confidence') or 0:.2f}; "
                f"article {article.get('id')} {article.get('confidence', 0):.2f}): {item.text}"
            )
            shown += 1
    return 0


def print_table(stats: dict[str, dict[str, int]]) -> None:
    print(f"{'lang':<5}{'n':>5}{'right':>9}{'wrong':>9}{'honest':>9}{'unansw.':>9}{'answered':>10}")
    for language in SUPPORTED_LANGUAGES:
        s = stats[language]
        n, u = max(s["n"], 1), max(s["unanswerable"], 1)
        print(
            f"{language:<5}{s['n']:>5}{100 * s['right'] / n:>8.1f}%{100 * s['wrong'] / n:>8.1f}%"
            f"{100 * s['honest'] / n:>8.1f}%{s['unanswerable']:>9}{100 * s['answered_anyway'] / u:>9.1f}%"
        )


def print_sweep(items: list, parsed: list[dict]) -> None:
    """Worst language per threshold triple: right, wrong, unanswerable answered (all in %)."""
    print("\nprefer  article  lexical   right(min)  wrong(max)  answered-unanswerable(max)")
    for prefer in (0.5, 0.6, 0.7, 0.8):
        for conditional in (0.3, 0.4, 0.5, 0.6):
            for lexical in (0.3, 0.4, 0.5, 0.6, 0.7):
                stats = score(items, [simulate(p, prefer, conditional, lexical) for p in parsed])
                right = min(100 * s["right"] / max(s["n"], 1) for s in stats.values())
                wrong = max(100 * s["wrong"] / max(s["n"], 1) for s in stats.values())
                anyway = max(100 * s["answered_anyway"] / max(s["unanswerable"], 1) for s in stats.values())
                print(
                    f"{prefer:>6.2f}{conditional:>9.2f}{lexical:>9.1f}{right:>12.1f}{wrong:>12.1f}{anyway:>16.1f}"
                )


if __name__ == "__main__":
    sys.exit(main())
