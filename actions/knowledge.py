"""Answers from the help centre (data/knowledge/), in the customer's language.

The NLU pipeline names the article (``latest_message["article"]``, see
``bot.rasa.nlu.knowledge``); this action sends its body and link, then asks whether it helped
(a "no" hands over with reason ``not_helped``, like the other answers to problems). The articles
are read from disk and re-read when a file changes, so ``make publish`` needs no restart here.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

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


def person_button(language: str) -> Dict[str, str]:
    titles = {"nl": "Een medewerker spreken", "fr": "Parler à un conseiller", "en": "Talk to a person"}
    return {"title": titles.get(language, titles["en"]), "payload": "/request_human"}


class ActionAnswerArticle(Action):
    """Sends the article the classifier chose, then "did this help?"."""

    def __init__(self, cache: HelpCentreCache | None = None) -> None:
        self._cache = cache or _CACHE

    def name(self) -> str:
        return "action_answer_article"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        language = tracker.get_slot("language")
        language = language if language in SUPPORTED_LANGUAGES else "nl"
        article_id = (tracker.latest_message.get("article") or {}).get("id")
        article = self._cache.get().get(article_id, language) if article_id else None
        if article is None:
            dispatcher.utter_message(response="utter_clarify_topics", buttons=[person_button(language)])
            return []
        dispatcher.utter_message(response="utter_article", body=article.body, link=article.link)
        dispatcher.utter_message(response="utter_did_this_help")
        return []
