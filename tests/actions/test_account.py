"""Personal answers (actions/account.py) on real Trackers: verified customers get their own
figures in their language, others the general answer and the offer to verify."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.account import (
    ActionBillingDueDate,
    ActionBillingExplainBill,
    ActionBillingHigherThanUsual,
    ActionBillingInvoiceCopy,
    pending_topics,
    verified_customer_note,
    with_topic,
)
from actions.account_answers import a_month_after
from actions.actions import ActionEscalate
from actions.formatting import day, gigabytes, locale_for, money, signed_money
from actions.knowledge import ActionAnswerArticle
from bot.core.identity import Identity
from bot.core.rules import default_rules
from bot.core.texts import text
from handoff.queue import HandoffQueue
from testkit.fakes.accounts import FailingAccountProvider, SlowAccountProvider
from tests.helpers.accounts import demo_accounts, make_deps, new_conversation, responses, run, said, tracker

OFFER = "utter_account_offer_verification"


def verify(engine: Engine, cid: str, customer: str) -> None:
    channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
    Identity(engine).mark_verified(channel, sender, customer, cid, "sms_code", 30)


@pytest.mark.parametrize(
    ("language", "country", "amount", "date_text"),
    [
        ("fr", "BE", "47,30\u00a0€", "4 décembre 2026"),
        ("nl", "BE", "€\u00a047,30", "4 december 2026"),
        ("nl", "NL", "€\u00a047,30", "4 december 2026"),
        ("en", "BE", "€47.30", "4 December 2026"),
    ],
)
def test_amounts_and_dates_follow_language_and_country(
    language: str, country: str, amount: str, date_text: str
) -> None:
    locale = locale_for(language, country)
    assert money(Decimal("47.30"), locale) == amount
    assert day(date(2026, 12, 4), locale) == date_text


def test_differences_and_volumes() -> None:
    assert signed_money(Decimal("18.90"), "nl_BE") == "+€\u00a018,90"
    assert signed_money(Decimal("-5"), "en_IE") == "-€5.00"
    assert gigabytes(9083, "fr_BE") == "8,9 GB" and gigabytes(20480, "en_IE") == "20.0 GB"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_unverified_gets_the_general_answer_and_the_offer(engine: Engine, language: str) -> None:
    cid = new_conversation(engine, language)
    events, messages = run(ActionBillingDueDate(make_deps(engine)), tracker(cid, intent="billing_due_date"))
    assert responses(messages) == ["utter_billing_due_date", OFFER]
    assert messages[1]["buttons"][0]["payload"] == "/verify_identity"
    assert events == [SlotSet("account_topic", "bill_due")]


def test_each_personal_question_before_the_check_waits_for_it(engine: Engine) -> None:
    """ "how much data do I have left? and when is my bill due?": both answers follow the check,
    not only the last question asked."""
    cid = new_conversation(engine, "en")
    waiting = {"account_topic": "usage"}
    events, _ = run(ActionBillingDueDate(make_deps(engine)), tracker(cid, language="en", slots=waiting))
    assert events == [SlotSet("account_topic", "usage bill_due")]


def test_the_waiting_questions_are_the_latest_distinct_ones() -> None:
    assert with_topic(None, "usage") == "usage"
    assert with_topic("usage bill_due", "usage") == "bill_due usage"  # asked again: now the latest
    assert with_topic("usage bill_due contract", "payment") == "bill_due contract payment"
    assert pending_topics("usage  nonsense usage contract") == ["usage", "contract"]
    assert pending_topics(None) == [] and pending_topics(["usage"]) == []


def test_unverified_bill_higher_also_asks_whether_it_helped(engine: Engine) -> None:
    cid = new_conversation(engine)
    events, messages = run(ActionBillingHigherThanUsual(make_deps(engine)), tracker(cid))
    assert responses(messages) == ["utter_billing_higher_than_usual", OFFER, "utter_did_this_help"]
    assert events == [SlotSet("account_topic", "bill_higher")]


def test_verified_bill_higher_explains_the_difference_line_by_line(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")  # Jan: roaming and premium texts on his last bill
    events, messages = run(ActionBillingHigherThanUsual(make_deps(engine)), tracker(cid))
    assert said(messages) == [
        (
            "utter_account_bill_higher",
            {
                "total": "€\u00a048,40",
                "previous": "€\u00a025,00",
                "difference": "€\u00a023,40",
                "lines": "- Roaming buiten de EU: +€\u00a018,90\n- Premium sms: +€\u00a04,50",
            },
        )
    ]
    assert events == [SlotSet("account_topic", None)]


def test_verified_english_bill_higher(engine: Engine) -> None:
    cid = new_conversation(engine, "en")
    verify(engine, cid, "MC1000003")  # Emma: extra data and a new SIM
    _events, messages = run(ActionBillingHigherThanUsual(make_deps(engine)), tracker(cid, language="en"))
    ((name, values),) = said(messages)
    assert name == "utter_account_bill_higher"
    assert values["difference"] == "€20.00"
    assert values["lines"].splitlines() == ["- Extra data: +€10.00", "- New SIM card: +€10.00"]


def test_verified_french_due_date_and_payment(engine: Engine) -> None:
    cid = new_conversation(engine, "fr")
    verify(engine, cid, "MC1000002")  # Sophie: her last invoice is open
    sophie = demo_accounts().account("MC1000002")
    invoice = sophie.invoices[0]  # type: ignore[union-attr]
    _events, messages = run(ActionBillingDueDate(make_deps(engine)), tracker(cid, language="fr"))
    assert said(messages) == [
        (
            "utter_account_bill_due",
            {
                "number": invoice.number,
                "total": money(invoice.total, "fr_BE"),
                "issued": day(invoice.issued_on, "fr_BE"),
                "due": day(invoice.due_on, "fr_BE"),
            },
        ),
        (
            "utter_account_payment_open",
            {
                "number": invoice.number,
                "total": money(invoice.total, "fr_BE"),
                "due": day(invoice.due_on, "fr_BE"),
            },
        ),
    ]
    assert money(invoice.total, "fr_BE").endswith("\u00a0€")


def test_verified_due_date_of_a_paid_invoice_says_only_that_it_is_paid(engine: Engine) -> None:
    """ "hoeveel moet ik betalen?" for a paid invoice got "due on 19 December" and then "paid on
    6 December": its due date no longer matters."""
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")  # Jan: his last invoice is paid
    invoice = demo_accounts().account("MC1000001").invoices[0]  # type: ignore[union-attr]
    assert invoice.status == "paid" and invoice.paid_on
    _events, messages = run(ActionBillingDueDate(make_deps(engine)), tracker(cid, language="nl"))
    assert said(messages) == [
        (
            "utter_account_payment_paid",
            {
                "number": invoice.number,
                "total": money(invoice.total, "nl_BE"),
                "due": day(invoice.due_on, "nl_BE"),
                "paid_on": day(invoice.paid_on, "nl_BE"),
            },
        )
    ]


