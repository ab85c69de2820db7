"""Learning from live traffic: what customers asked that the bot did not handle, and topic trends.

Customer messages are copied, masked, from Rasa's tracker store (its ``events`` table) into our
``nlu_turns`` table, incrementally: ``insights_cursor`` remembers the last tracker event read.
On top of that copy:

* **unhandled messages**: not understood (``nlu_fallback``), out of scope, or among the last
  customer turns before an escalation that says the bot failed (``misunderstood``,
  ``not_helped``, ``angry_repetition``), grouped by similarity per language, which an editor
  assigns to an intent (or dismisses) and exports as Rasa NLU training data;
* **topic trends**: messages per topic, language and channel per day;
* **surge alerts**: a business topic whose messages in a window reach ``SURGE_FACTOR`` times
  their usual number is reported to its department (``handoff/departments.yml``), through the
  ``notify`` callback and ``SURGE_WEBHOOK_URL``.

Neither Rasa nor anything heavy is imported here (the gateway loads this module); scikit-learn
is imported only when messages are grouped.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError

from bot.core import taxonomy
from bot.core.db import (
    NLU_TURN_STATUSES,
    conversations,
    handoffs,
    insights_cursor,
    nlu_turns,
    topic_alerts,
    utcnow,
)
from bot.core.masking import mask_text
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES, Settings
from bot.core.taxonomy import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, topic_of

log = logging.getLogger(__name__)

TOPICS = (*taxonomy.TOPICS, "not_understood", "out_of_scope", "smalltalk")
ALERTING_TOPICS = (*taxonomy.TOPICS, "not_understood")
REASONS = ("not_understood", "out_of_scope", "unresolved")
UNRESOLVED_HANDOFFS = ("misunderstood", "not_helped", "angry_repetition")
UNRESOLVED_TURNS = 3  # customer turns before such an escalation that count as unresolved
CURSOR_NAME = "rasa_tracker"
BATCH_SIZE = 500
# PostgreSQL hands out event ids before commit, so an event can appear below the cursor after a
# later one was read. Each sync re-reads this many ids below the cursor for such late commits.
LATE_COMMIT_IDS = 2000
SIMILARITY = 0.5  # cosine similarity of character n-grams: typo'd variants of one question
LINKAGE_LIMIT = 4000  # distinct texts per language grouped by average linkage; greedy above
TOP_INTENTS = 3
DEFAULT_DEPARTMENT = "Customer care"
WEBHOOK_TIMEOUT_S = 5.0
ID_CHUNK = 500

# Rasa's SQLTrackerStore table, just the columns read here (bot.rasa.stores owns the real one).
_tracker_metadata = MetaData()
tracker_events = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("data", Text),
)


class InsightsError(ValueError):
    """An editor's request that cannot be done (unknown intent, nothing selected, ...)."""


@dataclass(frozen=True)
class TrafficItem:
    id: int
    conversation_id: str
    channel: str
    language: str
    text: str
    intent: str | None
    confidence: float | None
    suggestion: str | None
    reason: str  # not_understood | out_of_scope | unresolved
    created_at: datetime
    status: str
    assigned_intent: str | None


@dataclass(frozen=True)
class TrafficGroup:
    key: str  # f"{language}-{smallest item id}": stable while the group keeps its first item
    language: str
    label: str  # the most central text of the group
    items: list[TrafficItem]  # newest first
    suggestion: str | None  # the most common suggestion of the items
    reasons: dict[str, int]


@dataclass(frozen=True)
class TrendRow:
    day: date
    topic: str
    language: str
    channel: str
    count: int


@dataclass(frozen=True)
class Alert:
    id: int
    topic: str
    department: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline: float
    top_intents: list[str]
    created_at: datetime
    notified: bool = False  # the department's webhook (or, without one, the callback) took it


