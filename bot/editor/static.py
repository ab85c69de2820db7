"""Static checks: fast, no model needed, every problem with the file and line to fix."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.core.knowledge import ARTICLE_TOPICS, KNOWLEDGE_INTENT, Article, HelpCentre, load_help_centre
from bot.core.project import (
    LANGUAGES,
    MARKER,
    TOPIC_PREFIXES,
    Example,
    Located,
    Problem,
    Project,
    compose,
    items,
    line_of,
    mapping,
    normalise,
    scalar,
)
from bot.core.taxonomy import SENSITIVE_PREFIX
from bot.core.topics import load_topics, topic_problems

DEFAULT_MIN_EXAMPLES = 15
SENSITIVE = SENSITIVE_PREFIX


def static_problems(project: Project, min_examples: int = DEFAULT_MIN_EXAMPLES) -> list[Problem]:
    """Every static problem of the project, in a stable order."""
    problems = placeholders(project)
    problems += example_counts(project, min_examples)
    problems += unknown_intents(project)
    problems += response_languages(project)
    problems += duplicate_examples(project)
    problems += unused_intents(project)
    problems += missing_labels(project)
    problems += sensitive_setup(project)
    problems += heldout_leaks(project)
    centre = load_help_centre(project.knowledge_dir, LANGUAGES)  # ~1 s: read once for both
    problems += article_problems(project, centre)
    problems += topic_file_problems(project, centre)
    return sorted(set(problems), key=lambda p: (p.path, p.line, p.message))


def placeholders(project: Project) -> list[Problem]:
    found = []
    for path in project.editable_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if MARKER in line:
                found.append(Problem(project.rel(path), number, f"placeholder {MARKER} not filled in yet"))
    return found


def example_counts(project: Project, minimum: int) -> list[Problem]:
    found = []
    for language in LANGUAGES:
        counts: dict[str, int] = defaultdict(int)
        for example in project.examples(language):
            counts[example.intent] += not _is_placeholder(example)
        blocks = project.intent_blocks(language)
        for intent in project.intents():
            if intent.value == KNOWLEDGE_INTENT:  # its examples are the articles' questions
                continue
            n = counts[intent.value]
            if n >= minimum:
                continue
            where = blocks.get(intent.value, intent)
            hint = "" if intent.value in blocks else f" (add them under data/nlu/{language}/)"
            found.append(
                Problem(
                    where.path,
                    where.line,
                    f"intent {intent.value} has {n} {language} examples, needs at least {minimum}{hint}",
                )
            )
    return found


def unknown_intents(project: Project) -> list[Problem]:
    known = {i.value for i in project.intents()}
    found = []
    for language in LANGUAGES:
        for name, block in project.intent_blocks(language).items():
            if name not in known:
                found.append(Problem(block.path, block.line, f"intent {name} is not listed in domain.yml"))
    return found


def response_languages(project: Project) -> list[Problem]:
    found = []
    for name, (line, variants) in project.responses().items():
        languages = {_variant_language(v) for v in variants if isinstance(v, dict)}
        missing = [lang for lang in LANGUAGES if lang not in languages]
        if missing:
            message = f"response {name} has no variant for language {', '.join(missing)}"
            found.append(Problem(project.rel(project.domain_file), line, message))
    return found


def _variant_language(variant: dict[str, Any]) -> str | None:
    for condition in variant.get("condition") or []:
        if condition.get("type") == "slot" and condition.get("name") == "language":
            return str(condition.get("value"))
    return None


def duplicate_examples(project: Project) -> list[Problem]:
    by_text: dict[str, list[Example]] = defaultdict(list)
    for example in project.examples():
        if not _is_placeholder(example):
            by_text[normalise(example.value)].append(example)
    found = []
    for same in by_text.values():
        if len({e.intent for e in same}) < 2:
            continue
        for example in same:
            others = sorted({f"{o.intent} ({o.path}:{o.line})" for o in same if o.intent != example.intent})
            message = (
                f"example {example.value!r} of {example.intent} is also an example of {', '.join(others)}"
            )
            found.append(Problem(example.path, example.line, message))
    return found


def unused_intents(project: Project) -> list[Problem]:
    used = project.used_intents()
    rules = project.rel(project.rules_file)
    return [
        Problem(i.path, i.line, f"intent {i.value} is in no rule or story (add one to {rules})")
        for i in project.intents()
        if i.value not in used
    ]


def missing_labels(project: Project) -> list[Problem]:
    labels = project.labels()
    path = project.rel(project.labels_file)
    found = []
    for intent in project.intents():
        if intent.value.split("_")[0] not in TOPIC_PREFIXES:
            continue
        if intent.value not in labels:
            found.append(
                Problem(path, 0, f"intent {intent.value} has no button label (domain.yml:{intent.line})")
            )
            continue
        line, label = labels[intent.value]
        missing = [lang for lang in LANGUAGES if not str((label or {}).get(lang) or "").strip()]
        if missing:
            found.append(Problem(path, line, f"label of {intent.value} misses language {', '.join(missing)}"))
    return found


def sensitive_setup(project: Project) -> list[Problem]:
    reasons = project.reasons()
    responses = project.responses()
    found = []
    for intent in project.intents():
        if not intent.value.startswith(SENSITIVE):
            continue
        reason = intent.value[len(SENSITIVE) :]
        if reason not in reasons:
            message = f"intent {intent.value} needs reason {reason!r} in {project.rel(project.handoff_file)}"
            found.append(Problem(intent.path, intent.line, message))
        if f"utter_escalate_{reason}" not in responses:
            message = f"intent {intent.value} needs a response utter_escalate_{reason} (nl, fr and en)"
            found.append(Problem(intent.path, intent.line, message))
    return found


def heldout_leaks(project: Project) -> list[Problem]:
    training = {normalise(e.value): e for e in project.examples()}
    known = {i.value for i in project.intents()}
    found = []
    for message in project.heldout():
        if message.intent not in known:
            found.append(
                Problem(message.path, message.line, f"held-out intent {message.intent} is not in domain.yml")
            )
        twin = training.get(normalise(message.value))
        if twin:
            text = f"held-out message {message.value!r} is also a training example ({twin.path}:{twin.line})"
            found.append(Problem(message.path, message.line, text))
    return found


def _is_placeholder(example: Example) -> bool:
    return MARKER in example.value


# -- help-centre articles (data/knowledge/<lang>/<id>.md, bot.core.knowledge) -----------------


def article_problems(project: Project, centre: HelpCentre) -> list[Problem]:
    """Problems of the help centre: the parser's (fields, body, id, questions, missing language),
    then ids, topics, departments, links and example questions shared with something else."""
    found = [Problem(_rel(project, p.path), p.line, p.message) for p in centre.problems]
    if not project.article_files():
        return found
    if KNOWLEDGE_INTENT not in {i.value for i in project.intents()}:
        message = f"the help centre (data/knowledge/) needs the intent {KNOWLEDGE_INTENT} in the intents list"
        found.append(Problem(project.rel(project.domain_file), 0, message))
    found += article_ids(project, centre)
    found += article_fields(project, centre)
    found += duplicate_questions(project, centre)
    found += longtail_leaks(project, centre)
    return found


def topic_file_problems(project: Project, centre: HelpCentre) -> list[Problem]:
    """Problems of data/topics.yml (bot.core.topics.topic_problems), and training examples or
    article questions that only name a topic: the assistant answers such a message with the
    topic's menu, so the example teaches nothing and misleads the editor."""
    path = project.topics_file
    if not path.exists():
        return []
    articles = {article_id for by_id in centre.articles.values() for article_id in by_id}
    intents = {i.value for i in project.intents()}
    where = project.rel(path)
    found = [
        Problem(where, line, message)
        for line, message in topic_problems(path, intents, articles, set(project.labels()))
    ]
    topics = load_topics(path)

    def only(text: str, at: str, line: int) -> None:
        topic = topics.only_topic(text)
        if topic is not None:
            shows = f"the assistant shows that topic's menu ({where})"
            found.append(Problem(at, line, f"{text!r} only names the topic {topic.id}: {shows}"))

    for example in project.examples():
        only(example.value, example.path, example.line)
    for article in _articles(centre):
        for question, line in _longtail_pairs(article):
            only(question, _rel(project, article.path), line)
    return found


