"""Topic trends, and surge alerts reported to the topic's department (``handoff/departments.yml``)
through the ``notify`` callback and ``SURGE_WEBHOOK_URL``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.core import taxonomy
from bot.core.db import nlu_turns, topic_alerts, utcnow
from bot.core.settings import Settings
from bot.insights.model import TOPICS, Alert, TrendRow, Trends

log = logging.getLogger(__name__)

ALERTING_TOPICS = (*taxonomy.TOPICS, "not_understood")
# No alert before the copied traffic reaches this many windows back: without a baseline every
# topic of a new installation would "surge" at its first busy window (12 h with hour windows).
BASELINE_MIN_WINDOWS = 12
TOP_INTENTS = 3
DEFAULT_DEPARTMENT = "Customer care"
WEBHOOK_TIMEOUT_S = 5.0


class SurgesMixin:
    """The trends and surge alerts of :class:`bot.insights.Insights`."""

    settings: Settings
    engine: Engine
    project_root: Path
    notify: Callable[[Alert], None] | None

    def trends(
        self,
        *,
        days: int = 14,
        now: datetime | None = None,
        language: str | None = None,
        channel: str | None = None,
    ) -> Trends:
        """Messages per local day (TIME_ZONE), topic, language and channel over the last ``days``
        days (today included), and the surge alerts of that period, newest first."""
        now = now or utcnow()
        zone = self.settings.time_zone
        today = now.astimezone(zone).date()
        day_list = [today - timedelta(days=n) for n in range(max(1, days) - 1, -1, -1)]
        filters = []
        if language is not None:
            filters.append(nlu_turns.c.language == language)
        if channel is not None:
            filters.append(nlu_turns.c.channel == channel)
        keys = (nlu_turns.c.topic, nlu_turns.c.language, nlu_turns.c.channel)
        rows: list[TrendRow] = []
        with self.engine.connect() as conn:
            for day in day_list:  # a query per day: portable (no date functions) and indexed
                start, end = _local_midnight(day, zone), _local_midnight(day + timedelta(days=1), zone)
                counts = conn.execute(
                    select(*keys, func.count())
                    .where(*filters, nlu_turns.c.created_at >= start)
                    .where(nlu_turns.c.created_at < end)
                    .group_by(*keys)
                )
                rows += [TrendRow(day, t, lang, ch, n) for t, lang, ch, n in counts]
            first = _local_midnight(day_list[0], zone)
            alerts = conn.execute(
                select(topic_alerts)
                .where(topic_alerts.c.window_start >= first)
                .order_by(topic_alerts.c.window_start.desc(), topic_alerts.c.id.desc())
            ).all()
        rows.sort(key=lambda r: (r.day, _topic_rank(r.topic), r.language, r.channel))
        return Trends(day_list, rows, [_alert(row) for row in alerts])

    def check_surges(self, now: datetime | None = None) -> list[Alert]:
        """Create the alerts of topics surging now; returns only the new ones, after notifying.

        The current window (floored to its length) and the previous one, now complete, are
        checked; the database's unique key keeps one alert per topic and window.
        """
        now = now or utcnow()
        length = timedelta(minutes=self.settings.surge_window_minutes)
        current = _floor(now, length)
        self._retry_webhooks(current - length)
        created = []
        for start in (current - length, current):
            for topic, count, baseline in self._surging(start, length):
                alert = self._create_alert(topic, start, start + length, count, baseline, now)
                if alert is not None:
                    created.append(self._deliver(alert))
        return created

    def _surging(self, start: datetime, length: timedelta) -> list[tuple[str, int, float]]:
        """(topic, count, baseline) of the business topics surging in the window from ``start``.

        The baseline is the mean count per window over the SURGE_BASELINE_DAYS before it, or over
        the history there is when it is shorter; with less than BASELINE_MIN_WINDOWS windows of
        history there is no baseline yet and nothing surges (a new installation does not alert on
        everything).
        """
        settings = self.settings
        with self.engine.connect() as conn:
            earliest = conn.execute(select(func.min(nlu_turns.c.created_at))).scalar()
            if earliest is None or start - earliest < BASELINE_MIN_WINDOWS * length:
                return []
            counts = _topic_counts(conn, start, start + length)
            history_start = max(start - timedelta(days=settings.surge_baseline_days), earliest)
            history = _topic_counts(conn, history_start, start)
        windows = (start - history_start) / length
        surging = []
        for topic in ALERTING_TOPICS:
            count = counts.get(topic, 0)
            baseline = history.get(topic, 0) / max(windows, 1.0) if windows > 0 else 0.0
            if count >= settings.surge_min_messages and count >= settings.surge_factor * max(baseline, 1.0):
                surging.append((topic, count, round(baseline, 2)))
        return surging

    def _create_alert(
        self, topic: str, start: datetime, end: datetime, count: int, baseline: float, now: datetime
    ) -> Alert | None:
        """The new alert, or None when this topic already has one for this window."""
        same = (topic_alerts.c.topic == topic) & (topic_alerts.c.window_start == start)
        with self.engine.connect() as conn:
            if conn.execute(select(topic_alerts.c.id).where(same)).first():
                return None
            top = _top_intents(conn, topic, start, end)
        values = {
            "topic": topic,
            "department": self.departments().get(topic, DEFAULT_DEPARTMENT),
            "window_start": start,
            "window_end": end,
            "count": count,
            "baseline": baseline,
            "top_intents": top,
            "created_at": now,
            "notified": False,
        }
        try:
            with self.engine.begin() as conn:
                alert_id = conn.execute(insert(topic_alerts).values(**values)).inserted_primary_key[0]
        except IntegrityError:  # another process created it at the same moment
            return None
        return _alert({**values, "id": alert_id})

    def departments(self) -> dict[str, str]:
        """topic -> department, from handoff/departments.yml of the project."""
        path = self.project_root / "handoff" / "departments.yml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("cannot read %s: %s", path, exc)
            return {}
        return {
            str(topic): str(spec["department"])
            for topic, spec in data.items()
            if isinstance(spec, dict) and spec.get("department")
        }

    def _deliver(self, alert: Alert) -> Alert:
        """Log, call ``notify`` and post to the webhook; never raises."""
        log.warning(
            "surge of %s messages: %d in %s-%s (usually %.1f), reported to %s; top intents: %s",
            alert.topic,
            alert.count,
            alert.window_start.strftime("%Y-%m-%d %H:%M"),
            alert.window_end.strftime("%H:%M"),
            alert.baseline,
            alert.department,
            ", ".join(alert.top_intents) or "-",
        )
        delivered = False
        if self.notify is not None:
            try:
                self.notify(alert)
                delivered = True
            except Exception as exc:
                log.warning("surge alert callback failed: %s", exc)
        if self.settings.surge_webhook_url:
            delivered = self._post_webhook(alert)
        if delivered:
            self._set_notified(alert.id)
        return replace(alert, notified=delivered)

    def _post_webhook(self, alert: Alert) -> bool:
        url = self.settings.surge_webhook_url
        if not url:
            return False
        try:
            response = httpx.post(url, json=alert_payload(alert), timeout=WEBHOOK_TIMEOUT_S)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:  # the URL is not logged: webhook URLs hold a secret
            log.warning("surge alert %d refused by the webhook: HTTP %d", alert.id, exc.response.status_code)
            return False
        except httpx.HTTPError as exc:
            log.warning("surge alert %d not delivered to the webhook: %s", alert.id, type(exc).__name__)
            return False
        return True

    def _retry_webhooks(self, since: datetime) -> None:
        """Alerts of the windows just checked whose webhook post failed get another try."""
        if not self.settings.surge_webhook_url:
            return
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(topic_alerts).where(
                    topic_alerts.c.notified.is_(False), topic_alerts.c.window_start >= since
                )
            ).all()
        for row in rows:
            alert = _alert(row)
            if self._post_webhook(alert):
                self._set_notified(alert.id)

    def _set_notified(self, alert_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(topic_alerts).where(topic_alerts.c.id == alert_id).values(notified=True))


def _topic_counts(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    if end <= start:
        return {}
    rows = conn.execute(
        select(nlu_turns.c.topic, func.count())
        .where(nlu_turns.c.created_at >= start, nlu_turns.c.created_at < end)
        .group_by(nlu_turns.c.topic)
    )
    return {topic: count for topic, count in rows}


def _top_intents(conn: Connection, topic: str, start: datetime, end: datetime) -> list[str]:
    count = func.count().label("n")
    rows = conn.execute(
        select(nlu_turns.c.intent, count)
        .where(nlu_turns.c.topic == topic, nlu_turns.c.created_at >= start, nlu_turns.c.created_at < end)
        .group_by(nlu_turns.c.intent)
        .order_by(count.desc(), nlu_turns.c.intent)
        .limit(TOP_INTENTS)
    )
    return [intent for intent, _n in rows if intent]


def _floor(moment: datetime, length: timedelta) -> datetime:
    seconds = int(length.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


def _topic_rank(topic: str) -> int:
    return TOPICS.index(topic) if topic in TOPICS else len(TOPICS)


def _alert(row: Any) -> Alert:
    get = row.get if isinstance(row, dict) else row._mapping.get
    return Alert(
        id=get("id"),
        topic=get("topic"),
        department=get("department"),
        window_start=get("window_start"),
        window_end=get("window_end"),
        count=get("count"),
        baseline=float(get("baseline") or 0.0),
        top_intents=list(get("top_intents") or []),
        created_at=get("created_at"),
        notified=bool(get("notified")),
    )


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON posted to SURGE_WEBHOOK_URL; ``text`` makes it readable in a chat webhook."""
    return {
        "type": "topic_surge",
        "id": alert.id,
        "topic": alert.topic,
        "department": alert.department,
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "count": alert.count,
        "baseline": alert.baseline,
        "top_intents": list(alert.top_intents),
        "created_at": alert.created_at.isoformat(),
        "text": (
            f"{alert.department}: {alert.count} customer messages about {alert.topic} between "
            f"{alert.window_start:%H:%M} and {alert.window_end:%H:%M} UTC (usually {alert.baseline:.1f}); "
            f"most asked: {', '.join(alert.top_intents) or '-'}"
        ),
    }


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of a calendar day in ``zone`` (23 or 25 hours long when the clocks change)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
