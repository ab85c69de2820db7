"""The identity check in the chat (actions/verification.py) on real Trackers: the form's
validation, what happens after it, logging out, and that nothing tells customers from others."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.verification import (
    HANDLED,
    ActionAccountLogout,
    ActionAskVerificationCode,
    ActionCodeWithoutRequest,
    ActionVerificationResult,
    ActionVerificationStart,
    ValidateVerificationForm,
    answer_actions,
    registered_action,
)
from bot.connectors.sms import SmsOutbox
from bot.core import identity as identity_module
from bot.core.identity import CODE_PAYLOAD, MAX_ATTEMPTS, SENDS_PER_HOUR, Identity, capture_code
from bot.core.language import LanguageChoice
from bot.core.store import ConversationStore
from bot.core.texts import text
from testkit.fakes.accounts import FailingAccountProvider
from testkit.fakes.sms import FailingSmsSender, InlineOutbox, RecordingSmsSender, SlowSmsSender
from tests.helpers.accounts import make_deps, new_conversation, responses, run, said, tracker

JAN = "+32470123456"  # MC1000001, a customer
STRANGER = "+32470999888"  # nobody's


def validate(form: ValidateVerificationForm, slot: str, value: str, t: Any) -> tuple[dict, list]:
    dispatcher = CollectingDispatcher()
    method = getattr(form, f"validate_{slot}")
    result = asyncio.run(method(value, dispatcher, t, {}))
    return result, dispatcher.messages


def type_code(engine: Engine, cid: str, text: str) -> str | None:
    """What the router's store does with a message while the chat waits for a code."""
    channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
    with engine.begin() as conn:
        captured = capture_code(conn, cid, channel, sender, text, identity_module.utcnow())
    return captured.outcome if captured else None


def choose(_current: str | None) -> LanguageChoice:
    return LanguageChoice("nl", "test")


def form_tracker(
    cid: str, text: str, intent: str = "inform_number", language: str = "nl", **slots: Any
) -> Any:
    return tracker(
        cid, text, intent, language=language, slots=slots, active_loop={"name": "verification_form"}
    )


@pytest.fixture
def sms() -> RecordingSmsSender:
    return RecordingSmsSender()


@pytest.fixture
def form(engine: Engine, sms: RecordingSmsSender) -> ValidateVerificationForm:
    return ValidateVerificationForm(make_deps(engine, outbox=InlineOutbox(sms)))


def test_a_customer_number_gets_a_code_by_sms_in_the_chat_language(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine, "fr")
    result, messages = validate(
        form, "verification_number", "0470 12 34 56", form_tracker(cid, "0470 12 34 56", language="fr")
    )
    assert result == {"verification_number": HANDLED, "verification_misses": None}
    assert messages == []
    ((to, text),) = sms.sent
    assert to == JAN and text.startswith("Votre code Mila est ") and sms.code_for(JAN)


def test_a_customer_number_by_customer_number_goes_to_the_number_on_file(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine)
    result, _ = validate(form, "verification_number", "MC1000003", form_tracker(cid, "MC1000003"))
    assert result["verification_number"] == HANDLED
    assert [to for to, _text in sms.sent] == ["+32499887766"]


