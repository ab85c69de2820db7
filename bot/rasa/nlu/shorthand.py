"""Chat shorthand and Flemish spoken forms read as the words they stand for.

Customers write "kunde gij eens zien wa da kost", "jveux savoir qd ça arrive", "how much r u
charging me b4 the 5th". The character n-grams and sentence encoders learnt from the words the
examples use ("kun je", "wat", "dat", "je veux", "quand", "are you", "before"), so a Flemish
spoken form or an SMS abbreviation puts the question outside what the model knows, and the
classifier drifts to whatever is nearest (in the held-out set: to the sensitive intents).

``ChatShorthand`` runs after the tokenizer and gives each such token the written form as its
*lemma*; the text, the tokens and their offsets stay as typed (entities, the stored transcript
and the reply-language detection read those). The CountVectorsFeaturizer reads lemmas
(``use_lemma``, its default); the sentence encoders and the help centre's BM25 read
``SHORTHAND_TEXT`` when it is set. A message in capitals ("WAAROM IS MIJN FACTUUR ZO HOOG??") is
read in lower case by the sentence encoders too: they are case-sensitive and learnt from
ordinary writing, and an angry customer in capitals got "I can't answer that yet" for the
question every customer asks (the character n-grams and BM25 already fold case). A Belgian
town typed in lower case is read with its capital: "en in gent?" fell back (to the encoders
"gent" is a gentleman) and "en in namen?" asked the bot its name, while "en in Gent?" is a
coverage question at 0.95 (``capitalised_places``).

Only whole tokens that are unambiguous in the three languages are mapped: never a word that is
also ordinary Dutch, French or English ("ni", "c", "g", "wilde", "u" (Dutch "you"), "dont"
(French "whose")).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.unicode import fold
from bot.rasa.nlu.component import ConfiguredComponent
from bot.rasa.nlu.filler import without_filler
from bot.rasa.nlu.places import BELGIAN_PLACES

# The message's text with the shorthand written out (set only when something was mapped).
SHORTHAND_TEXT = "shorthand_text"

SHORTHAND: Dict[str, str] = {
    # Flemish spoken forms (tussentaal) and Dutch chat shorthand
    "nie": "niet",
    "da": "dat",
    "wa": "wat",
    "wadde": "wat",
    "gij": "jij",
    "ge": "je",
    "kunde": "kun je",
    "hebde": "heb je",
    "zijde": "ben je",
    "moette": "moet je",
    "weette": "weet je",
    "gade": "ga je",
    "kheb": "ik heb",
    "kben": "ik ben",
    "kwil": "ik wil",
    "kga": "ik ga",
    "kzou": "ik zou",
    "kweet": "ik weet",
    "efkes": "even",
    "ff": "even",
    "nen": "een",
    "mn": "mijn",
    "zn": "zijn",
    "nx": "niks",
    "wnr": "wanneer",
    "idd": "inderdaad",
    "tis": "het is",
    "hoelang": "hoe lang",
    # French SMS writing
    "jveux": "je veux",
    "jsuis": "je suis",
    "chui": "je suis",
    "jpeux": "je peux",
    "jai": "j'ai",
    "jsp": "je sais pas",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "bcp": "beaucoup",
    "qd": "quand",
    "tjs": "toujours",
    "ds": "dans",
    "pr": "pour",
    "cmt": "comment",
    "koi": "quoi",
    "dc": "donc",
    "slt": "salut",
    "mtn": "maintenant",
    # English chat writing
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "b4": "before",
    "rn": "right now",
    "im": "i'm",
    "cant": "can't",
    "wont": "won't",
    "doesnt": "doesn't",
    "wanna": "want to",
    "gonna": "going to",
    "msg": "message",
    "msgs": "messages",
    "txt": "text",
    "txts": "texts",
}

_WORD = re.compile(r"[\w']+", re.UNICODE)


SHOUTING_MIN_LETTERS = 6
SHOUTING_SHARE = 0.7


def unshouted(text: str) -> str:
    """The text in lower case (its first letter kept) when most of its letters are capitals."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < SHOUTING_MIN_LETTERS:
        return text
    if sum(c.isupper() for c in letters) < SHOUTING_SHARE * len(letters):
        return text
    lowered = text.lower()
    first = next((i for i, c in enumerate(lowered) if c.isalpha()), 0)
    return lowered[:first] + lowered[first : first + 1].upper() + lowered[first + 1 :]


# Towns whose name in lower case is first an ordinary word a customer uses ("mijn scherm is geel"):
# left as typed.
ORDINARY_WORDS = frozenset({"geel", "spa", "waver"})
PLACE_NAMES = frozenset(p for p in BELGIAN_PLACES if " " not in p) - ORDINARY_WORDS


def capitalised_places(text: str) -> str:
    """The text with each Belgian town typed in lower case capitalised ("gent" -> "Gent")."""

    def capital(match: re.Match[str]) -> str:
        word = match.group(0)
        return word.capitalize() if word.islower() and fold(word) in PLACE_NAMES else word

    return _WORD.sub(capital, text)


def written_out(text: str) -> str:
    """The text with every shorthand word written out (case of the rest kept)."""
    return _WORD.sub(lambda m: SHORTHAND.get(m.group(0).lower(), m.group(0)), text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ChatShorthand(ConfiguredComponent):
    """Gives shorthand tokens their written form as lemma and the message a written-out text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            mapped = False
            for token in tokens:
                written = SHORTHAND.get(token.text.lower())
                if written:
                    token.lemma = written
                    mapped = True
            text = message.get(TEXT)
            if not text:
                continue
            read = capitalised_places(without_filler(unshouted(text)))
            if mapped or read != text:
                message.set(SHORTHAND_TEXT, written_out(read))
        return messages


def text_for_features(message: Message) -> str:
    """What the sentence encoders and BM25 read: the written-out text when there is one."""
    return message.get(SHORTHAND_TEXT) or message.get(TEXT) or ""
