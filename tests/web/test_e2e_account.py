"""End to end, per language, through POST /api/chat: a personal question, the offer to verify,
the number, the code from the demo SMS outbox, the customer's own figures, the bill explained
line by line, then "log me out" and the next personal question asks to verify again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from actions.account_answers import a_month_after, difference_lines, international
from actions.formatting import day, gigabytes, locale_for, minutes, money, used_of
from bot.connectors.accounts import Account, DemoAccountProvider
from bot.connectors.sms import OUTBOX_NAME
from bot.core.db import create_db_engine, messages
from bot.core.identity import CODE_MASK
from bot.core.texts import text
from bot.run import Stack
from tests.helpers.domain import response_text, texts

pytestmark = pytest.mark.e2e

CASES = {
    # language: (customer, number as typed, data question, bill question, log out)
    "nl": (
        "MC1000001",
        "0470 12 34 56",
        "hoeveel data heb ik nog",
        "waarom is mijn factuur deze maand zo hoog",
        "afmelden",
    ),
    "fr": (
        "MC1000002",
        "0485 11 22 33",
        "combien de data il me reste",
        "pourquoi ma facture est plus élevée que d'habitude",
        "déconnexion",
    ),
    "en": (
        "MC1000003",
        "0499 88 77 66",
        "how much data do I have left",
        "why is my bill higher than usual",
        "log me out",
    ),
}


def code_from_outbox(stack: Stack, number: str, timeout_s: float = 10) -> str:
    outbox = stack.settings.var_dir / OUTBOX_NAME
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if outbox.exists():
            sent = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line]
            mine = [m["text"] for m in sent if m["to"] == number]
            if mine:
                return next(word.strip(".") for word in mine[-1].split() if word.strip(".").isdigit())
        time.sleep(0.1)
    raise AssertionError(f"no code for {number} in {outbox}")


def usage_text(account: Account, language: str) -> str:
    """The customer's own usage, as the assistant words it."""
    locale = locale_for(language, account.country)
    usage = account.usage
    included = gigabytes(usage.data_included_mb, locale) if usage.data_included_mb else None
    included_minutes = minutes(usage.minutes_included, language) if usage.minutes_included else None
    return response_text(
        "utter_account_usage",
        language,
        name=account.first_name,
        data=used_of(gigabytes(usage.data_used_mb, locale), included, language),
        minutes=used_of(minutes(usage.minutes_used, language), included_minutes, language),
        texts=used_of(
            str(usage.texts_sent),
            None if usage.texts_included is None else str(usage.texts_included),
            language,
        ),
        renews=day(usage.renews_on, locale),
    )


def verify_with_code(
    chat: Callable[[str], dict[str, Any]], stack: Stack, account: Account, typed: str
) -> dict[str, Any]:
    """The offer's button, the number as typed, the code from the demo SMS outbox: the answer to it."""
    chat("/verify_identity")
    chat(typed)
    return chat(code_from_outbox(stack, account.msisdn))


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_verify_then_personal_answers_then_log_out(
    chat: Callable[[str], dict[str, Any]], stack: Stack, language: str
) -> None:
    customer, typed, data_question, bill_question, log_out = CASES[language]
    account = DemoAccountProvider.from_file(today=date.today()).account(customer)
    assert account is not None
    locale = locale_for(language, account.country)
    offer = response_text("utter_account_offer_verification", language)

    first = chat(data_question)
    assert first["language"] == language and offer in texts(first)
    assert any(b["payload"] == "/verify_identity" for r in first["replies"] for b in r.get("buttons") or [])

    asked = chat("/verify_identity")  # the offer's button
    assert texts(asked) == [response_text("utter_ask_verification_number", language)]
    sent = chat(typed)
    assert texts(sent) == [response_text("utter_ask_verification_code", language)]
    code = code_from_outbox(stack, account.msisdn)

    verified = chat(code)
    assert texts(verified) == [
        response_text("utter_verification_done", language, name=f", {account.first_name}"),
        usage_text(account, language),
    ]

    bill = chat(bill_question)
    latest, previous = account.invoices[0], account.invoices[1]
    assert texts(bill) == [
        response_text(
            "utter_account_bill_higher",
            language,
            total=money(latest.total, locale),
            previous=money(previous.total, locale),
            difference=money(latest.total - previous.total, locale),
            lines="\n".join(difference_lines(latest, previous, language, locale)),
        )
    ]

    assert texts(chat(log_out)) == [response_text("utter_account_logged_out", language)]
    again = chat(data_question)
    assert offer in texts(again)

    engine = create_db_engine(stack.settings.database_url)
    try:
        with engine.connect() as conn:
            query = select(messages.c.text).where(messages.c.conversation_id == first["conversation_id"])
            stored = list(conn.execute(query).scalars())
    finally:
        engine.dispose()
    assert CODE_MASK in stored and not any(code in text for text in stored)