def test_a_number_that_is_not_a_customer_gets_the_same_answer_and_no_sms(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    customer, stranger = new_conversation(engine), new_conversation(engine)
    for_customer = validate(form, "verification_number", JAN, form_tracker(customer, JAN))
    for_stranger = validate(form, "verification_number", STRANGER, form_tracker(stranger, STRANGER))
    assert for_customer == for_stranger
    assert [to for to, _ in sms.sent] == [JAN]
    # Typing a code then goes the same way for both: wrong, with the same number of tries left.
    type_code(engine, customer, "000000" if sms.code_for(JAN) != "000000" else "000001")
    type_code(engine, stranger, "000000")
    after = [
        validate(form, "verification_code", CODE_PAYLOAD, form_tracker(cid, CODE_PAYLOAD, "inform_code"))
        for cid in (customer, stranger)
    ]
    assert after[0] == after[1] == ({"verification_code": None}, after[0][1])
    assert said(after[0][1]) == [("utter_verification_code_wrong", {"tries": MAX_ATTEMPTS - 1})]


def test_the_answer_does_not_wait_for_the_sms_gateway(engine: Engine) -> None:
    slow = SlowSmsSender(delay_s=0.6)
    deps = make_deps(engine)
    deps.outbox = SmsOutbox(slow)
    form = ValidateVerificationForm(deps)
    timings = {}
    for number in (JAN, STRANGER):
        cid = new_conversation(engine)
        started = time.perf_counter()
        validate(form, "verification_number", number, form_tracker(cid, number))
        timings[number] = time.perf_counter() - started
    assert max(timings.values()) < 0.4, timings  # the customer's send happens in the background
    assert slow.delivered.wait(5) and slow.sent[0][0] == JAN


@pytest.mark.parametrize(
    "typed", ["ik weet het niet", "12", "02 512 34 56", "<b>0470</b>", "'; DROP TABLE x;--"]
)
def test_not_a_number_gets_one_hint_then_the_check_stops(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender, typed: str
) -> None:
    cid = new_conversation(engine)
    result, messages = validate(form, "verification_number", typed, form_tracker(cid, typed, "nlu_fallback"))
    assert result == {"verification_number": None, "verification_misses": 1}
    assert responses(messages) == ["utter_verification_not_a_number"]
    again = form_tracker(cid, typed, "nlu_fallback", verification_misses=1)
    result, messages = validate(form, "verification_number", typed, again)
    assert result == {"verification_number": None, "verification_outcome": "cancelled"} and messages == []
    assert sms.sent == []


@pytest.mark.parametrize(
    ("text", "intent", "outcome"),
    [
        ("stop", "nlu_fallback", "cancelled"),
        ("stop", "sensitive_abuse", "cancelled"),  # the way out the check offers, not a report
        ("laat maar", "sensitive_complaint", "cancelled"),
        ("stop, ik wil een medewerker", "request_human", "escalate"),
        (
            "stop maar, iemand heeft mijn sim gestolen en belt naar het buitenland",
            "sensitive_fraud",
            "escalate",
        ),
        ("laisse tomber", "nlu_fallback", "cancelled"),
        ("nee", "deny", "cancelled"),
        ("ik wil een medewerker", "request_human", "escalate"),
        ("iemand gebruikt mijn simkaart", "sensitive_fraud", "escalate"),
    ],
)
def test_the_customer_can_leave_the_check(
    engine: Engine, form: ValidateVerificationForm, text: str, intent: str, outcome: str
) -> None:
    cid = new_conversation(engine)
    for slot in ("verification_number", "verification_code"):
        result, _ = validate(form, slot, text, form_tracker(cid, text, intent))
        assert result == {slot: None, "verification_outcome": outcome}


def test_too_many_codes_in_an_hour(engine: Engine, form: ValidateVerificationForm) -> None:
    cid = new_conversation(engine)
    for _ in range(SENDS_PER_HOUR):
        assert (
            validate(form, "verification_number", JAN, form_tracker(cid, JAN))[0]["verification_number"]
            == HANDLED
        )
    result, _ = validate(form, "verification_number", JAN, form_tracker(cid, JAN))
    assert result == {"verification_number": None, "verification_outcome": "limited"}


@pytest.mark.parametrize("broken", ["accounts", "no sms gateway"])
def test_an_unavailable_system_ends_the_check_honestly(engine: Engine, broken: str) -> None:
    if broken == "accounts":
        deps = make_deps(engine, FailingAccountProvider())
    else:
        deps = make_deps(engine, SMS_PROVIDER="none")
    cid = new_conversation(engine)
    result, _ = validate(ValidateVerificationForm(deps), "verification_number", JAN, form_tracker(cid, JAN))
    assert result == {"verification_number": None, "verification_outcome": "unavailable"}


def test_a_failing_sms_gateway_does_not_change_the_answer(engine: Engine) -> None:
    """The gateway's failure is logged in the background (tests/connectors/test_sms.py): the chat
    answers as for any other number, so a broken gateway tells nothing either."""
    cid = new_conversation(engine)
    deps = make_deps(engine)
    failing = FailingSmsSender()
    deps.outbox = SmsOutbox(failing)
    result, messages = validate(
        ValidateVerificationForm(deps), "verification_number", JAN, form_tracker(cid, JAN)
    )
    assert result == {"verification_number": HANDLED, "verification_misses": None} and messages == []


def test_the_right_code_ends_the_form_verified(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine)
    validate(form, "verification_number", JAN, form_tracker(cid, JAN))
    assert type_code(engine, cid, sms.code_for(JAN)) == "verified"  # type: ignore[arg-type]
    result, messages = validate(
        form, "verification_code", CODE_PAYLOAD, form_tracker(cid, CODE_PAYLOAD, "inform_code")
    )
    assert result == {"verification_code": "ok", "verification_outcome": "verified"} and messages == []
    ends = asyncio.run(
        form.required_slots(
            ["verification_number", "verification_code"],
            None,
            form_tracker(cid, "", verification_outcome="verified"),
            {},
        )
    )  # type: ignore[arg-type]
    assert ends == []


def test_wrong_codes_count_down_then_lock(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine)
    validate(form, "verification_number", JAN, form_tracker(cid, JAN))
    right = sms.code_for(JAN)
    wrong = "111111" if right != "111111" else "222222"
    for tries_left in range(MAX_ATTEMPTS - 1, 0, -1):
        type_code(engine, cid, wrong)
        result, messages = validate(
            form, "verification_code", CODE_PAYLOAD, form_tracker(cid, "", "inform_code")
        )
        assert result == {"verification_code": None}
        assert said(messages) == [("utter_verification_code_wrong", {"tries": tries_left})]
    type_code(engine, cid, wrong)
    result, _ = validate(form, "verification_code", CODE_PAYLOAD, form_tracker(cid, "", "inform_code"))
    assert result == {"verification_code": None, "verification_outcome": "locked"}
    assert type_code(engine, cid, right) == "locked"  # type: ignore[arg-type]
    assert Identity(engine).verified_in(cid) is None


def test_an_expired_code(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = new_conversation(engine)
    validate(form, "verification_number", JAN, form_tracker(cid, JAN))
    later = identity_module.utcnow() + identity_module.CODE_TTL + identity_module.timedelta(seconds=1)
    monkeypatch.setattr(identity_module, "utcnow", lambda: later)
    form.deps.identity.now = lambda: later
    type_code(engine, cid, sms.code_for(JAN))  # type: ignore[arg-type]
    result, _ = validate(form, "verification_code", CODE_PAYLOAD, form_tracker(cid, "", "inform_code"))
    assert result == {"verification_code": None, "verification_outcome": "expired"}


def test_text_instead_of_a_code_gets_a_hint(engine: Engine, form: ValidateVerificationForm) -> None:
    cid = new_conversation(engine)
    validate(form, "verification_number", JAN, form_tracker(cid, JAN))
    result, messages = validate(
        form, "verification_code", "ik kreeg niks", form_tracker(cid, "ik kreeg niks", "nlu_fallback")
    )
    assert result == {"verification_code": None, "verification_misses": 1}
    assert responses(messages) == ["utter_verification_code_not_typed"]


def test_another_number_at_the_code_step_sends_a_new_code(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine)
    validate(form, "verification_number", STRANGER, form_tracker(cid, STRANGER))
    result, _ = validate(form, "verification_code", JAN, form_tracker(cid, JAN))
    assert result == {"verification_number": HANDLED, "verification_misses": None, "verification_code": None}
    assert [to for to, _ in sms.sent] == [JAN]


# -- before and after the form ---------------------------------------------------------------


def verify(engine: Engine, cid: str, customer: str = "MC1000001") -> None:
    channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
    Identity(engine).mark_verified(channel, sender, customer, cid, "sms_code", 30)


def test_start_resets_the_check(engine: Engine) -> None:
    cid = new_conversation(engine)
    events, messages = run(
        ActionVerificationStart(make_deps(engine)), tracker(cid, "check my account", "verify_identity")
    )
    assert messages == []
    assert events == [
        SlotSet(s, None)
        for s in ("verification_number", "verification_code", "verification_outcome", "verification_misses")
    ]


@pytest.mark.parametrize("intent", ["verify_identity", "inform_number"])
def test_the_slots_start_empties_are_no_answers_to_the_form(
    engine: Engine, sms: RecordingSmsSender, intent: str
) -> None:
    """The form validates every slot set since the customer's message (rasa_sdk's
    ``slots_to_validate``), the ones action_verification_start emptied too: those are no miss."""
    cid = new_conversation(engine)
    deps = make_deps(engine, outbox=InlineOutbox(sms))
    typed = "/verify_identity" if intent == "verify_identity" else JAN
    started, _ = run(ActionVerificationStart(deps), tracker(cid, typed, intent))
    events = [{"event": "user", "text": typed}, {"event": "action", "name": "action_verification_start"}]
    events += [{"event": "slot", "name": e["name"], "value": e["value"]} for e in started]
    slots = {e["name"]: e["value"] for e in started}
    t = tracker(cid, typed, intent, slots=slots, events=events, active_loop={"name": "verification_form"})
    domain = {
        "forms": {"verification_form": {"required_slots": ["verification_number", "verification_code"]}}
    }
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateVerificationForm(deps).run(dispatcher, t, domain))
    assert dispatcher.messages == []  # no "that is not a number", no "type the code"
    number = None if intent == "verify_identity" else HANDLED  # the code went out already
    assert result == [SlotSet("verification_number", number), SlotSet("verification_code", None)]


def test_start_when_verified_answers_the_waiting_question_without_a_form(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid)
    t = tracker(cid, "check", "verify_identity", slots={"account_topic": "bill_higher"})
    events, messages = run(ActionVerificationStart(make_deps(engine)), t)
    assert said(messages)[0] == ("utter_verification_already", {"name": ", Jan"})
    assert responses(messages)[1] == "utter_account_bill_higher"
    assert events[-2:] == [SlotSet("account_topic", None), FollowupAction("action_listen")]


@pytest.mark.parametrize(
    "typed",
    ["wat is het verbruik van 0485 11 22 33?", "switch to number +32 485 11 22 33 please", "klant MC1000002"],
)
def test_a_verified_customer_naming_another_line_sees_only_their_own(engine: Engine, typed: str) -> None:
    """ "what's the data usage of 0470 12 34 56?" while verified for another line got "you're
    already verified, what would you like to know?": only the verified line's details are shown,
    and the other number is not looked up (nothing says whether it is a customer's)."""
    cid = new_conversation(engine, "nl")
    verify(engine, cid)  # Jan, +32470123456
    sms = RecordingSmsSender()
    events, messages = run(
        ActionVerificationStart(make_deps(engine, outbox=InlineOutbox(sms))),
        tracker(cid, typed, "inform_number"),
    )
    assert [m["text"] for m in messages] == [text("verification_other_number", "nl").format(tail="56")]
    assert events[-1] == FollowupAction("action_listen")
    assert sms.sent == []


@pytest.mark.parametrize("typed", ["mijn nummer is 0470 12 34 56", "MC1000001", "hoeveel data heb ik nog"])
def test_a_verified_customer_naming_their_own_line_is_answered(engine: Engine, typed: str) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid)
    _, messages = run(ActionVerificationStart(make_deps(engine)), tracker(cid, typed, "inform_number"))
    assert said(messages)[0] == ("utter_verification_already", {"name": ", Jan"})


