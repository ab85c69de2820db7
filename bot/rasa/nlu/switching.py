"""Which way a customer moves between operators: coming to us, or leaving us for another one.

"I'm coming to you from Orange, can I keep my number?" is number porting (an answer);
"I'm leaving you for Orange, how do I keep my number?" is a cancellation (a person). The words
are the same but for the direction, which the sentence encoders do not see: before this step
the assistant answered "we'll handle the switch for you!" to a customer on the way out.
``OperatorSwitch`` adds two cues (see ``bot.rasa.nlu.cues``) in Dutch, French and English:

* ``joining_us``: "switching to you", "ik kom van Proximus", "je viens de chez Base";
* ``leaving_us``: "going over to Telenet", "ik neem mijn nummer mee naar Base", "je vous quitte".
"""

from __future__ import annotations

import re
from typing import Dict

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.rasa.nlu.cues import WORD_END as _E
from bot.rasa.nlu.cues import WORD_START as _B
from bot.rasa.nlu.cues import CueFeaturizer, Patterns, alternatives, shown
from bot.rasa.nlu.places import words

OPERATORS = words(
    """
    proximus, orange, base, telenet, mobile vikings, vikings, scarlet, voo, digi, lycamobile, lebara,
    jim mobile, hey telecom, yoin, kpn, vodafone, t mobile, odido, simyo, youfone, tele2, ben,
    sfr, bouygues, free mobile, tango, post luxembourg
    """
)
_OPERATOR = alternatives(OPERATORS)
_OTHER = (
    r"(?:another|an other|a different|other|een andere|een ander|ander|andere|un autre|une autre|autre)"
    r" (?:operator|provider|network|company|carrier|operateur|fournisseur|reseau|aanbieder|netwerk|"
    r"maatschappij|provider)"
)
_RIVAL = (
    rf"(?:(?:the |a |de |la |een )?{_OPERATOR}|{_OTHER}|the competition|a competitor|de concurrent|"
    r"de concurrentie|la concurrence|un concurrent|elsewhere|ergens anders|ailleurs)"
)
_US = r"(?:you|u|jullie|vous|you guys|your network|uw netwerk|jullie netwerk|votre reseau|chez vous)"
_MOVING = (
    r"(?:switch|switching|come|coming|move|moving|bring|bringing|join|joining|transfer|port|porting|"
    r"overstappen|overstap|stap|stappen|kom|komen|overkomen|verhuizen|meenemen|overzetten|"
    r"passer|passe|venir|viens|rejoindre|transferer|amener)"
)

PATTERNS: Patterns = {
    "joining_us": [
        re.compile(rf"{_B}{_MOVING}{_E}.{{0,25}}{_B}(?:to|naar|chez|bij|over to) {_US}{_E}"),
        re.compile(rf"{_B}naar (?:jullie|u) (?:toe )?(?:[\w']+ )?(?:komen|kom|overstappen|overkomen){_E}"),
        re.compile(rf"{_B}(?:from|van|vanaf|vanuit|de chez|depuis|weg bij|weg van) {_RIVAL}{_E}"),
        re.compile(rf"{_B}(?:become a customer|becoming a customer|klant worden|devenir client){_E}"),
    ],
    "leaving_us": [
        re.compile(rf"{_B}(?:to|naar|vers|for|over to|over naar|(?<!de )(?<!depuis )chez) {_RIVAL}{_E}"),
        re.compile(
            rf"{_B}(?:leave|leaving|quit|quitting|done with) {_US}{_E}|"
            r"weg bij jullie|jullie verlaten|verlaat jullie|bij jullie weg|"
            r"vous quitter|je vous quitte|quitter votre|quitte votre|en ai assez de vous"
        ),
        re.compile(
            rf"{_B}(?:port(?:ing)? (?:me|my number) out|port out|number away from you|"
            r"take my number (?:elsewhere|away)|taking my number (?:elsewhere|away)|"
            r"nummer bij jullie weg|mon numero ailleurs)"
        ),
    ],
}


def switching(text: str) -> Dict[str, bool]:
    """Which of the two cues the text shows."""
    return shown(PATTERNS, text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class OperatorSwitch(CueFeaturizer):
    """Adds the two cues as one dense sentence feature (``weight`` for a cue, 0 without)."""

    PATTERNS = PATTERNS
