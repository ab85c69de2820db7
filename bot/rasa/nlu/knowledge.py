"""Help-centre articles as classes of the intent classifier (Rasa's retrieval-intent idea).

Placed first in the pipeline, ``HelpCentreExamples`` adds every article's example questions to
the training data under the one domain intent ``knowledge``, tagged with the article id. The
featurizers then embed them like any example, and ``MultilingualIntentClassifier`` learns
``knowledge`` as one intent among the others, then which article (a second stage), so the help
centre competes with the intents on the same probabilities instead of a nearest intent winning
by default.

Measured before choosing (docs/benchmarks.md): nearest-neighbour search over a few questions
per article put the right article first for about a third of real long-tail questions; the
articles as classes, with as many examples as an intent, answer the long-tail held-out set.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.knowledge import KNOWLEDGE_DIR, KNOWLEDGE_INTENT, load_help_centre
from bot.rasa.nlu.component import ConfiguredComponent

log = logging.getLogger(__name__)
ARTICLE = "article"  # message key: the article an example or a prediction is about


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class HelpCentreExamples(ConfiguredComponent):
    """Adds the help centre's example questions to the NLU training data (training only)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"knowledge_dir": str(KNOWLEDGE_DIR)}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.folder = Path(config["knowledge_dir"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        centre = load_help_centre(self.folder)
        for problem in centre.problems:
            log.warning("help centre: %s (article left out)", problem)
        examples = [
            Message(data={TEXT: question, INTENT: KNOWLEDGE_INTENT, ARTICLE: article.id})
            for by_id in centre.articles.values()
            for article in by_id.values()
            for question in article.questions
        ]
        log.info("help centre: %d example questions of %d articles", len(examples), len(centre.ids()))
        return training_data.merge(TrainingData(training_examples=examples)) if examples else training_data

    def process(self, messages: List[Message]) -> List[Message]:
        return messages