def test_the_other_line_text_is_said_when_the_accounts_are_down(engine: Engine) -> None:
    cid = new_conversation(engine, "fr")
    verify(engine, cid)
    deps = make_deps(engine, provider=FailingAccountProvider())
    t = tracker(cid, "et pour le 0485 11 22 33 ?", "inform_number", slots={"language": "fr"})
    _, messages = run(ActionVerificationStart(deps), t)
    assert [m["text"] for m in messages] == [text("verification_other_number", "fr").format(tail="••")]


def test_a_number_typed_unasked_goes_out_at_once(engine: Engine) -> None:
    cid = new_conversation(engine)
    sms = RecordingSmsSender()
    events, _ = run(
        ActionVerificationStart(make_deps(engine, outbox=InlineOutbox(sms))),
        tracker(cid, JAN, "inform_number"),
    )
    assert events[-1] == SlotSet("verification_number", HANDLED)
    assert sms.code_for(JAN)


def test_after_the_form_the_figures_for_the_question_that_led_to_it(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid)
    t = tracker(
        cid, CODE_PAYLOAD, "inform_code", slots={"verification_outcome": "verified", "account_topic": "usage"}
    )
    events, messages = run(ActionVerificationResult(make_deps(engine)), t)
    assert said(messages)[0] == ("utter_verification_done", {"name": ", Jan"})
    assert responses(messages)[1:] == ["utter_account_usage"]
    assert SlotSet("account_topic", None) in events and SlotSet("verification_outcome", None) in events


