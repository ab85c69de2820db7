"""Settings and engines on the suite's database (DATABASE_URL / REDIS_URL select the engines: see
tests/conftest.py), for fixtures of any scope."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine, init_schema
from bot.core.settings import Settings


def suite_settings(var_dir: Path, database_url: str) -> Settings:
    """Settings of their own VAR_DIR on ``database_url``, with the suite's Redis if it has one;
    nothing else read from the developer's environment."""
    env = {"VAR_DIR": str(var_dir), "DATABASE_URL": database_url}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return Settings.from_env(env)


@contextmanager
def engine_with_schema(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url`` with every table created; disposed afterwards."""
    engine = create_db_engine(database_url)
    init_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()
