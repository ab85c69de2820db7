"""Payment cards: 13-19 Luhn-valid digits in groups of 3 or more, masked but for the last 4."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.core.masking.hits import Group, _digits, _groups, _Hit

_CARD_RUN = re.compile(r"(?<![\d+])\d+(?:[ -]\d+)*")
_IMEI_BEFORE = re.compile(r"imei\W{0,3}$", re.IGNORECASE)


def _find_cards(text: str) -> Iterator[_Hit]:
    for run in _CARD_RUN.finditer(text):
        if len(_digits(run.group())) >= 13:
            yield from _cards_in_run(text, _groups(run))


def _cards_in_run(text: str, groups: list[Group]) -> Iterator[_Hit]:
    """Cards inside a run of digit groups ("ref 12 4111 1111 1111 1111"), longest first."""
    i = 0
    while i < len(groups):
        j = _card_end(text, groups, i)
        if j is None:
            i += 1
            continue
        start, end = groups[i][0], groups[j][1]
        yield _Hit(start, end, f"[card •••• {_digits(text[start:end])[-4:]}]")
        i = j + 1


def _card_end(text: str, groups: list[Group], i: int) -> int | None:
    """Index of the last group of the longest card starting at group ``i``, if any.

    Cards are written in groups of at least 3 digits (4-4-4-4, Amex 4-6-5), except maybe the last;
    phones in 2s and 3s with a leading 0, which this rejects.
    """
    start = groups[i][0]
    if text[start] == "0":
        return None
    ends, count = [], 0
    for j in range(i, len(groups)):
        size = groups[j][1] - groups[j][0]
        count += size
        if count > 19:
            break
        if count >= 13:
            ends.append(j)
        if size < 3:
            break
    for j in reversed(ends):
        digits = _digits(text[start : groups[j][1]])
        if _luhn_ok(digits):
            return None if _is_imei(text, start, digits) else j
    return None


def _is_imei(text: str, start: int, digits: str) -> bool:
    """A handset's IMEI (15 digits, Luhn-valid) is not a card, and the agent needs to read it."""
    return len(digits) == 15 and bool(_IMEI_BEFORE.search(text, max(0, start - 10), start))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0
