"""A lexical score beside the classifier's: BM25 over the help centre, per language.

The classifier knows *which* article a question is most like (its second stage puts the right
article first for ~96 % of the long-tail held-out questions that have one), but a closed-set
classifier is as sure of itself on a question nothing answers. Words tell them apart: a real
question shares its key words (stemmed, in its language) with the article's title, example
questions and body; an unanswerable one rarely does. Measured on bench/heldout/longtail
(docs/benchmarks.md): the median BM25 score of the predicted article is ~8 for right answers
and ~2 for unanswerable questions.

``HelpCentreLexicalScore`` runs after the classifier and adds ``lexical`` (the predicted
article's BM25 score relative to the best the question's words score anywhere, 0-1, the best
over the three languages) to the message's ``article``. The index is
built at training time from the help centre the classifier learnt from and stored in the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import bm25s
import Stemmer
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.knowledge import KNOWLEDGE_DIR, Article, load_help_centre
from bot.core.language import SNOWBALL
from bot.core.unicode import fold
from bot.rasa.nlu.component import StoredComponent
from bot.rasa.nlu.knowledge import ARTICLE
from bot.rasa.nlu.shorthand import text_for_features

# Snowball stemmers (PyStemmer, bot.core.language.SNOWBALL) and bm25s' stop-word lists, per
# language of the help centre.
TITLE_WEIGHT = 2  # the title counts as often as this many example questions


def document(article: Article) -> str:
    return fold(" ".join([*([article.title] * TITLE_WEIGHT), *article.questions, article.body]))


class LexicalIndex:
    """One BM25 index per language over the articles' documents."""

    def __init__(self, documents: Dict[str, Dict[str, str]]) -> None:
        self.documents = documents
        self._indexes: Dict[str, tuple[bm25s.BM25, List[str], Any]] = {}
        for language, by_id in documents.items():
            if language not in SNOWBALL or not by_id:
                continue
            stemmer = Stemmer.Stemmer(SNOWBALL[language])
            ids = sorted(by_id)
            tokens = bm25s.tokenize(
                [by_id[i] for i in ids], stopwords=language, stemmer=stemmer.stemWords, show_progress=False
            )
            index = bm25s.BM25()
            index.index(tokens, show_progress=False)
            self._indexes[language] = (index, ids, stemmer)

    def score(self, text: str, article_id: str) -> float:
        """How much of the question's words the article covers, 0-1, the best over the languages.

        Raw BM25 grows with the number of words in the question, so a one-word question
        ("studententarief") scored like an unrelated long one. Relative to the best each of the
        question's words scores on any article (a word no article knows counts as a full miss),
        a short precise question and a long one are judged alike (docs/benchmarks.md).
        """
        best = 0.0
        for language, (index, ids, stemmer) in self._indexes.items():
            if article_id not in ids:
                continue
            query = bm25s.tokenize(
                [fold(text)],
                stopwords=language,
                stemmer=stemmer.stemWords,
                show_progress=False,
                return_ids=False,
            )[0]
            known = [t for t in query if t in index.vocab_dict]
            if not known:
                continue
            per_word = [float(index.get_scores([t]).max()) for t in known]
            possible = sum(per_word) + (len(query) - len(known)) * max(per_word)
            if possible > 0:
                mine = float(index.get_scores(known)[ids.index(article_id)])
                best = max(best, mine / possible)
        return best


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class HelpCentreLexicalScore(StoredComponent):
    """Adds the BM25 score of the predicted article to the message's ``article``."""

    FILE = "help_centre_documents.json"

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"knowledge_dir": str(KNOWLEDGE_DIR)}

    def restore(self, state: Dict[str, Dict[str, str]] | None) -> None:
        self.index = LexicalIndex(state or {})

    @classmethod
    def read(cls, folder: Path) -> Dict[str, Dict[str, str]]:
        return json.loads((folder / cls.FILE).read_text(encoding="utf-8"))

    def train(self, training_data: TrainingData) -> Resource:
        centre = load_help_centre(Path(self.config["knowledge_dir"]))
        documents = {
            language: {article_id: document(article) for article_id, article in by_id.items()}
            for language, by_id in centre.articles.items()
        }
        with self.storage() as folder:
            (folder / self.FILE).write_text(json.dumps(documents), encoding="utf-8")
        self.index = LexicalIndex(documents)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            article = message.get(ARTICLE)
            if article and message.get(TEXT):
                lexical = self.index.score(text_for_features(message), str(article["id"]))
                scored = {**article, "lexical": lexical}
                message.set(ARTICLE, scored, add_to_output=True)
        return messages
