"""Dialogue policy tuned for latency.

Rasa's RulePolicy turns the *whole* conversation into states before every prediction, so
each reply costs more as the conversation grows. Rules only ever look at the last few
turns, so this policy hands RulePolicy a tracker holding just the recent events, with
the slots and active loop as they were where the window starts. Predictions are the
same as long as no rule is longer than the window (checked at training time).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.core.repetition import Turn, is_angry_repetition

WINDOW_KEY = "max_history_turns"
ESCALATE_ACTION = "action_escalate"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RecentTurnsRulePolicy(RulePolicy):
    """RulePolicy that predicts from the last ``max_history_turns`` user turns only."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**RulePolicy.get_default_config(), WINDOW_KEY: 5}

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        window = int(self.config[WINDOW_KEY])
        for tracker in training_trackers:
            if tracker.is_rule_tracker and user_turns(tracker.events) >= window:
                raise InvalidConfigException(
                    f"Rule '{tracker.sender_id}' spans {user_turns(tracker.events)} user turns; "
                    f"raise {WINDOW_KEY} (now {window}) above that in config.yml."
                )
        return super().train(training_trackers, domain, **kwargs)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Rules decide, except that an angry repetition goes to a person (see
        :mod:`bot.core.repetition`) instead of getting the same answer a second time."""
        if (
            tracker.latest_action_name == ACTION_LISTEN_NAME
            and ESCALATE_ACTION in domain.action_names_or_texts
            and self._angry_repetition(tracker)
        ):
            probabilities = self._default_predictions(domain)
            probabilities[domain.index_for_action(ESCALATE_ACTION)] = 1.0
            return self._rule_prediction(probabilities, "angry_repetition")
        return super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)

    def _angry_repetition(self, tracker: DialogueStateTracker) -> bool:
        window = int(self.config[WINDOW_KEY])
        return is_angry_repetition(customer_turns(tracker, window), customer_places(tracker, window))

    def _prediction_states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        use_text_for_last_user_input: bool = False,
        rule_only_data: Optional[Dict[str, Any]] = None,
    ) -> List[Dict[str, Any]]:
        recent = recent_tracker(tracker, int(self.config[WINDOW_KEY]))
        return super()._prediction_states(
            recent, domain, use_text_for_last_user_input, rule_only_data=rule_only_data
        )


def customer_turns(tracker: DialogueStateTracker, limit: int) -> List[Turn]:
    """The last ``limit`` customer messages as (intent, text), oldest first."""
    turns: List[Turn] = []
    for event in reversed(tracker.events):
        if isinstance(event, (Restarted, SessionStarted)) or len(turns) == limit:
            break
        if isinstance(event, UserUttered):
            turns.append((event.intent_name, event.text or ""))
    return turns[::-1]


def customer_places(tracker: DialogueStateTracker, limit: int) -> List[Optional[str]]:
    """The place each of the last ``limit`` customer messages named (None: none), oldest first."""
    messages = [e for e in tracker.events if isinstance(e, (Restarted, SessionStarted, UserUttered))]
    places: List[Optional[str]] = []
    for event in reversed(messages):
        if not isinstance(event, UserUttered) or len(places) == limit:
            break
        places.append(next((e.get("value") for e in event.entities if e.get("entity") == "place"), None))
    return places[::-1]


def user_turns(events: List[Event]) -> int:
    return sum(isinstance(e, ActionExecuted) and e.action_name == ACTION_LISTEN_NAME for e in events)


def recent_tracker(tracker: DialogueStateTracker, turns: int) -> DialogueStateTracker:
    """The tracker cut to its last ``turns`` user turns (``tracker`` itself when shorter).

    The cut is made at an ``action_listen``, so the window does not look like the start of
    a conversation; slots and the active loop are restored to their values at the cut.
    """
    events = list(tracker.applied_events())
    listens = [
        i
        for i, e in enumerate(events)
        if isinstance(e, ActionExecuted) and e.action_name == ACTION_LISTEN_NAME
    ]
    if len(listens) <= turns:
        return tracker
    cut = listens[-turns - 1]
    slots: Dict[str, Any] = {}
    loop: Optional[ActiveLoop] = None
    for event in events[:cut]:
        if isinstance(event, (Restarted, SessionStarted)):
            slots, loop = {}, None
        elif isinstance(event, SlotSet):
            slots[event.key] = event.value
        elif isinstance(event, ActiveLoop):
            loop = event
    prefix: List[Event] = [SlotSet(key, value) for key, value in slots.items()]
    if loop is not None and loop.name:
        prefix.append(loop)
    return DialogueStateTracker.from_events(
        tracker.sender_id, prefix + events[cut:], slots=tracker.slots.values()
    )
