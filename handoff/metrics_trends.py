"""The first-reply promise as customers live it, and the trends of the handoff metrics: per local
day, per agent, and the agents' wrap-up codes (handoff/metrics.py puts them in its figures).

The promise (SLA) counts every handoff of the cohort whose outcome is known at the "as of" time:

met
    answered (``first_reply_at``) within the promise, the boundary included;
answered_late
    answered after it;
missed_waiting
    not answered, not ended, and already waiting longer than the promise: a miss now, whatever
    happens later (``first_reply.within_promise`` leaves these out; this does not);
ended_unanswered
    ended without any reply after waiting longer than the promise (the customer left the queue or
    went silent, or the chat was closed, an hour too late);
pending
    not answered yet, within the promise: not counted either way.

``rate`` = met / (met + answered_late + missed_waiting + ended_unanswered), None when nothing
counts. A handoff ended without a reply within the promise (spam closed at once, a customer who
went back to the bot) counts nowhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.core.db import csat

SLA_FIELDS = ("met", "answered_late", "missed_waiting", "ended_unanswered", "pending")


def sla_state(row: Any, promise: timedelta, as_of: datetime) -> str | None:
    """Which of SLA_FIELDS a handoff row is in at ``as_of``; None when it counts nowhere."""
    if row.first_reply_at is not None:
        return "met" if row.first_reply_at - row.created_at <= promise else "answered_late"
    if row.ended_at is None:
        return "missed_waiting" if as_of - row.created_at > promise else "pending"
    return "ended_unanswered" if row.ended_at - row.created_at > promise else None


def sla(rows: Iterable[Any], promise: timedelta, as_of: datetime) -> dict[str, Any]:
    counts = Counter(sla_state(row, promise, as_of) for row in rows)
    figures: dict[str, Any] = {field: counts[field] for field in SLA_FIELDS}
    return {"promise_s": promise.total_seconds(), **figures, "rate": _rate(counts)}


def by_day(
    rows: Sequence[Any], days: list[date], zone: ZoneInfo, promise: timedelta, as_of: datetime
) -> list[dict[str, Any]]:
    """Per local calendar day (of ``created_at``): escalations, the promise, the median first
    reply and the chats abandoned in the queue."""
    grouped: dict[date, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.created_at.astimezone(zone).date()].append(row)
    return [{"date": day.isoformat(), **_figures(grouped[day], promise, as_of)} for day in days]


def by_agent(
    conn: Connection, rows: Sequence[Any], promise: timedelta, as_of: datetime
) -> list[dict[str, Any]]:
    """Per agent who took chats of the cohort (``claimed_by``), by username: chats taken, the
    promise and median first reply of those, how they ended, and the satisfaction scores of the
    conversations they closed."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row.claimed_by:
            grouped[row.claimed_by].append(row)
    closed_by = {
        row.conversation_id: row.claimed_by for row in rows if row.claimed_by and row.outcome == "closed"
    }
    scores = _scores(conn, list(closed_by))
    agents = []
    for agent in sorted(grouped):
        mine = grouped[agent]
        answered = [scores[cid] for cid, who in closed_by.items() if who == agent and scores.get(cid)]
        outcomes = Counter(row.outcome for row in mine)
        agents.append(
            {
                "agent": agent,
                "chats": len(mine),
                **_figures(mine, promise, as_of, count_key="replied"),
                "closed": outcomes["closed"],
                "handed_back": outcomes["handed_back"],
                "wrap_ups": wrap_ups(mine),
                "csat_answered": len(answered),
                "csat_average": round(sum(answered) / len(answered), 1) if answered else None,
            }
        )
    return agents


def wrap_ups(rows: Iterable[Any]) -> dict[str, int]:
    """How many chats ended with each wrap-up code (handoff/workspace.py), most frequent first."""
    counts = Counter(row.wrap_up for row in rows if row.wrap_up)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _figures(
    rows: list[Any], promise: timedelta, as_of: datetime, count_key: str = "escalations"
) -> dict[str, Any]:
    counts = Counter(sla_state(row, promise, as_of) for row in rows)
    replies = sorted((r.first_reply_at - r.created_at).total_seconds() for r in rows if r.first_reply_at)
    missed = counts["answered_late"] + counts["missed_waiting"] + counts["ended_unanswered"]
    return {
        count_key: len(rows) if count_key == "escalations" else len(replies),
        "met": counts["met"],
        "missed": missed,
        "sla_rate": _rate(counts),
        "first_reply_p50_s": replies[max(0, -(-len(replies) // 2) - 1)] if replies else None,
        "abandoned": sum(row.outcome == "abandoned" for row in rows),
    }


def _rate(counts: Counter[str | None]) -> float | None:
    counted = sum(counts[field] for field in SLA_FIELDS if field != "pending")
    return counts["met"] / counted if counted else None


def _scores(conn: Connection, conversation_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start : start + 500]
        query = select(csat.c.conversation_id, csat.c.score).where(csat.c.conversation_id.in_(chunk))
        found.update({cid: score for cid, score in conn.execute(query) if score in (1, 2, 3, 4, 5)})
    return found
