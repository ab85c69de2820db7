"""Which language to answer in, for every message.

A message is detected with lingua (restricted to nl, fr, en). Short or ambiguous
messages ("ok", "merci", "sim") keep the conversation's language; a clear switch
switches. A new conversation without a clear signal uses the channel's locale, then
the configured default. The decision says where it came from, for logs and tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from bot.settings import SUPPORTED_LANGUAGES

if TYPE_CHECKING:  # lingua is imported lazily: building a detector loads its models
    from lingua import LanguageDetector

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Single words that say the language on their own (greetings and thanks).
MARKERS: dict[str, str] = {
    "hallo": "nl", "hoi": "nl", "hey": "en", "dag": "nl", "goedemorgen": "nl",
    "goeiemorgen": "nl", "goedemiddag": "nl", "goeiemiddag": "nl", "goedenavond": "nl",
    "goeienavond": "nl", "bedankt": "nl", "dankjewel": "nl", "dankuwel": "nl", "doei": "nl",
    "bonjour": "fr", "bonsoir": "fr", "salut": "fr", "coucou": "fr", "bonne": "fr",
    "hello": "en", "hi": "en", "thanks": "en", "thx": "en", "bye": "en",
}
# Words used alike in all three languages (Belgian Dutch says "merci" too).
AMBIGUOUS: frozenset[str] = frozenset(
    {"ok", "oke", "okay", "okee", "merci", "sim", "simkaart", "pin", "puk", "esim", "gsm",
     "g", "sms", "wifi", "ja", "nee", "non", "oui", "yes", "no", "top", "super", "info", "help"}
)
SHORT_WORDS = 2  # messages of at most this many words never switch an ongoing conversation


class Detector(Protocol):
    def detect(self, text: str) -> tuple[str | None, float]:
        """Best language and its confidence (0..1); ``None`` when nothing can be said."""


class LinguaDetector:
    """lingua restricted to Dutch, French and English."""

    def __init__(self) -> None:
        self._detector: LanguageDetector | None = None

    def _get(self) -> "LanguageDetector":
        if self._detector is None:
            from lingua import Language, LanguageDetectorBuilder

            self._detector = LanguageDetectorBuilder.from_languages(
                Language.DUTCH, Language.FRENCH, Language.ENGLISH
            ).build()
        return self._detector

    def detect(self, text: str) -> tuple[str | None, float]:
        values = self._get().compute_language_confidence_values(text)
        if not values:
            return None, 0.0
        best = values[0]
        return best.language.iso_code_639_1.name.lower(), float(best.value)


@lru_cache(maxsize=1)
def default_detector() -> LinguaDetector:
    return LinguaDetector()


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: str  # detected | marker | conversation | locale | default
    confidence: float = 0.0


def locale_language(locale: str | None) -> str | None:
    """'fr-BE' -> 'fr'; None for an unsupported or missing locale."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].strip().lower()
    return code if code in SUPPORTED_LANGUAGES else None


def choose_language(
    text: str,
    *,
    current: str | None,
    locale: str | None,
    default: str,
    detector: Detector,
    threshold: float,
) -> LanguageChoice:
    """Decide the reply language for ``text`` in a conversation currently in ``current``."""
    words = [w.lower() for w in _WORD.findall(text)] if not text.lstrip().startswith("/") else []
    signal = _signal(words, detector, threshold, allow_short=current is None)
    if signal is not None:
        return signal
    if current in SUPPORTED_LANGUAGES:
        return LanguageChoice(current, "conversation")
    from_locale = locale_language(locale)
    if from_locale:
        return LanguageChoice(from_locale, "locale")
    return LanguageChoice(default, "default")


def _signal(
    words: list[str], detector: Detector, threshold: float, *, allow_short: bool
) -> LanguageChoice | None:
    """A clear language signal in the message, or None."""
    if not words:
        return None
    if len(words) <= SHORT_WORDS:
        if not allow_short:
            return None
        marker = next((MARKERS[w] for w in words if w in MARKERS), None)
        if marker:
            return LanguageChoice(marker, "marker", 1.0)
        if all(w in AMBIGUOUS for w in words):
            return None
    language, confidence = detector.detect(" ".join(words))
    if language in SUPPORTED_LANGUAGES and confidence >= threshold:
        return LanguageChoice(language, "detected", confidence)
    return None