def test_invoice_copy_says_where_and_for_a_verified_customer_which_is_the_latest(engine: Engine) -> None:
    """ "et ma dernière facture ?" after the check: the latest one's amount, due date and payment
    status, then where the invoices are; before it, where they are and the offer."""
    cid = new_conversation(engine, "fr")
    events, messages = run(
        ActionBillingInvoiceCopy(make_deps(engine)),
        tracker(cid, intent="billing_invoice_copy", language="fr"),
    )
    assert responses(messages) == ["utter_billing_invoice_copy", OFFER]
    assert events == [SlotSet("account_topic", "bill_due")]  # after the check: the latest, not "where" again

    verify(engine, cid, "MC1000002")
    invoice = demo_accounts().account("MC1000002").invoices[0]  # type: ignore[union-attr]
    events, messages = run(
        ActionBillingInvoiceCopy(make_deps(engine)),
        tracker(cid, intent="billing_invoice_copy", language="fr"),
    )
    assert responses(messages) == [
        "utter_account_bill_due",
        "utter_account_payment_open",
        "utter_billing_invoice_copy",
    ]
    assert said(messages)[0][1]["total"] == money(invoice.total, "fr_BE")
    assert events == [SlotSet("account_topic", None)]


def test_verified_explain_bill_lists_the_lines(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")
    _events, messages = run(ActionBillingExplainBill(make_deps(engine)), tracker(cid))
    ((name, values),) = said(messages)
    assert name == "utter_account_bill_explain" and values["total"] == "€\u00a048,40"
    assert values["lines"].splitlines() == [
        "- Abonnement: €\u00a025,00",
        "- Roaming buiten de EU: €\u00a018,90",
        "- Premium sms: €\u00a04,50",
    ]


def test_a_personal_article_answers_from_the_account_when_verified(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")
    jan = demo_accounts().account("MC1000001")
    usage = jan.usage  # type: ignore[union-attr]
    used, included = gigabytes(usage.data_used_mb, "nl_BE"), gigabytes(usage.data_included_mb or 0, "nl_BE")
    action = ActionAnswerArticle(deps=make_deps(engine))
    events, messages = run(action, tracker(cid, "hoeveel data heb ik nog", article="check_usage"))
    assert said(messages) == [
        (
            "utter_account_usage",
            {
                "name": "Jan",
                "data": f"{used} van {included}",
                "minutes": f"{usage.minutes_used} min (onbeperkt)",
                "texts": f"{usage.texts_sent} (onbeperkt)",
                "renews": day(usage.renews_on, "nl_BE"),
            },
        )
    ]
    assert events == [SlotSet("account_topic", None)]


@pytest.mark.parametrize(
    ("typed", "article", "intent"),
    [
        ("hoeveel data heeft 0485 11 22 33 nog?", "check_usage", None),
        ("wanneer moet de factuur van 0485 11 22 33 betaald zijn?", None, "billing_due_date"),
    ],
)
def test_a_verified_personal_question_about_another_number_shows_no_figures(
    engine: Engine, typed: str, article: str | None, intent: str | None
) -> None:
    """ "how much data does 0485 11 22 33 have left?" while verified for Jan's line gave Jan's
    figures as if they were the other line's: the answer says only the verified line is shown."""
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")  # +32470123456
    deps = make_deps(engine)
    action = ActionAnswerArticle(deps=deps) if article else ActionBillingDueDate(deps)
    events, messages = run(action, tracker(cid, typed, intent or "knowledge", article=article))
    assert [m["text"] for m in messages] == [text("verification_other_number", "nl").format(tail="56")]
    assert events == [SlotSet("account_topic", None)]


def test_a_verified_personal_question_naming_the_own_number_is_answered(engine: Engine) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")
    provider = SlowAccountProvider(demo_accounts(), delay_s=0)  # counts the calls
    action = ActionAnswerArticle(deps=make_deps(engine, provider))
    _, messages = run(action, tracker(cid, "hoeveel data heeft 0470 12 34 56 nog", article="check_usage"))
    assert responses(messages) == ["utter_account_usage"]
    assert provider.calls == 1  # the account is fetched once for the check and the answer


def test_a_personal_article_for_an_unverified_customer_offers_to_verify(engine: Engine) -> None:
    cid = new_conversation(engine, "en")
    action = ActionAnswerArticle(deps=make_deps(engine))
    events, messages = run(
        action, tracker(cid, "where is my sim", language="en", article="sim_delivery_time")
    )
    assert responses(messages) == ["utter_article", OFFER, "utter_did_this_help"]
    assert events == [SlotSet("account_topic", "order")]


def test_other_articles_are_unchanged(engine: Engine) -> None:
    cid = new_conversation(engine)
    events, messages = run(
        ActionAnswerArticle(deps=make_deps(engine)), tracker(cid, article="call_forwarding")
    )
    assert responses(messages) == ["utter_article", "utter_did_this_help"] and events == []


@pytest.mark.parametrize(
    ("customer", "article", "response"),
    [
        ("MC1000005", "prepaid_balance", "utter_account_balance"),
        ("MC1000001", "prepaid_balance", "utter_account_balance_subscription"),
        ("MC1000002", "contract_duration_end", "utter_account_contract_end"),
        ("MC1000001", "contract_duration_end", "utter_account_contract_open"),
        ("MC1000005", "contract_duration_end", "utter_account_contract_prepaid"),
        ("MC1000001", "payment_processing_time", "utter_account_payment_paid"),
        ("MC1000004", "payment_processing_time", "utter_account_payment_overdue"),
        ("MC1000005", "payment_processing_time", "utter_account_payment_prepaid"),
        ("MC1000003", "sim_delivery_time", "utter_account_order_sim_shipped"),
        ("MC1000002", "sim_delivery_time", "utter_account_order_esim"),
        ("MC1000007", "sim_delivery_time", "utter_account_order_sim_ordered"),
        ("MC1000001", "sim_delivery_time", "utter_account_order_none"),
        ("MC1000001", "next_invoice", "utter_account_bill_next"),
        ("MC1000005", "next_invoice", "utter_account_balance"),
        ("MC1000004", "my_numbers", "utter_account_numbers"),
    ],
)
def test_each_personal_topic(engine: Engine, customer: str, article: str, response: str) -> None:
    cid = new_conversation(engine, "en")
    verify(engine, cid, customer)
    _events, messages = run(
        ActionAnswerArticle(deps=make_deps(engine)), tracker(cid, language="en", article=article)
    )
    assert responses(messages) == [response]
    assert all("{" not in str(value) for value in said(messages)[0][1].values())


def test_the_next_invoice_comes_a_month_after_the_last_with_the_plan_price(engine: Engine) -> None:
    """ "hoeveel wordt mijn volgende factuur?" is not answered with the last invoice's lines: the
    date a month after it, the plan's price and what adds to it, and the last total beside."""
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")
    jan = demo_accounts().account("MC1000001")
    assert jan is not None and jan.monthly_price is not None
    latest = jan.invoices[0]
    _events, messages = run(
        ActionAnswerArticle(deps=make_deps(engine)),
        tracker(cid, "hoeveel wordt mijn volgende factuur?", article="next_invoice"),
    )
    expected_day = latest.issued_on.replace(
        year=latest.issued_on.year + (latest.issued_on.month == 12),
        month=latest.issued_on.month % 12 + 1,
    )
    assert said(messages) == [
        (
            "utter_account_bill_next",
            {
                "name": "Jan",
                "next_on": day(expected_day, "nl_BE"),
                "plan": jan.plan,
                "price": money(jan.monthly_price, "nl_BE"),
                "last": money(latest.total, "nl_BE"),
            },
        )
    ]


def test_the_own_numbers_are_the_verified_customers(engine: Engine) -> None:
    cid = new_conversation(engine, "fr")
    verify(engine, cid, "MC1000002")
    _events, messages = run(
        ActionAnswerArticle(deps=make_deps(engine)),
        tracker(cid, "c'est quoi mon numéro de client ?", language="fr", article="my_numbers"),
    )
    assert said(messages) == [
        (
            "utter_account_numbers",
            {"name": "Sophie", "msisdn": "+32 485 11 22 33", "customer_id": "MC1000002"},
        )
    ]


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2028, 1, 30), date(2028, 2, 29)),
    ],
)
def test_a_month_after_keeps_the_day_within_the_month(issued: date, expected: date) -> None:
    assert a_month_after(issued) == expected


