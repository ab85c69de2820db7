"""E-mail addresses: ``local@domain.tld``, masked as the first character and the domain."""

from __future__ import annotations

import re

from bot.core.masking.hits import BULLETS

_EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-]+)@([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})(?![\w-])")


def _mask_email(match: re.Match[str]) -> str:
    return f"[email {match.group(1)[0]}{BULLETS}@{match.group(2)}]"
