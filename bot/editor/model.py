"""Model checks: rasa data validate, training when needed, held-out accuracy per language,
the test conversations, intents the model confuses with each other, and for the help centre:
how many of each article's own questions retrieve it, look-alike articles, and the long-tail
held-out figures (bot.rasa.longtail). Every text is parsed once, with one loaded model."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.knowledge import KNOWLEDGE_INTENT, Article, load_help_centre
from bot.core.project import LANGUAGES, Example, Problem, Project
from bot.core.settings import PROJECT_ROOT, Settings
from bot.editor.static import front_matter_lines
from bot.rasa.longtail import Item, load_longtail, outcome, parse_all, score

TARGET_ACCURACY = 0.95
CONFUSION_SHARE = 0.2  # of one intent's held-out messages read as the other
CONFUSION_MIN = 2  # messages, for the share rule
CONFUSION_PAIR = 3  # messages confused in either direction
TARGET_RETRIEVAL = 0.8  # of an article's own questions (per language) that must retrieve it
LOOKALIKE_SHARE = 0.25  # of each article's questions retrieving the other one
# Long-tail held-out targets (bench/longtail.py): shown in the report, not problems.
LONGTAIL_RIGHT, LONGTAIL_WRONG, LONGTAIL_ANSWERED = 0.85, 0.02, 0.05
STEPS = ("validate", "heldout", "articles", "conversations")


@dataclass(frozen=True)
class Prediction:
    example: Example
    predicted: str
    confidence: float

    @property
    def ok(self) -> bool:
        return self.predicted == self.example.intent


@dataclass(frozen=True)
class Retrieval:
    """What one of an article's own example questions led to."""

    article: str
    language: str
    question: str
    path: str  # the article file, relative to the project
    line: int
    intent: str  # the intent the NLU result has (``knowledge`` for an article)
    predicted: str | None  # the best article of the ranking
    confidence: float

    @property
    def ok(self) -> bool:
        return self.intent == KNOWLEDGE_INTENT and self.predicted == self.article

    @property
    def read_as(self) -> str:
        return f"article {self.predicted}" if self.intent == KNOWLEDGE_INTENT else self.intent


@dataclass
class Evaluation:
    model: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    retrievals: list[Retrieval] = field(default_factory=list)
    # per language: n, right, wrong, honest, unanswerable, answered_anyway (bot.rasa.longtail.score)
    longtail: dict[str, dict[str, int]] = field(default_factory=dict)

    def accuracy(self, language: str) -> float | None:
        mine = [p for p in self.predictions if p.example.language == language]
        return sum(p.ok for p in mine) / len(mine) if mine else None

    def retrieval(self, language: str) -> float | None:
        """Share of the language's article questions that retrieve their own article."""
        mine = [r for r in self.retrievals if r.language == language]
        return sum(r.ok for r in mine) / len(mine) if mine else None

    def article_scores(self, language: str) -> list[tuple[str, str, int, int]]:
        """(article, path, right, questions) per article of the language, weakest first."""
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for r in self.retrievals:
            if r.language == language:
                totals[(r.article, r.path)][0] += r.ok
                totals[(r.article, r.path)][1] += 1
        scores = [(a, p, right, n) for (a, p), (right, n) in totals.items()]
        return sorted(scores, key=lambda s: (s[2] / s[3], s[0]))


def model_checks(project: Project, model: Path | None = None, steps: tuple[str, ...] = STEPS) -> Evaluation:
    evaluation = Evaluation()
    if "validate" in steps:
        evaluation.problems += validate(project)
    evaluation.model = model or train(project)
    heldout = project.heldout() if "heldout" in steps else []
    articles = _articles(project) if "articles" in steps else []
    longtail = _longtail(project) if "articles" in steps else []
    texts = [m.value for m in heldout]
    texts += [q for a in articles for q in a.questions]
    texts += [i.text for i in longtail]
    parsed = parse_texts(evaluation.model, texts)
    if "heldout" in steps:
        evaluation.predictions = heldout_predictions(heldout, parsed)
        evaluation.problems += accuracy_problems(evaluation)
        evaluation.problems += confused_pairs(project, evaluation.predictions)
        evaluation.notes += [wrong_note(p) for p in evaluation.predictions if not p.ok]
    if "articles" in steps:
        evaluation.retrievals = retrievals(project, articles, parsed)
        evaluation.problems += retrieval_problems(project, evaluation.retrievals)
        evaluation.problems += lookalike_articles(project, evaluation.retrievals)
        evaluation.longtail = longtail_scores(longtail, parsed)
        evaluation.notes += help_centre_notes(evaluation)
    if "conversations" in steps:
        evaluation.problems += conversations(project, evaluation.model)
    return evaluation


