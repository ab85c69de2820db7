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

Phone-settings questions are out of scope ("hoe zet ik een wekker op mijn iphone"), so an eSIM
question in the same words ("hoe activeer ik mijn esim op iphone", margin +0.03) went to the
honest answer. The verdict stands only against two signals together: when the classifier's own
ranking is fairly sure of an intent (``in_scope_confidence``) whose examples cover the message's
key words (BM25 relative score, ``in_scope_coverage``: the index of every intent's examples per
language is kept in the model), the message stays in scope. None of the held-out out-of-scope
messages the neighbours catch has both (the closest: 0.77 and 0.55).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.project import Project
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.core.taxonomy import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, is_escalation
from bot.core.unicode import fold
from bot.rasa.nlu.component import StoredComponent, first_in_ranking
from bot.rasa.nlu.knowledge import ARTICLE
from bot.rasa.nlu.lexical import LexicalIndex
from bot.rasa.nlu.shorthand import text_for_features

NEIGHBOURS = "out_of_scope"  # message key: {"margin": float, "in_scope": bool} for the replays
NOT_AN_ANSWER = (KNOWLEDGE_INTENT, FALLBACK_INTENT, OUT_OF_SCOPE_INTENT)
REPLAY_WINDOW = 0.05  # below the threshold by more than this, in_scope is not worked out


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
            # ... unless the classifier is at least this sure of an intent (its own ranking) and
            # the message's key words are this well covered by that intent's examples (BM25,
            # 0-1): "hoe activeer ik mijn esim op iphone" is nearest to "hoe zet ik een wekker op
            # mijn iphone", but it is an eSIM question by its words and by the classifier
            "in_scope_confidence": 0.5,
            "in_scope_coverage": 0.8,
            "project_root": str(PROJECT_ROOT),
        }

    INTENTS_FILE = "intent_documents.json"

    def restore(self, state: tuple[Neighbours, Dict[str, Dict[str, str]]] | None) -> None:
        neighbours, documents = state or (Neighbours({}, {}), {})
        self.neighbours, self.intents = neighbours, LexicalIndex(documents)

    @classmethod
    def read(cls, folder: Path) -> tuple[Neighbours, Dict[str, Dict[str, str]]]:
        inside: Dict[str, np.ndarray] = {}
        outside: Dict[str, np.ndarray] = {}
        for path in folder.glob("*.npy"):
            side, alias = path.name.split(".")[:2]
            (outside if side == "outside" else inside)[alias] = np.load(path).astype(np.float32)
        intents = folder / cls.INTENTS_FILE
        documents = json.loads(intents.read_text(encoding="utf-8")) if intents.exists() else {}
        return Neighbours(inside, outside), documents

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
        documents = intent_documents(Path(self.config["project_root"]))
        with self.storage() as folder:
            for side, by_alias in stacked.items():
                for alias, matrix in by_alias.items():
                    # half precision on disk: ~30 MB instead of ~60 for ~16,000 examples
                    np.save(folder / f"{side}.{alias}.npy", _normalised(matrix).astype(np.float16))
            (folder / self.INTENTS_FILE).write_text(json.dumps(documents), encoding="utf-8")
        self.restore((Neighbours(stacked["inside"], stacked["outside"]), documents))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.neighbours:
            return messages
        for message in messages:
            margin = self.neighbours.margin(self._vectors(message))
            if margin is None:
                continue
            # the lexical check only where the verdict could change (and its replays)
            threshold = float(self.config["threshold"])
            in_scope = margin >= threshold - REPLAY_WINDOW and self._in_scope(message)
            message.set(NEIGHBOURS, {"margin": margin, "in_scope": in_scope}, add_to_output=True)
            intent = message.get(INTENT) or {}
            name = str(intent.get("name") or "")
            if margin < threshold or is_escalation(name) or in_scope:
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

    def _in_scope(self, message: Message) -> bool:
        """Whether the classifier (its own ranking, before the decision) is fairly sure of an
        intent whose examples cover the message's key words: two signals against the
        neighbours' verdict."""
        article = message.get(ARTICLE) or {}
        ranking = article.get("classified") or message.get("intent_ranking") or []
        top = next((e for e in ranking if e.get("name") not in NOT_AN_ANSWER), None)
        if top is None or float(top.get("confidence") or 0) < float(self.config["in_scope_confidence"]):
            return False
        coverage = self.intents.score(text_for_features(message), str(top["name"]))
        return coverage >= float(self.config["in_scope_coverage"])


def intent_documents(root: Path) -> Dict[str, Dict[str, str]]:
    """Per language, each intent's examples as one document (the out-of-scope ones left out)."""
    documents: Dict[str, Dict[str, str]] = {}
    for language in SUPPORTED_LANGUAGES:
        by_intent: Dict[str, List[str]] = {}
        for example in Project(root).examples(language):
            if example.intent != OUT_OF_SCOPE_INTENT:
                by_intent.setdefault(example.intent, []).append(example.value)
        documents[language] = {intent: fold(" ".join(texts)) for intent, texts in by_intent.items()}
    return documents
