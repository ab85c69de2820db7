"""The traffic-insights admin API over HTTP, on a real database (SQLite or PostgreSQL): the
messages the bot did not understand, grouped, assigned to an intent or dismissed, exported as
Rasa NLU data; topic trends per day; surge alerts; who may do it.

Customer messages are written as Rasa writes them, with Rasa's own SQLTrackerStore, and reach
the console through ``Insights.sync`` (which the list and the trends call); the trend figures
are inserted into ``nlu_turns`` directly, on exact days.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.core.db import conversations
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.insights import TOPICS, Insights
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from tests.helpers.console import PASSWORD, AgentApi, error_code, log_in
from tests.helpers.insights import PORTING_NL, Said, add_turns, write_tracker

HTML = "<b>html</b> <img src=x onerror=alert(1)> wat is dit?"
PORTING_FR = "est-ce que je peux garder mon numéro à l'étranger"
STILL_WRONG = "my bill is still wrong after your answer"
INSIGHT_GETS = ("insights/unhandled", "insights/trends")
# Every state change is a POST with the CSRF token: exporting marks the exported messages.
INSIGHT_POSTS = (
    ("insights/assign", {"ids": [1], "intent": "greet"}),
    ("insights/dismiss", {"ids": [1]}),
    ("insights/export", {"language": "nl"}),
)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # the gateway's own periodic sync and surge check stay out of the way: the tests call them
    quiet = settings.with_overrides(feed_interval_s=0.05, insights_interval_s=3600.0)
    with TestClient(create_app(quiet, channels=[])) as client:
        yield client


@pytest.fixture
def insights(client: TestClient) -> Insights:
    """The gateway's own Insights, as the routes use it."""
    insights = client.app.state.console.insights
    assert insights is not None, "the gateway passes no Insights to the console"
    return insights


def account(engine: Engine, client: TestClient, username: str, role: str) -> AgentApi:
    AgentDirectory(engine).create(
        username, PASSWORD, display_name=username.title(), role=role, languages="nl,fr,en"
    )
    return log_in(client, username)


@pytest.fixture
def admin(engine: Engine, client: TestClient) -> AgentApi:
    return account(engine, client, "ada", "admin")


@pytest.fixture
def agent(engine: Engine, client: TestClient) -> AgentApi:
    return account(engine, client, "ben", "agent")


# --- seeding --------------------------------------------------------------------------------


def seed_traffic(settings: Settings, engine: Engine, now: datetime) -> dict[str, str]:
    """Conversations in three languages; returns name -> conversation id."""
    ids = {name: str(uuid.uuid4()) for name in ("nl1", "nl2", "nl3", "html", "fr", "ok", "old", "esc")}
    porting = "sim_number_porting"
    write_tracker(settings, ids["nl1"], [Said(PORTING_NL[0], suggestion=porting, minutes_ago=30)], now)
    write_tracker(settings, ids["nl2"], [Said(PORTING_NL[1], suggestion=porting, channel="telegram")], now)
    write_tracker(settings, ids["nl3"], [Said(PORTING_NL[2], suggestion=porting, minutes_ago=5)], now)
    write_tracker(settings, ids["html"], [Said(HTML, intent="out_of_scope", confidence=0.7)], now)
    write_tracker(settings, ids["fr"], [Said(PORTING_FR, language="fr", suggestion=porting)], now)
    understood = Said("hoe kan ik mijn factuur betalen", intent="billing_payment_methods", confidence=0.97)
    write_tracker(settings, ids["ok"], [understood], now)
    write_tracker(
        settings, ids["old"], [Said("een heel oude vraag over iets anders", minutes_ago=10 * 24 * 60)], now
    )
    # understood, answered, and still escalated as "not helped": the bot did not resolve it
    still_wrong = Said(
        STILL_WRONG, language="en", intent="billing_explain_bill", confidence=0.91, minutes_ago=3
    )
    write_tracker(settings, ids["esc"], [still_wrong], now)
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=ids["esc"],
                channel="web",
                sender="s-esc",
                owner="bot",
                language="en",
                created_at=now,
                updated_at=now,
            )
        )
    assert (
        HandoffQueue(engine).escalate(ids["esc"], default_rules()["not_helped"], summary="not helped")
        is not None
    )
    return ids


# --- helpers --------------------------------------------------------------------------------


def unhandled(admin: AgentApi, **params: Any) -> dict[str, Any]:
    return admin.ok(admin.get("insights/unhandled", **{"days": 7, **params}))


def group_with(data: dict[str, Any], text: str) -> dict[str, Any]:
    found = [g for g in data["groups"] if any(item["text"] == text for item in g["items"])]
    assert len(found) == 1, [g["label"] for g in data["groups"]]
    return found[0]


