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

from bot.core.language_request import asked_language
from bot.core.settings import SUPPORTED_LANGUAGES

# The Snowball stemmer (PyStemmer) of each language: the help centre's BM25 index and the
# "what does this follow-up ask about" lines (bot/core/repeats.py) stem words alike.
SNOWBALL = {"nl": "dutch", "fr": "french", "en": "english"}

if TYPE_CHECKING:  # lingua is imported lazily: building a detector loads its models
    from lingua import LanguageDetector

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Text the customer quotes (a line of the bill, an error message on the phone) is in the
# language of whoever wrote it: "what does 'verbruik buiten bundel' on my bill mean?" is English.
_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„]{2,80})[\"“”«»„]|(?<!\w)['‘’]([^'‘’]{2,80})['‘’](?!\w)")
# English contractions ("we're", "isn't", "I'm") split into words ("we", "re") that read as
# Dutch to a detector; spelled out they are plainly English. "'s" and "'t" are Dutch too.
_CONTRACTIONS = (
    (re.compile(r"(?i)\bcan[’']t\b"), "can not"),  # irregular: not "ca not" ("ca" is a folded "ça")
    (re.compile(r"(?i)\bwon[’']t\b"), "will not"),
    (re.compile(r"(?i)\b(\w+)n[’']t\b"), r"\1 not"),
    (re.compile(r"(?i)\b(we|you|they|who|what)[’']re\b"), r"\1 are"),
    (re.compile(r"(?i)\b(i|you|we|they|he|she|it|that)[’']ll\b"), r"\1 will"),
    (re.compile(r"(?i)\b(i|you|we|they|could|would|should)[’']ve\b"), r"\1 have"),
    (re.compile(r"(?i)\bi[’']m\b"), "I am"),
)

# Single words that say the language on their own (greetings and thanks).
MARKERS: dict[str, str] = {
    "hallo": "nl",
    "hoi": "nl",
    "hey": "en",
    "dag": "nl",
    "goedemorgen": "nl",
    "goeiemorgen": "nl",
    "goedemiddag": "nl",
    "goeiemiddag": "nl",
    "goedenavond": "nl",
    "goeienavond": "nl",
    "bedankt": "nl",
    "dankjewel": "nl",
    "dankuwel": "nl",
    "doei": "nl",
    "bonjour": "fr",
    "bonsoir": "fr",
    "salut": "fr",
    "coucou": "fr",
    "bonne": "fr",
    "hello": "en",
    "hi": "en",
    "thanks": "en",
    "thx": "en",
    "bye": "en",
    # "hè, wat?", "quoi ?", "what?": a customer who did not follow says it in their own language
    "wat": "nl",
    "quoi": "fr",
    "what": "en",
}
# Chat and SMS abbreviations that belong to one language only. In the first message of a
# conversation they decide the language when detection is unsure ("bjr ma carte sim marche pas",
# "sim kapot aub"), before the channel's locale: they are the customer's own words.
ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(("aub", "ajb", "mss", "ff", "idd", "wrs", "gwn", "nx", "tis", "kheb", "kzit"), "nl"),
    **dict.fromkeys(("bjr", "bsr", "svp", "stp", "slt", "mrc", "pcq", "jsp", "dsl", "tkt", "cmt"), "fr"),
    **dict.fromkeys(("thx", "pls", "plz", "ty", "idk", "tbh", "im", "dont", "cant", "doesnt"), "en"),
}
# Words used alike in all three languages (Belgian Dutch says "merci" too).
AMBIGUOUS: frozenset[str] = frozenset(
    {
        "ok",
        "oke",
        "okay",
        "okee",
        "merci",
        "sim",
        "simkaart",
        "pin",
        "puk",
        "esim",
        "gsm",
        "g",
        "sms",
        "wifi",
        "ja",
        "nee",
        "non",
        "oui",
        "yes",
        "no",
        "top",
        "super",
        "info",
        "help",
    }
)
# Frequent function words; a word listed for two languages counts for neither.
_FUNCTION_WORDS: dict[str, set[str]] = {
    "nl": set(
        "de het een en van ik je jij u mijn mij niet wel is zijn was heb hebt heeft wat waar wanneer "
        "hoe waarom kan kun wil moet ook nog maar dan dat die dit deze er op aan bij met voor naar "
        "uit graag alstublieft bedankt geen al ons onze jullie veel erg heel altijd nooit niks niets sinds "
        "nu".split()
    ),
    "fr": set(
        "le la les un une des et de du je tu il elle vous nous mon ma mes ton ta votre vos pas est "
        "suis sont ai avez a quoi où quand comment pourquoi peux puis veux dois aussi encore mais "
        "donc que qui ce cette ces sur au aux avec pour chez merci svp côté alors trop très tres beaucoup "
        "rien toujours jamais depuis".split()
    ),
    "en": set(
        "the a an and of i you my me not is are was have has what where when how why can could "
        "would want must also still but then that this these there on at with for from please "
        "thanks about your our get got do does did it too very much always never nothing since".split()
    ),
}
_UNIQUE_WORDS = {
    lang: {w for w in words if sum(w in other for other in _FUNCTION_WORDS.values()) == 1}
    for lang, words in _FUNCTION_WORDS.items()
}
SHORT_WORDS = 2  # messages of at most this many words never switch an ongoing conversation
CLEAR_MARGIN = 0.3  # a clear signal also leads the runner-up language by this much
GUESS_CONFIDENCE, GUESS_MARGIN = 0.4, 0.15  # a best guess, only for a new conversation


