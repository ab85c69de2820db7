"""Checking it's the customer: the ``verification_form`` (number, then code) and what follows.

The form asks for a mobile number or customer number, sends a one-time code by SMS and asks
for it. The code itself never reaches Rasa: the router's store checks it and passes the payload
``/inform_code`` instead (bot/core/identity.py), so this module reads the outcome from the
database. The Telegram channel sends the same payload after the customer shared their own
contact (bot/channels/telegram_contact.py): the identity is verified already, at either step.
Every answer is the same whether or not the number is a customer's ("if this number is ours,
you'll get a code"), and the text goes out in the background so the timing is too.

``verification_outcome`` ends the form early (required slots become empty): ``verified``,
``limited`` (too many codes this hour), ``unavailable`` (account system or SMS gateway),
``locked`` (5 wrong codes), ``expired``, ``cancelled`` or ``escalate`` (the customer asked for a
person meanwhile); ``action_verification_result`` then says what happened.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from itertools import takewhile
from typing import Any, Dict, List, Optional, Tuple

import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account import (
    TOPIC_SLOT,
    AccountDeps,
    PersonalAnswer,
    default_deps,
    fetch_account,
    offer_verification,
    pending_topics,
    reply_language,
    said_only_the_verified_line,
)
from bot.connectors.accounts import AccountUnavailable
from bot.core.identity import CODE_PAYLOAD, LOCKED, normalise_customer_number, normalise_number
from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.settings import PROJECT_ROOT
from bot.core.taxonomy import is_answer_topic, is_escalation
from bot.core.texts import text

NUMBER, CODE, OUTCOME, MISSES = (
    "verification_number",
    "verification_code",
    "verification_outcome",
    "verification_misses",
)
FORM_SLOTS = (NUMBER, CODE, OUTCOME, MISSES)
CANCEL_INTENTS = {"deny", "goodbye", "account_logout"}
CANCEL_WORDS = re.compile(
    r"^\s*(stop|stoppen|annuleer|annuleren|laat maar|annuler|arr[êe]te[rz]?|laisse[sz]? tomber"
    r"|cancel|never ?mind|forget it)\b",
    re.IGNORECASE,
)
# The form's questions, which Rasa sends itself (utter_ask_<slot>).
QUESTIONS = ("utter_ask_verification_number", "utter_ask_verification_code")
HANDLED = "[handled]"  # verification_number once the code went out (the number is not kept)
MAX_MISSES = 1  # one hint, then the check stops
STOP_WORDS = 3  # "stop", "laat maar", "stop alsjeblieft": the way out, not a report
REQUEST_HUMAN = "request_human"
# A clear question typed where the number or the code was asked ("hoeveel kost bellen naar
# Marokko?" after "Mijn account bekijken"): the check stops and the question gets its answer,
# instead of "that doesn't look like a phone number".
SWITCH_CONFIDENCE = 0.6
OTHER_QUESTIONS = frozenset({KNOWLEDGE_INTENT, "capabilities", "bot_challenge"})
RULES = PROJECT_ROOT / "data" / "rules.yml"


def reset_events() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


async def start_check(deps: AccountDeps, conversation_id: str, typed: str, language: str) -> str:
    """Send a code for the number or customer number in ``typed``: ``sent``, ``invalid``,
    ``limited`` or ``unavailable``. ``sent`` also for a number that is not a customer's."""
    number = normalise_number(typed)
    identifier = number or normalise_customer_number(typed)
    if identifier is None:
        return "invalid"
    if number:  # the transcript keeps "[phone •••56]", as exports and logs do
        deps.identity.mask_number_in_transcript(conversation_id)
    identity = deps.identity.channel_identity(conversation_id)
    if identity is None or deps.settings.sms_provider == "none":
        return "unavailable"
    try:
        customer_id = await deps.accounts.find_customer_async(identifier)
    except AccountUnavailable:
        return "unavailable"
    channel = identity[0]
    minutes = deps.settings.verified_ttl_for(channel)
    issued = deps.identity.issue(conversation_id, channel, identifier, customer_id, minutes)
    if issued.limited:
        return "limited"
    if issued.code and customer_id:
        message = text("verification_sms", language).format(code=issued.code)
        deps.outbox.send_later(number or _number_on_file(deps, customer_id), message)
    return "sent"


