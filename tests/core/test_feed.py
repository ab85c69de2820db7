"""The change feed: new messages and owner changes, each once, late commits included."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from bot.core.db import conversations, messages, utcnow
from bot.core.feed import ChangeFeed
from bot.core.typing_signals import signal_typing


def conversation(engine: Engine, owner: str = "bot") -> str:
    cid, now = str(uuid.uuid4()), utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid, channel="web", sender=cid, owner=owner, language="nl", created_at=now, updated_at=now
            )
        )
    return cid


def message(engine: Engine, cid: str, message_id: int, text: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(messages).values(
                id=message_id,
                conversation_id=cid,
                direction="in",
                author="customer",
                text=text,
                status="received",
                created_at=utcnow(),
            )
        )


def texts(changes: list[tuple]) -> list[str]:
    return [data["text"] for kind, *_rest, data in changes if kind == "message"]


def test_messages_come_once_and_a_late_commit_is_not_lost(engine: Engine) -> None:
    feed = ChangeFeed(engine)
    cid = conversation(engine)
    feed.poll()  # starts from now
    message(engine, cid, 1, "one")
    message(engine, cid, 2, "two")
    assert texts(feed.poll()) == ["one", "two"]
    assert texts(feed.poll()) == []
    message(engine, cid, 4, "four")  # 3 is still being written by another transaction
    assert texts(feed.poll()) == ["four"]
    message(engine, cid, 3, "three")
    assert texts(feed.poll()) == ["three"]
    assert texts(feed.poll()) == []


def test_owner_changes_are_reported_when_the_owner_changes(engine: Engine) -> None:
    feed = ChangeFeed(engine)
    cid = conversation(engine)
    feed.poll()
    with engine.begin() as conn:
        conn.execute(
            update(conversations).where(conversations.c.id == cid).values(owner="queued", updated_at=utcnow())
        )
    owners = [(kind, data) for kind, conv, _c, _s, data in feed.poll() if conv == cid]
    assert owners == [("owner", {"owner": "queued"})]
    with engine.begin() as conn:  # a new message touches the conversation, the owner stays
        conn.execute(update(conversations).where(conversations.c.id == cid).values(updated_at=utcnow()))
    assert [c for c in feed.poll() if c[0] == "owner" and c[1] == cid] == []


def test_typing_signals_reach_every_replicas_feed_once(engine: Engine) -> None:
    cid = conversation(engine, owner="agent")
    replicas = [ChangeFeed(engine), ChangeFeed(engine)]  # two gateways on one database
    for feed in replicas:
        feed.poll()
    assert signal_typing(engine, cid, "agent", "Ann") is True
    assert signal_typing(engine, cid, "agent", "Ann") is False  # throttled: nothing new to report
    for feed in replicas:
        typing = [
            (kind, c, data["side"], data["name"])
            for kind, c, _ch, _s, data in feed.poll()
            if kind == "typing"
        ]
        assert typing == [("typing", cid, "agent", "Ann")]
        assert [e for e in feed.poll() if e[0] == "typing"] == []
