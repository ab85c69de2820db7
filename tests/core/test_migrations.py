"""Schema migrations (bot/core/migrations): a new database, one made before migrations existed,
a later revision on a database with data, repeated and concurrent starts. On SQLite, and on
PostgreSQL in a schema of its own when DATABASE_URL says so (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Table, event, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import (
    conversations,
    create_db_engine,
    handoffs,
    init_schema,
    messages,
    metadata,
    utcnow,
)
from bot.core.migrations import (
    BASELINE,
    MIGRATIONS_DIR,
    VERSION_TABLE,
    current_revision,
    head_revision,
    make_migration,
    schema_differences,
    upgrade,
)
from testkit.databases import fresh_database, insert_conversation

ROOT = Path(__file__).resolve().parents[2]

# Tables added by revisions after the baseline: a database of the last release (made with
# create_all before migrations existed) does not have them.
NEWER_THAN_BASELINE = {
    "login_attempts",
    "audit_log",
    "verification_codes",
    "verified_identities",
    "chat_sessions",
    "rate_buckets",
    "conversation_notes",
    "typing_signals",
}
# Columns added by revisions after the baseline to tables it had.
COLUMNS_NEWER_THAN_BASELINE = {
    "agents": ("ui_language",),
    "handoffs": ("wrap_up", "snoozed_until", "snoozed_after_id"),
    "messages": ("source_key",),
    "nlu_turns": ("suggestion_confidence",),
}
# Indexes on those columns (SQLite drops no indexed column).
INDEXES_NEWER_THAN_BASELINE = ("ux_messages_source_key",)


@pytest.fixture
def new_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (no init_schema: the tests decide how it is made)."""
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def other_engine(tmp_path: Path) -> Iterator[Engine]:
    """A second empty database of the same kind, to compare with."""
    (tmp_path / "other").mkdir()
    with fresh_database(tmp_path / "other", "o") as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def schema_snapshot(engine: Engine) -> list[tuple[str, ...]]:
    """Every table, column, index and constraint as the database itself describes them
    (alembic_version left out): two databases with equal snapshots have the same schema."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(
                text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name != :v"),
                {"v": VERSION_TABLE},
            )
            # SQLite keeps each statement as written: an added column joins the line before it
            return sorted((*map(str, row[:3]), " ".join(str(row[3]).split())) for row in rows)
        version = {"v": VERSION_TABLE}
        columns = conn.execute(
            text(
                "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,"
                " column_default, ordinal_position FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name != :v"
            ),
            version,
        )
        indexes = conn.execute(
            text(
                "SELECT tablename, indexname, split_part(indexdef, ' USING ', 2), indexdef LIKE '%UNIQUE%'"
                " FROM pg_indexes WHERE schemaname = current_schema() AND tablename != :v"
            ),
            version,
        )
        constraints = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text != :v"
            ),
            version,
        )
        return sorted(tuple(map(str, row)) for rows in (columns, indexes, constraints) for row in rows)


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def create_like_last_release(engine: Engine) -> None:
    """What init_schema did before migrations: create_all, here of the last release's tables."""
    metadata.create_all(
        engine, tables=[t for t in metadata.sorted_tables if t.name not in NEWER_THAN_BASELINE]
    )
    drop_newer_columns(engine)


def drop_newer_columns(engine: Engine) -> None:
    """Tables made by create_all lose the columns the baseline did not have."""
    with engine.begin() as conn:
        for index in INDEXES_NEWER_THAN_BASELINE:
            conn.execute(text(f"DROP INDEX {index}"))
        for table, columns in COLUMNS_NEWER_THAN_BASELINE.items():
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))


def add_transcript(engine: Engine) -> str:
    """A conversation with two messages and a handoff; returns the conversation id."""
    now = utcnow()
    with engine.begin() as conn:
        cid = insert_conversation(conn, language="fr", owner="queued")
        for direction, author, body in (("in", "customer", "Bonjour 😀"), ("out", "bot", "Un instant")):
            conn.execute(
                insert(messages).values(
                    conversation_id=cid,
                    direction=direction,
                    author=author,
                    text=body,
                    language="fr",
                    status="answered",
                    payload={"buttons": [1, 2]},
                    created_at=now,
                )
            )
        conn.execute(
            insert(handoffs).values(
                conversation_id=cid,
                reason="asked_for_agent",
                priority="high",
                priority_rank=1,
                language="fr",
                channel="web",
                summary="wil een mens",
                intents=["human"],
                slots={"language": "fr"},
                created_at=now,
            )
        )
    return cid