def _number_on_file(deps: AccountDeps, customer_id: str) -> Any:
    def find() -> str | None:
        account = deps.accounts.account(customer_id)
        return account.msisdn if account else None

    return find


@lru_cache(maxsize=1)
def answer_actions() -> Dict[str, Tuple[str, ...]]:
    """Intent -> the actions of its unconditional rule in data/rules.yml that answer it, in order
    (``knowledge`` -> ``action_answer_article``; ``billing_refund`` -> the answer, then "did this
    help?"), read once."""
    rules = (yaml.safe_load(RULES.read_text(encoding="utf-8")) or {}).get("rules") or []
    found: Dict[str, Tuple[str, ...]] = {}
    for rule in rules:
        steps = rule.get("steps") or []
        if rule.get("condition") or len(steps) < 2 or "intent" not in steps[0]:
            continue
        answer = tuple(str(step["action"]) for step in takewhile(_is_answer_step, steps[1:]))
        if answer:
            found.setdefault(str(steps[0]["intent"]), answer)
    return found


def _is_answer_step(step: Dict[str, Any]) -> bool:
    """An action step that says something (a form, its loop and action_listen do not answer)."""
    action = str(step.get("action") or "")
    silent = action in ("", "action_listen") or action.endswith("_form")
    return set(step) == {"action"} and not silent


def other_question(tracker: Tracker) -> Tuple[str, ...]:
    """The actions answering the customer's latest message when it is a clear question of its own
    (an answer topic, a help-centre article, "what can you do?"), else nothing."""
    intent = tracker.latest_message.get("intent") or {}
    name = str(intent.get("name") or "")
    if float(intent.get("confidence") or 0) < SWITCH_CONFIDENCE:
        return ()
    if not (is_answer_topic(name) or name in OTHER_QUESTIONS):
        return ()
    return answer_actions().get(name, ())