def test_after_the_form_every_waiting_question_is_answered_in_the_order_asked(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid)
    slots = {"verification_outcome": "verified", "account_topic": "usage contract"}
    events, messages = run(
        ActionVerificationResult(make_deps(engine)), tracker(cid, CODE_PAYLOAD, "inform_code", slots=slots)
    )
    assert responses(messages) == [
        "utter_verification_done",
        "utter_account_usage",
        "utter_account_contract_open",
    ]
    assert SlotSet("account_topic", None) in events


def test_after_the_form_an_account_outage_is_said_once_for_all_waiting_questions(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid)
    deps = make_deps(engine, FailingAccountProvider())
    slots = {"verification_outcome": "verified", "account_topic": "usage contract"}
    events, messages = run(
        ActionVerificationResult(deps), tracker(cid, CODE_PAYLOAD, "inform_code", slots=slots)
    )
    assert responses(messages) == ["utter_verification_done", "utter_account_unavailable"]
    assert SlotSet("account_topic", None) in events


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hoeveel kost bellen naar Marokko?", "knowledge"),
        ("tegen wanneer moet ik betalen", "billing_due_date"),
        ("wat kan je allemaal", "capabilities"),
    ],
)
def test_a_question_instead_of_the_number_or_the_code_ends_the_check(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender, text: str, intent: str
) -> None:
    """A clear question where the number or code was asked ("that doesn't look like a number"
    answered it): the check stops, and action_verification_result answers the question."""
    cid = new_conversation(engine)
    for slot in ("verification_number", "verification_code"):
        result, messages = validate(form, slot, text, form_tracker(cid, text, intent))
        assert result == {slot: None, "verification_outcome": "switched"} and messages == []
    assert sms.sent == []


