"""action_escalate on real Trackers: every reason, in every language, open and closed hours."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from actions.actions import ActionEscalate, ActionNoWithoutQuestion, intent_labels
from bot.core.db import conversations, utcnow
from bot.core.hours import default_hours
from bot.core.rules import default_rules
from bot.core.texts import text
from handoff.queue import HandoffQueue

OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # Monday 10:00 in Brussels
CLOSED = datetime(2026, 11, 21, 18, 0, tzinfo=timezone.utc)  # Saturday 19:00
INTENTS = {
    "sensitive_fraud": "fraud",
    "sensitive_abuse": "abuse",
    "sensitive_legal": "legal",
    "sensitive_complaint": "complaint",
    "sensitive_payment_difficulty": "payment_difficulty",
    "sensitive_cancellation": "cancellation",
    "sensitive_privacy": "privacy",
    "request_human": "request_human",
}


def new_conversation(engine: Engine, language: str) -> str:
    cid = str(uuid.uuid4())
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel="web",
                sender=cid,
                owner="bot",
                language=language,
                created_at=now,
                updated_at=now,
            )
        )
    return cid


def tracker(cid: str, intent: str, language: str, text: str = "...") -> Tracker:
    events = [
        {"event": "user", "text": "hallo", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
    ]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker(
        cid, {"language": language, "bot_name": "Mila"}, latest, events, False, None, {}, "action_listen"
    )


def run(
    action: ActionEscalate | ActionNoWithoutQuestion, t: Tracker
) -> tuple[list[Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return events, [{k: v for k, v in m.items() if v not in (None, [], {})} for m in dispatcher.messages]


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("intent", sorted(INTENTS))
def test_every_rule_escalates_with_its_reason_and_priority(
    engine: Engine, intent: str, language: str
) -> None:
    queue = HandoffQueue(engine)
    action = ActionEscalate(queue, default_rules(), default_hours(), now=lambda: OPEN)
    cid = new_conversation(engine, language)
    events, messages = run(action, tracker(cid, intent, language, text="help"))
    reason = INTENTS[intent]
    assert events == []
    assert messages == [
        {"response": f"utter_escalate_{reason}", "template": f"utter_escalate_{reason}"},
        {"response": "utter_handoff_waiting_open", "template": "utter_handoff_waiting_open", "position": 1},
    ]
    [handoff] = queue.waiting()
    rule = default_rules()[reason]
    assert (handoff.conversation_id, handoff.reason, handoff.priority) == (cid, reason, rule.priority)
    assert handoff.language == language
    assert (
        handoff.summary
        == {"nl": "Klant schreef", "fr": "Le client a écrit", "en": "Customer wrote"}[language]
        + ": «hallo» / «help»"
    )
    assert handoff.intents == ["greet", intent]
    assert handoff.slots == {"language": language, "bot_name": "Mila"}


@pytest.mark.parametrize(
    "language, reopens", [("nl", "maandag om 08:00"), ("fr", "lundi à 08:00"), ("en", "Monday at 08:00")]
)
def test_outside_business_hours_the_customer_hears_when_the_team_is_back(
    engine: Engine, language: str, reopens: str
) -> None:
    action = ActionEscalate(HandoffQueue(engine), hours=default_hours(), now=lambda: CLOSED)
    _, messages = run(action, tracker(new_conversation(engine, language), "request_human", language))
    assert messages[-1] == {
        "response": "utter_handoff_waiting_closed",
        "template": "utter_handoff_waiting_closed",
        "reopens": reopens,
    }


def test_queue_position_counts_earlier_chats_in_the_same_language(engine: Engine) -> None:
    action = ActionEscalate(HandoffQueue(engine), hours=default_hours(), now=lambda: OPEN)
    for _ in range(2):
        run(action, tracker(new_conversation(engine, "fr"), "request_human", "fr"))
    run(action, tracker(new_conversation(engine, "nl"), "request_human", "nl"))
    _, messages = run(action, tracker(new_conversation(engine, "fr"), "sensitive_privacy", "fr"))
    assert messages[-1]["position"] == 3


def test_a_second_escalation_of_a_waiting_chat_is_not_queued_twice(engine: Engine) -> None:
    queue = HandoffQueue(engine)
    action = ActionEscalate(queue, hours=default_hours(), now=lambda: OPEN)
    cid = new_conversation(engine, "en")
    run(action, tracker(cid, "request_human", "en"))
    _, messages = run(action, tracker(cid, "sensitive_complaint", "en"))
    assert [m["response"] for m in messages] == ["utter_escalate_complaint", "utter_handoff_already_waiting"]
    assert len(queue.waiting()) == 1
    with engine.connect() as conn:
        assert (
            conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()
            == "queued"
        )


def test_every_reason_in_the_rules_has_its_message_in_three_languages() -> None:
    import yaml

    from bot.core.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for reason in default_rules():
        variants = domain["responses"][f"utter_escalate_{reason}"]
        assert sorted(v["condition"][0]["value"] for v in variants) == ["en", "fr", "nl"], reason


def clarified_before(cid: str, language: str) -> Tracker:
    t = tracker(cid, "nlu_fallback", language, text="euh")
    t.events = [
        {"event": "user", "text": "blub", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "bot", "text": "?", "metadata": {"utter_action": "utter_clarify_topics"}},
        {"event": "user", "text": "euh", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    ]
    return t


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_second_misunderstanding_in_a_row_goes_to_a_person(engine: Engine, language: str) -> None:
    from actions.clarify import ActionClarify

    queue = HandoffQueue(engine)
    clarify = ActionClarify(ActionEscalate(queue, hours=default_hours(), now=lambda: OPEN))
    cid = new_conversation(engine, language)
    _, first = run(clarify, tracker(cid, "nlu_fallback", language, text="blub"))
    assert [m["response"] for m in first] == ["utter_clarify_topics"]
    assert queue.waiting() == []
    _, second = run(clarify, clarified_before(cid, language))
    assert [m["response"] for m in second] == ["utter_escalate_misunderstood", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason, handoff.priority) == (cid, "misunderstood", "normal")


CONTEXTUAL = {
    # language: (a "no" to "did this help?", an angry repetition of the same question)
    "nl": ("nee, werkt nog steeds niet", "WAAROM IS MIJN FACTUUR ZO HOOG, dat vroeg ik toch!!"),
    "fr": ("non, toujours pas", "je vous ai déjà dit que ma facture est trop élevée, c'est ridicule"),
    "en": ("no, still broken", "why is my bill so high again?! I already told you"),
}


def after_answer(cid: str, language: str, intent: str, text: str) -> Tracker:
    """The customer got the bill answer and "did this help?", then wrote ``text``."""
    t = tracker(cid, intent, language, text=text)
    t.events = [
        {"event": "user", "text": "bill?", "parse_data": {"intent": {"name": "billing_higher_than_usual"}}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_billing_higher_than_usual"}},
        {"event": "bot", "text": "?", "metadata": {"utter_action": "utter_did_this_help"}},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
    ]
    return t


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_no_to_did_this_help_goes_to_a_person_as_not_helped(engine: Engine, language: str) -> None:
    queue = HandoffQueue(engine)
    cid = new_conversation(engine, language)
    text = CONTEXTUAL[language][0]
    _, messages = run(
        ActionEscalate(queue, hours=default_hours(), now=lambda: OPEN),
        after_answer(cid, language, "deny", text),
    )
    assert [m["response"] for m in messages] == ["utter_escalate_not_helped", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.reason, handoff.priority) == ("not_helped", "normal")
    topic = {"nl": "Onderwerpen", "fr": "Sujets", "en": "Topics"}[language]
    label = intent_labels()["billing_higher_than_usual"][language]
    assert handoff.summary.startswith(f"{topic}: {label}. ")
    assert handoff.summary.endswith(f"«bill?» / «{text}»")


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_an_angry_repetition_goes_to_a_person_with_high_priority(engine: Engine, language: str) -> None:
    queue = HandoffQueue(engine)
    cid = new_conversation(engine, language)
    text = CONTEXTUAL[language][1]
    t = after_answer(cid, language, "billing_higher_than_usual", text)
    _, messages = run(ActionEscalate(queue, hours=default_hours(), now=lambda: OPEN), t)
    assert [m["response"] for m in messages] == [
        "utter_escalate_angry_repetition",
        "utter_handoff_waiting_open",
    ]
    [handoff] = queue.waiting()
    assert (handoff.reason, handoff.priority) == ("angry_repetition", "high")
    assert handoff.intents == ["billing_higher_than_usual", "billing_higher_than_usual"]


def no_action(queue: HandoffQueue) -> ActionNoWithoutQuestion:
    """``action_no_without_question``, handing over to ``queue`` in open hours."""
    return ActionNoWithoutQuestion(ActionEscalate(queue, default_rules(), default_hours(), now=lambda: OPEN))


def says_no(cid: str, before: list[dict[str, Any]], text: str, language: str) -> Tracker:
    """After the events ``before``, the customer's ``text``, read as a no."""
    events = [*before, {"event": "user", "text": text, "parse_data": {"intent": {"name": "deny"}}}]
    latest = {"text": text, "intent": {"name": "deny", "confidence": 0.9}, "entities": []}
    return Tracker(cid, {"language": language}, latest, events, False, None, {}, "action_listen")


