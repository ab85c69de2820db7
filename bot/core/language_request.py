"""A message that asks to go on in another language: "can we speak English?", "kan het in het
Nederlands aub", "en français svp", "parlez-vous néerlandais ?", "English?".

Belgian customers switch on purpose, and such a message says nothing else: detection alone reads
"can we speak english please" as English (right) but Rasa then reads "speak ... please" as a
request for a person, and "kan het in het Nederlands?" in a French chat as a question about the
language of the invoices. So the router answers it itself, in the language asked for.

Only a message made of nothing but a language's name and the words of such a request counts:
"my bill is in French, can I get it in Dutch?" and "je veux mes factures en néerlandais" carry
other words (bill, factures) and stay questions for Rasa; so does a message naming two languages.
"""

from __future__ import annotations

import re

# The names a customer uses for each language, in the three languages (lower case, no accents
# needed: both spellings listed).
LANGUAGE_NAMES: dict[str, str] = {
    **dict.fromkeys(("english", "engels", "anglais", "engelstalig"), "en"),
    **dict.fromkeys(("dutch", "flemish", "nederlands", "vlaams", "nederlandstalig"), "nl"),
    **dict.fromkeys(("néerlandais", "neerlandais", "flamand"), "nl"),
    **dict.fromkeys(("french", "frans", "franstalig", "français", "francais", "francophone"), "fr"),
}

# Words of a request to talk, write or go on in a language, and the politeness around it.
_REQUEST_WORDS = frozenset(
    """
    can could would will we you u i me us please pls plz speak talk write chat answer reply continue
    go on in do does is it possible switch to change language the lets let s let's like prefer rather
    sorry only hello hi hey ok okay thanks thx yes yeah someone anyone here with there instead
    again help may am
    kan kunnen kun kunt je jij u we wij het in spreken spreek spreekt praten praat schrijven schrijf
    antwoorden antwoord verder gaan doen graag aub ajb alstublieft alsjeblieft mag mogen ik dat taal
    veranderen wisselen overschakelen overstappen naar liever alleen hallo hoi dag oké oke
    dank bedankt ja iemand die er is hier met me mij ook even eens verderdoen
    on peut peux pouvez pourriez pourrait parler parlez parles parle écrire ecrire répondre repondre
    continuer en s il vous plaît plait svp stp est ce que possible c est je tu préfère prefere
    préférerais prefererais plutôt plutot désolé desole seulement bonjour salut merci oui quelqu un
    qui langue changer passer à a le la avec moi ici y t l s'il qu'un quelqu'un c'est
    aussi encore allez
    """.split()
)
# "I don't speak Dutch", "ik spreek geen Frans", "je ne parle pas anglais": the name is not the ask.
_NEGATIONS = frozenset({"not", "dont", "don't", "niet", "geen", "pas"})

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
MAX_WORDS = 12


def asked_language(text: str) -> str | None:
    """The language a message asks the conversation to go on in, or None (see the module
    docstring). A negated name ("I don't speak Dutch") asks for nothing in particular: None."""
    if text.lstrip().startswith("/"):
        return None
    words = [w.lower().replace("’", "'") for w in _TOKEN.findall(text)]
    if not words or len(words) > MAX_WORDS:
        return None
    named = {LANGUAGE_NAMES[w] for w in words if w in LANGUAGE_NAMES}
    if len(named) != 1:
        return None
    if any(w in _NEGATIONS or w.endswith("n't") for w in words):
        return None
    others = [w for w in words if w not in LANGUAGE_NAMES]
    if all(_request_word(w) for w in others):
        return named.pop()
    return None


def _request_word(word: str) -> bool:
    if word in _REQUEST_WORDS:
        return True
    # French elisions ("s'il", "qu'un", "c'est") and their halves
    return "'" in word and all(part in _REQUEST_WORDS for part in word.split("'") if part)
