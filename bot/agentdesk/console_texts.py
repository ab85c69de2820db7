"""The console pages' texts (console, metrics, admin, insights) in every supported language: one
catalogue, ``console_texts.yml`` next to this file, served to the pages as ``/agent/texts.js``.

Every key needs nl, fr and en with the same ``{placeholders}``; a key ending in ``_one`` needs its
``_other`` (plural) form. The pages translate API errors by their code (``error_<code>``) and
show codes (reasons, priorities, channels, outcomes, wrap-ups) as ``<kind>_<code>``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.core.db import Priority
from bot.core.settings import SUPPORTED_LANGUAGES

TEXTS_FILE = Path(__file__).with_name("console_texts.yml")
CHANNELS = ("web", "telegram", "slack")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class ConsoleTextsError(ValueError):
    """console_texts.yml lacks a language, a plural form or has mismatched placeholders."""


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


@lru_cache(maxsize=1)
def console_texts(path: Path = TEXTS_FILE) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, variants in data.items():
        missing = [lang for lang in SUPPORTED_LANGUAGES if not isinstance((variants or {}).get(lang), str)]
        if missing:
            raise ConsoleTextsError(f"{path}: {key!r} lacks {', '.join(missing)}")
        names = {lang: placeholders(variants[lang]) for lang in SUPPORTED_LANGUAGES}
        if len({frozenset(found) for found in names.values()}) != 1:
            raise ConsoleTextsError(f"{path}: {key!r} has different placeholders per language: {names}")
        if key.endswith("_one") and key[: -len("_one")] + "_other" not in data:
            raise ConsoleTextsError(f"{path}: {key!r} has no _other form")
    return {key: {lang: variants[lang] for lang in SUPPORTED_LANGUAGES} for key, variants in data.items()}


def page_setup(time_zone: ZoneInfo, reasons: list[str], wrap_ups: list[str]) -> dict[str, Any]:
    """What the pages need besides the texts: the languages, the team's time zone (dates are
    shown in it, 24 h) and the codes their filters offer."""
    return {
        "languages": list(SUPPORTED_LANGUAGES),
        "time_zone": time_zone.key,
        "reasons": reasons,
        "priorities": [p.value for p in Priority],
        "channels": list(CHANNELS),
        "wrap_ups": wrap_ups,
    }


def texts_script(setup: dict[str, Any]) -> str:
    """JavaScript defining ``CONSOLE_TEXTS`` and ``CONSOLE_SETUP`` for a page (before its scripts)."""
    texts = json.dumps(console_texts(), ensure_ascii=False, sort_keys=True)
    return f"window.CONSOLE_TEXTS = {texts};\nwindow.CONSOLE_SETUP = {json.dumps(setup, sort_keys=True)};\n"
