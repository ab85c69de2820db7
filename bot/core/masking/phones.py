"""Phone numbers: ``phonenumbers`` per region, with a work budget per text (see the package)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneNumberMatcher, PhoneNumberType

from bot.core.masking.hits import BULLETS, MIN_NATIONAL_DIGITS, Group, _digits, _groups, _Hit

MAX_PHONE_DIGITS = 17  # "00" + country code + the longest national numbers
MAX_RUN_CHARS = 64  # longer runs of digits and separators are not sent to phonenumbers
MATCHER_CALLS_PER_TEXT = 200  # phonenumbers work allowed per mask_text call (see _Budget)
PARSES_PER_TEXT = 200

_PHONE_RUN = re.compile(r"[+(]*\d[\d \t\u00a0()./-]*\d\)?")  # numbers do not span lines
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_START = re.compile(  # "05/11/2026 14" is a date and an hour, not a German number
    rf"^\s*(?:{_DAY}([./-]){_MONTH}\1(?:\d{{4}}|\d{{2}})|\d{{4}}([./-]){_MONTH}\2{_DAY})(?![./-]?\d)"
)
_DECIMAL = re.compile(r"\d+\.\d+")  # "0.123456789" is a fraction, not 01 23 45 67 89


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