def _rasa(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": path}
    env["ACTION_ENDPOINT_URL"] = "http://127.0.0.1:9/webhook"
    command = [sys.executable, "-m", "rasa", *args]
    return subprocess.run(command, cwd=project.root, capture_output=True, text=True, env=env, timeout=1800)


def validate(project: Project) -> list[Problem]:
    """`rasa data validate`, accepting what tests/rasa/test_rasa_data.py accepts."""
    result = _rasa(project, "data", "validate")
    output = result.stdout + result.stderr
    problems = [Problem("rasa data validate", 0, w) for w in unexpected_warnings(project, output)]
    if result.returncode != 0:
        errors = [line for line in output.splitlines() if "ERROR" in line or "Error" in line][-5:]
        problems.append(Problem("rasa data validate", 0, "failed: " + (" | ".join(errors) or output[-500:])))
    return problems


def unexpected_warnings(project: Project, output: str) -> list[str]:
    """Rasa's warnings an editor must fix. Accepted: responses that custom actions send (they are
    in no rule), and the help-centre intent, whose examples come from data/knowledge/."""
    actions_dir = project.root / "actions"
    if not any(actions_dir.glob("*.py")):  # a copy of the editors' files only
        actions_dir = PROJECT_ROOT / "actions"
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(actions_dir.glob("*.py")))
    prefixes = re.findall(r'f"(utter_\w+?)\{', source)
    unexpected = []
    for warning in re.findall(r"UserWarning: (.*)", output):
        if re.match(
            rf"The intent '{KNOWLEDGE_INTENT}' is listed in the domain file, but is not found in the NLU",
            warning,
        ):
            continue
        match = re.match(r"The utterance '(\w+)' is not used in any story or rule\.", warning)
        name = match.group(1) if match else ""
        sent = match and (f'"{name}"' in source or any(name.startswith(p) for p in prefixes))
        if not sent:
            unexpected.append(warning)
    return unexpected


def train(project: Project) -> Path:
    from bot.rasa.training import ensure_model

    paths = (str(PROJECT_ROOT), os.environ.get("PYTHONPATH"))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    if project.root == PROJECT_ROOT.resolve():
        return ensure_model(Settings.from_env().model_dir, quiet=True)
    return ensure_model(project.root / "models", project.root, quiet=True)


def parse_texts(model: Path, texts: list[str]) -> dict[str, dict]:
    """NLU result per distinct text, the model loaded once (bot.rasa.longtail.parse_all)."""
    import logging

    unique = list(dict.fromkeys(texts))
    if not unique:
        return {}
    logging.getLogger("rasa").setLevel(logging.WARNING)
    return dict(zip(unique, asyncio.run(parse_all(model, unique)), strict=True))


def heldout_predictions(messages: list[Example], parsed: dict[str, dict]) -> list[Prediction]:
    predictions = []
    for message in messages:
        intent = parsed[message.value].get("intent") or {}
        name = str(intent.get("name") or "nlu_fallback")
        predictions.append(Prediction(message, name, float(intent.get("confidence") or 0.0)))
    return predictions


def predict_heldout(project: Project, model: Path) -> list[Prediction]:
    messages = project.heldout()
    return heldout_predictions(messages, parse_texts(model, [m.value for m in messages]))


# -- help centre --------------------------------------------------------------------------------


def _articles(project: Project) -> list[Article]:
    centre = load_help_centre(project.knowledge_dir, LANGUAGES)
    return [a for lang in LANGUAGES for _id, a in sorted(centre.articles.get(lang, {}).items())]


def _longtail(project: Project) -> list[Item]:
    return load_longtail(project.root / "bench" / "heldout" / "longtail")


def retrievals(project: Project, articles: list[Article], parsed: dict[str, dict]) -> list[Retrieval]:
    found = []
    for article in articles:
        path = project.rel(article.path)
        lines = article.question_lines or (1,) * len(article.questions)
        for question, line in zip(article.questions, lines, strict=True):
            result = parsed[question]
            best = result.get("article") or {}
            found.append(
                Retrieval(
                    article=article.id,
                    language=article.language,
                    question=question,
                    path=path,
                    line=line,
                    intent=str((result.get("intent") or {}).get("name") or "nlu_fallback"),
                    predicted=best.get("id"),
                    confidence=float(best.get("confidence") or 0.0),
                )
            )
    return found


