"""A customer who says in so many words that the answer did not help: "that doesn't help me",
"dat helpt niet", "ça ne m'aide pas", "daar heb ik niets aan".

Right after an answer that ends on a question of its own ("I can also look up your own details:
shall I check it's you?") a bare "no" declines that offer, but these words are about the answer:
a person takes over, as after a "no" to "did this help?" (actions/actions.py
``answered_just_before``).
"""

from __future__ import annotations

import re

from bot.core.unicode import plain_words

# Folded words (bot.core.unicode.plain_words).
_DID_NOT_HELP = re.compile(
    r"\b(?:"
    r"(?:does ?n t|did ?n t|does not|did not|not|no|doesnt|didnt) help|not (?:helpful|useful)|useless"
    r"|(?:helpt|hielp|heeft) (?:me |mij )?(?:niet|niks|geen)|niet geholpen|daar heb ik niets aan|nutteloos"
    r"|(?:ne )?m aide (?:pas|rien|toujours pas)|(?:ca|cela) (?:ne )?m a pas aide|pas aide|inutile|sert a rien"
    r")\b"
)


def says_it_did_not_help(text: str) -> bool:
    """Whether the message says the answer did not help (module docstring)."""
    return bool(_DID_NOT_HELP.search(plain_words(text)))
