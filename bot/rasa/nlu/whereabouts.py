"""Where the caller is and where the call goes: four features the sentence encoders do not see.

"How much to call Turkey from Belgium?" is a question about international calls from home;
"how much to call Belgium from Turkey?" is roaming. The two differ only in word order: the
sentence encoders put them next to each other and the character n-grams (inside words) cannot
tell them apart, so the classifier chose between them by chance (in a probe of 30 such pairs,
15 right). ``CallWhereabouts`` reads four cues from the words around a place name, in Dutch,
French and English, and adds them as a dense feature the classifier weighs with the rest:

* ``caller_in_belgium``: "from Belgium", "vanuit Antwerpen", "depuis chez moi", "I'm not travelling";
* ``caller_abroad``: "from Spain", "ik zit in Turkije", "en vacances au Maroc", "while abroad";
* ``to_foreign``: "call Poland", "naar Marokko bellen", "appeler l'Algérie", "a French number";
* ``to_belgium``: "call home", "naar België bellen", "appeler la Belgique", "un numéro belge".

A cue is only a hint: the classifier learns from the training examples how much each one
counts for which intent or article, together with everything else it sees.
"""

from __future__ import annotations

import re
from typing import Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.rasa.nlu.cues import WORD_END, WORD_START, CueFeaturizer, alternatives, shown
from bot.rasa.nlu.places import BELGIAN_ADJECTIVES, BELGIAN_PLACES, FOREIGN_ADJECTIVES, FOREIGN_PLACES

_FOREIGN = alternatives(FOREIGN_PLACES)
_BELGIAN = alternatives(BELGIAN_PLACES)
_FOREIGN_ADJ = alternatives(FOREIGN_ADJECTIVES)
_BELGIAN_ADJ = alternatives(BELGIAN_ADJECTIVES)
_B = WORD_START
_E = WORD_END
# At most three in a row ("to my", "vers l'", "naar de"): unbounded, "de de de ..." took 0.17 s
# to reject at 2,000 characters (every start tried every length).
_ART = r"(?:(?:the|le|la|les|de|het|een|a|an|un|une|mijn|my|mon|ma|mes|our|onze|ons) |l'){0,3}"
_LINE = (
    r"(?:numbers?|mobiles?|landlines?|phones?|nummers?|gsm|vaste lijn|vast nummer|numeros?|portables?|"
    r"fixes?|lignes?)"
)
# "van" and "de" are left out in Dutch ("de hoofdstad van Australië"); French "de"/"d'"/"du"
# mostly mean "from" before a country ("appeler d'Espagne"), "Tour de France" aside.
_FROM = r"(?:from|vanuit|vanop|vanaf|uit|depuis|de|du|des|d'|a partir de|a partir du)"
_BEING_IN = (
    r"(?:i'm|im|i am|i live|living|based|staying|while|when|currently|zit|zitten|ben|woon|verblijf|"
    r"je suis|jsuis|chuis|j'habite|je vis|je reste|je me trouve|je sejourne)"
)
_TRIP = (
    r"(?:on holiday|on vacation|on a trip|travelling|traveling|op reis|op vakantie|en vacances|"
    r"en voyage|en deplacement|en sejour)"
)
_GOING = r"(?:heading|going|flying|travel|off|moving|gaan|ga|vlieg|vertrek|je pars|je vais|partir)"
# Calling (any form, and the nouns); texting only right before the place ("sms naar Polen"):
# "phone" and "text" are nouns as often as verbs ("use my phone in Morocco").
_CALLING = (
    r"(?:j'|d'|m')?(?:call|calls|calling|called|ring|ringing|bellen|bel|belt|gebeld|gesprek|gesprekken|"
    r"oproep|oproepen|telefoontje|telefoontjes|telefoongesprek|coup de fil|appeler|appelle|appelles|"
    r"appel|appels|telephoner)"
)
_CALL = (
    r"(?:" + _CALLING + r"|phone|phoning|telephone|text|texting|texts|sms|sms'en|smsen|sms'je|envoyer un sms|"
    r"envoyer des sms|texto)"
)
_TO = r"(?:to|naar|vers|pour|en|au|aux|a)"  # French "appeler en Espagne" is calling Spain
_WORD = r"(?!(?:from|vanuit|vanop|uit|depuis|while|when|tijdens|als|pendant|quand|in|op|te)\b)[\w']+ "
_SOMEONE_IN = r"[\w']+ (?:[\w']+ )?(?:in|en|au|aux|a) " + _ART  # "naar mijn zus in Spanje"
_TO_ADJ = r"(?:(?:to|naar|vers|call|calling|bellen|appeler) " + _ART + r"|(?:a|an|een|un|une) )"
# Talking with someone abroad is calling them: "talk to someone in Morocco", "praten met mijn zus in
# Spanje", "parler à ma mère au Maroc" (in Belgium; "while I'm in Spain" is where the caller is).
_TALKING_WITH = (
    r"(?:(?:talk|talking|speak|speaking|chat|chatting) (?:to|with)|(?:praten|spreken|babbelen|bellen) met|"
    r"(?:parler|discuter|telephoner) (?:a|avec))"
)