def table_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The rows of the baseline's columns (a later revision's columns are new)."""

    def columns(table: Table) -> list[Column]:
        return [c for c in table.columns if c.name not in COLUMNS_NEWER_THAN_BASELINE.get(table.name, ())]

    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(*columns(table)).order_by(*table.primary_key))
            ]
            for table in (conversations, messages, handoffs)
        }


def test_a_new_database_gets_every_revision_and_matches_the_tables_in_code(
    new_engine: Engine, other_engine: Engine
) -> None:
    init_schema(new_engine)
    assert revision_of(new_engine) == head_revision()
    with new_engine.connect() as conn:
        assert schema_differences(conn) == []
    # Column by column, index by index the same as create_all makes from bot/core/db.py.
    metadata.create_all(other_engine)
    assert schema_snapshot(new_engine) == schema_snapshot(other_engine)


def test_a_database_of_the_last_release_is_stamped_and_upgraded_with_nothing_lost(
    new_engine: Engine,
) -> None:
    create_like_last_release(new_engine)
    cid = add_transcript(new_engine)
    before = table_rows(new_engine)
    assert VERSION_TABLE not in inspect(new_engine).get_table_names()

    assert upgrade(new_engine, BASELINE) == BASELINE  # adopted: nothing to create
    assert table_rows(new_engine) == before
    init_schema(new_engine)

    assert revision_of(new_engine) == head_revision()
    assert table_rows(new_engine) == before
    with new_engine.connect() as conn:
        assert schema_differences(conn) == []
    # Still a working database: new rows continue the sequences, constraints hold.
    with new_engine.begin() as conn:
        conn.execute(
            insert(messages).values(
                conversation_id=cid, direction="in", author="customer", text="?", status="received"
            )
        )
        ids = conn.execute(select(messages.c.id).order_by(messages.c.id)).scalars().all()
    assert ids == [1, 2, 3]
    with pytest.raises(IntegrityError), new_engine.begin() as conn:  # one open chat per sender
        insert_conversation(conn, cid="x", owner="bot")
        conn.execute(conversations.update().where(conversations.c.id == "x").values(sender=cid))


def test_an_older_database_gets_the_tables_and_indexes_it_lacked(new_engine: Engine) -> None:
    older = [t for t in metadata.sorted_tables if t.name not in {"topic_alerts", *NEWER_THAN_BASELINE}]
    metadata.create_all(new_engine, tables=older)
    drop_newer_columns(new_engine)
    with new_engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_nlu_turns_conversation"))
    init_schema(new_engine)
    with new_engine.connect() as conn:
        assert schema_differences(conn) == []


def test_a_database_before_snoozes_keeps_its_open_chats_and_none_is_snoozed(new_engine: Engine) -> None:
    """0008 (handoffs.snoozed_until, snoozed_after_id) on a database at 0007 with a waiting chat."""
    assert upgrade(new_engine, "0007") == "0007"
    assert "snoozed_until" not in {c["name"] for c in inspect(new_engine).get_columns("handoffs")}
    add_transcript(new_engine)
    before = table_rows(new_engine)
    init_schema(new_engine)
    assert revision_of(new_engine) == head_revision() and table_rows(new_engine) == before
    with new_engine.connect() as conn:
        snoozes = conn.execute(select(handoffs.c.snoozed_until, handoffs.c.snoozed_after_id)).all()
        assert schema_differences(conn) == []
    assert [tuple(row) for row in snoozes] == [(None, None)]


def test_a_database_before_source_keys_keeps_its_messages_and_keys_them_from_then_on(
    new_engine: Engine,
) -> None:
    """0009 (messages.source_key, unique where set) on a database at 0008 with a transcript: the
    messages stay as they were, without a key (any number of them), and a key is stored once."""
    assert upgrade(new_engine, "0008") == "0008"
    assert "source_key" not in {c["name"] for c in inspect(new_engine).get_columns("messages")}
    cid = add_transcript(new_engine)
    before = table_rows(new_engine)
    init_schema(new_engine)
    assert revision_of(new_engine) == head_revision() and table_rows(new_engine) == before
    with new_engine.connect() as conn:
        assert conn.execute(select(messages.c.source_key)).scalars().all() == [None, None]
        assert schema_differences(conn) == []

    def add(key: str | None) -> None:
        with new_engine.begin() as conn:
            conn.execute(
                insert(messages).values(
                    conversation_id=cid,
                    direction="in",
                    author="customer",
                    text="?",
                    status="received",
                    source_key=key,
                )
            )

    add(None)
    add("telegram:1:2")
    add("telegram:1:3")
    with pytest.raises(IntegrityError):
        add("telegram:1:2")


def test_rasa_tables_in_the_same_database_are_left_alone(new_engine: Engine) -> None:
    with new_engine.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255))"))
        conn.execute(text("INSERT INTO events (id, sender_id) VALUES (1, 'x')"))
    init_schema(new_engine)  # not mistaken for a database of ours made before migrations
    with new_engine.connect() as conn:
        assert schema_differences(conn) == []
        assert conn.execute(text("SELECT sender_id FROM events")).scalar_one() == "x"


EXTRA_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("note", sa.String(64)))
        batch.alter_column("locale", existing_type=sa.String(16), type_=sa.String(32))
    op.execute(sa.text("UPDATE conversations SET note = 'kept: ' || language"))


def downgrade():
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("locale", existing_type=sa.String(32), type_=sa.String(16))
        batch.drop_column("note")
"""


