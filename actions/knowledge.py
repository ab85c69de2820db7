"""Answers from the help centre (data/knowledge/), in the customer's language.

The NLU pipeline names the article (``latest_message["article"]``, see
``bot.rasa.nlu.knowledge``); this action sends its body and link, then asks whether it helped
(a "no" hands over with reason ``not_helped``, like the other answers to problems). The articles
are read from disk and re-read when a file changes, so ``make publish`` needs no restart here.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.account import ARTICLE_TOPICS, AccountDeps, PersonalAnswer, default_deps
from bot.core.knowledge import KNOWLEDGE_DIR, HelpCentre, load_help_centre
from bot.core.settings import SUPPORTED_LANGUAGES


class HelpCentreCache:
    """The last good help centre, reloaded when the article files change."""

    def __init__(self, folder: Path = KNOWLEDGE_DIR) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._signature: tuple[int, float] | None = None
        self._centre = HelpCentre({}, [])

    def _current_signature(self) -> tuple[int, float]:
        stats = [p.stat().st_mtime for p in self.folder.glob("*/*.md")]
        return len(stats), max(stats, default=0.0)

    def get(self) -> HelpCentre:
        signature = self._current_signature()
        with self._lock:
            if signature != self._signature:
                centre = load_help_centre(self.folder)
                # A broken file is left out by the loader; an empty read keeps the last good one.
                if centre.ids() or not self._centre.ids():
                    self._centre = centre
                self._signature = signature
            return self._centre


_CACHE = HelpCentreCache()


def article_topic(tracker: Tracker, cache: HelpCentreCache | None = None) -> str | None:
    """The topic (coverage, billing, ...) of the article the help centre ranked first, if any."""
    article_id = (tracker.latest_message.get("article") or {}).get("id")
    if not article_id:
        return None
    language = tracker.get_slot("language") or "en"
    article = (cache or _CACHE).get().get(str(article_id), str(language))
    return article.topic if article else None


# A clarification offers the article the classifier's second stage prefers as its first button
# ("did you mean ...?") when it is plausible; pressing it answers that article.
ARTICLE_ENTITY = "article_id"
SUGGEST_CONDITIONAL = 0.5  # the second stage prefers this article over the others
SUGGEST_FLOOR = 0.15  # below this joint probability the article is not worth a button


def article_payload(article_id: str) -> str:
    return "/knowledge" + json.dumps({ARTICLE_ENTITY: article_id})


def chosen_article_id(tracker: Tracker) -> str | None:
    """The article of this message: the classifier's choice, or the one a suggestion button named."""
    article_id = (tracker.latest_message.get("article") or {}).get("id")
    if article_id:
        return str(article_id)
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == ARTICLE_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def suggested_article_button(
    tracker: Tracker, language: str, cache: HelpCentreCache | None = None
) -> Dict[str, str] | None:
    """The article worth offering in a clarification, as a button titled in the customer's language."""
    article = tracker.latest_message.get("article") or {}
    if not article.get("id"):
        return None
    if float(article.get("conditional") or 0) < SUGGEST_CONDITIONAL:
        return None
    if float(article.get("confidence") or 0) < SUGGEST_FLOOR:
        return None
    return article_button(str(article["id"]), language, cache)


def article_button(
    article_id: str, language: str, cache: HelpCentreCache | None = None
) -> Dict[str, str] | None:
    """A button that answers with the article, titled in ``language`` (None: no such article)."""
    found = (cache or _CACHE).get().get(article_id, language)
    return {"title": found.title, "payload": article_payload(found.id)} if found else None


def person_button(language: str) -> Dict[str, str]:
    titles = {"nl": "Een medewerker spreken", "fr": "Parler à un conseiller", "en": "Talk to a person"}
    return {"title": titles.get(language, titles["en"]), "payload": "/request_human"}


class ActionAnswerArticle(Action):
    """Sends the article the classifier chose, then "did this help?".

    An article about the customer's own account (``ARTICLE_TOPICS``: usage, balance, contract,
    payment, order) is answered from the account for a verified customer, and followed by the
    offer to verify otherwise (actions/account.py).
    """

    def __init__(self, cache: HelpCentreCache | None = None, deps: AccountDeps | None = None) -> None:
        self._cache = cache or _CACHE
        self._deps = deps

    def name(self) -> str:
        return "action_answer_article"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        language = tracker.get_slot("language")
        language = language if language in SUPPORTED_LANGUAGES else "nl"
        article_id = chosen_article_id(tracker)
        article = self._cache.get().get(article_id, language) if article_id else None
        if article is None:
            dispatcher.utter_message(response="utter_clarify_topics", buttons=[person_button(language)])
            return []
        topic = ARTICLE_TOPICS.get(str(article_id))
        if topic:
            return await PersonalAnswer(self._deps or default_deps()).respond(
                dispatcher,
                tracker,
                topic,
                lambda: dispatcher.utter_message(
                    response="utter_article", body=article.body, link=article.link
                ),
                ask_helped=True,
            )
        dispatcher.utter_message(response="utter_article", body=article.body, link=article.link)
        dispatcher.utter_message(response="utter_did_this_help")
        return []
