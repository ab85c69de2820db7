"""Shared fixtures. Tests get explicit Settings; nothing reads the developer's environment
except DATABASE_URL / REDIS_URL, which select the engines the whole suite runs on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine, init_schema
from bot.core.settings import Settings
from handoff import agents as agents_module
from testkit.databases import fresh_database
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import fake_action_server, fake_rasa

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: SQLite file, or a PostgreSQL schema."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    env = {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return Settings.from_env(env)


@pytest.fixture
def rasa() -> Iterator[FakeServer]:
    """A fake Rasa server answering "[<language>] you said: <text>"."""
    server = fake_rasa()
    yield server
    server.stop()


@pytest.fixture
def actions() -> Iterator[FakeServer]:
    """A fake action server that is healthy until stopped."""
    server = fake_action_server()
    yield server
    server.stop()


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with production parameters costs ~0.4 s a hash here (tests/test_agents.py checks
    that production hashes are Argon2id); tests that only log agents in use cheap parameters."""
    monkeypatch.setattr(
        agents_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    yield engine
    engine.dispose()
