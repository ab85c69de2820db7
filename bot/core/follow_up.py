"""A customer's short follow-up to the question the bot has just answered.

"how do I set up voicemail" ... "and how do I turn it off again?": the second message alone names
no topic, and the classifier made it roaming ("turn it off") or, for "and how do I cancel it?"
after call forwarding, a cancellation for a person. Read with the question before it, it is
clear. The router sends the previous question's context along (``FOLLOW_UP_KEY`` in the message
metadata: how Rasa reads the two together); the NLU pipeline decides whether to use it
(bot/rasa/nlu/follow_up.py): only when the message alone is unclear.

Only short messages that lean on what came before qualify: at most ``MAX_WORDS`` words, not a
pleasantry ("thanks", "ok", "nee"), and either very short or with a sign of leaning: a
connective first ("and ...", "en ...", "et pour ..."), a word that points back ("it", "too",
"ervan", "ook", "ça", "alors") or a French pronoun before its verb ("pour la désactiver", "je
peux en racheter"). A full question carries its own topic, and the extra parse costs a whole
NLU pass: asked for every short message it added 19 % to the router's p95 (bench/latency.py),
with these signs it is asked for about one ordinary question in sixteen (26 of 402 held-out).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.core.small_talk import says_goodbye
from bot.core.unicode import fold

FOLLOW_UP_KEY = "follow_up"  # message metadata: the parse of the previous question + this one
WINDOW = timedelta(minutes=10)  # an answer older than this is no longer the context
MAX_WORDS = 8

# Replies that close or answer the bot's own question: they have their meaning without context.
_ACKNOWLEDGEMENTS = """
yes, no, yeah, yep, nope, nah, ok, okay, thanks, thank you, thx, ty, cheers, great, perfect, super,
top, cool, fine, bye, goodbye, hi, hello, hey, hi there, hello there, hey there, good morning,
good afternoon, good evening, goedemorgen, goeiemorgen, goedemiddag, goeiedag, goedenavond,
ja, nee, neen, jawel, dank u, dank je, dank je wel, bedankt, merci, merciekes, prima, oké, doei,
dag, hallo, hoi,
oui, non, ouais, nan, merci beaucoup, d'accord, parfait, génial, salut, bonjour, au revoir, bonsoir
"""
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of a message, folded (lower case, no accents)."""
    return _WORD.findall(fold(text or ""))


ACKNOWLEDGEMENTS = frozenset(" ".join(words(p)) for p in _ACKNOWLEDGEMENTS.split(","))


# Seen first: the message continues the previous one.
CONNECTIVES = (
    "and", "also", "but", "so", "then", "or", "plus", "what about", "how about", "same for",
    "en", "ook", "maar", "dus", "dan", "of", "wat met", "hoe zit het met", "idem",
    "et", "aussi", "mais", "donc", "alors", "ou", "puis", "quid", "pareil",
)  # fmt: skip
# Anywhere: a word that points back to what was asked before.
POINTING_BACK = frozenset(
    """
    it them those one ones there then too instead either that this
    ervan daarvan ermee daarmee ervoor daarvoor erop daarop eraf daaraf eruit erin daar dan ook dat dit
    ca cela ceci celui celle ceux aussi alors pareil
    """.split()
)
# A French object pronoun before its verb: "pour la désactiver", "je peux en racheter".
FRENCH_CLITIC = re.compile(
    r"\b(?:le|la|les|l'|en|y|lui) (?:\w+(?:er|ir|re)|peux|peut|dois|faut|fais|fait|mets|trouve)\b"
)
VERY_SHORT = 4  # words: "can I buy extra?", "et les sms ?"
# A question of its own about the answer just given: what it costs, how long or when ("c'est
# combien ?", "hoeveel kost dat?"), whether or where the customer can do something ("kan ik dat
# afzetten?", "where do I find it?"), or which of the options it listed ("welke is het goedkoopst?",
# "lequel est le moins cher ?"). It is not "I don't follow", even as short as one.
_ASKS_ABOUT_THE_ANSWER = re.compile(
    r"\b(?:combien|coute|couter|prix|tarif|tarifs|kost|kosten|prijs|hoeveel|how much|cost|costs|price|"
    r"how long|hoe lang|quand|wanneer|when|"
    r"kan ik|kun ik|mag ik|can i|could i|je peux|puis je|on peut|where|waar vind|ou je|ou est|"
    r"minimum|maximum|minimaal|minimale|maximaal|maximale|"
    r"which one|which is|welke is|welk is|welke van|lequel|laquelle|"
    r"cheapest|goedkoopst|goedkoopste|moins cher|the best|de beste|le meilleur|la meilleure)\b"
)
# Words: a short question about the answer just given ("how much is the minimum?", "wat is het
# minimum bedrag?") leans on it as much as "and ...?" does.
SHORT_QUESTION = 6


