"""The agent console end to end over HTTP, on a real database: log-in, CSRF, the queue and its
routing, claim / reply / hand back / close with the satisfaction question, the masked export,
both live streams (customer and console), metrics and the admin screens.

Customers talk to the gateway's /api/chat (answered by the fake Rasa server); escalations are
queued with HandoffQueue.escalate, the way the action server does it. Streams are read from a
real uvicorn server: Starlette's TestClient buffers a whole response, so it cannot read SSE.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.agentdesk.console_api import COOKIE
from bot.core.db import agents, conversations, csat, messages, utcnow
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.queue import Handoff, HandoffQueue
from handoff.throttle import LoginPolicy, LoginThrottle
from testkit.fakes.http_server import FakeServer
from tests.helpers.clock import Clock
from tests.helpers.console import PASSWORD, AgentApi, error_code, log_in, log_in_request, set_cookie
from tests.helpers.gateway import live_gateway

MARKUP = "<img src=x onerror=alert(1)>"
IBAN, PHONE = "BE68 5390 0754 7034", "0470 12 34 56"
FR_FRAUD = "Bonjour, quelqu'un a utilisé ma carte SIM pour des appels frauduleux vers l'étranger"
NL_FRAUD = "Iemand belt mij steeds en vraagt naar mijn bankgegevens, is dat wel van jullie?"
NL_HUMAN = "Ik wil graag met een medewerker praten over mijn abonnement"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def app_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    """The module's one fake Rasa and action server (tests/agentdesk/conftest.py): tests filter
    what Rasa received by conversation id."""
    return settings.with_overrides(
        rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0, feed_interval_s=0.05
    )


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as client:
        yield client


# --- HTTP helpers ---------------------------------------------------------------------------


@dataclass
class Customer:
    """A web chat customer, talking to the gateway like the web chat page does."""

    http: httpx.Client
    sender: str
    locale: str | None = None
    token: str | None = None  # the conversation token the first answer issues

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Chat-Token": self.token} if self.token else {}

    def say(self, text: str) -> dict[str, Any]:
        body = {"sender": self.sender, "text": text, "locale": self.locale}
        response = self.http.post("/api/chat", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer.pop("sender") == self.sender  # a new sender: claimed, and kept by its token
        self.token = answer.pop("token") or self.token
        return answer

    def history(self) -> dict[str, Any]:
        response = self.http.get("/api/chat/history", params={"sender": self.sender}, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


def add_agent(
    directory: AgentDirectory,
    http: httpx.Client,
    username: str,
    languages: tuple[str, ...] = ("nl",),
    *,
    role: str = "agent",
    presence: str = "online",
) -> AgentApi:
    """Create an account, log it in through the API and set its presence."""
    directory.create(username, PASSWORD, display_name=username.capitalize(), role=role, languages=languages)
    agent = log_in(http, username)
    if presence != "offline":
        agent.ok(agent.post("presence", {"presence": presence}))
    return agent


@pytest.fixture
def new_agent(client: TestClient, directory: AgentDirectory) -> Callable[..., AgentApi]:
    return partial(add_agent, directory, client)


@pytest.fixture
def ann(new_agent: Callable[..., AgentApi]) -> AgentApi:
    """Online, answers Dutch and French."""
    return new_agent("ann", ("nl", "fr"))


@pytest.fixture
def bob(new_agent: Callable[..., AgentApi]) -> AgentApi:
    """Online, answers Dutch and French too."""
    return new_agent("bob", ("nl", "fr"))


# --- database and escalation helpers --------------------------------------------------------


def escalate(engine: Engine, customer: Customer, text: str, reason: str = "fraud") -> str:
    """The customer writes; then the conversation is queued the way action_escalate does it."""
    cid = customer.say(text)["conversation_id"]
    intent = reason if reason == "request_human" else f"sensitive_{reason}"
    handoff = HandoffQueue(engine).escalate(
        cid,
        default_rules()[reason],
        summary=f"customer needs a person: {reason}",
        intents=["greet", intent],
        slots={"customer_number": "C-1001", "sim_blocked": False},
    )
    assert handoff is not None
    return cid


def owner_of(engine: Engine, cid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()


def handoff_of(engine: Engine, cid: str) -> Handoff:
    handoff = HandoffQueue(engine).latest_handoff(cid)
    assert handoff is not None
    return handoff


def stored_messages(engine: Engine, cid: str, **where: Any) -> list[Any]:
    query = select(messages).where(messages.c.conversation_id == cid).order_by(messages.c.id)
    for column, value in where.items():
        query = query.where(messages.c[column] == value)
    with engine.connect() as conn:
        return conn.execute(query).all()


def conversations_of(engine: Engine, sender: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(conversations).where(conversations.c.sender == sender).order_by(conversations.c.created_at)
        ).all()


def rasa_requests_about(rasa: FakeServer, cid: str) -> list[Any]:
    """Everything the fake Rasa received for this conversation (messages, slots, trackers)."""
    return [r for r in list(rasa.requests) if cid in r.path or cid.encode() in r.body]


@pytest.fixture
def clock() -> Clock:
    """The log-in throttle's time, moved by the test."""
    return Clock(utcnow())


def on_clock(http: TestClient, clock: Clock, policy: LoginPolicy | None = None) -> TestClient:
    """The gateway's log-in throttle (on its database) runs on the test's clock from now on."""
    services = http.app.state.console  # type: ignore[attr-defined]
    services.login_throttle = LoginThrottle(services.directory.engine, policy, clock)
    return http


def from_address(http: TestClient, address: str) -> TestClient:
    """Another client of the same running gateway, at ``address``."""
    return TestClient(http.app, client=(address, 50000))


def agent_joined(language: str, name: str) -> str:
    return customer_text("agent_joined", language).format(agent=name)


# --- a real server for the live streams -----------------------------------------------------


@pytest.fixture
def live(app_settings: Settings) -> Iterator[httpx.Client]:
    with live_gateway(app_settings) as http:
        yield http


@dataclass(frozen=True)
class Event:
    name: str
    data: Any
    id: str | None


