"""A waiting customer who no longer needs a person: "never mind, I found it", "laat maar, het is al
opgelost", "c'est bon, ça remarche".

The customer gets the way out offered in so many words (the queue's "leave" button first) instead
of "your message was passed on to our colleague"; a "yes" typed to that offer takes them out of
the queue (bot/router/). Nobody is taken out on these words alone: "never mind the bill, my
internet is still down" must keep its place.
"""

from __future__ import annotations

import re

from bot.core.unicode import plain_words

_PATTERNS = [
    # English
    r"\bnever ?mind\b",
    r"\bforget (it|about it)\b",
    r"\bno (longer|more) need",
    r"\b(dont|don t|do not) need (it|help|anyone|anybody|a person|someone|you) (anymore|any more|now)\b",
    r"\bno need (anymore|any more|now)\b",
    r"\b(its|it s|it is|all|everything s|everything is|problem|issue) "
    r"(sorted|solved|fixed|resolved|working again|ok now|fine now|good now)\b",
    r"\b(found|figured) it( out)?\b",
    r"\bcancel (my|the) (request|question|chat)\b",
    r"\bworks again\b",
    r"\b(i ve |i have |i )?changed my mind\b",
    r"^(no |nah |actually )*(on second thought|not anymore|no longer)$",
    # Dutch
    r"\blaat (maar|het maar|maar zitten)\b",
    r"\b(is|al|alles|probleem) (al )?opgelost\b",
    r"\b(het )?werkt (weer|terug|alweer)\b",
    r"\bniet (meer )?nodig\b",
    r"\bhoeft niet meer\b",
    r"\bvergeet (het|maar)\b",
    r"\b(ik )?heb het (al )?gevonden\b",
    r"\b(al|is) (in orde|geregeld)\b",
    r"\bannuleer\b",
    # changed their mind, in so many words ("het werkt toch niet" is a problem, not this)
    r"^((nee|neen|ah|oh|ok|oke) )*(ik )?(toch (maar )?niet|laat toch maar)( meer)?$",
    r"\b(ik )?(heb me|ben) bedacht\b",
    # French
    r"\blaisse[sz]? tomber\b",
    r"\bc est (bon|regle|resolu|ok|arrange)\b",
    r"\b(j ai|jai) trouve\b",
    r"\b(ca|cela) (re)?(marche|fonctionne) (a nouveau|de nouveau|maintenant)\b",
    r"\b(ca|cela) remarche\b",
    r"\bplus besoin\b",
    r"\bprobleme (resolu|regle)\b",
    r"\brentre dans l ordre\b",
    r"\bannule[rz]? (ma|la) (demande|question)\b",
    r"\boubliez\b",
    r"^(non )?finalement (non|pas|plus|c est bon|ca ira)$",
    r"\b(j ai|jai|je) change(r)? d avis\b",
]
_WITHDRAWS = re.compile("|".join(_PATTERNS))
MAX_WORDS = 16  # a longer message tells the agent more than that it is no longer needed


def withdraws(text: str) -> bool:
    """True when a waiting customer's message says a person is no longer needed."""
    plain = plain_words(text)
    if not plain or text.lstrip().startswith("/") or len(plain.split()) > MAX_WORDS:
        return False
    return bool(_WITHDRAWS.search(plain))


_YES = frozenset(
    "yes yeah yep please ok okay sure thanks thank you ja jawel graag oke doe maar goed bedankt dank je u "
    "oui ouais d accord volontiers svp merci".split()
)


def confirms(text: str) -> bool:
    """A short yes ("ja graag", "oui svp", "yes please") to the offer to leave the queue."""
    return _all_yes(plain_words(text).split())


def _all_yes(words: list[str]) -> bool:
    return 0 < len(words) <= 4 and all(w in _YES for w in words)


_ACCEPTING = frozenset("yes yeah yep sure please ja jawel graag oui ouais volontiers svp".split())
_THANKING = frozenset("thanks thank merci bedankt dank".split())


def accepts(text: str) -> bool:
    """A short yes that accepts an offer ("ja graag", "yes please", "oui"), not an acknowledgement
    ("ok", "ok merci", "ja bedankt" may only close the answer)."""
    words = plain_words(text).split()
    return _all_yes(words) and any(w in _ACCEPTING for w in words) and not any(w in _THANKING for w in words)
