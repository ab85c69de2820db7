"""The insights' review over HTTP: a group's guess comes with how sure the model was and whether
the page may choose it in advance; "needs new content" and "reopen" are admin-only POSTs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.core.settings import Settings
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from tests.helpers.console import PASSWORD, AgentApi, error_code, log_in
from tests.helpers.insights import Said, write_tracker


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    quiet = settings.with_overrides(feed_interval_s=0.05, insights_interval_s=3600.0)
    with TestClient(create_app(quiet, channels=[])) as client:
        yield client


def account(engine: Engine, client: TestClient, username: str, role: str) -> AgentApi:
    AgentDirectory(engine).create(
        username, PASSWORD, display_name=username.title(), role=role, languages="nl"
    )
    return log_in(client, username)


def test_weak_guesses_are_not_preselected_and_groups_can_wait_for_new_content(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    admin, agent = account(engine, client, "ada", "admin"), account(engine, client, "ben", "agent")
    now = datetime.now(timezone.utc)
    for text, guess, sure in (
        ("kan ik mijn nummer meenemen naar het buitenland", "sim_number_porting", 0.2),
        ("wanneer komt mijn nieuwe simkaart aan", "sim_delivery", 0.8),
        ("kunnen jullie mijn abonnement pauzeren", None, 0.0),
        ("bedankt!", None, 0.0),  # a pleasantry: never listed
    ):
        write_tracker(
            settings, str(uuid.uuid4()), [Said(text, suggestion=guess, suggestion_confidence=sure)], now
        )
    groups = {g["label"]: g for g in admin.ok(admin.get("insights/unhandled"))["groups"]}
    assert sorted(groups) == [
        "kan ik mijn nummer meenemen naar het buitenland",
        "kunnen jullie mijn abonnement pauzeren",
        "wanneer komt mijn nieuwe simkaart aan",
    ]
    porting = groups["kan ik mijn nummer meenemen naar het buitenland"]
    assert (porting["suggestion"], porting["suggestion_confidence"], porting["preselect"]) == (
        "sim_number_porting",
        0.2,
        False,
    )
    assert groups["wanneer komt mijn nieuwe simkaart aan"]["preselect"] is True
    assert groups["kunnen jullie mijn abonnement pauzeren"]["preselect"] is False

    pause = [item["id"] for item in groups["kunnen jullie mijn abonnement pauzeren"]["items"]]
    assert agent.post("insights/needs-content", {"ids": pause}).status_code == 403
    assert admin.ok(admin.post("insights/needs-content", {"ids": pause})) == {"changed": 1}
    waiting = admin.ok(admin.get("insights/unhandled", status="needs_content"))["groups"]
    assert [g["label"] for g in waiting] == ["kunnen jullie mijn abonnement pauzeren"]
    assert len(admin.ok(admin.get("insights/unhandled"))["groups"]) == 2
    assert admin.ok(admin.post("insights/reopen", {"ids": pause})) == {"changed": 1}
    assert len(admin.ok(admin.get("insights/unhandled"))["groups"]) == 3
    refused = admin.post("insights/needs-content", {"ids": []})
    assert refused.status_code == 422 and error_code(refused) == "invalid_ids"
    no_csrf = client.post("/agent/api/insights/needs-content", json={"ids": pause}, headers=admin.cookie)
    assert no_csrf.status_code == 403 and error_code(no_csrf) == "csrf"
