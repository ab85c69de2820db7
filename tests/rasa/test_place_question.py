"""A coverage question names a place or the network (bot/rasa/nlu/place_question.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.classifier import ArticleDecision
from bot.rasa.nlu.place_question import PLACE_INTENT, names_place_or_network, without_placeless_question

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@pytest.mark.parametrize(
    "text",
    [
        "is er bereik in Tienen?",
        "hoe zit het met jullie netwerkbereik",
        "kan ik in de panne gewoon bellen met mijn gsm?",
        "ça capte à Namur ?",
        "et à la mer ?",
        "do I have coverage here?",
        "is it any good in Durbuy?",  # a name the lists lack
        "4G in 3000?",
        "antwerpn?",  # a bare name, with a typo
        "and Ghent",
        "réseau chez moi ?",
    ],
)
def test_a_place_or_the_network_is_named(text: str) -> None:
    assert names_place_or_network(text)


@pytest.mark.parametrize(
    "text",
    [
        "can you recommend a good phone?",
        "can you recommend a good phone under 300 euros?",  # "a good" is no French "à"
        "en voor mijn zoon?",
        "and for my daughter?",
        "a cheaper plan?",
        "tu peux me conseiller un bon forfait ?",
        "et la consommation du 0499 88 77 66 ?",  # a phone number is no postcode
    ],
)
def test_other_questions_name_neither(text: str) -> None:
    assert not names_place_or_network(text)


def _place_examples() -> list[str]:
    texts: list[str] = []
    for path in sorted(ROOT.glob("data/nlu/*/coverage.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if item.get("intent") == PLACE_INTENT:
                lines = (line.strip() for line in item["examples"].splitlines())
                texts += [ANNOTATION.sub(r"\1", line[2:]) for line in lines if line.startswith("- ")]
    for path in sorted(ROOT.glob("bench/heldout/**/*.yml")):
        for intents in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).values():
            if isinstance(intents, dict):
                texts += intents.get(PLACE_INTENT) or []
    return texts


def test_every_example_of_the_place_question_names_one() -> None:
    examples = _place_examples()
    assert len(examples) > 150
    assert [t for t in examples if not names_place_or_network(t)] == []


def test_the_place_question_is_set_aside_and_the_rest_renormalised() -> None:
    ranking = [{"name": PLACE_INTENT, "confidence": 0.6}, {"name": "knowledge", "confidence": 0.3}]
    rest = without_placeless_question("can you recommend a good phone?", ranking)
    assert [e["name"] for e in rest] == ["knowledge"]
    assert rest[0]["confidence"] == pytest.approx(0.75)
    assert without_placeless_question("is there coverage in Gent?", ranking) == ranking
    # behind the help centre too: the decision's rescue lifted it to 0.82 for "en voor mijn zoon?"
    second = [{"name": "knowledge", "confidence": 0.32}, {"name": PLACE_INTENT, "confidence": 0.18}]
    assert [e["name"] for e in without_placeless_question("en voor mijn zoon?", second)] == ["knowledge"]
    assert without_placeless_question("a good phone?", [{"name": PLACE_INTENT, "confidence": 1.0}]) == []


def test_the_decision_answers_from_the_rest() -> None:
    m = Message({"text": "can you recommend a good phone?"})
    m.set("intent", {"name": PLACE_INTENT, "confidence": 0.52})
    ranking = [(PLACE_INTENT, 0.52), ("out_of_scope", 0.19), ("knowledge", 0.2), ("coverage_5g", 0.09)]
    m.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    m.set("article", {"id": "buy_phone", "confidence": 0.2, "conditional": 0.9, "lexical": 0.8})
    config = {"intent_preference": 0.7, "article_conditional": 0.6, "lexical_threshold": 0.5}
    [decided] = ArticleDecision({**config, "intent_rescue": 0.4, "intent_rescue_floor": 0.05}).process([m])
    assert decided.get("intent") == {"name": "knowledge", "confidence": 0.9}
    assert PLACE_INTENT not in [e["name"] for e in decided.get("article")["classified"]]
