"""Masking of personal data in transcripts that leave the agent console (logs, exports, Slack).

What is masked, and what the agent still sees:

======  =============================  ====================================================
kind    example                        masked as
======  =============================  ====================================================
phone   ``0470 12 34 56``              ``[phone •••56]`` (last 2 digits)
IBAN    ``BE68 5390 0754 7034``        ``[IBAN BE•• •••• •••• 7034]`` (country + last 4)
e-mail  ``jan.peeters@example.com``    ``[email j•••@example.com]`` (first character + domain)
card    ``4111-1111-1111-1111``        ``[card •••• 1111]`` (last 4)
======  =============================  ====================================================

The IBAN mask has the same shape whatever the country's IBAN length. Text around the data
(punctuation, HTML tags, emoji) is left exactly as it was.

Detection is strict so that the ordinary numbers customers write (amounts, dates, times, postcodes,
PIN and PUK codes, invoice numbers, "1.5 GB") stay readable:

* phones: ``phonenumbers.PhoneNumberMatcher`` with leniency VALID, per region of ``regions``.
  A number must be written internationally (``+32 …``, ``0032 …``) or with the region's trunk
  prefix (``0470 …``), or be a valid *mobile* number with its country code but no "+"
  (``32470123456``) or from a region without trunk prefix (Luxembourg's ``621 123 456``); an
  8-digit PUK is none of these. Like the matcher, "470 12 34 56" (no trunk prefix) is not taken
  for a Belgian number: written so, it cannot be told from a Unix time such as "1763900000",
  which is a valid German mobile number without its 0. Numbers of fewer than 8 national digits,
  dates ("05/11/2026 14:30") and decimals ("0.123456789") are not phones. Numbers written side by
  side without punctuation ("02 512 34 56 0470 12 34 56"), which the matcher cannot split, are
  parsed group by group. A number is masked when it is valid in *any* of the regions, so
  "02 123 45 67" (not an allocated Belgian number) is still masked as a German one.
* IBANs: 2 letters, 2 check digits and groups of 4 (spaces optional, any case), validated by
  ``schwifty.IBAN`` (country, length, BBAN format, mod-97 checksum).
* cards: 13–19 digits, not starting with 0, Luhn-valid, with optional single spaces or dashes
  between groups of at least 3 digits. 15 digits right after "IMEI" are a handset, not a card.
* e-mail addresses: ``local@domain.tld``.

Masks hold at most 4 digits and never a full address, so masking is idempotent.

``mask_text`` never raises and never hangs. The phone search has a work budget per call: past it
(only on pathological input such as thousands of digit groups), and in runs of digits longer than
64 characters, digit groups starting with "+" or "0" are masked with the groups that follow them
as ``[phone •••]``, without validation. If a detector fails unexpectedly, every run of 6+
digits and every e-mail-like word becomes ``[redacted]``: over-masking is preferred to leaking.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneNumberMatcher, PhoneNumberType
from schwifty import IBAN

__all__ = ["DEFAULT_REGIONS", "MaskingFilter", "install_log_masking", "mask_text", "mask_transcript"]

log = logging.getLogger(__name__)

DEFAULT_REGIONS: tuple[str, ...] = ("BE", "NL", "FR", "LU", "DE")
BULLETS = "•••"
MIN_NATIONAL_DIGITS = 8  # Belgian landlines have 8 (02 512 34 56); PINs, postcodes and dates fewer
MAX_PHONE_DIGITS = 17  # "00" + country code + the longest national numbers
MAX_RUN_CHARS = 64  # longer runs of digits and separators are not sent to phonenumbers
MATCHER_CALLS_PER_TEXT = 200  # phonenumbers work allowed per mask_text call (see _Budget)
PARSES_PER_TEXT = 200

_EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-]+)@([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})(?![\w-])")
_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,8}(?: ?[A-Za-z0-9]{1,3})?", re.ASCII
)
_CARD_RUN = re.compile(r"(?<![\d+])\d+(?:[ -]\d+)*")
_IMEI_BEFORE = re.compile(r"imei\W{0,3}$", re.IGNORECASE)
_PHONE_RUN = re.compile(r"[+(]*\d[\d \t\u00a0()./-]*\d\)?")  # numbers do not span lines
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_START = re.compile(  # "05/11/2026 14" is a date and an hour, not a German number
    rf"^\s*(?:{_DAY}([./-]){_MONTH}\1(?:\d{{4}}|\d{{2}})|\d{{4}}([./-]){_MONTH}\2{_DAY})(?![./-]?\d)"
)
_DECIMAL = re.compile(r"\d+\.\d+")  # "0.123456789" is a fraction, not 01 23 45 67 89
_FALLBACK_DIGITS = re.compile(r"\+?\d(?:[\s./-]?\d){5,}")
_FALLBACK_EMAIL = re.compile(r"\S+@\S+")

Group = tuple[int, int]  # start and end of a run of digits, in the whole text


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    mask: str
    rank: int = 0  # phones: index of the region that found it; lower wins when hits overlap


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


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _groups(run: re.Match[str], pattern: str = r"\d+") -> list[Group]:
    return [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(pattern, run.group())]


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


# --- payment cards ------------------------------------------------------------------------------


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


# --- phones -------------------------------------------------------------------------------------


@dataclass
class _Budget:
    """phonenumbers work left for one text, so that thousands of digit groups cannot stall a log call."""

    matcher_calls: int = MATCHER_CALLS_PER_TEXT
    parses: int = PARSES_PER_TEXT


def _find_phones(text: str, regions: tuple[str, ...], budget: _Budget) -> list[_Hit]:
    hits: list[_Hit] = []
    for run in _PHONE_RUN.finditer(text):
        if len(_digits(run.group())) < MIN_NATIONAL_DIGITS:
            continue
        groups = _groups(run, r"\+?\d+")
        if len(run.group()) > MAX_RUN_CHARS:
            hits += _unvalidated(text, groups)
        else:
            hits += _phones_in_run(text, run, groups, regions, budget)
    return hits


def _phones_in_run(
    text: str, run: re.Match[str], groups: list[Group], regions: tuple[str, ...], budget: _Budget
) -> list[_Hit]:
    """Phones in one run of digits and separators: ``PhoneNumberMatcher``, then ``_split_run``.

    The matcher gets the run alone rather than the whole text, and stops at the first region that
    accounts for all its digits: the matcher takes most of the time, once per region. A run with
    neither "+" nor a group starting with 0 can only hold a mobile number written without prefix
    ("32470123456", "621 123 456"), so it is parsed directly, which is much cheaper. A few
    characters after the run are included so it still sees the ":30" of "05/11/2026 14:30";
    none before it, so a number glued to a word ("tel0470123456") is still found.
    """
    if "+" not in run.group() and not any(text[start] == "0" for start, _ in groups):
        return _split_run(text, groups, regions, budget, any_start=True)
    snippet = text[run.start() : run.end() + 3]
    hits: list[_Hit] = []
    for rank, region in enumerate(regions):
        if budget.matcher_calls <= 0:
            break
        budget.matcher_calls -= 1
        for match in PhoneNumberMatcher(snippet, region, leniency=Leniency.VALID):
            if _plausible_phone(match.raw_string, match.number, region):
                start = run.start() + match.start
                hits.append(_Hit(start, start + len(match.raw_string), _phone_mask(match.number), rank))
        if not _uncovered(groups, hits):
            return _merged(hits)
    return _merged(hits + _split_run(text, _uncovered(groups, hits), regions, budget))


def _uncovered(groups: list[Group], hits: list[_Hit]) -> list[Group]:
    return [g for g in groups if not any(hit.start < g[1] and g[0] < hit.end for hit in hits)]


def _split_run(
    text: str, groups: list[Group], regions: tuple[str, ...], budget: _Budget, any_start: bool = False
) -> list[_Hit]:
    """Numbers among digit groups the matcher could not split ("02 512 34 56 0470 12 34 56",
    "op 23/11 0470 12 34 56"): spans starting at a group that begins with "+" or "0" (or at any
    group, with ``any_start``) are parsed region by region, longest first.
    """
    hits: list[_Hit] = []
    i = 0
    while i < len(groups):
        if budget.parses <= 0:
            return hits + _unvalidated(text, groups[i:])
        hit, i = _phone_from_group(text, groups, i, regions, budget, any_start)
        if hit:
            hits.append(hit)
    return hits


def _phone_from_group(
    text: str, groups: list[Group], i: int, regions: tuple[str, ...], budget: _Budget, any_start: bool
) -> tuple[_Hit | None, int]:
    """The phone starting at group ``i``, if any, and the index of the group after it."""
    start = groups[i][0]
    if not any_start and text[start] not in "+0":
        return None, i + 1
    ends = [j for j in _phone_ends(text, groups, i) if not _not_a_phone(text[start : groups[j][1]])]
    for rank, region in enumerate(regions):
        for j in reversed(ends):
            raw = text[start : groups[j][1]]
            if not _could_be_plausible(raw, region):
                continue
            budget.parses -= 1
            number = _parse_phone(raw, region)
            if number is not None and _plausible_phone(raw, number, region):
                return _Hit(start, groups[j][1], _phone_mask(number), rank), j + 1
    return None, i + 1


def _phone_ends(text: str, groups: list[Group], i: int) -> list[int]:
    """Groups a phone starting at group ``i`` could end with: adjacent, 8 to 17 digits in all."""
    ends, count = [], 0
    for j in range(i, len(groups)):
        if j > i and not _adjacent(text, groups[j - 1], groups[j]):
            break
        count += len(_digits(text[groups[j][0] : groups[j][1]]))
        if count > MAX_PHONE_DIGITS:
            break
        if count >= MIN_NATIONAL_DIGITS:
            ends.append(j)
    return ends


def _adjacent(text: str, before: Group, after: Group) -> bool:
    """Only a separator between them, not a masked or rejected group."""
    return len(text[before[1] : after[0]].strip()) <= 1


def _unvalidated(text: str, groups: list[Group]) -> list[_Hit]:
    """Without validation: from each group starting with "+" or "0" to the end of the adjacent
    groups, when that holds at least 8 digits."""
    hits: list[_Hit] = []
    i = 0
    while i < len(groups):
        if text[groups[i][0]] not in "+0":
            i += 1
            continue
        j = i
        while j + 1 < len(groups) and _adjacent(text, groups[j], groups[j + 1]):
            j += 1
        start, end = groups[i][0], groups[j][1]
        if len(_digits(text[start:end])) >= MIN_NATIONAL_DIGITS:
            hits.append(_Hit(start, end, f"[phone {BULLETS}]"))
            i = j
        i += 1
    return hits


def _parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region, keep_raw_input=True)  # sets country_code_source
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _plausible_phone(raw: str, number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Valid numbers only; nationally written ones need the trunk prefix unless they are mobiles."""
    raw = raw.strip()
    if len(str(number.national_number)) < MIN_NATIONAL_DIGITS or _not_a_phone(raw):
        return False
    digits = _digits(raw)
    if raw.startswith("+") or digits.startswith("00"):
        return True
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is not None and metadata.national_prefix:
        if digits.startswith(metadata.national_prefix):
            return True
        if number.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY:
            return False  # national digits without the trunk prefix the region requires
    return phonenumbers.number_type(number) == PhoneNumberType.MOBILE


