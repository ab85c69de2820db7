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
from bot.rasa.nlu.classifier import ArticleThreshold, MultilingualIntentClassifier
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


def test_a_weak_article_becomes_a_fallback_not_an_answer(tmp_path: Path) -> None:
    [m] = two_stage(tmp_path).process([message([0.0, 0.0, 1.0, 1.0])])
    confidence = m.get("article")["confidence"]
    [kept] = ArticleThreshold({"article_threshold": confidence - 0.01}).process([m])
    assert kept.get("intent")["name"] == "knowledge"
    [weak] = ArticleThreshold({"article_threshold": confidence + 0.01}).process([m])
    assert weak.get("intent")["name"] == "nlu_fallback"
    assert weak.get("intent_ranking")[1]["name"] == "knowledge"  # the classifier's ranking is kept


def test_a_weak_article_gives_way_to_an_intent_that_is_clear_without_the_help_centre() -> None:
    from rasa.shared.nlu.training_data.message import Message

    m = Message({"text": "domiciliëring instellen"})
    m.set("intent", {"name": "knowledge", "confidence": 0.3})
    m.set(
        "intent_ranking",
        [
            {"name": "knowledge", "confidence": 0.3},
            {"name": "billing_direct_debit", "confidence": 0.28},
            {"name": "billing_payment_methods", "confidence": 0.05},
        ],
    )
    m.set("article", {"id": "mobile_payments", "confidence": 0.3, "conditional": 0.5})  # P(knowledge) 0.6
    [decided] = ArticleThreshold({"article_threshold": 0.5}).process([m])
    assert decided.get("intent")["name"] == "billing_direct_debit"
    assert decided.get("intent")["confidence"] == pytest.approx(0.7)
    assert [e["name"] for e in decided.get("intent_ranking")] == [
        "billing_direct_debit",
        "billing_payment_methods",
    ]
