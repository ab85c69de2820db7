"""An answer the customer has just had is not sent again in full.

"mon internet est lent" gets the troubleshooting steps; "et les appels ça marche mais pas la
data" adds a detail, the assistant's best answer is the same, and the customer got the same
dozen lines a second time. "hoe verberg ik mijn nummer" ... "en voor één oproep?": the answer is
one line of the article just sent. A person would point at what they said, not say it again:
:func:`without_repeats` replaces a long reply identical to one the customer has just read with
the lines of it that share words with the new message ("Dat staat in mijn antwoord hierboven:
…"), or, when none do, with the honest "I have no better answer than the one above" and the
way to a person. Other replies of the turn ("did this help?", its buttons) stay as they are.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Iterable

from bot.core.follow_up import leans_back
from bot.core.language import SNOWBALL
from bot.core.taxonomy import REQUEST_HUMAN
from bot.core.texts import text
from bot.core.unicode import fold

# Shorter replies ("You're welcome!", "Did this help?") may well be said twice.
MIN_ANSWER_CHARS = 120
MAX_LINES = 2
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
# Words that say what kind of question it is, not what it is about.
_QUESTION_WORDS = frozenset(
    """
    how what when where which who why about also still just again then that this there
    hoe wat wanneer waar welke wie waarom voor over ook nog maar toch dan dat dit daar
    comment quoi quand quel quelle quels qui pourquoi pour aussi encore alors mais cela ceci
    """.split()
)


def without_repeats(
    replies: list[dict[str, Any]], earlier: Iterable[str], message: str, language: str
) -> list[dict[str, Any]]:
    """``replies`` with the answer replaced by a pointer to it when the customer has just read
    it (``earlier``: the texts said to them last) and the message continues the previous one
    (``leans_back``: "and ...", "et pour ça ?"), see the module docstring. A question of its own
    with the same answer ("is er 5G in Hasselt?", then "ik heb geen bereik in Hasselt": the same
    outage notice) gets that answer again, as a person would repeat it.

    When only some long replies of the turn were said before, those are left out and the new
    ones sent; a repeated one with buttons stays (a new answer followed by the same offer as
    last time, "I can also look up your own figures…", is sent as it is). Not for a
    pressed button or a number or code: the verification's "if this number is known, a code is
    on its way" is news each time, even in the same words."""
    if not applies_to(message):
        return replies
    seen = {t.strip() for t in earlier if t}
    long_ones = [
        i for i, r in enumerate(replies) if len(str(r.get("text") or "").strip()) >= MIN_ANSWER_CHARS
    ]
    repeated = {i for i in long_ones if str(replies[i].get("text")).strip() in seen}
    if not repeated:
        return replies
    if len(repeated) < len(long_ones):
        # A new answer beside one just read ("et à Gand ?" after the slow-data tips: "no outage in
        # Ghent" and the same tips again): the new one alone. A repeat with buttons stays, its
        # buttons being the way on ("I can also look up your own figures…").
        return [r for i, r in enumerate(replies) if i not in repeated or r.get("buttons")]
    first = long_ones[0]
    pointer = {**replies[first], "text": point_back(str(replies[first]["text"]).strip(), message, language)}
    if not any(reply.get("buttons") for reply in replies):
        # the pointer names a colleague: the way there is a tap away
        pointer["buttons"] = [person_button(language)]
    return [*replies[:first], pointer, *replies[first + 1 :]]


def applies_to(message: str) -> bool:
    """Whether an answer to ``message`` may point back: it continues the previous message (a
    pressed button never does) and carries no number or code (six digits or more)."""
    return leans_back(message) and len(re.findall(r"\d", message)) < 6


def person_button(language: str) -> dict[str, str]:
    return {"title": text("welcome_button_human", language), "payload": f"/{REQUEST_HUMAN}"}


def point_back(answer: str, message: str, language: str) -> str:
    """The lines of ``answer`` that share words with ``message``, introduced as said above; the
    honest "nothing better than above" when none does."""
    lines = relevant_lines(answer, message, language)
    if lines:
        return text("answer_above_lines", language).format(lines="\n".join(lines))
    return text("answer_above", language)


def relevant_lines(answer: str, message: str, language: str) -> list[str]:
    """The (at most ``MAX_LINES``) lines (or sentences, :func:`_sentences`) of the answer sharing
    the most words with the message."""
    wanted = _stems(message, language)
    if not wanted:
        return []
    scored = []
    for index, line in enumerate(_sentences(answer)):
        shared = len(wanted & _stems(line, language, answer=True))
        if shared and not line.strip().startswith("http"):
            # a tie goes to the line saying it more often: "active immediately ... your next
            # billing cycle" answers "when?" better than "change your plan at any time"
            scored.append(((shared, _concept_count(line, wanted)), index, line.strip()))
    if not scored:
        return []
    best = max(s for s, _, _ in scored)
    chosen = sorted(i for s, i, _ in scored if s == best)[:MAX_LINES]
    return [line for _, i, line in scored if i in chosen]


# A sentence ends after a word, not after a list number ("1. Mila Start: 15 euros."); in French a
# space may come before "?" and "!".
_SENTENCE_END = re.compile(r"(?:(?<=[^\d\s][.!?])|(?<=\s[?!]))\s+(?=\S)")


PARAGRAPH_CHARS = 200  # a longer line is a paragraph: its sentences are the lines


