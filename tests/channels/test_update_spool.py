"""The spool of Telegram and Slack updates (bot/channels/update_spool.py) without a platform: the
spool file shared with the web chat, the update log's claims of an update cut short, and the
replay that gives a row back while the database is away. The channels themselves while
PostgreSQL is away: tests/channels/test_webhooks_database_away.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.channels.chat_spool import SPOOL_FILE, ChatSpool, Spool
from bot.channels.common import HANDLING, Handling, UpdateLog
from bot.channels.update_spool import Record, UpdateSpool

WEB_MESSAGE = {"sender": "w", "locale": None, "metadata": {}, "header_token": None, "cookie_token": None}
AWAY = OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))


def test_each_channel_takes_only_its_own_rows_of_the_shared_file(tmp_path: Path) -> None:
    path = tmp_path / SPOOL_FILE
    web, telegram = ChatSpool(path), Spool(path, "telegram")
    web.put(
        {
            "sender": "w",
            "text": "hallo",
            "locale": None,
            "metadata": {},
            "header_token": None,
            "cookie_token": None,
        }
    )
    telegram.put({"update": {"update_id": 7}})
    row = telegram.take()
    assert row is not None and row.body == {"update": {"update_id": 7}}
    message = web.claim()
    assert message is not None and message.text == "hallo"
    assert telegram.take() is None and web.claim() is None and len(web) == len(telegram) == 1


def test_a_spool_file_of_the_web_chat_alone_is_upgraded_and_its_rows_stay_the_web_chats(
    tmp_path: Path,
) -> None:
    path = tmp_path / SPOOL_FILE
    with sqlite3.connect(path) as conn:  # the spool as the web chat alone made it
        conn.execute(
            "CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, "
            "received_at REAL NOT NULL, claimed_at REAL)"
        )
        body = json.dumps({**WEB_MESSAGE, "text": "nog daar?"})
        conn.execute("INSERT INTO spool (body, received_at) VALUES (?, 0)", (body,))
    assert Spool(path, "slack").take() is None
    kept = ChatSpool(path).claim()
    assert kept is not None and kept.text == "nog daar?"


def test_a_try_cut_short_owns_the_ids_it_recorded_and_every_other_copy_is_a_repeat(engine: Engine) -> None:
    log = UpdateLog(engine)
    cut_short = Handling()
    token = HANDLING.set(cut_short)
    try:
        assert log.first_time("telegram", 501)
    finally:
        HANDLING.reset(token)
    assert cut_short.claims == ["telegram:501"]
    assert not log.first_time("telegram", 501)  # a duplicate, on this replica or another
    replay = Handling(owned=frozenset(cut_short.claims), replay=True)
    token = HANDLING.set(replay)
    try:
        assert log.first_time("telegram", 501)  # the replay of the handling cut short
        assert log.first_time("telegram", 502)  # other ids are recorded as usual
    finally:
        HANDLING.reset(token)
    assert replay.claims == ["telegram:502"] and not log.first_time("telegram", 502)


def test_a_replay_cut_short_gives_its_row_back_with_its_claims_and_a_broken_one_is_dropped(
    engine: Engine, tmp_path: Path
) -> None:
    spool = UpdateSpool(tmp_path, "telegram", engine)
    log = UpdateLog(engine)
    for update_id in (601, 602, 603):
        assert asyncio.run(spool.keep({"update": {"update_id": update_id}}))
    handled: list[int] = []

    async def handle(update_id: int) -> None:
        if log.first_time("telegram", update_id):
            if update_id == 602 and not handled.count(-602):
                handled.append(-602)
                raise AWAY  # the database goes away after the id was recorded
            if update_id == 603:
                raise IntegrityError("INSERT", {}, Exception("refused"))  # never storable
            handled.append(update_id)

    async def replay(record: Record) -> None:
        await spool.guarded(record, handle(record["update"]["update_id"]))

    assert asyncio.run(spool.replay_once(replay)) == 1  # 601; 602 is given back, the loop waits
    row = spool.rows.take()
    assert row is not None and row.body["update"] == {"update_id": 602}
    assert row.body["owned"] == ["telegram:602"]
    spool.rows.give_back(row.id)
    assert asyncio.run(spool.replay_once(replay)) == 2  # 602 as its own handling, 603 dropped
    assert handled == [601, -602, 602] and len(spool.rows) == 0
