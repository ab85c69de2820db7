"""Small talk answered in kind: "how are you?" in the customer's words, in nl, fr and en.

The classifier reads "hoi, alles goed?", "ça va ?" and "hey, how are you" as a greeting (the
intent ``greet``); the greeting's reply then only chooses its wording here. A customer who asks
how the assistant is gets "fine, thanks" before the offer of help, instead of the introduction
a second time. The patterns match folded words (bot.core.unicode.plain_words), so case, accents
and punctuation do not count ("Ça va?", "ca va", "HOE GAAT HET").
"""

from __future__ import annotations

import re

from bot.core.unicode import plain_words

_HOW_ARE_YOU = re.compile(
    r"\b(?:"
    # English
    r"how (?:are|r) (?:you|u|ya|things)|how s it going|hows it going|how is it going"
    r"|how (?:you|u) doing|how s your day|how is your day|hows your day|you (?:ok|okay|alright)$"
    r"|hope (?:you re|you are|ur|u r) (?:well|doing well|ok|good)"
    # French
    r"|ca va(?! pas| plus)|comment (?:vas tu|allez vous|tu vas|vous allez|va)"
    r"|(?:tu vas|vous allez|tu va) bien"
    r"|la forme|ca roule|quoi de neuf"
    # Dutch
    r"|hoe gaat (?:het|t|ie|ze|het met (?:je|jou|u))|alles (?:goed|ok|oke|oki|kits|wel)"
    r"|hoe is (?:het|t) (?:met (?:je|jou|u)|ermee)|hoe stelt u het|gaat het (?:goed|met je)"
    r")\b"
)


_GOODBYE = re.compile(
    r"\b(?:"
    r"bye|goodbye|see you|see ya|cya|take care"
    r"|have a (?:nice|good|great|lovely) (?:day|evening|weekend|one)"
    r"|au revoir|a plus|a bientot|a la prochaine|bonne (?:journee|soiree|fin de journee|nuit)"
    r"|bon (?:week end|weekend)"
    r"|daag|doei|tot ziens|tot later|tot de volgende|tot straks"
    r"|(?:fijne|prettige) (?:dag|avond|namiddag)"
    r"|ciao|salut"
    r")\b"
)


def says_goodbye(text: str) -> bool:
    """Whether a message takes leave ("thanks, bye", "merci, bonne journée", "bedankt, daag")."""
    return bool(_GOODBYE.search(plain_words(text)))


def without_how_are_you(text: str) -> str:
    """The message's folded words without its "how are you?" ("bonjour, ça va ? ma facture" ->
    "bonjour ma facture"): what is left says whether it asks anything else."""
    return " ".join(_HOW_ARE_YOU.sub(" ", plain_words(text)).split())


def asks_how_i_am(text: str) -> bool:
    """Whether the message asks how the assistant is ("alles goed?", "ça va ?", "how r u")."""
    return bool(_HOW_ARE_YOU.search(plain_words(text)))