def test_a_wrong_code_asks_for_it_again_and_stop_ends_the_check(
    chat: Callable[[str], dict[str, Any]], stack: Stack
) -> None:
    """After a wrong code the customer is told to type it again (not that a code is on its way);
    "stop", the way out the check offers, ends it instead of going to a person."""
    chat("how much data do I have left")
    chat("/verify_identity")
    chat("0460 12 34 56")  # Olivia Brown, en
    right = code_from_outbox(stack, "+32460123456")
    wrong = "111111" if right != "111111" else "222222"
    again = chat(wrong)
    assert texts(again) == [response_text("utter_verification_code_wrong", "en", tries=4)]
    stopped = chat("stop")
    assert stopped["owner"] == "bot"
    assert texts(stopped) == [response_text("utter_verification_cancelled", "en")]


SWITCHED = {
    "nl": (
        "hoeveel data heb ik nog",
        "hoeveel kost het om naar Marokko te bellen?",
        "international_calls_from_home",
    ),
    "fr": (
        "combien de data il me reste",
        "combien coûte un appel vers le Maroc ?",
        "international_calls_from_home",
    ),
    "en": (
        "how much data do I have left",
        "how much does it cost to call Morocco?",
        "international_calls_from_home",
    ),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_question_where_the_number_was_asked_is_answered(
    chat: Callable[[str], dict[str, Any]], language: str
) -> None:
    """The customer pressed "check my account", then asked something else: the check stops and
    the question is answered (it got "that doesn't look like a phone number")."""
    from bot.core.knowledge import load_help_centre
    from bot.core.texts import text

    personal, other, article_id = SWITCHED[language]
    chat(personal)
    asked = chat("/verify_identity")
    assert texts(asked) == [response_text("utter_ask_verification_number", language)]
    answered = chat(other)
    assert answered["owner"] == "bot"
    said = texts(answered)
    assert said[0] == text("verification_switched", language)
    assert said[1].startswith(load_help_centre().get(article_id, language).body)
    assert said[2:] == [response_text("utter_did_this_help", language)]  # and nothing after it


def test_a_pin_question_where_the_code_was_asked_gets_the_pin_answer_alone(
    chat: Callable[[str], dict[str, Any]],
) -> None:
    """An answer of the domain (not an article) in place of the code: that answer, and no
    clarification after it."""
    from bot.core.texts import text

    chat("combien de data il me reste")
    chat("/verify_identity")
    chat("0485 11 22 33")  # Sophie Dubois, fr
    answered = chat("c'est quoi le code pin de ma nouvelle sim ?")
    assert texts(answered) == [text("verification_switched", "fr"), response_text("utter_sim_pin_puk", "fr")]


TWO_PERSONAL = {
    "nl": "hoeveel data heb ik nog? en wanneer loopt mijn contract af?",
    "fr": "combien de data il me reste ? et quand se termine mon contrat ?",
    "en": "how much data do I have left? and when does my contract end?",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_two_personal_questions_before_the_check_are_both_answered_after_it(
    chat: Callable[[str], dict[str, Any]], stack: Stack, language: str
) -> None:
    """Both general answers and one offer to verify; after the code, the customer's own usage and
    contract (it used to be only the contract: the question asked last)."""
    customer, typed, *_ = CASES[language]
    account = DemoAccountProvider.from_file(today=date.today()).account(customer)
    assert account is not None
    offer = response_text("utter_account_offer_verification", language)
    asked = chat(TWO_PERSONAL[language])
    assert texts(asked).count(offer) == 1

    verified = texts(verify_with_code(chat, stack, account, typed))
    assert verified[:2] == [
        response_text("utter_verification_done", language, name=f", {account.first_name}"),
        usage_text(account, language),
    ]
    assert len(verified) == 3 and account.plan in verified[2]  # the contract: "your Mila Smart plan ..."


OTHER_NUMBER = {
    # language: (customer, their number as typed, a message naming another number). Customers no
    # other test verifies: a number gets at most 3 codes an hour, in the stack all e2e tests share.
    "nl": ("MC1000009", "0477 57 10 57", "kijk eens naar het nummer 0485 11 22 33"),
    "fr": ("MC1000016", "0488 12 67 77", "et pour le 0499 88 77 66 ?"),
    "en": ("MC1000015", "0492 12 08 94", "what's the data usage of 0470 12 34 56?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_verified_customer_asking_about_another_number_sees_only_their_own_line(
    chat: Callable[[str], dict[str, Any]], stack: Stack, language: str
) -> None:
    """ "what's the data usage of 0470 12 34 56?" while verified for another line got "you're
    already verified, what would you like to know?": only the verified line's details, and how to
    check the other number (log out, its own code); no code goes to the other number."""
    customer, typed, other = OTHER_NUMBER[language]
    account = DemoAccountProvider.from_file(today=date.today()).account(customer)
    assert account is not None
    verify_with_code(chat, stack, account, typed)
    body = chat(other)
    assert body["owner"] == "bot" and body["language"] == language
    assert texts(body) == [text("verification_other_number", language).format(tail=account.msisdn[-2:])]


NEXT_BILL = {
    # language: (customer, their number as typed, next bill, own numbers). Customers no other test
    # verifies (3 codes an hour per number in the shared stack).
    "nl": ("MC1000011", "0497 87 72 68", "hoeveel wordt mijn volgende factuur?", "wat is mijn klantnummer"),
    "fr": (
        "MC1000021",
        "0488 21 75 65",
        "c'est combien ma prochaine facture ?",
        "c'est quoi mon numéro de client ?",
    ),
    "en": ("MC1000018", "0475 85 29 29", "how much is my next bill", "what's my customer number"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_verified_customer_asks_the_next_bill_and_their_own_numbers(
    chat: Callable[[str], dict[str, Any]], stack: Stack, language: str
) -> None:
    """ "hoeveel wordt mijn volgende factuur?" got the last invoice's lines as if they were the
    next one's: the date a month after the last invoice, the plan's price, the last total. "c'est
    quoi mon numéro de client ?" got the where-to-find-it article: their own numbers."""
    customer, typed, next_bill, numbers = NEXT_BILL[language]
    account = DemoAccountProvider.from_file(today=date.today()).account(customer)
    assert account is not None and account.monthly_price is not None
    locale = locale_for(language, account.country)
    verify_with_code(chat, stack, account, typed)

    body = chat(next_bill)
    latest = account.invoices[0]
    assert texts(body) == [
        response_text(
            "utter_account_bill_next",
            language,
            name=account.first_name,
            next_on=day(a_month_after(latest.issued_on), locale),
            plan=account.plan,
            price=money(account.monthly_price, locale),
            last=money(latest.total, locale),
        )
    ]
    body = chat(numbers)
    assert texts(body) == [
        response_text(
            "utter_account_numbers",
            language,
            name=account.first_name,
            msisdn=international(account.msisdn),
            customer_id=customer,
        )
    ]
