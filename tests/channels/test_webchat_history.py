"""What a reloaded web chat gets back from /api/chat/history: the whole conversation, the
customer's, the bot's and the agent's messages and the notices, in order, the earlier chats of
the last day included (an agent's closed chat stays when the customer asks something new), at
most the newest HISTORY_MESSAGES; the stream resumes after it without repeating anything; and an
old quick reply pressed after the agent closed the chat starts nothing and keeps the score open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot.channels import webchat
from bot.core.db import conversations, utcnow
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import PASSWORD, AgentApi, log_in
from tests.helpers.gateway import live_gateway

QUESTION = "Bonjour, quelqu'un a utilisé ma carte SIM"
REPLY = "Votre carte SIM est bloquée."


@pytest.fixture
def app_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    return settings.with_overrides(
        rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0, feed_interval_s=0.05
    )


@pytest.fixture
def client(app_settings: Settings, fast_password_hashing: None) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as client:
        yield client


class Customer:
    """A web chat customer with the token its first answer issued."""

    def __init__(self, http: httpx.Client | TestClient, sender: str) -> None:
        self.http, self.sender, self.token = http, sender, ""

    def say(self, text: str, title: str | None = None) -> dict[str, Any]:
        headers = {"X-Chat-Token": self.token} if self.token else {}
        body = {"sender": self.sender, "text": text, "locale": "fr-BE"}
        if title:
            body["button_title"] = title
        answer = self.http.post("/api/chat", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["token"] or self.token
        return answer.json()

    def history(self) -> dict[str, Any]:
        response = self.http.get("/api/chat/history", headers={"X-Chat-Token": self.token})
        assert response.status_code == 200, response.text
        return response.json()


def agent(http: httpx.Client | TestClient, engine: Engine) -> AgentApi:
    AgentDirectory(engine).create("ann", PASSWORD, display_name="Ann", languages=("nl", "fr"))
    ann = log_in(http, "ann")  # type: ignore[arg-type]
    assert ann.post("presence", {"presence": "online"}).status_code == 200
    return ann


def escalated(engine: Engine, customer: Customer) -> str:
    cid = customer.say(QUESTION)["conversation_id"]
    handoff = HandoffQueue(engine).escalate(cid, default_rules()["fraud"], summary="fraud", intents=["greet"])
    assert handoff is not None
    return cid


def shown(history: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(m["author"], m["event"], m["text"]) for m in history["messages"]]


def test_the_history_brings_back_bot_agent_and_notices_of_the_closed_chat_and_the_new_one(
    client: TestClient, engine: Engine
) -> None:
    customer, ann = Customer(client, "web-history"), agent(client, engine)
    first = escalated(engine, customer)
    assert ann.act(first, "claim").status_code == 200
    assert ann.act(first, "reply", text=REPLY).status_code == 200
    assert ann.act(first, "close").status_code == 200
    customer.say("4")  # the score, stored with the closed chat
    later = customer.say("Et ma facture ?")
    assert later["conversation_id"] != first

    history = customer.history()
    assert (history["conversation_id"], history["owner"]) == (later["conversation_id"], "bot")
    messages = shown(history)
    expected = [
        ("customer", None, QUESTION),
        ("bot", None, f"[fr] you said: {QUESTION}"),
        ("agent", "agent_reply", REPLY),
        ("system", "csat_question", customer_text("csat_question", "fr")),
        ("customer", "csat_answer", "4"),
        ("system", None, customer_text("csat_thanks", "fr")),
        ("customer", None, "Et ma facture ?"),
        ("bot", None, "[fr] you said: Et ma facture ?"),
    ]
    assert [m for m in messages if m in expected] == expected  # all of it, in this order
    assert any(event == "agent_joined" for _author, event, _text in messages)
    ids = [m["id"] for m in history["messages"]]
    assert ids == sorted(set(ids)) and history["last_id"] == ids[-1]
    reply = next(m for m in history["messages"] if m["author"] == "agent")
    assert reply["agent"] == "Ann"


def test_chats_of_before_the_history_window_stay_out(client: TestClient, engine: Engine) -> None:
    customer = Customer(client, "web-yesterday")
    old = customer.say("une vieille question")["conversation_id"]
    with engine.begin() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == old)
            .values(owner="closed", updated_at=utcnow() - webchat.HISTORY_WINDOW - timedelta(minutes=1))
        )
    customer.say("une nouvelle question")
    texts = [text for _author, _event, text in shown(customer.history())]
    assert texts == ["une nouvelle question", "[fr] you said: une nouvelle question"]


def test_a_long_chat_comes_back_as_its_newest_messages(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat, "HISTORY_MESSAGES", 3)
    customer = Customer(client, "web-long")
    for n in range(3):
        customer.say(f"question {n}")
    history = customer.history()
    assert [text for _author, _event, text in shown(history)] == [
        "[fr] you said: question 1",
        "question 2",
        "[fr] you said: question 2",
    ]
    assert history["last_id"] == history["messages"][-1]["id"]


def pushed_messages(http: httpx.Client, token: str, after: int, then: Any) -> dict[str, Any]:
    """Open the customer's stream after ``after``, call ``then()``, and return the first message
    the stream pushes (the stream answers nothing for what came before ``after``)."""
    params = {"after": str(after), "token": token}
    with http.stream("GET", "/api/chat/stream", params=params, timeout=httpx.Timeout(10.0)) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        then()
        event = ""
        for line in lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "message":
                return json.loads(line.split(":", 1)[1])
    raise AssertionError("the stream ended without a message")


def test_the_stream_resumes_after_the_history_without_repeating_it(
    app_settings: Settings, engine: Engine, fast_password_hashing: None
) -> None:
    with live_gateway(app_settings) as http:
        customer, ann = Customer(http, "web-resume"), agent(http, engine)
        cid = escalated(engine, customer)
        assert ann.act(cid, "claim").status_code == 200
        assert ann.act(cid, "reply", text=REPLY).status_code == 200
        history = customer.history()
        assert history["messages"][-1]["text"] == REPLY

        def answer_again() -> None:
            assert ann.act(cid, "reply", text="Une nouvelle carte arrive demain.").status_code == 200

        pushed = pushed_messages(http, customer.token, history["last_id"], answer_again)
    assert pushed["text"] == "Une nouvelle carte arrive demain."
    assert pushed["id"] > history["last_id"]


def test_an_old_choice_pressed_after_the_close_starts_nothing_and_the_score_still_counts(
    client: TestClient, engine: Engine, rasa: FakeServer
) -> None:
    customer, ann = Customer(client, "web-stale"), agent(client, engine)
    cid = escalated(engine, customer)
    assert ann.act(cid, "claim").status_code == 200
    assert ann.act(cid, "close").status_code == 200
    heard = len(rasa.received("POST", "/webhooks/rest/webhook"))

    stale = customer.say("/deny", title="Non")  # a quick reply of before the close
    assert (stale["conversation_id"], stale["owner"]) == (cid, "closed")
    [reply] = stale["replies"]
    assert reply["text"] == customer_text("csat_stale_choice", "fr")
    assert [b["payload"] for b in reply["buttons"]] == ["1", "2", "3", "4", "5"]
    assert len(rasa.received("POST", "/webhooks/rest/webhook")) == heard  # Rasa never heard it

    thanks = customer.say("5", title="5")
    assert (thanks["conversation_id"], thanks["replies"]) == (
        cid,
        [{"text": customer_text("csat_thanks", "fr")}],
    )
    history = customer.history()
    assert history["conversation_id"] == cid and history["messages"][-2]["text"] == "5"
    assert customer.say("/deny", title="Non")["conversation_id"] != cid  # rated: a new chat as usual
