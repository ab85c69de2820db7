"""kill -9 of each program of the real stack under supervisord (as `make run` runs it): customers
get a 200 with the apology in their language and their message is stored, agents work on, /health
says degraded, and the program comes back by itself. Prints the seconds until it is back.

A stack of its own (its programs get killed), on a fresh database (SQLite here; a PostgreSQL
schema on the PostgreSQL pass) with an agent. The tests run in order on it."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine, messages
from bot.core.rules import default_rules
from bot.core.settings import PROJECT_ROOT
from bot.core.texts import text as gateway_text
from bot.run import Stack
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.e2e_stack import kill_program, seconds_until_back, stack_on_fresh_database
from tests.helpers.console import PASSWORD, AgentApi, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.db]
AGENT = "nora"
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def response_text(name: str, language: str, **slots: str) -> str:
    for variant in DOMAIN["responses"][name]:
        if variant["condition"][0]["value"] == language:
            return variant["text"].format(**slots)
    raise KeyError(name)


def seed(engine: Engine) -> None:
    AgentDirectory(engine).create(AGENT, PASSWORD, display_name="Nora", languages="nl,fr,en")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_on_fresh_database(tmp_path_factory.mktemp("crash"), "crash", seed) as running:
        yield running


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[Engine]:
    engine = create_db_engine(stack.settings.database_url)
    yield engine
    engine.dispose()


class Customer:
    """One web chat customer: a sender and a client of its own (keeps whatever cookie it gets)."""

    def __init__(self, stack: Stack) -> None:
        self.sender = f"crash-{uuid.uuid4().hex[:8]}"
        self.http = httpx.Client(base_url=stack.settings.gateway_url, timeout=60)

    def post(self, text: str) -> httpx.Response:
        return self.http.post("/api/chat", json={"sender": self.sender, "text": text})

    def say(self, text: str) -> dict[str, Any]:
        response = self.post(text)
        assert response.status_code == 200, response.text
        return response.json()


def texts(body: dict[str, Any]) -> list[str]:
    return [reply["text"] for reply in body["replies"] if reply.get("text")]


def stored(db: Engine, cid: str, text: str) -> list[str]:
    """Statuses of the customer's messages with ``text`` in conversation ``cid``."""
    query = select(messages.c.status).where(
        messages.c.conversation_id == cid, messages.c.direction == "in", messages.c.text == text
    )
    with db.connect() as conn:
        return list(conn.execute(query).scalars())


def health(stack: Stack) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{stack.settings.gateway_url}/health", timeout=10)
    return response.status_code, response.json()


def report(name: str, seconds: float) -> None:
    print(f"\n{name} killed with -9: back (restarted, /health ok) after {seconds:.1f} s", flush=True)


def supervisord_log(stack: Stack) -> str:
    return (stack.logs / "supervisord.log").read_text()


@contextlib.contextmanager
def console_stream(stack: Stack, agent: AgentApi, cid: str) -> Iterator[queue.Queue[str]]:
    """The agent console's live stream of ``cid``: its data lines, as they arrive."""
    lines: queue.Queue[str] = queue.Queue()
    opened = threading.Event()
    held: list[socket.socket] = []

    def read() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=httpx.Timeout(10, read=None)) as http:
            url = f"{stack.settings.gateway_url}/agent/api/stream?conversation={cid}"
            with http.stream("GET", url, headers=agent.cookie) as response:
                assert response.status_code == 200
                held.append(response.extensions["network_stream"].get_extra_info("socket"))
                opened.set()
                for line in response.iter_lines():
                    lines.put(line)
        opened.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert opened.wait(10) and held, "the console stream did not open"
    try:
        yield lines
    finally:
        with contextlib.suppress(OSError):
            held[0].shutdown(socket.SHUT_RDWR)
        thread.join(5)


