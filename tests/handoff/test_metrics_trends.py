"""Metrics people can trust: the first-reply promise counts the chats still waiting past it, and
the trends per agent and wrap-up code (handoff/metrics_trends.py through compute_metrics)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from bot.core.db import csat, handoffs
from handoff.metrics import compute_metrics
from testkit.databases import insert_conversation

UTC = timezone.utc
SINCE = datetime(2024, 3, 3, 23, 0, tzinfo=UTC)
UNTIL = datetime(2024, 3, 4, 23, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def handoff(
    conn: Connection,
    created_at: datetime,
    *,
    reply_after: timedelta | None = None,
    ended_after: timedelta | None = None,
    outcome: str | None = None,
    agent: str | None = None,
    wrap_up: str | None = None,
    score: int | None = None,
) -> str:
    cid = insert_conversation(conn, created_at=created_at - MIN)
    conn.execute(
        insert(handoffs).values(
            conversation_id=cid,
            reason="request_human",
            priority="normal",
            priority_rank=2,
            language="nl",
            channel="web",
            created_at=created_at,
            claimed_by=agent,
            claimed_at=created_at + MIN if agent else None,
            first_reply_at=created_at + reply_after if reply_after is not None else None,
            ended_at=created_at + ended_after if ended_after is not None else None,
            outcome=outcome,
            wrap_up=wrap_up,
        )
    )
    if outcome == "closed" and agent:
        answered = score is not None
        conn.execute(
            insert(csat).values(
                conversation_id=cid,
                language="nl",
                asked_at=created_at + ended_after,
                score=score,
                answered_at=created_at + ended_after + MIN if answered else None,
            )
        )
    return cid


def test_chats_still_waiting_past_the_promise_count_as_misses(engine: Engine) -> None:
    """The console once said "answered within 1 h: 100 %" beside 107 waiting: not any more."""
    as_of = UNTIL
    with engine.begin() as conn:
        handoff(conn, as_of - 3 * 60 * MIN, reply_after=5 * MIN)  # the one answered chat
        for minutes in range(61, 71):  # ten waiting just over the hour
            handoff(conn, as_of - minutes * MIN)
        for minutes in (5, 30, 60):  # waiting, but still within the hour (60: the boundary)
            handoff(conn, as_of - minutes * MIN)
        handoff(conn, as_of - 9 * 60 * MIN, ended_after=2 * 60 * MIN, outcome="left_queue")  # gave up
        handoff(conn, as_of - 8 * 60 * MIN, ended_after=3 * MIN, outcome="closed")  # spam, closed at once
        handoff(conn, as_of - 7 * 60 * MIN, reply_after=80 * MIN, ended_after=90 * MIN, outcome="closed")
    figures = compute_metrics(engine, since=SINCE, until=as_of)
    assert figures["first_reply"]["within_promise"] == 0.5  # of the two answered, as before
    assert figures["sla"] == {
        "promise_s": 3600.0,
        "met": 1,
        "answered_late": 1,
        "missed_waiting": 10,
        "ended_unanswered": 1,
        "pending": 3,
        "rate": 1 / 13,
    }
    day = figures["by_day"][0]
    assert (day["date"], day["escalations"], day["met"], day["missed"]) == ("2024-03-04", 17, 1, 12)
    assert day["sla_rate"] == 1 / 13 and day["first_reply_p50_s"] == 300.0


def test_a_shorter_promise_makes_more_misses(engine: Engine) -> None:
    with engine.begin() as conn:
        handoff(conn, UNTIL - 60 * MIN, reply_after=20 * MIN)
        handoff(conn, UNTIL - 20 * MIN)
    half_hour = compute_metrics(engine, since=SINCE, until=UNTIL, promise=15 * MIN)["sla"]
    assert (half_hour["met"], half_hour["answered_late"], half_hour["missed_waiting"]) == (0, 1, 1)
    hour = compute_metrics(engine, since=SINCE, until=UNTIL)["sla"]
    assert (hour["met"], hour["pending"], hour["rate"]) == (1, 1, 1.0)


def test_per_agent_figures_wrap_ups_and_satisfaction(engine: Engine) -> None:
    t = SINCE + 10 * 60 * MIN
    with engine.begin() as conn:
        handoff(conn, t, reply_after=4 * MIN, ended_after=20 * MIN, outcome="closed", agent="ann",
                wrap_up="solved", score=5)  # fmt: skip
        handoff(conn, t, reply_after=10 * MIN, ended_after=30 * MIN, outcome="closed", agent="ann",
                wrap_up="solved", score=3)  # fmt: skip
        handoff(conn, t, reply_after=90 * MIN, ended_after=2 * 60 * MIN, outcome="handed_back", agent="ann")
        handoff(conn, t, reply_after=2 * MIN, ended_after=5 * MIN, outcome="closed", agent="bob",
                wrap_up="follow_up")  # fmt: skip
        handoff(conn, t, agent="bob")  # taken, never answered: a miss by now
        handoff(conn, t)  # nobody took it
    figures = compute_metrics(engine, since=SINCE, until=UNTIL)
    assert figures["by_agent"] == [
        {
            "agent": "ann",
            "chats": 3,
            "replied": 3,
            "met": 2,
            "missed": 1,
            "sla_rate": 2 / 3,
            "first_reply_p50_s": 600.0,
            "abandoned": 0,
            "closed": 2,
            "handed_back": 1,
            "wrap_ups": {"solved": 2},
            "csat_answered": 2,
            "csat_average": 4.0,
        },
        {
            "agent": "bob",
            "chats": 2,
            "replied": 1,
            "met": 1,
            "missed": 1,
            "sla_rate": 0.5,
            "first_reply_p50_s": 120.0,
            "abandoned": 0,
            "closed": 1,
            "handed_back": 0,
            "wrap_ups": {"follow_up": 1},
            "csat_answered": 0,
            "csat_average": None,
        },
    ]
    assert figures["wrap_ups"] == {"solved": 2, "follow_up": 1}
