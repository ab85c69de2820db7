"""Business hours of the webcare team (handoff/hours.yml), in Europe/Brussels time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

HOURS_FILE = Path(__file__).with_name("hours.yml")
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


def load_hours(path: Path = HOURS_FILE) -> BusinessHours:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    weekly = {}
    for name, span in (data.get("weekly") or {}).items():
        opens, closes = (time.fromisoformat(v) for v in span)
        if opens >= closes:
            raise ValueError(f"{path}: {name} closes before it opens")
        weekly[DAYS.index(name)] = (opens, closes)
    holidays = frozenset(
        d if isinstance(d, date) else date.fromisoformat(str(d)) for d in data.get("holidays") or []
    )
    return BusinessHours(ZoneInfo(data.get("timezone", "Europe/Brussels")), weekly, holidays)


@lru_cache(maxsize=1)
def default_hours() -> BusinessHours:
    return load_hours()
