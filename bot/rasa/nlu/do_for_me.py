"""A customer who asks the bot to do what its answer describes: a person takes over.

After the lost-phone answer ("block your SIM in the app or call 1922"), "can you do it for me?"
got the list of what the assistant can do (capabilities: "what can you do for me"), and "yes
please block it" the premium-services article. The assistant explains; it blocks, cancels or
changes nothing itself. A person would say so and pass the customer on to someone who can.

``do_for_me`` reads, in Dutch, French and English, a short request that the bot (or "you")
carry out the action of the answer just given, named only by a pronoun ("it", "that", "het",
"dat", "le", "ça") or by "for me", "yourself", "voor mij", "zelf", "pour moi", "à ma place":
"can you do that for me", "block it please", "kun jij dat niet regelen", "doe jij het maar",
"vous pouvez le faire ?", "bloquez-la svp". A request that names what ("can you block my SIM")
is a question of its own for the classifier; "what can you do for me" asks about the bot.
``DoItForMe`` turns such a message into ``deny`` with ``do_for_me`` set: right after an answer a
person takes over (reason ``not_helped``) and the customer hears why (actions/actions.py
``ActionEscalate``); anywhere else "it" refers to nothing and the bot asks what it can do.
A sensitive case or a request for a person keeps its intent ("can you cancel it" is a
cancellation). Placed after TriedAlready, before RepeatContact, which keeps the last word.
"""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.core.unicode import plain_words
from bot.rasa.nlu.component import NotHelped

MAX_WORDS = 12

# What an answer tells the customer to do (the verbs of the answers' steps), and "do" itself.
_EN_DO = (
    r"(?:do|block|unblock|cancel|change|order|activate|deactivate|disable|enable|arrange|sort|fix|"
    r"handle|switch|reset|set up|setup|turn on|turn off|take care of|request|send|correct|refund|"
    r"remove|waive)"
)
_NL_DO = (
    r"(?:doen|regelen|blokkeren|deblokkeren|opzeggen|aanpassen|wijzigen|veranderen|bestellen|activeren|"
    r"deactiveren|stopzetten|oplossen|in orde brengen|aanvragen|afsluiten|uitzetten|aanzetten|instellen|"
    r"versturen|opsturen|doorsturen|resetten|rechtzetten|corrigeren|terugbetalen|terugstorten|verwijderen|"
    r"schrappen)"
)
_FR_DO = (
    r"(?:faire|bloquer|debloquer|resilier|changer|modifier|commander|activer|desactiver|regler|annuler|"
    r"arreter|configurer|demander|envoyer|reinitialiser|mettre en place|occuper|corriger|rembourser|"
    r"supprimer|retirer)"
)
_EN_IT = r"(?:it|that|this|them|those|this one|that one|it all|all that)"
_NL_IT = r"(?:het|dat|dit|die|hem|ze|da|alles)"
_FR_IT = r"(?:le|la|les|l|ca|cela|tout ca)"
_EN_FOR_ME = r"(?:for me|for us|yourself|yourselves|on my behalf|from your side)"
# Not "zelf" alone: "ik zal het zelf doen" is the customer doing it.
_NL_FOR_ME = r"(?:voor mij|voor me|voor ons|in mijn plaats|van jullie kant|vanop afstand)"
_FR_FOR_ME = r"(?:pour moi|pour nous|a ma place|vous meme|toi meme|de votre cote|a distance)"
_POLITE = r"(?:please|pls|plz|aub|alsjeblieft|alstublieft|svp|stp|s il vous plait|s il te plait)"