class EventStream:
    """Reads a server-sent event stream in a thread; the test waits for events with a deadline."""

    def __init__(self, http: httpx.Client, path: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.response: httpx.Response | None = None
        self._socket: socket.socket | None = None
        self._opened = threading.Event()
        base_url = str(http.base_url)
        self._thread = threading.Thread(target=self._read, args=(base_url, path, headers or {}), daemon=True)
        self._thread.start()
        assert self._opened.wait(10), f"{path} did not answer"
        assert self.response is not None and self.response.status_code == 200, self.response
        assert self.response.headers["content-type"].startswith("text/event-stream")

    def _read(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=None)) as http,
                http.stream("GET", path, headers=headers) as response,
            ):
                self.response = response
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self._opened.set()
                self._parse(response.iter_lines())
        except httpx.HTTPError:
            pass  # cut by close()
        finally:
            self._opened.set()

    def _parse(self, lines: Iterator[str]) -> None:
        name, data, event_id = "message", [], None
        for line in lines:
            if not line:
                if data:
                    self.events.put(Event(name, json.loads("\n".join(data)), event_id))
                name, data, event_id = "message", [], None
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first matching event, already received or arriving within ``timeout``.

        Events already received count because their order is not always fixed: the stream may
        see a claim's owner change before the notice that the same request stores next.
        """
        earlier = next((event for event in self.seen if predicate(event)), None)
        if earlier is not None:
            return earlier
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no such event within {timeout} s; got {self.seen}")

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the server may have closed it already
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)


@contextmanager
def event_stream(
    http: httpx.Client, path: str, headers: dict[str, str] | None = None
) -> Iterator[EventStream]:
    stream = EventStream(http, path, headers)
    try:
        yield stream
    finally:
        stream.close()


def is_event(name: str, **fields: Any) -> Callable[[Event], bool]:
    return lambda e: e.name == name and all(e.data.get(k) == v for k, v in fields.items())


# --- log-in, sessions and CSRF --------------------------------------------------------------


@pytest.mark.parametrize("secure", [False, True])
def test_log_in_sets_an_http_only_strict_cookie_scoped_to_the_console(
    app_settings: Settings, directory: AgentDirectory, secure: bool
) -> None:
    directory.create("ann", PASSWORD, display_name="Ann", languages=["nl", "fr"])
    with TestClient(create_app(app_settings.with_overrides(secure_cookies=secure))) as client:
        response = log_in_request(client, "ann")
        assert response.status_code == 200
        cookie = set_cookie(response)
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/agent"
        assert bool(cookie["secure"]) is secure
        assert int(cookie["max-age"]) == 12 * 3600
        body = response.json()
        assert {k: body[k] for k in ("username", "display_name", "role", "languages", "presence")} == {
            "username": "ann",
            "display_name": "Ann",
            "role": "agent",
            "languages": ["nl", "fr"],
            "presence": "offline",
        }
        assert body["available"] is False and body["csrf"]
        assert not any("password" in key for key in body)
        me = client.get("/agent/api/me", headers={"Cookie": f"{COOKIE}={cookie.value}"})
        assert me.status_code == 200
        assert me.json() == body


def test_me_needs_a_live_session(client: TestClient, directory: AgentDirectory) -> None:
    directory.create("ann", PASSWORD)
    for headers in ({}, {"Cookie": f"{COOKIE}=forged"}, {"Cookie": f"other={COOKIE}"}):
        response = client.get("/agent/api/me", headers=headers)
        assert response.status_code == 401 and error_code(response) == "not_logged_in"
    ann = log_in(client, "ann")
    assert ann.get("me").status_code == 200
    assert client.get("/agent/api/me").status_code == 401  # the cookie is not kept by the client


def test_wrong_password_is_401_and_the_sixth_failure_in_a_row_is_429(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    directory.create("bob", PASSWORD)
    unknown = log_in_request(client, "nobody")
    assert unknown.status_code == 401 and error_code(unknown) == "bad_credentials"
    for _ in range(4):
        response = log_in_request(client, "ann", "not the password")
        assert response.status_code == 401 and error_code(response) == "bad_credentials"
        assert "set-cookie" not in response.headers
    for password in ("not the password", PASSWORD):  # even the right one, for a while
        blocked = log_in_request(client, "ann", password)
        assert blocked.status_code == 429 and error_code(blocked) == "too_many_attempts"
        assert blocked.headers["retry-after"] == "2"
        assert "set-cookie" not in blocked.headers
    assert log_in_request(client, "bob").status_code == 429  # this client waits, whatever the account
    assert log_in_request(from_address(client, "198.51.100.20"), "bob").status_code == 200


def test_a_success_resets_the_failure_count(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    for _ in range(4):
        assert log_in_request(client, "ann", "not the password").status_code == 401
    assert log_in_request(client, "ann").status_code == 200
    for _ in range(5):
        assert log_in_request(client, "ann", "not the password").status_code == 401
    assert log_in_request(client, "ann").status_code == 429


@pytest.mark.parametrize("spelling", [" ann", "ann ", "ANN "])
def test_the_log_in_throttle_is_not_bypassed_by_respelling_the_username(
    client: TestClient, directory: AgentDirectory, spelling: str, clock: Clock
) -> None:
    """The directory strips and lower-cases the username; the throttle must count it the same way."""
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    for _ in range(5):
        assert log_in_request(client, "ann", "not the password").status_code == 401
    response = log_in_request(client, spelling)
    assert response.status_code == 429, "a padded username gets fresh attempts at the same account"
    # and from other clients, once the name is under attack, each respelling's failure counts
    for n, other in enumerate(("203.0.113.1", "203.0.113.2")):
        assert log_in_request(from_address(client, other), spelling, "not the password").status_code == 401
        again = log_in_request(from_address(client, other), "ann")
        assert again.status_code == 429 and again.headers["retry-after"] == "2", n


def assert_throttled(response: httpx.Response, retry_after: int) -> None:
    """429 in the documented error shape, with the seconds to wait."""
    assert response.status_code == 429, response.text
    assert response.json() == {"error": {"code": "too_many_attempts", "message": ANY_TEXT}}
    assert response.headers["retry-after"] == str(retry_after)
    assert "set-cookie" not in response.headers


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_TEXT = _AnyText()


def test_someone_hammering_a_username_does_not_lock_the_agent_out(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    """Failures on a username slow down the clients that fail, not the agent's own browser."""
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    attacker, agent = from_address(client, "203.0.113.66"), from_address(client, "198.51.100.7")
    for _ in range(5):
        assert log_in_request(attacker, "ann", "guess").status_code == 401
    for _ in range(20):  # the attacker keeps trying: refused, and not even checked
        assert_throttled(log_in_request(attacker, "ann", "guess"), 32)  # 2^5: its failures on "ann"
    assert log_in_request(agent, "ann").status_code == 200  # a client without failures logs in
    # The agent mistypes while the name is under attack: a short wait, for that client only.
    assert log_in_request(agent, "ann", "typo").status_code == 401
    assert_throttled(log_in_request(agent, "ann"), 2)
    clock.advance(2)
    assert log_in_request(agent, "ann").status_code == 200