@dataclass(frozen=True)
class Detection:
    language: str | None
    confidence: float = 0.0
    margin: float = 0.0  # lead over the second most likely language


class Detector(Protocol):
    def detect(self, text: str) -> Detection:
        """Most likely language with its confidence (0..1) and lead over the runner-up."""


class LinguaDetector:
    """lingua restricted to Dutch, French and English."""

    def __init__(self) -> None:
        self._detector: LanguageDetector | None = None

    def _get(self) -> LanguageDetector:
        if self._detector is None:
            from lingua import Language, LanguageDetectorBuilder

            self._detector = LanguageDetectorBuilder.from_languages(
                Language.DUTCH, Language.FRENCH, Language.ENGLISH
            ).build()
        return self._detector

    def warm_up(self) -> None:
        """Load the language models now (~0.6 s), not on the first customer's message."""
        self.detect("bonjour, hallo, hello")

    def detect(self, text: str) -> Detection:
        values = self._get().compute_language_confidence_values(text)
        if not values:
            return Detection(None)
        best = values[0]
        second = float(values[1].value) if len(values) > 1 else 0.0
        return Detection(
            best.language.iso_code_639_1.name.lower(), float(best.value), float(best.value) - second
        )


@lru_cache(maxsize=1)
def default_detector() -> LinguaDetector:
    return LinguaDetector()


ASKED = "asked"


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: str  # asked | detected | marker | conversation | locale | guess | default
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
    """Decide the reply language for ``text`` in a conversation currently in ``current``.

    ``threshold`` is the confidence a message needs to switch the language (with a lead of
    :data:`CLEAR_MARGIN` over the runner-up). A new conversation without a clear signal
    takes the channel's locale, then a best guess, then ``default``. A message that only asks to
    go on in a language (bot/core/language_request.py) switches to it.
    """
    asked = asked_language(text)
    if asked is not None:
        return LanguageChoice(asked, ASKED, 1.0)
    words = content_words(text)
    is_new = current not in SUPPORTED_LANGUAGES
    signal = _signal(words, detector, threshold, allow_short=is_new)
    if signal is not None:
        return signal
    if not is_new:
        return LanguageChoice(current, "conversation")  # type: ignore[arg-type]
    abbreviation = _abbreviation(words)
    if abbreviation:
        return abbreviation
    from_locale = locale_language(locale)
    if from_locale:
        return LanguageChoice(from_locale, "locale")
    guess = _guess(words, detector)
    return guess or LanguageChoice(default, "default")


def content_words(text: str) -> list[str]:
    """Lower-cased words that say something about the language.

    Button payloads ("/intent") say nothing. Capitalised words after the first are mostly
    place and brand names ("Kortrijk", "Liège") that pull detection towards their own
    language, so they are left out when at least two other words remain. Quoted text is left
    out too (when two words remain), and English contractions are spelled out.
    """
    if text.lstrip().startswith("/"):
        return []
    text = _spelled_out(text)
    unquoted = _QUOTED.sub(" ", text)
    words = _WORD.findall(unquoted)
    if len(words) < 2:  # the quote is the whole message: it is all we have
        words = _WORD.findall(text)
    kept = [w for i, w in enumerate(words) if i == 0 or not w[:1].isupper()]
    return [w.lower() for w in (kept if len(kept) >= 2 else words)]


def _spelled_out(text: str) -> str:
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


_VOWEL = re.compile(r"[aeiouyàâäéèêëïîôöùûüÿœæ]")


def _pronounceable(words: list[str]) -> list[str]:
    """Words with a vowel. Abbreviations ("gsm", "sms") and keyboard mashes ("zxqv", "vrmmt")
    have none: lingua still names a language for them, confidently, and a French customer who
    mistyped would be answered in English. They do not count towards a switch (they still go
    into the detection)."""
    return [w for w in words if _VOWEL.search(w)]


def _signal(
    words: list[str], detector: Detector, threshold: float, *, allow_short: bool
) -> LanguageChoice | None:
    """A clear language signal in the message, or None."""
    if not words:
        return None
    if len(_pronounceable(words)) <= SHORT_WORDS:
        if not allow_short:
            return None
        marker = next((MARKERS[w] for w in words if w in MARKERS), None)
        if marker:
            return LanguageChoice(marker, "marker", 1.0)
        if all(w in AMBIGUOUS for w in words):
            return None
    return _detected(words, detector, threshold, CLEAR_MARGIN, "detected")


def _abbreviation(words: list[str]) -> LanguageChoice | None:
    """The language of the message's chat abbreviations, when they all agree."""
    found = {ABBREVIATIONS[w] for w in words if w in ABBREVIATIONS}
    return LanguageChoice(found.pop(), "marker", 1.0) if len(found) == 1 else None


def _detected(
    words: list[str], detector: Detector, confidence: float, margin: float, source: str
) -> LanguageChoice | None:
    found = detector.detect(" ".join(words))
    if found.language in SUPPORTED_LANGUAGES and found.confidence >= confidence and found.margin >= margin:
        return LanguageChoice(found.language, source, found.confidence)
    return None


def _guess(words: list[str], detector: Detector) -> LanguageChoice | None:
    """A best guess for a new conversation: function words first, then a weaker detection."""
    if not words or all(w in AMBIGUOUS for w in words):
        return None
    votes = {lang: sum(w in unique for w in words) for lang, unique in _UNIQUE_WORDS.items()}
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if ranked[0][1] > ranked[1][1]:
        return LanguageChoice(ranked[0][0], "guess", 0.0)
    return _detected(words, detector, GUESS_CONFIDENCE, GUESS_MARGIN, "guess")
