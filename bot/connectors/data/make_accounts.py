"""Writes accounts_demo.json, the demo provider's fictional customers (bot/connectors/accounts.py).

Deterministic (a fixed seed and fixed dates): run it again after changing it and commit the file.

    .venv/bin/python -m bot.connectors.data.make_accounts

Dates are written for ``AS_OF``; the demo provider moves them all by the days between ``AS_OF``
and today, so the demo stays current (the latest invoice a few days old, the bundle renewing soon).
The first customers are fixed, for the docs and tests:

=========  ==================  ===============  ===  =============================================
MC1000001  Jan Peeters         +32 470 12 34 56  nl  subscription, last bill higher (roaming, SMS)
MC1000002  Sophie Dubois       +32 485 11 22 33  fr  subscription with a phone, open invoice, eSIM
MC1000003  Emma Johnson        +32 499 88 77 66  en  subscription, higher bill (extra data), SIM
MC1000004  Daan de Vries       +31 6 12345678    nl  Dutch number, overdue invoice
MC1000005  Lotte Janssens      +32 468 12 34 56  nl  prepaid
MC1000006  Julien Lambert      +32 456 12 34 56  fr  prepaid
MC1000007  Olivia Brown        +32 460 12 34 56  en  prepaid, SIM order on its way
=========  ==================  ===============  ===  =============================================
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers

MOBILE = phonenumbers.PhoneNumberType.MOBILE
OUT = Path(__file__).with_name("accounts_demo.json")
AS_OF = date(2026, 12, 4)
SEED = 14
CUSTOMERS = 48

PLANS = [  # name, monthly price, data GB (None: unlimited), minutes (None: unlimited)
    ("Mila Start", "15.00", 5, 300),
    ("Mila Smart", "25.00", 20, None),
    ("Mila Max", "35.00", 60, None),
    ("Mila Unlimited", "45.00", None, None),
]
PREPAID_PLANS = [("Mila Prepaid 10", "10.00", 3, 100), ("Mila Prepaid 15", "15.00", 8, 200)]
PREPAID_TEXTS = 100  # a prepaid plan's texts a period; a subscription's are unlimited
FIRST = {
    "nl": [
        "Jan",
        "Lotte",
        "Pieter",
        "Emma",
        "Wout",
        "Fien",
        "Bram",
        "Noor",
        "Sander",
        "Lien",
        "Daan",
        "Sanne",
    ],
    "fr": ["Sophie", "Julien", "Camille", "Nicolas", "Manon", "Thomas", "Chloé", "Maxime", "Élise", "Hugo"],
    "en": ["Emma", "Olivia", "James", "Ryan", "Grace", "Liam", "Hannah", "Ethan"],
}
LAST = {
    "nl": [
        "Peeters",
        "Janssens",
        "Maes",
        "Claes",
        "Wouters",
        "De Smet",
        "Willems",
        "Jacobs",
        "Bakker",
        "Visser",
    ],
    "fr": ["Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Lefebvre", "Renard", "Simon", "Laurent"],
    "en": ["Johnson", "Brown", "Smith", "Walsh", "O'Connor", "Taylor", "Murphy", "Evans"],
}
EXTRAS = [  # kind, detail, possible amounts
    ("extra_data", "", ["5.00", "10.00", "15.00"]),
    ("international_calls", "", ["2.35", "4.80", "7.15", "11.60"]),
    ("roaming", "", ["6.40", "12.60", "18.90", "24.35"]),
    ("premium_sms", "", ["3.00", "4.50", "9.00"]),
    ("one_off", "sim_replacement", ["10.00"]),
    ("one_off", "activation", ["15.00"]),
    ("one_off", "reminder_fee", ["7.50"]),
]


def month_start(day: date, back: int) -> date:
    month = day.year * 12 + day.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def line(kind: str, amount: str, detail: str = "") -> dict[str, str]:
    return {"kind": kind, "detail": detail, "amount": amount}


def bill_dates(bill_day: int) -> list[date]:
    """The last three billing dates (day ``bill_day`` of a month) before AS_OF, newest first."""
    dates = []
    back = 0
    while len(dates) < 3:
        start = month_start(AS_OF, back)
        candidate = start.replace(day=bill_day)
        if candidate < AS_OF:
            dates.append(candidate)
        back += 1
    return dates


def invoices(
    rng: random.Random, number: int, price: str, higher: list[tuple[str, str, str]], bill_day: int, late: bool
) -> list[dict[str, Any]]:
    """Three monthly invoices, newest first; ``higher`` are extra lines on the newest one, which
    is open (not yet due), overdue (past due) or paid; ``late``: it is not paid."""
    found = []
    for back, issued in enumerate(bill_dates(bill_day)):
        lines = [line("bundle", price)]
        if back == 0:
            lines += [line(kind, amount, detail) for kind, detail, amount in higher]
        elif rng.random() < 0.3:
            kind, detail, amounts = rng.choice(EXTRAS[:4])
            lines.append(line(kind, rng.choice(amounts), detail))
        due = issued + timedelta(days=15)
        paid_on = min(issued + timedelta(days=rng.randint(2, 12)), AS_OF - timedelta(days=1))
        paid = back > 0 or not late
        status = "paid" if paid else ("overdue" if due < AS_OF else "open")
        found.append(
            {
                "number": f"F{AS_OF.year % 100:02d}{number:05d}{back + 1}",
                "issued_on": issued.isoformat(),
                "due_on": due.isoformat(),
                "total": money(sum(Decimal(item["amount"]) for item in lines)),
                "status": status,
                "paid_on": paid_on.isoformat() if paid else None,
                "lines": lines,
            }
        )
    return found


def usage(
    rng: random.Random, data_gb: int | None, minutes: int | None, renews: date, texts: int | None
) -> dict[str, Any]:
    included_mb = data_gb * 1024 if data_gb else None
    used_mb = rng.randint(200, int((included_mb or 40 * 1024) * 0.95))
    return {
        "data_used_mb": used_mb,
        "data_included_mb": included_mb,
        "minutes_used": rng.randint(5, int((minutes or 600) * 0.9)),
        "minutes_included": minutes,
        "renews_on": renews.isoformat(),
        # drawn apart from ``rng``, so that the other customers' figures stay as they were
        "texts_sent": random.Random(used_mb).randint(0, int((texts or 120) * 0.8)),
        "texts_included": texts,
    }


def customer(rng: random.Random, index: int, fixed: dict[str, Any] | None) -> dict[str, Any]:
    fixed = fixed or {}
    language = fixed.get("language") or rng.choice(["nl", "nl", "nl", "fr", "fr", "en"])
    country = fixed.get("country") or ("NL" if language == "nl" and rng.random() < 0.3 else "BE")
    if "msisdn" in fixed:
        country = "NL" if fixed["msisdn"].startswith("+31") else "BE"
    msisdn = fixed.get("msisdn") or _random_number(rng, country)
    kind = fixed.get("kind") or ("prepaid" if rng.random() < 0.25 else "subscription")
    first, last = fixed.get("name") or (rng.choice(FIRST[language]), rng.choice(LAST[language]))
    record: dict[str, Any] = {
        "customer_id": f"MC{1000000 + index:07d}",
        "first_name": first,
        "last_name": last,
        "language": language,
        "country": country,
        "msisdn": msisdn,
        "kind": kind,
        "orders": fixed.get("orders") or _random_orders(rng),
    }
    if kind == "prepaid":
        name, price, data_gb, minutes = rng.choice(PREPAID_PLANS)
        topup_on = AS_OF - timedelta(days=rng.randint(3, 25))
        record |= {
            "plan": name,
            "monthly_price": None,
            "usage": usage(rng, data_gb, minutes, topup_on + timedelta(days=30), PREPAID_TEXTS),
            "prepaid": {
                "balance": money(Decimal(rng.randint(50, 3500)) / 100),
                "last_topup_amount": rng.choice(["10.00", "15.00", "20.00", "25.00"]),
                "last_topup_on": topup_on.isoformat(),
            },
            "contract": None,
            "invoices": [],
        }
        return record
    name, price, data_gb, minutes = fixed.get("plan") or rng.choice(PLANS)
    higher = fixed.get("higher")
    if higher is None:
        higher = [(k, d, rng.choice(a)) for k, d, a in rng.sample(EXTRAS, rng.choice([0, 0, 1, 2]))]
    late = fixed.get("late", rng.random() < 0.3)
    bill_day = fixed.get("bill_day") or rng.randint(1, 28)
    start = AS_OF - timedelta(days=rng.randint(60, 900))
    device = fixed.get("device", rng.random() < 0.35)
    instalment = Decimal(rng.choice(["12.50", "15.00", "20.00", "25.00"]))
    end = start + timedelta(days=730) if device else None
    months_left = max(0, ((end - AS_OF).days // 30) if end else 0)
    record |= {
        "plan": name,
        "monthly_price": price,
        "usage": usage(rng, data_gb, minutes, month_start(AS_OF, -1), None),
        "prepaid": None,
        "contract": {
            "start": start.isoformat(),
            "end": end.isoformat() if end and end > AS_OF else None,
            "early_termination_fee": money(instalment * months_left) if end and end > AS_OF else "0.00",
        },
        "invoices": invoices(rng, index, price, higher, bill_day, late),
    }
    return record


BE_MOBILE_PREFIXES = (68, 70, 71, 72, 73, 75, 76, 77, 78, 79, 84, 85, 86, 87, 88, 89, 92, 93, 94, 97, 98, 99)


def _random_number(rng: random.Random, country: str) -> str:
    """A number phonenumbers takes for a valid mobile number of ``country``."""
    while True:
        if country == "NL":
            number = f"+316{rng.randint(10000000, 99999999)}"
        else:
            number = f"+324{rng.choice(BE_MOBILE_PREFIXES)}{rng.randint(100000, 999999)}"
        parsed = phonenumbers.parse(number)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) == MOBILE:
            return number


def _random_orders(rng: random.Random) -> list[dict[str, Any]]:
    if rng.random() > 0.2:
        return []
    kind = rng.choice(["sim", "esim"])
    ordered = AS_OF - timedelta(days=rng.randint(0, 3))
    if kind == "esim":
        return [
            {
                "kind": "esim",
                "status": "qr_sent",
                "ordered_on": ordered.isoformat(),
                "expected_on": None,
                "tracking": None,
            }
        ]
    return [
        {
            "kind": "sim",
            "status": rng.choice(["ordered", "shipped"]),
            "ordered_on": ordered.isoformat(),
            "expected_on": (ordered + timedelta(days=2)).isoformat(),
            "tracking": f"3SMILA{rng.randint(10000000, 99999999)}",
        }
    ]


FIXED: dict[int, dict[str, Any]] = {
    1: {
        "language": "nl",
        "msisdn": "+32470123456",
        "name": ("Jan", "Peeters"),
        "kind": "subscription",
        "plan": PLANS[1],
        "higher": [("roaming", "", "18.90"), ("premium_sms", "", "4.50")],
        "late": False,
        "bill_day": 1,
        "device": False,
        "orders": [],
    },
    2: {
        "language": "fr",
        "msisdn": "+32485112233",
        "name": ("Sophie", "Dubois"),
        "kind": "subscription",
        "plan": PLANS[2],
        "higher": [("international_calls", "", "7.15")],
        "late": True,
        "bill_day": 25,
        "device": True,
        "orders": [
            {
                "kind": "esim",
                "status": "qr_sent",
                "ordered_on": "2026-12-03",
                "expected_on": None,
                "tracking": None,
            }
        ],
    },
    3: {
        "language": "en",
        "msisdn": "+32499887766",
        "name": ("Emma", "Johnson"),
        "kind": "subscription",
        "plan": PLANS[0],
        "higher": [("extra_data", "", "10.00"), ("one_off", "sim_replacement", "10.00")],
        "late": False,
        "bill_day": 15,
        "device": False,
        "orders": [
            {
                "kind": "sim",
                "status": "shipped",
                "ordered_on": "2026-12-02",
                "expected_on": "2026-12-05",
                "tracking": "3SMILA20261202",
            }
        ],
    },
    4: {
        "language": "nl",
        "country": "NL",
        "msisdn": "+31612345678",
        "name": ("Daan", "de Vries"),
        "kind": "subscription",
        "plan": PLANS[3],
        "higher": [],
        "late": True,
        "bill_day": 10,
        "device": True,
        "orders": [],
    },
    5: {
        "language": "nl",
        "msisdn": "+32468123456",
        "name": ("Lotte", "Janssens"),
        "kind": "prepaid",
        "orders": [],
    },
    6: {
        "language": "fr",
        "msisdn": "+32456123456",
        "name": ("Julien", "Lambert"),
        "kind": "prepaid",
        "orders": [],
    },
    7: {
        "language": "en",
        "msisdn": "+32460123456",
        "name": ("Olivia", "Brown"),
        "kind": "prepaid",
        "orders": [
            {
                "kind": "sim",
                "status": "ordered",
                "ordered_on": "2026-12-04",
                "expected_on": "2026-12-07",
                "tracking": None,
            }
        ],
    },
}


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    customers, numbers = [], set()
    for index in range(1, CUSTOMERS + 1):
        record = customer(rng, index, FIXED.get(index))
        while record["msisdn"] in numbers:  # numbers are unique
            record = customer(rng, index, FIXED.get(index))
        numbers.add(record["msisdn"])
        customers.append(record)
    return {"as_of": AS_OF.isoformat(), "customers": customers}


def main() -> None:
    OUT.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT} written")


if __name__ == "__main__":
    main()
