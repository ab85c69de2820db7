"""A conversational reply the classifier leans towards is given below the fallback's threshold.

The FallbackClassifier's 0.3 keeps the assistant from answering a question it only guesses at.
A greeting, "I'll put it another way" or "I'm the assistant, this is what I do" answers no
question: given wrongly it costs a line, while the clarification instead ("is it about one of
these topics?") answers "yo, ça roule ?" with a menu of bills and SIM cards. ``SmallTalkLean``
runs right after the FallbackClassifier: when it fell back and the classifier's best guess is
one of ``intents`` (greet, confused, bot_challenge, capabilities) at ``threshold`` or more, ahead
of the next by the fallback's ``ambiguity``, that reply is given. Yes/no, thanks and goodbye are
not among them: each changes the conversation (a "no" after an answer hands over, "goodbye"
closes). On the held-out sets this changes exactly two messages, both to their labelled intent
("yo, ça roule ?" greet 0.28, "je suis largué" confused 0.29; docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.core.taxonomy import CONFUSED_INTENT, FALLBACK_INTENT
from bot.rasa.nlu.component import ConfiguredComponent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SmallTalkLean(ConfiguredComponent):
    """Gives a leaning conversational reply instead of the fallback (module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "intents": ["greet", CONFUSED_INTENT, "bot_challenge", "capabilities"],
            "threshold": 0.2,
            "ambiguity": 0.05,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self.intents = frozenset(config["intents"])
        self.threshold = float(config["threshold"])
        self.ambiguity = float(config["ambiguity"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if (message.get(INTENT) or {}).get("name") != FALLBACK_INTENT:
                continue
            ranking = [e for e in message.get(INTENT_RANKING_KEY) or [] if e.get("name") != FALLBACK_INTENT]
            if not ranking or ranking[0].get("name") not in self.intents:
                continue
            best = float(ranking[0].get("confidence") or 0)
            second = float(ranking[1].get("confidence") or 0) if len(ranking) > 1 else 0.0
            if best >= self.threshold and best - second >= self.ambiguity:
                message.set(INTENT, {"name": ranking[0]["name"], "confidence": best}, add_to_output=True)
        return messages
