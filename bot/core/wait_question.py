"""A waiting customer who asks how long it will take: "hoe lang nog?", "is er iemand?", "combien de
temps encore ?", "when will someone answer me".

They get their place in the queue and the expected wait (handoff/waiting.py), not "your message
was passed on": they asked a question the queue can answer. The message is passed on all the same
(the agent reads everything), so a false reading costs nothing but a status line.

Two kinds of wording: about waiting in so many words ("still waiting", "wachttijd", "il y a
quelqu'un ?") count in a message of up to :data:`MAX_WORDS`; a bare "how long" ("hoe lang duurt
het?", "combien de temps ça prend ?") only in a short one (:data:`BARE_MAX_WORDS`), because with
more words it is usually about something else ("how long does porting my number take?").
"""

from __future__ import annotations

import re

from bot.core.unicode import plain_words

_SOMEONE = r"(some ?one|some ?body|any ?one|any ?body|an agent|a person|a human|a colleague|the agent|you)"
_QUEUE_WORDS = [
    # English
    r"\bhow (much )?long(er)? (do|will|must|should|have) i (have to |need to |got to )?"
    r"(wait|be waiting|hold|been waiting)\b",
    r"\bhow much longer\b",
    r"\bhow long (is|will be) (the|this|my) (wait|queue)\b",
    r"\bhow long (until|till|before) " + _SOMEONE + r"\b",
    r"\bwhen (will|does|do|can|is|are) " + _SOMEONE + r"( going to| gonna)? "
    r"(answer|reply|respond|get back|be with|pick( this)? up|talk|help|come|join|be here|be available)\b",
    r"^(hello |hi |hallo )*(is )?(any ?one|any ?body|some ?one|some ?body) (there|here|around|coming|home)\b",
    r"\b(i m |i am |im )?still waiting\b",
    r"\b(wait|waiting) time\b",
    r"\b(my )?(position|place|number) in (the )?(queue|line)\b",
    r"\bwhere am i in (the )?(queue|line)\b",
    r"\bhow many (people |customers |others )?(are )?(ahead of|before|in front of) me\b",
    r"\bwhat s taking (so|this) long\b",
    # Dutch
    r"\bhoe ?lang (moet|zal|ga|blijf) ik (hier )?(nog )?(wachten|blijven wachten|in de wachtrij)",
    r"\bhoe ?lang (nog|duurt (het|dit|dat) nog)\b",
    r"\bduurt (het|dit|dat) nog (lang|even)\b",
    r"\bwanneer (ben ik aan de beurt|is het mijn beurt|word ik geholpen|krijg ik (een )?(antwoord|reactie)"
    r"|komt er (iemand|een medewerker)|(antwoordt|reageert|helpt) er (iemand|een medewerker))\b",
    r"^(hallo |hey |allo )*(is|zit) (er|daar) (nog )?(wel )?iemand\b",
    r"\bnog (steeds|altijd) (aan het )?(wachten|in de wachtrij)\b",
    r"\bik wacht (nog steeds|nog altijd|al (zo )?lang)\b",
    r"\bwachttijd\b",
    r"\bhoeveel (mensen|klanten|personen) (zijn er )?(nog )?voor mij\b",
    r"\bhoeveelste ben ik\b",
    r"\bwat is mijn (plaats|positie)\b",
    # French
    r"\bcombien de temps (encore|dois je (encore )?attendre|je dois (encore )?attendre|d attente)\b",
    r"\b(ca|cela) va (encore )?(durer|prendre) (encore )?longtemps\b",
    r"\bencore longtemps\b",
    r"\bquand (est ce qu )?(quelqu un|un conseiller|une conseillere|un agent|un collegue|une personne|vous) "
    r"(va|allez|pourra|pourrez|viendra|viendrez|me repond|repondra|me repondra|m aidera)\b",
    r"^(allo |bonjour |hello )*(il y a|y a|ya|y a t il) (quelqu un|qqn)( la)?$",
    r"\b(toujours|encore) en attente\b",
    r"\bj attends (toujours|encore|depuis longtemps)\b",
    r"\btemps d attente\b",
    r"\b(ma|quelle est ma) (position|place) dans la file\b",
    r"\bcombien de (personnes|clients) (avant|devant) moi\b",
]
_BARE = [
    r"^(and |so |en |et |alors )?how long( now| still| will (it|this) take| is it going to take)?$",
    r"^(en |dus |maar )?hoe ?lang (duurt (het|dit|dat)|gaat (het|dit|dat) duren)?$",
    r"^(et |alors )?combien de temps( (ca|cela) (prend|va prendre|dure|va durer))?$",
]
_ASKS = re.compile("|".join(_QUEUE_WORDS))
_ASKS_BARE = re.compile("|".join(_BARE))
MAX_WORDS = 12
BARE_MAX_WORDS = 6


def asks_how_long(text: str) -> bool:
    """True when a waiting customer's message asks about the wait (their place, how long, is
    anyone there)."""
    plain = plain_words(text)
    if not plain or text.lstrip().startswith("/"):
        return False
    count = len(plain.split())
    if count <= BARE_MAX_WORDS and _ASKS_BARE.search(plain):
        return True
    return count <= MAX_WORDS and bool(_ASKS.search(plain))
