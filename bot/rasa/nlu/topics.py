"""A message that only names a broad topic gets that topic's menu, not a guessed answer.

"factuur", "ma facture", "question about my plan", "probleem met mijn sim": the classifier has to
pick one intent or article, and any pick is a guess (a bare "facture" went to the VAT-number
article, "my plan" was handed over as a cancellation, "sim" read as "yes"). ``TopicOnly`` runs
after the decision, the escalation guard and the follow-up reading: a message that is nothing
but a topic of ``data/topics.yml`` (filler words aside, bot.core.topics) becomes
``nlu_fallback`` with ``topic`` on it, and action_clarify asks which of the topic's commonest
questions it is. Such a message carries no sensitive word by construction (only the topic and
fillers), so overriding the guard hands nothing sensitive to the bot; a repeat contact ("3rd
time I ask about my bill") has more words and is left to RepeatContact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.taxonomy import FALLBACK_INTENT
from bot.core.topics import TOPICS_FILE, Topics, load_topics
from bot.rasa.nlu.component import ConfiguredComponent

TOPIC = "topic"  # message key: {"id": "bill"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TopicOnly(ConfiguredComponent):
    """Marks a message that only names a topic (module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"topics_file": str(TOPICS_FILE)}

    def __init__(self, config: Dict[str, Any], topics: Topics | None = None) -> None:
        self.topics = topics if topics is not None else load_topics(Path(config["topics_file"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            topic = self.topics.only_topic(message.get(TEXT) or "")
            if topic is None:
                continue
            message.set(TOPIC, {"id": topic.id}, add_to_output=True)
            message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
        return messages
