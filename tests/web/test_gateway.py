import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import messages
from testkit.fakes.http_server import FakeServer


def count_messages(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar_one()


def test_chat_round_trip(client: TestClient, db: Engine) -> None:
    response = client.post("/api/chat", json={"sender": "web-1", "text": "Hoe kan ik mijn factuur betalen?"})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "nl" and body["owner"] == "bot"
    assert body["replies"] == [{"text": "[nl] you said: Hoe kan ik mijn factuur betalen?"}]
    assert body["conversation_id"]
    assert count_messages(db) == 2


def test_locale_seeds_a_new_conversation(client: TestClient) -> None:
    body = client.post("/api/chat", json={"sender": "web-2", "text": "ok", "locale": "fr-BE"}).json()
    assert body["language"] == "fr"


@pytest.mark.parametrize(
    "payload, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b'{"text": "hallo"}', 422, "invalid_message"),
        (b'{"sender": "  ", "text": "hallo"}', 422, "invalid_message"),
        (b'{"sender": "a", "text": 42}', 422, "invalid_message"),
        (b'{"sender": "a", "text": ""}', 422, "invalid_message"),
        (b'{"sender": "a", "text": "   \\n "}', 422, "invalid_message"),
        (b'{"sender": "a", "text": "hi", "locale": 5}', 422, "invalid_message"),
    ],
)
def test_bad_requests_get_clear_errors_and_store_nothing(
    client: TestClient, db: Engine, rasa: FakeServer, payload: bytes, status: int, code: str
) -> None:
    response = client.post("/api/chat", content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert count_messages(db) == 0
    assert rasa.received("POST", "/webhooks/rest/webhook") == []


def test_huge_messages_are_refused_with_413(client: TestClient, db: Engine) -> None:
    response = client.post("/api/chat", json={"sender": "a", "text": "factuur " * 1250})
    assert response.status_code == 413
    assert "at most 2000 characters" in response.json()["error"]["message"]
    huge_body = client.post("/api/chat", content=b'{"sender": "a", "text": "' + b"x" * 70000 + b'"}')
    assert huge_body.status_code == 413
    assert count_messages(db) == 0


def test_emoji_only_gets_a_reply(client: TestClient) -> None:
    response = client.post("/api/chat", json={"sender": "web-3", "text": "🙂🙂"})
    assert response.status_code == 200 and response.json()["replies"]


def test_rasa_down_apologises_in_the_customer_language(
    client: TestClient, rasa: FakeServer, db: Engine
) -> None:
    rasa.stop()
    response = client.post(
        "/api/chat", json={"sender": "web-4", "text": "my SIM card is not detected by my phone"}
    )
    assert response.status_code == 200
    assert "technical problem" in response.json()["replies"][0]["text"]
    assert count_messages(db) == 2


def test_health_reports_each_component(client: TestClient, rasa: FakeServer, actions: FakeServer) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "components": {"gateway": "up", "database": "up", "rasa": "up", "action_server": "up"},
    }
    actions.stop()
    response = client.get("/health")
    assert response.status_code == 200  # still takes messages: stays in a load balancer's rotation
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["action_server"] == "down"
    rasa.stop()
    response = client.get("/health")
    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["components"]["rasa"] == "down"


def test_webchat_page_is_served_with_persona(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '"botName": "Mila"' in page.text
    assert client.get("/static/avatar.svg").status_code == 200
