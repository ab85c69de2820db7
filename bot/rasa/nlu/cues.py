"""Cues read from the words around a name, as a small dense feature for the classifier.

Some questions differ only in word order or direction ("call Turkey from Belgium" / "call
Belgium from Turkey", "I'm coming to you from Orange" / "I'm leaving you for Orange"): the
sentence encoders put them side by side and the character n-grams (inside words) cannot tell
them apart. A ``CueFeaturizer`` matches a few regular expressions per cue on the folded text and
adds one value per cue (``weight`` when shown, 0 otherwise); the classifier learns from the
training examples how much each cue counts for which intent or article.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Dict, List, Tuple

import numpy as np
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.unicode import fold
from bot.rasa.nlu.featurizer import SentenceFeaturizer

Patterns = Dict[str, List[re.Pattern[str]]]

WORD_START = r"(?<![\w'])"  # an apostrophe ends "l'" and "d'" but starts no word
WORD_END = r"(?!\w)"


def alternatives(names: Tuple[str, ...]) -> str:
    """A regex group of the words, longest first (so "new york" wins over "york")."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True)) + ")"


def folded(text: str) -> str:
    """Lower case, accents and typographic apostrophes away, one space between words."""
    return re.sub(r"[^\w']+", " ", fold(text.replace("’", "'").replace("`", "'"))).strip()


def shown(patterns: Patterns, text: str) -> Dict[str, bool]:
    """Which cues the text shows."""
    plain = folded(text)
    return {cue: any(p.search(plain) for p in found) for cue, found in patterns.items()}


class CueFeaturizer(SentenceFeaturizer):
    """Adds the cues of ``PATTERNS`` as one dense sentence feature, in ``PATTERNS``' order."""

    PATTERNS: ClassVar[Patterns] = {}

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "weight": 1.0}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(config, name)
        self.weight = float(self._config["weight"])

    def _featurize(self, messages: List[Message], training: bool = False) -> None:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            cues = shown(self.PATTERNS, text)
            vector = np.array([[self.weight if cues[c] else 0.0 for c in self.PATTERNS]], dtype=np.float32)
            self.add_features_to_message(None, vector, TEXT, message)
