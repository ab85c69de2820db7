"""The files an editor touches, read with the line of every item so problems point at a line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.settings import SUPPORTED_LANGUAGES
from bot.core.taxonomy import ANSWER_TOPICS

LANGUAGES: tuple[str, ...] = tuple(SUPPORTED_LANGUAGES)
MARKER = "TODO(editor)"
TOPIC_PREFIXES = ANSWER_TOPICS
ANNOTATION = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|\[([^\]]+)\]\{[^}]*\}")


@dataclass(frozen=True)
class Problem:
    """Something an editor must fix, at ``path:line`` (path relative to the project)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Located:
    """A value and where it is: path relative to the project, 1-based line."""

    value: str
    path: str
    line: int


@dataclass(frozen=True)
class Example(Located):
    intent: str
    language: str


def normalise(text: str) -> str:
    """Compare texts ignoring case, spacing, trailing punctuation and entity annotations."""
    text = ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\s+", " ", text.strip().lower())
    return re.sub(r"[\s?!.,;:…]+$", "", text)


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CACHE: dict[tuple[str, float, int], Node | None] = {}


def compose(path: Path) -> Node | None:
    """The node tree of a YAML file (cached until the file changes)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _CACHE:
        _CACHE[key] = yaml.compose(path.read_text(encoding="utf-8"), Loader=LOADER)
    return _CACHE[key]


def to_data(node: Node) -> Any:
    """Plain Python data of a node."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def mapping(node: Node | None) -> dict[str, tuple[Node, Node]]:
    """Key -> (key node, value node) of a mapping node; empty for anything else."""
    if not isinstance(node, MappingNode):
        return {}
    return {str(k.value): (k, v) for k, v in node.value if isinstance(k, ScalarNode)}


def items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def scalar(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None


def block_lines(node: Node) -> list[tuple[int, str]]:
    """(line, text) of every line of a scalar; exact for literal blocks (``examples: |``)."""
    text = str(node.value)
    if getattr(node, "style", None) == "|":
        first = node.start_mark.line + 2
        return [(first + i, line) for i, line in enumerate(text.splitlines())]
    return [(line_of(node), line) for line in text.splitlines()]


class Project:
    """Paths and parsed files of one project folder (the real one or a copy)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    @property
    def domain_file(self) -> Path:
        return self.root / "domain.yml"

    @property
    def labels_file(self) -> Path:
        return self.root / "actions" / "intent_labels.yml"

    @property
    def handoff_file(self) -> Path:
        return self.root / "handoff" / "rules.yml"

    @property
    def rules_file(self) -> Path:
        return self.root / "data" / "rules.yml"

    @property
    def topics_file(self) -> Path:
        """Broad topics a customer can name without a question (bot.core.topics)."""
        return self.root / "data" / "topics.yml"

    def nlu_files(self, language: str) -> list[Path]:
        return sorted((self.root / "data" / "nlu" / language).glob("*.yml"))

    def heldout_files(self) -> list[Path]:
        return sorted((self.root / "bench" / "heldout").glob("*.yml"))

    @property
    def knowledge_dir(self) -> Path:
        """The help-centre articles: ``data/knowledge/<lang>/<id>.md`` (bot.core.knowledge)."""
        return self.root / "data" / "knowledge"

    def article_files(self) -> list[Path]:
        return sorted(p for lang in LANGUAGES for p in (self.knowledge_dir / lang).glob("*.md"))

    def conversation_file(self, language: str) -> Path:
        return self.root / "tests" / "conversations" / f"test_{language}.yml"

    def story_files(self) -> list[Path]:
        """Training rules and stories: every YAML file under data/ except the NLU folder."""
        nlu = self.root / "data" / "nlu"
        return sorted(p for p in (self.root / "data").rglob("*.yml") if nlu not in p.parents)

    def editable_files(self) -> list[Path]:
        """Every file the scaffold writes placeholders into."""
        files = [self.domain_file, self.labels_file, self.handoff_file, *self.heldout_files()]
        files += sorted((self.root / "data").rglob("*.yml"))
        files += [self.conversation_file(language) for language in LANGUAGES]
        files += self.article_files()
        return [f for f in files if f.is_file()]

    # -- domain -------------------------------------------------------------------------------
    def domain(self) -> dict[str, tuple[Node, Node]]:
        return mapping(compose(self.domain_file))

    def intents(self) -> list[Located]:
        node = self.domain().get("intents", (None, None))[1]
        found = []
        for item in items(node):
            name = scalar(item) or next(iter(mapping(item)), None)
            if name:
                found.append(Located(name, self.rel(self.domain_file), line_of(item)))
        return found

    def responses(self) -> dict[str, tuple[int, list[Any]]]:
        """Response name -> (line, variants as plain data)."""
        node = self.domain().get("responses", (None, None))[1]
        out = {}
        for name, (key, value) in mapping(node).items():
            out[name] = (line_of(key), to_data(value) or [])
        return out

    # -- training data ------------------------------------------------------------------------
    def examples(self, language: str | None = None) -> list[Example]:
        found: list[Example] = []
        for lang in [language] if language else LANGUAGES:
            for path in self.nlu_files(lang):
                found += self._file_examples(path, lang)
        return found

    def intent_blocks(self, language: str) -> dict[str, Located]:
        """Intent -> where its block starts in that language (first block wins)."""
        blocks: dict[str, Located] = {}
        for path in self.nlu_files(language):
            for item in items(mapping(compose(path)).get("nlu", (None, None))[1]):
                fields = mapping(item)
                if "intent" in fields:
                    name = scalar(fields["intent"][1]) or ""
                    blocks.setdefault(name, Located(name, self.rel(path), line_of(item)))
        return blocks

    def _file_examples(self, path: Path, language: str) -> list[Example]:
        found = []
        for item in items(mapping(compose(path)).get("nlu", (None, None))[1]):
            fields = mapping(item)
            if "intent" not in fields or "examples" not in fields:
                continue
            intent = scalar(fields["intent"][1]) or ""
            for line, text in block_lines(fields["examples"][1]):
                if text.strip().startswith("- "):
                    found.append(Example(text.strip()[2:].strip(), self.rel(path), line, intent, language))
        return found

    def heldout(self) -> list[Example]:
        """Every held-out message with its file and line."""
        found = []
        for path in self.heldout_files():
            for language, (_k, intents) in mapping(compose(path)).items():
                for intent, (_k2, texts) in mapping(intents).items():
                    for text in items(texts):
                        value = scalar(text) or ""
                        found.append(Example(value, self.rel(path), line_of(text), intent, language))
        return found

    def used_intents(self) -> set[str]:
        """Intents that appear in a step of a training rule or story."""
        used: set[str] = set()
        for path in self.story_files():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for flow in (data.get("rules") or []) + (data.get("stories") or []):
                used |= _step_intents(flow.get("steps") or [])
        return used

    def labels(self) -> dict[str, tuple[int, dict[str, Any]]]:
        if not self.labels_file.is_file():
            return {}
        out = {}
        for name, (key, value) in mapping(compose(self.labels_file)).items():
            out[name] = (line_of(key), to_data(value) or {})
        return out

    def reasons(self) -> set[str]:
        if not self.handoff_file.is_file():
            return set()
        data = yaml.safe_load(self.handoff_file.read_text(encoding="utf-8")) or {}
        return set(data.get("reasons") or {})


def _step_intents(steps: list[dict[str, Any]]) -> set[str]:
    found = set()
    for step in steps:
        if "intent" in step:
            found.add(str(step["intent"]))
        for alternative in step.get("or") or []:
            if "intent" in alternative:
                found.add(str(alternative["intent"]))
    return found