def _sentences(answer: str) -> list[str]:
    """The answer's lines, a paragraph cut into its sentences: in a one-paragraph article the
    line asked about is a sentence ("You get 5 euro off per month"), not the whole article. A
    short line stays whole ("A bigger plan is active immediately. A smaller plan starts ...")."""
    return [
        part
        for line in answer.splitlines()
        for part in (_SENTENCE_END.split(line) if len(line) > PARAGRAPH_CHARS else [line])
    ]


# What follow-ups ask about most, in other words than the answer's: "et pour l'annuler ?" is
# answered by "Pour arrêter le renvoi, composez ##21#", "is that free?" by "costs the same as".
_CONCEPTS = {
    "stop": """cancel stop undo disable deactivate off remove unsubscribe annuler arreter desactiver
        supprimer enlever couper stopper resilier afzetten uitzetten stoppen annuleren deactiveren
        uitschakelen verwijderen opzeggen""",
    "cost": """cost costs price prices charge charged charges free paid pay fee fees kost kosten
        prijs prijzen gratis betalen betaal coute couter coutent prix tarif tarifs gratuit payer
        payant frais""",
    "time": """long time day days hour hours week weeks when duration lang duurt duren dag dagen uur
        uren weken werkdag werkdagen wanneer temps jour jours heure heures semaine semaines quand
        delai duree tijd
        immediately instantly meteen onmiddellijk directement immediatement aussitot
        next volgende prochaine prochain period periode factuurperiode""",
    # "how much is the minimum?" after "You can top up from 10 euros"; "which is the cheapest?"
    # after the plans and their prices
    "amount": """minimum maximum minimaal minimale maximaal maximale minstens least lowest highest
        amount bedrag montant euro euros eur
        cheap cheaper cheapest goedkoop goedkoper goedkoopst goedkoopste cher""",
    # "how much is it?" asks what it costs or how much it is: the line with the price or the amount
    "how_much": """much hoeveel combien""",
    # "en als ik te laat betaal?" is answered by "Ben je toch te laat, dan krijg je een herinnering"
    "late": """late later overdue laat achterstand retard tard tardif""",
    # a personal answer's units: "and minutes?" after "Calls: 67 min of 300 min"
    "minutes": """min mins minute minutes calls calling minuut minuten belminuten bellen appels
        appel""",
    "data": """data giga gigas internet mobiele donnees""",
    # "waar vind ik die?" after the PIN answer is answered by "staat op de kaarthouder en in de app"
    "where": """where waar find vind vindt vinden trouve trouver trouvez app menu under onder sous
        rubrique website""",
    "texts": """sms texts text sms'jes berichtjes""",
}
CONCEPT_OF = {w: f"#{c}" for c, words in _CONCEPTS.items() for w in words.split()}
# Concepts that ask for others: "how much" is answered by a price or an amount.
ASKS_FOR = {"#how_much": ("#cost", "#amount")}
# "combien de temps" and "how much time" ask how long, not how much.
_HOW_LONG = re.compile(r"\b(?:combien de temps|how much time|hoeveel tijd)\b")
# Words that ask for a concept but do not answer it: "how long does it take?" is answered by
# "takes 1 working day", not by "enter those details when you order".
ASKING_ONLY = frozenset("when wanneer quand combien much hoeveel long lang where waar".split())
# Dutch splits "afzetten" / "uitschakelen" around the object: "hoe zet ik het weer af?", "schakel
# ik dat zo uit?" ask to stop it too (the particle alone is too short a word to count).
_DUTCH_SPLIT_STOP = re.compile(
    r"\b(?:zet|zetten|zette|schakel|schakelen|draai|draaien|doe|doen)\b(?:\W+\w+){0,5}?\W+(?:af|uit|stop)\b"
)


def _stems(text_: str, language: str, answer: bool = False) -> set[str]:
    """The content words' stems and the concepts; of an ``answer`` line, without the concepts
    only a question asks for (:data:`ASKING_ONLY`)."""
    folded = fold(text_)
    if not answer:
        folded = _HOW_LONG.sub("duree", folded)
    words = _WORD.findall(folded)
    asking_only = ASKING_ONLY if answer else frozenset()
    concepts = {CONCEPT_OF[w] for w in words if w in CONCEPT_OF and w not in asking_only}
    if not answer:
        concepts |= {c for asked in concepts & ASKS_FOR.keys() for c in ASKS_FOR[asked]}
    if _DUTCH_SPLIT_STOP.search(folded):
        concepts.add(CONCEPT_OF["stop"])
    return set(_stemmer(language).stemWords(sorted(_content(words)))) | concepts


def _concept_count(line: str, wanted: set[str]) -> int:
    """How many of the line's words stand for a concept the message asks about."""
    return sum(1 for w in _WORD.findall(fold(line)) if CONCEPT_OF.get(w) in wanted and w not in ASKING_ONLY)


@cache
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(SNOWBALL.get(language, "english"))


def content_words(text_: str) -> set[str]:
    """The folded words of three letters or more that are no stop word of any language."""
    return _content(_WORD.findall(fold(text_)))


def _content(words: Iterable[str]) -> set[str]:
    return {w for w in words if w not in _stopwords()}


@cache
def _stopwords() -> frozenset[str]:
    """Every supported language's stop words: customers mix languages, and a French "pour" in a
    Dutch message is no content word either."""
    from bm25s import stopwords

    lists = {"nl": stopwords.STOPWORDS_DUTCH, "fr": stopwords.STOPWORDS_FRENCH, "en": stopwords.STOPWORDS_EN}
    every = {fold(w) for words in lists.values() for w in words}
    return frozenset(every | _QUESTION_WORDS)