@dataclass(frozen=True)
class Trends:
    days: list[date]
    rows: list[TrendRow]
    alerts: list[Alert]

    def per_topic(self) -> dict[str, list[int]]:
        """Messages per topic and day (in the order of ``days``), over languages and channels;
        the known topics first, in TOPICS order, then any other in the rows."""
        topics = list(TOPICS) + sorted({row.topic for row in self.rows} - set(TOPICS))
        position = {day: i for i, day in enumerate(self.days)}
        series = {topic: [0] * len(self.days) for topic in topics}
        for row in self.rows:
            index = position.get(row.day)
            if index is not None:
                series[row.topic][index] += row.count
        return series


def open_tracker_engine(url: str) -> Engine:
    """An engine on Rasa's tracker store that reads it as it is.

    Not :func:`bot.core.db.create_db_engine`: its SQLite pragmas would switch Rasa's file to WAL
    from outside. SQLite waits up to 10 s for Rasa's write lock instead of failing.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, future=True, connect_args={"timeout": 10, "check_same_thread": False})
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=2, max_overflow=2)


class Insights:
    """Unhandled messages, topic trends and surge alerts, on our database and Rasa's tracker store.

    ``tracker_engine`` defaults to :func:`open_tracker_engine` on ``settings.rasa_tracker_url``
    (opened on the first sync, disposed by :meth:`close`). Methods are blocking: call them from a
    thread pool in async code. ``sync`` may run in several threads and processes at once.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        tracker_engine: Engine | None = None,
        *,
        project_root: Path = PROJECT_ROOT,
        notify: Callable[[Alert], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tracker_engine = tracker_engine
        self._owns_tracker_engine = False
        self.project_root = Path(project_root)
        self.notify = notify
        self._sync_lock = threading.Lock()
        self._skipped: set[int] = set()  # tracker events below the cursor that hold no message

    def close(self) -> None:
        """Dispose the tracker engine if this object opened it."""
        if self._owns_tracker_engine and self.tracker_engine is not None:
            self.tracker_engine.dispose()
            self.tracker_engine = None
            self._owns_tracker_engine = False

    # -- ingest --------------------------------------------------------------------------------
    def sync(self) -> int:
        """Copy the tracker's new customer messages; returns how many were added.

        Returns 0 while Rasa has not created its tracker database or ``events`` table yet.
        """
        with self._sync_lock:
            tracker = self._tracker()
            if tracker is None or not _has_events_table(tracker):
                return 0
            added = self._sync_late(tracker)
            while True:
                cursor = self._cursor()
                rows = _read_events(tracker, tracker_events.c.id > cursor)
                if not rows:
                    return added
                stored = self._store(rows, (cursor, rows[-1].id))
                if stored is None:  # another process moved the cursor: read again from there
                    continue
                added += stored
                if len(rows) < BATCH_SIZE:
                    return added

    def _tracker(self) -> Engine | None:
        if self.tracker_engine is None:
            if _missing_sqlite_file(self.settings.rasa_tracker_url):
                return None  # do not create Rasa's file: Rasa creates it with its tables
            self.tracker_engine = open_tracker_engine(self.settings.rasa_tracker_url)
            self._owns_tracker_engine = True
        if _missing_sqlite_file(self.tracker_engine.url):
            return None
        return self.tracker_engine

    def _sync_late(self, tracker: Engine) -> int:
        """Events committed after a later event was read (see LATE_COMMIT_IDS): their ids are
        compared first, so only the missing events are read in full."""
        cursor = self._cursor()
        low = max(0, cursor - LATE_COMMIT_IDS)
        self._skipped = {i for i in self._skipped if i > low}
        if cursor == 0:
            return 0
        in_range = (tracker_events.c.id > low) & (tracker_events.c.id <= cursor)
        with tracker.connect() as conn:
            ids = set(conn.execute(select(tracker_events.c.id).where(_USER_EVENT, in_range)).scalars())
        with self.engine.connect() as conn:
            ids -= set(
                conn.execute(
                    select(nlu_turns.c.source_event_id).where(
                        nlu_turns.c.source_event_id > low, nlu_turns.c.source_event_id <= cursor
                    )
                ).scalars()
            )
        ids -= self._skipped
        if not ids:
            return 0
        rows: list[Any] = []
        for chunk in _chunks(sorted(ids)):
            rows += _read_events(tracker, tracker_events.c.id.in_(chunk), limit=None)
        return self._store(rows, None) or 0

    def _cursor(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(insights_cursor.c.last_event_id).where(insights_cursor.c.name == CURSOR_NAME)
            ).scalar()
        return int(value or 0)

    def _store(self, rows: Sequence[Any], advance: tuple[int, int] | None) -> int | None:
        """Insert the turns of ``rows`` and move the cursor ``advance=(from, to)`` in one
        transaction; None when another process got there first (nothing is changed then)."""
        with self.engine.connect() as conn:
            known = _conversation_info(conn, {r.sender_id for r in rows})
        turns = []
        for row in rows:  # masked before the transaction: it holds no lock meanwhile
            try:
                turn = self._turn(row, known)
            except (TypeError, ValueError, OverflowError) as exc:  # one odd event must not block the rest
                log.warning("tracker event %s skipped: %s", row.id, exc)
                turn = None
            if turn is None:
                self._skipped.add(row.id)
            else:
                turns.append(turn)
        ids = [t["source_event_id"] for t in turns]
        try:
            with self.engine.begin() as conn:
                existing = set()
                for chunk in _chunks(ids):
                    existing |= set(
                        conn.execute(
                            select(nlu_turns.c.source_event_id).where(nlu_turns.c.source_event_id.in_(chunk))
                        ).scalars()
                    )
                fresh = [t for t in turns if t["source_event_id"] not in existing]
                if fresh:
                    conn.execute(insert(nlu_turns), fresh)
                if advance is not None and not _move_cursor(conn, *advance):
                    raise _CursorMoved
        except _CursorMoved:
            return None
        except IntegrityError:  # a concurrent sync inserted some of them: fine if it moved on
            if advance is None or self._cursor() != advance[0]:
                return None
            raise
        return len(fresh)

    def _turn(self, row: Any, known: dict[str, tuple[str, str]]) -> dict[str, Any] | None:
        """The ``nlu_turns`` row of a tracker ``user`` event; None for payloads and empty texts."""
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            return None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
            return None
        parse = _mapping(data.get("parse_data"))
        metadata = _mapping(data.get("metadata")) or _mapping(parse.get("metadata"))
        # A message without any intent was not understood either.
        intent = str(_mapping(parse.get("intent")).get("name") or row.intent_name or FALLBACK_INTENT)[:64]
        conversation_id = str(row.sender_id)[:36]
        channel, language = known.get(conversation_id, (None, None))
        timestamp = row.timestamp if row.timestamp is not None else data.get("timestamp")
        return {
            "source_event_id": row.id,
            "conversation_id": conversation_id,
            "channel": str(metadata.get("channel") or channel or "unknown")[:32],
            "language": _language(metadata.get("language"), language, self.settings.default_language),
            "text": mask_text(text.strip().replace("\x00", "")),  # PostgreSQL text holds no NUL
            "intent": intent,
            "confidence": _number(_mapping(parse.get("intent")).get("confidence")),
            "suggestion": _suggestion(parse.get("intent_ranking")),
            "topic": topic_of(intent),
            "created_at": datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc),
            "status": "new",
        }

    # -- unhandled messages --------------------------------------------------------------------
    def intents(self) -> list[str]:
        """The intents an editor may assign messages to: those of the project's domain.yml."""
        from bot.core.project import Project

        try:
            return sorted({intent.value for intent in Project(self.project_root).intents()})
        except (OSError, yaml.YAMLError) as exc:
            raise InsightsError(f"cannot read the intents of domain.yml: {exc}") from exc

    def unhandled(
        self,
        *,
        since: datetime | None = None,
        language: str | None = None,
        status: str = "new",
        limit: int = 2000,
    ) -> list[TrafficGroup]:
        """The newest ``limit`` messages that need an editor, grouped; biggest groups first."""
        return group_items(self.unhandled_items(since=since, language=language, status=status, limit=limit))

    def unhandled_items(
        self,
        *,
        since: datetime | None = None,
        language: str | None = None,
        status: str = "new",
        limit: int = 2000,
    ) -> list[TrafficItem]:
        """The messages of :meth:`unhandled`, newest first, without grouping."""
        if status not in NLU_TURN_STATUSES:
            raise InsightsError(f"status must be one of {', '.join(NLU_TURN_STATUSES)}, not {status!r}")
        filters = [nlu_turns.c.status == status]
        if since is not None:
            filters.append(nlu_turns.c.created_at >= since)
        if language is not None:
            filters.append(nlu_turns.c.language == language)
        with self.engine.connect() as conn:
            unresolved = _unresolved_turn_ids(conn, since)
            rows = list(
                conn.execute(
                    select(nlu_turns)
                    .where(*filters, nlu_turns.c.intent.in_((FALLBACK_INTENT, OUT_OF_SCOPE_INTENT)))
                    .order_by(nlu_turns.c.created_at.desc(), nlu_turns.c.id.desc())
                    .limit(limit)
                )
            )
            listed = {row.id for row in rows}
            for chunk in _chunks(sorted(unresolved - listed)):
                rows += conn.execute(select(nlu_turns).where(*filters, nlu_turns.c.id.in_(chunk))).all()
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [_item(row) for row in rows[:limit]]

    def assign(self, item_ids: list[int], intent: str, by: str) -> int:
        """Assign new or assigned messages to a domain intent; returns how many changed."""
        ids = _ids(item_ids)
        if intent not in self.intents():
            raise InsightsError(f"unknown intent {intent!r}: choose one of the intents of domain.yml")
        return self._update(ids, ("new", "assigned"), _decision("assigned", intent, by))

    def dismiss(self, item_ids: list[int], by: str) -> int:
        """Set new or assigned messages aside (not training material); returns how many changed."""
        return self._update(_ids(item_ids), ("new", "assigned"), _decision("dismissed", None, by))

    def reopen(self, item_ids: list[int], by: str) -> int:
        """Put assigned or dismissed messages back to new (an editor's mistake); exported stay."""
        return self._update(_ids(item_ids), ("assigned", "dismissed"), _decision("new", None, by))

    def _update(self, ids: list[int], statuses: tuple[str, ...], values: dict[str, Any]) -> int:
        changed = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(ids):
                result = conn.execute(
                    update(nlu_turns)
                    .where(nlu_turns.c.id.in_(chunk), nlu_turns.c.status.in_(statuses))
                    .values(**values)
                )
                changed += result.rowcount
        return changed

    # -- export --------------------------------------------------------------------------------
    def pending_exports(self, language: str | None = None) -> list[TrafficItem]:
        """Assigned messages not exported yet, oldest first."""
        query = select(nlu_turns).where(nlu_turns.c.status == "assigned")
        if language is not None:
            query = query.where(nlu_turns.c.language == language)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(nlu_turns.c.id)).all()
        return [_item(row) for row in rows]

    def mark_exported(self, item_ids: list[int]) -> int:
        """Mark assigned messages as exported (they are in the training data now)."""
        if not item_ids:
            return 0
        return self._update(list(item_ids), ("assigned",), {"status": "exported", "exported_at": utcnow()})

    def training_examples(self, items: Iterable[TrafficItem]) -> dict[str, dict[str, list[str]]]:
        """language -> intent -> example texts of ``items``, without the examples the project's
        training data already has under that intent (or that appear twice)."""
        from bot.core.project import Project, normalise

        project = Project(self.project_root)
        known: dict[str, set[tuple[str, str]]] = {}
        found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for item in items:
            if item.assigned_intent is None:
                continue
            if item.language not in known:
                examples = project.examples(item.language)
                known[item.language] = {(e.intent, normalise(e.value)) for e in examples}
            text = example_text(item.text)
            key = (item.assigned_intent, normalise(text))
            if text and key not in known[item.language]:
                known[item.language].add(key)
                found[item.language][item.assigned_intent].append(text)
        return {lang: dict(by_intent) for lang, by_intent in found.items()}

    def export(self, *, language: str | None = None, mark: bool = True) -> dict[str, str]:
        """language -> Rasa NLU YAML of the assigned messages not exported yet.

        With ``mark`` they become ``exported``, so the next export holds only newer ones.
        Messages the training data already has under their intent are left out (and marked).
        """
        items = self.pending_exports(language)
        files = {lang: nlu_yaml(examples) for lang, examples in self.training_examples(items).items()}
        if mark:
            self.mark_exported([item.id for item in items])
        return dict(sorted(files.items()))

    # -- trends and surges ---------------------------------------------------------------------
    def trends(
        self,
        *,
        days: int = 14,
        now: datetime | None = None,
        language: str | None = None,
        channel: str | None = None,
    ) -> Trends:
        """Messages per day (UTC), topic, language and channel over the last ``days`` days
        (today included), and the surge alerts of that period, newest first."""
        now = now or utcnow()
        today = now.astimezone(timezone.utc).date()
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
                start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
                counts = conn.execute(
                    select(*keys, func.count())
                    .where(*filters, nlu_turns.c.created_at >= start)
                    .where(nlu_turns.c.created_at < start + timedelta(days=1))
                    .group_by(*keys)
                )
                rows += [TrendRow(day, t, lang, ch, n) for t, lang, ch, n in counts]
            first = datetime(day_list[0].year, day_list[0].month, day_list[0].day, tzinfo=timezone.utc)
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
        the history there is when it is shorter (a new installation does not alert on everything).
        """
        settings = self.settings
        with self.engine.connect() as conn:
            counts = _topic_counts(conn, start, start + length)
            history_start = start - timedelta(days=settings.surge_baseline_days)
            earliest = conn.execute(select(func.min(nlu_turns.c.created_at))).scalar()
            if earliest is not None:
                history_start = max(history_start, earliest)
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


# -- helpers ----------------------------------------------------------------------------------


class _CursorMoved(Exception):
    pass


def _missing_sqlite_file(url: str | URL) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    return not parsed.database or not Path(parsed.database).is_file()


def _has_events_table(engine: Engine) -> bool:
    return inspect(engine).has_table(tracker_events.name)


_USER_EVENT = tracker_events.c.type_name == "user"


def _read_events(tracker: Engine, condition: Any, limit: int | None = BATCH_SIZE) -> list[Any]:
    query = select(tracker_events).where(_USER_EVENT, condition).order_by(tracker_events.c.id).limit(limit)
    with tracker.connect() as conn:
        return list(conn.execute(query))


def _move_cursor(conn: Connection, old: int, new: int) -> bool:
    """Move the cursor from ``old`` to ``new``; False when it is no longer at ``old``."""
    if old == 0:
        exists = conn.execute(
            select(insights_cursor.c.last_event_id).where(insights_cursor.c.name == CURSOR_NAME)
        ).first()
        if exists is None:
            conn.execute(insert(insights_cursor).values(name=CURSOR_NAME, last_event_id=new))
            return True
    result = conn.execute(
        update(insights_cursor)
        .where(insights_cursor.c.name == CURSOR_NAME, insights_cursor.c.last_event_id == old)
        .values(last_event_id=new)
    )
    return result.rowcount == 1


def _conversation_info(conn: Connection, ids: set[str]) -> dict[str, tuple[str, str]]:
    """conversation id -> (channel, language) of the conversations we know."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted({str(i)[:36] for i in ids})):
        query = select(conversations.c.id, conversations.c.channel, conversations.c.language)
        for row in conn.execute(query.where(conversations.c.id.in_(chunk))):
            found[row.id] = (row.channel, row.language)
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _language(*candidates: Any) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate in SUPPORTED_LANGUAGES:
            return candidate
    return SUPPORTED_LANGUAGES[0]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _suggestion(ranking: Any) -> str | None:
    """The best-ranked intent that is not the fallback: what the model would have guessed."""
    entries = ranking if isinstance(ranking, list) else []
    candidates = [
        r for r in entries if isinstance(r, dict) and r.get("name") and r.get("name") != FALLBACK_INTENT
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: _number(r.get("confidence")) or 0.0)
    return str(best["name"])[:64]


