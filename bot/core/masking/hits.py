"""What the detectors find: spans of a text and their masks, and helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass

BULLETS = "•••"
MIN_NATIONAL_DIGITS = 8  # Belgian landlines have 8 (02 512 34 56); PINs, postcodes and dates fewer

Group = tuple[int, int]  # start and end of a run of digits, in the whole text


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    mask: str
    rank: int = 0  # phones: index of the region that found it; lower wins when hits overlap


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _groups(run: re.Match[str], pattern: str = r"\d+") -> list[Group]:
    return [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(pattern, run.group())]
