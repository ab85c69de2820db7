"""The layers (named once, in pyproject.toml's import-linter contracts) hold, and a wrong import
is caught: docs/architecture.md explains them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handoff", "actions", "bench", "testkit", "tests")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_sources(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.csv")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_layers_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        ("bot/core/store.py", "from handoff import queue", "bot.core is not allowed to import handoff"),
        ("handoff/console.py", "from bot.rasa import client", "handoff is not allowed to import bot.rasa"),
        ("actions/actions.py", "from bot.web import gateway", "actions is not allowed to import bot.web"),
        ("bot/editor/model.py", "import bench.nlu_heldout", "bot is not allowed to import bench"),
    ],
)
def test_a_wrong_import_breaks_the_contract(
    tmp_path: Path, module: str, wrong_import: str, broken: str
) -> None:
    project = copy_sources(tmp_path)
    path = project / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{wrong_import}  # noqa\n", encoding="utf-8")
    result = lint_imports(project)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
