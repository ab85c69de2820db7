"""Two questions in one message: "how do I top up my prepaid? and how do I turn off voicemail".

Read as one, the message got one answer (the first question's, the second ignored) or, with the
two topics pulling apart, "I can't answer that one well yet" for two questions the bot answers
well one at a time. The router splits such a message at its first question boundary
(:func:`question_parts`), has Rasa read each part alone (:func:`answer_reading`), and only when
both are answers about different things, sure enough (:func:`answers_both`), asks Rasa the two
questions one after the other.

A boundary is a question mark with more text after it, or a connective followed by a question
word ("... prepaid and how do I ...", "... roaming. Et aussi comment ...", "... en hoe ...") in a
message that starts as a question or a request; the second part is a question too (a question
word first or a question mark last). A message that starts as a statement splits only before a
full question of its own ("my bill is too high and when do I have to pay it?": a question word
such as when/how/hoe/comment, not a verb such as can/kan, and at least :data:`STATEMENT_SECOND_WORDS`
words): a story's last words lean on it ("ik ben verhuisd en kan niet meer bellen", "... en hoe
zit het nu"). Such a question may say "it" for what the statement named ("... and when do I
have to pay it?"): the router still answers twice only when each part alone is an answer,
about different things, one of them clear and the other likely (:func:`both_answered`). A
sentence that only gives context ("I lost my phone. How do I block my SIM?", "ik ben verhuisd
en kan niet meer bellen", "hoeveel kost een sms naar Nederland? ik zit gewoon thuis") stays one
message, and so does a second part that leans on the first: a word standing for what it named
("et comment désactiver ça ?") or only a few words ("and how much is it?").
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.follow_up import refers_back
from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.taxonomy import is_answer_topic

MIN_WORDS = 3  # each part: fewer words lean on the other part ("and how much?")
CLEAR = 0.8  # one part's confidence (and its article's, for a help-centre answer) ...
# ... and the other's: on pairs of held-out questions 0.6 answers 11-14 questions more per language
# than 0.8 with no more wrong answers; 0.5 adds one right and one wrong (bench/two_questions.py)
LIKELY = 0.6
MAX_CHARS = 300  # a longer message is a story, not two questions
STATEMENT_SECOND_WORDS = 5  # after a statement, a shorter question leans on it ("en hoe zit het nu")

_CONNECTIVES = (
    "and also", "and", "also", "plus", "btw", "by the way", "another question", "one more thing",
    "en ook", "en", "ook", "trouwens", "nog een vraag", "andere vraag", "verder",
    "et aussi", "et", "aussi", "sinon", "autre question", "par ailleurs", "puis",
)  # fmt: skip
# Question words that open a question on their own, even after a statement ("... and when do I
# pay it?").
_WH_WORDS = (
    "how", "what", "when", "where", "why", "which", "hoe", "wat", "wanneer", "waar", "waarom", "welke",
    "comment", "quel", "quelle", "quels", "quelles", "quand", "où", "pourquoi", "combien",
)  # fmt: skip
# A second question starts with one of these after its connective ("... and how do I ..."); the
# verbs only after a question or a request: after a statement "can/kan/mag" may go on the story
# ("... en kan niet meer bellen").
_QUESTION_WORDS = (
    *_WH_WORDS, "can", "could", "will", "kan", "kun", "kunnen", "mag", "est-ce", "puis-je", "peut-on",
)  # fmt: skip
# ... and the first starts like a question or a request ("I lost my phone and how ..." is a story).
_FIRST_WORDS = (
    *_QUESTION_WORDS, "is", "are", "do", "does", "i want", "i'd like", "i would like", "i need", "please",
    "is er", "zijn", "heb", "hebben", "ik wil", "ik zou graag", "ik wou", "ik moet", "graag",
    "je veux", "je voudrais", "j'aimerais", "je dois", "y a-t-il", "ai-je",
)  # fmt: skip


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_QUESTION_MARK = re.compile(r"\?+\s+(?=\S)")  # "...prepaid? and how..."
# "...prepaid and how ...", "...roaming. Et aussi comment ..." (a word, not "can't")
_CONNECTED_QUESTION = re.compile(
    rf"[.!;,]*\s+(?=(?:{_alternatives(_CONNECTIVES)})[\s,:]+(?:{_alternatives(_QUESTION_WORDS)})\s)",
    re.IGNORECASE,
)
# A greeting may come first: "hallo, hoe herlaad ik ... en hoe stel ik ...".
_GREETING = _alternatives(
    ("hi", "hello", "hey", "hallo", "hoi", "dag", "goeiedag", "goedemiddag", "goeiemorgen", "goedemorgen",
     "goedenavond", "bonjour", "bonsoir", "salut", "bjr", "good morning", "good afternoon", "good evening")
)  # fmt: skip
_ASKS = re.compile(rf"^\W*(?:(?:{_GREETING})\b[\W_]*)?(?:{_alternatives(_FIRST_WORDS)})\b", re.IGNORECASE)
_QUESTION_START = re.compile(rf"^\W*(?:{_alternatives(_QUESTION_WORDS)})\s", re.IGNORECASE)
_WH_START = re.compile(rf"^\W*(?:{_alternatives(_WH_WORDS)})\s", re.IGNORECASE)
_LEADING_CONNECTIVE = re.compile(rf"^(?:(?:{_alternatives(_CONNECTIVES)})\b[\s,:]*)+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def question_parts(text: str) -> tuple[str, str] | None:
    """The message's two questions, split at its first boundary (the second without its leading
    connective), or None when it has no boundary or a part is too short to be a question."""
    if len(text) > MAX_CHARS:
        return None
    cut = _QUESTION_MARK.search(text)
    connected = _CONNECTED_QUESTION.search(text)
    if connected and (cut is None or connected.start() < cut.start()):
        if _ASKS.match(text):
            cut = connected
        else:  # a statement first: only before a full question of its own
            first, second = _split(text, connected)
            if (
                _WH_START.match(second)
                and _count_words(second) >= STATEMENT_SECOND_WORDS
                and _count_words(first) >= MIN_WORDS
            ):
                return first, second  # "... and when do I pay it?": "it" is the bill; the parse decides
    if cut is None:
        return None
    first, second = _split(text, cut)
    if _count_words(first) < MIN_WORDS or _count_words(second) < MIN_WORDS:
        return None
    if not (second.endswith("?") or _QUESTION_START.match(second)) or refers_back(second):
        return None  # context ("ik zit thuis in Gent") or leaning on the first ("et comment désactiver ça")
    return first, second


def opens_with_a_question(text: str, parts: tuple[str, str]) -> bool:
    """Whether the first part is a question or a request ("hoe activeer ik mijn esim?", "I want
    to ..."), not a statement ("I'm in Spain and how do I ..."): a statement may be only context,
    so after one both parts must be clear, not only likely."""
    return parts[0].endswith("?") or bool(_ASKS.match(text))


def answers_both(
    text: str,
    parts: tuple[str, str],
    first: tuple[str, float] | None,
    second: tuple[str, float] | None,
    likely: float = LIKELY,
) -> bool:
    """Whether the router answers the two parts of ``text`` one after the other, from each part's
    reading (:func:`answer_reading`): one clear and the other ``likely`` after a question, both
    clear after a statement (bench/two_questions.py tries other values of ``likely``)."""
    return both_answered(first, second, likely if opens_with_a_question(text, parts) else CLEAR)


def _split(text: str, cut: re.Match[str]) -> tuple[str, str]:
    first = text[: cut.start()].strip() + ("?" if text[cut.start()] == "?" else "")
    return first, _LEADING_CONNECTIVE.sub("", text[cut.end() :].strip()).strip()


def answer_reading(parsed: dict[str, Any]) -> tuple[str, float] | None:
    """What a part is about ("knowledge:voicemail_disable", "sim_pin_puk") and how sure the
    reading is (for an article the lower of the intent's and the article's confidence), or None
    for a part that is no answer: small talk, out of scope, fallback or for a person (then the
    message stays whole: the escalation guard reads it as today)."""
    intent = parsed.get("intent") or {}
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    if name == KNOWLEDGE_INTENT:
        article = parsed.get("article") or {}
        if not article.get("id"):
            return None
        sure = min(confidence, float(article.get("conditional") or 0.0))
        return f"{KNOWLEDGE_INTENT}:{article['id']}", sure
    return (name, confidence) if is_answer_topic(name) else None


def both_answered(
    first: tuple[str, float] | None, second: tuple[str, float] | None, likely: float = LIKELY
) -> bool:
    """Answer the two parts one after the other: each is an answer about something else, one
    is clear and the other at least ``likely`` ("hoe activeer ik mijn esim? en hoeveel kost
    bellen naar marokko?": 0.67 and 0.97; read whole, only Morocco was answered). After a
    statement the router asks :data:`CLEAR` of both (:func:`opens_with_a_question`)."""
    if first is None or second is None or first[0] == second[0]:
        return False
    return max(first[1], second[1]) >= CLEAR and min(first[1], second[1]) >= likely


def _count_words(text: str) -> int:
    return len(_WORD.findall(text))
