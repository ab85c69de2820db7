"""Revision 0004 (verification_codes, verified_identities) on a database at 0003 with data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Engine

from bot.core.db import audit_log, conversations, create_db_engine, messages, utcnow
from bot.core.identity import Identity
from bot.core.migrations import alembic_config, current_revision, locked_connection, upgrade
from testkit.databases import insert_conversation

pytestmark = pytest.mark.db


@pytest.fixture
def new_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def test_0004_keeps_the_data_of_0003_and_adds_the_identity_tables(new_engine: Engine) -> None:
    assert upgrade(new_engine, "0003") == "0003"
    now = utcnow()
    with new_engine.begin() as conn:
        cid = insert_conversation(conn)
        conn.execute(
            insert(messages).values(
                conversation_id=cid, direction="in", author="customer", text="hallo", status="answered"
            )
        )
        conn.execute(
            insert(audit_log).values(
                actor="jan", action="read", subject=f"conversation:{cid}", created_at=now
            )
        )
    assert "verification_codes" not in inspect(new_engine).get_table_names()

    assert upgrade(new_engine, "0004") == "0004"
    tables = set(inspect(new_engine).get_table_names())
    assert {"verification_codes", "verified_identities"} <= tables
    with new_engine.connect() as conn:
        assert conn.execute(select(conversations.c.id)).scalars().all() == [cid]
        assert conn.execute(select(messages.c.text)).scalars().all() == ["hallo"]
        assert conn.execute(select(audit_log.c.actor)).scalars().all() == ["jan"]
    ids = Identity(new_engine)
    assert not ids.issue(cid, "web", "+32470123456", "MC1000001", 30).limited
    ids.mark_verified("web", cid, "MC1000001", cid, "sms_code", 30)
    assert ids.verified_in(cid).customer_id == "MC1000001"  # type: ignore[union-attr]

    upgrade(new_engine)  # and on to the newest revision, data intact
    assert ids.verified_in(cid).customer_id == "MC1000001"  # type: ignore[union-attr]


def test_0004_downgrades_to_0003(new_engine: Engine) -> None:
    upgrade(new_engine, "0004")
    with locked_connection(new_engine) as conn:
        command.downgrade(alembic_config(conn), "0003")
        assert current_revision(conn) == "0003"
    tables = set(inspect(new_engine).get_table_names())
    assert not {"verification_codes", "verified_identities"} & tables
    assert "audit_log" in tables
