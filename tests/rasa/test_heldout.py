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
