"""Snoozing a chat (handoff/snooze.py): when it wakes (a preset, tomorrow morning in the team's
time zone whatever the hour or the clocks do, a time of the agent's choosing), and on the
configured database: only the agent's answered chat, audited, still theirs for the metrics, back
when the time comes or the customer writes, ended by a reply, a transfer or by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.core.db import audit_log, conversations, handoffs, messages
from bot.core.rules import default_rules
from handoff.metrics import compute_metrics
from handoff.queue import HandoffQueue
from handoff.snooze import (
    WOKE_BY_CUSTOMER,
    WOKE_BY_TIME,
    Snooze,
    SnoozeError,
    SnoozeRequest,
    snooze_chat,
    snooze_entry,
    snoozes_of,
    tomorrow_morning,
    wake_chat,
)
from handoff.transfer import to_colleague
from testkit.databases import insert_conversation

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 12, 4, 13, 0, tzinfo=timezone.utc)  # 14:00 in Brussels


def brussels(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


# --- when a chat wakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "after"),
    [("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)), ("3h", timedelta(hours=3))],
)
def test_a_preset_wakes_the_chat_that_long_from_now(preset: str, after: timedelta) -> None:
    at = SnoozeRequest.parse({"preset": preset}).wake_at(NOW, BRUSSELS)
    assert at == NOW + after and at.tzinfo == timezone.utc


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        (brussels(2026, 12, 4, 14), brussels(2026, 12, 5, 9)),
        (brussels(2026, 12, 4, 23, 59), brussels(2026, 12, 5, 9)),
        (brussels(2026, 12, 5, 0, 10), brussels(2026, 12, 6, 9)),  # just after midnight: the next day
        (brussels(2026, 3, 28, 20), brussels(2026, 3, 29, 9)),  # the clocks go forward overnight
        (brussels(2026, 10, 24, 20), brussels(2026, 10, 25, 9)),  # and back
        (brussels(2026, 12, 31, 18), brussels(2027, 1, 1, 9)),
    ],
)
def test_tomorrow_is_the_next_local_day_at_nine(local_now: datetime, expected: datetime) -> None:
    at = SnoozeRequest.parse({"preset": "tomorrow"}).wake_at(local_now.astimezone(timezone.utc), BRUSSELS)
    assert at == expected and at.astimezone(BRUSSELS).strftime("%H:%M") == "09:00"
    assert tomorrow_morning(local_now, BRUSSELS) == expected


def test_tomorrow_morning_follows_the_team_time_zone_not_utc() -> None:
    late_in_brussels = datetime(2026, 12, 4, 23, 30, tzinfo=timezone.utc)  # already the 5th at 00:30
    assert tomorrow_morning(late_in_brussels, BRUSSELS) == brussels(2026, 12, 6, 9)
    assert tomorrow_morning(late_in_brussels, ZoneInfo("UTC")) == datetime(
        2026, 12, 5, 9, tzinfo=timezone.utc
    )


def test_a_chosen_time_without_an_offset_is_the_teams_local_time() -> None:
    at = SnoozeRequest.parse({"until": "2026-12-04T16:30"}).wake_at(NOW, BRUSSELS)
    assert at == brussels(2026, 12, 4, 16, 30) == datetime(2026, 12, 4, 15, 30, tzinfo=timezone.utc)
    assert SnoozeRequest.parse({"until": "2026-12-04T15:30:00Z"}).wake_at(NOW, BRUSSELS) == at
    assert SnoozeRequest.parse({"until": "2026-12-04T17:30+02:00"}).wake_at(NOW, BRUSSELS) == at


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"preset": "15m", "until": "2026-12-04T16:30"},
        {"preset": "2h"},
        {"preset": 15},
        {"until": 1733325000},
        {"until": "tomorrow"},
        {"preset": None, "until": None},
    ],
)
def test_a_snooze_asked_wrongly_is_refused(body: dict) -> None:
    with pytest.raises(SnoozeError):
        SnoozeRequest.parse(body).wake_at(NOW, BRUSSELS)


@pytest.mark.parametrize(
    "until",
    ["2026-12-04T13:59", "2026-12-04T14:00:30", "2026-12-19T14:01", "2025-01-01T09:00"],
)
def test_the_wake_up_time_is_between_a_minute_and_two_weeks_ahead(until: str) -> None:
    with pytest.raises(SnoozeError, match="between 1 minute and 14 days"):
        SnoozeRequest.parse({"until": until}).wake_at(NOW, BRUSSELS)
    assert SnoozeRequest.parse({"until": "2026-12-18T14:00"}).wake_at(NOW, BRUSSELS) == NOW + timedelta(
        days=14
    )


def test_the_customer_wakes_a_chat_before_its_time_and_wins_a_tie() -> None:
    snooze = Snooze(until=NOW + timedelta(hours=1), after_id=10)
    assert snooze.woke(NOW, last_customer_id=10) is None
    assert snooze.woke(NOW, last_customer_id=11) == WOKE_BY_CUSTOMER
    assert snooze.woke(NOW + timedelta(hours=1), last_customer_id=10) == WOKE_BY_TIME
    assert snooze.woke(NOW + timedelta(hours=2), last_customer_id=12) == WOKE_BY_CUSTOMER
    assert snooze_entry(None, NOW, 0) == {"snoozed": False, "snoozed_until": None, "woke": None}
    assert snooze_entry(snooze, NOW, 3) == {
        "snoozed": True,
        "snoozed_until": "2026-12-04T14:00:00+00:00",
        "woke": None,
    }


# --- on the database --------------------------------------------------------------------------


def answered_chat(engine: Engine, agent: str = "ann") -> tuple[str, int]:
    """A chat ``agent`` took and answered: (conversation, handoff)."""
    with engine.begin() as conn:
        cid = insert_conversation(conn, language="nl", channel="web", owner="bot")
    queue = HandoffQueue(engine)
    handoff = queue.escalate(cid, default_rules()["request_human"])
    assert handoff is not None and queue.claim(handoff.id, agent)
    write(engine, cid, "agent", "Ik kijk het na")
    assert queue.record_agent_reply(cid, agent)
    return cid, handoff.id


def write(engine: Engine, cid: str, author: str, text: str) -> int:
    with engine.begin() as conn:
        values = {"conversation_id": cid, "author": author, "text": text, "status": "answered"}
        direction = "in" if author == "customer" else "out"
        return int(
            conn.execute(insert(messages).values(direction=direction, **values)).inserted_primary_key[0]
        )


def snoozed_columns(engine: Engine, hid: int) -> tuple[datetime | None, int | None]:
    with engine.connect() as conn:
        row = conn.execute(
            select(handoffs.c.snoozed_until, handoffs.c.snoozed_after_id).where(handoffs.c.id == hid)
        ).one()
    return row.snoozed_until, row.snoozed_after_id


def audited(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject).order_by(audit_log.c.id)
        )
        return [tuple(row) for row in rows]


def test_only_the_agents_answered_chat_is_snoozed_and_each_change_is_audited(engine: Engine) -> None:
    cid, hid = answered_chat(engine)
    until = NOW + timedelta(hours=1)
    assert not snooze_chat(engine, hid, cid, "bob", until, NOW)  # not Bob's
    assert snoozed_columns(engine, hid) == (None, None)

    assert snooze_chat(engine, hid, cid, "ann", until, NOW)
    newest = write(engine, cid, "bot", "(a notice)") - 1
    assert snoozed_columns(engine, hid) == (until, newest)
    assert snoozes_of(engine, [hid, hid + 99]) == {hid: Snooze(until, newest)}
    assert wake_chat(engine, hid, cid, "ann", NOW) and not wake_chat(engine, hid, cid, "ann", NOW)
    assert snoozes_of(engine, [hid]) == {}
    assert audited(engine) == [
        ("ann", "chat.snooze", f"conversation:{cid}"),
        ("ann", "chat.unsnooze", f"conversation:{cid}"),
    ]

    with engine.begin() as conn:
        cid2 = insert_conversation(conn, language="nl", channel="web", owner="bot")
    queue = HandoffQueue(engine)
    unanswered = queue.escalate(cid2, default_rules()["fraud"])
    assert unanswered is not None and queue.claim(unanswered.id, "ann")
    assert not snooze_chat(engine, unanswered.id, cid2, "ann", until, NOW)  # no first reply yet
    queue.close(cid)
    assert not snooze_chat(engine, hid, cid, "ann", until, NOW)  # ended


def test_a_snoozed_chat_stays_the_agents_for_the_metrics(engine: Engine) -> None:
    cid, hid = answered_chat(engine)
    now = datetime.now(timezone.utc)
    window = {"since": now - timedelta(days=1), "until": now + timedelta(minutes=1), "time_zone": BRUSSELS}
    before = compute_metrics(engine, **window)
    assert snooze_chat(engine, hid, cid, "ann", now + timedelta(hours=1), now)
    assert compute_metrics(engine, **window) == before
    ann = before["by_agent"][0]
    assert (ann["agent"], ann["chats"], ann["replied"], ann["met"]) == ("ann", 1, 1, 1)
    assert (before["first_reply"]["waiting_now"], before["sla"]["met"]) == (0, 1)
    with engine.connect() as conn:
        owner = conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()
        row = conn.execute(
            select(handoffs.c.claimed_by, handoffs.c.first_reply_at).where(handoffs.c.id == hid)
        ).one()
    assert owner == "agent" and row.claimed_by == "ann" and row.first_reply_at is not None
    assert HandoffQueue(engine).claimed_by("ann")[0].id == hid


def test_a_reply_or_a_transfer_ends_the_snooze(engine: Engine) -> None:
    cid, hid = answered_chat(engine)
    queue = HandoffQueue(engine)
    assert snooze_chat(engine, hid, cid, "ann", NOW + timedelta(hours=1), NOW)
    assert not queue.record_agent_reply(cid, "bob")
    assert snoozed_columns(engine, hid)[0] is not None  # not Bob's reply to make
    assert queue.record_agent_reply(cid, "ann")
    assert snoozed_columns(engine, hid) == (None, None)

    assert snooze_chat(engine, hid, cid, "ann", NOW + timedelta(hours=1), NOW)
    assert to_colleague(engine, hid, cid, ("ann", "bob"), NOW)
    assert snoozed_columns(engine, hid) == (None, None)  # Bob gets an active chat
