"""A customer who says they already did what the answer suggests: the answer did not help.

After the roaming steps, "ja roaming staat aan" got the same roaming steps again; "heb ik al
gedaan" after "did this help?" read as a yes (affirm 0.39), "c'est déjà fait" too (0.73), and
"j'ai déjà redémarré" as "I don't follow". A person would take the hint: the steps did not
help. ``TriedAlready`` turns a short message that says so into ``deny``: right after an answer
a person takes over (reason ``not_helped``, as for a "no" to "did this help?"); anywhere else
the assistant asks what it can do (actions/actions.py ``ActionNoWithoutQuestion``).

``tried_already`` reads, in Dutch, French and English, "already" with a verb of trying or
checking ("heb ik al gedaan", "already restarted", "j'ai déjà essayé"), a yes with a step taken
("yes i restarted it", "oui j'ai redémarré": the step, not the help), or a very short message
that something is on ("roaming staat aan", "roaming is already on"). Only short messages
(``MAX_WORDS``) without a question or a problem of their own: "I already paid, why a reminder?"
and "no sim detected, already restarted the phone" are questions for the classifier. A sensitive case or a
request for a person keeps its intent. Placed before RepeatContact, which keeps the last word.

``lacks_it`` reads the other way a step cannot help: the customer does not have what it needs,
named only by a pronoun ("ik heb die niet", "I don't have it", "je l'ai pas" after "your PUK is
on the card holder or in the app": it read as "I don't follow").
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.core.unicode import plain_words
from bot.rasa.nlu.component import NotHelped

MAX_WORDS = 8
MAX_STATE_WORDS = 5  # "roaming staat aan": a state alone, without "already", only when this short

_ALREADY = r"(?:already|al|reeds|deja)"
# Steps a customer takes: "restarted", "herstart", "redémarré" (folded, no accents).
_STEP_WORDS = (
    "tried restarted rebooted reset checked switched turned enabled activated reinstalled updated "
    "reinserted geprobeerd herstart heropgestart gecontroleerd nagekeken gecheckt aangezet uitgezet "
    "afgezet ingesteld geactiveerd gereset geupdatet geinstalleerd uitgehaald teruggestoken essaye "
    "redemarre reboote verifie controle active reinitialise allume eteint remis teste reinstalle"
).split()
# With "already" any doing counts ("al gedaan", "c'est déjà fait"); "opgestart" may only say the
# phone started up.
_DONE = rf"(?:{'|'.join(['done', 'did', 'gedaan', 'opgestart', 'fait', *_STEP_WORDS])})"
# A yes to "did this help?" that names a step taken is the step, not the help: "yes i restarted
# it" after the SIM steps read as "great!". Not "yes I did" or "ja, gedaan": those are a yes.
_STEP = rf"(?:{'|'.join(_STEP_WORDS)})"
_ON = (
    r"(?:(?:staat|stond|is|zijn|est|sont|was|were) (?:al |already |deja |wel |bien )?"
    r"(?:aan|on|enabled|activated|active|actif|activee|allume|ingeschakeld|geactiveerd))"
)
_YES = r"(?:yes|yeah|yep|ja|jawel|jep|oui|ouais|ouai)"
_PATTERNS = (
    re.compile(rf"\b{_ALREADY}\b(?: \w+){{0,4}} {_DONE}\b"),
    re.compile(rf"\b{_DONE}\b(?: \w+){{0,3}} {_ALREADY}\b"),
    re.compile(rf"^{_YES}\b(?: \w+){{0,3}} {_STEP}\b"),
)
_STATE = re.compile(rf"\b{_ON}\b")
_QUESTION_START = re.compile(
    r"^(?:how|why|what|when|where|can|could|do|does|is it|"
    r"hoe|waarom|wat|wanneer|waar|kan|kun|mag|moet|"
    r"comment|pourquoi|quoi|quand|ou|est ce|puis|peux|dois)\b"
)
# A problem named beside it ("geen simkaart gedetecteerd, telefoon al herstart", "login not
# working, tried 5 times already") is a question of its own: the classifier's. A leading "no" is
# the answer to "did this help?", not a problem.
_ANSWER_WORD = re.compile(r"^(?:nee|neen|no|nope|nah|non|nan)\b ?")
_PROBLEM = re.compile(
    r"\b(?:niet|geen|nooit|niks|niets|not|no|never|nothing|t|cannot|cant|pas|aucun|aucune|rien|jamais|"
    r"kapot|broken|error|fout|erreur|panne|storing|"
    r"detected|gedetecteerd|detecte|detectee|found|gevonden|trouve|trouvee|"
    r"works|working|work|werkt|werken|lukt|marche|fonctionne|functioneert)\b"
)
# Asking whether *we* did it: "heb je al mijn betaling gecontroleerd", "have you checked it already"
_ASKS_US = re.compile(
    r"\b(?:(?:heb|hebben|ben|zijn|kan|kun|kunnen|wil|willen) (?:je|jij|jullie|u)|have you|did you|"
    r"has anyone|avez vous|vous avez|as tu|tu as)\b"
)


def tried_already(text: str) -> bool:
    """Whether a short message says the customer already did or checked it (module docstring)."""
    if not text or text.lstrip().startswith("/") or "?" in text:
        return False
    plain = plain_words(text)
    count = len(plain.split())
    if not count or count > MAX_WORDS or _QUESTION_START.search(plain) or _ASKS_US.search(plain):
        return False
    if _PROBLEM.search(_ANSWER_WORD.sub("", plain)):
        return False
    if any(p.search(plain) for p in _PATTERNS):
        return True
    return count <= MAX_STATE_WORDS and bool(_STATE.search(plain))


# "I don't have it / I lost it": what the answer's step needs, named only by a pronoun.
_IT = r"(?:die|dat|het|hem|ze|dit|da)"
_LACKS = re.compile(
    r"^(?:(?:nee|neen|no|nope|non|but|maar|mais|ja maar|euh|uh|sorry|helaas) )*(?:"
    rf"(?:ik )?heb {_IT} (?:niet|nie)(?: meer)?|{_IT} heb ik (?:niet|nie)(?: meer)?|"
    r"heb ik (?:niet|nie)(?: meer)?|"
    rf"(?:ik )?ben {_IT} kwijt|{_IT} ben ik kwijt|"
    r"(?:i )?(?:dont|don t|do not) have (?:it|that|one|this|them|those)(?: anymore| any more)?|"
    r"(?:i )?(?:havent|haven t|have not) got (?:it|that|one|them)|(?:i )?lost (?:it|that|them)|"
    r"(?:je )?(?:ne )?(?:l|les) ai (?:pas|plus|jamais eu)|j (?:l|les) ai (?:pas|plus)|"
    r"(?:je )?(?:n )?en ai pas|j en ai pas|"
    r"(?:je )?l ai perdu"
    r")(?: (?:sorry|helaas|hoor|he|hein|quoi|merci|though))*$"
)


def lacks_it(text: str) -> bool:
    """Whether a short message says the customer lacks what the answer's step needs."""
    if not text or text.lstrip().startswith("/"):
        return False
    return bool(_LACKS.search(plain_words(text)))


def did_not_help(text: str) -> bool:
    """Already done, or not possible for want of what it needs (module docstring)."""
    return tried_already(text) or lacks_it(text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TriedAlready(NotHelped):
    """Makes "I already did that" a ``deny`` (module docstring)."""

    flag = "tried_already"
    reads = staticmethod(did_not_help)
