"""OutOfScopeNeighbours: a message nearest to an out-of-scope example gets the honest answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.longtail import simulate
from bot.rasa.nlu.classifier import EscalationGuard
from bot.rasa.nlu.out_of_scope import NEIGHBOURS, Neighbours, OutOfScopeNeighbours

# Two encoders, as in config.yml; the second agrees with the first in other coordinates.
PAYMENTS, SIGNAL, ENERGY = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]


def embedded(text: str, use: list[float], intent: str | None = None) -> Message:
    data = {"text": text, **({"intent": intent} if intent else {})}
    m = Message(data)
    m.add_features(Features(np.array([use], dtype=np.float32), "sentence", "text", "use"))
    m.add_features(Features(np.array([use[::-1] + [0.0]], dtype=np.float32), "sentence", "text", "e5"))
    return m


INTENT_EXAMPLES = """nlu:
- intent: billing_payment_methods
  examples: |
    - how can I pay my bill
    - can I pay my bill by card
    - pay the invoice with bancontact
- intent: coverage_indoor
  examples: |
    - no signal at home
"""


def small_project(root: Path) -> Path:
    """The intents' examples the component indexes (English only)."""
    (root / "data" / "nlu" / "en").mkdir(parents=True, exist_ok=True)
    (root / "data" / "nlu" / "en" / "examples.yml").write_text(INTENT_EXAMPLES, encoding="utf-8")
    return root


def trained(tmp_path: Path, **config: object) -> OutOfScopeNeighbours:
    config = {"project_root": str(small_project(tmp_path / "project")), **config}
    component = OutOfScopeNeighbours(config, LocalModelStorage(tmp_path), Resource("oos"))
    component.train(
        TrainingData(
            training_examples=[
                embedded("how can I pay", PAYMENTS, "billing_payment_methods"),
                embedded("no signal at home", SIGNAL, "coverage_indoor"),
                embedded("do you sell electricity", ENERGY, "out_of_scope"),
            ]
        )
    )
    return component


def decided(intent: str, confidence: float, text: str, vector: list[float]) -> Message:
    m = embedded(text, vector)
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": "sensitive_fraud", "confidence": 0.05},
        {"name": "out_of_scope", "confidence": 1 - confidence - 0.05},
    ]
    m.set("intent", ranking[0], add_to_output=True)
    m.set("intent_ranking", ranking, add_to_output=True)
    return m


def test_a_question_nearest_to_an_out_of_scope_example_gets_the_honest_answer(tmp_path: Path) -> None:
    """The classifier chose payment methods (0.8) for an energy question: its nearest example is
    the out-of-scope one, so it becomes out_of_scope, and the margin stays on the message."""
    [m] = trained(tmp_path).process([decided("billing_payment_methods", 0.8, "gas?", [0.2, 0.0, 0.98])])
    assert m.get("intent") == {"name": "out_of_scope", "confidence": 0.9}
    assert m.get(NEIGHBOURS)["margin"] > 0.5
    names = [e["name"] for e in m.get("intent_ranking")]
    assert names[0] == "out_of_scope" and names.count("out_of_scope") == 1


def test_a_question_nearest_to_an_in_scope_example_keeps_its_answer(tmp_path: Path) -> None:
    [m] = trained(tmp_path).process([decided("billing_payment_methods", 0.8, "pay?", [0.98, 0.0, 0.2])])
    assert m.get("intent") == {"name": "billing_payment_methods", "confidence": 0.8}
    assert m.get(NEIGHBOURS)["margin"] < 0


def test_a_sensitive_intent_is_left_to_the_escalation_guard(tmp_path: Path) -> None:
    [m] = trained(tmp_path).process([decided("sensitive_fraud", 0.7, "hacked", [0.0, 0.0, 1.0])])
    assert m.get("intent")["name"] == "sensitive_fraud"


def test_escalation_intents_keep_their_confidence_so_the_guard_still_hands_over(tmp_path: Path) -> None:
    """'someone stole money through my energy contract': nearest to energy (out of scope), but the
    fraud intent's 0.35 stays in the ranking and the guard after it hands over."""
    m = embedded("stolen", [0.0, 0.0, 1.0])
    ranking = [
        {"name": "billing_refund", "confidence": 0.5},
        {"name": "sensitive_fraud", "confidence": 0.35},
        {"name": "out_of_scope", "confidence": 0.15},
    ]
    m.set("intent", ranking[0])
    m.set("intent_ranking", ranking)
    [m] = trained(tmp_path).process([m])
    assert m.get("intent")["name"] == "out_of_scope"
    assert {"name": "sensitive_fraud", "confidence": 0.35} in m.get("intent_ranking")
    [m] = EscalationGuard({"escalation_threshold": 0.3}).process([m])
    assert m.get("intent")["name"] == "sensitive_fraud"


def test_the_threshold_decides_how_near_is_near_enough(tmp_path: Path) -> None:
    between = [0.7, 0.0, 0.7]  # as near to payments as to energy: margin 0
    [m] = trained(tmp_path, threshold=0.05).process([decided("billing_payment_methods", 0.8, "?", between)])
    assert m.get("intent")["name"] == "billing_payment_methods"
    [m] = trained(tmp_path, threshold=0.0).process([decided("billing_payment_methods", 0.8, "?", between)])
    assert m.get("intent")["name"] == "out_of_scope"


