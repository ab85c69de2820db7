"""ActionConfused: "??", "huh?", "wat bedoel je?" after what the bot said (real Trackers)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from sqlalchemy.engine import Engine

from actions.actions import ActionEscalate
from actions.clarify import ActionConfused
from bot.core.hours import default_hours
from bot.core.rules import default_rules
from handoff.queue import HandoffQueue
from tests.actions.test_action_escalate import OPEN, new_conversation, run


def confused_after(cid: str, bot_said: str | None, text: str = "??", language: str = "nl") -> Tracker:
    """The customer's ``text`` right after the bot's response ``bot_said`` (None: nothing yet)."""
    events = [{"event": "user", "text": "hallo", "parse_data": {"intent": {"name": "greet"}}}]
    if bot_said:
        events.append({"event": "bot", "text": "...", "metadata": {"utter_action": bot_said}})
    events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "confused"}}})
    latest = {"text": text, "intent": {"name": "confused", "confidence": 0.9}, "entities": []}
    return Tracker(cid, {"language": language}, latest, events, False, None, {}, "action_listen")


def action(queue: HandoffQueue) -> ActionConfused:
    return ActionConfused(ActionEscalate(queue, default_rules(), default_hours(), now=lambda: OPEN))


@pytest.mark.parametrize(
    "bot_said", ["utter_sim_pin_puk", "utter_article", "utter_did_this_help", "utter_outage_active"]
)
def test_after_an_answer_the_bot_apologises_and_offers_a_person(engine: Engine, bot_said: str) -> None:
    queue = HandoffQueue(engine)
    cid = new_conversation(engine, "nl")
    events, messages = run(action(queue), confused_after(cid, bot_said, "wat bedoel je?"))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_confused"]
    assert queue.waiting() == []


@pytest.mark.parametrize("bot_said", [None, "utter_greet"])
def test_at_the_start_the_customer_gets_what_the_assistant_helps_with(
    engine: Engine, bot_said: str | None
) -> None:
    queue = HandoffQueue(engine)
    cid = new_conversation(engine, "fr")
    _, messages = run(action(queue), confused_after(cid, bot_said, "hein ?", language="fr"))
    assert [m["response"] for m in messages] == ["utter_capabilities"]
    assert queue.waiting() == []


@pytest.mark.parametrize("bot_said", ["utter_confused", "utter_clarify", "utter_clarify_topics"])
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_not_following_twice_in_a_row_goes_to_a_person(engine: Engine, bot_said: str, language: str) -> None:
    queue = HandoffQueue(engine)
    cid = new_conversation(engine, language)
    _, messages = run(action(queue), confused_after(cid, bot_said, "???", language=language))
    assert [m["response"] for m in messages] == ["utter_escalate_misunderstood", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason) == (cid, "misunderstood")


def test_gibberish_after_the_apology_is_the_second_misunderstanding(engine: Engine) -> None:
    """ "??" → "sorry, what would you like to know?" → "blub": the clarification hands over."""
    from actions.clarify import ActionClarify

    queue = HandoffQueue(engine)
    clarify = ActionClarify(ActionEscalate(queue, default_rules(), default_hours(), now=lambda: OPEN))
    cid = new_conversation(engine, "en")
    t = confused_after(cid, "utter_confused", "blub", language="en")
    t.latest_message["intent"] = {"name": "nlu_fallback", "confidence": 0.3}
    _, messages = run(clarify, t)
    assert [m["response"] for m in messages] == ["utter_escalate_misunderstood", "utter_handoff_waiting_open"]
    assert [h.reason for h in queue.waiting()] == ["misunderstood"]
