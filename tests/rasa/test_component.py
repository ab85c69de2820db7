"""The shapes shared by our pipeline components (bot.rasa.nlu.component)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.rasa.nlu.component import first_in_ranking
from bot.rasa.nlu.lexical import HelpCentreLexicalScore
from bot.rasa.nlu.out_of_scope import OutOfScopeNeighbours


def test_the_answer_put_first_leaves_the_rest_to_the_ordinary_intents_only() -> None:
    ranking = [
        {"name": "billing_payment_methods", "confidence": 0.6},
        {"name": "request_human", "confidence": 0.2},
        {"name": "out_of_scope", "confidence": 0.2},
    ]
    top, rest = first_in_ranking("out_of_scope", 0.9, ranking)
    assert top == {"name": "out_of_scope", "confidence": 0.9}
    assert [e["name"] for e in rest] == ["out_of_scope", "request_human", "billing_payment_methods"]
    assert rest[1]["confidence"] == pytest.approx(0.2)  # escalation keeps its own, for the guard
    assert rest[2]["confidence"] == pytest.approx(0.06)


def test_an_article_put_first_lists_itself_once() -> None:
    top, rest = first_in_ranking("knowledge", 0.7, [{"name": "greet", "confidence": 1.0}])
    assert top == {"name": "knowledge", "confidence": 0.7}
    assert rest == [top, {"name": "greet", "confidence": pytest.approx(0.3)}]


@pytest.mark.parametrize("component", [OutOfScopeNeighbours, HelpCentreLexicalScore])
def test_a_model_without_the_components_files_loads_it_untrained(tmp_path: Path, component: type) -> None:
    """An older model (or one where the component was added later) still serves messages."""
    storage = LocalModelStorage(tmp_path)
    loaded = component.load({}, storage, Resource("never-trained"), None)
    assert loaded.process([]) == []


def test_a_trained_lexical_score_is_read_back_from_its_resource(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    component = HelpCentreLexicalScore.create({}, storage, Resource("lexical"), None)
    component.train(None)  # reads the help centre, not the training data
    loaded = HelpCentreLexicalScore.load({}, storage, Resource("lexical"), None)
    assert loaded.index.score("hoe stel ik mijn voicemail in", "voicemail_setup") > 0