def _questions_line(project: Project, path: str) -> int:
    return front_matter_lines(project.root / path).get("questions", 1)


def retrieval_problems(project: Project, found: list[Retrieval]) -> list[Problem]:
    """An article whose own questions (in one language) retrieve it less than TARGET_RETRIEVAL."""
    by_file: dict[str, list[Retrieval]] = defaultdict(list)
    for r in found:
        by_file[r.path].append(r)
    problems = []
    for path, mine in sorted(by_file.items()):
        right = sum(r.ok for r in mine)
        if right >= TARGET_RETRIEVAL * len(mine):
            continue
        wrong = [r for r in mine if not r.ok]
        samples = "; ".join(f"{r.question!r} -> {r.read_as}" for r in wrong[:3])
        message = (
            f"article {mine[0].article}: only {right} of its {len(mine)} {mine[0].language} questions "
            f"retrieve it ({100 * right / len(mine):.0f}%, needs {100 * TARGET_RETRIEVAL:.0f}%). Make them "
            f"more specific, or the articles/intents they go to more distinct. e.g. {samples}"
        )
        problems.append(Problem(path, _questions_line(project, path), message))
    return problems


def lookalike_articles(project: Project, found: list[Retrieval]) -> list[Problem]:
    """Two articles (in one language) whose questions go to each other, LOOKALIKE_SHARE each way."""
    totals: Counter[tuple[str, str]] = Counter((r.language, r.article) for r in found)
    going: Counter[tuple[str, str, str]] = Counter(
        (r.language, r.article, r.predicted)
        for r in found
        if r.intent == KNOWLEDGE_INTENT and r.predicted and r.predicted != r.article
    )
    paths = {(r.language, r.article): r.path for r in found}
    problems = []
    for (language, a, b), a_to_b in sorted(going.items()):
        b_to_a = going[(language, b, a)]
        if a > b or (language, b) not in totals:
            continue
        if (
            a_to_b < LOOKALIKE_SHARE * totals[(language, a)]
            or b_to_a < LOOKALIKE_SHARE * totals[(language, b)]
        ):
            continue
        path_a, path_b = paths[(language, a)], paths[(language, b)]
        message = (
            f"articles {a} and {b} look alike to the model: {a_to_b} of {totals[(language, a)]} {language} "
            f"questions of {a} retrieve {b}, {b_to_a} of {totals[(language, b)]} the other way "
            f"({path_b}:{_questions_line(project, path_b)}). Make their questions more distinct, or "
            "merge the articles"
        )
        problems.append(Problem(path_a, _questions_line(project, path_a), message))
    return problems


def longtail_scores(items: list[Item], parsed: dict[str, dict]) -> dict[str, dict[str, int]]:
    if not items:
        return {}
    stats = score(items, [outcome(parsed[i.text]) for i in items])
    return {language: dict(s) for language, s in stats.items()}


def longtail_figures(s: dict[str, int] | None) -> tuple[float, float, float, int, float, int] | None:
    """(right, wrong, honest, n, answered anyway, unanswerable) of one language's long-tail scores."""
    if not s or not s.get("n"):
        return None
    n, unanswerable = s["n"], s.get("unanswerable", 0)
    answered = s.get("answered_anyway", 0) / unanswerable if unanswerable else 0.0
    return (s.get("right", 0) / n, s.get("wrong", 0) / n, s.get("honest", 0) / n, n, answered, unanswerable)


def help_centre_notes(evaluation: Evaluation) -> list[str]:
    notes = []
    for language in LANGUAGES:
        share = evaluation.retrieval(language)
        if share is not None:
            n = sum(r.language == language for r in evaluation.retrievals)
            text = f"{100 * share:.1f}% of {n} article questions retrieve their own article"
            notes.append(f"note: [{language}] {text}")
        figures = longtail_figures(evaluation.longtail.get(language))
        if figures:
            right, wrong, honest, n, answered, unanswerable = figures
            notes.append(
                f"note: [{language}] long-tail held-out: {100 * right:.1f}% right, {100 * wrong:.1f}% wrong, "
                f"{100 * honest:.1f}% honest of {n}; {100 * answered:.1f}% of {unanswerable} unanswerable "
                "answered anyway"
            )
    return notes


