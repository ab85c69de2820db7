"""A verified customer's own figures, one function per account topic (bot/core/taxonomy.py's
ACCOUNT_INTENT_TOPICS and ACCOUNT_ARTICLE_TOPICS): usage, balance, contract, payment, order, the
invoices (due, higher, explained, copy, next) and their own numbers. Each says its answer through
domain.yml's responses, amounts and dates in the customer's language and country
(actions/formatting.py). actions/account.py decides whether a customer sees them."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, Dict, List

import phonenumbers
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import day, gigabytes, locale_for, minutes, money, signed_money, used_of
from bot.connectors.accounts import Account, Invoice
from bot.core.texts import text


def answer_topic(dispatcher: CollectingDispatcher, topic: str, account: Account, language: str) -> None:
    locale = locale_for(language, account.country)
    ANSWERS[topic](dispatcher, account, language, locale)


def _usage(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    usage = account.usage
    included = gigabytes(usage.data_included_mb, locale) if usage.data_included_mb else None
    included_minutes = minutes(usage.minutes_included, language) if usage.minutes_included else None
    dispatcher.utter_message(
        response="utter_account_usage",
        name=account.first_name,
        data=used_of(gigabytes(usage.data_used_mb, locale), included, language),
        minutes=used_of(minutes(usage.minutes_used, language), included_minutes, language),
        texts=used_of(str(usage.texts_sent), _count(usage.texts_included), language),
        renews=day(usage.renews_on, locale),
    )


def _count(value: int | None) -> str | None:
    return None if value is None else str(value)


def _balance(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if account.prepaid is None:
        dispatcher.utter_message(response="utter_account_balance_subscription", plan=account.plan)
        return
    dispatcher.utter_message(
        response="utter_account_balance",
        name=account.first_name,
        balance=money(account.prepaid.balance, locale),
        topup=money(account.prepaid.last_topup_amount, locale),
        topup_on=day(account.prepaid.last_topup_on, locale),
    )


def _contract(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    contract = account.contract
    if contract is None:
        dispatcher.utter_message(response="utter_account_contract_prepaid", plan=account.plan)
    elif contract.end is None:
        dispatcher.utter_message(
            response="utter_account_contract_open", plan=account.plan, start=day(contract.start, locale)
        )
    else:
        dispatcher.utter_message(
            response="utter_account_contract_end",
            plan=account.plan,
            start=day(contract.start, locale),
            end=day(contract.end, locale),
            fee=money(contract.early_termination_fee, locale),
        )


def _payment(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if not account.invoices:
        _no_invoice(dispatcher, account, locale)
        return
    invoice = account.invoices[0]
    values = {
        "number": invoice.number,
        "total": money(invoice.total, locale),
        "due": day(invoice.due_on, locale),
    }
    if invoice.status == "paid" and invoice.paid_on:
        dispatcher.utter_message(
            response="utter_account_payment_paid", paid_on=day(invoice.paid_on, locale), **values
        )
    elif invoice.status == "overdue":
        dispatcher.utter_message(response="utter_account_payment_overdue", **values)
    else:
        dispatcher.utter_message(response="utter_account_payment_open", **values)


def _no_invoice(dispatcher: CollectingDispatcher, account: Account, locale: str) -> None:
    if account.prepaid is not None:
        dispatcher.utter_message(
            response="utter_account_payment_prepaid",
            topup=money(account.prepaid.last_topup_amount, locale),
            topup_on=day(account.prepaid.last_topup_on, locale),
        )
    else:
        dispatcher.utter_message(response="utter_account_no_invoice")


def _order(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if not account.orders:
        dispatcher.utter_message(response="utter_account_order_none")
        return
    order = account.orders[0]
    expected = order.expected_on or order.ordered_on + timedelta(days=2)
    values = {"ordered_on": day(order.ordered_on, locale), "expected": day(expected, locale)}
    if order.kind == "esim":
        dispatcher.utter_message(response="utter_account_order_esim", **values)
    elif order.status == "shipped":
        dispatcher.utter_message(
            response="utter_account_order_sim_shipped", tracking=order.tracking or "-", **values
        )
    elif order.status == "delivered":
        dispatcher.utter_message(response="utter_account_order_delivered", **values)
    else:
        dispatcher.utter_message(response="utter_account_order_sim_ordered", **values)


def _bill_due(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if not account.invoices:
        _no_invoice(dispatcher, account, locale)
        return
    invoice = account.invoices[0]
    if invoice.status == "paid" and invoice.paid_on:
        # "is due on 19 December" followed by "was paid on 6 December" read as a contradiction:
        # a paid invoice's due date no longer matters
        _payment(dispatcher, account, language, locale)
        return
    dispatcher.utter_message(
        response="utter_account_bill_due",
        number=invoice.number,
        total=money(invoice.total, locale),
        issued=day(invoice.issued_on, locale),
        due=day(invoice.due_on, locale),
    )
    _payment(dispatcher, account, language, locale)


def _bill_copy(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    """The latest invoice, then where all of them are (a verified "what was my last bill?" asks
    about their own invoice first)."""
    _bill_due(dispatcher, account, language, locale)
    dispatcher.utter_message(response="utter_billing_invoice_copy")


def _bill_next(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    """When the next invoice comes and what it starts from: the plan's price, plus what is used
    outside the bundle (which no one knows before the period ends), beside the last total."""
    if account.prepaid is not None or account.monthly_price is None:
        _balance(dispatcher, account, language, locale)
        return
    latest = account.invoices[0] if account.invoices else None
    next_on = a_month_after(latest.issued_on) if latest else account.usage.renews_on
    dispatcher.utter_message(
        response="utter_account_bill_next" if latest else "utter_account_bill_next_first",
        name=account.first_name,
        next_on=day(next_on, locale),
        plan=account.plan,
        price=money(account.monthly_price, locale),
        last=money(latest.total, locale) if latest else "",
    )


def _numbers(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    """The verified customer's own mobile number and customer number ("wat is mijn klantnummer")."""
    dispatcher.utter_message(
        response="utter_account_numbers",
        name=account.first_name,
        msisdn=international(account.msisdn),
        customer_id=account.customer_id,
    )