def test_the_contract_answer_says_what_leaving_early_costs(engine: Engine) -> None:
    cid = new_conversation(engine, "fr")
    verify(engine, cid, "MC1000002")
    contract = demo_accounts().account("MC1000002").contract  # type: ignore[union-attr]
    _events, messages = run(
        ActionAnswerArticle(deps=make_deps(engine)),
        tracker(cid, language="fr", article="contract_duration_end"),
    )
    values = said(messages)[0][1]
    assert values["fee"] == money(contract.early_termination_fee, "fr_BE")  # type: ignore[union-attr]
    assert values["end"] == day(contract.end, "fr_BE")  # type: ignore[union-attr,arg-type]


@pytest.mark.parametrize("provider", [FailingAccountProvider(), SlowAccountProvider(delay_s=3)])
def test_an_account_system_failure_is_said_honestly_with_the_general_answer(
    engine: Engine, provider: object
) -> None:
    cid = new_conversation(engine, "nl")
    verify(engine, cid, "MC1000001")
    deps = make_deps(engine, provider)  # type: ignore[arg-type]
    deps.accounts.timeout_s = 0.2
    _events, messages = run(ActionBillingDueDate(deps), tracker(cid, intent="billing_due_date"))
    assert responses(messages) == ["utter_account_unavailable", "utter_billing_due_date"]
    if isinstance(provider, SlowAccountProvider):
        provider.release()


