"""Static checks: fast, no model needed, every problem with the file and line to fix."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.core.project import LANGUAGES, MARKER, TOPIC_PREFIXES, Example, Problem, Project, normalise
from bot.core.taxonomy import SENSITIVE_PREFIX

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