def international(msisdn: str) -> str:
    """``+32 470 12 34 56`` for ``+32470123456`` (as typed when it cannot be parsed)."""
    try:
        parsed = phonenumbers.parse(msisdn, None)
    except phonenumbers.NumberParseException:
        return msisdn
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def a_month_after(issued: date) -> date:
    """The same day a month later (the 31st becomes the month's last day)."""
    year, month = (issued.year + 1, 1) if issued.month == 12 else (issued.year, issued.month + 1)
    return date(year, month, min(issued.day, calendar.monthrange(year, month)[1]))


def _bill_explain(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if not account.invoices:
        _no_invoice(dispatcher, account, locale)
        return
    invoice = account.invoices[0]
    lines = [f"- {label}: {money(amount, locale)}" for label, amount in _amounts(invoice, language).items()]
    dispatcher.utter_message(
        response="utter_account_bill_explain",
        number=invoice.number,
        issued=day(invoice.issued_on, locale),
        total=money(invoice.total, locale),
        lines="\n".join(lines),
    )


def _bill_higher(dispatcher: CollectingDispatcher, account: Account, language: str, locale: str) -> None:
    if len(account.invoices) < 2:
        _bill_explain(dispatcher, account, language, locale)
        return
    latest, previous = account.invoices[0], account.invoices[1]
    values = {
        "total": money(latest.total, locale),
        "previous": money(previous.total, locale),
        "difference": money(abs(latest.total - previous.total), locale),
        "lines": "\n".join(difference_lines(latest, previous, language, locale)),
    }
    if latest.total > previous.total:
        dispatcher.utter_message(response="utter_account_bill_higher", **values)
        return
    dispatcher.utter_message(response="utter_account_bill_not_higher", **values)
    if values["lines"]:
        dispatcher.utter_message(response="utter_account_bill_changes", lines=values["lines"])


def difference_lines(latest: Invoice, previous: Invoice, language: str, locale: str) -> List[str]:
    """The lines whose amounts differ between two invoices, largest difference first."""
    now, before = _amounts(latest, language), _amounts(previous, language)
    found = []
    for label in dict.fromkeys([*now, *before]):
        change = now.get(label, Decimal(0)) - before.get(label, Decimal(0))
        if change:
            gone = f" ({text('account_line_not_this_time', language)})" if label not in now else ""
            found.append((abs(change), f"- {label}: {signed_money(change, locale)}{gone}"))
    return [line for _size, line in sorted(found, key=lambda pair: -pair[0])]


def _amounts(invoice: Invoice, language: str) -> Dict[str, Decimal]:
    """The invoice's amounts by line label, in the order of the invoice."""
    amounts: Dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        amounts[line_label(line.kind, line.detail, language)] += line.amount
    return dict(amounts)


def line_label(kind: str, detail: str, language: str) -> str:
    for key in (f"account_line_{kind}_{detail}", f"account_line_{kind}"):
        try:
            return text(key, language)
        except KeyError:
            continue
    return kind.replace("_", " ")


ANSWERS: Dict[str, Callable[[CollectingDispatcher, Account, str, str], None]] = {
    "usage": _usage,
    "balance": _balance,
    "contract": _contract,
    "payment": _payment,
    "order": _order,
    "bill_due": _bill_due,
    "bill_higher": _bill_higher,
    "bill_explain": _bill_explain,
    "bill_copy": _bill_copy,
    "bill_next": _bill_next,
    "numbers": _numbers,
}
