"""The intent classifier's escalation guard, on a tiny hand-made model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

from bot.rasa.nlu.classifier import EscalationGuard, MultilingualIntentClassifier, is_escalation
from tests.helpers.nlu import message


def classifier(tmp_path: Path) -> MultilingualIntentClassifier:
    config = MultilingualIntentClassifier.get_default_config()
    component = MultilingualIntentClassifier(config, "clf", LocalModelStorage(tmp_path), Resource("clf"))
    x = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] * 5, dtype=float)
    y = ["billing_refund", "sensitive_fraud", "request_human", "bot_challenge"] * 5
    component.clf = LogisticRegression(C=1.0).fit(x, y)
    return component


def understand(tmp_path: Path, vector: list[float], threshold: float = 0.35) -> Message:
    """The pipeline's tail as in config.yml: classifier, FallbackClassifier, EscalationGuard."""
    [m] = classifier(tmp_path).process([message(vector)])
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.3, "ambiguity_threshold": 0.05},
        LocalModelStorage(tmp_path),
        Resource("fallback"),
        None,
    )
    [m] = fallback.process([m])
    [m] = EscalationGuard({"escalation_threshold": threshold}).process([m])
    return m


def test_escalation_intents_together_outweigh_an_ordinary_best_guess(tmp_path: Path) -> None:
    ambiguous = [0.5, 0.35, 0.35, 0.0]  # billing_refund is the single best, two escalations together win
    guarded = understand(tmp_path, ambiguous)
    assert guarded.get("intent")["name"] in ("sensitive_fraud", "request_human")
    assert guarded.get("intent")["confidence"] >= 0.35
    names = [e["name"] for e in guarded.get("intent_ranking") if e["name"] != "nlu_fallback"]
    assert names[0] == "billing_refund"  # the ranking stays as the classifier made it
    plain = understand(tmp_path, ambiguous, threshold=1.0)
    assert plain.get("intent")["name"] in ("billing_refund", "nlu_fallback")


def test_a_near_tie_between_two_sensitive_intents_is_not_a_misunderstanding(tmp_path: Path) -> None:
    m = understand(tmp_path, [0.0, 1.0, 1.0, 0.0])  # fraud or a person? either way, a person
    assert m.get("intent")["name"] in ("sensitive_fraud", "request_human")


def test_a_request_for_a_person_beats_are_you_a_bot_when_it_is_likely_enough(tmp_path: Path) -> None:
    m = understand(tmp_path, [0.0, 0.0, 3.0, 3.2])  # bot_challenge first, request_human close behind
    ranking = {e["name"]: e["confidence"] for e in m.get("intent_ranking")}
    assert ranking["bot_challenge"] > ranking["request_human"] >= 0.35
    assert m.get("intent")["name"] == "request_human"


def test_clear_ordinary_questions_are_not_escalated(tmp_path: Path) -> None:
    m = understand(tmp_path, [3.0, 0.0, 0.0, 0.0])
    assert m.get("intent")["name"] == "billing_refund"


def test_is_escalation() -> None:
    assert is_escalation("request_human") and is_escalation("sensitive_abuse")
    assert not is_escalation("sim_lost_stolen")
