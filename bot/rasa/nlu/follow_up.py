"""A short follow-up read with the question the bot has just answered.

"how do I set up voicemail" ... "and how do I turn it off again?" — alone, the second message got
the roaming answer; "and how do I cancel it?" after call forwarding went to a person as a
cancellation; "kan ik bijkopen?" after "my data ran out" fell back. The router sends, in the
message metadata, how the pipeline reads the previous question and this message together
(bot/core/follow_up.py). ``FollowUpContext`` uses that reading only when:

* the message alone is unclear: the fallback, an answer below ``uncertain`` (below
  ``uncertain_pointing_back`` when it names nothing new, "en hoe zet ik hem terug aan?": alone
  it read as a refund at 0.65), or a handover the escalation intents only weakly back (below
  ``weak_escalation`` together; a cancellation asked as "and how do I cancel it?", up to
  ``uncertain_pointing_back``: after call forwarding it is the service's); and
* the reading together is sure (``context_sure``) of an answer: an intent or an article, not the
  fallback, "out of scope" or a handover (the previous question was answered, not handed over).
When the message alone is a weak answer (below ``doubtful``) and the reading together points at
another answer without being sure of it (at least ``context_plausible``), neither is good enough:
"hoe lang duurt dat" after the replacement SIM got the due date of the bill (0.31) while the
reading together said the SIM (0.56). The message becomes the fallback, and the clarification
offers both, the reading together first (as it does for a message that fell back on its own).

Without an answer before it, a question about the cost or time of something it does not name
("combien ça coûte", "how long does it take?") gets the clarification unless the classifier is
all but sure: alone it got the roaming charges (0.68), a guess.

A full new question ("and my bill is too high") is clear alone and keeps its own answer. The
entities stay the message's own ("what about Leuven?" asks about Leuven, not the earlier town).
Placed after the escalation guard and before RepeatContact, which keeps the last word.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.follow_up import (
    FOLLOW_UP_KEY,
    asks_about_the_answer,
    asks_how,
    looks_like_follow_up,
    names_no_topic,
    points_back_to_the_answer,
)
from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.taxonomy import (
    CONFUSED_INTENT,
    FALLBACK_INTENT,
    OUT_OF_SCOPE_INTENT,
    is_answer_topic,
    is_escalation,
)
from bot.rasa.nlu.component import ConfiguredComponent
from bot.rasa.nlu.knowledge import ARTICLE

NO_ANSWER = (FALLBACK_INTENT, OUT_OF_SCOPE_INTENT)
CANCELLATION = "sensitive_cancellation"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FollowUpContext(ConfiguredComponent):
    """Uses the reading together with the previous question when the message alone is unclear."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "uncertain": 0.6,
            "weak_escalation": 0.5,
            "context_sure": 0.8,
            "doubtful": 0.45,
            "context_plausible": 0.5,
            # a follow-up that names nothing new ("en hoe zet ik hem terug aan?") is unclear alone
            # below this (bot/core/follow_up.py points_back_to_the_answer)
            "uncertain_pointing_back": 0.9,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self.uncertain = float(config["uncertain"])
        self.weak_escalation = float(config["weak_escalation"])
        self.context_sure = float(config["context_sure"])
        self.doubtful = float(config["doubtful"])
        self.context_plausible = float(config["context_plausible"])
        self.uncertain_pointing_back = float(config["uncertain_pointing_back"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            context = (message.get("metadata") or {}).get(FOLLOW_UP_KEY)
            text = message.get(TEXT) or ""
            if not isinstance(context, dict):
                if names_no_topic(text):
                    self.unless_sure(message)
                continue
            if not looks_like_follow_up(text):
                continue
            own = message.get(INTENT) or {}
            if own.get("name") == CONFUSED_INTENT and asks_about_the_answer(text):
                # "c'est combien ?" after the extra-data answer, "kan ik dat afzetten?" after the paper
                # invoice: a question about that answer read as "I don't follow" (0.65-0.73); for
                # the reading together it is as unclear as a fallback
                own = {"name": FALLBACK_INTENT, "confidence": own.get("confidence")}
            pointing = points_back_to_the_answer(text)
            # "ça coûte combien" after the smartwatch eSIM names no topic either: alone it read
            # as the roaming charges (0.68), over the uncertain 0.6, and got the roaming answer
            unclear_alone = pointing or names_no_topic(text)
            uncertain = self.uncertain_pointing_back if unclear_alone else self.uncertain
            if self.adopts(
                own, message.get(ARTICLE) or {}, context, uncertain, how_to=pointing and asks_how(text)
            ):
                chosen = {"name": context["intent"], "confidence": context["confidence"]}
                message.set(INTENT, chosen, add_to_output=True)
                message.set(ARTICLE, context.get("article"), add_to_output=True)
                message.set(FOLLOW_UP_KEY, True, add_to_output=True)
            elif self.doubts(message.get(INTENT) or {}, context, message.get(ARTICLE) or {}):
                self.ask_which(message, str(context["intent"]), context.get("article"))
        return messages

    def unless_sure(self, message: Message) -> None:
        """A question about the cost or time of something it does not name, with no answer before
        it to lean on ("combien ça coûte" as a first message or after a clarification): the
        clarification, unless the classifier is all but sure (``uncertain_pointing_back``)."""
        intent = message.get(INTENT) or {}
        name = str(intent.get("name") or "")
        if not (is_answer_topic(name) or name == KNOWLEDGE_INTENT):
            return
        confidence = own_confidence(name, message.get(ARTICLE) or {}, float(intent.get("confidence") or 0))
        if confidence < self.uncertain_pointing_back:
            message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": confidence}, add_to_output=True)

    def doubts(
        self, intent: Dict[str, Any], context: Dict[str, Any], article: Dict[str, Any] | None = None
    ) -> bool:
        """A weak answer alone, another plausible answer read together (module docstring).

        The message's strength is :func:`own_confidence`: ArticleDecision may have rescued an
        intent (raised it by the help centre's share, 0.20 -> 0.47 for "hoe lang duurt dat"),
        which says it beats the articles, not that the message is clear alone."""
        name, confidence = str(intent.get("name") or ""), float(intent.get("confidence") or 0)
        confidence = own_confidence(name, article or {}, confidence)
        wanted, plausible = str(context.get("intent") or ""), float(context.get("confidence") or 0)
        answers = (wanted,) if name == FALLBACK_INTENT else (name, wanted)
        if not all(is_answer_topic(a) or a == KNOWLEDGE_INTENT for a in answers) or name == wanted:
            return False
        return confidence < self.doubtful and plausible >= self.context_plausible

    @staticmethod
    def ask_which(message: Message, wanted: str, wanted_article: Any = None) -> None:
        """The fallback, with the reading together first among the topics the clarification offers.

        The clarification's article button comes first, so it becomes the reading together's
        article, or none when that reading is an intent: the message's own article is the weak
        reading the customer's follow-up did not mean."""
        own = message.get(INTENT) or {}
        message.set(ARTICLE, wanted_article if isinstance(wanted_article, dict) else None, add_to_output=True)
        ranking = [dict(r) for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != wanted]
        ranking.insert(0, {"name": wanted, "confidence": float(own.get("confidence") or 0)})
        fallback = {"name": FALLBACK_INTENT, "confidence": own.get("confidence")}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def adopts(
        self,
        intent: Dict[str, Any],
        article: Dict[str, Any],
        context: Dict[str, Any],
        uncertain: float | None = None,
        how_to: bool = False,
    ) -> bool:
        """Whether the reading together replaces the message's own (module docstring): the message
        alone is below ``uncertain`` (the configured one unless given). ``how_to``: the message
        asks how to do something to what the answer named ("and how do I cancel it?" after call
        forwarding): a cancellation alone is then the service's, not the subscription's."""
        wanted, sure = str(context.get("intent") or ""), float(context.get("confidence") or 0)
        if not wanted or wanted in NO_ANSWER or is_escalation(wanted) or sure < self.context_sure:
            return False
        wanted_article = (context.get("article") or {}).get("id")
        if wanted == KNOWLEDGE_INTENT and not wanted_article:
            return False
        name, confidence = str(intent.get("name") or ""), float(intent.get("confidence") or 0)
        confidence = own_confidence(name, article, confidence)
        if name == wanted and (name != KNOWLEDGE_INTENT or article.get("id") == wanted_article):
            return False
        if name == FALLBACK_INTENT or not name:
            return True
        limit = self.uncertain if uncertain is None else uncertain
        if is_escalation(name) and not (name == CANCELLATION and how_to):
            return confidence < self.weak_escalation
        return confidence < limit


def own_confidence(name: str, article: Dict[str, Any], decided: float) -> float:
    """How clear the message is alone. For an intent, the classifier's own confidence when lower
    than the decided one: ArticleDecision may have rescued it (raised it by the help centre's
    share) and OutOfScopeNeighbours' verdict (0.9 on "en hoe zet ik het weer af?", the classifier:
    out_of_scope 0.07) says its nearest examples are out of scope, neither that the message is
    clear alone. For an article, the decision's confidence: it chose the article because the
    classifier was sure which one and the key words are there, while P(knowledge) only says how
    the help centre shares with the intents ("et c'est payé ?" after the bill's answer: the
    payment article at 0.89, key words 1.0, P(knowledge) 0.5)."""
    if name == KNOWLEDGE_INTENT:
        return decided
    return min(decided, classified_confidence(name, article, decided))


def classified_confidence(name: str, article: Dict[str, Any], default: float) -> float:
    """The classifier's confidence in ``name`` before ArticleDecision (its ``classified`` ranking)."""
    for entry in article.get("classified") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return float(entry.get("confidence") or 0)
    return default
