"""Shared fixtures. Tests get explicit Settings; nothing reads the developer's environment
except DATABASE_URL / REDIS_URL, which select the engines the whole suite runs on.

Markers set here (pyproject.toml names them): ``slow`` on every e2e, browser and rasa test (and by
hand on any other test over ~2 s), ``db`` on every test that uses a database fixture (by hand on a
test that opens a database without one). scripts/test.sh runs ``-m "db and not rasa"`` again on
PostgreSQL + Redis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine
from bot.core.settings import Settings
from bot.insights import open_tracker_engine
from bot.run import Stack
from bot.web.gateway import create_app
from handoff import agents as agents_module
from testkit.browser import chromium
from testkit.databases import fresh_database
from testkit.e2e_stack import stack_on_fresh_database
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import fake_action_server, fake_rasa
from tests.helpers import stack as shared_stack
from tests.helpers.suite import engine_with_schema, suite_settings

if TYPE_CHECKING:
    from bot.rasa.stores import SettingsTrackerStore

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

SLOW_KINDS = ("e2e", "browser", "rasa")
# A test using one of these touches the suite's database (DATABASE_URL: SQLite or PostgreSQL).
DATABASE_FIXTURES = frozenset({"database_url", "module_database_url", "engine", "stack"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the markers added here count
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


# --- databases ------------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: SQLite file, or a PostgreSQL schema."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database shared by one module's tests (a gateway serving many customers)."""
    with fresh_database(tmp_path_factory.mktemp("database")) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return suite_settings(tmp_path / "var", database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with engine_with_schema(settings.database_url) as engine:
        yield engine


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Settings:
    """``settings`` of one module's tests together: a VAR_DIR of its own on ``module_database_url``."""
    return suite_settings(tmp_path_factory.mktemp("module") / "var", module_database_url)


@pytest.fixture(scope="module")
def module_engine(module_database_url: str) -> Iterator[Engine]:
    """``engine`` of one module's tests together, on ``module_database_url``."""
    with engine_with_schema(module_database_url) as engine:
        yield engine


# --- Rasa's own SQL tracker store -----------------------------------------------------------


@pytest.fixture
def tracker_settings(settings: Settings) -> Settings:
    """Rasa's tracker where the assistant keeps it: its own SQLite file, or our PostgreSQL schema."""
    return settings.with_overrides(rasa_speedups=False)


@pytest.fixture
def store(tracker_settings: Settings) -> Iterator[SettingsTrackerStore]:
    """Rasa's own SQL tracker store: it creates the ``events`` table."""
    # Imported here: Rasa's tracker store loads TensorFlow (seconds), only for the tests using it.
    from rasa.shared.core.domain import Domain

    from bot.rasa.stores import SettingsTrackerStore

    store = SettingsTrackerStore(domain=Domain.empty(), settings=tracker_settings)
    yield store
    store.engine.dispose()


@pytest.fixture
def tracker_engine(tracker_settings: Settings, store: SettingsTrackerStore) -> Iterator[Engine]:
    """An engine on the database of Rasa's events (after ``store`` has created the table)."""
    engine = open_tracker_engine(tracker_settings.rasa_tracker_url)
    yield engine
    engine.dispose()


# --- fake Rasa and action server ------------------------------------------------------------


@pytest.fixture
def rasa() -> Iterator[FakeServer]:
    """A fake Rasa server answering "[<language>] you said: <text>", of this test alone (it may
    stop it or change its replies)."""
    server = fake_rasa()
    yield server
    server.stop()


@pytest.fixture
def actions() -> Iterator[FakeServer]:
    """A fake action server that is healthy until stopped, of this test alone."""
    server = fake_action_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_rasa() -> Iterator[FakeServer]:
    """One fake Rasa for a whole module, for tests that never stop it: they tell their requests
    apart by conversation id, or clear its log and reset its replies first."""
    server = fake_rasa()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_actions() -> Iterator[FakeServer]:
    """One fake action server for a whole module, for tests that never stop it."""
    server = fake_action_server()
    yield server
    server.stop()


# --- the gateway on the fakes ---------------------------------------------------------------


@pytest.fixture
def gateway_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    """The test's settings with the fake Rasa and action server (a module narrows them by
    overriding this fixture with one that takes it)."""
    return settings.with_overrides(rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0)


@pytest.fixture
def client(gateway_settings: Settings) -> Iterator[TestClient]:
    """The gateway on ``gateway_settings`` in Starlette's TestClient (its startup run)."""
    with TestClient(create_app(gateway_settings)) as client:
        yield client


@pytest.fixture
def db(gateway_settings: Settings) -> Iterator[Engine]:
    """An engine on the gateway's database (the gateway creates the tables when it starts)."""
    engine = create_db_engine(gateway_settings.database_url)
    yield engine
    engine.dispose()


# --- agents ---------------------------------------------------------------------------------


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with production parameters costs ~0.4 s a hash here (tests/handoff/test_agents.py
    checks that production hashes are Argon2id); tests that only log agents in use cheap parameters."""
    monkeypatch.setattr(
        agents_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


# --- the running assistant and a browser ----------------------------------------------------


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real Rasa, action server and gateway, started once for every end-to-end and browser
    test of the pass, on a fresh database seeded by tests/helpers/stack.py."""
    work = tmp_path_factory.mktemp("stack")
    with stack_on_fresh_database(work, "e2e", shared_stack.seed) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (testkit/browser.py), for one module's tests."""
    with chromium() as launched:
        yield launched
