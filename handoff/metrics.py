"""Figures for the handoff metrics page, computed over a time window ``[since, until)``.

The window is half-open: a row counts when ``since <= created_at < until``. Without ``until``
the window ends now ("as of" time below is ``until``, or now). Rows are selected with plain,
portable SQL and aggregated in Python, so SQLite and PostgreSQL give identical results.

Definitions
-----------
conversations
    Conversations whose ``created_at`` is in the window.
escalated
    Of those conversations, how many have at least one ``handoffs`` row (whenever it was
    created; a conversation escalated twice counts once).
containment
    Share (0..1) of the window's conversations the bot handled without a person, i.e. with no
    handoff row at all: ``(conversations - escalated) / conversations``; None without
    conversations. A conversation handed back to the bot after a handoff is *not* contained.
    Recent conversations may still escalate later, so the last hours' containment is provisional.
escalations
    Handoffs whose ``created_at`` is in the window (a conversation may escalate more than once),
    with counts by reason, language, channel and priority (sorted by count desc, then name).
    Every figure below, except ``csat``, is about this cohort of handoffs, in their current state.
first_reply
    Over the cohort's handoffs with a ``first_reply_at``: ``count``, ``p50_s``/``p90_s`` (seconds
    from ``created_at`` to ``first_reply_at``), ``within_promise`` (share answered within
    ``promise``, the boundary included), ``promise_s``. Unanswered handoffs are not in these
    figures; they are counted instead by ``waiting_now`` (no reply and not ended, claimed or not),
    ``oldest_waiting_s`` (age of the oldest of those at the "as of" time) and
    ``unanswered_over_promise`` (those strictly older than ``promise`` at the "as of" time).
    A handoff ended without any reply is in none of these.
resolution
    Over the cohort's ended handoffs (``ended_at`` set): ``count``, ``p50_s``/``p90_s`` (seconds
    from ``created_at`` to ``ended_at``) and ``by_outcome`` (``closed``, ``handed_back``, always
    present, plus any other stored outcome).
queue
    What the cohort's waiting customers did (handoff/waiting.py): ``abandoned`` (closed after the
    customer's silence in the queue, QUEUE_ABANDON_MINUTES), ``left_queue`` (the customer went back
    to the bot), ``callbacks`` (asked to be contacted later), and ``abandonment_rate`` =
    abandoned / escalations (None without escalations). Chats still waiting may be abandoned later.
csat
    Over ``csat`` rows whose ``asked_at`` is in the window: ``asked``; ``answered`` (a score
    1..5); ``response_rate`` = answered / asked; ``average`` score (1 decimal); ``distribution``
    {"1": n, ..., "5": n}. None instead of a rate or average when there is nothing to divide.
    Customers may answer for a while after being asked (``CSAT_WINDOW_HOURS``), so the response
    rate of the last day is provisional.
by_day
    One entry per local calendar day (TIME_ZONE) the window touches, oldest first, with the
    number of handoffs created that (local) day and how they fared: ``{"date": "YYYY-MM-DD",
    "escalations": n, "met": n, "missed": n, "sla_rate": share, "first_reply_p50_s": s,
    "abandoned": n}`` (the promise as in ``sla``; p50 over the day's answered handoffs).
sla
    The first-reply promise counting the chats still waiting past it as misses: ``met``,
    ``answered_late``, ``missed_waiting``, ``ended_unanswered``, ``pending`` and ``rate``
    (handoff/metrics_trends.py defines each).
by_agent
    Per agent who took handoffs of the cohort: ``chats``, ``replied``, ``met``, ``missed``,
    ``sla_rate``, ``first_reply_p50_s``, ``closed``, ``handed_back``, ``wrap_ups`` and the
    satisfaction (``csat_answered``, ``csat_average``) of the conversations they closed.
wrap_ups
    The cohort's wrap-up codes (handoff/workspace.py) with their counts, most frequent first.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value
at rank ``ceil(p * n / 100)``, always an observed value; None when there are no values.
Durations are float seconds; shares are unrounded floats in 0..1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from bot.core.db import conversations, csat, handoffs, utcnow
from bot.core.settings import DEFAULT_TIME_ZONE
from handoff import metrics_trends
from handoff.queue import CALLBACK_SLOT

OUTCOMES = ("closed", "handed_back")
SCORES = (1, 2, 3, 4, 5)
BREAKDOWNS = ("reason", "language", "channel", "priority")


def compute_metrics(
    engine: Engine,
    *,
    since: datetime,
    until: datetime | None = None,
    promise: timedelta = timedelta(hours=1),
    time_zone: ZoneInfo | None = None,
) -> dict[str, Any]:
    """All figures for ``[since, until)`` as a JSON-serialisable dict (see the module docstring);
    ``by_day`` counts calendar days in ``time_zone`` (the TIME_ZONE setting)."""
    zone = time_zone or ZoneInfo(DEFAULT_TIME_ZONE)
    as_of = _window_end(since, until)
    with engine.connect() as conn:
        total, escalated = _conversation_counts(conn, since, as_of)
        rows = _handoff_rows(conn, since, as_of)
        scores = _csat_scores(conn, since, as_of)
        agents = metrics_trends.by_agent(conn, rows, promise, as_of)
    return {
        "window": {"since": _iso(since), "until": _iso(as_of)},
        "conversations": total,
        "escalated": escalated,
        "containment": _share(total - escalated, total),
        "escalations": _escalations(rows),
        "first_reply": _first_reply(rows, promise, as_of),
        "resolution": _resolution(rows),
        "queue": _queue(rows),
        "csat": _csat(scores),
        "by_day": metrics_trends.by_day(rows, _days(since, as_of, zone), zone, promise, as_of),
        "sla": metrics_trends.sla(rows, promise, as_of),
        "by_agent": agents,
        "wrap_ups": metrics_trends.wrap_ups(rows),
    }


def format_duration(seconds: float | None) -> str:
    """ "—", "45 s", "12 min" or "1 h 05 min", rounded to the unit shown."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = (whole + 30) // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percentile(values: Sequence[float], p: int) -> float | None:
    """Nearest-rank percentile (``p`` in 1..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # ceil without float error
    return ordered[rank - 1]


# --- selection -------------------------------------------------------------------------------


def _window_end(since: datetime, until: datetime | None) -> datetime:
    end = until if until is not None else utcnow()
    if since.tzinfo is None or end.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    if end < since:
        raise ValueError("until is before since")
    return end


def _conversation_counts(conn: Connection, since: datetime, until: datetime) -> tuple[int, int]:
    in_window = (conversations.c.created_at >= since, conversations.c.created_at < until)
    total = conn.execute(select(func.count()).select_from(conversations).where(*in_window)).scalar_one()
    escalated = conn.execute(
        select(func.count())
        .select_from(conversations)
        .where(*in_window, conversations.c.id.in_(select(handoffs.c.conversation_id)))
    ).scalar_one()
    return int(total), int(escalated)


def _handoff_rows(conn: Connection, since: datetime, until: datetime) -> list[Any]:
    query = (
        select(
            handoffs.c.reason,
            handoffs.c.language,
            handoffs.c.channel,
            handoffs.c.priority,
            handoffs.c.created_at,
            handoffs.c.first_reply_at,
            handoffs.c.ended_at,
            handoffs.c.outcome,
            handoffs.c.slots,
            handoffs.c.conversation_id,
            handoffs.c.claimed_by,
            handoffs.c.wrap_up,
        )
        .where(handoffs.c.created_at >= since, handoffs.c.created_at < until)
        .order_by(handoffs.c.created_at, handoffs.c.id)
    )
    return list(conn.execute(query))


def _csat_scores(conn: Connection, since: datetime, until: datetime) -> list[int | None]:
    query = select(csat.c.score).where(csat.c.asked_at >= since, csat.c.asked_at < until)
    return list(conn.execute(query).scalars())


# --- aggregation -----------------------------------------------------------------------------


def _escalations(rows: list[Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {"total": len(rows)}
    for field in BREAKDOWNS:
        figures[f"by_{field}"] = _ranked(Counter(getattr(row, field) for row in rows))
    return figures


def _first_reply(rows: list[Any], promise: timedelta, as_of: datetime) -> dict[str, Any]:
    waits = [row.first_reply_at - row.created_at for row in rows if row.first_reply_at is not None]
    waiting = [
        max(as_of - row.created_at, timedelta(0))
        for row in rows
        if row.first_reply_at is None and row.ended_at is None
    ]
    return {
        **_durations(waits),
        "within_promise": _share(sum(wait <= promise for wait in waits), len(waits)),
        "promise_s": promise.total_seconds(),
        "waiting_now": len(waiting),
        "oldest_waiting_s": max(waiting).total_seconds() if waiting else None,
        "unanswered_over_promise": sum(age > promise for age in waiting),
    }


def _resolution(rows: list[Any]) -> dict[str, Any]:
    ended = [row for row in rows if row.ended_at is not None]
    outcomes = Counter(dict.fromkeys(OUTCOMES, 0))
    outcomes.update(row.outcome or "unknown" for row in ended)
    return {
        **_durations([row.ended_at - row.created_at for row in ended]),
        "by_outcome": dict(outcomes),
    }


def _queue(rows: list[Any]) -> dict[str, Any]:
    outcomes = Counter(row.outcome for row in rows)
    return {
        "abandoned": outcomes["abandoned"],
        "left_queue": outcomes["left_queue"],
        "callbacks": sum(bool((row.slots or {}).get(CALLBACK_SLOT)) for row in rows),
        "abandonment_rate": _share(outcomes["abandoned"], len(rows)),
    }


def _csat(scores: list[int | None]) -> dict[str, Any]:
    answered = [score for score in scores if score in SCORES]
    average = round(sum(answered) / len(answered), 1) if answered else None
    counts = Counter(answered)
    return {
        "asked": len(scores),
        "answered": len(answered),
        "response_rate": _share(len(answered), len(scores)),
        "average": average,
        "distribution": {str(score): counts[score] for score in SCORES},
    }


# --- helpers ---------------------------------------------------------------------------------


def _durations(deltas: list[timedelta]) -> dict[str, Any]:
    seconds = [delta.total_seconds() for delta in deltas]
    return {"count": len(seconds), "p50_s": percentile(seconds, 50), "p90_s": percentile(seconds, 90)}


def _days(since: datetime, until: datetime, zone: ZoneInfo) -> list[date]:
    """Calendar days in ``zone`` touched by ``[since, until)``."""
    if until <= since:
        return []
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()