def after(cid: str, bot_said: str, text: str, language: str = "en") -> Tracker:
    """The customer's "no" (``text``) right after the bot's response ``bot_said``."""
    before = [
        {"event": "user", "text": "my sim asks for a PUK", "parse_data": {"intent": {"name": "sim_pin_puk"}}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": bot_said}},
    ]
    return says_no(cid, before, text, language)


@pytest.mark.parametrize(
    "bot_said",
    ["utter_sim_pin_puk", "utter_billing_payment_methods", "utter_outage_active", "utter_account_bill_due"],
)
def test_a_no_right_after_an_answer_hands_over_as_not_helped(engine: Engine, bot_said: str) -> None:
    """ "no that didn't help" after an answer that asked nothing: a person takes over, as after
    "did this help?", with the reason not_helped."""
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "en")
    events, messages = run(action, after(cid, bot_said, "no that didnt help"))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_escalate_not_helped", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason) == (cid, "not_helped")


def answer_then_offer(cid: str, text: str, language: str) -> Tracker:
    """The due date's answer, then the offer to check it's the customer (a question of its own),
    then the customer's ``text`` (read as a no)."""
    before = [
        {
            "event": "user",
            "text": "when is my bill due",
            "parse_data": {"intent": {"name": "billing_due_date"}},
        },
        {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_billing_due_date"}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_account_offer_verification"}},
    ]
    return says_no(cid, before, text, language)


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "that doesn't help me"), ("nl", "dat helpt me niet"), ("fr", "ça ne m'aide pas du tout")],
)
def test_did_not_help_in_so_many_words_after_an_answer_with_an_offer_hands_over(
    engine: Engine, language: str, text: str
) -> None:
    """It got "Okay, what can I help you with?": the "no" was taken as declining the offer."""
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, language)
    _events, messages = run(action, answer_then_offer(cid, text, language))
    assert [m["response"] for m in messages] == ["utter_escalate_not_helped", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason) == (cid, "not_helped")


