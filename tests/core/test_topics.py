"""bot.core.topics: a message that only names a broad topic, and the editors' topics file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.topics import TOPICS_FILE, default_topics, load_topics, parse_topics, topic_problems

TOPICS = load_topics()


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("factuur", "bill"),
        ("Mijn factuur?", "bill"),
        ("ik heb een vraag over mijn rekening", "bill"),
        ("bonjour j'ai un problème avec ma facture svp", "bill"),
        ("question facture", "bill"),
        ("Issue with my BILL!!", "bill"),
        ("mon abonnement", "plan"),
        ("hi, quick question about my plan", "plan"),
        ("probleem met mijn sim", "sim"),
        ("problème avec ma carte SIM", "sim"),
        ("sim", "sim"),
        ("réseau", "network"),
        ("network problem", "network"),
        ("mobiele data", "data"),
        ("contrat", "contract"),
        ("messagerie vocale", "voicemail"),
        # a "how are you?" asks nothing about the topic (bot/core/small_talk.py)
        ("bonjour, ça va ? j'ai une question sur ma facture", "bill"),
        ("hoi, alles goed? vraagje over mijn abonnement", "plan"),
        ("hi how are you, got a problem with my sim", "sim"),
    ],
)
def test_a_message_that_only_names_a_topic_is_recognised_in_each_language(text: str, topic: str) -> None:
    found = TOPICS.only_topic(text)
    assert found is not None and found.id == topic


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ik heb een vraag",  # fillers only: what can you do
        "j'ai une question",
        "mijn factuur is te hoog",  # a question about the topic
        "facture en retard",
        "how do I pay my bill",
        "sim kwijt",
        "ça va",  # small talk only: the greeting's reply
        "hoe betalen",  # a question word is no filler
        "my bill and my sim",  # two topics
        "saldo",  # one clear answer: the classifier's
        "/sim",  # a payload
        "factuur " * 20,
    ],
)
def test_anything_more_than_a_topic_is_left_to_the_classifier(text: str) -> None:
    assert TOPICS.only_topic(text) is None


def test_the_shipped_topics_file_has_no_problems() -> None:
    from actions.actions import intent_labels
    from bot.core.knowledge import KNOWLEDGE_DIR, load_help_centre
    from bot.core.project import Project
    from bot.core.settings import PROJECT_ROOT

    intents = {i.value for i in Project(PROJECT_ROOT).intents()}
    articles = set(load_help_centre(KNOWLEDGE_DIR).articles["en"])
    assert topic_problems(TOPICS_FILE, intents, articles, set(intent_labels())) == []


def test_problems_are_named_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(
        "fillers:\n"
        "  en: [my]\n"
        "topics:\n"
        "  bill:\n"
        "    name: {nl: je factuur, en: your bill}\n"
        "    words:\n"
        "      nl: [factuur]\n"
        "      en: [bill, my, the bill of my phone]\n"
        "    options: [billing_explain_bill, no_such_intent, article: no_such_article]\n",
        encoding="utf-8",
    )
    problems = topic_problems(path, {"billing_explain_bill"}, {"check_usage"}, {"billing_explain_bill"})
    assert (4, "topic bill: no words in fr") in problems
    assert (4, "topic bill: no name in fr") in problems
    assert (8, "topic bill: 'my' is also a filler word") in problems
    assert (8, "topic bill: 'the bill of my phone' has more than 2 words") in problems
    assert (4, "topic bill: intent no_such_intent is not in domain.yml") in problems
    assert (4, "topic bill: no help-centre article no_such_article") in problems


def test_a_broken_file_is_reported_and_the_assistant_goes_on_without_topics(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  bill: [unclosed\n", encoding="utf-8")
    [(line, message)] = topic_problems(path, set(), set(), set())
    assert line == 3 and message.startswith("not valid YAML")
    assert load_topics(path).only_topic("factuur") is None
    assert load_topics(tmp_path / "missing.yml").topics == ()


def test_the_action_servers_topics_follow_the_file_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  bill: {words: {en: [bill]}, options: [billing_due_date]}\n", encoding="utf-8")
    assert default_topics(path).only_topic("bill") is not None
    path.write_text("topics:\n  sim: {words: {en: [sim card]}, options: [sim_activate]}\n", encoding="utf-8")
    assert default_topics(path).only_topic("bill") is None
    assert default_topics(path).only_topic("sim card").id == "sim"
    assert default_topics(tmp_path / "gone.yml").topics == ()


def test_a_word_naming_two_topics_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(
        "topics:\n"
        "  a: {name: {en: A}, words: {en: [sim]}, options: [sim_activate]}\n"
        "  b: {name: {en: B}, words: {en: [Sim]}, options: [sim_esim]}\n",
        encoding="utf-8",
    )
    problems = topic_problems(path, {"sim_activate", "sim_esim"}, set(), {"sim_activate", "sim_esim"})
    assert (3, "'sim' names both a and b") in [(line, m) for line, m in problems if "names both" in m]
    assert len(parse_topics({"topics": {"c": {"words": {"en": ["x"]}}}}).topics) == 0  # no options