PATTERNS: List[re.Pattern[str]] = [
    # can you do it / could u block that for me / can't you just cancel it yourself
    re.compile(
        r"\b(?:can|could|would|will|cant|can t|cannot|couldnt|couldn t|wont|won t|dont|don t) "
        r"(?:you|u|ya|someone|somebody|anyone|the bot) (?:not )?(?:please |pls |just |simply |not just )?"
        rf"{_EN_DO} {_EN_IT}(?: {_EN_FOR_ME})?\b"
    ),
    re.compile(rf"\b{_EN_DO} (?:\w+ ){{0,2}}{_EN_FOR_ME}\b"),
    # you do it / please block it / yes block it now ("yes do it" is a yes: not here)
    re.compile(r"^(?:(?:ok|okay|so|then|just|please|pls) )*(?:you|u) (?:just |please |then )?do it\b"),
    re.compile(
        rf"^(?:(?:yes|yeah|yep|ok|okay|so|then|just|now|ja|oui|graag) )*(?:{_POLITE} )?"
        rf"(?!do\b){_EN_DO} {_EN_IT}(?: (?:now|then|already|asap|right away|immediately|{_POLITE}))*$"
    ),
    # kun je dat (niet) (voor mij) doen / kunnen jullie het zelf regelen / wil jij hem blokkeren
    re.compile(
        rf"\b(?:kan|kun|kunt|kunnen|wil|wilt|willen|zou|zoudt|zouden) (?:je|jij|u|jullie|gij|ge) "
        rf"(?:\w+ ){{0,3}}{_NL_IT} (?:\w+ ){{0,4}}{_NL_DO}(?: {_NL_FOR_ME})?\b"
    ),
    re.compile(rf"\b{_NL_FOR_ME} (?:\w+ ){{0,2}}{_NL_DO}\b"),
    # doe jij het maar / regel jij dat / blokkeer hem maar ("doe het maar" alone is a yes; "ik
    # blokkeer hem wel" the customer doing it)
    re.compile(rf"\b(?:doe|regel) (?:jij|u|gij|jullie) {_NL_IT}\b"),
    re.compile(
        r"(?<!\bik )\b(?:blokkeer|deblokkeer|wijzig|verander|bestel|activeer|stuur) "
        rf"(?:jij |u |gij |jullie )?{_NL_IT}\b(?! (?:is|was|niet|nog|kan|moet|werkt|heb|ik)\b)"
    ),
    # vous pouvez le faire / tu peux pas la bloquer pour moi / pourriez-vous vous en occuper
    re.compile(
        r"\b(?:pouvez vous|pourriez vous|vous pouvez|vous pourriez|tu peux|tu pourrais|peux tu|pourrais tu|"
        r"vous ne pouvez|tu ne peux|est ce que vous pouvez|est ce que tu peux) "
        rf"(?:\w+ ){{0,2}}(?:{_FR_IT} {_FR_DO}|{_FR_DO} (?:ca|cela)|vous en occuper|t en occuper)"
        rf"(?: {_FR_FOR_ME})?\b"
    ),
    re.compile(rf"\b{_FR_DO} (?:\w+ ){{0,2}}{_FR_FOR_ME}\b"),
    # bloquez-la svp / occupez-vous en ("faites-le", "vas-y fais-le" alone is a yes)
    re.compile(
        r"(?<!\bje )\b(?:bloquez|debloquez|resiliez|changez|modifiez|commandez|activez|reglez|annulez|"
        rf"envoyez) {_FR_IT}\b"
    ),
    re.compile(r"\b(?:occupez vous en|occupe toi en|occupez vous de ca|occupe toi de ca)\b"),
]

# "what can you do for me", "wat kan je voor mij doen", "que pouvez-vous faire pour moi": the
# bot's capabilities; "how do I do it", "hoe doe ik dat": a question of the customer's own.
_NOT_A_REQUEST = re.compile(
    r"\b(?:what|wat|(?<!est ce )que|quoi|qu est ce que|hoe|how|comment|waar|where|ou)\b"
    r"(?: \w+){0,3} (?:can|could|kan|kun|kunt|kunnen|pouvez|peux|pourriez|do|doe|dois|moet|fais|faire)\b"
)


# Words around the request that name nothing: "ok but can you do it for me then?"
_ASIDE = frozenset(
    "yes yeah yep ok okay oke but so then well please pls plz thanks thx hey hi now just and sorry "
    "ja jep neen nee maar dus dan allez awel graag bedankt merci aub alsjeblieft alstublieft euh "
    "oui ouais non mais donc alors bon ben et svp stp hmm hm".split()
)
# "I lost my SIM, can you block it?": "it" is named in the message itself, a question for the
# classifier. One other word may stand beside the request ("sorry", a name, "gewoon").
MAX_OTHER_WORDS = 1


def do_for_me(text: str) -> bool:
    """Whether a short message asks the bot to carry out the answer's action (module docstring)."""
    if not text or text.lstrip().startswith("/"):
        return False
    plain = plain_words(text)
    count = len(plain.split())
    if not count or count > MAX_WORDS or _NOT_A_REQUEST.search(plain):
        return False
    spans = [m.span() for p in PATTERNS for m in p.finditer(plain)]
    if not spans:
        return False
    rest = "".join(" " if any(a <= i < b for a, b in spans) else c for i, c in enumerate(plain))
    return sum(word not in _ASIDE for word in rest.split()) <= MAX_OTHER_WORDS


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class DoItForMe(NotHelped):
    """Makes "can you do it for me?" a ``deny`` with ``do_for_me`` (module docstring)."""

    flag = "do_for_me"
    reads = staticmethod(do_for_me)
