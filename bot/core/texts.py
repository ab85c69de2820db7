"""Customer-facing texts of the gateway, in every supported language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.settings import SUPPORTED_LANGUAGES

TEXTS_FILE = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def load_texts(path: Path = TEXTS_FILE) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, variants in data.items():
        missing = [lang for lang in SUPPORTED_LANGUAGES if not (variants or {}).get(lang)]
        if missing:
            raise ValueError(f"{path}: text {key!r} lacks {', '.join(missing)}")
    return data


def text(key: str, language: str) -> str:
    return load_texts()[key][language]
