"""The held-out benchmark stays held out: none of its messages is a training example."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.rasa.evaluation import load_heldout

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def normal(text: str) -> str:
    return re.sub(r"[\s?!.,]+$", "", text.strip().lower())


def training_examples() -> set[str]:
    found = set()
    for path in (PROJECT_ROOT / "data" / "nlu").rglob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    found.add(normal(ANNOTATION.sub(r"\1", line.strip()[2:])))
    return found


def test_no_held_out_message_is_a_training_example() -> None:
    training = training_examples()
    leaked = [(lang, intent, text) for lang, intent, text in load_heldout() if normal(text) in training]
    assert leaked == []


def test_every_language_has_enough_held_out_messages() -> None:
    per_language = Counter(lang for lang, _intent, _text in load_heldout())
    assert all(per_language[lang] >= 20 for lang in SUPPORTED_LANGUAGES), per_language


def test_the_overlap_report_finds_a_near_copy_in_other_words(monkeypatch) -> None:
    """bench/heldout_overlap.py: a held-out question an example repeats in other words is listed,
    a different question in the same language or the same words in another language are not."""
    import bench.heldout_overlap as overlap

    monkeypatch.setattr(
        overlap, "load_heldout", lambda: [("en", "out_of_scope", "can i open a bank account with u")]
    )
    monkeypatch.setattr(overlap, "load_longtail", lambda: [])
    monkeypatch.setattr(
        overlap,
        "training_texts",
        lambda: [
            ("en", "x", "Can I open a bank account with you guys?"),
            ("en", "y", "how do I activate my sim"),
            ("fr", "z", "can i open a bank account with u"),
        ],
    )
    found = overlap.overlaps(0.6)
    assert [(f[1], f[3]) for f in found] == [("en", "Can I open a bank account with you guys?")]
    assert overlap.jaccard(overlap.word_set("Liège, ok?"), overlap.word_set("liege ok")) == 1.0
