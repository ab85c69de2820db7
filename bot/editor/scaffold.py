"""`add-intent`: scaffold a new intent in every file and language, with TODO(editor) placeholders;
`add-article`: the same for a help-centre article (``data/knowledge/<lang>/<id>.md``).

Files are edited by inserting text blocks, never by re-dumping YAML: editors' comments,
ordering and formatting stay exactly as they were.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from yaml.nodes import Node, ScalarNode

from bot.core.knowledge import ARTICLE_TOPICS, ID_PATTERN, MIN_QUESTIONS, load_help_centre
from bot.core.project import LANGUAGES, MARKER, Project, compose, items, mapping, scalar
from bot.core.taxonomy import SENSITIVE_PREFIX, TOPICS

NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
LANGUAGE_NAMES = {"nl": "Dutch", "fr": "French", "en": "English"}
PLACEHOLDER_EXAMPLES = 3


class ScaffoldError(ValueError):
    """The intent cannot be added (bad name, already exists, files missing)."""


def add_intent(project: Project, name: str, topic: str | None = None) -> list[tuple[str, int]]:
    """Add ``name`` everywhere; returns (file, line) of each inserted block."""
    topic = _validate(project, name, topic)
    sensitive = topic == "sensitive"
    reason = name[len(SENSITIVE_PREFIX) :]
    response = f"utter_escalate_{reason}" if sensitive else f"utter_{name}"
    action = "action_escalate" if sensitive else response
    changed = [_add_to_domain_intents(project, name, topic), _add_response(project, response, name)]
    for language in LANGUAGES:
        changed.append(_add_examples(project, language, topic, name))
    changed.append(_add_rule(project, name, action, sensitive))
    if sensitive:
        changed.append(_add_reason(project, reason))
    else:
        changed.append(_add_label(project, name))
    for language in LANGUAGES:
        changed.append(_add_conversation(project, language, name, action))
    return changed


def _validate(project: Project, name: str, topic: str | None) -> str:
    prefix = name.split("_")[0]
    if not NAME.match(name) or prefix not in TOPICS:
        known = ", ".join(f"{t}_" for t in TOPICS)
        raise ScaffoldError(f"{name!r}: use lowercase words joined by _, starting with one of {known}")
    if topic and topic != prefix:
        raise ScaffoldError(f"{name!r} starts with {prefix}_ but --topic is {topic}")
    existing = {i.value for i in project.intents()}
    existing |= {n for lang in LANGUAGES for n in project.intent_blocks(lang)}
    if name in existing:
        raise ScaffoldError(f"intent {name} already exists")
    response = f"utter_escalate_{name[len('sensitive_') :]}" if prefix == "sensitive" else f"utter_{name}"
    if response in project.responses():
        raise ScaffoldError(f"response {response} already exists")
    return prefix


def _insert(path: Path, line: int, block: str) -> int:
    """Insert ``block`` after 1-based ``line`` (0: at the end); returns the block's first line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    at = len(lines) if line <= 0 else line
    lines[at:at] = [block]
    path.write_text("".join(lines), encoding="utf-8")
    return at + 1


def _last_line(node: Node) -> int:
    """1-based last line of a node's content (comments and blank lines after it excluded)."""
    while not isinstance(node, ScalarNode):
        children = node.value
        if not children:
            return node.start_mark.line + 1
        last = children[-1]
        node = last[1] if isinstance(last, tuple) else last
    if node.style in ("|", ">"):
        return node.start_mark.line + 1 + len(str(node.value).rstrip("\n").splitlines())
    return node.end_mark.line + 1


def _add_to_domain_intents(project: Project, name: str, topic: str) -> tuple[str, int]:
    node = project.domain().get("intents", (None, None))[1]
    entries = items(node)
    if not entries:
        raise ScaffoldError("domain.yml has no intents list")
    same_topic = [e for e in entries if (scalar(e) or "").startswith(f"{topic}_")]
    after = same_topic[-1] if same_topic else entries[-1]
    indent = " " * max(after.start_mark.column - 2, 0)
    line = _insert(project.domain_file, _last_line(after), f"{indent}- {name}\n")
    return project.rel(project.domain_file), line


def _add_response(project: Project, response: str, name: str) -> tuple[str, int]:
    node = project.domain().get("responses", (None, None))[1]
    if node is None:
        raise ScaffoldError("domain.yml has no responses")
    block = f"  {response}:  # answer for {name}\n"
    for language in LANGUAGES:
        block += f"    - condition: [{{type: slot, name: language, value: {language}}}]\n"
        block += f'      text: "{MARKER}: the answer in {LANGUAGE_NAMES[language]}"\n'
    line = _insert(project.domain_file, _last_line(node), block)
    return project.rel(project.domain_file), line


def _add_examples(project: Project, language: str, topic: str, name: str) -> tuple[str, int]:
    path = project.root / "data" / "nlu" / language / f"{topic}.yml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('version: "3.1"\nnlu:\n', encoding="utf-8")
    examples = "".join(
        f"    - {MARKER}: customer message {i} in {LANGUAGE_NAMES[language]}\n"
        for i in range(1, PLACEHOLDER_EXAMPLES + 1)
    )
    block = f"- intent: {name}\n  examples: |\n{examples}"
    return project.rel(path), _insert(path, 0, block)