@pytest.mark.parametrize("text", ["no", "nee, dank je", "non merci"])
def test_a_bare_no_to_the_offer_declines_it(engine: Engine, text: str) -> None:
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "en")
    _events, messages = run(action, answer_then_offer(cid, text, "en"))
    assert messages == [{"response": "utter_ask_what_else", "template": "utter_ask_what_else"}]
    assert queue.waiting() == []


def pleasantry_between(cid: str, first: str, pleasantry: str) -> Tracker:
    """The bot answered with ``first``, the customer said thanks or bye, the bot replied with
    ``pleasantry``, then the customer's "still slow" (read as a no)."""
    before = [
        {"event": "user", "text": "slow", "parse_data": {"intent": {"name": "coverage_slow_data"}}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": first}},
        {"event": "user", "text": "thanks", "parse_data": {"intent": {"name": "thanks"}}},
        {"event": "bot", "text": "...", "metadata": {"utter_action": pleasantry}},
    ]
    return says_no(cid, before, "still slow", "nl")


@pytest.mark.parametrize("pleasantry", ["utter_thanks", "utter_goodbye"])
@pytest.mark.parametrize("first", ["utter_coverage_slow_data", "utter_did_this_help"])
def test_a_no_after_thanks_for_an_answer_still_means_it_did_not_help(
    engine: Engine, first: str, pleasantry: str
) -> None:
    """ "thanks" → "you're welcome" → "still slow": the answer before the pleasantry did not help."""
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "nl")
    events, messages = run(action, pleasantry_between(cid, first, pleasantry))
    assert [m["response"] for m in messages] == ["utter_escalate_not_helped", "utter_handoff_waiting_open"]
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason) == (cid, "not_helped")


def test_a_no_after_thanks_for_a_greeting_asks_what_the_customer_needs(engine: Engine) -> None:
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "nl")
    events, messages = run(action, pleasantry_between(cid, "utter_greet", "utter_thanks"))
    assert messages == [{"response": "utter_ask_what_else", "template": "utter_ask_what_else"}]
    assert queue.waiting() == []


@pytest.mark.parametrize(
    "bot_said",
    ["utter_greet", "utter_glad_helped", "utter_outage_list", "utter_account_offer_verification", None],
)
def test_a_no_to_anything_else_asks_what_the_customer_needs(engine: Engine, bot_said: str | None) -> None:
    """After a greeting, "glad I could help", or an answer that ends on a question of its own
    ("are you near there?", "shall I check it's you?"), a "no" hands nothing over."""
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "fr")
    events, messages = run(action, after(cid, bot_said, "non", language="fr"))  # type: ignore[arg-type]
    assert events == []
    assert messages == [{"response": "utter_ask_what_else", "template": "utter_ask_what_else"}]
    assert queue.waiting() == []