def all_texts(data: dict[str, Any]) -> list[str]:
    return sorted(item["text"] for g in data["groups"] for item in g["items"])


def post_as(http: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return http.post(f"/agent/api/{path}", json=body, headers=headers)


# --- who may -------------------------------------------------------------------------------


def test_only_a_logged_in_admin_with_the_csrf_token(
    client: TestClient, admin: AgentApi, agent: AgentApi
) -> None:
    page = client.get("/agent/insights")
    assert page.status_code == 200 and "Traffic insights" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"

    client.cookies.clear()  # log_in leaves none behind either: AgentApi sends its own cookie
    for path in INSIGHT_GETS:
        response = client.get(f"/agent/api/{path}")
        assert (response.status_code, error_code(response)) == (401, "not_logged_in"), path
    for path, body in INSIGHT_POSTS:
        response = client.post(f"/agent/api/{path}", json=body)
        assert (response.status_code, error_code(response)) == (401, "not_logged_in"), path

    for path in INSIGHT_GETS:
        response = agent.get(path)
        assert (response.status_code, error_code(response)) == (403, "admin_only"), path
    for path, body in INSIGHT_POSTS:
        response = agent.post(path, body)
        assert (response.status_code, error_code(response)) == (403, "admin_only"), path

    for path, body in INSIGHT_POSTS:
        missing = post_as(client, path, body, admin.cookie)
        assert (missing.status_code, error_code(missing)) == (403, "csrf")
        wrong = post_as(client, path, body, {**admin.cookie, "X-CSRF-Token": "x" + admin.csrf})
        assert (wrong.status_code, error_code(wrong)) == (403, "csrf")
        form = client.post(
            f"/agent/api/{path}", data={"ids": "1"}, headers={**admin.cookie, "X-CSRF-Token": admin.csrf}
        )
        assert (form.status_code, error_code(form)) == (415, "json_required")


def test_without_insights_the_routes_answer_503(client: TestClient, admin: AgentApi) -> None:
    client.app.state.console.insights = None
    for response in (
        *(admin.get(path) for path in INSIGHT_GETS),
        *(admin.post(path, body) for path, body in INSIGHT_POSTS),
    ):
        assert (response.status_code, error_code(response)) == (503, "insights_unavailable")
        assert "not available" in response.json()["error"]["message"]


# --- not understood -------------------------------------------------------------------------


def test_unhandled_messages_from_the_tracker_store_grouped_by_similarity_and_language(
    client: TestClient, settings: Settings, engine: Engine, insights: Insights, admin: AgentApi
) -> None:
    now = datetime.now(timezone.utc)
    ids = seed_traffic(settings, engine, now)
    response = admin.get("insights/unhandled", days=7)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    data = response.json()

    assert {"sim_number_porting", "billing_refund", "greet"} <= set(data["intents"])
    assert "nlu_fallback" not in data["intents"]
    # the well understood message and the one older than 7 days are not there
    assert all_texts(data) == sorted([*PORTING_NL, HTML, PORTING_FR, STILL_WRONG])

    porting = group_with(data, PORTING_NL[0])
    assert porting["language"] == "nl" and porting["size"] == 3 and porting["label"] in PORTING_NL
    assert porting["suggestion"] == "sim_number_porting"
    assert porting["reasons"] == {"not_understood": 3}
    assert [item["text"] for item in porting["items"]] == [
        PORTING_NL[2],
        PORTING_NL[1],
        PORTING_NL[0],
    ]  # newest first
    second = porting["items"][1]
    assert second["channel"] == "telegram" and second["conversation_id"] == ids["nl2"]
    assert second["intent"] == "nlu_fallback" and second["confidence"] == pytest.approx(0.22)
    assert (
        second["status"] == "new"
        and second["assigned_intent"] is None
        and second["reason"] == "not_understood"
    )
    assert abs(datetime.fromisoformat(second["created_at"]) - (now - timedelta(minutes=10))) < timedelta(
        seconds=1
    )

    html = group_with(data, HTML)  # customer markup is JSON text, exactly as written
    assert html["items"][0]["text"] == HTML and html["reasons"] == {"out_of_scope": 1}
    assert json.dumps(HTML) in response.text
    assert group_with(data, PORTING_FR)["language"] == "fr"
    assert group_with(data, STILL_WRONG)["reasons"] == {"unresolved": 1}

    assert all_texts(unhandled(admin)) == all_texts(data)  # syncing again adds nothing
    assert all_texts(unhandled(admin, language="fr")) == [PORTING_FR]
    assert all_texts(unhandled(admin, days=30, language="nl")) == sorted(
        [*PORTING_NL, HTML, "een heel oude vraag over iets anders"]
    )
    for params in ({"language": "de"}, {"status": "done"}):
        response = admin.get("insights/unhandled", **params)
        assert (response.status_code, error_code(response)) == (422, "invalid_filter")


def test_assign_dismiss_and_export_as_training_data(
    client: TestClient, settings: Settings, engine: Engine, insights: Insights, admin: AgentApi
) -> None:
    seed_traffic(settings, engine, datetime.now(timezone.utc))
    data = unhandled(admin)
    porting = [item["id"] for item in group_with(data, PORTING_NL[0])["items"]]
    html = [item["id"] for item in group_with(data, HTML)["items"]]

    unknown = admin.post("insights/assign", {"ids": porting, "intent": "sim_teleport"})
    assert (
        unknown.status_code == 422 and "unknown intent 'sim_teleport'" in unknown.json()["error"]["message"]
    )
    for body, code in (
        ({"ids": porting}, "invalid_intent"),
        ({"ids": [], "intent": "sim_number_porting"}, "invalid_ids"),
        ({"ids": ["1"], "intent": "sim_number_porting"}, "invalid_ids"),
        ({"ids": [True], "intent": "sim_number_porting"}, "invalid_ids"),
    ):
        response = admin.post("insights/assign", body)
        assert (response.status_code, error_code(response)) == (422, code), body
    too_many = admin.post("insights/dismiss", {"ids": list(range(1, 2002))})
    assert (too_many.status_code, error_code(too_many)) == (413, "too_many_ids")
    headers = {**admin.cookie, "X-CSRF-Token": admin.csrf, "Content-Type": "application/json"}
    malformed = admin.http.post("/agent/api/insights/assign", content=b'{"ids": [1', headers=headers)
    assert malformed.status_code == 400, malformed.text
    assert admin.get("insights/unhandled", days="soon").status_code == 200  # the default period
    assert len(unhandled(admin)["groups"]) == len(data["groups"])  # nothing changed meanwhile

    assigned = admin.post("insights/assign", {"ids": porting, "intent": "sim_number_porting"})
    assert admin.ok(assigned) == {"changed": 3}
    assert admin.ok(admin.post("insights/dismiss", {"ids": html})) == {"changed": 1}
    left = unhandled(admin)
    assert all_texts(left) == sorted([PORTING_FR, STILL_WRONG])
    done = unhandled(admin, status="assigned")
    assert all_texts(done) == sorted(PORTING_NL)
    assert {item["assigned_intent"] for g in done["groups"] for item in g["items"]} == {"sim_number_porting"}
    assert all_texts(unhandled(admin, status="dismissed")) == [HTML]

    preview = admin.post("insights/export", {"language": "nl", "mark": False})
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"].startswith("text/yaml")
    assert preview.headers["content-disposition"] == 'attachment; filename="traffic-nl.yml"'
    exported = admin.post("insights/export", {"language": "nl"})  # the preview did not mark them
    assert exported.status_code == 200 and exported.text == preview.text
    nlu = yaml.safe_load(exported.text)
    assert nlu["version"] == "3.1"
    assert [block["intent"] for block in nlu["nlu"]] == ["sim_number_porting"]
    examples = [line.removeprefix("- ") for line in nlu["nlu"][0]["examples"].splitlines()]
    assert sorted(examples) == sorted(PORTING_NL)

    again = admin.post("insights/export", {"language": "nl"})
    assert (again.status_code, error_code(again)) == (404, "nothing_to_export")
    assert again.json()["error"]["message"].startswith("nothing new to export in nl: ")
    assert error_code(admin.post("insights/export", {"language": "fr"})) == "nothing_to_export"
    assert all_texts(unhandled(admin, status="exported")) == sorted(PORTING_NL)
    assert admin.ok(admin.post("insights/assign", {"ids": porting, "intent": "greet"})) == {"changed": 0}
    for body in (
        {},
        {"language": "all"},
        {"language": "xx"},
        {"language": 1},
        {"language": "nl", "mark": "0"},
    ):
        response = admin.post("insights/export", body)
        assert (response.status_code, error_code(response)) == (422, "invalid_filter"), body


def test_export_by_get_is_refused_and_marks_nothing(
    client: TestClient, settings: Settings, engine: Engine, insights: Insights, admin: AgentApi
) -> None:
    """A browser prefetch or a link (a GET, no CSRF token) never marks messages exported."""
    seed_traffic(settings, engine, datetime.now(timezone.utc))
    porting = [item["id"] for item in group_with(unhandled(admin), PORTING_NL[0])["items"]]
    assert admin.ok(admin.post("insights/assign", {"ids": porting, "intent": "sim_number_porting"}))
    for params in ({"language": "nl"}, {"language": "nl", "mark": "1"}):
        response = admin.get("insights/export", **params)
        assert (response.status_code, error_code(response)) == (405, "method_not_allowed")
        assert response.headers["allow"] == "POST"
    assert all_texts(unhandled(admin, status="assigned")) == sorted(PORTING_NL)  # still to export
    stolen = post_as(client, "insights/export", {"language": "nl"}, admin.cookie)  # no CSRF token
    assert (stolen.status_code, error_code(stolen)) == (403, "csrf")
    assert admin.post("insights/export", {"language": "nl"}).status_code == 200


# --- trends and surges ----------------------------------------------------------------------


def test_trends_count_messages_per_topic_and_day_summed_over_languages_and_channels(
    client: TestClient, engine: Engine, insights: Insights, admin: AgentApi
) -> None:
    zone = insights.settings.time_zone  # the team's days, not UTC's (CI ran once at 23:30 UTC)
    today = datetime.now(zone).date()
    noon = lambda days_ago: datetime.combine(today - timedelta(days=days_ago), time(12), zone)  # noqa: E731
    add_turns(engine, 3, "billing", noon(0), "nl", "web")
    add_turns(engine, 2, "billing", noon(0), "fr", "telegram")
    add_turns(engine, 1, "coverage", noon(0), "nl", "web")
    add_turns(engine, 4, "sim", noon(1), "en", "web")
    add_turns(engine, 1, "billing", noon(3), "nl", "web")
    add_turns(engine, 5, "billing", noon(20), "nl", "web")

    data = admin.ok(admin.get("insights/trends", days=14))
    assert len(data["days"]) == 14 and data["days"][-1] == today.isoformat()
    assert data["topics"] == list(TOPICS)
    assert set(data["series"]) == set(TOPICS) and all(len(s) == 14 for s in data["series"].values())
    billing = data["series"]["billing"]
    assert (billing[-1], billing[-2], billing[-4], sum(billing)) == (5, 0, 1, 6)
    assert data["series"]["coverage"][-1] == 1 and data["series"]["sim"][-2] == 4
    assert sum(data["series"]["smalltalk"]) == 0
    assert data["totals"] == {topic: sum(data["series"][topic]) for topic in TOPICS}
    assert data["channels"] == ["telegram", "web"]
    assert {
        "day": today.isoformat(),
        "topic": "billing",
        "language": "fr",
        "channel": "telegram",
        "count": 2,
    } in data["rows"]
    assert sum(row["count"] for row in data["rows"]) == 11
    assert data["alerts"] == []

    dutch = admin.ok(admin.get("insights/trends", days=14, language="nl"))["series"]
    assert (dutch["billing"][-1], sum(dutch["sim"])) == (3, 0)
    telegram = admin.ok(admin.get("insights/trends", days=14, channel="telegram"))["series"]
    assert (sum(telegram["billing"]), sum(telegram["coverage"])) == (2, 0)
    month = admin.ok(admin.get("insights/trends", days=30, language="all", channel="all"))
    assert len(month["days"]) == 30 and sum(month["series"]["billing"]) == 11
    for params in ({"language": "es"}, {"channel": "<script>"}):
        response = admin.get("insights/trends", **params)
        assert (response.status_code, error_code(response)) == (422, "invalid_filter"), params


def test_surge_alerts_are_listed_with_the_trends(
    client: TestClient, settings: Settings, engine: Engine, insights: Insights, admin: AgentApi
) -> None:
    now = datetime.now(timezone.utc)
    burst = [
        Said(
            f"mijn factuur is veel te hoog deze maand {i}",
            intent="billing_higher_than_usual",
            confidence=0.9,
            minutes_ago=1,
        )
        for i in range(settings.surge_min_messages + 2)
    ]
    write_tracker(settings, str(uuid.uuid4()), burst, now)
    assert insights.sync() == len(burst)
    assert insights.check_surges(now) == []  # no history yet: no baseline, no surge
    add_turns(engine, 1, "coverage", now - timedelta(days=2))  # traffic from before: a baseline
    created = insights.check_surges(now)
    assert [alert.topic for alert in created] == ["billing"]

    data = admin.ok(admin.get("insights/trends", days=7))
    assert sum(data["series"]["billing"]) == len(burst)
    [alert] = data["alerts"]
    assert alert["topic"] == "billing" and alert["department"] == "Billing"
    assert alert["count"] == len(burst) and alert["baseline"] == 0.0
    assert alert["top_intents"] == ["billing_higher_than_usual"]
    start, end = datetime.fromisoformat(alert["window_start"]), datetime.fromisoformat(alert["window_end"])
    assert start <= now - timedelta(minutes=1) < end
    assert end - start == timedelta(minutes=settings.surge_window_minutes)
    assert alert["id"] == created[0].id and datetime.fromisoformat(alert["created_at"])
