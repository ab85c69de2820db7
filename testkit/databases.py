"""Test databases: SQLite files, or PostgreSQL schemas of their own when DATABASE_URL says so."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection, make_url

from bot.core.db import conversations, create_db_engine, utcnow


def postgres_url() -> str | None:
    """The PostgreSQL server the suite runs on, or None for SQLite."""
    url = os.environ.get("DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


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


FROM_ENV = "from DATABASE_URL"


@contextmanager
def fresh_database(work_dir: Path, prefix: str = "t", base_url: str | None = FROM_ENV) -> Iterator[str]:
    """URL of an empty database: a SQLite file in ``work_dir`` or a new PostgreSQL schema.

    PostgreSQL when ``base_url`` (by default the suite's DATABASE_URL) names a server.
    """
    base = postgres_url() if base_url == FROM_ENV else base_url
    if not base:
        yield f"sqlite:///{work_dir / 'assistant.db'}"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = isolated_postgres_url(base, schema)
    try:
        yield url
    finally:
        drop_postgres_schema(base, schema)


def insert_conversation(
    conn: Connection,
    *,
    cid: str | None = None,
    language: str = "nl",
    channel: str = "web",
    owner: str = "bot",
    created_at: datetime | None = None,
) -> str:
    """A conversation row as the router would open it (the sender is the conversation id)."""
    cid = cid or str(uuid.uuid4())
    when = created_at or utcnow()
    conn.execute(
        insert(conversations).values(
            id=cid,
            channel=channel,
            sender=cid,
            owner=owner,
            language=language,
            created_at=when,
            updated_at=when,
        )
    )
    return cid