def asks_about_the_answer(text: str) -> bool:
    """Whether a short message asks its own question about the answer (see above)."""
    return bool(_ASKS_ABOUT_THE_ANSWER.search(" ".join(words(text))))


# Words that name no topic: question words, pronouns, auxiliaries, and what a question about any
# answer asks (its cost, how long it takes, whether it is free).
_TOPICLESS = frozenset(
    """
    how much many long what when where which who why is are it that this does do did will would can
    could should cost costs price take takes free the a an of for to me my i you there s whats thats
    its again then so and now
    hoe hoeveel veel lang wat wanneer waar welke wie waarom is het dat dit da kost kosten prijs duurt
    duren doe doet kan kun mag ik je jij u mijn de een er dan nog gratis en nu
    combien quand ou quel quelle pourquoi qui est ce ca cela c c'est coute couter coutent prix prend
    prendre dure durer je tu vous mon ma mes le la les un une de du y gratuit et alors maintenant
    """.split()
)


def names_no_topic(text: str) -> bool:
    """A short question about the cost or the time of something it does not name ("how much does
    it cost?", "combien ça coûte ?", "hoe lang duurt dat?"). Alone, any topic the classifier
    gives it is a guess: "combien ça coûte" got the roaming charges at 0.68."""
    found = words(text)
    if not 2 <= len(found) <= SHORT_QUESTION or (text or "").strip().startswith("/"):
        return False
    return all(w in _TOPICLESS for w in found) and asks_about_the_answer(text)


def only_acknowledges(text: str) -> bool:
    """A greeting, a thanks, a yes or no and nothing else ("hallo", "ok merci"): no question, so
    nothing a follow-up could lean on, and no follow-up itself."""
    found = words(text)
    return bool(found) and (" ".join(found) in ACKNOWLEDGEMENTS or all(w in ACKNOWLEDGEMENTS for w in found))


def looks_like_follow_up(text: str) -> bool:
    """A short message that may lean on the previous question (module docstring)."""
    stripped = (text or "").strip()
    if not stripped or stripped.startswith("/"):
        return False
    found = words(stripped)
    if not found or len(found) > MAX_WORDS:
        return False
    if only_acknowledges(stripped):
        return False
    if says_goodbye(stripped):  # "merci, bonne journée" after the PIN answer got the PIN again
        return False
    return len(found) <= VERY_SHORT or _continues(found) or _short_question_about_the_answer(found)


def leans_back(text: str, max_words: int = 12) -> bool:
    """A message that continues the previous one ("et les appels ça marche mais pas la data", "and
    what about Morocco?"): a connective first, a word pointing back or a French pronoun before
    its verb, within ``max_words``. Unlike :func:`looks_like_follow_up`, being short is no sign:
    "ik heb geen bereik in Hasselt" is a question of its own."""
    found = words(text)
    if not found or len(found) > max_words or (text or "").strip().startswith("/"):
        return False
    return _continues(found) or _short_question_about_the_answer(found)


