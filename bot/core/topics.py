"""Broad topics named without a question: "factuur", "question about my bill", "probleem met mijn sim".

Such a message has no answer yet: the assistant asks which of the topic's commonest questions it
is (actions/clarify.py ``ActionClarify``). ``data/topics.yml`` (editors' file) lists per topic
what customers call it in each language, the filler words around it, the assistant's name for
it and the options offered; :func:`load_topics` reads it, :meth:`Topics.only_topic` tells whether
a message is nothing but a topic, and ``make check`` reports the file's problems
(:func:`topic_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node

from bot.core.project import compose, items, line_of, mapping, scalar, to_data
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.core.small_talk import without_how_are_you
from bot.core.unicode import plain_words

TOPICS_FILE = PROJECT_ROOT / "data" / "topics.yml"
MAX_WORDS = 2  # a topic's word: one or two words ("carte sim"); more is a question
MAX_MESSAGE_WORDS = 14  # a longer message is a question, whatever its words
MAX_OPTIONS = 4


@dataclass(frozen=True)
class Option:
    """One button of a topic's menu: an intent (``/intent``) or a help-centre article."""

    intent: str = ""
    article: str = ""


@dataclass(frozen=True)
class Topic:
    id: str
    names: dict[str, str]
    words: frozenset[str]
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Topics:
    topics: tuple[Topic, ...] = ()
    fillers: frozenset[str] = frozenset()
    labels: dict[str, dict[str, str]] | None = None

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def only_topic(self, text: str) -> Topic | None:
        """The topic a message consists of, filler words aside; None for anything else."""
        if text.lstrip().startswith("/"):
            return None  # a button's payload ("/sim_activate") names its own intent
        words = without_how_are_you(text).split()
        if not words or len(words) > MAX_MESSAGE_WORDS:
            return None
        rest = " ".join(w for w in words if w not in self.fillers)
        if not rest:
            return None
        return next((t for t in self.topics if rest in t.words), None)

    def label(self, intent: str, language: str) -> str | None:
        return ((self.labels or {}).get(intent) or {}).get(language)


def _option(raw: Any) -> Option:
    if isinstance(raw, dict) and "article" in raw:
        return Option(article=str(raw["article"]))
    return Option(intent=str(raw))


def parse_topics(data: dict[str, Any]) -> Topics:
    """Topics from the file's parsed YAML; entries without words or options are left out
    (``topic_problems`` names them)."""
    fillers = frozenset(
        plain_words(str(w)) for words in (data.get("fillers") or {}).values() for w in words or []
    )
    topics = []
    for topic_id, raw in (data.get("topics") or {}).items():
        raw = raw or {}
        words = frozenset(plain_words(str(w)) for ws in (raw.get("words") or {}).values() for w in ws or [])
        options = tuple(_option(o) for o in (raw.get("options") or [])[:MAX_OPTIONS])
        if words and options:
            names = {str(k): str(v) for k, v in (raw.get("name") or {}).items()}
            topics.append(Topic(str(topic_id), names, words, options))
    labels = {
        str(intent): {str(lang): str(title) for lang, title in (titles or {}).items()}
        for intent, titles in (data.get("labels") or {}).items()
    }
    return Topics(tuple(topics), fillers, labels)


def load_topics(path: Path = TOPICS_FILE) -> Topics:
    """The editors' topics; none (every message goes to the classifier) when the file is absent
    or unreadable: ``make check`` reports why, the assistant keeps answering."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return Topics()
    return parse_topics(data) if isinstance(data, dict) else Topics()


def default_topics(path: Path = TOPICS_FILE) -> Topics:
    """The editors' topics for the action server, read again when the file changes: after
    `make publish` the new model names a new topic, and its menu must be there without a
    restart (as the help centre's articles, actions/knowledge.py ``HelpCentreCache``)."""
    try:
        stat = path.stat()
    except OSError:
        return Topics()
    return _topics_at(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _topics_at(path: str, _mtime_ns: int, _size: int) -> Topics:
    return load_topics(Path(path))


def topic_problems(
    path: Path, intents: set[str], articles: set[str], labelled: set[str]
) -> list[tuple[int, str]]:
    """(line, message) for each problem of the topics file: YAML, a language missing from a
    topic's words or name, a word of more than two words, a filler or one naming two topics (at
    the word's line), no options or more than four, an unknown intent or article, an intent
    without a button title (at the topic's line)."""
    try:
        root = compose(path)
    except OSError as error:
        return [(1, f"cannot read the topics file: {error}")]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return [((mark.line + 1) if mark else 1, f"not valid YAML: {error}")]
    data = to_data(root) if root is not None else {}
    topics = parse_topics(data if isinstance(data, dict) else {})
    found: list[tuple[int, str]] = []
    seen: dict[str, str] = {}  # folded word -> the topic it names first
    for topic_id, (key, value) in mapping(_field(root, "topics")).items():
        at = line_of(key)
        words, names = _field(value, "words"), _field(value, "name")
        for language in SUPPORTED_LANGUAGES:
            if not items(_field(words, language)):
                found.append((at, f"topic {topic_id}: no words in {language}"))
            if not scalar(_field(names, language)):
                found.append((at, f"topic {topic_id}: no name in {language}"))
        for _key, sequence in mapping(words).values():
            for node in items(sequence):
                word = scalar(node) or ""
                folded = plain_words(word)
                if len(folded.split()) > MAX_WORDS:
                    found.append(
                        (line_of(node), f"topic {topic_id}: '{word}' has more than {MAX_WORDS} words")
                    )
                if folded in topics.fillers:
                    found.append((line_of(node), f"topic {topic_id}: '{word}' is also a filler word"))
                if seen.setdefault(folded, topic_id) != topic_id:
                    found.append((line_of(node), f"'{folded}' names both {seen[folded]} and {topic_id}"))
        options = [_option(to_data(node)) for node in items(_field(value, "options"))]
        if not options:
            found.append((at, f"topic {topic_id}: no options"))
        if len(options) > MAX_OPTIONS:
            found.append((at, f"topic {topic_id}: {len(options)} options, at most {MAX_OPTIONS} are shown"))
        for option in options:
            if option.article and option.article not in articles:
                found.append((at, f"topic {topic_id}: no help-centre article {option.article}"))
            if option.intent and option.intent not in intents:
                found.append((at, f"topic {topic_id}: intent {option.intent} is not in domain.yml"))
            elif option.intent and option.intent not in labelled and not topics.label(option.intent, "nl"):
                found.append((at, f"topic {topic_id}: intent {option.intent} has no button title"))
    return found


def _field(node: Node | None, name: str) -> Node | None:
    """The value node of ``name`` in a mapping node (None when absent)."""
    entry = mapping(node).get(name)
    return entry[1] if entry else None