def _chunks(values: Sequence[Any], size: int = ID_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _decision(status: str, intent: str | None, by: str) -> dict[str, Any]:
    return {"status": status, "assigned_intent": intent, "assigned_by": by[:64], "assigned_at": utcnow()}


def _ids(item_ids: Iterable[Any]) -> list[int]:
    ids = sorted({int(i) for i in item_ids or []})
    if not ids:
        raise InsightsError("no messages selected")
    return ids


def _unresolved_turn_ids(conn: Connection, since: datetime | None) -> set[int]:
    """The last UNRESOLVED_TURNS customer turns before each escalation that says the bot failed."""
    query = select(handoffs.c.conversation_id, handoffs.c.created_at).where(
        handoffs.c.reason.in_(UNRESOLVED_HANDOFFS)
    )
    if since is not None:
        query = query.where(handoffs.c.created_at >= since)
    escalations = conn.execute(query).all()
    conversation_ids = sorted({row.conversation_id for row in escalations})
    turns: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for chunk in _chunks(conversation_ids):
        rows = conn.execute(
            select(nlu_turns.c.conversation_id, nlu_turns.c.created_at, nlu_turns.c.id).where(
                nlu_turns.c.conversation_id.in_(chunk)
            )
        )
        for row in rows:
            turns[row.conversation_id].append((row.created_at, row.id))
    found: set[int] = set()
    for escalation in escalations:
        before = sorted(t for t in turns.get(escalation.conversation_id, []) if t[0] < escalation.created_at)
        found |= {turn_id for _at, turn_id in before[-UNRESOLVED_TURNS:]}
    return found


def _item(row: Any) -> TrafficItem:
    """A message for an editor. Other intents than the fallback and out_of_scope only reach an
    editor as the last turns before a failed conversation's escalation: ``unresolved``."""
    if row.intent == FALLBACK_INTENT:
        reason = "not_understood"
    elif row.intent == OUT_OF_SCOPE_INTENT:
        reason = "out_of_scope"
    else:
        reason = "unresolved"
    return TrafficItem(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        text=row.text,
        intent=row.intent,
        confidence=row.confidence,
        suggestion=row.suggestion,
        reason=reason,
        created_at=row.created_at,
        status=row.status,
        assigned_intent=row.assigned_intent,
    )


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


# -- grouping ---------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def _normal(text: str) -> str:
    """What makes two messages the same question: lowercase words, any number as ``0``
    (amounts, dates and masked digits vary, the question does not), no punctuation."""
    words = _NOT_WORD.sub(" ", _DIGITS.sub("0", text.casefold())).strip()
    return words or text.strip().casefold()


def group_items(items: Sequence[TrafficItem], threshold: float = SIMILARITY) -> list[TrafficGroup]:
    """Groups of similar messages per language, biggest first (then newest)."""
    by_language: dict[str, list[TrafficItem]] = defaultdict(list)
    for item in items:
        by_language[item.language].append(item)
    groups = []
    for language, members in by_language.items():
        texts = sorted({_normal(item.text) for item in members})
        weights = Counter(_normal(item.text) for item in members)
        clusters, centrality = cluster_texts(texts, threshold, [weights[t] for t in texts])
        index = {text: n for n, text in enumerate(texts)}
        for cluster in clusters:
            chosen = set(cluster)
            group_items_ = [item for item in members if index[_normal(item.text)] in chosen]
            central = max(cluster, key=lambda n: (centrality[n], weights[texts[n]], -n))
            groups.append(_group(language, group_items_, texts[central]))
    return sorted(groups, key=lambda g: (-len(g.items), -g.items[0].created_at.timestamp(), g.key))


def _group(language: str, items: list[TrafficItem], central: str) -> TrafficGroup:
    items = sorted(items, key=lambda i: (i.created_at, i.id), reverse=True)
    label = next(item.text for item in items if _normal(item.text) == central)
    suggestions = Counter(item.suggestion for item in items if item.suggestion)
    suggestion = min(suggestions, key=lambda s: (-suggestions[s], s)) if suggestions else None
    return TrafficGroup(
        key=f"{language}-{min(item.id for item in items)}",
        language=language,
        label=label,
        items=items,
        suggestion=suggestion,
        reasons=dict(sorted(Counter(item.reason for item in items).items())),
    )


def cluster_texts(
    texts: Sequence[str],
    threshold: float = SIMILARITY,
    weights: Sequence[int] | None = None,
    linkage_limit: int = LINKAGE_LIMIT,
) -> tuple[list[list[int]], list[float]]:
    """Clusters of similar texts (lists of indexes, in order) and each text's centrality (its
    weighted mean similarity to the other texts of its cluster).

    TF-IDF over character n-grams within word boundaries copes with typos and missing accents;
    average linkage cut at ``1 - threshold`` cosine distance, deterministic. Above
    ``linkage_limit`` texts (its matrix grows with the square), a greedy pass: each text joins
    the first earlier leader at least ``threshold`` similar, else leads a new cluster.
    """
    n = len(texts)
    weights = list(weights) if weights is not None else [1] * n
    if n <= 1:
        return [list(range(n))] if n else [], [1.0] * n
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), strip_accents="unicode", dtype=np.float32
        )
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram at all (texts of one character): every text on its own
        return [[i] for i in range(n)], [1.0] * n
    cluster = _greedy_labels if n > linkage_limit else _linkage_labels
    labels = cluster(matrix, threshold)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        clusters[int(label)].append(i)
    ordered = sorted(clusters.values(), key=lambda members: members[0])
    return ordered, _centrality(matrix, ordered, np.asarray(weights, dtype=np.float32), n)


