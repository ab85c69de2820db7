"""A customer who says they clicked a suspicious link is a fraud case for a person.

"ik heb al op de link geklikt" after the spam-SMS article got the whole article again, and the
bare "I already clicked the link" read as logging out (0.41): training examples did not fix it
(they pulled "oops I already clicked on the link in that text, now what" to a clarification,
docs/benchmarks.md), so the words decide. ``EscalationGuard`` makes such a message
``sensitive_fraud`` (the agent can secure the line; the escalation text says to block the SIM):

- a past click on a link ("clicked / tapped / opened the link", "op de link geklikt", "de link
  aangeklikt", "j'ai cliqué sur le lien");
- not negated in the words before it ("didn't", "niet op geklikt", "j'ai pas cliqué", "rien
  cliqué": the spam article's own questions) and no "if / als / si" (what would happen);
- not one of our own links that does not work ("the link in your email to reset my password",
  "the activation link does nothing"), nor the link the bot or a colleague gave ("I opened the
  link you sent", "de link hierboven"): a support question, as before.
"""

from __future__ import annotations

import re

from bot.rasa.nlu.cues import folded

FRAUD = "sensitive_fraud"  # what the escalation guard makes such a message

_LINK = re.compile(r"\b(?:link|links|linkje|lien|liens|url)\b")
_CLICKED = re.compile(
    r"\b(?:clicked|tapped|pressed|opened|geklikt|aangeklikt|klikte|getikt|geopend|"
    r"(?:ai|as|a|avons|avez|ont|deja) (?:\w+ )?(?:clique|appuye|ouvert))\b"
)
_NEGATION = re.compile(
    r"\b(?:not|didn'?t|didn t|did not|never|haven'?t|haven t|hasn'?t|hasn t|no|"
    r"niet|nie|nooit|geen|niks|niets|pas|jamais|rien|point)\b"
)
_IF = re.compile(r"\b(?:if|what if|als|wat als|indien|si|et si)\b")
_OURS_NOT_WORKING = re.compile(
    r"password|wachtwoord|mot de passe|reset|activat|activer|bevestig|confirm|verif|unsubscribe|"
    r"uitschrijv|desinscri|nothing happens|doesn t work|does not work|not working|broken|expired|"
    r"werkt niet|werkt nie|gebeurt niets|gebeurt niks|verlopen|marche pas|fonctionne pas|"
    r"rien ne se passe|expire|erreur|error|fout"
)
# The link the bot or a colleague gave ("I opened the link you sent but it doesn't say", "de link
# hierboven", "le lien que vous m'avez donné"): ours, a question about the answer.
_OUR_LINK = re.compile(
    r"\b(?:(?:link|lien) (?:that |which )?(?:you|u) (?:sent|gave|posted|shared|mentioned)|"
    r"your link|the link above|that link above|help mila|help centre|help center|"
    r"link (?:die |dat )?(?:je|jij|u|jullie) (?:gaf|gaven|stuurde|stuurden|stuurt|geeft|gegeven)|"
    r"jouw link|uw link|link hierboven|linkje hierboven|"
    r"lien (?:que |qu')(?:vous|tu) (?:m'|m )?(?:avez|as)|votre lien|ton lien|lien ci dessus|lien plus haut)\b"
)
WINDOW = 6  # words before the click that may negate it: "heb er echt NIET op geklikt"


def clicked_a_link(text: str) -> bool:
    """Whether the customer says they clicked a link that was not ours (module docstring)."""
    plain = folded(text or "")
    if not plain or not _LINK.search(plain) or _OURS_NOT_WORKING.search(plain) or _OUR_LINK.search(plain):
        return False
    for click in _CLICKED.finditer(plain):
        # the words before it and its own ("j ai pas clique": the negation sits inside the match)
        before = " ".join(plain[: click.end()].split()[-WINDOW - 2 :])
        if not _NEGATION.search(before) and not _IF.search(before):
            return True
    return False