def accuracy_problems(evaluation: Evaluation) -> list[Problem]:
    problems = []
    for language in LANGUAGES:
        accuracy = evaluation.accuracy(language)
        if accuracy is not None and accuracy < TARGET_ACCURACY:
            message = (
                f"{language} held-out intent accuracy {100 * accuracy:.1f}% "
                f"is below {100 * TARGET_ACCURACY:.0f}%"
                " (the wrong messages are listed above and in the report)"
            )
            problems.append(Problem("bench/heldout", 0, message))
    return problems


def wrong_note(p: Prediction) -> str:
    e = p.example
    where = f"{e.path}:{e.line}: note: [{e.language}]"
    return f"{where} {e.intent} read as {p.predicted} ({p.confidence:.2f}): {e.value}"


def confused_pairs(project: Project, predictions: list[Prediction]) -> list[Problem]:
    """Pairs of intents the model mixes up on the held-out messages (all languages together)."""
    totals = Counter(p.example.intent for p in predictions)
    confused: dict[tuple[str, str], list[Prediction]] = defaultdict(list)
    for p in predictions:
        if not p.ok and p.predicted in totals:
            confused[(p.example.intent, p.predicted)].append(p)
    lines = {i.value: i.line for i in project.intents()}
    problems, seen = [], set()
    for (a, b), wrong in sorted(confused.items()):
        pair = tuple(sorted((a, b)))
        both = len(wrong) + len(confused.get((b, a), []))
        share = len(wrong) >= CONFUSION_MIN and len(wrong) >= CONFUSION_SHARE * totals[a]
        if pair in seen or not (share or both >= CONFUSION_PAIR):
            continue
        seen.add(pair)
        samples = "; ".join(repr(p.example.value) for p in [*wrong, *confused.get((b, a), [])][:4])
        message = (
            f"intents {a} and {b} look alike to the model: {len(wrong)} of {totals[a]} held-out {a} "
            f"messages read as {b}, {len(confused.get((b, a), []))} the other way. Make their examples "
            f"more distinct or merge them. e.g. {samples}"
        )
        problems.append(Problem("domain.yml", lines.get(a, 0), message))
    return problems


def conversations(project: Project, model: Path) -> list[Problem]:
    """Every language's test conversations in one `rasa test core --e2e` run."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "stories"
        folder.mkdir()
        expected = 0
        for language in LANGUAGES:
            path = project.conversation_file(language)
            if path.exists():
                (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
                expected += len((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories") or [])
        # No --fail-on-prediction-errors: with it Rasa stops at the first wrong intent without
        # writing failed_test_stories.yml, which says what the model predicted for every story.
        args = ["--model", str(model), "--stories", str(folder), "--out", tmp]
        result = _rasa(project, "test", "core", "--e2e", *args, "--no-plot")
        output = result.stdout + result.stderr
        failed = Path(tmp) / "failed_test_stories.yml"
        problems += failed_stories(project, failed.read_text(encoding="utf-8") if failed.exists() else "")
        if result.returncode != 0 and not problems:
            problems.append(Problem("tests/conversations", 0, f"rasa test failed: {_gist(output)}"))
        if f"Evaluating {expected} stories" not in output and expected:
            message = f"rasa test did not evaluate {expected} stories"
            problems.append(Problem("tests/conversations", 0, message))
    return problems


def _gist(output: str, lines: int = 12) -> str:
    """The end of a tool's output without its progress bars: what an editor needs to see."""
    kept = [line for line in output.splitlines() if line.strip() and "it/s" not in line and "%|" not in line]
    return " | ".join(kept[-lines:])


def failed_stories(project: Project, failed: str) -> list[Problem]:
    problems = []
    for block in re.split(r"\n(?=- story: )", failed):
        name = re.search(r"- story: (.+)", block)
        if not name:
            continue
        story = re.sub(r" \([^()]*\.ya?ml\)$", "", name.group(1).strip())  # Rasa appends the file
        wrong = "; ".join(sorted({c.strip() for c in re.findall(r"#\s*(predicted:[^\n]*)", block)}))
        path, line = _story_location(project, story)
        message = f"test conversation {story!r} fails: {wrong or 'wrong prediction'}"
        problems.append(Problem(path, line, message))
    return problems


def _story_location(project: Project, story: str) -> tuple[str, int]:
    for language in LANGUAGES:
        path = project.conversation_file(language)
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() == f"- story: {story}":
                return project.rel(path), number
    return "tests/conversations", 0