def escape_outcome(tracker: Tracker) -> str | None:
    """``escalate`` or ``cancelled`` when the customer's message leaves the check.

    A bare "stop" is the way out the check's own messages offer: it cancels, whatever the
    classifier makes of it (a lone "stop" reads as abuse and went to a person); "stop, ik wil
    een medewerker" or a longer sensitive message still goes to a person."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    cancel_words = bool(CANCEL_WORDS.match(text))
    stop = cancel_words and len(text.split()) <= STOP_WORDS
    if is_escalation(intent) and not (stop and intent != REQUEST_HUMAN):
        return "escalate"
    if intent in CANCEL_INTENTS or cancel_words:
        return "cancelled"
    return None


class ValidateVerificationForm(FormValidationAction):
    def __init__(self, deps: AccountDeps | None = None) -> None:
        self._deps = deps

    @property
    def deps(self) -> AccountDeps:
        if self._deps is None:
            self._deps = default_deps()
        return self._deps

    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        if tracker.get_slot(OUTCOME):  # decided during this turn: the form ends
            return []
        return domain_slots

    async def validate_verification_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:  # emptied by action_verification_start, not typed: nothing to check
            return {}
        typed = str(value)
        if typed == HANDLED and self._code_waiting(tracker):
            return {NUMBER: HANDLED}
        if typed == CODE_PAYLOAD and self.deps.identity.verified_in(tracker.sender_id) is not None:
            # the gateway proved the number another way (Telegram: the customer's own contact)
            return {NUMBER: HANDLED, OUTCOME: "verified"}
        outcome = await start_check(self.deps, tracker.sender_id, typed, reply_language(tracker))
        if outcome == "sent":
            return {NUMBER: HANDLED, MISSES: None}
        if outcome != "invalid":
            return {NUMBER: None, OUTCOME: outcome}
        return self._miss(dispatcher, tracker, NUMBER, "utter_verification_not_a_number")

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:  # emptied by action_verification_start, not typed: nothing to check
            return {}
        typed = str(value)
        if typed == CODE_PAYLOAD:  # the store checked a code: read how it went
            return self._after_attempt(dispatcher, tracker)
        if normalise_number(typed):  # another number: a new code for it
            return await self.validate_verification_number(typed, dispatcher, tracker, domain) | {CODE: None}
        return self._miss(dispatcher, tracker, CODE, "utter_verification_code_not_typed")

    def _after_attempt(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        if self.deps.identity.verified_in(tracker.sender_id) is not None:
            return {CODE: "ok", OUTCOME: "verified"}
        status = self.deps.identity.last_code(tracker.sender_id)
        if status is None or status.status == LOCKED or status.attempts_left == 0:
            return {CODE: None, OUTCOME: "locked"}
        if status.expired:
            return {CODE: None, OUTCOME: "expired"}
        dispatcher.utter_message(response="utter_verification_code_wrong", tries=status.attempts_left)
        return {CODE: None}

    def _miss(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, hint: str
    ) -> Dict[str, Any]:
        escape = escape_outcome(tracker)
        if escape:
            return {slot: None, OUTCOME: escape}
        if other_question(tracker):
            return {slot: None, OUTCOME: "switched"}
        misses = int(tracker.get_slot(MISSES) or 0)
        if misses >= MAX_MISSES:
            return {slot: None, OUTCOME: "cancelled"}
        dispatcher.utter_message(response=hint)
        return {slot: None, MISSES: misses + 1}

    def _code_waiting(self, tracker: Tracker) -> bool:
        status = self.deps.identity.last_code(tracker.sender_id)
        return status is not None and status.status == "open" and not status.expired


class ActionVerificationStart(Action):
    """Before the form: a clean slate, or no form at all when the customer is verified already.

    A number typed without being asked (``inform_number``) goes out at once; the form then only
    asks for the code.
    """

    def __init__(self, deps: AccountDeps | None = None) -> None:
        self._deps = deps

    def name(self) -> str:
        return "action_verification_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        deps = self._deps or default_deps()
        events = reset_events()
        language = reply_language(tracker)
        verified = deps.identity.verified_in(tracker.sender_id)
        if verified is not None:
            if await said_only_the_verified_line(deps, dispatcher, verified, tracker, language):
                return [*events, FollowupAction("action_listen")]  # "what's the usage of 0470 ...?"
            events += await answer_after_check(deps, dispatcher, tracker, "utter_verification_already")
            return [*events, FollowupAction("action_listen")]  # no form
        if (tracker.latest_message.get("intent") or {}).get("name") != "inform_number":
            return events
        typed = tracker.latest_message.get("text") or ""
        outcome = await start_check(deps, tracker.sender_id, typed, language)
        if outcome == "sent":
            return [*events, SlotSet(NUMBER, HANDLED)]
        if outcome in ("limited", "unavailable"):
            dispatcher.utter_message(response=f"utter_verification_{outcome}")
            return [*events, FollowupAction("action_listen")]
        return events


class ActionVerificationResult(Action):
    """After the form: the customer's figures, or what went wrong and what to do."""

    def __init__(self, deps: AccountDeps | None = None, escalate: Optional[Action] = None) -> None:
        self._deps = deps
        self._escalate = escalate

    def name(self) -> str:
        return "action_verification_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        deps = self._deps or default_deps()
        outcome = tracker.get_slot(OUTCOME)
        events = reset_events()
        if outcome in (None, "verified") and deps.identity.verified_in(tracker.sender_id) is not None:
            return events + await answer_after_check(deps, dispatcher, tracker, "utter_verification_done")
        if outcome == "escalate":
            from actions.actions import ActionEscalate  # the one escalation, with its packet

            escalate = self._escalate or ActionEscalate()
            return events + await escalate.run(dispatcher, tracker, domain)
        if outcome == "switched":
            return events + await switch_to_question(dispatcher, tracker, domain)
        response = {
            "limited": "utter_verification_limited",
            "unavailable": "utter_verification_unavailable",
            "locked": "utter_verification_locked",
            "expired": "utter_verification_expired",
        }.get(str(outcome), "utter_verification_cancelled")
        dispatcher.utter_message(response=response)
        return events