def test_the_examples_are_stored_with_the_model_and_loaded_back(tmp_path: Path) -> None:
    component = trained(tmp_path)
    loaded = OutOfScopeNeighbours.load(
        component.config,
        LocalModelStorage(tmp_path),
        Resource("oos"),
        None,  # type: ignore[arg-type]
    )
    vectors = {"use": np.array([0.2, 0.0, 0.98]), "e5": np.array([0.98, 0.0, 0.2, 0.0])}
    assert loaded.neighbours.margin(vectors) == pytest.approx(component.neighbours.margin(vectors), abs=1e-3)


def test_without_out_of_scope_examples_nothing_changes(tmp_path: Path) -> None:
    component = OutOfScopeNeighbours({}, LocalModelStorage(tmp_path), Resource("none"))
    only_payments = [embedded("how can I pay", PAYMENTS, "billing_payment_methods")]
    component.train(TrainingData(training_examples=only_payments))
    [m] = component.process([decided("billing_payment_methods", 0.8, "gas?", ENERGY)])
    assert m.get("intent")["name"] == "billing_payment_methods"
    assert m.get(NEIGHBOURS) is None


def test_a_message_without_embeddings_is_left_alone(tmp_path: Path) -> None:
    m = Message({"text": "hi"})
    m.set("intent", {"name": "greet", "confidence": 0.9})
    [m] = trained(tmp_path).process([m])
    assert m.get("intent")["name"] == "greet"


def test_neighbours_average_the_encoders_they_both_know() -> None:
    neighbours = Neighbours(
        {"use": np.array([[1.0, 0.0]]), "e5": np.array([[1.0, 0.0]])},
        {"use": np.array([[0.0, 1.0]]), "e5": np.array([[0.0, 1.0]])},
    )
    assert neighbours.margin({"use": np.array([0.0, 1.0]), "e5": np.array([1.0, 0.0])}) == pytest.approx(0.0)
    assert neighbours.margin({"use": np.array([0.0, 1.0])}) == pytest.approx(1.0)
    assert neighbours.margin({"other": np.array([0.0, 1.0])}) is None


def test_the_replay_applies_the_threshold_to_the_margin_it_finds() -> None:
    """bench/decision_sweep.py calibrates the threshold from one parse per message."""
    settings = {"intent_preference": 0.5, "article_conditional": 0.4, "lexical_threshold": 0.5}
    ranking = [{"name": "billing_payment_methods", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}]
    text = "can I open a savings account"
    parsed = {"text": text, "intent_ranking": ranking, NEIGHBOURS: {"margin": -0.005}}
    assert simulate(parsed, **settings) == "billing_payment_methods"
    assert simulate(parsed, **settings, out_of_scope_threshold=0.0) == "billing_payment_methods"
    assert simulate(parsed, **settings, out_of_scope_threshold=-0.01) == "honest"
    fraud = [{"name": "sensitive_fraud", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}]
    parsed = {"text": "money gone", "intent_ranking": fraud, NEIGHBOURS: {"margin": 0.2}}
    assert simulate(parsed, **settings, out_of_scope_threshold=0.0) == "handover"


def test_the_classifier_and_the_key_words_together_keep_a_question_in_scope(tmp_path: Path) -> None:
    """ "hoe activeer ik mijn esim op iphone" is nearest to an iPhone-settings example (out of
    scope), but the classifier is fairly sure of the eSIM intent and its examples hold the
    message's key words: it stays an eSIM question. Either signal alone is not enough."""
    text = "can I pay my bill by card on my iphone"
    [m] = trained(tmp_path).process([decided("billing_payment_methods", 0.6, text, ENERGY)])
    assert m.get("intent")["name"] == "billing_payment_methods"
    assert m.get(NEIGHBOURS)["in_scope"] is True
    [m] = trained(tmp_path).process([decided("billing_payment_methods", 0.4, text, ENERGY)])
    assert m.get("intent")["name"] == "out_of_scope"  # the classifier is not sure enough
    [m] = trained(tmp_path).process([decided("billing_payment_methods", 0.6, "gas and power?", ENERGY)])
    assert m.get("intent")["name"] == "out_of_scope"  # the words are not the intent's
    assert m.get(NEIGHBOURS)["in_scope"] is False


def test_the_replay_keeps_what_the_component_found_in_scope() -> None:
    settings = {"intent_preference": 0.5, "article_conditional": 0.4, "lexical_threshold": 0.5}
    ranking = [{"name": "sim_esim", "confidence": 0.6}, {"name": "greet", "confidence": 0.1}]
    parsed = {
        "text": "esim op iphone",
        "intent_ranking": ranking,
        NEIGHBOURS: {"margin": 0.03, "in_scope": True},
    }
    assert simulate(parsed, **settings, out_of_scope_threshold=-0.01) == "sim_esim"


def test_a_weak_out_of_scope_the_neighbours_agree_with_is_the_honest_answer(tmp_path: Path) -> None:
    """The decision chose out_of_scope at 0.29 (below the fallback's 0.3): "is it about direct
    debit?" would follow; the neighbours agree it is out of scope, so it is, at their confidence."""
    [m] = trained(tmp_path).process([decided("out_of_scope", 0.29, "savings account?", ENERGY)])
    assert m.get("intent") == {"name": "out_of_scope", "confidence": 0.9}
    [m] = trained(tmp_path).process([decided("out_of_scope", 0.95, "electricity?", ENERGY)])
    assert m.get("intent") == {"name": "out_of_scope", "confidence": 0.95}
