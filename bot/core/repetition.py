"""Angry repetition: the customer asks the same thing again, annoyed, after the bot answered.

Used on both sides of Rasa: the dialogue policy (``bot.rasa.policies``) hands such a turn to a
person instead of repeating the answer, and ``action_escalate`` records the reason. Both
pass the customer's turns as (intent, text) pairs, oldest first, so the rule lives here once.

A repetition is the same billing/coverage/SIM intent in two consecutive customer turns. It is
*angry* when the second message shows it (!!, ?!, shouting in capitals, or words of anger or
of "still not solved" in nl/fr/en), or when the same question comes a third time in a row (not
a short question about the answer that names nothing the turns before it named: "pincode
vergeten", "en de puk code?", then "waar vind ik die?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.follow_up import leans_back
from bot.core.repeats import content_words
from bot.core.taxonomy import is_answer_topic

ANGER_WORDS = (
    # nl
    "nog steeds",
    "nog altijd",
    "alweer",
    "al (?:twee|drie|2|3) keer",
    "belachelijk",
    "schandalig",
    "waardeloos",
    "onaanvaardbaar",
    "dat zei ik al",
    "luister(?:en)?",
    "godverdomme",
    "verdomme",
    "kut",
    # fr
    "toujours pas",
    "encore une fois",
    "je l'ai (?:déjà|deja) dit",
    "ridicule",
    "inadmissible",
    "inacceptable",
    "scandaleux",
    "nul",
    "n'importe quoi",
    "putain",
    "merde",
    # en
    "still",
    "again",
    "already told",
    "ridiculous",
    "useless",
    "unacceptable",
    "outrageous",
    "listen",
    "wtf",
    "damn",
    "bloody",
)
ANGER = re.compile(r"(?<!\w)(?:" + "|".join(ANGER_WORDS) + r")(?!\w)", re.IGNORECASE)
Turn = tuple[str | None, str]  # (intent name, text)


def is_topic(intent: str | None) -> bool:
    return bool(intent) and is_answer_topic(intent)


def sounds_angry(text: str) -> bool:
    """Exclamation runs, shouting, or words of anger or of a problem that persists."""
    if "!!" in text or "?!" in text or "!?" in text:
        return True
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return True
    return bool(ANGER.search(text))


def is_angry_repetition(turns: Sequence[Turn], places: Sequence[str | None] = ()) -> bool:
    """True when the latest customer turn repeats the previous one's topic intent, angrily.

    ``places``: the place each turn named (None for none), aligned with ``turns`` when given. The
    same question about another place ("and in Namur?") is a new question, not a repetition.
    """
    if len(turns) < 2:
        return False
    (intent, text), (previous, _) = turns[-1], turns[-2]
    if not is_topic(intent) or intent != previous or _other_place(places, -1, -2):
        return False
    third_time = len(turns) >= 3 and turns[-3][0] == intent and not _other_place(places, -2, -3)
    return (third_time and not _asks_about_the_answer(text, turns[-3:-1])) or sounds_angry(text)


def _asks_about_the_answer(text: str, before: Sequence[Turn]) -> bool:
    """A short question about the answer just given that names nothing the two turns before it
    named ("pincode vergeten", "en de puk code?", then "waar vind ik die?"): a new question on
    the topic, not the same one a third time ("bill?", "bill high", "and my bill" is)."""
    if not leans_back(text):
        return False
    named = set().union(*(content_words(earlier) for _, earlier in before))
    return not content_words(text) & named


def _other_place(places: Sequence[str | None], latest: int, earlier: int) -> bool:
    if len(places) < -earlier:
        return False
    one, other = places[latest], places[earlier]
    return bool(one and other and one.strip().lower() != other.strip().lower())
