"""Intent classifier for three languages in one model: logistic regression on sentence embeddings.

Measured on the held-out set (bench/nlu_heldout.py): DIET on this amount of data overfits
to surface forms (78% held-out accuracy), while a linear model on multilingual sentence
embeddings generalises across paraphrases and languages. Character n-grams (L2-normalised,
down-weighted) are added so typos and rare product words still count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.taxonomy import FALLBACK_INTENT, is_escalation
from bot.rasa.nlu import parallel_fit
from bot.rasa.nlu.component import ConfiguredComponent, first_in_ranking
from bot.rasa.nlu.knowledge import ARTICLE
from bot.rasa.nlu.phishing import FRAUD, clicked_a_link
from bot.rasa.nlu.place_question import without_placeless_question


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class MultilingualIntentClassifier(LogisticRegressionClassifier):
    """Rasa's logistic-regression classifier with tunable regularisation and feature weights."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 30.0,
            "max_iter": 5000,
            "sparse_weight": 0.6,
            # Stage one learns "a help-centre question" as one class: this many example
            # questions per article (all languages together) are enough for that and keep the
            # training time flat as editors add questions; the second stage, which article,
            # learns from all of them.
            "stage_one_questions_per_article": 48,
            # threads for the fits' matrix products; the model is bit for bit the same for any
            # value (bot/rasa/nlu/parallel_fit.py)
            "n_jobs": 2,
        }

    def __init__(
        self, config: Dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = self._new_estimator(class_weight=None)  # weighted per example in train()
        self.article_clf: LogisticRegression | None = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Two stages: intents (with ``knowledge`` as one of them), then which article.

        One classifier over intents and 84 articles at once trained about ten times slower (the
        cost grows with samples x classes); the second stage sees only the article examples.
        """
        every = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not every:
            return self._resource
        examples = self._stage_one_examples(every)
        features, labels = self._create_X(examples), [e.get(INTENT) for e in examples]
        # Every intent and every article weighs the same in total ("balanced" over the fine
        # labels): with per-class balancing the 84 articles together would weigh as one intent,
        # and the nearest intent would win every long-tail question.
        fine = [e.get(ARTICLE) or e.get(INTENT) for e in examples]
        counts = Counter(fine)
        weights = np.array([len(fine) / (len(counts) * counts[label]) for label in fine])
        parallel_fit.fit(self.clf, features, labels, weights, n_jobs=int(self.config["n_jobs"]))
        articles = [
            e for e in training_data.intent_examples if e.get(INTENT) == KNOWLEDGE_INTENT and e.get(ARTICLE)
        ]
        if len({e.get(ARTICLE) for e in articles}) >= 2:
            self.article_clf = self._new_estimator()
            parallel_fit.fit(
                self.article_clf,
                self._create_X(articles),
                [e.get(ARTICLE) for e in articles],
                n_jobs=int(self.config["n_jobs"]),
            )
        self.persist()
        return self._resource

    def _stage_one_examples(self, examples: List[Message]) -> List[Message]:
        """All intent examples and, per article, an even spread over its questions (they come
        language by language, so the spread takes some of each language)."""
        limit = int(self.config["stage_one_questions_per_article"])
        by_article: Dict[str, List[Message]] = {}
        kept = []
        for example in examples:
            article = example.get(ARTICLE)
            if article:
                by_article.setdefault(article, []).append(example)
            else:
                kept.append(example)
        for questions in by_article.values():
            if len(questions) <= limit:
                kept += questions
            else:
                step = len(questions) / limit
                kept += [questions[int(i * step)] for i in range(limit)]
        return kept

    def _new_estimator(self, class_weight: str | None = "balanced") -> LogisticRegression:
        return LogisticRegression(
            C=float(self.config["C"]),
            solver=self.config["solver"],
            max_iter=int(self.config["max_iter"]),
            tol=self.config["tol"],
            random_state=self.config["random_state"],
            class_weight=class_weight,
        )

    def persist(self) -> None:
        import skops.io as sio

        super().persist()
        with self._model_storage.write_to(self._resource) as model_dir:
            if self.article_clf is not None:
                sio.dump(self.article_clf, model_dir / f"{self._resource.name}.articles.skops")

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MultilingualIntentClassifier:
        import skops.io as sio

        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / f"{resource.name}.articles.skops"
                if path.exists():
                    component.article_clf = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        except ValueError:
            pass
        return component

    def process(self, messages: List[Message]) -> List[Message]:
        """Intent and the full, honest ranking per message (the escalation guard comes later).

        For ``knowledge`` the ranking carries the best article's joint probability
        P(knowledge) x P(article | knowledge), comparable with the intents'; the articles'
        ranking goes to the message's ``article`` key (read by ``action_answer_article``).
        """
        if not messages:
            return messages
        features = self._create_X(messages)
        probabilities = self.clf.predict_proba(features)
        names = list(self.clf.classes_)
        article_probabilities = (
            self.article_clf.predict_proba(features) if self.article_clf is not None else None
        )
        for index, (message, row) in enumerate(zip(messages, probabilities, strict=False)):
            scores = dict(zip(names, (float(p) for p in row), strict=False))
            article = None
            if article_probabilities is not None and KNOWLEDGE_INTENT in scores:
                p_knowledge = scores[KNOWLEDGE_INTENT]
                ranked = sorted(
                    zip(self.article_clf.classes_, article_probabilities[index], strict=False),
                    key=lambda e: -e[1],
                )
                article = {
                    "id": str(ranked[0][0]),
                    "confidence": p_knowledge * float(ranked[0][1]),
                    "conditional": float(ranked[0][1]),
                    "ranking": [{"id": str(i), "confidence": p_knowledge * float(p)} for i, p in ranked[:5]],
                }
                scores[KNOWLEDGE_INTENT] = article["confidence"]
            ranking = sorted(
                ({"name": n, "confidence": p} for n, p in scores.items()), key=lambda e: -e["confidence"]
            )
            limit = self.config[RANKING_LENGTH]
            message.set("intent", dict(ranking[0]), add_to_output=True)
            message.set("intent_ranking", ranking[:limit] if limit > 0 else ranking, add_to_output=True)
            if article is not None:
                message.set(ARTICLE, article, add_to_output=True)
        return messages

    def _create_X(self, messages: List[Message]) -> csr_matrix:  # noqa: N802 - Rasa's name
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            parts = []
            if dense is not None:
                parts.append(csr_matrix(np.asarray(dense.features, dtype=np.float64)))
            if sparse is not None:
                parts.append(normalize(csr_matrix(sparse.features)) * float(self.config["sparse_weight"]))
            rows.append(hstack(parts) if parts else csr_matrix((1, 0)))
        return vstack(rows).tocsr()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EscalationGuard(ConfiguredComponent):
    """Hands a message to a person when the escalation intents together are likely enough.

    Missing a fraud report or a request for a person costs more than a needless handoff. Placed
    after the FallbackClassifier, this has the last word: when the escalation intents
    (``sensitive_*``, ``request_human``) of the ranking together reach ``escalation_threshold``,
    the likeliest of them becomes the intent, with their combined probability, even when an
    ordinary intent scored higher or the fallback found the message ambiguous (a near tie between
    fraud and privacy is still a case for a person). The ranking is left as the classifier made it.

    One exception (``yield_to_article``): the help-centre article the decision chose (its key
    words agree, ArticleDecision) and that the classifier finds at least as likely as all the
    escalation intents together keeps its answer: "got a dodgy text with a link, didn't click,
    what do I do?" is the spam article's question even though it sounds like fraud. A real
    report ("I clicked and now money is gone") leaves the fraud intent the likelier one.

    A customer who says they clicked a link (not negated, not one of ours that fails) is a fraud
    case whatever the classifier says (bot/rasa/nlu/phishing.py).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"escalation_threshold": 0.3, "yield_to_article": True}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.threshold = float(config["escalation_threshold"])
        self.yield_to_article = bool(config.get("yield_to_article", True))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get("intent") or {}
            if is_escalation(intent.get("name") or ""):
                continue
            if clicked_a_link(message.get(TEXT) or ""):  # bot/rasa/nlu/phishing.py
                message.set("intent", {"name": FRAUD, "confidence": 1.0}, add_to_output=True)
                message.set("clicked_link", True, add_to_output=True)
                continue
            candidates = [e for e in message.get("intent_ranking") or [] if is_escalation(e["name"])]
            guarded = sum(float(e["confidence"]) for e in candidates)
            if self.yield_to_article and article_outweighs(intent.get("name"), message.get(ARTICLE), guarded):
                continue
            if candidates and guarded >= self.threshold:
                best = max(candidates, key=lambda e: e["confidence"])
                message.set("intent", {"name": best["name"], "confidence": guarded}, add_to_output=True)
        return messages