def copy_of_migrations(target: Path) -> Path:
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_a_later_revision_adds_a_column_and_keeps_the_data(new_engine: Engine, tmp_path: Path) -> None:
    init_schema(new_engine)
    cid = add_transcript(new_engine)
    before = table_rows(new_engine)
    scripts = copy_of_migrations(tmp_path / "migrations")
    (scripts / "versions" / "9001_extra.py").write_text(EXTRA_REVISION.format(down=head_revision()))

    # The conversations table is rebuilt on SQLite (a type change), with messages pointing at it.
    assert upgrade(new_engine, script_location=scripts) == "9001"

    with new_engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM conversations")).scalar_one() == "kept: fr"
    after = table_rows(new_engine)
    assert {name: [row[: len(before[name][0])] for row in rows] for name, rows in after.items()} == before
    columns = {c["name"]: c for c in inspect(new_engine).get_columns("conversations")}
    assert columns["locale"]["type"].length == 32
    indexes = {i["name"] for i in inspect(new_engine).get_indexes("conversations")}
    assert {"ix_conversations_updated", "uq_conversations_open"} <= indexes
    with pytest.raises(IntegrityError), new_engine.begin() as conn:  # still one open chat per sender
        insert_conversation(conn, cid="x", owner="bot")
        conn.execute(conversations.update().where(conversations.c.id == "x").values(sender=cid))
    with pytest.raises(IntegrityError), new_engine.begin() as conn:  # foreign keys are on again
        conn.execute(
            insert(messages).values(
                conversation_id="nobody", direction="in", author="customer", text="?", status="received"
            )
        )
    assert upgrade(new_engine, script_location=scripts) == "9001"  # and only once


def test_init_schema_a_second_time_changes_nothing(new_engine: Engine) -> None:
    init_schema(new_engine)
    add_transcript(new_engine)
    before = (table_rows(new_engine), schema_snapshot(new_engine))
    statements: list[str] = []

    def record(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.strip().split()[0].upper())

    event.listen(new_engine, "before_cursor_execute", record)
    try:
        init_schema(new_engine)
    finally:
        event.remove(new_engine, "before_cursor_execute", record)
    assert statements and not {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"} & set(statements)
    assert (table_rows(new_engine), schema_snapshot(new_engine)) == before
    assert revision_of(new_engine) == head_revision()


def test_concurrent_starts_on_a_new_database_upgrade_it_once(database_url: str) -> None:
    engines = [create_db_engine(database_url) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def start_up(engine: Engine) -> None:
        try:
            start.wait()
            init_schema(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_up, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        with engines[0].connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [
                head_revision()
            ]
            assert schema_differences(conn) == []
    finally:
        for engine in engines:
            engine.dispose()


def test_the_migrate_command_upgrades_to_head(database_url: str, new_engine: Engine) -> None:
    create_like_last_release(new_engine)
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "bot.manage", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database at revision {head_revision()}"
    assert revision_of(new_engine) == head_revision()


def test_make_migration_writes_the_next_revision_from_the_tables_in_code(tmp_path: Path) -> None:
    scripts = copy_of_migrations(tmp_path / "migrations")
    later = [p for p in (scripts / "versions").glob("*.py") if not p.name.startswith(f"{BASELINE}_")]
    if not later:
        pytest.skip("no revision after the baseline to regenerate")
    for path in later:  # as if bot/core/db.py had changed since the baseline
        path.unlink()

    path = make_migration("catch up", script_location=scripts)

    assert path.name == "0002_catch_up.py"
    assert 'down_revision = "0001"' in path.read_text()
    work = tmp_path / "check"
    work.mkdir()
    engine = create_db_engine(f"sqlite:///{work / 'check.db'}")
    try:
        assert upgrade(engine, script_location=scripts) == "0002"
        with engine.connect() as conn:
            assert schema_differences(conn) == []
    finally:
        engine.dispose()
    with pytest.raises(Exception, match="nothing to generate"):
        make_migration("again", script_location=scripts)
    empty = make_migration("backfill something", autogenerate=False, script_location=scripts)
    assert empty.name == "0003_backfill_something.py"
