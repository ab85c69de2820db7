"""Shared fixtures. Tests get explicit Settings; nothing reads the developer's environment
except DATABASE_URL / REDIS_URL, which select the engines the whole suite runs on."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.db import create_db_engine, init_schema
from bot.settings import Settings

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


@pytest.fixture(scope="session")
def database_backend() -> str:
    return "postgresql" if _postgres_url() else "sqlite"


def isolated_postgres_url(base_url: str, schema: str) -> str:
    """The same database, with every table in a schema of its own (dropped afterwards)."""
    engine = create_db_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    url = make_url(base_url)
    return str(url.update_query_dict({"options": f"-csearch_path={schema}"}))


def drop_postgres_schema(base_url: str, schema: str) -> None:
    engine = create_db_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: SQLite file, or a PostgreSQL schema."""
    base = _postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'assistant.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = isolated_postgres_url(base, schema)
    try:
        yield url
    finally:
        drop_postgres_schema(base, schema)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    env = {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return Settings.from_env(env)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    yield engine
    engine.dispose()
