"""Two questions in one message: how sure must each part be before both are answered?

    .venv/bin/python -m bench.two_questions [--model models/assistant-XXXX.tar.gz] [--show]

Joins pairs of held-out long-tail questions (bench/heldout/longtail/<lang>.yml, two different
labels, both answerable) into one message, as customers write them: "<first>? <second>" and
"<first> and <second>" when the second starts with a question word. For each message that
bot/core/two_questions.py splits, it compares reading the message whole (one answer) with
answering both parts (:func:`answers_both`, the router's decision) for several values of
``LIKELY`` (the less sure part's floor; the surer one needs ``CLEAR``; after a statement both
need ``CLEAR``). Printed per language and floor: the questions answered right (of two per message) and
the answers about something else (confidently wrong).
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.model_arg import model_of, model_parser  # noqa: E402
from bot.core.settings import SUPPORTED_LANGUAGES  # noqa: E402
from bot.core.two_questions import (  # noqa: E402
    CLEAR,
    answer_reading,
    answers_both,
    question_parts,
)
from bot.rasa.longtail import ACCOUNT_SET, UNANSWERABLE, Item, load_longtail, outcome, parse_all  # noqa: E402

FLOORS = (0.8, 0.7, 0.6, 0.5, 0.4)
CONNECTIVE = {"nl": "en", "fr": "et", "en": "and"}
STEPS = (7, 19)  # pairs item i with items i + 7 and i + 19 (when another label)


def pairs(items: list[Item]) -> list[tuple[str, Item, Item]]:
    """(message, first item, second item) for each language's answerable questions."""
    found = []
    for language in SUPPORTED_LANGUAGES:
        rows = [i for i in items if i.language == language and i.source != ACCOUNT_SET]
        rows = [i for i in rows if i.label != UNANSWERABLE]
        for step, (index, first) in product(STEPS, enumerate(rows)):
            second = rows[(index + step) % len(rows)]
            if first.label == second.label:
                continue
            head = first.text.rstrip(" ?.!")
            joined = f"{head}? {second.text}" if index % 2 else f"{head} {CONNECTIVE[language]} {second.text}"
            found.append((joined, first, second))
    return found


def count(answers: list[str], first: Item, second: Item) -> tuple[int, int]:
    """(right, wrong): answers about one of the two questions, and answers about neither."""
    labels = {first.label, second.label}
    right = len(labels & set(answers))
    wrong = sum(1 for a in answers if a not in labels and a not in ("honest", "handover"))
    return right, wrong


async def run(model: Path, show: bool) -> None:
    candidates = [(joined, a, b, question_parts(joined)) for joined, a, b in pairs(load_longtail())]
    split = [(joined, a, b, parts) for joined, a, b, parts in candidates if parts is not None]
    texts = [t for joined, _, _, parts in split for t in (joined, *parts)]  # type: ignore[misc]
    parsed = await parse_all(model, texts)
    print(f"model: {model}; {len(split)} of {len(candidates)} joined messages split; CLEAR {CLEAR}")
    table: dict[tuple[str, float], list[int]] = defaultdict(lambda: [0, 0, 0])
    for index, (joined, first, second, parts) in enumerate(split):
        whole, one, two = parsed[3 * index : 3 * index + 3]
        whole_counts = count([outcome(whole)], first, second)
        readings = answer_reading(one), answer_reading(two)
        for floor in FLOORS:
            both = answers_both(joined, parts, *readings, likely=floor)  # as the router decides
            right, wrong = count([outcome(one), outcome(two)], first, second) if both else whole_counts
            row = table[(first.language, floor)]
            row[0] += 1
            row[1] += right
            row[2] += wrong
            if show and both and floor == min(FLOORS) and not answers_both(joined, parts, *readings, CLEAR):
                print(f"  {first.language} {readings} {(outcome(one), outcome(two))} <- {joined}")
    print(f"{'lang':<6}{'LIKELY':>8}{'messages':>10}{'right':>8}{'wrong':>8}")
    for (language, floor), (n, right, wrong) in sorted(table.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        print(f"{language:<6}{floor:>8}{n:>10}{right:>8}{wrong:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = model_parser()
    parser.add_argument("--show", action="store_true", help="the messages only the lowest floor splits")
    args = parser.parse_args(argv)
    args.model = model_of(args)
    asyncio.run(run(args.model, args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