@pytest.mark.parametrize("intent", ["greet", "affirm", "nlu_fallback", "verify_identity"])
def test_anything_else_that_is_not_a_number_still_gets_the_hint(
    engine: Engine, form: ValidateVerificationForm, intent: str
) -> None:
    cid = new_conversation(engine)
    result, messages = validate(form, "verification_number", "euh", form_tracker(cid, "euh", intent))
    assert result == {"verification_number": None, "verification_misses": 1}
    assert responses(messages) == ["utter_verification_not_a_number"]


@pytest.mark.parametrize(
    ("intent", "answer"),
    [
        ("capabilities", ["utter_capabilities"]),
        ("sim_pin_puk", ["utter_sim_pin_puk"]),
        # a rule of two answer steps: the answer, then "did this help?", as without the check
        ("billing_refund", ["utter_billing_refund", "utter_did_this_help"]),
        ("sim_not_detected", ["utter_sim_not_detected", "utter_did_this_help"]),
    ],
)
def test_after_the_form_the_question_asked_instead_is_answered(
    engine: Engine, intent: str, answer: list[str]
) -> None:
    cid = new_conversation(engine)
    slots = {"verification_outcome": "switched", "account_topic": "x"}
    events, messages = run(
        ActionVerificationResult(make_deps(engine)), tracker(cid, "...", intent, slots=slots)
    )
    assert messages[0]["text"] == text("verification_switched", "nl")
    assert responses(messages[1:]) == answer
    assert SlotSet("account_topic", None) in events
    assert not [e for e in events if e.get("event") == "followup"]  # the answer is in this turn


