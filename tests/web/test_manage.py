"""Demo data stays out of production: `seed-demo` and the launcher only seed with DEMO=true."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from bot import run as launcher
from bot.core.db import create_db_engine, outages
from bot.core.settings import PROJECT_ROOT, Settings
from bot.manage import main as manage
from bot.rasa import training


def settings_for(database_url: str, tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url, **env})


def count_outages(database_url: str) -> int | None:
    """The outages in the database; None while it has no tables."""
    engine: Engine = create_db_engine(database_url)
    try:
        if not inspect(engine).has_table("outages"):
            return None
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(outages)).scalar_one()
    finally:
        engine.dispose()


def test_seed_demo_refuses_without_demo(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage(["seed-demo"], settings_for(database_url, tmp_path)) == 2
    assert "DEMO=true" in capsys.readouterr().err
    assert not count_outages(database_url)
    assert manage(["seed-demo", "--force"], settings_for(database_url, tmp_path)) == 0
    assert count_outages(database_url) == 1


def test_seed_demo_seeds_in_a_demo(database_url: str, tmp_path: Path) -> None:
    assert manage(["seed-demo"], settings_for(database_url, tmp_path, DEMO="true")) == 0
    assert count_outages(database_url) == 1


@pytest.mark.parametrize("demo, expected", [("false", 0), ("true", 1)])
def test_the_launcher_seeds_demo_data_only_in_a_demo(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo: str, expected: int
) -> None:
    monkeypatch.setattr(training, "ensure_model", lambda model_dir: model_dir / "model.tar.gz")
    settings = settings_for(database_url, tmp_path, DEMO=demo)
    assert launcher.prepare(settings) == settings.model_dir / "model.tar.gz"
    assert count_outages(database_url) == expected  # the schema exists either way


def test_make_run_is_a_demo() -> None:
    """`make run` exports DEMO=true to the launcher (a value in the environment wins)."""

    def demo_seen_by_make_run(env: dict[str, str]) -> str:
        result = subprocess.run(
            ["make", "-s", "-o", "setup", "run", 'PY=printf "%s" "$$DEMO"; true'],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    env = {k: v for k, v in os.environ.items() if k != "DEMO"}
    assert demo_seen_by_make_run(env) == "true"
    assert demo_seen_by_make_run({**env, "DEMO": "false"}) == "false"