def _could_be_plausible(raw: str, region: str) -> bool:
    """Cheap test of what ``_plausible_phone`` will ask, to spare a parse: without "+", "00" or the
    trunk prefix, a region that has one only accepts its country code written without "+"."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    digits = _digits(raw)
    if raw.lstrip().startswith("+") or digits.startswith("00") or metadata is None:
        return True
    prefix = metadata.national_prefix
    return not prefix or digits.startswith(prefix) or digits.startswith(str(metadata.country_code))


def _not_a_phone(raw: str) -> bool:
    return bool(_DATE_START.match(raw) or _DECIMAL.fullmatch(raw.strip()))


def _phone_mask(number: phonenumbers.PhoneNumber) -> str:
    return f"[phone {BULLETS}{number.national_number % 100:02d}]"


def _merged(hits: list[_Hit]) -> list[_Hit]:
    """The same number is found once per region, sometimes with a different extent: overlapping
    hits become one covering them all (leaking no digit), with the hint of the first region's."""
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
    """Masks a record's message (rendered with its ``args``), its traceback and its stack info.

    The message is rendered here and ``args`` emptied, so data passed as an argument
    (``log.info("caller %s", phone)``) is masked too. A traceback is rendered with the default
    formatting so that it is masked before any handler formats the record. Attach the filter to
    *handlers*: a logger's own filters do not see records propagated from child loggers.
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
    except Exception:  # a bad format string: logging itself would print msg and args raw
        return f"{record.msg} {record.args!r}"


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add a :class:`MaskingFilter` to each handler of ``logger`` (default: the root logger).

    Idempotent. Only the handlers present *now* get it: call this again after adding handlers
    (``logging.basicConfig``, ``dictConfig``, a library configuring its own), or add
    ``MaskingFilter()`` to them directly.
    """
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
            handler.addFilter(MaskingFilter())
