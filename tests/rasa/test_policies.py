"""The latency tuning of Rasa: the recent-turns rule policy window and the event-type cache."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa import speedups as rasa_speedups
from bot.rasa.policies import recent_tracker, user_turns

DOMAIN = Domain.from_yaml(
    """
intents: [greet, billing_due_date]
slots:
  language:
    type: categorical
    values: [nl, fr, en]
    influence_conversation: false
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: hi}]
  utter_billing_due_date: [{text: due}]
"""
)


def turn(intent: str, action: str) -> list[Event]:
    return [
        ActionExecuted("action_listen"),
        UserUttered(intent, {"name": intent}),
        ActionExecuted(action),
        BotUttered(action),
    ]


def conversation(turns: int) -> DialogueStateTracker:
    events: list[Event] = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("language", "fr"),
    ]
    for i in range(turns):
        events += turn(
            "greet" if i % 2 else "billing_due_date", "utter_greet" if i % 2 else "utter_billing_due_date"
        )
    events.append(ActionExecuted("action_listen"))
    return DialogueStateTracker.from_events("c", events, slots=DOMAIN.slots)


def test_short_conversations_are_left_as_they_are() -> None:
    tracker = conversation(3)
    assert recent_tracker(tracker, 5) is tracker


def test_long_conversations_keep_the_last_turns_and_the_slots() -> None:
    tracker = conversation(40)
    recent = recent_tracker(tracker, 5)
    assert user_turns(list(recent.events)) == 6  # five complete turns and the listen now
    assert recent.get_slot("language") == "fr"
    assert recent.latest_action_name == "action_listen"
    full, cut = tracker.past_states(DOMAIN), recent.past_states(DOMAIN)
    # Rasa gives the first action of any tracker an empty state; after it, the window has
    # exactly the recent states of the whole conversation (more than any rule is long).
    assert cut[0] == {}
    assert cut[1:] == full[-(len(cut) - 1) :]
    assert len(cut) - 1 >= 2 * 5


def test_event_type_cache_resolves_exactly_like_rasa() -> None:
    classes = rasa_speedups.all_subclasses(Event)
    names = {cls.type_name for cls in classes}
    expected = {name: next(c for c in classes if c.type_name == name) for name in names}  # Rasa's rule
    rasa_speedups.install()
    rasa_speedups.install()  # idempotent
    assert {name: Event.resolve_by_type(name) for name in names} == expected
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nope", default=SlotSet) is SlotSet


def test_action_calls_carry_only_recent_events() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    rasa_speedups.install()
    tracker = conversation(60)
    action = RemoteAction("action_coverage_check", EndpointConfig("http://127.0.0.1:9/webhook"))
    payload = action._action_call_format(tracker, DOMAIN)
    events = payload["tracker"]["events"]
    assert len(events) == rasa_speedups.ACTION_EVENTS
    assert events == [e.as_dict() for e in tracker.events][-rasa_speedups.ACTION_EVENTS :]
    assert payload["tracker"]["slots"]["language"] == "fr"
    assert payload["tracker"]["latest_message"]["intent"]["name"] == "greet"
