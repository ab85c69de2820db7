"""Held-out messages that a training example nearly repeats: the figures' honesty check.

    .venv/bin/python -m bench.heldout_overlap [--threshold 0.6]

`make check` refuses a held-out message that is also a training example once case, accents and
punctuation are set aside. A training example written while looking at a held-out error can
still repeat it in other words ("can I open a bank account with you guys" for "can i open a bank
account with u") and lift the figure without lifting the assistant. This prints, per language,
every pair of a held-out message (bench/heldout, both sets) and a training example or article
question whose word sets overlap at least ``--threshold`` (Jaccard), most similar first, so a
reviewer can see whether a figure was earned. It decides nothing by itself: similar questions
from different customers are normal, a near-copy is not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.knowledge import load_help_centre  # noqa: E402
from bot.core.project import Project  # noqa: E402
from bot.core.unicode import plain_words  # noqa: E402
from bot.rasa.evaluation import load_heldout  # noqa: E402
from bot.rasa.longtail import load_longtail  # noqa: E402


def word_set(text: str) -> frozenset[str]:
    return frozenset(plain_words(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def training_texts(root: Path = ROOT) -> list[tuple[str, str, str]]:
    """(language, where, text) for every intent example (file:line, as `make check` reads them)
    and article question."""
    project = Project(root)
    out = [(e.language, f"{e.path}:{e.line} {e.intent}", e.value) for e in project.examples()]
    for by_id in load_help_centre(project.knowledge_dir).articles.values():
        for article in by_id.values():
            out += [(article.language, f"article {article.id}", q) for q in article.questions]
    return out


def overlaps(threshold: float) -> list[tuple[float, str, str, str, str]]:
    heldout = [(lang, text) for lang, _, text in load_heldout()]
    heldout += [(item.language, item.text) for item in load_longtail()]
    training = [(lang, where, text, word_set(text)) for lang, where, text in training_texts()]
    found = []
    for language, text in heldout:
        words = word_set(text)
        for lang, where, example, example_words in training:
            score = jaccard(words, example_words) if lang == language else 0.0
            if score >= threshold:
                found.append((score, language, text, example, where))
    return sorted(found, key=lambda f: -f[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.6)
    args = parser.parse_args(argv)
    found = overlaps(args.threshold)
    for score, language, text, example, where in found:
        print(f"{score:.2f} [{language}] held-out {text!r}\n      training {example!r} ({where})")
    print(f"{len(found)} pairs at Jaccard >= {args.threshold}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