def _add_rule(project: Project, name: str, action: str, sensitive: bool) -> tuple[str, int]:
    path = project.rules_file
    node = mapping(compose(path)).get("rules", (None, None))[1]
    title = f"hand {name} to a person" if sensitive else f"answer {name}"
    block = f"  - rule: {title}\n    steps:\n      - intent: {name}\n      - action: {action}\n"
    return project.rel(path), _insert(path, _last_line(node) if items(node) else 0, block)


def _add_label(project: Project, name: str) -> tuple[str, int]:
    labels = ", ".join(f'{lang}: "{MARKER}: short button label"' for lang in LANGUAGES)
    path = project.labels_file
    return project.rel(path), _insert(path, 0, f"{name}: {{{labels}}}\n")


def _add_reason(project: Project, reason: str) -> tuple[str, int]:
    node = mapping(compose(project.handoff_file)).get("reasons", (None, None))[1]
    if not mapping(node):
        raise ScaffoldError("handoff/rules.yml has no reasons")
    block = (
        f"  {reason}: {{priority: normal, bot_answers_first: false}}"
        f"  # {MARKER}: choose the priority (urgent, high, normal), then delete this comment\n"
    )
    return project.rel(project.handoff_file), _insert(project.handoff_file, _last_line(node), block)


def _add_conversation(project: Project, language: str, name: str, action: str) -> tuple[str, int]:
    path = project.conversation_file(language)
    if not path.exists():
        raise ScaffoldError(f"{project.rel(path)} is missing")
    block = (
        f"\n  - story: {language} {name}\n    steps:\n      - user: |\n"
        f"          {MARKER}: a customer message in {LANGUAGE_NAMES[language]}\n"
        f"        intent: {name}\n      - action: {action}\n"
    )
    return project.rel(path), _insert(path, 0, block) + 1


# -- help-centre articles -----------------------------------------------------------------------


def add_article(project: Project, article_id: str, topic: str | None = None) -> list[tuple[str, int]]:
    """Write ``data/knowledge/<lang>/<article_id>.md`` for every language, with placeholders the
    check refuses; returns (file, line of the first placeholder) of each file."""
    if not ID_PATTERN.match(article_id):
        raise ScaffoldError(
            f"{article_id!r}: use lowercase letters, digits and _ (e.g. call_forwarding_abroad)"
        )
    if topic is not None and topic not in ARTICLE_TOPICS:
        raise ScaffoldError(f"topic {topic!r} is not one of {', '.join(ARTICLE_TOPICS)}")
    paths = [project.knowledge_dir / language / f"{article_id}.md" for language in LANGUAGES]
    existing = [project.rel(p) for p in paths if p.exists()]
    if existing:
        raise ScaffoldError(f"article {article_id} already exists ({', '.join(existing)})")
    if article_id in {i.value for i in project.intents()}:
        raise ScaffoldError(f"{article_id} is already an intent in domain.yml; choose another id")
    centre = load_help_centre(project.knowledge_dir, LANGUAGES)
    current = [a for by_id in centre.articles.values() for a in by_id.values()]
    departments = Counter(a.department for a in current if a.topic == topic)
    department = departments.most_common(1)[0][0] if topic and departments else None
    links = {a.link.replace(f"/{a.language}/{a.id}", "/{language}/{id}") for a in current}
    pattern = links.pop() if len(links) == 1 else None  # e.g. https://help.example/{language}/{id}
    pattern = pattern if pattern and "{id}" in pattern else None
    changed = []
    for language, path in zip(LANGUAGES, paths, strict=True):
        link = pattern.format(language=language, id=article_id) if pattern else None
        text = _article_text(article_id, language, topic, department, link)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        first = next(n for n, line in enumerate(text.splitlines(), start=1) if MARKER in line)
        changed.append((project.rel(path), first))
    return changed


def _article_text(
    article_id: str, language: str, topic: str | None, department: str | None, link: str | None
) -> str:
    name = LANGUAGE_NAMES[language]
    topic = topic or f'"{MARKER}: one of {", ".join(ARTICLE_TOPICS)}"'
    department = department or f'"{MARKER}: the department that owns this answer"'
    if link:
        link += f"  # {MARKER}: check that this page exists, then delete this comment"
    else:
        link = f'"{MARKER}: the https:// address of the page in {name}"'
    questions = [f"customer question {i} in {name}" for i in range(1, MIN_QUESTIONS + 1)]
    questions[0] += " (write 12 to 15, in the customer's words, each different)"
    lines = [
        "---",
        f"id: {article_id}",
        f'title: "{MARKER}: the title in {name}"',
        f"topic: {topic}",
        f"department: {department}",
        f"link: {link}",
        "questions:",
        *(f'  - "{MARKER}: {q}"' for q in questions),
        "---",
        f"{MARKER}: the answer in {name}, as the assistant sends it (short steps, under 1200 characters).",
    ]
    return "\n".join(lines) + "\n"
