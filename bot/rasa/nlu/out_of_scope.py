"""Questions about something we do not do, told apart by their nearest examples.

"Out of scope" is not one topic but hundreds (home internet, energy, jobs, shares, the CEO, a phone's
camera, a car lease ...), each with a few examples. A classifier that weighs it as one intent among
twenty learns it poorly: "c'est qui le patron de votre entreprise" went to the business-customers
article (0.99), "comment mettre l'empreinte digitale pour déverrouiller mon samsung" to the eSIM
(0.77), although the training data has an out-of-scope example of each kind. Nearest neighbours
suit such a scattered class: a message whose closest out-of-scope example is at least as close as
its closest in-scope example (intents, small talk and the help centre's questions) asks about
something we do not do.

``OutOfScopeNeighbours`` keeps the sentence embeddings of every training example (one matrix per
sentence encoder, by featurizer alias), and for a message computes, per encoder, the cosine of its
nearest out-of-scope example minus that of its nearest in-scope example, averaged over the
encoders (``margin``, on the message for the replays of bot.rasa.longtail.simulate). At or above
``threshold`` the message becomes ``out_of_scope``: the honest answer that names what the assistant
does cover. Escalation intents keep their own confidence, so the escalation guard after it still
hands a fraud report or a complaint to a person. Calibrated on both held-out sets
(bench/decision_sweep.py, docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.taxonomy import OUT_OF_SCOPE_INTENT, is_escalation
from bot.rasa.nlu.component import StoredComponent, first_in_ranking

NEIGHBOURS = "out_of_scope"  # message key: {"margin": float} for the replays


def _normalised(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


class Neighbours:
    """The normalised embeddings of the in-scope and the out-of-scope examples, per encoder."""

    def __init__(self, inside: Dict[str, np.ndarray], outside: Dict[str, np.ndarray]) -> None:
        encoders = sorted(set(inside) & set(outside))
        self.inside = {e: _normalised(inside[e]) for e in encoders if len(inside[e]) and len(outside[e])}
        self.outside = {e: _normalised(outside[e]) for e in self.inside}

    def __bool__(self) -> bool:
        return bool(self.inside)

    def margin(self, vectors: Dict[str, np.ndarray]) -> float | None:
        """Mean over the encoders of (nearest out-of-scope cosine - nearest in-scope cosine)."""
        margins = []
        for encoder, inside in self.inside.items():
            vector = vectors.get(encoder)
            if vector is None:
                continue
            query = _normalised(np.reshape(vector, (1, -1)))[0]
            if query.shape[0] != inside.shape[1]:
                continue
            margins.append(float((self.outside[encoder] @ query).max() - (inside @ query).max()))
        return sum(margins) / len(margins) if margins else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class OutOfScopeNeighbours(StoredComponent):
    """Makes a message ``out_of_scope`` when its nearest examples are out of scope."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # the aliases of the sentence featurizers whose embeddings are compared
            "featurizers": ["use", "e5"],
            # margin (cosine, mean over encoders) at or above which the message is out of scope
            "threshold": 0.0,
            # the confidence the out-of-scope answer gets: enough for the fallback's threshold
            # and ambiguity (the ordinary intents share the rest)
            "confidence": 0.9,
        }

    def restore(self, state: Neighbours | None) -> None:
        self.neighbours = state or Neighbours({}, {})

    @classmethod
    def read(cls, folder: Path) -> Neighbours:
        inside: Dict[str, np.ndarray] = {}
        outside: Dict[str, np.ndarray] = {}
        for path in folder.glob("*.npy"):
            side, alias = path.name.split(".")[:2]
            (outside if side == "outside" else inside)[alias] = np.load(path).astype(np.float32)
        return Neighbours(inside, outside)

    def _vectors(self, message: Message) -> Dict[str, np.ndarray]:
        vectors = {}
        for alias in self.config["featurizers"]:
            sentence = message.get_dense_features(TEXT, featurizers=[alias])[1]
            if sentence is not None:
                vectors[alias] = np.asarray(sentence.features, dtype=np.float32).reshape(-1)
        return vectors

    def train(self, training_data: TrainingData) -> Resource:
        inside: Dict[str, List[np.ndarray]] = {a: [] for a in self.config["featurizers"]}
        outside: Dict[str, List[np.ndarray]] = {a: [] for a in self.config["featurizers"]}
        seen = set()
        for example in training_data.intent_examples:
            text, intent = example.get(TEXT), example.get(INTENT)
            if not text or not intent or text in seen:
                continue
            seen.add(text)
            target = outside if intent == OUT_OF_SCOPE_INTENT else inside
            for alias, vector in self._vectors(example).items():
                target[alias].append(vector)
        stacked = {
            side: {a: np.vstack(v) for a, v in rows.items() if v}
            for side, rows in (("inside", inside), ("outside", outside))
        }
        with self.storage() as folder:
            for side, by_alias in stacked.items():
                for alias, matrix in by_alias.items():
                    # half precision on disk: ~30 MB instead of ~60 for ~16,000 examples
                    np.save(folder / f"{side}.{alias}.npy", _normalised(matrix).astype(np.float16))
        self.neighbours = Neighbours(stacked["inside"], stacked["outside"])
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.neighbours:
            return messages
        for message in messages:
            margin = self.neighbours.margin(self._vectors(message))
            if margin is None:
                continue
            message.set(NEIGHBOURS, {"margin": margin}, add_to_output=True)
            intent = message.get(INTENT) or {}
            name = str(intent.get("name") or "")
            if margin < float(self.config["threshold"]) or is_escalation(name):
                continue  # a sensitive case keeps priority: the guard decides
            # out of scope already, but weakly ("can i open a savings account with you?" 0.29):
            # the neighbours agree, so it is the honest answer, not "is it about direct debit?"
            already = float(intent.get("confidence") or 0) if name == OUT_OF_SCOPE_INTENT else 0.0
            confidence = max(float(self.config["confidence"]), already)
            ranking = message.get("intent_ranking") or []
            decided, ranking = first_in_ranking(OUT_OF_SCOPE_INTENT, confidence, ranking)
            message.set(INTENT, decided, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages
