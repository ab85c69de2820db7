"""Greetings, thanks and goodbyes are never a problem for an editor to solve.

A message is a pleasantry when the NLU recognised it as one (``greet``, ``thanks``, ``goodbye``)
or when it holds nothing but such words, in Dutch, French or English, whatever the NLU made of
it ("hallo!", "merci beaucoup", "ok thanks bye"): the insights never list it as not understood or
unresolved. A greeting with a question in it ("hallo, mijn factuur is te hoog") is no pleasantry.
"""

from __future__ import annotations

import re

PLEASANTRY_INTENTS = frozenset({"greet", "thanks", "goodbye"})
# Lowercase words without accents; a message made only of these (and punctuation, emoji, digits
# of a masked number) is a pleasantry.
PLEASANTRY_WORDS = frozenset(
    """
    hallo hello hoi hey hi hei dag daag goedendag goeiedag goedemorgen goeiemorgen goedemiddag
    goedenavond morgen middag avond allo bonjour bonsoir salut coucou slt bjr good morning afternoon
    evening there yo
    bedankt dank danku dankje dankjewel dankuwel dankzij thanks thank thx ty merci beaucoup mille
    bien super top great perfect perfectjes prima oke ok okay okey oki k cool nice fijn
    je u you wel well heel zeer very much so veel a lot vous toi
    tot ziens later bye goodbye doei dag salut revoir au bonne journee soiree fijne nog een nice day
    cheers ciao
    """.split()
)
_WORD = re.compile(r"[a-z]+")
_ACCENTS = str.maketrans("àâäáéèêëíìîïóòôöúùûüçñ", "aaaaeeeeiiiioooouuuucn")


def is_pleasantry(text: str, intent: str | None = None) -> bool:
    """Whether ``text`` (recognised as ``intent``) only greets, thanks or says goodbye."""
    if intent in PLEASANTRY_INTENTS:
        return True
    words = _WORD.findall(text.casefold().translate(_ACCENTS))
    return bool(words) and len(words) <= 8 and all(word in PLEASANTRY_WORDS for word in words)
