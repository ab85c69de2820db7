"""A problem told with "what can I do?" after it is read as the problem alone.

Customers wrap a clear question in words that carry no topic: "mijn internet is super traag
sinds gisteren, wat kan ik doen?", "ma facture est trop élevée, vous pouvez m'aider ?",
"Hello, my texts won't send, any idea?". The sentence encoders read the whole sentence, and the
help request pulls it towards the intents whose examples are made of such words ("what can you
do?" is ``capabilities``): slow data fell from 0.96 alone to 0.27 with "wat kan ik doen?" and the
customer got "I'm not sure I understand".

``without_filler`` drops a greeting at the start and a help request at the end when what stays
is a message of its own (at least ``MIN_WORDS_LEFT`` words); "wat kan ik doen?" on its own, or
"hello", stays as typed. The sentence encoders and the help centre's BM25 read the result
(bot.rasa.nlu.shorthand.text_for_features), in training and at run time alike; the character
n-grams, the stored text and the language detection still see everything.
"""

from __future__ import annotations

import re
import unicodedata

MIN_WORDS_LEFT = 3

_HELP_REQUEST = (
    # English
    r"what (?:can|could|should|do|shall) i do(?: about (?:it|this|that))?(?: now)?"
    r"|what now|what do i do now|what are my options|any (?:ideas?|tips?|advice|help)"
    r"|(?:can|could) (?:you|u|someone|anyone|somebody) (?:please |pls )?help"
    r"(?: me)?(?: out| with (?:this|that))?"
    r"|(?:please |pls |plz )?help(?: me)?(?: please| pls| plz)?"
    r"|thanks in advance|thx in advance|how do i (?:fix|solve) (?:this|it|that)"
    # Dutch
    r"|wat (?:kan|moet) ik (?:nu )?(?:doen|hieraan doen|daaraan doen|eraan doen)|wat nu"
    r"|wat moet ik nu|hoe los ik (?:dit|dat|het) op|(?:iemand )?(?:een )?idee\s*\?"
    r"|(?:kunnen|kan|kunt) (?:jullie|je|u|iemand) (?:mij |me )?(?:daarmee |hiermee )?helpen"
    r"|help(?: mij| me)?(?: aub| a\.u\.b\.| alstublieft| alsjeblieft| svp)?|hulp (?:aub|gevraagd|nodig)"
    r"|alvast bedankt|alvast dank|bedankt op voorhand"
    # French
    r"|(?:je|j|on) (?:fais|fait) quoi(?: maintenant)?|que (?:dois je|puis je|faire|je fais)"
    r"|qu(?:'| )?est ce que je (?:dois|peux) faire|comment (?:je fais|faire|regler ca)"
    r"|(?:vous pouvez|pouvez vous|tu peux|peux tu|quelqu(?:'| )?un peut) m(?:'| )?aider"
    r"|aidez moi|aide moi|(?:une |des )?idees?\s*\?|merci d(?:'| )?avance|svp aidez moi"
)

# Polite words after the request, with the punctuation around them. Each repetition must take a
# word: with "\?+" as an alternative inside the repetition, "help ???…?x" backtracked
# exponentially (24 question marks: 22 s; a message may have 2,000 characters).
_POLITE_END = r"(?:[\s?!.]*(?:svp|stp|aub|please|pls|plz|merci|thanks|thx|bedankt|🙏|😕|😩))*"
_TAIL = re.compile(
    r"(?:^|[\s,.;:!?–-])\s*(?:" + _HELP_REQUEST + r")" + _POLITE_END + r"[\s?!.]*$",
    re.IGNORECASE,
)

_GREETING = re.compile(
    r"^\s*(?:hello|hallo|hello there|hi|hi there|hey|hey there|hoi|dag|goedemiddag|goedemorgen"
    r"|goedenavond|bonjour|bonsoir|salut|coucou|good morning|good afternoon|good evening)"
    r"(?:\s+(?:mila|team|there|allemaal|madame|monsieur))?\s*[,!.:;–-]+\s*",
    re.IGNORECASE,
)

_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def without_filler(text: str) -> str:
    """``text`` without an opening greeting and a closing help request, when enough is left."""
    kept = text
    greeting = _GREETING.match(kept)
    if greeting and _words(kept[greeting.end() :]) >= MIN_WORDS_LEFT:
        kept = kept[greeting.end() :]
    tail = _TAIL.search(_plain(kept))
    if tail and _words(kept[: tail.start()]) >= MIN_WORDS_LEFT:
        kept = kept[: tail.start()].rstrip(" ,;:–-")
    return kept


def _plain(text: str) -> str:
    """Same length as ``text`` (offsets stay valid), without accents; curly apostrophes and
    hyphens read as plain ones ("qu’est-ce", "régler")."""
    return "".join(unicodedata.normalize("NFD", c)[0] for c in text.replace("’", "'").replace("-", " "))
