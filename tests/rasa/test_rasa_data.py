"""Rasa's own checks: `rasa data validate` and the test conversations of each language.

The editors' check (`python -m bot.editor check`) runs the same two; `make test` runs it first and
then deselects the ones marked ``rasa_check`` here (scripts/test.sh). Alone they still run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.core.project import Project
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES, Settings
from bot.core.texts import load_texts
from bot.editor.model import unexpected_warnings
from bot.rasa.training import ensure_model

pytestmark = pytest.mark.rasa


def rasa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **(env or {})},
        timeout=900,
    )


@pytest.mark.rasa_check
def test_rasa_data_validate_is_clean() -> None:
    result = rasa("data", "validate")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Responses sent by custom actions are not in any rule; every other warning is a real problem.
    assert unexpected_warnings(Project(PROJECT_ROOT), output) == []


@pytest.mark.rasa_check
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_conversations_per_language(language: str, tmp_path: Path) -> None:
    model = ensure_model(Settings.from_env({}).model_dir, quiet=True)
    stories = PROJECT_ROOT / "tests" / "conversations" / f"test_{language}.yml"
    result = rasa(
        "test",
        "core",
        "--e2e",  # the NLU model reads the text; without it the labelled intents are used
        "--model",
        str(model),
        "--stories",
        str(stories),
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
        "--no-plot",
        env={"ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook"},
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else ""
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{output[-4000:]}\n{details}"
    expected = len(yaml.safe_load(stories.read_text(encoding="utf-8"))["stories"])
    # `rasa test` silently evaluates nothing when a file is not recognised as test stories.
    assert f"Evaluating {expected} stories" in output


def test_every_response_has_all_three_languages() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in domain["responses"].items():
        languages = sorted(v["condition"][0]["value"] for v in variants if v.get("condition"))
        assert languages == sorted(SUPPORTED_LANGUAGES), name


# Mila speaks of herself in the feminine ("Désolée, je me suis mal expliquée"): a masculine
# "je suis désolé" beside it reads as two different assistants.
_MASCULINE_SELF = re.compile(
    r"\b(?:je suis|je me suis)\s+(?:désolé|sûr|certain|ravi|prêt|content|trompé|mal exprimé)\b(?!e)"
    r"|^désolé\b(?!e)|[.!?]\s+désolé\b(?!e)",
    re.IGNORECASE | re.MULTILINE,
)


def test_mila_speaks_of_herself_in_the_feminine_in_french() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    french = [
        (name, v["text"])
        for name, variants in domain["responses"].items()
        for v in variants
        if v.get("condition") and v["condition"][0]["value"] == "fr"
    ]
    french += [(key, variants["fr"]) for key, variants in load_texts().items()]
    articles = sorted((PROJECT_ROOT / "data/knowledge/fr").glob("*.md"))
    # the body, after the front matter (whose questions are the customer's words)
    french += [(p.name, p.read_text(encoding="utf-8").split("\n---", 1)[-1]) for p in articles]
    masculine = [(name, m.group(0)) for name, body in french for m in _MASCULINE_SELF.finditer(body)]
    assert masculine == []