async def switch_to_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
) -> List[EventType]:
    """The check stops for the question the customer asked instead, and the question is answered
    here, in this action: a FollowupAction to the answer left the dialogue policy in a state no
    rule covers, and it added a clarification after the answer."""
    dispatcher.utter_message(text=text("verification_switched", reply_language(tracker)))
    events: List[EventType] = [SlotSet(TOPIC_SLOT, None)]
    for answer in other_question(tracker):
        if answer.startswith("utter_"):
            dispatcher.utter_message(response=answer)
            continue
        action = registered_action(answer)
        if action is not None:
            events += await action.run(dispatcher, tracker, domain)
    return events


def registered_action(name: str) -> Action | None:
    """The custom action called ``name``, among those imported (the action server imports the
    whole package)."""
    classes = list(Action.__subclasses__())
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if inspect.isabstract(cls) or cls.__module__.startswith("rasa_sdk"):
            continue
        try:
            action = cls()
        except TypeError:  # needs arguments: not one of ours
            continue
        if action.name() == name:
            return action
    return None


async def answer_after_check(
    deps: AccountDeps, dispatcher: CollectingDispatcher, tracker: Tracker, response: str
) -> List[EventType]:
    """ "You're verified, Jan" and the answers to the questions that led to the check (one call
    to the account system for all: an outage costs the customer one time limit, not two)."""
    verified = deps.identity.verified_in(tracker.sender_id)
    if verified is None:
        return []
    account = await fetch_account(deps.accounts, verified.customer_id)
    dispatcher.utter_message(response=response, name=f", {account.first_name}" if account else "")
    topics = pending_topics(tracker.get_slot(TOPIC_SLOT))
    if topics:
        if account is None:
            dispatcher.utter_message(response="utter_account_unavailable")
            return [SlotSet(TOPIC_SLOT, None)]
        personal, language = PersonalAnswer(deps), reply_language(tracker)
        for topic in topics:
            await personal.answer(dispatcher, verified, topic, language, account)
        return [SlotSet(TOPIC_SLOT, None)]
    dispatcher.utter_message(response="utter_account_what_now")
    return []


class ActionAccountLogout(Action):
    """ "Log me out": this channel identity is no longer verified."""

    def __init__(self, deps: AccountDeps | None = None) -> None:
        self._deps = deps

    def name(self) -> str:
        return "action_account_logout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        deps = self._deps or default_deps()
        identity = deps.identity.channel_identity(tracker.sender_id)
        ended = bool(identity) and deps.identity.log_out(*identity)  # type: ignore[misc]
        dispatcher.utter_message(
            response="utter_account_logged_out" if ended else "utter_account_not_logged_in"
        )
        return [*reset_events(), SlotSet(TOPIC_SLOT, None)]


class ActionAskVerificationCode(Action):
    """The form's question for the code: that one is on its way, only when one has just gone out.

    After a wrong code or a hint the form asks again; the wrong-code message and the hint
    already say what to type, and "if this number is one of ours, you'll get a text" read as
    if another code had been sent."""

    def name(self) -> str:
        return "action_ask_verification_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        tried = tracker.latest_message.get("text") == CODE_PAYLOAD
        if not tried and not tracker.get_slot(MISSES):
            dispatcher.utter_message(response="utter_ask_verification_code")
        return []


class ActionCodeWithoutRequest(Action):
    """A code (``inform_code``) outside the check: verified by it already, or no code waiting."""

    def __init__(self, deps: AccountDeps | None = None) -> None:
        self._deps = deps

    def name(self) -> str:
        return "action_code_without_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        deps = self._deps or default_deps()
        if deps.identity.verified_in(tracker.sender_id) is not None:
            return await answer_after_check(deps, dispatcher, tracker, "utter_verification_done")
        dispatcher.utter_message(response="utter_verification_no_code_waiting")
        offer_verification(dispatcher, reply_language(tracker))
        return []
