"""The hostile-input benchmark (bench/reliability_hostile.py) runs clean: at least 60 inputs across
the chat API, history, stream, console, Telegram and Slack, none answered with a 5xx, a hang, a
half-stored write or an error in another shape. On SQLite, or the suite's PostgreSQL."""

from __future__ import annotations

import pytest

from bench import reliability_hostile
from bench.hostile_inputs import CASES
from testkit.databases import postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.db]


def test_at_least_60_hostile_inputs_on_every_surface() -> None:
    surfaces = {case.surface for case in CASES}
    assert len(CASES) >= 60 and surfaces == set(reliability_hostile.SURFACES)


def test_the_benchmark_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    database = ["--database-url", postgres_url()] if postgres_url() else []
    assert reliability_hostile.main([*database, "--flood", "150"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "OK: every hostile input refused with a 4xx, nothing half-stored" in out
