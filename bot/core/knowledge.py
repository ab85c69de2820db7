"""The help centre: articles in ``data/knowledge/{nl,fr,en}/<id>.md``, one file per language.

Each file is Markdown with YAML front matter (``id``, ``title``, ``topic``, ``department``,
``link``, ``questions``) followed by the body the assistant sends. The same id in the three
languages is one article. Editors write them (docs/editors.md); the Rasa pipeline learns the
example questions (``bot.rasa.nlu.knowledge``), the action server answers with the body, and
``make check`` reports every problem at its file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

KNOWLEDGE_DIR = PROJECT_ROOT / "data" / "knowledge"
KNOWLEDGE_INTENT = "knowledge"  # the one domain intent every article question maps to
REQUIRED_FIELDS = ("id", "title", "topic", "department", "link", "questions")
ARTICLE_TOPICS = ("billing", "coverage", "sim", "services", "account", "devices")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
MIN_QUESTIONS = 5
MAX_BODY_CHARS = 1200


@dataclass(frozen=True)
class Article:
    id: str
    language: str
    title: str
    topic: str
    department: str
    link: str
    questions: tuple[str, ...]
    body: str
    path: Path
    question_lines: tuple[int, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ArticleProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def parse_article(path: Path, language: str) -> tuple[Article | None, list[ArticleProblem]]:
    """One article file; (None, problems) when it cannot be used."""
    problems: list[ArticleProblem] = []

    def problem(line: int, message: str) -> tuple[None, list[ArticleProblem]]:
        problems.append(ArticleProblem(path, line, message))
        return None, problems

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return problem(1, f"cannot read the file: {exc}")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return problem(1, "an article starts with a '---' line, then its fields, then '---' and the body")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return problem(1, "the fields are not closed by a second '---' line")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        # Where the broken construct starts (an unclosed "[" or quote), else where YAML stopped.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        return problem(line, f"the fields are not valid YAML: {getattr(exc, 'problem', exc)}")
    if not isinstance(meta, dict):
        return problem(2, "the fields must be 'name: value' lines")
    for name in REQUIRED_FIELDS:
        if not meta.get(name):
            problem(_line_of(lines, name, end), f"field '{name}' is missing or empty")
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        problem(end + 2, "the body (the answer the assistant sends) is empty")
    elif len(body) > MAX_BODY_CHARS:
        problem(end + 2, f"the body has {len(body)} characters; keep it under {MAX_BODY_CHARS}")
    article_id = str(meta.get("id") or "")
    if article_id and article_id != path.stem:
        problem(_line_of(lines, "id", end), f"id '{article_id}' differs from the file name '{path.stem}'")
    elif article_id and not ID_PATTERN.match(article_id):
        problem(_line_of(lines, "id", end), f"id '{article_id}': use lower-case letters, digits and _")
    questions = meta.get("questions") or []
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        problem(_line_of(lines, "questions", end), "questions must be a list of non-empty texts")
        questions = []
    elif len(questions) < MIN_QUESTIONS:
        problem(
            _line_of(lines, "questions", end),
            f"only {len(questions)} example questions; "
            f"write at least {MIN_QUESTIONS} in the customer's words",
        )
    if problems:
        return None, problems
    article = Article(
        id=article_id,
        language=language,
        title=str(meta["title"]).strip(),
        topic=str(meta["topic"]).strip(),
        department=str(meta["department"]).strip(),
        link=str(meta["link"]).strip(),
        questions=tuple(q.strip() for q in questions),
        body=body,
        path=path,
        question_lines=tuple(_question_lines(lines, end, len(questions))),
    )
    return article, problems


def _line_of(lines: list[str], name: str, end: int) -> int:
    for number, line in enumerate(lines[1:end], start=2):
        if line.startswith(f"{name}:"):
            return number
    return 2


def _question_lines(lines: list[str], end: int, count: int) -> list[int]:
    start = _line_of(lines, "questions", end)
    found = [n for n, line in enumerate(lines[start:end], start=start + 1) if line.lstrip().startswith("- ")]
    return (found + [start] * count)[:count]


@dataclass
class HelpCentre:
    """All articles by language and id, and the problems met while reading them."""

    articles: dict[str, dict[str, Article]]
    problems: list[ArticleProblem]

    def get(self, article_id: str, language: str) -> Article | None:
        return self.articles.get(language, {}).get(article_id)

    def ids(self) -> list[str]:
        return sorted({i for by_id in self.articles.values() for i in by_id})


def load_help_centre(
    folder: Path = KNOWLEDGE_DIR, languages: tuple[str, ...] = SUPPORTED_LANGUAGES
) -> HelpCentre:
    """Read every article; a file with problems is left out and its problems reported."""
    articles: dict[str, dict[str, Article]] = {language: {} for language in languages}
    problems: list[ArticleProblem] = []
    for language in languages:
        for path in sorted((folder / language).glob("*.md")):
            article, found = parse_article(path, language)
            problems += found
            if article is not None:
                articles[language][article.id] = article
    for article_id in sorted({i for by_id in articles.values() for i in by_id}):
        present = [lang for lang in languages if article_id in articles[lang]]
        for language in languages:
            # A version whose file exists but has problems is reported at those problems.
            if language not in present and not (folder / language / f"{article_id}.md").is_file():
                where = articles[present[0]][article_id].path
                problems.append(
                    ArticleProblem(
                        where,
                        1,
                        f"article '{article_id}' has no {language} version ({language}/{article_id}.md)",
                    )
                )
    return HelpCentre(articles, problems)