def test_after_the_form_an_article_asked_instead_is_answered_by_the_article_action(engine: Engine) -> None:
    import actions.knowledge  # noqa: F401 - registers action_answer_article, as the action server does
    from bot.core.knowledge import load_help_centre

    cid = new_conversation(engine)
    t = tracker(cid, "kan ik mijn oproepen doorschakelen", "knowledge", article="call_forwarding")
    t.slots["verification_outcome"] = "switched"
    _events, messages = run(ActionVerificationResult(make_deps(engine)), t)
    article = load_help_centre().get("call_forwarding", "nl")
    assert messages[0]["text"] == text("verification_switched", "nl")
    assert responses(messages[1:]) == ["utter_article", "utter_did_this_help"]
    assert (messages[1]["body"], messages[1]["link"]) == (article.body, article.link)


def test_the_answer_of_a_question_is_the_action_steps_of_its_rule() -> None:
    answers = answer_actions()
    assert answers["knowledge"] == ("action_answer_article",)
    assert answers["billing_refund"] == ("utter_billing_refund", "utter_did_this_help")
    assert answers["verify_identity"] == ("action_verification_start",)  # not the form after it


def test_a_registered_action_is_found_by_its_name() -> None:
    from actions.actions import ActionNoWithoutQuestion

    assert isinstance(registered_action("action_no_without_question"), ActionNoWithoutQuestion)
    assert registered_action("action_that_does_not_exist") is None


def test_after_the_form_without_a_waiting_question(engine: Engine) -> None:
    cid = new_conversation(engine)
    verify(engine, cid)
    _events, messages = run(
        ActionVerificationResult(make_deps(engine)), tracker(cid, slots={"verification_outcome": "verified"})
    )
    assert responses(messages) == ["utter_verification_done", "utter_account_what_now"]


@pytest.mark.parametrize("outcome", ["limited", "unavailable", "locked", "expired", "cancelled"])
def test_after_the_form_what_went_wrong(engine: Engine, outcome: str) -> None:
    cid = new_conversation(engine)
    _events, messages = run(
        ActionVerificationResult(make_deps(engine)), tracker(cid, slots={"verification_outcome": outcome})
    )
    assert responses(messages) == [f"utter_verification_{outcome}"]


def test_after_the_form_a_request_for_a_person_hands_over(engine: Engine) -> None:
    class Escalate:
        async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list:
            dispatcher.utter_message(response="utter_escalate_request_human")
            return []

    cid = new_conversation(engine)
    action = ActionVerificationResult(make_deps(engine), escalate=Escalate())  # type: ignore[arg-type]
    _events, messages = run(
        action, tracker(cid, "een mens aub", "request_human", slots={"verification_outcome": "escalate"})
    )
    assert responses(messages) == ["utter_escalate_request_human"]


def test_log_out_ends_the_verification(engine: Engine) -> None:
    cid = new_conversation(engine)
    verify(engine, cid)
    _events, messages = run(
        ActionAccountLogout(make_deps(engine)), tracker(cid, "afmelden", "account_logout")
    )
    assert responses(messages) == ["utter_account_logged_out"]
    assert Identity(engine).verified_in(cid) is None
    _events, messages = run(
        ActionAccountLogout(make_deps(engine)), tracker(cid, "afmelden", "account_logout")
    )
    assert responses(messages) == ["utter_account_not_logged_in"]


