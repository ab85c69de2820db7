from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import conversations, utcnow


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