def front_matter_lines(path: Path) -> dict[str, int]:
    """Field name -> 1-based line in an article's front matter (only top-level ``name:`` lines)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            break
        match = re.match(r"([A-Za-z_]+):", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def _declared_id(path: Path) -> tuple[str, int] | None:
    """The id a file's front matter declares, read leniently (also from files with problems)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return None
        match = re.match(r"""id:\s*["']?([^"'#\s]+)""", line)
        if match:
            return match.group(1), number
    return None


def article_ids(project: Project, centre: HelpCentre) -> list[Problem]:
    """An id declared by two files of one language, or equal to an intent of domain.yml."""
    intents = {i.value: i for i in project.intents()}
    found = []
    for language in LANGUAGES:
        declared: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for path in sorted((project.knowledge_dir / language).glob("*.md")):
            got = _declared_id(path)
            if got:
                declared[got[0]].append((project.rel(path), got[1]))
        for article_id, places in declared.items():
            for path, line in places:
                others = ", ".join(f"{p}:{n}" for p, n in places if (p, n) != (path, line))
                if others:
                    found.append(Problem(path, line, f"id '{article_id}' is also used by {others}"))
                intent = intents.get(article_id)
                if intent:
                    where = f"{intent.path}:{intent.line}"
                    found.append(
                        Problem(
                            path, line, f"id '{article_id}' is also an intent ({where}); choose another id"
                        )
                    )
    return found