def test_one_client_cannot_try_one_password_on_many_usernames(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    for name in ("admin", "root", "bob", "carla", "dirk"):
        assert log_in_request(client, name, "Summer2024!").status_code == 401
    assert_throttled(log_in_request(client, "ann", "Summer2024!"), 2)
    assert_throttled(log_in_request(client, "ann"), 2)  # the right password waits too, from here


def test_a_client_backs_off_exponentially_up_to_a_cap(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    on_clock(client, clock, LoginPolicy(max_delay=timedelta(seconds=20)))
    directory.create("ann", PASSWORD)
    names = (f"user{n}" for n in range(100))  # a new username every time: only the client counts
    for _ in range(5):
        assert log_in_request(client, next(names), "guess").status_code == 401
    for wait in (2, 4, 8, 16, 20, 20):
        assert_throttled(log_in_request(client, next(names), "guess"), wait)
        clock.advance(wait - 1)
        assert_throttled(log_in_request(client, next(names), "guess"), 1)  # refusals do not add to it
        clock.advance(1)
        assert log_in_request(client, next(names), "guess").status_code == 401
    clock.advance(15 * 60)  # the failures leave the window
    assert log_in_request(client, "ann").status_code == 200


def test_ipv6_clients_count_per_64_block(client: TestClient, directory: AgentDirectory, clock: Clock) -> None:
    on_clock(client, clock)
    directory.create("ann", PASSWORD)
    for n in range(5):  # a new address of the same /64 (and a new username) for every guess
        guesser = from_address(client, f"2001:db8:1:2::{n + 1}")
        assert log_in_request(guesser, f"user{n}", "guess").status_code == 401
    assert_throttled(log_in_request(from_address(client, "2001:db8:1:2::99"), "ann", "guess"), 2)
    assert log_in_request(from_address(client, "2001:db8:1:3::1"), "ann").status_code == 200


def test_gateway_replicas_share_the_throttle(
    app_settings: Settings, directory: AgentDirectory, clock: Clock
) -> None:
    """The counts are in the database: a second gateway knows what the first one saw."""
    directory.create("ann", PASSWORD)
    first = TestClient(create_app(app_settings), client=("203.0.113.66", 50000))
    second = TestClient(create_app(app_settings), client=("203.0.113.66", 50000))
    with first, second:
        on_clock(first, clock)
        on_clock(second, clock)
        for _ in range(5):
            assert log_in_request(first, "ann", "guess").status_code == 401
        assert_throttled(log_in_request(second, "ann", "guess"), 32)
        assert log_in_request(from_address(second, "198.51.100.7"), "ann").status_code == 200


def test_many_addresses_at_once_reach_the_global_cap_but_the_agents_own_client_still_logs_in(
    client: TestClient, directory: AgentDirectory, clock: Clock
) -> None:
    on_clock(client, clock, LoginPolicy(user_cap=12))
    directory.create("ann", PASSWORD)
    agent = from_address(client, "198.51.100.7")
    assert log_in_request(agent, "ann").status_code == 200  # the agent's usual client
    for n in range(12):  # a botnet: one guess per address
        assert log_in_request(from_address(client, f"203.0.113.{n + 1}"), "ann", "guess").status_code == 401
    stranger = log_in_request(from_address(client, "192.0.2.1"), "ann")
    assert stranger.status_code == 429 and int(stranger.headers["retry-after"]) == 15 * 60
    assert log_in_request(agent, "ann").status_code == 200
    clock.advance(15 * 60)  # the guesses leave the window
    assert log_in_request(from_address(client, "192.0.2.1"), "ann").status_code == 200


def test_an_inactive_agent_cannot_log_in(client: TestClient, directory: AgentDirectory) -> None:
    ann = directory.create("ann", PASSWORD)
    directory.update(ann.id, active=False)
    assert log_in_request(client, "ann").status_code == 401


def test_log_out_needs_csrf_then_ends_the_session_and_goes_offline(
    ann: AgentApi, client: TestClient, directory: AgentDirectory
) -> None:
    refused = client.post("/agent/api/logout", json={}, headers=ann.cookie)
    assert refused.status_code == 403 and error_code(refused) == "csrf"
    assert ann.get("me").status_code == 200
    response = ann.post("logout")
    assert response.status_code == 200 and response.json() == {"ok": True}
    removed = set_cookie(response)
    assert removed.value == "" and removed["path"] == "/agent" and int(removed["max-age"]) == 0
    assert ann.get("me").status_code == 401
    assert directory.by_username("ann").presence == "offline"


@pytest.mark.parametrize("csrf", [None, "", "wrong", "other-session"])
def test_a_post_without_the_right_csrf_token_is_403_and_changes_nothing(
    engine: Engine, client: TestClient, ann: AgentApi, bob: AgentApi, csrf: str | None
) -> None:
    cid = escalate(engine, Customer(client, "web-csrf"), NL_FRAUD)
    headers = dict(ann.cookie)
    if csrf is not None:
        headers["X-CSRF-Token"] = bob.csrf if csrf == "other-session" else csrf
    claim = client.post(f"/agent/api/conversations/{cid}/claim", json={}, headers=headers)
    assert claim.status_code == 403 and error_code(claim) == "csrf"
    presence = client.post("/agent/api/presence", json={"presence": "away"}, headers=headers)
    assert presence.status_code == 403
    assert owner_of(engine, cid) == "queued" and handoff_of(engine, cid).claimed_by is None
    assert stored_messages(engine, cid, author="system") == []
    assert ann.ok(ann.get("me"))["presence"] == "online"


def test_posts_must_be_json(client: TestClient, ann: AgentApi, directory: AgentDirectory) -> None:
    headers = {**ann.cookie, "X-CSRF-Token": ann.csrf}
    form = client.post("/agent/api/presence", content=b"presence=away", headers=headers)
    assert form.status_code == 415 and error_code(form) == "json_required"
    form_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    assert (
        client.post("/agent/api/presence", content=b"presence=away", headers=form_headers).status_code == 415
    )
    text_headers = {**headers, "Content-Type": "text/plain"}
    assert (
        client.post("/agent/api/presence", content=b'{"presence": "away"}', headers=text_headers).status_code
        == 415
    )
    json_headers = {**headers, "Content-Type": "application/json"}
    for body in (b"{oops", b'["away"]', b'"away"', b"\xff\xfe"):
        malformed = client.post("/agent/api/presence", content=body, headers=json_headers)
        assert malformed.status_code == 400 and error_code(malformed) == "invalid_json"
    login_form = client.post("/agent/api/login", data={"username": "ann", "password": PASSWORD})
    assert login_form.status_code == 415
    assert directory.by_username("ann").presence == "online"


def test_presence_must_be_a_known_value(ann: AgentApi) -> None:
    for value in ("busy", None, 1):
        response = ann.post("presence", {"presence": value})
        assert response.status_code == 422 and error_code(response) == "invalid_presence"
    assert ann.ok(ann.post("presence", {"presence": "away"}))["presence"] == "away"
    assert ann.ok(ann.get("me"))["available"] is False


# --- the queue and its routing --------------------------------------------------------------


def test_an_escalated_chat_is_offered_to_online_agents_who_speak_its_language(
    engine: Engine, client: TestClient, new_agent: Callable[..., AgentApi]
) -> None:
    ann = new_agent("ann", ("nl", "fr"))
    nina = new_agent("nina", ("nl",))
    away = new_agent("aline", ("fr",), presence="away")
    offline = new_agent("olivier", ("fr",), presence="offline")
    customer = Customer(client, "web-fr-1", "fr-BE")
    cid = escalate(engine, customer, FR_FRAUD)

    view = ann.queue()
    assert view["available"] is True
    assert [e["conversation_id"] for e in view["offered"]] == [cid]
    entry = view["offered"][0]
    assert {k: entry[k] for k in ("reason", "priority", "language", "channel", "claimed_by", "summary")} == {
        "reason": "fraud",
        "priority": "urgent",
        "language": "fr",
        "channel": "web",
        "claimed_by": None,
        "summary": "customer needs a person: fraud",
    }
    assert entry["handoff_id"] == handoff_of(engine, cid).id and entry["waiting_s"] >= 0
    assert (view["mine"], view["waiting_total"], view["waiting_other_languages"]) == ([], 1, 0)

    packet = ann.packet(cid)
    assert packet["conversation"] == {
        "id": cid,
        "channel": "web",
        "owner": "queued",
        "language": "fr",
        "created_at": packet["conversation"]["created_at"],
    }
    assert packet["handoff"]["intents"] == ["greet", "sensitive_fraud"]
    assert packet["handoff"]["slots"] == {"customer_number": "C-1001", "sim_blocked": False}
    assert packet["handoff"]["ended"] is False
    assert [(m["author"], m["text"]) for m in packet["transcript"]] == [
        ("customer", FR_FRAUD),
        ("bot", f"[fr] you said: {FR_FRAUD}"),
    ]
    assert packet["canned"] and all("{agent}" not in c["text"] for c in packet["canned"])

    other_language = nina.queue()
    assert other_language["available"] is True and other_language["offered"] == []
    assert (other_language["waiting_total"], other_language["waiting_other_languages"]) == (1, 1)
    for agent in (away, offline):
        view = agent.queue()
        assert view["available"] is False and view["offered"] == []

    refused = nina.act(cid, "claim")
    assert refused.status_code == 403 and error_code(refused) == "wrong_language"
    assert nina.get(f"conversations/{cid}").status_code == 403
    not_online = away.act(cid, "claim")
    assert not_online.status_code == 409 and error_code(not_online) == "not_online"
    assert owner_of(engine, cid) == "queued"


def test_an_agent_whose_console_went_silent_counts_as_offline(
    engine: Engine, client: TestClient, app_settings: Settings, ann: AgentApi
) -> None:
    cid = escalate(engine, Customer(client, "web-stale"), NL_FRAUD)
    assert [e["conversation_id"] for e in ann.queue()["offered"]] == [cid]
    silent_since = utcnow() - timedelta(seconds=app_settings.presence_timeout_s + 5)
    with engine.begin() as conn:
        conn.execute(update(agents).where(agents.c.username == "ann").values(last_seen_at=silent_since))
    view = ann.queue()
    assert view["available"] is False and view["offered"] == []
    assert ann.ok(ann.get("me"))["available"] is False
    assert ann.act(cid, "claim").status_code == 409
    ann.ok(ann.post("presence", {"presence": "online"}))
    assert [e["conversation_id"] for e in ann.queue()["offered"]] == [cid]


def test_fraud_is_offered_before_an_earlier_request_for_a_human(
    engine: Engine, client: TestClient, ann: AgentApi
) -> None:
    first = escalate(engine, Customer(client, "web-human"), NL_HUMAN, "request_human")
    urgent = escalate(engine, Customer(client, "web-fraud"), NL_FRAUD, "fraud")
    complaint = escalate(engine, Customer(client, "web-complaint"), "Ik ben echt ontevreden", "complaint")
    offered = ann.queue()["offered"]
    assert [(e["conversation_id"], e["priority"]) for e in offered] == [
        (urgent, "urgent"),
        (complaint, "high"),
        (first, "normal"),
    ]


def test_packets_of_unknown_or_never_escalated_chats_are_404(client: TestClient, ann: AgentApi) -> None:
    bot_only = Customer(client, "web-bot").say("Hoe betaal ik mijn factuur?")["conversation_id"]
    for cid in ("no-such-conversation", bot_only):
        assert ann.get(f"conversations/{cid}").status_code == 404
        assert ann.get(f"conversations/{cid}/export").status_code == 404
    assert ann.act(bot_only, "claim").status_code == 409
    assert ann.act(bot_only, "dance").status_code == 404


# --- claim ----------------------------------------------------------------------------------


def test_claim_tells_the_customer_in_their_language_and_a_second_claim_is_409(
    engine: Engine, client: TestClient, ann: AgentApi, bob: AgentApi
) -> None:
    customer = Customer(client, "web-fr-claim", "fr-BE")
    cid = escalate(engine, customer, FR_FRAUD)
    assert ann.ok(ann.act(cid, "claim")) == {"ok": True}
    assert owner_of(engine, cid) == "agent"
    assert handoff_of(engine, cid).claimed_by == "ann"

    history = customer.history()
    assert (history["conversation_id"], history["owner"], history["language"]) == (cid, "agent", "fr")
    notice = history["messages"][-1]
    assert notice["author"] == "system" and notice["event"] == "agent_joined"
    assert notice["text"] == agent_joined("fr", "Ann")
    assert notice["text"].startswith("Ann, de notre service clientèle")
    assert history["last_id"] == notice["id"]

    second = bob.act(cid, "claim")
    assert second.status_code == 409 and error_code(second) == "taken"
    assert handoff_of(engine, cid).claimed_by == "ann"
    assert len(stored_messages(engine, cid, author="system")) == 1
    view = ann.queue()
    assert view["offered"] == [] and [e["conversation_id"] for e in view["mine"]] == [cid]
    assert view["mine"][0]["claimed_by"] == "ann"
    assert bob.queue()["mine"] == []


def claim_at_once(team: list[AgentApi], cid: str) -> dict[str, int]:
    """Every agent claims the chat at the same moment; the HTTP status each one got."""
    barrier = threading.Barrier(len(team))
    statuses: dict[str, int] = {}

    def claim(agent: AgentApi) -> None:
        barrier.wait()
        statuses[agent.username] = agent.act(cid, "claim").status_code

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return statuses


def test_agents_claiming_at_once_through_the_api_exactly_one_wins(
    engine: Engine, client: TestClient, new_agent: Callable[..., AgentApi]
) -> None:
    team = [new_agent(f"agent{i}", ("nl",)) for i in range(4)]
    for round_ in range(3):
        cid = escalate(engine, Customer(client, f"web-race-{round_}"), NL_FRAUD)
        statuses = claim_at_once(team, cid)
        assert sorted(statuses.values()) == [200, 409, 409, 409], statuses
        winner = next(name for name, status in statuses.items() if status == 200)
        assert handoff_of(engine, cid).claimed_by == winner
        joined = stored_messages(engine, cid, author="system")
        assert [m.payload["agent"] for m in joined] == [winner.capitalize()]


def test_customer_messages_skip_rasa_while_an_agent_has_the_chat(
    engine: Engine, client: TestClient, rasa: FakeServer, ann: AgentApi
) -> None:
    customer = Customer(client, "web-owned")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    before = len(rasa_requests_about(rasa, cid))
    assert before >= 1  # the first message went to Rasa
    answer = customer.say("Hallo? Bent u daar nog? Ik wacht al een tijdje.")
    assert (answer["owner"], answer["replies"], answer["conversation_id"]) == ("agent", [], cid)
    assert len(rasa_requests_about(rasa, cid)) == before
    latest = ann.packet(cid)["transcript"][-1]
    assert (latest["author"], latest["direction"]) == ("customer", "in")
    assert latest["text"] == "Hallo? Bent u daar nog? Ik wacht al een tijdje."


# --- reply ----------------------------------------------------------------------------------


def test_an_agent_reply_reaches_the_transcript_and_the_customer(
    engine: Engine, client: TestClient, ann: AgentApi
) -> None:
    customer = Customer(client, "web-reply")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    assert handoff_of(engine, cid).first_reply_at is None
    sent = ann.ok(ann.act(cid, "reply", text="  Dag! Ik blokkeer je SIM-kaart meteen.  "))
    assert sent["ok"] is True

    (row,) = stored_messages(engine, cid, author="agent")
    assert row.id == sent["message_id"]
    assert (row.direction, row.text, row.language, row.status) == (
        "out",
        "Dag! Ik blokkeer je SIM-kaart meteen.",
        "nl",
        "sent",
    )
    assert row.payload == {"event": "agent_reply", "agent": "Ann"}
    first_reply = handoff_of(engine, cid).first_reply_at
    assert first_reply is not None

    shown = customer.history()["messages"][-1]
    assert (shown["id"], shown["author"], shown["agent"], shown["event"]) == (
        row.id,
        "agent",
        "Ann",
        "agent_reply",
    )
    assert shown["text"] == "Dag! Ik blokkeer je SIM-kaart meteen."
    entry = ann.packet(cid)["transcript"][-1]
    assert (entry["id"], entry["author"], entry["agent"], entry["text"]) == (row.id, "agent", "Ann", row.text)

    ann.ok(ann.act(cid, "reply", text="Is er nog iets?"))
    assert handoff_of(engine, cid).first_reply_at == first_reply  # the first one counts


def test_markup_in_messages_comes_back_verbatim_as_json(
    engine: Engine, client: TestClient, ann: AgentApi
) -> None:
    customer = Customer(client, "web-markup")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    customer.say(f"Kijk: {MARKUP}")
    ann.ok(ann.act(cid, "reply", text=MARKUP))
    packet = ann.get(f"conversations/{cid}")
    history = client.get("/api/chat/history", params={"sender": "web-markup"}, headers=customer.headers)
    for response in (packet, history):
        assert response.headers["content-type"] == "application/json"
        assert "&lt;" not in response.text and "&amp;" not in response.text
    transcript = packet.json()["transcript"]
    assert [m["text"] for m in transcript if m["author"] == "agent"] == [MARKUP]
    assert f"Kijk: {MARKUP}" in [m["text"] for m in transcript if m["author"] == "customer"]
    assert history.json()["messages"][-1]["text"] == MARKUP
    assert stored_messages(engine, cid, author="agent")[0].text == MARKUP


def test_replies_must_be_non_empty_and_come_from_the_agent_who_has_the_chat(
    engine: Engine, client: TestClient, ann: AgentApi, bob: AgentApi
) -> None:
    cid = escalate(engine, Customer(client, "web-reply-rules"), NL_FRAUD)
    waiting = ann.act(cid, "reply", text="Hallo")
    assert waiting.status_code == 409  # nobody has taken it yet
    ann.ok(ann.act(cid, "claim"))
    for body in ({"text": ""}, {"text": "  \n\t "}, {}, {"text": None}):
        empty = ann.post(f"conversations/{cid}/reply", body)
        assert empty.status_code == 422 and error_code(empty) == "empty_reply"
    too_long = ann.act(cid, "reply", text="x" * 4001)
    assert too_long.status_code == 413 and error_code(too_long) == "reply_too_long"
    intruder = bob.act(cid, "reply", text="Ik neem het over")
    assert intruder.status_code == 409 and error_code(intruder) == "not_yours"
    assert stored_messages(engine, cid, author="agent") == []
    assert handoff_of(engine, cid).first_reply_at is None


# --- hand back and close --------------------------------------------------------------------


def test_hand_back_gives_the_chat_to_the_bot_again(
    engine: Engine, client: TestClient, rasa: FakeServer, ann: AgentApi, bob: AgentApi
) -> None:
    customer = Customer(client, "web-fr-back", "fr-BE")
    cid = escalate(engine, customer, FR_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    assert bob.act(cid, "handback").status_code == 409
    ann.ok(ann.act(cid, "reply", text="C'est réglé, je vous repasse à Mila."))
    assert ann.ok(ann.act(cid, "handback")) == {"ok": True}
    assert owner_of(engine, cid) == "bot"
    handoff = handoff_of(engine, cid)
    assert handoff.outcome == "handed_back" and handoff.ended_at is not None
    notice = customer.history()["messages"][-1]
    assert (notice["author"], notice["event"]) == ("system", "handed_back")
    assert notice["text"] == customer_text("handed_back", "fr").format(bot="Mila")
    assert ann.queue()["mine"] == []
    assert ann.act(cid, "reply", text="encore moi").status_code == 409
    assert ann.act(cid, "handback").status_code == 409

    before = len(rasa.received("POST", "/webhooks/rest/webhook"))
    question = "Et comment puis-je payer ma facture ce mois-ci ?"
    answer = customer.say(question)
    assert (answer["conversation_id"], answer["owner"]) == (cid, "bot")
    assert answer["replies"] == [{"text": f"[fr] you said: {question}"}]
    sent = rasa.received("POST", "/webhooks/rest/webhook")[before:]
    assert [(r.json()["sender"], r.json()["message"]) for r in sent] == [(cid, question)]


def test_close_asks_for_a_score_and_stores_the_answer_without_a_new_chat(
    engine: Engine, client: TestClient, rasa: FakeServer, ann: AgentApi, bob: AgentApi
) -> None:
    customer = Customer(client, "web-fr-close", "fr-BE")
    cid = escalate(engine, customer, FR_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    ann.ok(ann.act(cid, "reply", text="Votre carte SIM est bloquée, une nouvelle arrive demain."))
    assert bob.act(cid, "close").status_code == 409
    assert ann.ok(ann.act(cid, "close")) == {"ok": True}
    assert owner_of(engine, cid) == "closed"
    assert conversations_of(engine, "web-fr-close")[0].closed_at is not None
    assert handoff_of(engine, cid).outcome == "closed"
    assert ann.act(cid, "close").status_code == 409

    buttons = [{"title": str(n), "payload": str(n)} for n in range(1, 6)]
    question = ann.packet(cid)["transcript"][-1]
    assert (question["author"], question["event"], question["buttons"]) == (
        "system",
        "csat_question",
        buttons,
    )
    assert question["text"] == customer_text("csat_question", "fr")
    shown = customer.history()
    assert shown["owner"] == "closed" and shown["messages"][-1]["buttons"] == buttons

    webhook_calls = len(rasa.received("POST", "/webhooks/rest/webhook"))
    thanks = customer.say("4")
    assert thanks == {
        "replies": [{"text": customer_text("csat_thanks", "fr")}],
        "language": "fr",
        "owner": "closed",
        "conversation_id": cid,
    }
    with engine.connect() as conn:
        (score,) = conn.execute(select(csat).where(csat.c.conversation_id == cid)).all()
    assert (score.score, score.language) == (4, "fr") and score.answered_at is not None
    assert [c.id for c in conversations_of(engine, "web-fr-close")] == [cid]
    assert len(rasa.received("POST", "/webhooks/rest/webhook")) == webhook_calls
    answer = stored_messages(engine, cid, author="customer")[-1]
    assert (answer.text, answer.payload) == ("4", {"event": "csat_answer", "score": 4})

    later = customer.say("Bonjour, j'ai encore une question sur ma facture")
    assert later["conversation_id"] != cid and later["owner"] == "bot"
    assert later["replies"] == [{"text": "[fr] you said: Bonjour, j'ai encore une question sur ma facture"}]
    assert [c.owner for c in conversations_of(engine, "web-fr-close")] == ["closed", "bot"]


def test_only_an_admin_may_close_a_chat_nobody_has_taken(
    engine: Engine, client: TestClient, ann: AgentApi, new_agent: Callable[..., AgentApi]
) -> None:
    customer = Customer(client, "web-close-queued")
    cid = escalate(engine, customer, NL_FRAUD)
    assert ann.act(cid, "close").status_code == 409
    admin = new_agent("root", ("nl",), role="admin")
    admin.ok(admin.act(cid, "close"))
    assert owner_of(engine, cid) == "closed"
    last = customer.history()["messages"][-1]
    # nobody talked to the customer, so no score is asked: they are told how to go on
    assert (last["event"], last["text"]) == ("closed", customer_text("closed_unanswered", "nl"))
    assert last["buttons"] == []


# --- export ---------------------------------------------------------------------------------


def test_the_export_masks_personal_data_that_the_packet_shows(
    engine: Engine, client: TestClient, ann: AgentApi, new_agent: Callable[..., AgentApi]
) -> None:
    customer = Customer(client, "web-export")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    private = f"Mijn rekening is {IBAN} en mijn gsm is {PHONE}, bel me maar."
    customer.say(private)
    ann.ok(ann.act(cid, "reply", text=f"Ik bel je zo op {PHONE}."))

    packet_text = ann.get(f"conversations/{cid}").text
    assert IBAN in packet_text and PHONE in packet_text

    export = ann.get(f"conversations/{cid}/export")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/plain")
    assert export.headers["content-disposition"] == f'attachment; filename="transcript-{cid}.txt"'
    lines = export.text.splitlines()
    said = "\n".join(line.split("] ", 1)[1] for line in lines[1:])  # without the timestamps
    assert IBAN not in said and PHONE not in said
    assert "5390" not in said and "0754" not in said and "12 34" not in said
    assert "[IBAN BE" in said and "7034]" in said and "[phone" in said
    assert lines[0] == f"conversation {cid}  reason=fraud  language=nl  channel=web"
    assert any(line.endswith(f"customer: {NL_FRAUD}") for line in lines)
    assert any("] Ann: Ik bel je zo op [phone" in line for line in lines)
    assert sum("customer: Mijn rekening is [IBAN" in line for line in lines) == 1

    french_only = new_agent("fabrice", ("fr",))
    assert french_only.get(f"conversations/{cid}/export").status_code == 403


# --- live streams (real server) -------------------------------------------------------------


def test_the_customer_stream_pushes_what_the_agent_says(
    live: httpx.Client, engine: Engine, directory: AgentDirectory
) -> None:
    ann = add_agent(directory, live, "ann", ("nl", "fr"))
    customer = Customer(live, "web-stream", "fr-BE")
    cid = escalate(engine, customer, FR_FRAUD)
    with event_stream(live, "/api/chat/stream?sender=web-stream", customer.headers) as stream:
        stream.wait_for(is_event("owner", owner="queued"))
        ann.ok(ann.act(cid, "claim"))
        joined = stream.wait_for(is_event("message", event="agent_joined"))
        assert joined.data["text"] == agent_joined("fr", "Ann") and joined.id == str(joined.data["id"])
        stream.wait_for(is_event("owner", owner="agent"))
        ann.ok(ann.act(cid, "reply", text=f"Bonjour ! {MARKUP}"))
        reply = stream.wait_for(is_event("message", author="agent"))
        assert reply.data["text"] == f"Bonjour ! {MARKUP}"
        assert (reply.data["agent"], reply.data["event"]) == ("Ann", "agent_reply")
    pushed = [e.data["text"] for e in stream.seen if e.name == "message"]
    assert FR_FRAUD not in pushed and f"[fr] you said: {FR_FRAUD}" not in pushed  # only what came later


def test_the_console_stream_shows_customer_messages_as_they_arrive(
    live: httpx.Client, engine: Engine, directory: AgentDirectory
) -> None:
    ann = add_agent(directory, live, "ann", ("nl",))
    customer = Customer(live, "web-console-stream")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    with event_stream(live, f"/agent/api/stream?conversation={cid}", ann.cookie) as stream:
        first_queue = stream.wait_for(is_event("queue"))
        assert [e["conversation_id"] for e in first_queue.data["mine"]] == [cid]
        stream.wait_for(is_event("owner", owner="agent"))
        customer.say("Zijn jullie daar nog? Mijn kaart werkt niet meer.")
        event = stream.wait_for(
            is_event("message", author="customer", text="Zijn jullie daar nog? Mijn kaart werkt niet meer.")
        )
        assert event.data["direction"] == "in" and event.id == str(event.data["id"])


def test_the_console_stream_needs_a_session_and_the_chat_language(
    live: httpx.Client, engine: Engine, directory: AgentDirectory
) -> None:
    nina = add_agent(directory, live, "nina", ("nl",))
    cid = escalate(engine, Customer(live, "web-fr-secret", "fr-BE"), FR_FRAUD)
    assert live.get("/agent/api/stream").status_code == 401
    assert live.get(f"/agent/api/stream?conversation={cid}", headers=nina.cookie).status_code == 403


@pytest.mark.parametrize("after", ["9" * 25, "1" * 5000, "abc", "1e9", "-"])
def test_the_console_stream_refuses_an_after_that_is_no_message_id(
    client: TestClient, ann: AgentApi, after: str
) -> None:
    """A 25-digit ``after`` used to reach the query (an overflow on SQLite): now a 400."""
    for headers in ({}, {"Last-Event-ID": after}):
        params = {} if headers else {"after": after}
        response = client.get("/agent/api/stream", params=params, headers={**ann.cookie, **headers})
        assert (response.status_code, error_code(response)) == (400, "invalid_after")


@pytest.mark.parametrize("ended_by", ["logout", "deactivation"])
def test_the_console_stream_stops_when_the_session_ends(
    live: httpx.Client, engine: Engine, directory: AgentDirectory, ended_by: str
) -> None:
    ann = add_agent(directory, live, "ann", ("nl",))
    customer = Customer(live, "web-after-logout")
    cid = escalate(engine, customer, NL_FRAUD)
    ann.ok(ann.act(cid, "claim"))
    with event_stream(live, f"/agent/api/stream?conversation={cid}", ann.cookie) as stream:
        stream.wait_for(is_event("owner", owner="agent"))
        if ended_by == "logout":
            ann.ok(ann.post("logout"))
        else:
            directory.update(directory.by_username("ann").id, active=False)
        assert ann.get("me").status_code == 401
        secret = f"Mijn IBAN is {IBAN}"
        customer.say(secret)  # wakes every stream
        ended = stream.wait_for(lambda e: e.name == "logout" or e.data.get("text") == secret)
        assert ended.name == "logout", "a stream of an ended session still receives customer messages"


# --- metrics --------------------------------------------------------------------------------


def test_metrics_after_a_handoff_from_escalation_to_score(
    engine: Engine, client: TestClient, ann: AgentApi
) -> None:
    customer = Customer(client, "web-metrics")
    cid = escalate(engine, customer, NL_FRAUD)
    escalate(engine, Customer(client, "web-metrics-2"), NL_HUMAN, "request_human")
    Customer(client, "web-metrics-3").say("Hoe betaal ik mijn factuur?")  # the bot handles this one
    ann.ok(ann.act(cid, "claim"))
    ann.ok(ann.act(cid, "reply", text="Ik kijk het na."))
    ann.ok(ann.act(cid, "close"))
    assert customer.say("4")["owner"] == "closed"

    assert client.get("/agent/api/metrics").status_code == 401
    figures = ann.ok(ann.get("metrics", days=7))
    assert (figures["conversations"], figures["escalated"]) == (3, 2)
    assert figures["containment"] == pytest.approx(1 / 3)
    assert figures["escalations"]["total"] == 2
    assert figures["escalations"]["by_reason"] == {"fraud": 1, "request_human": 1}
    assert figures["escalations"]["by_priority"] == {"normal": 1, "urgent": 1}
    assert figures["first_reply"]["count"] == 1 and figures["first_reply"]["within_promise"] == 1.0
    assert figures["first_reply"]["waiting_now"] == 1
    assert figures["resolution"]["by_outcome"] == {"closed": 1, "handed_back": 0}
    assert figures["csat"] == {
        "asked": 1,
        "answered": 1,
        "response_rate": 1.0,
        "average": 4.0,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
    }


def test_the_console_shows_hours_and_metrics_in_the_configured_time_zone(
    app_settings: Settings, directory: AgentDirectory
) -> None:
    """TIME_ZONE, not a zone of its own: the hours the admin sees and saves, the metrics' days."""
    now = utcnow()
    # whichever of the two farthest zones is on another date than Brussels right now
    zone = next(
        ZoneInfo(name)
        for name in ("Pacific/Kiritimati", "Etc/GMT+12")
        if now.astimezone(ZoneInfo(name)).date() != now.astimezone(ZoneInfo("Europe/Brussels")).date()
    )
    directory.create("root", PASSWORD, role="admin", languages=["nl"])
    with TestClient(create_app(app_settings.with_overrides(time_zone=zone))) as http:
        root = log_in(http, "root")
        assert root.ok(root.get("hours"))["timezone"] == str(zone)
        spec = {"weekly": {"monday": ["08:00", "20:00"]}, "holidays": [], "timezone": "Europe/Brussels"}
        assert root.ok(root.post("hours", spec))["timezone"] == str(zone)
        figures = root.ok(root.get("metrics", days=1))
    since = datetime.fromisoformat(figures["window"]["since"])
    assert figures["by_day"][0]["date"] == since.astimezone(zone).date().isoformat()


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin(new_agent: Callable[..., AgentApi]) -> AgentApi:
    return new_agent("root", ("nl", "fr", "en"), role="admin")


def test_admin_screens_are_for_admins_only(ann: AgentApi) -> None:
    for response in (
        ann.get("agents"),
        ann.post("agents", {"username": "mallory", "password": PASSWORD, "languages": ["nl"]}),
        ann.post("agents/1", {"role": "admin"}),
        ann.post("outages", {"region": "gent", "services": "4G"}),
        ann.post("outages/1/resolve"),
    ):
        assert response.status_code == 403 and error_code(response) == "admin_only"
    assert ann.ok(ann.get("me"))["role"] == "agent"
    assert ann.ok(ann.get("outages")) == []  # reading the outages is for every agent


def test_an_admin_creates_agents_and_cannot_lock_themselves_out(
    client: TestClient, admin: AgentApi, directory: AgentDirectory
) -> None:
    created = admin.post(
        "agents",
        {"username": "Zoe.Dubois", "password": PASSWORD, "display_name": "Zoé", "languages": ["fr", "en"]},
    )
    assert created.status_code == 201
    zoe_id = created.json()["id"]
    assert created.json() == {
        "id": zoe_id,
        "username": "zoe.dubois",
        "display_name": "Zoé",
        "role": "agent",
        "languages": ["fr", "en"],
        "presence": "offline",
        "active": True,
    }
    duplicate = admin.post("agents", {"username": "zoe.dubois", "password": PASSWORD, "languages": ["fr"]})
    assert duplicate.status_code == 422 and error_code(duplicate) == "invalid_agent"
    assert [a["username"] for a in admin.ok(admin.get("agents"))] == ["root", "zoe.dubois"]
    zoe = log_in(client, "zoe.dubois")

    root_id = directory.by_username("root").id
    for change in ({"active": False}, {"role": "agent"}):
        refused = admin.post(f"agents/{root_id}", change)
        assert refused.status_code == 409 and error_code(refused) == "self_lockout"
    assert admin.ok(admin.post(f"agents/{root_id}", {"display_name": "Root"}))["display_name"] == "Root"
    me = admin.ok(admin.get("me"))
    assert (me["role"], me["active"]) == ("admin", True)

    changed = admin.ok(admin.post(f"agents/{zoe_id}", {"languages": ["nl"], "role": "admin"}))
    assert (changed["languages"], changed["role"]) == (["nl"], "admin")
    assert admin.ok(admin.post(f"agents/{zoe_id}", {"active": False}))["active"] is False
    assert zoe.get("me").status_code == 401
    assert log_in_request(client, "zoe.dubois").status_code == 401


@pytest.mark.parametrize("falsy", [0, None, ""])
def test_the_self_lockout_guard_is_not_fooled_by_other_falsy_values(
    admin: AgentApi, directory: AgentDirectory, falsy: Any
) -> None:
    """directory.update deactivates on any falsy `active`; the guard only recognises JSON false."""
    root_id = directory.by_username("root").id
    response = admin.post(f"agents/{root_id}", {"active": falsy})
    assert directory.by_username("root").active is True, "the admin deactivated themselves"
    assert response.status_code in (409, 422)  # refused as a lock-out, or as not a boolean


def agent_body(**changes: Any) -> dict[str, Any]:
    return {"username": "zoe", "password": PASSWORD, "languages": ["nl"], **changes}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(agent_body(username=""), id="no-username"),
        pytest.param(agent_body(username="x y"), id="username-with-space"),
        pytest.param(agent_body(password="123"), id="short-password"),
        pytest.param({"username": "zoe", "password": PASSWORD}, id="no-languages"),
        pytest.param(agent_body(languages=["de"]), id="unsupported-language"),
        pytest.param(agent_body(role="owner"), id="unknown-role"),
        pytest.param(agent_body(languages=5), id="languages-a-number"),
        pytest.param(agent_body(languages=[1]), id="language-a-number"),
        pytest.param(agent_body(display_name=123), id="display-name-a-number"),
    ],
)
def test_invalid_agents_are_refused_with_422(
    admin: AgentApi, directory: AgentDirectory, body: dict[str, Any]
) -> None:
    response = admin.post("agents", body)
    assert response.status_code == 422 and error_code(response) == "invalid_agent"
    assert [a.username for a in directory.all()] == ["root"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"role": "owner"}, id="unknown-role"),
        pytest.param({"languages": []}, id="no-languages"),
        pytest.param({"password": "short"}, id="short-password"),
        pytest.param({"languages": 5}, id="languages-a-number"),
        pytest.param({"password": 12345678901}, id="password-a-number"),
    ],
)
def test_invalid_agent_changes_are_refused_with_422(
    admin: AgentApi, directory: AgentDirectory, new_agent: Callable[..., AgentApi], change: dict[str, Any]
) -> None:
    zoe = new_agent("zoe", ("fr",))
    before = directory.by_username("zoe")
    response = admin.post(f"agents/{before.id}", change)
    assert response.status_code == 422 and error_code(response) == "invalid_agent"
    assert directory.by_username("zoe") == before
    assert zoe.get("me").status_code == 200