def article_outweighs(decided: str | None, article: Dict[str, Any] | None, escalation: float) -> bool:
    """The decision chose the article (``decided`` is ``knowledge``), and the classifier finds it
    at least as likely as the escalation intents together (``escalation``: their summed
    probability). The guard's rule; bot.rasa.longtail.simulate replays it."""
    if decided != KNOWLEDGE_INTENT or not article:
        return False
    return float(article.get("confidence") or 0) >= escalation


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ArticleDecision(ConfiguredComponent):
    """One decision between an intent's answer, a help-centre article and "I don't know yet".

    Placed after the classifier and ``HelpCentreLexicalScore`` (before the FallbackClassifier and
    the escalation guard, which keep their say). In this order:
    0. the place question ("which town?") is set aside when the message names no place nor the
       network (bot/rasa/nlu/place_question.py);
    1. an intent the classifier is sure of (``intent_preference``) and that beats the help centre
       keeps its answer;
    2. else the predicted article answers when the classifier's second stage is sure enough
       which article it is (``article_conditional``) *and* the question shares its key words with
       that article (``lexical_threshold``, BM25): a closed-set classifier is as sure on a
       question nothing answers, words are not; unless its joint probability for the article
       reaches ``article_sure`` (customers' own words can share few key words with it);
    3. else the best intent when it beats the help centre, or when it is clear once the help
       centre's share is set aside (``intent_rescue``: P(intent) / (1 - P(knowledge))); the
       FallbackClassifier then decides whether it is clear enough. Otherwise the fallback:
       clarify or admit it, never an unrelated article.
    Calibrated on bench/heldout/longtail against the intents' held-out set (bench/longtail.py
    --sweep, docs/benchmarks.md). Escalation intents keep their own confidence in the ranking so
    the guard still sees them.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "intent_preference": 0.7,
            "article_conditional": 0.5,
            "lexical_threshold": 0.5,
            # the classifier alone is enough when it is this sure of the article (joint
            # probability); above 1 the key words are always required
            "article_sure": 1.01,
            "intent_rescue": 0.4,
            # below this the intent is noise, however small the help centre leaves the rest
            "intent_rescue_floor": 0.05,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self.intent_preference = float(config["intent_preference"])
        self.article_conditional = float(config["article_conditional"])
        self.lexical_threshold = float(config["lexical_threshold"])
        self.article_sure = float(config.get("article_sure", 1.01))
        self.intent_rescue = float(config["intent_rescue"])
        self.intent_rescue_floor = float(config["intent_rescue_floor"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            article = message.get(ARTICLE)
            intent = (message.get("intent") or {}).get("name") or ""
            if not article or is_escalation(intent):
                continue
            # "can you recommend a good phone?" is no coverage question (bot/rasa/nlu/place_question.py)
            classified = without_placeless_question(
                message.get(TEXT) or "", message.get("intent_ranking") or []
            )
            decided, ranking = self.decide(classified, article)
            # the classifier's own ranking stays on the article: bench/longtail.py --sweep
            # replays this decision with other thresholds from it
            message.set(ARTICLE, {**article, "classified": classified[:10]}, add_to_output=True)
            message.set("intent", decided, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def decide(
        self, ranking: List[Dict[str, Any]], article: Dict[str, Any]
    ) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
        joint = float(article.get("confidence") or 0)
        intents = [e for e in ranking if e["name"] not in (KNOWLEDGE_INTENT, FALLBACK_INTENT)]
        best = float(intents[0]["confidence"]) if intents else 0.0
        if intents and best >= self.intent_preference and best >= joint:
            return dict(intents[0]), intents
        if self.answers(article):
            return first_in_ranking(KNOWLEDGE_INTENT, float(article.get("conditional") or 0), intents)
        if intents and best >= joint:
            return dict(intents[0]), intents
        conditional = float(article.get("conditional") or 0)
        p_knowledge = joint / conditional if conditional else 1.0
        rescued = (
            p_knowledge < 1.0
            and best >= self.intent_rescue_floor
            and best / (1.0 - p_knowledge) >= self.intent_rescue
        )
        if intents and rescued:
            rest = [
                {"name": e["name"], "confidence": float(e["confidence"]) / (1.0 - p_knowledge)}
                for e in intents
            ]
            return rest[0], rest
        return {"name": FALLBACK_INTENT, "confidence": joint}, ranking

    def answers(self, article: Dict[str, Any]) -> bool:
        if float(article.get("conditional") or 0) < self.article_conditional:
            return False
        lexical = float(article.get("lexical") or 0)
        return lexical >= self.lexical_threshold or float(article.get("confidence") or 0) >= self.article_sure
