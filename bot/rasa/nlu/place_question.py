"""A coverage question names a place or the network.

``coverage_check_place`` learned from many short follow-ups ("and in Ghent?", "covrage in
Vilvoorde?", a bare "Tienen"), so any short question ending in an unknown word leaned to it: "can
you recommend a good phone?" (0.52), "en voor mijn zoon?" (0.85), "and for my daughter?" (0.63)
got "Which town or postcode would you like me to check?". ``ArticleDecision`` sets the intent aside,
wherever it ranks, when the message is longer than a bare name and names neither a place (a town
or country we know, a postcode, a capitalised name, "in/bij/près de" + a word, "here/thuis/chez
moi") nor the network (coverage, signal, bereik, réseau, 4G ...); the rest of the ranking
decides. Every training and held-out example of the intent names one or the other
(tests/rasa/test_place_question.py).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from bot.rasa.nlu.cues import WORD_END, WORD_START, alternatives, folded
from bot.rasa.nlu.places import BELGIAN_PLACES, FOREIGN_PLACES, words

PLACE_INTENT = "coverage_check_place"
BARE = 2  # words: "Tienen", "antwerpn?", "and Ghent": a name the lists may lack

_NETWORK = re.compile(
    r"netwerk|bereik|dekking|ontvangst|streepje|balkje|reseau|couvert|couverture|capte|barre|"
    r"coverage|cover|network|signa|recep|antenn|mast|\b[2345]g\b|\blte\b|\bdata\b|internet|wifi|"
    r"connect|verbinding|bereikbaar|joignable|reachable|dead zone|zone blanche"
)
_WHERE = words(
    """
    here, there, hier, daar, ginder, ici, la bas, thuis, home, maison, chez moi, chez nous, address,
    adres, adresse, area, buurt, wijk, quartier, regio, region, streek, village, dorp, town, stad,
    ville, city, street, straat, rue, postcode, code postal, campagne, platteland, countryside,
    coast, kust, cote, seaside, zee, mer, mountains, bergen, montagne, ardennes, ardennen, camping
    """
)
_PLACE = re.compile(WORD_START + alternatives((*BELGIAN_PLACES, *FOREIGN_PLACES, *_WHERE)) + WORD_END)
_POSTCODE = re.compile(r"(?<!\d )(?<!\d)\d{4}(?! ?\d)")  # "9000", not "0499 88 77 66"
_PREPOSITION = re.compile(
    r"\b(?:in|at|near|around|bij|rond|nabij|te|op|au|aux|pres de|autour de|naar)"
    r" (?:de |het |la |le |les |the |l')?[a-z'-]{3,}"
)
_A_TOWN = re.compile(r"(?:^|\s)à [^\W\d_]{3,}")  # "à Namur"; folded "a" is also "a good phone"
_NAME = re.compile(r"(?<=\s)[A-Z][a-zà-ÿ'-]{2,}")  # "Durbuy", not the first word


def names_place_or_network(text: str) -> bool:
    """Whether a coverage answer fits the message (module docstring)."""
    plain = folded(text)
    if len(plain.split()) <= BARE:
        return True
    if _NETWORK.search(plain) or _PLACE.search(plain) or _POSTCODE.search(plain):
        return True
    if _PREPOSITION.search(plain) or _A_TOWN.search(text.lower()):
        return True
    return bool(_NAME.search(text.strip()))


def without_placeless_question(text: str, ranking: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The ranking without the place question when the message names no place nor the network,
    wherever it ranks (second behind the help centre it was "rescued" to 0.82 for "en voor mijn
    zoon?"); the others' confidences are read given that it is not one (renormalised)."""
    place = next((e for e in ranking if e.get("name") == PLACE_INTENT), None)
    if place is None or names_place_or_network(text):
        return ranking
    rest = [e for e in ranking if e is not place]
    left = 1.0 - float(place.get("confidence") or 0.0)
    if left <= 0:
        return rest
    return [{**entry, "confidence": float(entry.get("confidence") or 0.0) / left} for entry in rest]
