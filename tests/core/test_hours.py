import logging
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.core.hours import default_hours, describe_opening
from bot.core.settings import Settings

UTC = timezone.utc
BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    "moment, open_",
    [
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), True),  # Monday 10:00 in Brussels
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), False),  # Monday 07:59
        (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), False),  # Monday 20:00: closed
        (datetime(2026, 11, 28, 15, 59, tzinfo=UTC), True),  # Saturday 16:59
        (datetime(2026, 11, 29, 12, 0, tzinfo=UTC), False),  # Sunday
        (datetime(2026, 11, 11, 10, 0, tzinfo=UTC), False),  # Armistice, a Wednesday
        (datetime(2026, 7, 1, 6, 30, tzinfo=UTC), True),  # summer time: 08:30 in Brussels
    ],
)
def test_is_open(moment: datetime, open_: bool) -> None:
    assert default_hours().is_open(moment) is open_


def test_next_opening_skips_sundays_and_holidays() -> None:
    hours = default_hours()
    saturday_evening = datetime(2026, 12, 19, 18, 0, tzinfo=UTC)
    assert hours.next_opening(saturday_evening).isoformat() == "2026-12-21T08:00:00+01:00"
    christmas_eve_late = datetime(2026, 12, 24, 21, 0, tzinfo=UTC)
    assert hours.next_opening(christmas_eve_late).isoformat() == "2026-12-26T09:00:00+01:00"


@pytest.mark.parametrize(
    "language, expected",
    [("nl", "maandag om 08:00"), ("fr", "lundi à 08:00"), ("en", "Monday at 08:00")],
)
def test_opening_described_in_each_language(language: str, expected: str) -> None:
    now = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)  # Saturday 19:00
    opening = default_hours().next_opening(now)
    assert describe_opening(opening, now, language) == expected
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # Monday 21:00
    assert describe_opening(default_hours().next_opening(evening), evening, "nl") == "morgen om 08:00"


def test_admin_hours_override_the_file_and_bad_hours_change_nothing(engine: Engine) -> None:
    from bot.core.hours import HoursError, HoursRepository, hours_spec

    repository = HoursRepository(engine, ttl_s=0)
    assert hours_spec(repository.current()) == hours_spec(default_hours())
    spec = {"weekly": {"sunday": ["10:00", "14:00"]}, "holidays": ["2026-12-27"]}
    saved = repository.save(spec, by="admin")
    assert hours_spec(repository.current()) == hours_spec(saved)
    sunday = datetime(2026, 11, 29, 11, 0, tzinfo=BRUSSELS)
    assert repository.current().is_open(sunday)
    assert not repository.current().is_open(datetime(2026, 11, 23, 11, 0, tzinfo=BRUSSELS))  # a Monday
    for bad in (
        {"weekly": {"sunday": ["14:00", "10:00"]}},
        {"weekly": {"funday": ["10:00", "14:00"]}},
        {"weekly": {"sunday": ["10h", "14:00"]}},
        {"weekly": {}},
        {"weekly": {"sunday": ["10:00", "14:00"]}, "holidays": ["27/12/2026"]},
    ):
        with pytest.raises(HoursError):
            repository.save(bad, by="admin")
    assert repository.current().is_open(sunday)  # unchanged


def test_the_time_zone_setting_wins_over_the_hours_own(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.core.hours import HoursRepository, hours_spec

    lisbon = Settings.from_env({"TIME_ZONE": "Europe/Lisbon"}).time_zone
    hours_file = tmp_path / "hours.yml"
    hours_file.write_text('timezone: Europe/Brussels\nweekly:\n  monday: ["08:00", "20:00"]\n')
    repository = HoursRepository(engine, ttl_s=0, fallback=hours_file, time_zone=lisbon)
    with caplog.at_level(logging.WARNING, logger="bot.core.hours"):
        hours = repository.current()
    assert hours.timezone == lisbon
    assert "TIME_ZONE=Europe/Lisbon is used instead" in caplog.text
    monday_0730_utc = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # 07:30 in Lisbon, 08:30 in Brussels
    assert not hours.is_open(monday_0730_utc)
    assert hours.is_open(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    # what an admin saves is in the configured zone too, whatever it says
    saved = repository.save({"timezone": "Asia/Tokyo", "weekly": {"monday": ["08:00", "20:00"]}}, by="admin")
    assert hours_spec(saved)["timezone"] == hours_spec(repository.current())["timezone"] == "Europe/Lisbon"
