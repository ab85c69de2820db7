"""Business hours of the webcare team (handoff/hours.yml), in the configured time zone.

The zone is the TIME_ZONE setting (Europe/Brussels by default) wherever a repository is given it
(the gateway and the action server do): a different ``timezone`` in hours.yml, in the database
or sent by the admin screen is then ignored, with a warning in the log. Without it (scripts,
tests) the hours' own ``timezone`` counts, else the default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.db import business_hours, utcnow
from bot.core.settings import DEFAULT_TIME_ZONE

log = logging.getLogger(__name__)
HOURS_FILE = Path(__file__).resolve().parents[2] / "handoff" / "hours.yml"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NAMES = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
TOMORROW = {"nl": "morgen", "fr": "demain", "en": "tomorrow"}
TODAY = {"nl": "vandaag", "fr": "aujourd'hui", "en": "today"}
AT = {"nl": "om", "fr": "à", "en": "at"}


@dataclass(frozen=True)
class BusinessHours:
    timezone: ZoneInfo
    weekly: dict[int, tuple[time, time]]  # weekday (0 = Monday) -> open, close
    holidays: frozenset[date]

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        hours = self._hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, moment: datetime) -> datetime:
        """The next moment the team starts working (``moment`` itself never counts)."""
        local = moment.astimezone(self.timezone)
        for offset in range(0, 370):
            day = local.date() + timedelta(days=offset)
            hours = self._hours_on(day)
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=self.timezone)
            if opening > local:
                return opening
        raise ValueError("no opening hours within a year: check handoff/hours.yml")

    def _hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self.holidays:
            return None
        return self.weekly.get(day.weekday())


def describe_opening(opening: datetime, now: datetime, language: str) -> str:
    """'morgen om 08:00', 'lundi à 08:00', 'today at 08:00' in the customer's language."""
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    if days == 0:
        day = TODAY[language]
    elif days == 1:
        day = TOMORROW[language]
    elif days < 7:
        day = DAY_NAMES[language][opening.weekday()]
    else:
        day = opening.strftime("%d/%m")
    return f"{day} {AT[language]} {opening:%H:%M}"


class HoursError(ValueError):
    """Business hours that cannot be used (unknown day, closing before opening, bad date)."""


def parse_hours(
    data: dict[str, Any], source: str = "business hours", time_zone: ZoneInfo | None = None
) -> BusinessHours:
    """Business hours from their plain form (the YAML file's, or what the admin screen sends);
    ``time_zone`` (the TIME_ZONE setting) wins over the ``timezone`` they name."""
    weekly = {}
    for name, span in (data.get("weekly") or {}).items():
        if name not in DAYS or not isinstance(span, (list, tuple)) or len(span) != 2:
            raise HoursError(f"{source}: {name!r} needs a day name and [open, close]")
        try:
            opens, closes = (time.fromisoformat(str(v)) for v in span)
        except ValueError as exc:
            raise HoursError(f"{source}: {name} has a time that is not HH:MM") from exc
        if opens >= closes:
            raise HoursError(f"{source}: {name} closes before it opens")
        weekly[DAYS.index(name)] = (opens, closes)
    try:
        holidays = frozenset(
            d if isinstance(d, date) else date.fromisoformat(str(d).strip())
            for d in data.get("holidays") or []
        )
        named = str(data.get("timezone") or "").strip()
        zone = time_zone or ZoneInfo(named or DEFAULT_TIME_ZONE)
    except (ValueError, KeyError, OSError) as exc:
        raise HoursError(f"{source}: {exc}") from exc
    if time_zone is not None and named and named != str(time_zone):
        _warn_once(f"{source} names the time zone {named}; TIME_ZONE={time_zone} is used instead")
    if not weekly:
        raise HoursError(f"{source}: the team must be open on at least one day")
    return BusinessHours(zone, weekly, holidays)


def hours_spec(hours: BusinessHours) -> dict[str, Any]:
    """The plain form of business hours (JSON-serialisable), the inverse of :func:`parse_hours`."""
    return {
        "timezone": str(hours.timezone),
        "weekly": {DAYS[d]: [f"{o:%H:%M}", f"{c:%H:%M}"] for d, (o, c) in sorted(hours.weekly.items())},
        "holidays": sorted(d.isoformat() for d in hours.holidays),
    }


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Hours are read again every ``ttl_s``: say a thing once per process."""
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def load_hours(path: Path = HOURS_FILE, time_zone: ZoneInfo | None = None) -> BusinessHours:
    return parse_hours(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, str(path), time_zone)


@lru_cache(maxsize=1)
def default_hours() -> BusinessHours:
    return load_hours()


class HoursRepository:
    """The hours in force: the admin's last change (database), else handoff/hours.yml.

    Read often (every escalation) and changed rarely, so a reading is kept ``ttl_s`` seconds.
    ``time_zone`` is the TIME_ZONE setting: it wins over the zone the hours name.
    """

    def __init__(
        self,
        engine: Engine,
        ttl_s: float = 30.0,
        fallback: Path = HOURS_FILE,
        time_zone: ZoneInfo | None = None,
    ) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self.fallback = fallback
        self.time_zone = time_zone
        self._cached: tuple[float, BusinessHours] | None = None

    def current(self) -> BusinessHours:
        if self._cached and monotonic() - self._cached[0] < self.ttl_s:
            return self._cached[1]
        try:
            with self.engine.connect() as conn:
                spec = conn.execute(select(business_hours.c.spec).where(business_hours.c.id == 1)).scalar()
        except SQLAlchemyError as exc:  # telling the customer *something* beats failing the handoff
            log.warning("business hours unreadable from the database, using %s: %s", self.fallback, exc)
            spec = None
        if spec:
            hours = parse_hours(spec, "business hours in the database", self.time_zone)
        else:
            hours = load_hours(self.fallback, self.time_zone)
        self._cached = (monotonic(), hours)
        return hours

    def save(self, spec: dict[str, Any], by: str) -> BusinessHours:
        """Validate and store new hours; raises :class:`HoursError` and changes nothing if invalid."""
        hours = parse_hours(spec, time_zone=self.time_zone)
        values = {"spec": hours_spec(hours), "updated_at": utcnow(), "updated_by": by}
        with self.engine.begin() as conn:
            if (
                conn.execute(update(business_hours).where(business_hours.c.id == 1).values(**values)).rowcount
                == 0
            ):
                conn.execute(insert(business_hours).values(id=1, **values))
        self._cached = None
        return hours