# Object pronouns that can only mean something named before ("en hoe zet ik hem terug aan?").
OBJECT_PRONOUNS = frozenset("it them hem ze le la les".split())
UNAMBIGUOUS_PRONOUNS = frozenset("it them hem".split())
# Words that point back without standing for what was named ("too high", "is there", "dan").
NOT_AN_OBJECT = frozenset("too then either instead there dan ook aussi alors pareil".split())
# "het" before a particle or at the end is "it" ("hoe zet ik het stop", "kan ik het"), before a
# noun an article ("en het abonnement?"); "l'" before a verb after a subject or "pour" ("je
# l'annule", "pour l'activer"), not "et l'offre ?".
_DUTCH_IT = re.compile(
    r"\bhet(?: (?:niet|weer|terug|opnieuw|ook|zelf))?(?: (?:stop|af|aan|uit|op|ongedaan|weg|doen|"
    r"stopzetten|afzetten|aanzetten|uitzetten|opzeggen|annuleren|activeren|regelen|instellen))?$|"
    r"\bhet (?:stop|af|aan|uit|op|ongedaan|weg)\b"
)
_FRENCH_ELIDED = re.compile(r"\b(?:je|j|tu|on|vous|nous|il|elle|pour|comment|peux|peut|dois|faut|ne|n) l'\w")


def points_back_to_the_answer(text: str) -> bool:
    """A follow-up that names nothing new: a connective first and a word pointing back ("and how
    do I turn it on again?", "en hoe zet ik hem terug aan?", "et pour la réactiver ?"). Alone it
    has no topic at all, so the classifier's reading of it, however confident, is a guess:
    "en hoe zet ik hem terug aan?" after the voicemail answer read as a refund (0.65, "terug")."""
    found = words(text)
    if not found or len(found) > MAX_WORDS or (text or "").strip().startswith("/"):
        return False
    joined = " ".join(found)
    if not _starts_with_connective(joined) or joined in CONNECTIVES:
        return False
    return _stands_for_what_came_before(found[1:], joined, OBJECT_PRONOUNS)


def refers_back(text: str) -> bool:
    """Whether a message has a word standing for something named before ("how do I turn it
    off", "et comment désactiver ça", "hoe zet ik dat af", "pour l'activer"). In a longer message
    "le", "la", "ze" are mostly articles or "she" ("vers le Maroc"): only before a verb they count."""
    found = words(text)
    return _stands_for_what_came_before(found, " ".join(found), UNAMBIGUOUS_PRONOUNS)


def _stands_for_what_came_before(found: list[str], joined: str, pronouns: frozenset[str]) -> bool:
    pointing = (POINTING_BACK - NOT_AN_OBJECT) | pronouns
    if any(w in pointing for w in found) or FRENCH_CLITIC.search(joined):
        return True
    return bool(_DUTCH_IT.search(joined) or _FRENCH_ELIDED.search(joined))


_HOW = re.compile(r"\b(?:how|hoe|comment)\b")


def asks_how(text: str) -> bool:
    """Whether the message asks how to do something ("and how do I cancel it?")."""
    return bool(_HOW.search(" ".join(words(text))))


def _short_question_about_the_answer(found: list[str]) -> bool:
    return len(found) <= SHORT_QUESTION and bool(_ASKS_ABOUT_THE_ANSWER.search(" ".join(found)))


def _starts_with_connective(joined: str) -> bool:
    """A connective first ("and ...", "en ...", "et pour ..."), or alone ("and?")."""
    return any(joined == c or joined.startswith(f"{c} ") for c in CONNECTIVES)


def _continues(found: list[str]) -> bool:
    """A connective first (or alone), a word pointing back, or a French pronoun before its verb."""
    joined = " ".join(found)
    if _starts_with_connective(joined):
        return True
    return any(w in POINTING_BACK for w in found) or bool(FRENCH_CLITIC.search(joined))


def follow_up_context(parsed: dict[str, Any]) -> dict[str, Any] | None:
    """What the pipeline needs of the parse of "previous question + this message": the intent it
    chose with its confidence and, for a help-centre answer, the article (id and scores)."""
    intent = parsed.get("intent") or {}
    if not intent.get("name"):
        return None
    context: dict[str, Any] = {
        "intent": str(intent["name"]),
        "confidence": float(intent.get("confidence") or 0),
    }
    article = parsed.get("article") or {}
    if article.get("id"):
        keys = ("id", "confidence", "conditional", "lexical")
        context["article"] = {k: article[k] for k in keys if k in article}
    return context