def test_a_code_when_none_is_waiting(engine: Engine) -> None:
    cid = new_conversation(engine)
    _events, messages = run(
        ActionCodeWithoutRequest(make_deps(engine)), tracker(cid, "123456", "inform_code")
    )
    assert responses(messages) == ["utter_verification_no_code_waiting", "utter_account_offer_verification"]


def test_a_telegram_contact_proof_ends_the_check_at_either_step(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    """The Telegram channel verifies the customer's own contact and sends ``/inform_code``: the
    form ends verified whether it was asking for the number or for the code."""
    asked_number, asked_code = new_conversation(engine, channel="telegram"), new_conversation(engine)
    for cid in (asked_number, asked_code):
        channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
        Identity(engine).mark_verified(channel, sender, "MC1000001", cid, "telegram_contact", 30)
    result, messages = validate(
        form, "verification_number", CODE_PAYLOAD, form_tracker(asked_number, CODE_PAYLOAD, "inform_code")
    )
    assert result == {"verification_number": HANDLED, "verification_outcome": "verified"} and messages == []
    result, _ = validate(
        form, "verification_code", CODE_PAYLOAD, form_tracker(asked_code, CODE_PAYLOAD, "inform_code")
    )
    assert result == {"verification_code": "ok", "verification_outcome": "verified"}
    assert sms.sent == []  # no code went out
    _events, messages = run(
        ActionVerificationResult(make_deps(engine)),
        form_tracker(asked_number, "", verification_outcome="verified"),
    )
    assert responses(messages) == ["utter_verification_done", "utter_account_what_now"]
    assert Identity(engine).verified_in(asked_number).method == "telegram_contact"  # type: ignore[union-attr]


def test_the_payload_without_a_proof_is_no_number(engine: Engine, form: ValidateVerificationForm) -> None:
    cid = new_conversation(engine, channel="telegram")
    result, messages = validate(
        form, "verification_number", CODE_PAYLOAD, form_tracker(cid, CODE_PAYLOAD, "inform_code")
    )
    assert result == {"verification_number": None, "verification_misses": 1}
    assert responses(messages) == ["utter_verification_not_a_number"]


def test_the_number_typed_for_the_check_is_masked_in_the_transcript(
    engine: Engine, form: ValidateVerificationForm
) -> None:
    cid = new_conversation(engine)
    store = ConversationStore(engine)
    channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
    store.record_inbound(
        channel=channel,
        sender=sender,
        text="mijn nummer is 0470 12 34 56",
        locale=None,
        choose_language=choose,
    )
    validate(form, "verification_number", "mijn nummer is 0470 12 34 56", form_tracker(cid, "0470 12 34 56"))
    assert [m["text"] for m in store.transcript(cid)] == ["mijn nummer is [phone •••56]"]


def test_sql_and_html_around_a_number_only_the_number_is_used(
    engine: Engine, form: ValidateVerificationForm, sms: RecordingSmsSender
) -> None:
    cid = new_conversation(engine)
    typed = "<script>alert(1)</script> 0470 12 34 56'; DROP TABLE conversations; --"
    result, _ = validate(form, "verification_number", typed, form_tracker(cid, typed))
    assert result["verification_number"] == HANDLED
    assert [to for to, _ in sms.sent] == [JAN]
    assert Identity(engine).channel_identity(cid) is not None  # the tables are all still there


@pytest.mark.parametrize(
    ("text", "slots", "asked"),
    [
        (JAN, {}, ["utter_ask_verification_code"]),  # a code has just gone out
        (CODE_PAYLOAD, {}, []),  # a wrong code: its message says to type it again
        ("ik kreeg niks", {"verification_misses": 1}, []),  # the hint said what to type
    ],
)
def test_the_code_is_asked_for_as_on_its_way_only_when_one_just_went_out(
    engine: Engine, text: str, slots: dict, asked: list
) -> None:
    cid = new_conversation(engine)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskVerificationCode().run(dispatcher, form_tracker(cid, text, **slots), {}))
    assert responses(dispatcher.messages) == asked