DO_FOR_ME = {"nl": "kun je dat voor mij doen?", "fr": "vous pouvez le faire ?", "en": "can you do it for me?"}


def asked_to_do_it(cid: str, bot_said: str | None, language: str) -> Tracker:
    """After the bot's ``bot_said``, the customer asked the bot to do it (bot/rasa/nlu/do_for_me.py)."""
    t = after(cid, bot_said, DO_FOR_ME[language], language=language)  # type: ignore[arg-type]
    t.latest_message["do_for_me"] = True
    return t


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize(
    ("bot_said", "key"),
    [
        ("utter_sim_pin_puk", "escalate_do_for_me"),
        ("utter_billing_payment_methods", "escalate_do_for_me"),
        # the SIM must be blocked now, also when the team is offline: the 24/7 line
        ("utter_sim_lost_stolen", "escalate_do_for_me_block"),
    ],
)
def test_asked_to_do_what_the_answer_says_a_person_takes_over_and_the_customer_hears_why(
    engine: Engine, language: str, bot_said: str, key: str
) -> None:
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, language)
    events, messages = run(action, asked_to_do_it(cid, bot_said, language))
    assert events == []
    assert messages[0] == {"text": text(key, language)}
    assert messages[1]["response"] == "utter_handoff_waiting_open"
    [handoff] = queue.waiting()
    assert (handoff.conversation_id, handoff.reason) == (cid, "not_helped")
    assert DO_FOR_ME[language] in handoff.summary


def test_asked_to_do_it_with_nothing_answered_the_bot_asks_what_the_customer_needs(engine: Engine) -> None:
    queue = HandoffQueue(engine)
    action = no_action(queue)
    cid = new_conversation(engine, "nl")
    events, messages = run(action, asked_to_do_it(cid, "utter_greet", "nl"))
    assert events == []
    assert messages == [{"response": "utter_ask_what_else", "template": "utter_ask_what_else"}]
    assert queue.waiting() == []


def guarded(cid: str, ranking: dict[str, float], language: str = "nl", **extra: Any) -> Tracker:
    """A message the escalation guard handed over: the intent carries the escalation intents'
    summed probability, the ranking the classifier's own."""
    best = max((n for n in ranking if n.startswith("sensitive_")), key=ranking.__getitem__)
    text = "IK HEB AL 3 KEER GEBELD EN NOG STEEDS GEEN OPLOSSING VOOR MIJN FACTUUR"
    latest = {
        "text": text,
        "intent": {
            "name": best,
            "confidence": sum(v for n, v in ranking.items() if n.startswith("sensitive_")),
        },
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking.items()],
        "entities": [],
        **extra,
    }
    events = [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker(cid, {"language": language}, latest, events, False, None, {}, "action_listen")


UNSURE = {
    "nlu_fallback": 0.3,
    "knowledge": 0.18,
    "sensitive_fraud": 0.16,
    "sensitive_payment_difficulty": 0.14,
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_unsure_which_sensitive_case_a_person_takes_over_without_the_cases_words(
    engine: Engine, language: str
) -> None:
    queue = HandoffQueue(engine)
    action = ActionEscalate(queue, default_rules(), default_hours(), now=lambda: OPEN)
    cid = new_conversation(engine, language)
    _, messages = run(action, guarded(cid, UNSURE, language))
    assert messages[0] == {"text": text("escalate_unsure", language)}
    assert "1922" not in messages[0]["text"]
    assert messages[1]["response"] == "utter_handoff_waiting_open"
    [handoff] = queue.waiting()
    assert handoff.reason == "fraud"  # the queue keeps the likeliest reason and its priority


def test_a_case_the_classifier_is_sure_of_keeps_its_words(engine: Engine) -> None:
    action = ActionEscalate(HandoffQueue(engine), default_rules(), default_hours(), now=lambda: OPEN)
    sure = {"sensitive_fraud": 0.81, "sensitive_privacy": 0.05}
    _, messages = run(action, guarded(new_conversation(engine, "en"), sure, "en"))
    assert messages[0]["response"] == "utter_escalate_fraud"


def test_a_repeat_contact_is_a_complaint_whatever_the_ranking(engine: Engine) -> None:
    action = ActionEscalate(HandoffQueue(engine), default_rules(), default_hours(), now=lambda: OPEN)
    t = guarded(new_conversation(engine, "nl"), {"sensitive_complaint": 0.04, **UNSURE}, repeat_contact=True)
    t.latest_message["intent"] = {"name": "sensitive_complaint", "confidence": 1.0}
    _, messages = run(action, t)
    assert messages[0]["response"] == "utter_escalate_complaint"