def test_an_admin_adds_and_resolves_an_outage(admin: AgentApi) -> None:
    for invalid in (
        {"services": "4G"},
        {"region": "gent"},
        {"region": "x" * 65, "services": "4G"},
        {"region": "gent", "services": "4G", "expected_fix_hours": 0},
        {"region": "gent", "services": "4G", "expected_fix_hours": 721},
        {"region": "gent", "services": "4G", "expected_fix_hours": "3"},
    ):
        response = admin.post("outages", invalid)
        assert response.status_code == 422 and error_code(response) == "invalid_outage"
    before = utcnow()
    added = admin.post("outages", {"region": " Gent ", "services": "4G,5G", "expected_fix_hours": 3})
    assert added.status_code == 201 and added.json() == {"ok": True}
    (outage,) = admin.ok(admin.get("outages"))
    assert (outage["region"], outage["services"]) == ("gent", "4G,5G")
    fix = datetime.fromisoformat(outage["expected_fix_at"])
    assert before + timedelta(hours=3) <= fix <= utcnow() + timedelta(hours=3)

    resolved = admin.post(f"outages/{outage['id']}/resolve")
    assert resolved.status_code == 200 and resolved.json() == {"ok": True}
    assert admin.ok(admin.get("outages")) == []
    again = admin.post(f"outages/{outage['id']}/resolve")
    assert (again.status_code, error_code(again)) == (404, "not_found")
