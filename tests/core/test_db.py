import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import _switch_to_wal, conversations, utcnow


def add_conversation(engine: Engine, cid: str, owner: str) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel="web",
                sender="s",
                owner=owner,
                language="nl",
                created_at=now,
                updated_at=now,
            )
        )


def test_only_one_open_conversation_per_customer_and_channel(engine: Engine) -> None:
    add_conversation(engine, "a", "closed")
    add_conversation(engine, "b", "closed")
    add_conversation(engine, "c", "bot")
    with pytest.raises(IntegrityError):
        add_conversation(engine, "d", "queued")


def test_timestamps_come_back_timezone_aware_utc(engine: Engine) -> None:
    add_conversation(engine, "a", "bot")
    with engine.connect() as conn:
        created = conn.execute(select(conversations.c.created_at)).scalar_one()
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id="x",
                channel="web",
                sender="s",
                owner="bot",
                language="nl",
                created_at=datetime(2026, 1, 1),
                updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            )
        )


def _rollback_journal_database(path: Path) -> sqlite3.Connection:
    """A new SQLite file still in rollback-journal mode, as the first start finds it."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE t (x INTEGER)")
    return conn


def test_the_switch_to_wal_waits_for_a_connection_that_holds_a_new_file(tmp_path: Path) -> None:
    holder = _rollback_journal_database(tmp_path / "new.db")
    holder.execute("BEGIN EXCLUSIVE")
    # No busy handler: "locked" comes at once, as it does to the loser of two first connections.
    other = sqlite3.connect(tmp_path / "new.db", timeout=0, check_same_thread=False)
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        _switch_to_wal(other.cursor(), deadline_ms=5_000)
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        release.join()
        other.close()
        holder.close()


def test_the_switch_to_wal_gives_up_after_its_deadline(tmp_path: Path) -> None:
    holder = _rollback_journal_database(tmp_path / "held.db")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(tmp_path / "held.db", timeout=0, check_same_thread=False)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _switch_to_wal(other.cursor(), deadline_ms=100)
    finally:
        other.close()
        holder.close()
