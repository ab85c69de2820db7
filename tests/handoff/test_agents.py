"""Agent accounts, log-in sessions and presence (handoff.agents) on the configured database."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.core.db import agent_sessions, agents, utcnow
from handoff import agents as agents_module
from handoff.agents import Agent, AgentDirectory, AgentError
from tests.helpers.clock import Clock
from tests.helpers.console import PASSWORD

REAL_HASHER = agents_module._hasher
STALE = timedelta(seconds=90)


@pytest.fixture(autouse=True)
def _cheap_hashes(fast_password_hashing: None) -> None:
    """Every test here logs agents in: cheap Argon2 parameters (fixture in conftest)."""


@pytest.fixture
def directory(engine: Engine) -> AgentDirectory:
    return AgentDirectory(engine)


def agent_row(engine: Engine, username: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(agents).where(agents.c.username == username)).one()


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def session_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(agent_sessions)).all()


# --- accounts -------------------------------------------------------------------------------


def test_create_normalises_the_account_and_starts_offline(directory: AgentDirectory) -> None:
    agent = directory.create(
        "  Ann.Peeters-2 ", PASSWORD, display_name="  Ann Peeters ", languages=" FR, nl ,fr"
    )
    assert agent.username == "ann.peeters-2"
    assert agent.display_name == "Ann Peeters"
    assert agent.languages == ("fr", "nl")
    assert (agent.role, agent.presence, agent.active, agent.last_seen_at) == ("agent", "offline", True, None)
    assert not agent.is_admin
    assert directory.get(agent.id) == agent
    assert directory.by_username(" ANN.PEETERS-2") == agent
    assert agent.public() == {
        "id": agent.id,
        "username": "ann.peeters-2",
        "display_name": "Ann Peeters",
        "role": "agent",
        "languages": ["fr", "nl"],
        "presence": "offline",
        "active": True,
    }


def test_defaults_display_name_to_the_username_and_languages_to_dutch(directory: AgentDirectory) -> None:
    agent = directory.create("bob", PASSWORD)
    assert (agent.display_name, agent.languages) == ("bob", ("nl",))
    admin = directory.create("carla", PASSWORD, role="admin", languages=["en"])
    assert admin.is_admin and admin.languages == ("en",)
    assert [a.username for a in directory.all()] == ["bob", "carla"]
    assert directory.count_admins() == 1


def refused(attempt: Callable[[Any], object], values: list[Any], match: str) -> list[Any]:
    """The values for which ``attempt`` did not raise an AgentError matching ``match``."""
    accepted = []
    for value in values:
        try:
            attempt(value)
        except AgentError as exc:
            if not re.search(match, str(exc)):
                accepted.append((value, str(exc)))
        else:
            accepted.append(value)
    return accepted


def test_usernames_must_be_1_to_64_letters_digits_dots_or_dashes(
    directory: AgentDirectory, engine: Engine
) -> None:
    invalid = ["", "   ", "x" * 65, "ann peeters", "ann_peeters", "ann@example.com", "ann/1", "...", "-"]
    assert refused(lambda name: directory.create(name, PASSWORD), invalid, "username must be 1-64") == []
    assert count(engine, agents) == 0
    assert directory.create("a" * 64, PASSWORD).username == "a" * 64


def test_usernames_are_unique_whatever_their_case(directory: AgentDirectory, engine: Engine) -> None:
    directory.create("ann", PASSWORD)
    with pytest.raises(AgentError, match="'ann' already exists"):
        directory.create(" ANN ", "another long password")
    assert count(engine, agents) == 1


def test_passwords_need_at_least_ten_characters(directory: AgentDirectory, engine: Engine) -> None:
    with pytest.raises(AgentError, match="at least 10 characters"):
        directory.create("ann", "123456789")
    assert count(engine, agents) == 0
    assert directory.create("ann", "1234567890").username == "ann"


def test_languages_must_be_a_non_empty_subset_of_the_supported_ones(
    directory: AgentDirectory, engine: Engine
) -> None:
    invalid = [[], "", " , ", ["de"], ["nl", "de"], "nl,xx", ("EN", "es")]
    create = partial(directory.create, "ann", PASSWORD)
    assert refused(lambda langs: create(languages=langs), invalid, "non-empty subset of nl, fr, en") == []
    assert count(engine, agents) == 0


def test_roles_are_agent_or_admin(directory: AgentDirectory, engine: Engine) -> None:
    create = partial(directory.create, "ann", PASSWORD)
    roles = ["root", "Admin", "", "supervisor"]
    assert refused(lambda role: create(role=role), roles, "role must be one of agent, admin") == []
    assert count(engine, agents) == 0


def test_update_changes_the_profile_and_checks_its_values(directory: AgentDirectory) -> None:
    agent = directory.create("ann", PASSWORD)
    changed = directory.update(agent.id, display_name=" Ann P. ", role="admin", languages=["en", "fr"])
    assert (changed.display_name, changed.role, changed.languages) == ("Ann P.", "admin", ("en", "fr"))
    with pytest.raises(AgentError, match="role must be one of"):
        directory.update(agent.id, role="owner")
    with pytest.raises(AgentError, match="non-empty subset"):
        directory.update(agent.id, languages=[])
    with pytest.raises(AgentError, match="at least 10 characters"):
        directory.update(agent.id, password="short")
    assert directory.get(agent.id) == changed
    with pytest.raises(AgentError, match="no such agent"):
        directory.update(agent.id + 100, display_name="ghost")


# --- passwords ------------------------------------------------------------------------------


def test_password_is_stored_as_an_argon2id_hash_with_production_parameters(
    directory: AgentDirectory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agents_module, "_hasher", REAL_HASHER)
    directory.create("ann", PASSWORD)
    stored = agent_row(engine, "ann").password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    assert not PasswordHasher().check_needs_rehash(stored)  # at least argon2-cffi's recommended cost


def test_authenticate_accepts_only_the_right_password_of_an_active_account(
    directory: AgentDirectory,
) -> None:
    ann = directory.create("ann", PASSWORD)
    assert directory.authenticate("ann", PASSWORD) == ann
    assert directory.authenticate("  ANN ", PASSWORD) == ann
    assert directory.authenticate("ann", PASSWORD.upper()) is None
    assert directory.authenticate("ann", PASSWORD + " ") is None
    assert directory.authenticate("ann", "") is None
    assert directory.authenticate("nobody", PASSWORD) is None
    assert directory.authenticate("", PASSWORD) is None
    directory.update(ann.id, active=False)
    assert directory.authenticate("ann", PASSWORD) is None
    directory.update(ann.id, active=True)
    assert directory.authenticate("ann", PASSWORD) is not None


def test_a_corrupt_stored_hash_never_authenticates(directory: AgentDirectory, engine: Engine) -> None:
    ann = directory.create("ann", PASSWORD)
    with engine.begin() as conn:
        conn.execute(update(agents).where(agents.c.id == ann.id).values(password_hash=PASSWORD))
    assert directory.authenticate("ann", PASSWORD) is None


def test_an_outdated_hash_is_upgraded_on_log_in(directory: AgentDirectory, engine: Engine) -> None:
    directory.create("ann", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(update(agents).where(agents.c.username == "ann").values(password_hash=weak))
    assert directory.authenticate("ann", PASSWORD) is not None
    upgraded = agent_row(engine, "ann").password_hash
    assert upgraded != weak and not agents_module._hasher.check_needs_rehash(upgraded)
    assert directory.authenticate("ann", PASSWORD) is not None


def test_changing_the_password_revokes_sessions(directory: AgentDirectory, engine: Engine) -> None:
    ann = directory.create("ann", PASSWORD)
    bob = directory.create("bob", PASSWORD)
    token, _ = directory.open_session(ann)
    bob_token, _ = directory.open_session(bob)
    directory.update(ann.id, password="a brand new passphrase")
    assert directory.session(token) is None
    assert directory.session(bob_token) is not None
    assert [row.agent_id for row in session_rows(engine)] == [bob.id]
    assert directory.authenticate("ann", PASSWORD) is None
    assert directory.authenticate("ann", "a brand new passphrase") is not None


def test_profile_changes_keep_sessions(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    token, _ = directory.open_session(ann)
    directory.update(ann.id, display_name="Ann P.", languages=["fr"], password="")
    live = directory.session(token)
    assert live is not None and live.agent.display_name == "Ann P." and live.agent.languages == ("fr",)


# --- sessions -------------------------------------------------------------------------------


def test_open_session_returns_a_token_that_finds_the_session(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    before = utcnow()
    token, session = directory.open_session(ann)
    assert len(token) >= 40 and len(session.csrf_token) >= 30 and token != session.csrf_token
    assert before + timedelta(hours=12) <= session.expires_at <= utcnow() + timedelta(hours=12)
    found = directory.session(token)
    assert found is not None
    assert found.agent == ann and found.csrf_token == session.csrf_token
    assert found.expires_at == session.expires_at
    other_token, other = directory.open_session(ann)
    assert other_token != token and other.csrf_token != session.csrf_token
    assert directory.session(other_token).csrf_token == other.csrf_token


def test_only_the_sha256_of_the_token_is_stored(directory: AgentDirectory, engine: Engine) -> None:
    token, session = directory.open_session(directory.create("ann", PASSWORD))
    (row,) = session_rows(engine)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [str(value) for value in row]
    assert row.csrf_token == session.csrf_token
    assert directory.session(row.token_hash) is None  # the stored hash is not a token


def test_unknown_tokens_have_no_session(directory: AgentDirectory) -> None:
    directory.open_session(directory.create("ann", PASSWORD))
    assert [directory.session(token) for token in (None, "", "not-a-session-token")] == [None] * 3


def test_sessions_expire_after_their_ttl(engine: Engine) -> None:
    clock = Clock(utcnow())
    directory = AgentDirectory(engine, session_ttl=timedelta(milliseconds=200), now=clock)
    token, _ = directory.open_session(directory.create("ann", PASSWORD))
    assert directory.session(token) is not None
    clock.advance(0.25)
    assert directory.session(token) is None


def test_an_expired_session_row_is_refused_and_purged_by_the_next_log_in(
    directory: AgentDirectory, engine: Engine
) -> None:
    ann = directory.create("ann", PASSWORD)
    old, _ = directory.open_session(ann)
    with engine.begin() as conn:
        conn.execute(update(agent_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert directory.session(old) is None
    new, _ = directory.open_session(ann)
    assert [row.token_hash for row in session_rows(engine)] == [hashlib.sha256(new.encode()).hexdigest()]


def test_close_session_ends_only_that_session(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    laptop, _ = directory.open_session(ann)
    phone, _ = directory.open_session(ann)
    directory.close_session(laptop)
    assert directory.session(laptop) is None
    assert directory.session(phone) is not None
    directory.close_session("unknown token")  # closing twice or an unknown token is harmless
    directory.close_session(laptop)
    assert directory.session(phone) is not None


def test_deactivation_revokes_sessions_and_sets_offline(directory: AgentDirectory, engine: Engine) -> None:
    ann = directory.create("ann", PASSWORD)
    token, _ = directory.open_session(ann)
    directory.set_presence(ann.id, "online")
    deactivated = directory.update(ann.id, active=False)
    assert (deactivated.active, deactivated.presence) == (False, "offline")
    assert directory.session(token) is None
    assert session_rows(engine) == []


def test_an_inactive_agent_has_no_session_even_if_its_row_remains(
    directory: AgentDirectory, engine: Engine
) -> None:
    ann = directory.create("ann", PASSWORD)
    token, _ = directory.open_session(ann)
    with engine.begin() as conn:
        conn.execute(update(agents).where(agents.c.id == ann.id).values(active=False))
    assert directory.session(token) is None


# --- presence -------------------------------------------------------------------------------


def test_set_presence_stores_the_value_and_marks_the_agent_seen(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    for presence in ("online", "away", "offline"):
        before = utcnow()
        directory.set_presence(ann.id, presence)
        fresh = directory.get(ann.id)
        assert fresh.presence == presence
        assert before <= fresh.last_seen_at <= utcnow()


def test_unknown_presence_values_are_refused(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    directory.set_presence(ann.id, "away")
    values = ["busy", "ONLINE", "", None]
    set_presence = partial(directory.set_presence, ann.id)
    assert refused(set_presence, values, "presence must be one of online, away, offline") == []
    assert directory.get(ann.id).presence == "away"


def agent_seen(presence: str, seen_ago: timedelta | None) -> tuple[Agent, Any]:
    now = utcnow()
    seen = None if seen_ago is None else now - seen_ago
    return Agent(1, "ann", "Ann", "agent", ("nl",), presence, True, seen), now


@pytest.mark.parametrize(
    "presence, seen_ago, effective",
    [
        ("online", timedelta(0), "online"),
        ("online", STALE, "online"),  # the boundary still counts
        ("online", STALE + timedelta(seconds=1), "offline"),
        ("away", timedelta(seconds=5), "away"),
        ("away", STALE * 2, "offline"),
        ("offline", timedelta(0), "offline"),
        ("online", None, "offline"),
    ],
)
def test_effective_presence_goes_offline_when_the_console_is_silent(
    presence: str, seen_ago: timedelta | None, effective: str
) -> None:
    agent, now = agent_seen(presence, seen_ago)
    assert agent.effective_presence(now, STALE) == effective


def test_seen_keeps_an_online_agent_online(directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    assert directory.get(ann.id).effective_presence(utcnow(), STALE) == "offline"  # never logged on
    directory.set_presence(ann.id, "online")
    assert directory.get(ann.id).effective_presence(utcnow(), STALE) == "online"
    directory.seen(ann.id, now=utcnow() - STALE - timedelta(seconds=5))
    stale = directory.get(ann.id)
    assert stale.presence == "online"
    assert stale.effective_presence(utcnow(), STALE) == "offline"
    directory.seen(ann.id)
    assert directory.get(ann.id).effective_presence(utcnow(), STALE) == "online"
