"""Model checks: rasa data validate, training when needed, held-out accuracy per language,
the test conversations, and intents the model confuses with each other."""

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

from bot.core.knowledge import KNOWLEDGE_INTENT
from bot.core.project import LANGUAGES, Example, Problem, Project
from bot.core.settings import PROJECT_ROOT, Settings

TARGET_ACCURACY = 0.95
CONFUSION_SHARE = 0.2  # of one intent's held-out messages read as the other
CONFUSION_MIN = 2  # messages, for the share rule
CONFUSION_PAIR = 3  # messages confused in either direction
STEPS = ("validate", "heldout", "conversations")


@dataclass(frozen=True)
class Prediction:
    example: Example
    predicted: str
    confidence: float

    @property
    def ok(self) -> bool:
        return self.predicted == self.example.intent


@dataclass
class Evaluation:
    model: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)

    def accuracy(self, language: str) -> float | None:
        mine = [p for p in self.predictions if p.example.language == language]
        return sum(p.ok for p in mine) / len(mine) if mine else None


def model_checks(project: Project, model: Path | None = None, steps: tuple[str, ...] = STEPS) -> Evaluation:
    evaluation = Evaluation()
    if "validate" in steps:
        evaluation.problems += validate(project)
    evaluation.model = model or train(project)
    if "heldout" in steps:
        evaluation.predictions = predict_heldout(project, evaluation.model)
        evaluation.problems += accuracy_problems(evaluation)
        evaluation.problems += confused_pairs(project, evaluation.predictions)
        evaluation.notes += [wrong_note(p) for p in evaluation.predictions if not p.ok]
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
    """`rasa data validate`, accepting what tests/test_rasa_data.py accepts."""
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
    if not actions_dir.is_dir():
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


def predict_heldout(project: Project, model: Path) -> list[Prediction]:
    import logging

    from rasa.utils.log_utils import configure_structlog

    from bot.rasa.evaluation import predict

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    messages = project.heldout()
    results = asyncio.run(predict(model, [m.value for m in messages]))
    return [Prediction(m, intent, conf) for m, (intent, conf, _best) in zip(messages, results, strict=True)]


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
