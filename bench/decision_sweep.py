"""Calibrate the help centre's decision on both held-out sets at once, without retraining.

    .venv/bin/python -m bench.decision_sweep [--model models/assistant-XXXX.tar.gz]

bench/longtail.py --sweep shows what a threshold does to the long tail; this adds what it does to
the intents' held-out messages (bench/heldout/*.yml), which the editors' check gates at 95 % per
language, so a setting that wins on the long tail cannot quietly cost the intents. Both come
from one parse per message: ArticleDecision is replayed on the classifier's own ranking
(bot.rasa.longtail.simulate), exactly what the pipeline would decide with those settings.

Intent accuracy here: the replayed outcome is the labelled intent (an escalation intent counts
when it hands over, out_of_scope when the answer is honest). It tracks bench/nlu_heldout.py's
figure closely but not exactly (that one reads the predicted intent name).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.model_arg import model_of, model_parser  # noqa: E402
from bot.core.settings import SUPPORTED_LANGUAGES  # noqa: E402
from bot.core.taxonomy import OUT_OF_SCOPE_INTENT, is_escalation  # noqa: E402
from bot.rasa.evaluation import load_heldout  # noqa: E402
from bot.rasa.longtail import load_longtail, parse_all, score, simulate  # noqa: E402

GRID = {
    "intent_preference": (0.6, 0.7, 0.8, 0.9),
    "article_conditional": (0.4, 0.5, 0.6),
    "lexical_threshold": (0.4, 0.5),
    "intent_rescue": (0.4, 0.5),
    "article_sure": (1.01, 0.9, 0.8),
    # OutOfScopeNeighbours' margin; 1.0: never (the message's margin is a difference of cosines)
    "out_of_scope_threshold": (1.0, 0.0, -0.01, -0.02),
}


def intent_right(label: str, result: str) -> bool:
    if is_escalation(label):
        return result == "handover"
    if label == OUT_OF_SCOPE_INTENT:
        return result == "honest"
    return result == label


def evaluate(longtail, long_parsed, heldout, held_parsed, settings: dict[str, float]) -> dict[str, float]:
    stats = score(longtail, [simulate(p, **settings) for p in long_parsed])
    right, total = Counter(), Counter()
    for (language, label, _), parsed in zip(heldout, held_parsed, strict=True):
        total[language] += 1
        right[language] += intent_right(label, simulate(parsed, **settings))
    return {
        "right": min(100 * s["right"] / max(s["n"], 1) for s in stats.values()),
        "wrong": max(100 * s["wrong"] / max(s["n"], 1) for s in stats.values()),
        "anyway": max(100 * s["answered_anyway"] / max(s["unanswerable"], 1) for s in stats.values()),
        "intents": min(100 * right[lang] / max(total[lang], 1) for lang in SUPPORTED_LANGUAGES),
    }


def main(argv: list[str] | None = None) -> int:
    parser = model_parser()
    args = parser.parse_args(argv)
    args.model = model_of(args)
    longtail, heldout = load_longtail(), load_heldout()
    parsed = asyncio.run(parse_all(args.model, [i.text for i in longtail] + [t for _, _, t in heldout]))
    long_parsed, held_parsed = parsed[: len(longtail)], parsed[len(longtail) :]
    print(f"model: {args.model}   (worst language for each figure)")
    names = list(GRID)
    print("".join(f"{n[:10]:>11}" for n in names) + "   right  wrong  anyway  intents")
    for values in itertools.product(*GRID.values()):
        settings = dict(zip(names, values, strict=True))
        f = evaluate(longtail, long_parsed, heldout, held_parsed, settings)
        print(
            "".join(f"{v:>11.2f}" for v in values)
            + f"  {f['right']:>6.1f} {f['wrong']:>6.1f} {f['anyway']:>7.1f} {f['intents']:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
