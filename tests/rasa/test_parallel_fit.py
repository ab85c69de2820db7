"""Threaded logistic-regression fits are scikit-learn's own fits, bit for bit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.rasa.nlu import parallel_fit
from bot.rasa.nlu.classifier import MultilingualIntentClassifier
from bot.rasa.nlu.knowledge import ARTICLE

CLASSES = 7


def problem(seed: int = 0, rows: int = 300) -> tuple[csr_matrix, np.ndarray]:
    """Dense embeddings beside sparse n-grams, classes from 4 to ~110 examples."""
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(4, 110, CLASSES).astype(int)
    y = np.repeat([f"class_{i}" for i in range(CLASSES)], sizes)[:rows]
    codes = np.unique(y, return_inverse=True)[1]
    dense = rng.normal(size=(len(y), 12)) + rng.normal(size=(CLASSES, 12))[codes]
    sparse = sparse_random(len(y), 200, density=0.05, random_state=seed, format="csr")
    return hstack([csr_matrix(dense), sparse]).tocsr(), y


def estimator(**kwargs: Any) -> LogisticRegression:
    return LogisticRegression(C=30.0, max_iter=500, tol=1e-4, random_state=42, **kwargs)


def assert_same(threaded: LogisticRegression, sequential: LogisticRegression, X: csr_matrix) -> None:  # noqa: N803
    assert np.array_equal(threaded.coef_, sequential.coef_)
    assert np.array_equal(threaded.intercept_, sequential.intercept_)
    assert list(threaded.classes_) == list(sequential.classes_)
    assert np.array_equal(threaded.n_iter_, sequential.n_iter_)
    assert threaded.n_features_in_ == sequential.n_features_in_
    np.testing.assert_allclose(threaded.predict_proba(X), sequential.predict_proba(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("class_weight", "weighted"), [("balanced", False), (None, True), ("balanced", True), (None, False)]
)
def test_a_threaded_fit_is_the_sequential_fit(class_weight: str | None, weighted: bool) -> None:
    X, y = problem()  # noqa: N806
    weights = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if weighted else None
    threaded = parallel_fit.fit(estimator(class_weight=class_weight), X, y, weights, n_jobs=2)
    assert_same(threaded, estimator(class_weight=class_weight).fit(X, y, sample_weight=weights), X)


def test_the_threaded_products_are_scipys_bit_for_bit() -> None:
    X, _ = problem(seed=3)  # noqa: N806
    rng = np.random.default_rng(2)
    W, G = rng.normal(size=(CLASSES, X.shape[1])), rng.normal(size=(X.shape[0], CLASSES))  # noqa: N806
    with ThreadPoolExecutor(max_workers=3) as pool:
        products = parallel_fit.ThreadedProducts(X, pool, 3)
        assert np.array_equal(products @ W.T, X @ W.T)
        assert np.array_equal(G.T @ products, G.T @ X)


def test_what_cannot_be_threaded_exactly_is_scikit_learns_own_fit() -> None:
    X, y = problem()  # noqa: N806
    binary = np.where(y == "class_6", "yes", "no")
    for model, data, labels in (
        (estimator(solver="liblinear"), X, y),
        (estimator(), X, binary),
        (estimator(), X.toarray(), y),
    ):
        threaded = parallel_fit.fit(model, data, labels, n_jobs=2)
        assert_same(threaded, LogisticRegression(**model.get_params()).fit(data, labels), X)


def test_a_threaded_model_persists_like_any_other() -> None:
    X, y = problem()  # noqa: N806
    model = parallel_fit.fit(estimator(class_weight="balanced"), X, y, n_jobs=2)
    dumped = sio.dumps(model)
    loaded = sio.loads(dumped, trusted=sio.get_untrusted_types(data=dumped))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def training_data() -> TrainingData:
    X, y = problem(rows=260)  # noqa: N806
    examples = []
    for index, (row, label) in enumerate(zip(X, y, strict=True)):
        data = {"text": f"q{index}", "intent": label}
        if label in ("class_4", "class_5", "class_6"):
            data = {**data, "intent": KNOWLEDGE_INTENT, ARTICLE: label}
        m = Message(data)
        m.add_features(Features(row[:, 12:], "sentence", "text", "cvf"))
        m.add_features(Features(row[:, :12].toarray(), "sentence", "text", "use"))
        examples.append(m)
    return TrainingData(examples)


def test_the_classifier_trains_the_same_model_on_one_or_two_threads(tmp_path: Path) -> None:
    models = []
    for n_jobs in (1, 2):
        config = {**MultilingualIntentClassifier.get_default_config(), "n_jobs": n_jobs}
        storage, resource = LocalModelStorage(tmp_path), Resource(f"clf_{n_jobs}")
        component = MultilingualIntentClassifier(config, "clf", storage, resource)
        component.train(training_data())
        models.append(component)
    one, two = models
    X = one._create_X(training_data().intent_examples)  # noqa: N806
    assert_same(two.clf, one.clf, X)
    assert_same(two.article_clf, one.article_clf, X)
