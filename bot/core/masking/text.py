"""Masking a text, and the copies of a transcript: every detector, then a blunt fallback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from bot.core.masking.cards import _find_cards
from bot.core.masking.emails import _EMAIL, _mask_email
from bot.core.masking.hits import _Hit
from bot.core.masking.ibans import _find_ibans
from bot.core.masking.phones import _Budget, _find_phones

log = logging.getLogger(__name__)

DEFAULT_REGIONS: tuple[str, ...] = ("BE", "NL", "FR", "LU", "DE")

_FALLBACK_DIGITS = re.compile(r"\+?\d(?:[\s./-]?\d){5,}")
_FALLBACK_EMAIL = re.compile(r"\S+@\S+")


def mask_text(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> str:
    """``text`` with its phone numbers, IBANs, e-mail addresses and card numbers masked.

    ``regions`` are the ISO country codes whose national phone formats are recognised, the first
    one winning when formats disagree; international numbers are recognised whatever the regions.
    """
    if not isinstance(text, str) or not text:
        return text
    try:
        return _mask(text, regions)
    except Exception:  # never let masking break a log call or an export
        log.warning("personal-data masking failed; blanking all long numbers instead")
        return _fallback_mask(text)


def mask_transcript(messages: list[dict]) -> list[dict]:
    """Copies of ``messages`` with their ``text`` masked; other keys are left as they are."""
    masked = []
    for message in messages:
        copy = dict(message)
        if isinstance(copy.get("text"), str):
            copy["text"] = mask_text(copy["text"])
        masked.append(copy)
    return masked


def _mask(text: str, regions: tuple[str, ...]) -> str:
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    if not any(char.isdigit() for char in text):
        return text
    # IBANs first (their digits could pass for a card), then cards (16 digits could hold a phone).
    text = _apply(text, _find_ibans(text))
    text = _apply(text, _find_cards(text))
    return _apply(text, _find_phones(text, tuple(region.upper() for region in regions), _Budget()))


def _apply(text: str, hits: Iterable[_Hit]) -> str:
    parts, position = [], 0
    for hit in sorted(hits, key=lambda h: h.start):
        parts += [text[position : hit.start], hit.mask]
        position = hit.end
    return "".join([*parts, text[position:]])


def _fallback_mask(text: str) -> str:
    try:
        return _FALLBACK_DIGITS.sub("[redacted]", _FALLBACK_EMAIL.sub("[redacted]", text))
    except Exception:
        return "[redacted]"