def article_fields(project: Project, centre: HelpCentre) -> list[Problem]:
    """Known topic, an https link, and the same topic and department in every language."""
    found = []
    for article_id in centre.ids():
        versions = [a for lang in LANGUAGES if (a := centre.get(article_id, lang))]
        usual = {
            name: Counter(getattr(a, name) for a in versions).most_common(1)[0][0]
            for name in ("topic", "department")
        }
        for article in versions:
            lines = front_matter_lines(article.path)
            path = _rel(project, article.path)
            if MARKER not in article.topic and article.topic not in ARTICLE_TOPICS:
                message = f"topic '{article.topic}' is not one of {', '.join(ARTICLE_TOPICS)}"
                found.append(Problem(path, lines.get("topic", 2), message))
            for name in ("topic", "department"):
                value = getattr(article, name)
                if value != usual[name] and MARKER not in value:
                    others = [a.language for a in versions if getattr(a, name) == usual[name]]
                    message = (
                        f"{name} '{value}' differs from the {'/'.join(others)} version ('{usual[name]}'); "
                        "an article has one in all languages"
                    )
                    found.append(Problem(path, lines.get(name, 2), message))
            link = urlparse(article.link)
            if MARKER not in article.link and (link.scheme != "https" or not link.netloc):
                message = f"link '{article.link}' must be a full https:// address"
                found.append(Problem(path, lines.get("link", 2), message))
    return found


def duplicate_questions(project: Project, centre: HelpCentre) -> list[Problem]:
    """The same question in two articles, or in an article and an intent's examples (reported
    at both places; two intents sharing an example are reported by duplicate_examples)."""
    by_text: dict[str, list[Located]] = defaultdict(list)
    owner: dict[Located, str] = {}
    for article in _articles(centre):
        for question, line in zip(article.questions, _question_lines(article), strict=True):
            if MARKER not in question:
                place = Located(question, _rel(project, article.path), line)
                by_text[normalise(question)].append(place)
                owner[place] = f"article {article.id}"
    for example in project.examples():
        key = normalise(example.value)
        if key in by_text and not _is_placeholder(example):
            place = Located(example.value, example.path, example.line)
            by_text[key].append(place)
            owner[place] = f"intent {example.intent}"
    found = []
    for places in by_text.values():
        if len({owner[p] for p in places}) < 2:
            continue
        for place in places:
            mine = owner[place]
            others = sorted(
                f"{owner[o]} ({o.path}:{o.line})"
                for o in places
                if owner[o] != mine and (mine.startswith("article") or owner[o].startswith("article"))
            )
            if others:
                what = "question" if mine.startswith("article") else "example"
                message = f"{what} {place.value!r} of {mine} is also in {', '.join(others)}"
                found.append(Problem(place.path, place.line, message))
    return found


def longtail_leaks(project: Project, centre: HelpCentre) -> list[Problem]:
    """A long-tail held-out question (bench/heldout/longtail/) that is also a training question."""
    training = {normalise(q): (a, line) for a in _articles(centre) for q, line in _longtail_pairs(a)}
    training.update({normalise(e.value): (e, e.line) for e in project.examples()})
    found = []
    for message in _longtail_messages(project):
        twin = training.get(normalise(message.value))
        if twin:
            source, line = twin
            where = f"{_rel(project, source.path) if isinstance(source, Article) else source.path}:{line}"
            text = f"held-out message {message.value!r} is also a training example ({where})"
            found.append(Problem(message.path, message.line, text))
    return found


def _longtail_pairs(article: Article) -> list[tuple[str, int]]:
    return list(zip(article.questions, _question_lines(article), strict=True))


def _longtail_messages(project: Project) -> list[Located]:
    found = []
    for path in sorted((project.root / "bench" / "heldout" / "longtail").glob("*.yml")):
        for _language, (_k, labels) in mapping(compose(path)).items():
            for _label, (_k2, texts) in mapping(labels).items():
                for text in items(texts):
                    found.append(Located(scalar(text) or "", project.rel(path), line_of(text)))
    return found


def _articles(centre: HelpCentre) -> list[Article]:
    return [a for lang in LANGUAGES for _i, a in sorted(centre.articles.get(lang, {}).items())]


def _question_lines(article: Article) -> tuple[int, ...]:
    return article.question_lines or (1,) * len(article.questions)


def _rel(project: Project, path: Path) -> str:
    try:
        return project.rel(path)
    except ValueError:
        return str(path)
