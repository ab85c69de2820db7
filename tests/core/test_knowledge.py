"""The help centre: reading articles (problems at file:line), the answer action on real
Trackers, and the classifier's two stages with the article threshold."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sklearn.linear_model import LogisticRegression

from actions.knowledge import ActionAnswerArticle, HelpCentreCache
from bot.core.knowledge import load_help_centre
from bot.rasa.nlu.classifier import ArticleDecision, MultilingualIntentClassifier
from tests.helpers.nlu import message

ARTICLE = """---
id: {id}
title: {title}
topic: services
department: Customer service
link: https://help.mila-mobile.example/{lang}/{id}
questions:
  - one
  - two
  - three
  - four
  - five
---
{body}
"""


def write(folder: Path, lang: str, article_id: str, body: str = "Dial **21*number#.", **fields: str) -> Path:
    path = folder / lang / f"{article_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ARTICLE.format(id=article_id, title=fields.get("title", f"Title {lang}"), lang=lang, body=body)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_project_help_centre_is_complete_in_three_languages() -> None:
    centre = load_help_centre()
    assert [str(p) for p in centre.problems] == []
    assert len(centre.ids()) >= 80
    for language in ("nl", "fr", "en"):
        assert set(centre.articles[language]) == set(centre.ids())


def test_problems_are_reported_at_their_file_and_line(tmp_path: Path) -> None:
    for lang in ("nl", "fr", "en"):
        write(tmp_path, lang, "good")
    write(tmp_path, "nl", "only_dutch")
    bad = write(tmp_path, "fr", "broken")
    bad.write_text(bad.read_text().replace("title: Title fr", "title: [unclosed"), encoding="utf-8")
    empty = write(tmp_path, "en", "empty", body="")
    centre = load_help_centre(tmp_path)
    found = sorted(f"{p.path.relative_to(tmp_path)}:{p.line}: {p.message}" for p in centre.problems)
    assert any(f.startswith("fr/broken.md:3: the fields are not valid YAML") for f in found), found
    assert any(f.startswith(f"{empty.relative_to(tmp_path)}:") and "body" in f for f in found), found
    assert any("article 'only_dutch' has no fr version" in f for f in found), found
    assert centre.get("good", "fr") is not None and centre.get("broken", "fr") is None


def tracker(article: dict | None, language: str = "fr") -> Tracker:
    latest = {"intent": {"name": "knowledge", "confidence": 0.9}, "text": "renvoi d'appel"}
    if article:
        latest["article"] = article
    return Tracker("c1", {"language": language}, latest, [], False, None, {}, "action_listen")


def test_the_article_is_answered_in_the_language_then_did_this_help(tmp_path: Path) -> None:
    for lang in ("nl", "fr", "en"):
        write(tmp_path, lang, "call_forwarding", body=f"Body {lang}")
    dispatcher = CollectingDispatcher()
    action = ActionAnswerArticle(HelpCentreCache(tmp_path))
    events = asyncio.run(action.run(dispatcher, tracker({"id": "call_forwarding", "confidence": 0.8}), {}))
    assert events == []
    assert [(m["response"], m.get("body"), m.get("link")) for m in dispatcher.messages] == [
        ("utter_article", "Body fr", "https://help.mila-mobile.example/fr/call_forwarding"),
        ("utter_did_this_help", None, None),
    ]


def test_an_unknown_article_gets_the_honest_answer_and_a_way_to_a_person(tmp_path: Path) -> None:
    write(tmp_path, "en", "other")
    dispatcher = CollectingDispatcher()
    action = ActionAnswerArticle(HelpCentreCache(tmp_path))
    asyncio.run(action.run(dispatcher, tracker({"id": "gone", "confidence": 0.9}, "en"), {}))
    [reply] = dispatcher.messages
    assert reply["response"] == "utter_clarify_topics"
    assert reply["buttons"] == [{"title": "Talk to a person", "payload": "/request_human"}]


def test_the_cache_keeps_the_last_good_help_centre_and_sees_edits(tmp_path: Path) -> None:
    path = write(tmp_path, "en", "a", body="First")
    cache = HelpCentreCache(tmp_path)
    assert cache.get().get("a", "en").body == "First"
    path.write_text(path.read_text().replace("First", "Second"), encoding="utf-8")
    import os

    os.utime(path, (path.stat().st_atime + 5, path.stat().st_mtime + 5))
    assert cache.get().get("a", "en").body == "Second"
    path.write_text("not an article", encoding="utf-8")
    os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    assert cache.get().get("a", "en").body == "Second"  # a broken edit keeps the last good one


def two_stage(tmp_path: Path) -> MultilingualIntentClassifier:
    config = MultilingualIntentClassifier.get_default_config()
    component = MultilingualIntentClassifier(config, "clf", LocalModelStorage(tmp_path), Resource("clf"))
    x = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]] * 5, dtype=float)
    component.clf = LogisticRegression(C=5.0).fit(
        x, ["billing_refund", "sim_esim", "knowledge", "knowledge"] * 5
    )
    articles = np.array([[0, 0, 1, 0], [0, 0, 1, 1]] * 5, dtype=float)
    component.article_clf = LogisticRegression(C=5.0).fit(
        articles, ["voicemail_setup", "call_forwarding"] * 5
    )
    return component


def test_articles_compete_with_intents_on_joint_probabilities(tmp_path: Path) -> None:
    [m] = two_stage(tmp_path).process([message([0.0, 0.0, 1.0, 1.0])])
    article = m.get("article")
    assert m.get("intent")["name"] == "knowledge"
    assert article["id"] == "call_forwarding"
    assert article["confidence"] == m.get("intent")["confidence"] < article["conditional"]
    assert {e["name"] for e in m.get("intent_ranking")} == {"knowledge", "billing_refund", "sim_esim"}


def decision_input(article: dict, ranking: list[tuple[str, float]]):
    from rasa.shared.nlu.training_data.message import Message

    m = Message({"text": "wat kost doorschakelen naar mijn vaste lijn"})
    m.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    m.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    m.set("article", article)
    return m


DECISION = {
    "intent_preference": 0.5,
    "article_conditional": 0.4,
    "lexical_threshold": 0.5,
    "intent_rescue": 0.4,
    "intent_rescue_floor": 0.05,
}


def test_an_article_answers_when_the_classifier_and_the_words_agree() -> None:
    article = {"id": "call_forwarding", "confidence": 0.3, "conditional": 0.9, "lexical": 0.9}
    m = decision_input(article, [("knowledge", 0.3), ("sim_number_porting", 0.45), ("sensitive_fraud", 0.2)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent") == {"name": "knowledge", "confidence": 0.9}
    ranking = decided.get("intent_ranking")
    assert [e["name"] for e in ranking] == ["knowledge", "sensitive_fraud", "sim_number_porting"]
    assert ranking[1]["confidence"] == 0.2  # the guard still sees the escalation intents as they were
    assert ranking[2]["confidence"] == pytest.approx(0.045)
    assert decided.get("article")["classified"][0] == {"name": "knowledge", "confidence": 0.3}


def test_a_sure_article_without_shared_words_is_not_an_answer() -> None:
    # a closed-set classifier is as sure on a question nothing answers: the words decide
    article = {"id": "call_forwarding", "confidence": 0.6, "conditional": 0.9, "lexical": 0.1}
    m = decision_input(article, [("knowledge", 0.6), ("sim_number_porting", 0.1)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent")["name"] == "nlu_fallback"
    assert decided.get("intent_ranking")[0]["name"] == "knowledge"  # the classifier's ranking is kept


def test_an_article_the_classifier_is_all_but_certain_of_answers_without_the_words() -> None:
    """``article_sure``: customers' own words ("does my credit expire", "block adult sites on my
    son's phone") share few key words with the article; a joint probability this high is
    rare on questions nothing answers (bench/decision_sweep.py). Off by default."""
    article = {"id": "prepaid_validity", "confidence": 0.93, "conditional": 0.97, "lexical": 0.3}
    m = decision_input(article, [("knowledge", 0.93), ("sim_number_porting", 0.03)])
    [decided] = ArticleDecision({**DECISION, "article_sure": 0.9}).process([m])
    assert decided.get("intent") == {"name": "knowledge", "confidence": 0.97}
    [off] = ArticleDecision(DECISION).process([decision_input(article, [("knowledge", 0.93)])])
    assert off.get("intent")["name"] == "nlu_fallback"
    # below the bar the words still decide, and the conditional stays required
    for weaker in ({**article, "confidence": 0.85}, {**article, "conditional": 0.3}):
        m = decision_input(weaker, [("knowledge", weaker["confidence"]), ("sim_esim", 0.03)])
        [decided] = ArticleDecision({**DECISION, "article_sure": 0.9}).process([m])
        assert decided.get("intent")["name"] == "nlu_fallback", weaker


def test_an_intent_clear_without_the_help_centres_share_is_rescued() -> None:
    # P(knowledge) = 0.6 / 0.9: the porting intent has 0.2 of the remaining third (0.6 > 0.4)
    article = {"id": "call_forwarding", "confidence": 0.6, "conditional": 0.9, "lexical": 0.1}
    m = decision_input(article, [("knowledge", 0.6), ("sim_number_porting", 0.2), ("sim_esim", 0.05)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent")["name"] == "sim_number_porting"
    assert decided.get("intent")["confidence"] == pytest.approx(0.6)
    assert [e["name"] for e in decided.get("intent_ranking")] == ["sim_number_porting", "sim_esim"]
    # but not an intent the classifier barely considered (0.02), however small the rest is
    article = {"id": "buy_phone", "confidence": 0.59, "conditional": 0.61, "lexical": 0.1}
    m = decision_input(article, [("knowledge", 0.59), ("coverage_indoor", 0.02)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent")["name"] == "nlu_fallback"


def test_a_sure_intent_keeps_its_answer_and_a_weak_article_gives_way() -> None:
    strong = {"id": "mobile_payments", "confidence": 0.2, "conditional": 0.9, "lexical": 0.95}
    m = decision_input(strong, [("billing_direct_debit", 0.7), ("knowledge", 0.2)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent") == {"name": "billing_direct_debit", "confidence": 0.7}
    weak = {"id": "mobile_payments", "confidence": 0.3, "conditional": 0.3, "lexical": 0.95}
    m = decision_input(weak, [("billing_direct_debit", 0.35), ("knowledge", 0.3), ("billing_refund", 0.1)])
    [decided] = ArticleDecision(DECISION).process([m])
    assert decided.get("intent") == {"name": "billing_direct_debit", "confidence": 0.35}
    assert [e["name"] for e in decided.get("intent_ranking")] == ["billing_direct_debit", "billing_refund"]


def guarded(article: dict, ranking: list[tuple[str, float]], **config: object):
    """ArticleDecision then the escalation guard, as in config.yml (no fallback in between:
    the decided article's conditional is well above its threshold here)."""
    from bot.rasa.nlu.classifier import EscalationGuard

    [decided] = ArticleDecision(DECISION).process([decision_input(article, ranking)])
    [m] = EscalationGuard({"escalation_threshold": 0.35, **config}).process([decided])
    return m


def test_the_guard_yields_to_a_chosen_article_likelier_than_the_escalation_intents() -> None:
    # "got a dodgy text with a link, didn't click, what do I do": the spam article, not fraud
    article = {"id": "spam_sms", "confidence": 0.57, "conditional": 0.99, "lexical": 0.66}
    ranking = [("knowledge", 0.57), ("sensitive_fraud", 0.37), ("sim_esim", 0.03)]
    assert guarded(article, ranking).get("intent") == {"name": "knowledge", "confidence": 0.99}
    off = guarded(article, ranking, yield_to_article=False).get("intent")
    assert off == {"name": "sensitive_fraud", "confidence": 0.37}


def test_the_guard_hands_over_when_the_escalation_intents_are_likelier_than_the_article() -> None:
    # the same article, but the classifier finds fraud likelier: a real report goes to a person
    article = {"id": "spam_sms", "confidence": 0.3, "conditional": 0.99, "lexical": 0.87}
    ranking = [("knowledge", 0.3), ("sensitive_fraud", 0.25), ("sensitive_complaint", 0.2), ("sim_esim", 0.1)]
    intent = guarded(article, ranking).get("intent")
    assert intent["name"] == "sensitive_fraud" and intent["confidence"] == pytest.approx(0.45)
    # and an article the words do not confirm never outweighs them (the decision did not choose it)
    weak = {"id": "spam_sms", "confidence": 0.5, "conditional": 0.99, "lexical": 0.1}
    ranking = [("knowledge", 0.5), ("sensitive_fraud", 0.4), ("sim_esim", 0.05)]
    assert guarded(weak, ranking).get("intent")["name"] == "sensitive_fraud"


def test_the_replayed_decision_matches_the_guards_yield() -> None:
    """bench/longtail.py and bench/decision_sweep.py replay the pipeline: same rule there."""
    from bot.rasa.longtail import simulate

    settings = {"intent_preference": 0.5, "article_conditional": 0.4, "lexical_threshold": 0.5}
    classified = [
        {"name": "knowledge", "confidence": 0.57},
        {"name": "sensitive_fraud", "confidence": 0.37},
        {"name": "sim_esim", "confidence": 0.03},
    ]
    parsed = {
        "article": {
            "id": "spam_sms",
            "confidence": 0.57,
            "conditional": 0.99,
            "lexical": 0.66,
            "classified": classified,
        }
    }
    assert simulate(parsed, **settings) == "spam_sms"
    assert simulate(parsed, **settings, yield_to_article=False) == "handover"
    likelier = [{"name": "sensitive_fraud", "confidence": 0.6}, {"name": "knowledge", "confidence": 0.3}]
    parsed["article"] = {**parsed["article"], "confidence": 0.3, "classified": likelier}
    assert simulate(parsed, **settings) == "handover"


def test_the_replayed_decision_hands_a_repeat_contact_over() -> None:
    """RepeatContact has the last word in the pipeline; the replay gives it the same."""
    from bot.rasa.longtail import simulate

    settings = {"intent_preference": 0.5, "article_conditional": 0.4, "lexical_threshold": 0.5}
    ranking = [{"name": "coverage_slow_data", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}]
    parsed = {"text": "my data is slow", "intent_ranking": ranking}
    assert simulate(parsed, **settings) == "coverage_slow_data"
    parsed["text"] = "third time I'm asking: my data is slow"
    assert simulate(parsed, **settings) == "handover"


def test_the_lexical_score_finds_the_article_in_the_customers_language() -> None:
    from bot.rasa.nlu.lexical import LexicalIndex, document

    centre = load_help_centre()
    index = LexicalIndex(
        {lang: {i: document(a) for i, a in by_id.items()} for lang, by_id in centre.articles.items()}
    )
    assert index.score("hoe schakel ik mijn oproepen door naar mijn vaste lijn", "call_forwarding") > 0.5
    assert index.score("je voudrais renvoyer mes appels vers mon fixe", "call_forwarding") > 0.5
    assert index.score("kan ik bij jullie een pizza bestellen", "call_forwarding") == 0.0
    # relative to what the words can score: a one-word question is not punished for being short
    assert index.score("studententarief", "youth_student_offers") == pytest.approx(1.0)
    assert index.score("studententarief", "call_forwarding") == 0.0