def _linkage_labels(matrix: Any, threshold: float) -> Any:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    similarity = (matrix @ matrix.T).toarray()  # rows are L2-normalised: dot product = cosine
    distance = 1.0 - np.clip(similarity, 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance")


def _greedy_labels(matrix: Any, threshold: float, block: int = 512) -> Any:
    """Leader clustering in blocks of rows: each row joins its most similar leader when that is
    at least ``threshold`` similar, else becomes a leader. Memory grows with the leaders only."""
    import numpy as np

    n = matrix.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    leaders: list[int] = []
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = matrix[start:stop]
        earlier = (rows @ matrix[leaders].T).toarray() if leaders else np.zeros((stop - start, 0))
        within = (rows @ rows.T).toarray()
        new: list[int] = []  # offsets of the leaders found in this block
        for offset in range(stop - start):
            candidates = np.concatenate([earlier[offset], within[offset, new]])
            best = int(np.argmax(candidates)) if len(candidates) else -1
            if best >= 0 and candidates[best] >= threshold:  # leaders are labelled 0, 1, 2...
                labels[start + offset] = best
                continue
            labels[start + offset] = len(leaders)
            leaders.append(start + offset)
            new.append(offset)
    return labels


def _centrality(matrix: Any, clusters: list[list[int]], weights: Any, n: int) -> list[float]:
    """Each text's similarity to the weighted mean of its cluster (its centroid)."""
    import numpy as np

    centrality = [1.0] * n
    for members in clusters:
        if len(members) < 2:
            continue
        sub = matrix[members]
        member_weights = weights[members]
        centroid = (sub.T @ member_weights) / max(float(member_weights.sum()), 1.0)
        scores = np.asarray(sub @ centroid).ravel()
        for index, score in zip(members, scores, strict=True):
            centrality[index] = float(np.round(score, 6))
    return centrality


# -- training data ----------------------------------------------------------------------------

_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ANNOTATION_START = re.compile(r"\](?=[(\[{])")


def example_text(text: str) -> str:
    """A customer message as one line of a Rasa ``examples: |`` block: one line, printable
    characters only, and no ``[text](entity)`` Rasa would read as an entity annotation."""
    text = " ".join(_NON_PRINTABLE.sub(" ", text).split())
    return _ANNOTATION_START.sub("] ", text)


def nlu_yaml(examples: dict[str, list[str]]) -> str:
    """Rasa 3.x NLU training data: a block per intent (sorted), examples in the given order."""
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples[intent]]
    return "\n".join(lines) + "\n"