def _destination(places: str, adjectives: str) -> List[re.Pattern[str]]:
    """Calling (or texting) a place: "call Poland", "bel vaak naar Suriname", "calling my family in
    Morocco", "a French number", "naar mijn Belgisch nummer", "un fixe belge"."""
    return [
        re.compile(rf"{_B}{_CALL} (?:{_WORD})?(?:{_TO} )?{_ART}{places}{_E}"),
        re.compile(rf"{_B}{_CALLING}{_E}.{{0,30}}{_B}(?:naar|vers|to) {_ART}(?:{_SOMEONE_IN})?{places}{_E}"),
        re.compile(rf"{_B}(?:naar|vers) {_ART}{places}{_E}.{{0,20}}{_B}{_CALLING}"),
        re.compile(rf"{_B}{_CALLING} (?:{_WORD}){{1,3}}(?:in|en|au|aux) {_ART}{places}{_E}"),
        re.compile(rf"{_B}{_TALKING_WITH} {_SOMEONE_IN}{places}{_E}"),  # "talk to my mum in Morocco"
        re.compile(rf"{_B}met {_SOMEONE_IN}{places} (?:te )?(?:praten|spreken|bellen|babbelen){_E}"),
        re.compile(rf"{_B}{_TO_ADJ}{adjectives} {_LINE}{_E}"),
        re.compile(rf"{_B}{_LINE} {adjectives}{_E}"),
    ]


def _location(places: str) -> List[re.Pattern[str]]:
    """Being somewhere: "from Spain", "ik zit in Turkije", "je suis au Maroc", "here in Italy",
    "calling in France" (Dutch and English "in"; French "appeler en France" is a destination)."""
    return [
        re.compile(rf"{_B}{_FROM} ?{_ART}{places}{_E}"),
        re.compile(rf"{_B}{_BEING_IN} (?:here |now |nu |hier )?(?:in|en|a|au|aux|te|op) {_ART}{places}{_E}"),
        re.compile(rf"{_B}(?:here|hier|ici) (?:in|en|a|au|aux) {_ART}{places}{_E}"),
        re.compile(rf"{_B}(?:call|calling|calls|bellen|bel) (?:in|op) {_ART}{places}{_E}"),
    ]


_ABROAD = r"(?:naar het buitenland|call abroad|calling abroad|calls abroad|appeler a l'etranger)"
_HOME = r"(?:(?:call|calling|ring|phone|phoning) home|naar huis|(?:d'|j')?appeler (?:chez moi|a la maison))"
_AT_HOME = (
    r"(?:from here|from home|(?<!like )at home|not travell?ing|don't travel|dont travel|do not travel|"
    r"niet op reis|niet in het buitenland|van hier|van hieruit|vanop hier|vanuit huis|van thuis|"
    r"vanuit mijn kot|"
    r"zit thuis|gewoon thuis|d'ici|depuis ici|de chez moi|depuis chez moi|je suis chez moi|"
    r"pas en voyage|voyage pas)"
)
_AWAY = (
    r"(?:while abroad|when abroad|i'm abroad|im abroad|i am abroad|being abroad|in het buitenland|"
    r"je suis a l'etranger|quand je suis a l'etranger)"
)

PATTERNS: Dict[str, List[re.Pattern[str]]] = {
    "caller_in_belgium": [*_location(_BELGIAN), re.compile(rf"{_B}{_AT_HOME}{_E}")],
    "caller_abroad": [
        *_location(_FOREIGN),
        re.compile(rf"{_B}{_TRIP}{_E}"),
        re.compile(rf"{_B}{_GOING} (?:to|naar|en|au|aux|a) {_ART}{_FOREIGN}{_E}"),
        re.compile(rf"{_B}{_AWAY}{_E}"),
    ],
    "to_foreign": [*_destination(_FOREIGN, _FOREIGN_ADJ), re.compile(rf"{_B}{_ABROAD}{_E}")],
    "to_belgium": [*_destination(_BELGIAN, _BELGIAN_ADJ), re.compile(rf"{_B}{_HOME}{_E}")],
}


def whereabouts(text: str) -> Dict[str, bool]:
    """Which of the four cues the text shows."""
    return shown(PATTERNS, text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class CallWhereabouts(CueFeaturizer):
    """Adds the four cues as one dense sentence feature (``weight`` for a cue, 0 without)."""

    PATTERNS = PATTERNS


CUES = tuple(PATTERNS)
