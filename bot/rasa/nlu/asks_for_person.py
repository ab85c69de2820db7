"""An explicit request for a person, beside a question, goes to a person.

"ma facture est trop élevée et je veux parler à quelqu'un" got the higher-bill answer (0.66): the
bill outweighs the request in the classifier, and the escalation guard saw request_human at 0.01.
The customer has said what they want; answering the bill instead is the bot fighting them for
the conversation. ``asks_for_a_person`` reads the request itself, in Dutch, French and English:
a verb of talking with a person of ours ("je veux parler à un conseiller", "ik wil een
medewerker spreken", "let me talk to an agent"), or asking to be put through ("passez-moi
quelqu'un", "verbind me door", "transfer me to a human").

Not a request: a person the customer wants to call ("how much is it to talk to someone in
Morocco", "bellen met iemand in het buitenland"), a negation ("I don't want to talk to a
person"), and the classifier's own sensitive reading (fraud, a complaint) keeps its reason. A
request the classifier read weakly ("mijn 4g werkt niet. kan ik iemand van de klantendienst
spreken?": request_human at 0.38) becomes a sure one, so the customer hears "of course, I'll put
you through" rather than "I'd rather have a colleague look at this". Placed before
``RepeatContact``, which keeps a request for a person.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.taxonomy import REQUEST_HUMAN, SENSITIVE_PREFIX
from bot.rasa.nlu.component import ConfiguredComponent, first_in_ranking
from bot.rasa.nlu.cues import WORD_END as _E
from bot.rasa.nlu.cues import WORD_START as _B
from bot.rasa.nlu.cues import folded

# Someone of ours (staff), as a customer names them.
_STAFF = (
    r"(?:(?:a|an|the|one of your|your|a real|a live|an actual|some) )?"
    r"(?:human|human being|person|real person|live person|agent|live agent|operator|colleague|employee|"
    r"staff member|representative|rep|advisor|"
    r"adviser|consultant|customer service|customer support|helpdesk|help desk|someone real|somebody real|"
    r"someone from (?:mila|your|customer|the)|somebody from (?:mila|your|customer|the)|"
    r"(?:een |de |iemand van de |iemand van )?(?:mens|echte persoon|echt persoon|persoon|medewerker|"
    r"medewerkster|werknemer|operator|collega|adviseur|klantendienst|klantenservice|helpdesk|iemand van mila|"
    r"iemand van jullie|iemand van de klantendienst|echte mens)|"
    r"(?:un |une |le |la |un vrai |une vraie |quelqu'un du |quelqu'un de )?(?:humain|etre humain|personne|"
    r"vraie personne|conseiller|conseillere|agent|operateur|operatrice|collegue|employe|collaborateur|"
    r"service client|service clientele|chez vous|reel|vrai))"
)
# "someone" counts too, unless a place or a call follows ("talk to someone in Morocco").
_SOMEONE = (
    r"(?:someone|somebody|anyone|iemand|quelqu'un|qqn|qlq1)"
    r"(?! (?:in|abroad|from|at|on|who|that|overseas|in het|uit|op|die|naar|au|aux|en|a l'|dans|qui|de l'|"
    r"a l etranger|au maroc))"
)
# ... and is no line to add ("can I have a person added to my plan", "une personne en plus").
_NOT_ADDED = (
    r"(?! (?:added|extra|more|on my|to my|in my|supplementaire|en plus|de plus|sur mon|a mon|dans mon|"
    r"erbij|extra|toevoegen|op mijn|aan mijn|bij mijn))"
)
_TALK = (
    r"(?:talk|speak|chat|speaking|talking) (?:to|with)|get|have|connect me (?:to|with)|put me through to|"
    r"transfer me to|pass me to|give me"
)
_PRATEN = r"(?:praten|spreken|chatten|babbelen|contact)"
_PARLER = r"(?:parler|discuter|echanger|avoir|etre mis en relation|m'entretenir)"

PATTERNS: List[re.Pattern[str]] = [
    # English: "I want to talk to an agent", "let me speak with someone", "can I get a human"
    re.compile(
        rf"{_B}(?:want|wanna|need|would like|d like|like|let me|can i|could i|may i|pls|please|i demand)"
        rf" (?:to )?(?:\w+ )?(?:{_TALK}) (?:{_STAFF}|{_SOMEONE}){_E}{_NOT_ADDED}"
    ),
    re.compile(rf"{_B}(?:transfer me|put me through|connect me to a|escalate this to a|escalate to a){_E}"),
    # Dutch: "ik wil iemand spreken", "ik wil met een medewerker praten", "verbind me door"
    re.compile(
        rf"{_B}(?:wil|wou|zou graag|mag ik|kan ik|kun ik|moet) (?:\w+ )?(?:graag )?"
        r"(?:met |even met |nu met )?"
        rf"(?:{_STAFF}|{_SOMEONE}){_NOT_ADDED} (?:\w+ )?{_PRATEN}"
    ),
    re.compile(rf"{_B}(?:wil|wou) (?:\w+ )?(?:een |nu een )?(?:mens|medewerker|echte persoon){_E}"),
    re.compile(rf"{_B}(?:verbind|verbinden|doorverbinden|zet) (?:me|mij) (?:\w+ )?(?:door|met){_E}"),
    # French: "je veux parler à quelqu'un", "passez-moi un conseiller", "je voudrais un conseiller"
    re.compile(
        rf"{_B}(?:veux|voudrais|voudrai|aimerais|souhaite|souhaiterais|peux|pourrais|exige)"
        rf" (?:\w+ )?{_PARLER} (?:a |avec |en ligne avec )?(?:{_STAFF}|{_SOMEONE}){_E}{_NOT_ADDED}"
    ),
    re.compile(
        rf"{_B}(?:passez|passe|mettez|transferez|transfere) (?:moi|m'en) (?:\w+ )?"
        rf"(?:{_STAFF}|{_SOMEONE}){_E}{_NOT_ADDED}"
    ),
    re.compile(
        rf"{_B}(?:veux|voudrais|exige) (?:\w+ )?(?:un |une )"
        rf"(?:conseiller|conseillere|humain|vraie personne){_E}"
    ),
]
# "I don't want to talk to a person", "ik wil niet met iemand praten", "je ne veux pas parler à
# quelqu'un": the negation right before the request ("mijn 4g werkt niet. kan ik iemand spreken?" is
# a request).
_NEGATED = re.compile(
    rf"{_B}(?:(?:don't|dont|do not|no need to|never|not) (?:want to |need to |wanna |have to )?"
    r"(?:talk|speak|chat|a human|an agent|a person|someone)|"
    r"(?:wil|wou|hoef|moet) (?:\w+ )?(?:niet|geen) (?:\w+ ){0,2}"
    r"(?:met|iemand|mens|medewerker|praten|spreken)|"
    r"(?:ne veux pas|veux pas|ne voudrais pas|pas besoin de|pas envie de|ne souhaite pas) (?:\w+ )?"
    r"(?:parler|discuter|un conseiller|quelqu'un|un humain))"
)


def asks_for_a_person(text: str) -> bool:
    """Whether the customer asks to talk with a person of ours (module docstring)."""
    plain = folded(text or "")
    return any(p.search(plain) for p in PATTERNS) and not _NEGATED.search(plain)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AsksForAPerson(ConfiguredComponent):
    """A message asking for a person becomes ``request_human`` (module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            name = str((message.get(INTENT) or {}).get("name") or "")
            if name.startswith(SENSITIVE_PREFIX) or not asks_for_a_person(message.get(TEXT) or ""):
                continue
            decided, ranking = first_in_ranking(REQUEST_HUMAN, 1.0, message.get("intent_ranking") or [])
            message.set(INTENT, decided, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
            message.set("asks_for_a_person", True, add_to_output=True)
        return messages