def test_an_account_outage_does_not_hold_up_other_conversations(engine: Engine) -> None:
    """Ten verified customers ask at once while the account system hangs: each gets the honest
    answer within one time limit (not one after the other), and a plain
    turn on the same event loop is answered at once meanwhile (bench/account_load.py)."""
    hung = SlowAccountProvider(delay_s=None)
    deps = make_deps(engine, hung)  # type: ignore[arg-type]
    deps.accounts.timeout_s = 0.3
    languages = ["nl", "fr", "en"] * 3 + ["nl"]
    cids = [new_conversation(engine, language) for language in languages]
    for cid in cids:
        verify(engine, cid, "MC1000001")
    plain = ActionAnswerArticle(deps=deps)

    async def at_once() -> tuple[list[list[dict]], float, float]:
        async def personal(cid: str, language: str) -> list[dict]:
            dispatcher = CollectingDispatcher()
            t = tracker(cid, intent="billing_due_date", language=language)
            await ActionBillingDueDate(deps).run(dispatcher, t, {})
            return dispatcher.messages

        started = time.perf_counter()
        asking = asyncio.gather(*(personal(cid, lang) for cid, lang in zip(cids, languages, strict=True)))
        await asyncio.sleep(0.05)
        turn_started = time.perf_counter()
        await plain.run(CollectingDispatcher(), tracker(cids[0], article="hotspot_tethering"), {})
        turn = time.perf_counter() - turn_started
        answers = await asking
        return answers, time.perf_counter() - started, turn

    try:
        answers, elapsed, turn = asyncio.run(at_once())
    finally:
        hung.release()
    assert [responses(m) for m in answers] == [["utter_account_unavailable", "utter_billing_due_date"]] * 10
    assert elapsed < 0.3 + 0.4  # one time limit and a margin; one after the other was 3 s
    assert turn < 0.2


def test_the_handoff_packet_says_who_the_verified_customer_is(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNT_PROVIDER", "demo")
    cid = new_conversation(engine, "nl")
    assert asyncio.run(verified_customer_note(engine, cid, "nl")) is None
    verify(engine, cid, "MC1000001")
    assert (
        asyncio.run(verified_customer_note(engine, cid, "nl")) == "MC1000001 Jan Peeters, geverifieerd (SMS)"
    )
    escalate = ActionEscalate(queue=HandoffQueue(engine), rules=default_rules())
    t = tracker(cid, "ik wil een fraude melden", intent="sensitive_fraud", slots={"verification_code": "x"})
    asyncio.run(escalate.run(CollectingDispatcher(), t, {}))
    handoff = HandoffQueue(engine).open_handoff(cid)
    assert handoff is not None and handoff.reason == "fraud"
    assert handoff.slots["verified_customer"] == "MC1000001 Jan Peeters, geverifieerd (SMS)"
    assert "verification_code" not in handoff.slots
