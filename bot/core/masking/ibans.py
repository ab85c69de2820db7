"""IBANs: validated by ``schwifty.IBAN``, masked as the country and the last 4 characters."""

from __future__ import annotations

import re
from collections.abc import Iterator

from schwifty import IBAN

from bot.core.masking.hits import _Hit

_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,8}(?: ?[A-Za-z0-9]{1,3})?", re.ASCII
)


def _find_ibans(text: str) -> Iterator[_Hit]:
    for match in _IBAN_CANDIDATE.finditer(text):
        hit = _longest_valid_iban(text, match.start(), match.end())
        if hit:
            yield hit


def _longest_valid_iban(text: str, start: int, end: int) -> _Hit | None:
    """The regex may swallow the next word ("… 7034 voor"), so also try ending at earlier spaces."""
    for stop in [end] + [i for i in range(end - 1, start, -1) if text[i] == " "]:
        iban = _valid_iban(text[start:stop])
        if iban is not None:
            return _Hit(start, stop, f"[IBAN {iban[:2]}•• •••• •••• {iban[-4:]}]")
    return None


def _valid_iban(candidate: str) -> str | None:
    compact = candidate.replace(" ", "").upper()
    if len(compact) < 15 or not _iban_checksum_ok(compact):  # cheap test before schwifty's
        return None
    try:
        return IBAN(compact).compact
    except ValueError:  # schwifty's errors are ValueErrors
        return None


def _iban_checksum_ok(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