def wait_for_line(lines: queue.Queue[str], needle: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(queue.Empty):
            line = lines.get(timeout=left)
            if line.startswith("data:") and needle in line:
                return line
    raise AssertionError(f"{needle!r} did not arrive on the stream within {timeout_s} s")


def test_rasa_killed_customers_get_an_apology_agents_work_on_and_it_comes_back(
    stack: Stack, db: Engine
) -> None:
    dutch = Customer(stack)
    greeting = dutch.say("hallo")
    assert texts(greeting)[0] == response_text("utter_greet", "nl", bot_name="Mila")
    waiting = Customer(stack)
    cid = waiting.say("goedemiddag")["conversation_id"]
    assert HandoffQueue(db).escalate(cid, default_rules()["request_human"], summary="wants a person")
    agent = log_in(httpx.Client(base_url=stack.settings.gateway_url, timeout=30), AGENT)
    agent.ok(agent.post("presence", {"presence": "online"}))
    agent.ok(agent.act(cid, "claim"))

    old_pid = kill_program(stack, "rasa")
    killed_at = time.monotonic()
    french = Customer(stack)
    text = "ma carte sim n'est pas reconnue par mon téléphone"
    body = french.say(text)
    assert (body["language"], texts(body)) == ("fr", [gateway_text("rasa_unavailable", "fr")])
    assert stored(db, body["conversation_id"], text) == ["failed"]
    body = dutch.say("is er 5G in Gent?")
    assert texts(body) == [gateway_text("rasa_unavailable", "nl")]
    assert stored(db, body["conversation_id"], "is er 5G in Gent?") == ["failed"]
    code, status = health(stack)
    assert (code, status["status"], status["components"]["rasa"]) == (200, "degraded", "down")

    assert cid in [item["conversation_id"] for item in agent.queue()["mine"]]
    with console_stream(stack, agent, cid) as lines:
        assert waiting.post("zijn jullie daar nog?").status_code == 200
        wait_for_line(lines, "zijn jullie daar nog?")
        agent.ok(agent.act(cid, "reply", text="Ja, ik ben er."))
        wait_for_line(lines, "Ja, ik ben er.")

    seconds = seconds_until_back(stack, "rasa", old_pid, killed_at)
    report("rasa", seconds)
    again = dutch.say("is er 5G in Gent?")
    assert texts(again)[0] == response_text("utter_coverage_5g_everywhere", "nl", place="Gent")
    assert again["conversation_id"] == body["conversation_id"]
    assert "exited: rasa (terminated by SIGKILL; not expected)" in supervisord_log(stack)


def test_action_server_killed_customers_get_an_apology_and_it_comes_back(stack: Stack, db: Engine) -> None:
    customer = Customer(stack)
    first = customer.say("is there 5G in Ghent?")
    assert texts(first)[0] == response_text("utter_coverage_5g_everywhere", "en", place="Ghent")

    old_pid = kill_program(stack, "actions")
    killed_at = time.monotonic()
    body = customer.say("is there 5G in Namur?")
    assert texts(body) == [gateway_text("rasa_unavailable", "en")]
    assert stored(db, body["conversation_id"], "is there 5G in Namur?") == ["failed"]
    code, status = health(stack)
    assert (code, status["status"], status["components"]["action_server"]) == (200, "degraded", "down")

    seconds = seconds_until_back(stack, "actions", old_pid, killed_at)
    report("actions", seconds)
    # (the same customer asking about 5G a third time in a row would be handed to a person)
    again = Customer(stack).say("is there 5G in Namur?")  # a session start and a custom action
    assert texts(again)[0] == response_text("utter_coverage_5g_everywhere", "en", place="Namur")
    billing = customer.say("how can I pay my bill?")
    assert texts(billing)[0] == response_text("utter_billing_payment_methods", "en")
    assert "exited: actions (terminated by SIGKILL; not expected)" in supervisord_log(stack)


def test_gateway_killed_is_restarted_and_the_conversation_goes_on(stack: Stack, db: Engine) -> None:
    customer = Customer(stack)
    first = customer.say("hoe kan ik mijn factuur betalen?")
    assert texts(first)[0] == response_text("utter_billing_payment_methods", "nl")

    old_pid = kill_program(stack, "gateway")
    killed_at = time.monotonic()
    with pytest.raises(httpx.TransportError):  # nothing answers for a moment: no 5xx either
        customer.post("tegen wanneer moet mijn rekening betaald zijn")
    seconds = seconds_until_back(stack, "gateway", old_pid, killed_at)
    report("gateway", seconds)

    again = customer.say("tegen wanneer moet mijn rekening betaald zijn")
    assert again["conversation_id"] == first["conversation_id"]
    assert texts(again)[0] == response_text("utter_billing_due_date", "nl")
    assert stored(db, again["conversation_id"], "hoe kan ik mijn factuur betalen?") == ["answered"]
    assert "exited: gateway (terminated by SIGKILL; not expected)" in supervisord_log(stack)


def test_the_logs_are_per_program(stack: Stack) -> None:
    assert {p.name for p in Path(stack.logs).glob("*.log")} >= {
        "supervisord.log",
        "rasa.log",
        "actions.log",
        "gateway.log",
    }
