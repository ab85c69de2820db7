"""Handoff metrics over rows with known timestamps, on the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from bot.core.db import csat, handoffs
from bot.core.settings import Settings
from handoff.metrics import compute_metrics, format_duration, percentile
from testkit.databases import insert_conversation

UTC = timezone.utc
# Local (Europe/Brussels, UTC+1 in early March) midnight 4 March to midnight 6 March.
SINCE = datetime(2024, 3, 3, 23, 0, tzinfo=UTC)
UNTIL = datetime(2024, 3, 5, 23, 0, tzinfo=UTC)
T = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}


def add_conversation(
    conn: Connection, created_at: datetime, language: str = "nl", channel: str = "web"
) -> str:
    return insert_conversation(conn, created_at=created_at, language=language, channel=channel)


def add_handoff(
    conn: Connection,
    cid: str,
    created_at: datetime,
    reason: str = "complaint",
    priority: str = "high",
    language: str = "nl",
    channel: str = "web",
    *,
    reply_after: timedelta | None = None,
    ended_after: timedelta | None = None,
    outcome: str | None = None,
) -> None:
    conn.execute(
        insert(handoffs).values(
            conversation_id=cid,
            reason=reason,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            language=language,
            channel=channel,
            created_at=created_at,
            first_reply_at=created_at + reply_after if reply_after is not None else None,
            ended_at=created_at + ended_after if ended_after is not None else None,
            outcome=outcome,
        )
    )


def add_csat(conn: Connection, cid: str, asked_at: datetime, score: int | None) -> None:
    conn.execute(
        insert(csat).values(
            conversation_id=cid,
            language="nl",
            asked_at=asked_at,
            score=score,
            answered_at=asked_at + MIN if score is not None else None,
        )
    )


def escalated_conversation(conn: Connection, at: datetime, *args: Any, **kwargs: Any) -> str:
    """A conversation started 5 minutes before its handoff at ``at``."""
    cid = add_conversation(conn, at - 5 * MIN)
    add_handoff(conn, cid, at, *args, **kwargs)
    return cid


@pytest.fixture
def busy(engine: Engine) -> Engine:
    """10 conversations in the window (5 bot-only, 5 escalated), 7 handoffs, 4 CSAT rows."""
    with engine.begin() as conn:
        for hours in range(5):
            add_conversation(conn, T + hours * HOUR)
        c5 = escalated_conversation(
            conn,
            T,
            "complaint",
            "high",
            "nl",
            "web",
            reply_after=10 * MIN,
            ended_after=30 * MIN,
            outcome="closed",
        )
        c6 = escalated_conversation(
            conn,
            T + HOUR,
            "fraud",
            "urgent",
            "fr",
            "telegram",
            reply_after=HOUR,  # exactly the promise: within it
            ended_after=2 * HOUR,
            outcome="handed_back",
        )
        # The same conversation escalates again after it was handed back.
        add_handoff(
            conn,
            c6,
            T + 4 * HOUR,
            "complaint",
            "high",
            "fr",
            "telegram",
            reply_after=90 * MIN,
            ended_after=3 * HOUR,
            outcome="closed",
        )
        c7 = escalated_conversation(conn, UNTIL - 2 * HOUR, "request_human", "normal", "en", "web")
        # Closed without any reply, then escalated again and still waiting.
        c8 = escalated_conversation(
            conn,
            T + 2 * HOUR,
            "not_helped",
            "normal",
            "nl",
            "whatsapp",
            ended_after=15 * MIN,
            outcome="closed",
        )
        add_handoff(conn, c8, UNTIL - 30 * MIN, "complaint", "high", "nl", "whatsapp")
        # 23:30 UTC on 4 March is 00:30 on 5 March in Brussels. Answered late, still open.
        escalated_conversation(
            conn,
            datetime(2024, 3, 4, 23, 30, tzinfo=UTC),
            "fraud",
            "urgent",
            "nl",
            "web",
            reply_after=2 * HOUR,
        )
        add_csat(conn, c5, T + 31 * MIN, 5)
        add_csat(conn, c6, T + 7 * HOUR, 4)
        add_csat(conn, c7, T + 8 * HOUR, None)
        add_csat(conn, c8, T + 3 * HOUR, 2)
    return engine


def test_containment_counts_conversations_without_any_handoff(busy: Engine) -> None:
    figures = compute_metrics(busy, since=SINCE, until=UNTIL)
    assert figures["window"] == {"since": "2024-03-03T23:00:00+00:00", "until": "2024-03-05T23:00:00+00:00"}
    assert (figures["conversations"], figures["escalated"]) == (10, 5)
    assert figures["containment"] == 0.5


def test_escalation_breakdowns_are_sorted_by_count_then_name(busy: Engine) -> None:
    escalations = compute_metrics(busy, since=SINCE, until=UNTIL)["escalations"]
    assert escalations["total"] == 7
    assert list(escalations["by_reason"].items()) == [
        ("complaint", 3),
        ("fraud", 2),
        ("not_helped", 1),
        ("request_human", 1),
    ]
    assert list(escalations["by_language"].items()) == [("nl", 4), ("fr", 2), ("en", 1)]
    assert list(escalations["by_channel"].items()) == [("web", 3), ("telegram", 2), ("whatsapp", 2)]
    assert list(escalations["by_priority"].items()) == [("high", 3), ("normal", 2), ("urgent", 2)]


def test_first_reply_percentiles_promise_and_waiting(busy: Engine) -> None:
    first_reply = compute_metrics(busy, since=SINCE, until=UNTIL)["first_reply"]
    # Replies after 600, 3600, 5400 and 7200 s; the handoff closed without a reply is not counted.
    assert first_reply == {
        "count": 4,
        "p50_s": 3600.0,
        "p90_s": 7200.0,
        "within_promise": 0.5,
        "promise_s": 3600.0,
        "waiting_now": 2,
        "oldest_waiting_s": 7200.0,
        "unanswered_over_promise": 1,
    }


def test_a_shorter_promise_changes_only_the_promise_figures(busy: Engine) -> None:
    first_reply = compute_metrics(busy, since=SINCE, until=UNTIL, promise=30 * MIN)["first_reply"]
    assert first_reply["within_promise"] == 0.25
    # Waiting 2 h: over; waiting exactly 30 min: not yet "older than" the promise.
    assert first_reply["unanswered_over_promise"] == 1
    assert (
        compute_metrics(busy, since=SINCE, until=UNTIL, promise=29 * MIN)["first_reply"][
            "unanswered_over_promise"
        ]
        == 2
    )


def test_resolution_by_outcome(busy: Engine) -> None:
    resolution = compute_metrics(busy, since=SINCE, until=UNTIL)["resolution"]
    # Ended after 900 (no reply), 1800, 7200 and 10800 s.
    assert resolution == {
        "count": 4,
        "p50_s": 1800.0,
        "p90_s": 10800.0,
        "by_outcome": {"closed": 3, "handed_back": 1},
    }


def test_csat_average_distribution_and_response_rate(busy: Engine) -> None:
    assert compute_metrics(busy, since=SINCE, until=UNTIL)["csat"] == {
        "asked": 4,
        "answered": 3,
        "response_rate": 0.75,
        "average": 3.7,  # 11 / 3
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }


def test_by_day_uses_brussels_dates(busy: Engine) -> None:
    # 4 March: answered after 10 and 60 min (met), 90 min (late), one ended unanswered within the
    # hour (not counted). 5 March: answered after 2 h, one waiting 2 h (a miss), one 30 min (pending).
    assert compute_metrics(busy, since=SINCE, until=UNTIL)["by_day"] == [
        {
            "date": "2024-03-04",
            "escalations": 4,
            "met": 2,
            "missed": 1,
            "sla_rate": 2 / 3,
            "first_reply_p50_s": 3600.0,
            "abandoned": 0,
        },
        {
            "date": "2024-03-05",
            "escalations": 3,
            "met": 0,
            "missed": 2,
            "sla_rate": 0.0,
            "first_reply_p50_s": 7200.0,
            "abandoned": 0,
        },
    ]


def test_by_day_across_the_switch_to_summer_time(engine: Engine) -> None:
    since = datetime(2024, 3, 30, 23, 0, tzinfo=UTC)  # 31 March 00:00 CET
    until = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)  # 1 April 00:00 CEST
    with engine.begin() as conn:
        escalated_conversation(conn, datetime(2024, 3, 31, 21, 30, tzinfo=UTC))  # 23:30 CEST
        escalated_conversation(conn, until)  # 1 April: outside
    figures = compute_metrics(engine, since=since, until=until)
    assert figures["by_day"] == [
        {
            "date": "2024-03-31",
            "escalations": 1,
            "met": 0,
            "missed": 0,
            "sla_rate": None,
            "first_reply_p50_s": None,
            "abandoned": 0,
        }
    ]  # waiting 30 min: not a miss yet


def test_rows_outside_the_window_are_ignored(engine: Engine) -> None:
    with engine.begin() as conn:
        # Before the window: a bot-only and an escalated conversation, and a CSAT answer.
        add_conversation(conn, SINCE - HOUR)
        old = escalated_conversation(conn, SINCE - MIN, reply_after=MIN, ended_after=HOUR, outcome="closed")
        add_csat(conn, old, SINCE - MIN, 1)
        # Started before the window, escalated in it: an escalation, not a window conversation.
        straddling = add_conversation(conn, SINCE - 10 * MIN)
        add_handoff(conn, straddling, SINCE, "fraud", "urgent", reply_after=20 * MIN)
        # Exactly at `until`: outside (the window is half-open).
        later = add_conversation(conn, UNTIL)
        add_handoff(conn, later, UNTIL, "legal", "high")
        add_csat(conn, later, UNTIL, 5)
        # Inside: one bot-only conversation created at exactly `since`.
        add_conversation(conn, SINCE, channel="telegram")
    figures = compute_metrics(engine, since=SINCE, until=UNTIL)
    assert (figures["conversations"], figures["escalated"], figures["containment"]) == (1, 0, 1.0)
    assert figures["escalations"]["total"] == 1
    assert figures["escalations"]["by_reason"] == {"fraud": 1}
    assert figures["first_reply"]["count"] == 1
    assert figures["first_reply"]["p50_s"] == 1200.0
    assert figures["first_reply"]["waiting_now"] == 0
    assert figures["resolution"]["count"] == 0
    assert figures["csat"]["asked"] == 0


def test_empty_database_gives_zeros_and_nones(engine: Engine) -> None:
    figures = compute_metrics(engine, since=SINCE, until=UNTIL)
    assert figures == {
        "window": {"since": "2024-03-03T23:00:00+00:00", "until": "2024-03-05T23:00:00+00:00"},
        "conversations": 0,
        "escalated": 0,
        "containment": None,
        "escalations": {
            "total": 0,
            "by_reason": {},
            "by_language": {},
            "by_channel": {},
            "by_priority": {},
        },
        "first_reply": {
            "count": 0,
            "p50_s": None,
            "p90_s": None,
            "within_promise": None,
            "promise_s": 3600.0,
            "waiting_now": 0,
            "oldest_waiting_s": None,
            "unanswered_over_promise": 0,
        },
        "resolution": {
            "count": 0,
            "p50_s": None,
            "p90_s": None,
            "by_outcome": {"closed": 0, "handed_back": 0},
        },
        "queue": {"abandoned": 0, "left_queue": 0, "callbacks": 0, "abandonment_rate": None},
        "csat": {
            "asked": 0,
            "answered": 0,
            "response_rate": None,
            "average": None,
            "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        },
        "by_day": [
            {
                "date": "2024-03-04",
                "escalations": 0,
                "met": 0,
                "missed": 0,
                "sla_rate": None,
                "first_reply_p50_s": None,
                "abandoned": 0,
            },
            {
                "date": "2024-03-05",
                "escalations": 0,
                "met": 0,
                "missed": 0,
                "sla_rate": None,
                "first_reply_p50_s": None,
                "abandoned": 0,
            },
        ],
        "sla": {
            "promise_s": 3600.0,
            "met": 0,
            "answered_late": 0,
            "missed_waiting": 0,
            "ended_unanswered": 0,
            "pending": 0,
            "rate": None,
        },
        "by_agent": [],
        "wrap_ups": {},
    }
    assert json.loads(json.dumps(figures)) == figures


def test_result_is_json_serialisable(busy: Engine) -> None:
    figures = compute_metrics(busy, since=SINCE, until=UNTIL)
    assert json.loads(json.dumps(figures)) == figures


def test_without_until_the_window_ends_now(busy: Engine) -> None:
    before = datetime.now(UTC)
    figures = compute_metrics(busy, since=SINCE)
    until = datetime.fromisoformat(figures["window"]["until"])
    assert before <= until <= datetime.now(UTC)
    assert figures["escalations"]["total"] == 7
    # Still waiting: measured against now, so both are far over the promise.
    assert figures["first_reply"]["unanswered_over_promise"] == 2
    json.dumps(figures)


def test_naive_or_reversed_windows_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError):
        compute_metrics(engine, since=datetime(2024, 3, 4))
    with pytest.raises(ValueError):
        compute_metrics(engine, since=UNTIL, until=SINCE)


def test_nearest_rank_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    values = [float(n) for n in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 100)) == (5.0, 9.0, 10.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (44.6, "45 s"),
        (59.6, "1 min"),
        (720, "12 min"),
        (749, "12 min"),
        (3599.9, "1 h 00 min"),
        (3900, "1 h 05 min"),
        (90000, "25 h 00 min"),
        (-3, "0 s"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_by_day_uses_the_configured_time_zone(busy: Engine) -> None:
    """Same rows and window as above, counted in New York's days (UTC-5): the window starts on
    3 March there, and the handoff at 23:30 UTC on 4 March is still the 4th."""
    new_york = Settings.from_env({"TIME_ZONE": "America/New_York"}).time_zone
    assert compute_metrics(busy, since=SINCE, until=UNTIL, time_zone=new_york)["by_day"] == [
        {
            "date": "2024-03-03",
            "escalations": 0,
            "met": 0,
            "missed": 0,
            "sla_rate": None,
            "first_reply_p50_s": None,
            "abandoned": 0,
        },
        {
            "date": "2024-03-04",
            "escalations": 5,
            "met": 2,
            "missed": 2,
            "sla_rate": 0.5,
            "first_reply_p50_s": 3600.0,
            "abandoned": 0,
        },
        {
            "date": "2024-03-05",
            "escalations": 2,
            "met": 0,
            "missed": 1,
            "sla_rate": 0.0,
            "first_reply_p50_s": None,
            "abandoned": 0,
        },
    ]
