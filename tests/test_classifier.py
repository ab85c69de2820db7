"""The intent classifier's escalation guard, on a tiny hand-made model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

from bot.nlu.classifier import MultilingualIntentClassifier, is_escalation


def message(vector: list[float]) -> Message:
    m = Message({"text": "x"})
    m.add_features(Features(np.array([vector], dtype=np.float32), "sentence", "text", "use"))
    return m


def classifier(tmp_path: Path, threshold: float) -> MultilingualIntentClassifier:
    config = {**MultilingualIntentClassifier.get_default_config(), "escalation_threshold": threshold}
    component = MultilingualIntentClassifier(config, "clf", LocalModelStorage(tmp_path), Resource("clf"))
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]] * 5, dtype=float)
    y = ["billing_refund", "sensitive_fraud", "request_human"] * 5
    component.clf = LogisticRegression(C=1.0).fit(x, y)
    return component


def test_escalation_intents_together_outweigh_an_ordinary_best_guess(tmp_path: Path) -> None:
    ambiguous = [0.5, 0.35, 0.35]  # billing_refund is the single best, the two escalations together win
    [guarded] = classifier(tmp_path, 0.35).process([message(ambiguous)])
    assert guarded.get("intent")["name"] in ("sensitive_fraud", "request_human")
    assert guarded.get("intent")["confidence"] >= 0.35
    ranking = guarded.get("intent_ranking")
    assert ranking[0] == guarded.get("intent")  # leads the ranking with the combined probability
    assert ranking[1]["name"] == "billing_refund"
    [plain] = classifier(tmp_path, 1.0).process([message(ambiguous)])
    assert plain.get("intent")["name"] == "billing_refund"


def test_a_near_tie_between_two_sensitive_intents_is_not_a_misunderstanding(tmp_path: Path) -> None:
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    [m] = classifier(tmp_path, 0.35).process([message([0.0, 1.0, 1.0])])  # fraud or a person?
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.3, "ambiguity_threshold": 0.05},
        LocalModelStorage(tmp_path),
        Resource("fallback"),
        None,
    )
    [checked] = fallback.process([m])
    assert checked.get("intent")["name"] in ("sensitive_fraud", "request_human")


def test_clear_ordinary_questions_are_not_escalated(tmp_path: Path) -> None:
    [m] = classifier(tmp_path, 0.35).process([message([3.0, 0.0, 0.0])])
    assert m.get("intent")["name"] == "billing_refund"


def test_is_escalation() -> None:
    assert is_escalation("request_human") and is_escalation("sensitive_abuse")
    assert not is_escalation("sim_lost_stolen")
