"""Masking of personal data in transcripts that leave the agent console (logs, exports, Slack).

What is masked, and what the agent still sees:

===========  ===============================  ==================================
kind         example                          masked as
===========  ===============================  ==================================
phone        ``0470 12 34 56``                ``[phone •••56]`` (last 2 digits)
IBAN         ``BE68 5390 0754 7034``          ``[IBAN BE•• •••• •••• 7034]`` (country + last 4)
e-mail       ``jan.peeters@example.com``      ``[email j•••@example.com]`` (first letter + domain)
card         ``4111-1111-1111-1111``          ``[card •••• 1111]`` (last 4)
===========  ===============================  ==================================

The IBAN mask always has the same shape, whatever the country's IBAN length.

Detection is deliberately strict, so that ordinary numbers customers write (amounts, dates, times,
postcodes, PIN/PUK codes, invoice numbers, "1.5 GB") stay readable:

* phones: ``phonenumbers.PhoneNumberMatcher`` with leniency VALID, once per region. A number must be
  written internationally (``+32 …`` / ``0032 …``) or with the region's trunk prefix (``0470 …``);
  without either it must be a valid *mobile* number (``470 12 34 56``, Luxembourg's ``621 123 456``),
  which an 8-digit PUK never is. Dates and numbers of fewer than 8 national digits are skipped.
* IBANs: letters + 2 check digits + groups of 4 (spaces optional, any case), validated by ``schwifty``
  (country, length, BBAN format and mod-97 checksum).
* cards: 13–19 digits, optional single spaces/dashes between groups of at least 3 digits, not starting
  with 0, Luhn-valid; 15 digits right after the word "IMEI" are a phone's IMEI, not a card.
* e-mail addresses: ``local@domain.tld``.

Masks contain at most 4 digits and no ``@`` after a letter, so masking is idempotent. ``mask_text``
never raises: if a detector fails unexpectedly, long digit runs and e-mail addresses are blanked to
``[redacted]`` instead, because leaking is worse than over-masking.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType
from schwifty import IBAN

__all__ = ["DEFAULT_REGIONS", "MaskingFilter", "install_log_masking", "mask_text", "mask_transcript"]

log = logging.getLogger(__name__)

DEFAULT_REGIONS: tuple[str, ...] = ("BE", "NL", "FR", "LU", "DE")
BULLETS = "•••"
MIN_NATIONAL_DIGITS = 8  # Belgian landlines have 8 national digits (02 512 34 56); a PIN or a date fewer

_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,8}(?: ?[A-Za-z0-9]{1,3})?", re.ASCII
)
_DIGIT_RUN = re.compile(r"(?<![\d+])\d+(?:[ -]\d+)*")
_IMEI_BEFORE = re.compile(r"imei\W{0,3}$", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-]+)@([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})(?![\w-])")
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_START = re.compile(  # "05/11/2026 14" is a date and an hour, not a German number
    rf"^\s*(?:{_DAY}([./-]){_MONTH}\1(?:\d{{4}}|\d{{2}})|\d{{4}}([./-]){_MONTH}\2{_DAY})(?![./-]?\d)"
)
_PHONE_RUN = re.compile(r"[+(]*\d[\d\s()./-]*\d\)?")
_FALLBACK_DIGITS = re.compile(r"\+?\d(?:[\s./-]?\d){5,}")
_FALLBACK_EMAIL = re.compile(r"\S+@\S+")


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    mask: str
    rank: int = 0  # phones: index of the region that found it; lower wins when hits overlap


def mask_text(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> str:
    """Return ``text`` with phone numbers, IBANs, e-mail addresses and card numbers masked.

    ``regions`` are the ISO country codes whose national phone formats are recognised;
    international numbers (``+…`` / ``00…``) are recognised whatever the regions.
    """
    if not isinstance(text, str) or not text:
        return text
    try:
        return _mask(text, regions)
    except Exception:  # never let masking break a log call or an export
        log.warning("masking failed, falling back to blanking digits", exc_info=False)
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
    # IBANs first (their digit groups could look like cards), then cards (16 digits could hold a phone).
    for finder in (_find_ibans, _find_cards, lambda t: _find_phones(t, regions)):
        text = _apply(text, finder(text))
    return text


def _apply(text: str, hits: Iterable[_Hit]) -> str:
    for hit in sorted(hits, key=lambda h: h.start, reverse=True):
        text = text[: hit.start] + hit.mask + text[hit.end :]
    return text


# --- e-mail -------------------------------------------------------------------------------------


def _mask_email(match: re.Match[str]) -> str:
    return f"[email {match.group(1)[0]}{BULLETS}@{match.group(2)}]"


# --- IBAN ---------------------------------------------------------------------------------------


def _find_ibans(text: str) -> Iterator[_Hit]:
    for match in _IBAN_CANDIDATE.finditer(text):
        hit = _longest_valid_iban(text, match.start(), match.end())
        if hit:
            yield hit


def _longest_valid_iban(text: str, start: int, end: int) -> _Hit | None:
    """The regex may swallow a following word ("… 7034 voor"), so also try ending at earlier spaces."""
    ends = [end] + [i for i in range(end - 1, start, -1) if text[i] == " "]
    for stop in ends:
        iban = _parse_iban(text[start:stop])
        if iban is not None:
            return _Hit(start, stop, f"[IBAN {iban[:2]}•• •••• •••• {iban[-4:]}]")
    return None


def _parse_iban(candidate: str) -> str | None:
    compact = candidate.replace(" ", "").upper()
    if len(compact) < 15:
        return None
    try:
        return IBAN(compact).compact
    except ValueError:  # schwifty's errors are ValueErrors
        return None


# --- payment cards ------------------------------------------------------------------------------


def _find_cards(text: str) -> Iterator[_Hit]:
    for match in _DIGIT_RUN.finditer(text):
        if sum(char.isdigit() for char in match.group()) >= 13:
            yield from _cards_in_run(text, match)


def _cards_in_run(text: str, run: re.Match[str]) -> Iterator[_Hit]:
    """Cards inside a run of digit groups ("ref 12 4111 1111 1111 1111"), longest first."""
    groups = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run.group())]
    i = 0
    while i < len(groups):
        j = _card_end(text, groups, i)
        if j is None:
            i += 1
            continue
        start, end = groups[i][0], groups[j][1]
        yield _Hit(start, end, f"[card •••• {_digits(text[start:end])[-4:]}]")
        i = j + 1


def _card_end(text: str, groups: list[tuple[int, int]], i: int) -> int | None:
    start = groups[i][0]
    if text[start] == "0" or (len(groups) > 1 and groups[i][1] - start < 3):
        return None
    for j in range(len(groups) - 1, i - 1, -1):
        digits = _digits(text[start : groups[j][1]])
        if 13 <= len(digits) <= 19 and _inner_groups_ok(groups[i:j]) and _luhn_ok(digits):
            return None if _is_imei(text, start, digits) else j
    return None


def _inner_groups_ok(groups: list[tuple[int, int]]) -> bool:
    """Cards are written in groups of 4 (Amex 4-6-5); phones in 2s and 3s, which this rejects."""
    return all(end - start >= 3 for start, end in groups)


def _is_imei(text: str, start: int, digits: str) -> bool:
    return len(digits) == 15 and bool(_IMEI_BEFORE.search(text, max(0, start - 10), start))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


# --- phones -------------------------------------------------------------------------------------


def _find_phones(text: str, regions: tuple[str, ...]) -> list[_Hit]:
    hits: list[_Hit] = []
    for run in _PHONE_RUN.finditer(text):
        if len(_digits(run.group())) >= MIN_NATIONAL_DIGITS:
            hits.extend(_phones_in_run(text, run, regions))
    return hits


def _phones_in_run(text: str, run: re.Match[str], regions: tuple[str, ...]) -> list[_Hit]:
    """Run the matcher on the run alone (much faster than on the whole text, once per region).

    A few characters after the run are included so the matcher still sees "14:30" after a date.
    Characters before it are not, so a number glued to a word ("tel0470123456") is still found.
    """
    snippet = text[run.start() : run.end() + 3]
    hits = [
        _Hit(run.start() + match.start, run.start() + match.end, _phone_mask(match.number), rank)
        for rank, region in enumerate(regions)
        for match in PhoneNumberMatcher(snippet, region, leniency=Leniency.VALID)
        if _plausible_phone(match.raw_string, match.number, region)
    ]
    return _merged(hits + _split_run(text, run, regions, hits))


def _split_run(text: str, run: re.Match[str], regions: tuple[str, ...], found: list[_Hit]) -> list[_Hit]:
    """Numbers the matcher misses in a run of digit groups it cannot split: "02 512 34 56 0470 12 34 56",
    "op 23/11 0470 12 34 56". Tries spans outside ``found`` that start at a group beginning with "+"
    or "0", per region, longest first.
    """
    groups = [
        (m.start() + run.start(), m.end() + run.start())
        for m in re.finditer(r"\+?\d+", run.group())
        if not any(hit.start < m.end() + run.start() and m.start() + run.start() < hit.end for hit in found)
    ]
    hits: list[_Hit] = []
    i = 0
    while i < len(groups):
        hit, j = _phone_from_group(text, groups, i, regions)
        if hit:
            hits.append(hit)
        i = j + 1
    return hits


def _phone_from_group(
    text: str, groups: list[tuple[int, int]], i: int, regions: tuple[str, ...]
) -> tuple[_Hit | None, int]:
    start = groups[i][0]
    if text[start] not in "+0":
        return None, i
    ends = [
        j
        for j in range(len(groups) - 1, i - 1, -1)
        if MIN_NATIONAL_DIGITS <= len(_digits(text[start : groups[j][1]])) <= 17
    ]
    for rank, region in enumerate(regions):
        for j in ends:
            raw = text[start : groups[j][1]]
            number = _parse_phone(raw, region)
            if number is not None and _plausible_phone(raw, number, region):
                return _Hit(start, groups[j][1], _phone_mask(number), rank), j
    return None, i


def _parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _plausible_phone(raw: str, number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Valid numbers only; nationally written ones need the trunk prefix unless they are mobiles."""
    raw = raw.strip()
    if len(str(number.national_number)) < MIN_NATIONAL_DIGITS or _DATE_START.match(raw):
        return False
    digits = _digits(raw)
    if raw.startswith("+") or digits.startswith("00"):
        return True
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is not None and metadata.national_prefix and digits.startswith(metadata.national_prefix):
        return True
    return phonenumbers.number_type(number) == PhoneNumberType.MOBILE


