"""Amounts, dates and volumes in the customer's language and country (babel, CLDR data).

``47,30 €`` in French (Belgium), ``€ 47,30`` in Dutch (Belgium and the Netherlands), ``€47.30``
in English (Irish English: euros, day-month dates). Dates are long ("4 december 2026").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.core.texts import text

ENGLISH_LOCALE = "en_IE"  # English with euros and day-month dates


def locale_for(language: str, country: str = "BE") -> str:
    """The CLDR locale of a reply: the conversation's language, the customer's country."""
    if language == "nl":
        return "nl_NL" if country == "NL" else "nl_BE"
    if language == "fr":
        return "fr_BE"
    return ENGLISH_LOCALE


def money(amount: Decimal, locale: str) -> str:
    return format_currency(amount, "EUR", locale=locale)


def signed_money(amount: Decimal, locale: str) -> str:
    """``+€ 18,90`` / ``-€ 5,00``: a difference between two invoices."""
    return ("+" if amount >= 0 else "-") + money(abs(amount), locale)


def day(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=locale)


def gigabytes(megabytes: int, locale: str) -> str:
    return f"{format_decimal(megabytes / 1024, format='#,##0.0', locale=locale)} GB"


def used_of(used: str, included: str | None, language: str) -> str:
    """ "8,9 GB van 20,0 GB", or "8,9 GB (onbeperkt)" without a limit."""
    if included is None:
        return text("account_used_unlimited", language).format(used=used)
    return text("account_used_of", language).format(used=used, included=included)


def minutes(count: int, language: str) -> str:
    return text("account_minutes", language).format(count=count)
