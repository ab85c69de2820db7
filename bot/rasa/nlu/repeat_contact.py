"""A customer who says they have asked before goes to a person.

"I've asked this 3 times already and nobody answers!! my internet doesn't work" names a topic
the bot could answer, and the classifier picks that topic; but a repeat contact is the case a
webcare team wants to see itself: the bot's answer would be the fourth one that did not help.
Before this step the first message above got "is it about one of these?", and its Dutch version
was handed over as fraud ("block your SIM now").

``asked_before`` reads the customer's own words for a repeat contact, in Dutch, French and
English: a number of times or "already" with a verb of contacting (asked, written, called you,
gevraagd, gemaild, demandé, écrit, ...), "how many times do I have to ask", "nobody answers",
"still no solution".
A repeated event is not a repeat contact: "the third time this month my network drops" and "I
called Morocco three times" name no contact with us. ``RepeatContact`` has the last word in the
pipeline (after the escalation guard): a message that shows it becomes ``sensitive_complaint``,
unless the classifier is itself sure of another sensitive case (a third report of fraud is
still fraud) or the customer asks for a person.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.taxonomy import REQUEST_HUMAN, SENSITIVE_PREFIX
from bot.rasa.nlu.component import ConfiguredComponent
from bot.rasa.nlu.cues import WORD_END as _E
from bot.rasa.nlu.cues import WORD_START as _B
from bot.rasa.nlu.cues import folded

COMPLAINT = "sensitive_complaint"

_NUMBER = (
    r"(?:\d+|two|three|four|five|six|ten|twenty|several|many|multiple|so many|countless|a few|a dozen|"
    r"twee|drie|vier|vijf|zes|tien|twintig|meerdere|verschillende|zoveel|zo veel|zo vaak|vaak|een paar|"
    r"deux|trois|quatre|cinq|six|dix|vingt|plusieurs|mille|cent|tellement de|un tas de)"
)
_ORDINAL = (
    r"(?:\d+(?:st|nd|rd|th|e|de|ste|eme|er|ieme)?|second|third|fourth|fifth|umpteenth|nth|hundredth|"
    r"tweede|derde|vierde|vijfde|zoveelste|honderdste|"
    r"deuxieme|troisieme|quatrieme|cinquieme|enieme|nieme|centieme)"
)
_TIMES = (
    rf"(?:{_NUMBER} (?:times|keer|maal|fois)|{_ORDINAL} (?:time|keer|maal|fois)|keer op keer|time and again)"
)
# Having contacted us (past forms only: "can I ask why I paid 2 times" is a billing question),
# not having made calls: "called" and "gebeld" need us as their object.
_CONTACTED = (
    r"(?:asked|contacted|written|wrote|emailed|e mailed|mailed|messaged|chatted|reported|explained|"
    r"complained|told you|told u|"
    r"called (?:you|u|your|customer service|the helpdesk|the help desk|1922)|rang (?:you|u)|phoned (?:you|u)|"
    r"gevraagd|gecontacteerd|contact opgenomen|geschreven|gemaild|gemeld|uitgelegd|geklaagd|gechat|"
    r"doorgegeven|aangegeven|"
    r"(?:jullie|u|de klantendienst|de helpdesk|1922|jou) (?:al )?(?:\w+ )?(?:keer )?gebeld|"
    r"demande|redemande|contacte|ecrit|envoye|signale|explique|ai reclame|relance|"
    r"appele (?:le service|votre|le 1922|chez vous)|vous ai appele|t'ai demande)"
)
# Asking now, after times before: "the third time I'm asking", "de derde keer dat ik bel".
_ASKING = (
    r"(?:(?:i'm|im|i am|i've been|ive been) (?:asking|writing|contacting|calling you|calling u|messaging)|"
    r"(?:dat|da) ik (?:\w+ ){0,3}(?:vraag|bel|mail|schrijf|contacteer|contact opneem|stuur)|"
    r"que je (?:\w+ ){0,3}(?:demande|redemande|ecris|contacte|appelle|envoie|relance))"
)
# Nobody at our end reacts ("nobody answers" alone is also a call nobody picks up).
_NOBODY = (
    r"(?:(?:nobody|no one|noone|no body) (?:ever )?(?:replies|replied|responds|responded|gets back|got back|"
    r"calls back|called back|answers me|answered me|answers my|answered my|helps me|helped me|reacts)|"
    r"(?:still|never) (?:got |get |had |received )?(?:no |an |any )?(?:answer|reply|response)|"
    r"niemand (?:die )?(?:reageert|belt terug|belt mij terug|helpt mij|helpt me|laat iets weten|"
    r"antwoordt op mijn|antwoordt mij|antwoord op mijn)|"
    r"(?:nog altijd|nog steeds|nooit) (?:geen |een )?(?:antwoord|reactie)|"
    r"personne ne (?:me repond|me rappelle|rappelle|m'aide|reagit|repond jamais|repond a mes|repond a mon)|"
    r"(?:toujours pas|jamais) (?:de |eu de |recu de )?(?:reponse|retour))"
)
# Still no solution: the problem was brought to us before ("nog steeds geen oplossing voor mijn
# factuur", "toujours pas résolu"), not a symptom that goes on ("my network still drops").
_UNSOLVED = (
    r"(?:(?:still|never) (?:got |had |received |found |any )?(?:no |a |any )?(?:solution|fix|resolution)|"
    r"(?:still|never) (?:not |been )?(?:solved|resolved|sorted out)|"
    r"(?:nog steeds|nog altijd|nooit) (?:geen |niet |niks |niets )?(?:oplossing|opgelost|geregeld)|"
    r"(?:nog steeds|nog altijd) (?:niks|niets) (?:\w+ )?(?:opgelost|gedaan|geregeld)|"
    r"(?:toujours|jamais) (?:pas |aucune |eu )?(?:de |d'|une )?(?:solution|resolu|regle)|"
    r"toujours rien (?:de )?(?:regle|resolu))"
)
# "for the fourth time: my SIM doesn't work" (not "for the third time this month": an event)
_FOR_THE_NTH = (
    rf"(?:for the|voor de|pour la) {_ORDINAL} (?:time|keer|maal|fois)"
    r"(?! (?:this|that|in|on|deze|dit|die|op|in|ce|cette|de suite|d'affilee|en))"
)

PATTERNS: List[re.Pattern[str]] = [
    re.compile(rf"{_B}{_TIMES}{_E} (?:\w+ ){{0,4}}{_CONTACTED}{_E}"),
    re.compile(rf"{_B}{_CONTACTED}{_E} (?:\w+ ){{0,4}}{_TIMES}{_E}"),
    re.compile(rf"{_B}{_TIMES}{_E} (?:\w+ ){{0,2}}{_ASKING}{_E}"),
    re.compile(rf"{_B}(?:already|al|reeds|deja) (?:\w+ ){{0,2}}{_CONTACTED}{_E}"),
    re.compile(
        rf"{_B}{_CONTACTED} (?:\w+ ){{0,3}}(?:already|before|yesterday|last week|al eens|eerder|deja){_E}"
    ),
    re.compile(
        r"(?:how many times|how often) (?:do|must|have|should|will) (?:i|we) (?:\w+ ){0,3}"
        r"(?:ask|tell|write|explain|contact|call you|call u|repeat)|"
        r"hoe (?:vaak|veel keer|dikwijls) (?:moet|heb|ga) ik (?:het |dit |dat )?(?:nog|nu nog)|"
        r"combien de fois (?:je dois|dois je|faut il|il faut|est ce que je dois) (?:\w+ ){0,3}"
        r"(?:demander|redemander|ecrire|expliquer|contacter|appeler|repeter|redire)"
    ),
    re.compile(rf"{_B}{_FOR_THE_NTH}"),
    re.compile(rf"{_B}(?:jullie|de klantendienst|de helpdesk|1922) (?:\w+ ){{0,3}}gebeld{_E}"),
    re.compile(rf"{_B}{_NOBODY}{_E}"),
    re.compile(rf"{_B}{_UNSOLVED}{_E}"),
]


def asked_before(text: str) -> bool:
    """Whether the customer says they have contacted us about this before."""
    plain = folded(text or "")
    return any(p.search(plain) for p in PATTERNS)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RepeatContact(ConfiguredComponent):
    """A repeat contact becomes a complaint for a person (module docstring); last in the pipeline."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # another sensitive case keeps the message when the classifier gives it this much alone
        return {"keep_sensitive": 0.5}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.keep_sensitive = float(config["keep_sensitive"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not asked_before(message.get(TEXT) or "") or self._keeps(message):
                continue
            message.set(INTENT, {"name": COMPLAINT, "confidence": 1.0}, add_to_output=True)
            message.set("repeat_contact", True, add_to_output=True)
        return messages

    def _keeps(self, message: Message) -> bool:
        """A request for a person, or another sensitive case the classifier is sure of."""
        name = (message.get(INTENT) or {}).get("name") or ""
        if name == REQUEST_HUMAN:
            return True
        ranking = {e["name"]: float(e["confidence"]) for e in message.get("intent_ranking") or []}
        return name.startswith(SENSITIVE_PREFIX) and ranking.get(name, 0.0) >= self.keep_sensitive