def _phone_mask(number: phonenumbers.PhoneNumber) -> str:
    return f"[phone {BULLETS}{number.national_number % 100:02d}]"


def _merged(hits: list[_Hit]) -> list[_Hit]:
    """The same number is found once per region, sometimes with a different extent.

    Overlapping hits become one covering all of them (leaking no digit), with the hint of the
    hit from the first region in ``regions``.
    """
    merged: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: h.start):
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            best = last if last.rank <= hit.rank else hit
            merged[-1] = _Hit(last.start, max(last.end, hit.end), best.mask, best.rank)
        else:
            merged.append(hit)
    return merged


# --- fallback -----------------------------------------------------------------------------------


def _fallback_mask(text: str) -> str:
    try:
        return _FALLBACK_DIGITS.sub("[redacted]", _FALLBACK_EMAIL.sub("[redacted]", text))
    except Exception:
        return "[redacted]"


# --- logging ------------------------------------------------------------------------------------


class MaskingFilter(logging.Filter):
    """Masks a record's rendered message (``msg % args``), exception text and stack info.

    The message is rendered here and the record's ``args`` emptied, so personal data passed as an
    argument (``log.info("caller %s", phone)``) is masked too. An exception traceback is rendered
    with the default formatting so it can be masked before any handler formats the record.
    Attach it to *handlers*: filters on a logger do not see records propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(_render(record))
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _render(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # bad format string: logging would print the raw args, so keep them masked
        return f"{record.msg} {record.args!r}"


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add a :class:`MaskingFilter` to every handler of ``logger`` (default: the root logger).

    Idempotent. Only the handlers present *now* are covered: call it again after adding a handler
    (for instance after ``logging.basicConfig`` or ``dictConfig``), or add ``MaskingFilter()`` to it.
    """
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        _add_once(handler.filters, handler.addFilter)


def _add_once(filters: list, add: Callable[[MaskingFilter], None]) -> None:
    if not any(isinstance(existing, MaskingFilter) for existing in filters):
        add(MaskingFilter())
