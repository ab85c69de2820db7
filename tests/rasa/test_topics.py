"""TopicOnly: a message that only names a topic gets the topic's menu, whatever was guessed."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.topics import TOPIC, TopicOnly


def decided(text: str, intent: str, confidence: float) -> Message:
    message = Message({"text": text})
    ranking = [{"name": intent, "confidence": confidence}, {"name": "billing_due_date", "confidence": 0.1}]
    message.set("intent", ranking[0], add_to_output=True)
    message.set("intent_ranking", ranking, add_to_output=True)
    return message


def test_a_bare_topic_becomes_the_fallback_with_its_topic() -> None:
    component = TopicOnly.create({}, None, None, None)
    [message] = component.process([decided("mon abonnement", "sensitive_cancellation", 0.42)])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert message.get(TOPIC) == {"id": "plan"}
    assert message.as_dict(only_output_properties=True)[TOPIC] == {"id": "plan"}  # reaches the actions
    assert message.get("intent_ranking")[0]["name"] == "sensitive_cancellation"  # kept for insights


def test_a_question_keeps_what_was_decided() -> None:
    component = TopicOnly.create({}, None, None, None)
    [message] = component.process([decided("mijn factuur is te hoog", "billing_higher_than_usual", 0.9)])
    assert message.get("intent") == {"name": "billing_higher_than_usual", "confidence": 0.9}
    assert message.get(TOPIC) is None


def test_without_a_topics_file_every_message_is_left_alone(tmp_path) -> None:
    component = TopicOnly.create({"topics_file": str(tmp_path / "none.yml")}, None, None, None)
    [message] = component.process([decided("factuur", "billing_due_date", 0.5)])
    assert message.get("intent")["name"] == "billing_due_date"
