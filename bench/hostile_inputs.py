"""The hostile inputs of bench/reliability_hostile.py: what each one sends and how it was answered.

Every input is a :class:`Case`: a request built from the :class:`Context` (the conversations, the
admin session and the platforms' secrets set up first), sent once; the database and the fake
Rasa are compared before and after it, so an input that was refused but left something behind
(or an accepted one stored without its reply) shows as half-stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import chat_sessions, conversation_refs, conversations, handoffs, messages, processed_updates
from handoff.agents import AgentDirectory
from testkit.fakes.http_server import FakeServer

PASSWORD = "bench-password-123"
DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 2500 + b"1" + b"}" * 2500
HUGE_INT = b"1" * 5000
JSON = {"Content-Type": "application/json"}
WATCHED = (conversations, messages, handoffs, chat_sessions, processed_updates, conversation_refs)
WEBHOOK = "/webhooks/rest/webhook"

# method, path, httpx keyword arguments
Request = tuple[str, str, dict[str, Any]]


@dataclass
class Outcome:
    status: int | None  # None: no answer in time
    error_shape: bool = False  # {"error": {"code": ..., "message": ...}}
    half_stored: bool = False
    note: str = ""


@dataclass
class Context:
    timeout_s: float = 5.0
    flood: int = 300
    burst: int = 120  # the chat API's burst per client: the inputs before the flood stay within it
    slack_token: str = "xoxb-customers"
    slack_secret: str = "customer-signing-secret"
    agent_token: str = "xoxb-webcare"
    agent_secret: str = "webcare-signing-secret"
    telegram_token: str = "123456:TEST-token"
    telegram_secret: str = "webhook-Secret_42"
    http: httpx.Client | None = None
    engine: Engine | None = None
    rasa: FakeServer | None = None
    victim: tuple[str, str] = ("", "")  # sender, token
    other: tuple[str, str] = ("", "")
    admin: dict[str, str] = field(default_factory=dict)  # cookie and CSRF headers
    flood_note: str = "not run"

    def prepare(self, http: httpx.Client, engine: Engine, rasa: FakeServer) -> None:
        """Two customers with a conversation each, and a logged-in admin."""
        self.http, self.engine, self.rasa = http, engine, rasa
        self.victim, self.other = self._customer("victim"), self._customer("other")
        AgentDirectory(engine).create("bench.admin", PASSWORD, role="admin", languages="nl,fr,en")
        login = http.post("/agent/api/login", json={"username": "bench.admin", "password": PASSWORD})
        login.raise_for_status()
        self.admin = {"Cookie": f"cc_agent={http.cookies['cc_agent']}", "X-CSRF-Token": login.json()["csrf"]}
        http.cookies.clear()

    def _customer(self, name: str) -> tuple[str, str]:
        assert self.http is not None
        sender = f"{name}-{uuid.uuid4().hex}"
        answer = self.http.post(
            "/api/chat", json={"sender": sender, "text": "mijn IBAN is BE71 0961 2345 6769"}
        )
        answer.raise_for_status()
        self.http.cookies.clear()
        return sender, answer.json()["token"]

    def snapshot(self) -> tuple[int, ...]:
        assert self.engine is not None and self.rasa is not None
        with self.engine.connect() as conn:
            rows = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in WATCHED)
        return (*rows, len(self.rasa.received("POST", WEBHOOK)))


@dataclass
class Case:
    surface: str
    name: str
    request: Callable[[Context], Request] | None = None
    accept: bool = False  # accepted on purpose: a 2xx that must store the message and its reply
    custom: Callable[[Context], Outcome] | None = None

    def run(self, ctx: Context) -> Outcome:
        if self.custom is not None:
            return self.custom(ctx)
        assert self.request is not None and ctx.http is not None
        ctx.http.cookies.clear()  # every input on its own: no cookie of an earlier answer
        before = ctx.snapshot()
        outcome = send(ctx.http, *self.request(ctx))
        if self.surface in ("telegram", "slack"):
            time.sleep(0.2)  # what a webhook would do after its answer has had time to start
        after = ctx.snapshot()
        if self.accept:  # one conversation, the message and its reply, one question to Rasa
            changed = [a - b for a, b in zip(after, before, strict=True)]
            outcome.half_stored = outcome.status == 200 and (changed[1], changed[-1]) != (2, 1)
        else:
            outcome.half_stored = after != before
        return outcome


def send(http: httpx.Client, method: str, path: str, kwargs: dict[str, Any]) -> Outcome:
    """One request; a stream is read only as far as its status (one that opens is not refused)."""
    try:
        with http.stream(method, path, **kwargs) as response:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return Outcome(response.status_code, note="a stream opened")
            response.read()
    except httpx.TimeoutException:
        return Outcome(None, note="no answer in time")
    except httpx.TransportError as exc:
        return Outcome(None, note=f"connection: {exc}")
    return Outcome(response.status_code, error_shape=_error_shape(response), note=response.text[:120])


def _error_shape(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        set(body) == {"error"}
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


# -- building the requests ------------------------------------------------------------------------


def raw(
    method: str, path: str, content: bytes, headers: dict[str, Any] | None = None
) -> Callable[[Context], Request]:
    return lambda ctx: (method, path, {"content": content, "headers": {**JSON, **(headers or {})}})


VICTIM = "<the victim's sender>"  # stands for it in the bodies and parameters below


def _victims(values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {key: ctx.victim[0] if value == VICTIM else value for key, value in values.items()}


def _token_header(value: str | bytes | None) -> list[tuple[str, bytes]]:
    """X-Chat-Token as bytes on the wire (control characters other than tab cannot be sent:
    the HTTP client refuses them, as the server's parser would; they go in the URL instead)."""
    if not value:
        return []
    return [("X-Chat-Token", value if isinstance(value, bytes) else value.encode("utf-8"))]


def chat(body: dict[str, Any], token: Callable[[Context], Any] | None = None) -> Callable[[Context], Request]:
    def build(ctx: Context) -> Request:
        headers = _token_header(token(ctx) if token else None)
        return "POST", "/api/chat", {"json": _victims(body, ctx), "headers": headers}

    return build


def get(path: str, params: dict[str, str] | None = None, token: Callable[[Context], Any] | None = None):
    def build(ctx: Context) -> Request:
        headers = _token_header(token(ctx) if token else None)
        return "GET", path, {"params": _victims(params or {}, ctx), "headers": headers}

    return build


def with_victim(path: str, param: str) -> Callable[[Context], Request]:
    """``?<param>=<the victim's sender or token>``: a sender read in a URL, or a token."""
    return lambda ctx: ("GET", path, {"params": {param: ctx.victim[0 if param == "sender" else 1]}})


def console(method: str, path: str, content: bytes | None = None, csrf: bool = True):
    def build(ctx: Context) -> Request:
        headers = {**JSON, **(ctx.admin if csrf else {"Cookie": ctx.admin["Cookie"]})}
        return method, f"/agent/api/{path}", {"content": content, "headers": headers}

    return build


def telegram(body: bytes, secret: str | None = None) -> Callable[[Context], Request]:
    def build(ctx: Context) -> Request:
        headers = {**JSON, "X-Telegram-Bot-Api-Secret-Token": secret or ctx.telegram_secret}
        return "POST", "/telegram/webhook", {"content": body, "headers": headers}

    return build


def slack(agents: bool, body: bytes, timestamp: str | None = None, forged: bool = False, form: bool = False):
    def build(ctx: Context) -> Request:
        secret = "not-the-secret" if forged else (ctx.agent_secret if agents else ctx.slack_secret)
        stamp = timestamp or str(int(time.time()))
        base = b"v0:" + stamp.encode() + b":" + body
        headers = {
            "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest(),
        }
        return (
            "POST",
            "/slack/agents/events" if agents else "/slack/events",
            {"content": body, "headers": headers},
        )

    return build


def flood(ctx: Context) -> Outcome:
    """``ctx.flood`` messages from one client, 8 at a time: beyond the burst they get 429."""
    assert ctx.http is not None
    before, lock, statuses = ctx.snapshot(), threading.Lock(), Counter[int]()

    def one(n: int) -> None:
        try:
            status = ctx.http.post(
                "/api/chat", json={"sender": f"flood-{n}-{uuid.uuid4().hex[:6]}", "text": "hoi"}
            ).status_code  # type: ignore[union-attr]
        except httpx.TimeoutException:
            status = 0
        with lock:
            statuses[status] += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(ctx.flood)))
    after = ctx.snapshot()
    ctx.flood_note = (
        f"{ctx.flood} messages at once: {statuses[200]} answered, {statuses[429]} refused with 429"
    )
    half = after[1] - before[1] != 2 * statuses[200]  # every answered one: message + reply
    worst = max(statuses) if statuses[0] == 0 else None
    status = 429 if statuses[429] and set(statuses) <= {200, 429} else worst
    return Outcome(status, error_shape=True, half_stored=half, note=str(dict(statuses)))


def victim_token(ctx: Context) -> str:
    return ctx.victim[1]


def other_token(ctx: Context) -> str:
    return ctx.other[1]


UPDATE = json.dumps(
    {"update_id": 90000001, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}}
).encode()
SLACK_EVENT = json.dumps(
    {
        "type": "event_callback",
        "team_id": "T0CUST",
        "event_id": "Ev0001",
        "event": {"type": "message", "user": "UANN", "text": "hallo", "channel": "D0ANN", "ts": "1.1"},
    }
).encode()

CASES: list[Case] = [
    # -- the chat API ------------------------------------------------------------------------
    Case("chat", "nested 5,000 deep", raw("POST", "/api/chat", DEEP)),
    Case("chat", "object nested 2,500 deep", raw("POST", "/api/chat", DEEP_OBJECT)),
    Case(
        "chat",
        "deep locale",
        raw("POST", "/api/chat", b'{"sender": "s", "text": "hi", "locale": ' + DEEP + b"}"),
    ),
    Case("chat", "5,000-digit text", raw("POST", "/api/chat", b'{"sender": "s", "text": ' + HUGE_INT + b"}")),
    Case(
        "chat", "5,000-digit sender", raw("POST", "/api/chat", b'{"sender": ' + HUGE_INT + b', "text": "hi"}')
    ),
    Case("chat", "NaN", raw("POST", "/api/chat", b'{"sender": "s", "text": NaN}')),
    Case("chat", "not JSON", raw("POST", "/api/chat", b"{oops")),
    Case("chat", "a JSON array", raw("POST", "/api/chat", b"[1, 2]")),
    Case("chat", "not UTF-8", raw("POST", "/api/chat", b'{"sender": "s", "text": "\xff\xfe"}')),
    Case("chat", "empty body", raw("POST", "/api/chat", b"")),
    Case(
        "chat",
        "body of 70 KB",
        raw("POST", "/api/chat", b'{"sender": "s", "text": "' + b"x" * 70_000 + b'"}'),
    ),
    Case("chat", "text of 10,000 characters", chat({"sender": "s-long", "text": "a" * 10_000})),
    Case("chat", "NUL in the text", chat({"sender": "s-nul", "text": "hal\x00lo"})),
    Case("chat", "NUL in the sender", chat({"sender": "web\x00nul", "text": "hallo"})),
    Case("chat", "NUL in the locale", chat({"sender": "s-nul", "text": "hallo", "locale": "nl\x00BE"})),
    Case("chat", "locale of 300 characters", chat({"sender": "s-loc", "text": "hallo", "locale": "x" * 300})),
    Case("chat", "NUL in a button title", chat({"sender": "s-nul", "text": "ja", "button_title": "J\x00a"})),
    Case("chat", "text is a number", chat({"sender": "s-num", "text": 42})),
    Case("chat", "sender is an object", chat({"sender": {"id": 1}, "text": "hallo"})),
    Case("chat", "sender of 129 characters", chat({"sender": "s" * 129, "text": "hallo"})),
    Case("chat", "no text", chat({"sender": "s-none"})),
    Case("chat", "forged token", chat({"sender": "s-forged", "text": "hallo"}, lambda ctx: "A" * 43)),
    Case(
        "chat",
        "token of 5,000 characters",
        chat({"sender": "s-huge", "text": "hallo"}, lambda ctx: "A" * 5000),
    ),
    Case("chat", "token with tabs", chat({"sender": "s-ctl", "text": "hi"}, lambda ctx: "ab\tc" * 11)),
    Case(
        "chat",
        "token in Latin-1",
        chat({"sender": "s-l1", "text": "hi"}, lambda ctx: "é".encode("latin-1") * 43),
    ),
    Case("chat", "another conversation's token", chat({"sender": VICTIM, "text": "saldo?"}, other_token)),
    Case(
        "chat",
        "form-encoded",
        raw("POST", "/api/chat", b"sender=a&text=b", {"Content-Type": "application/x-www-form-urlencoded"}),
    ),
    Case(
        "chat",
        "lone surrogate (stored as U+FFFD)",
        raw("POST", "/api/chat", b'{"sender": "web-\\ud800", "text": "a\\udc00b"}'),
        accept=True,
    ),
    # -- history and stream ------------------------------------------------------------------
    Case("history", "no token", get("/api/chat/history")),
    Case("history", "the victim's sender alone", with_victim("/api/chat/history", "sender")),
    Case("history", "the token as a query parameter", with_victim("/api/chat/history", "token")),
    Case("history", "forged token", get("/api/chat/history", token=lambda ctx: "A" * 43)),
    Case("history", "token of 5,000 characters", get("/api/chat/history", token=lambda ctx: "A" * 5000)),
    Case("history", "token with tabs", get("/api/chat/history", token=lambda ctx: b"a\tb" * 15)),
    Case(
        "history", "token in Latin-1", get("/api/chat/history", token=lambda ctx: "é".encode("latin-1") * 43)
    ),
    Case(
        "history", "another conversation's token", get("/api/chat/history", {"sender": VICTIM}, other_token)
    ),
    Case("history", "NUL sender", get("/api/chat/history", {"sender": "\x00"}, victim_token)),
    Case(
        "history", "sender of 300 characters", get("/api/chat/history", {"sender": "s" * 300}, victim_token)
    ),
    Case("stream", "no token", get("/api/chat/stream")),
    Case("stream", "the victim's sender alone", with_victim("/api/chat/stream", "sender")),
    Case("stream", "forged token", get("/api/chat/stream", {"token": "A" * 43})),
    Case("stream", "token of 5,000 characters", get("/api/chat/stream", {"token": "A" * 5000})),
    Case("stream", "token with NUL", get("/api/chat/stream", {"token": "A\x00" * 22})),
    Case("stream", "another conversation's token", get("/api/chat/stream", {"sender": VICTIM}, other_token)),
    Case("stream", "token with control characters", get("/api/chat/stream", {"token": "\x01\x02\x1b" * 15})),
    Case("stream", "after: not a number", get("/api/chat/stream", {"after": "abc"}, victim_token)),
    Case("stream", "after: 25 digits", get("/api/chat/stream", {"after": "9" * 25}, victim_token)),
    Case("stream", "after: 5,000 digits", get("/api/chat/stream", {"after": "1" * 5000}, victim_token)),
    Case("stream", "NUL sender", get("/api/chat/stream", {"sender": "web\x00x"}, victim_token)),
    # -- the agents' console -----------------------------------------------------------------
    Case("console", "log-in nested 5,000 deep", raw("POST", "/agent/api/login", DEEP)),
    Case(
        "console",
        "log-in 5,000-digit username",
        raw("POST", "/agent/api/login", b'{"username": ' + HUGE_INT + b', "password": "x"}'),
    ),
    Case("console", "log-in not JSON", raw("POST", "/agent/api/login", b"{oops")),
    Case(
        "console",
        "log-in form-encoded",
        raw("POST", "/agent/api/login", b"username=a", {"Content-Type": "application/x-www-form-urlencoded"}),
    ),
    Case(
        "console",
        "log-in lone surrogate",
        raw("POST", "/agent/api/login", b'{"username": "ann\\ud800", "password": "x"}'),
    ),
    Case(
        "console",
        "agent id of 20 digits",
        console("POST", "agents/99999999999999999999", b'{"display_name": "X"}'),
    ),
    Case("console", "outage id of 20 digits", console("POST", "outages/99999999999999999999/resolve", b"{}")),
    Case("console", "outage id not a number", console("POST", "outages/abc/resolve", b"{}")),
    Case("console", "no CSRF token", console("POST", "presence", b'{"presence": "online"}', csrf=False)),
    Case("console", "export by GET", console("GET", "insights/export?language=nl")),
    Case("console", "stream after 25 digits", console("GET", "stream?after=" + "9" * 25)),
    Case("console", "unknown conversation action", console("POST", "conversations/x/explode", b"{}")),
    # -- Telegram --------------------------------------------------------------------------------
    Case("telegram", "wrong secret", telegram(UPDATE, secret="guessed")),
    Case("telegram", "nested 5,000 deep", telegram(DEEP)),
    Case("telegram", "5,000-digit update id", telegram(b'{"update_id": ' + HUGE_INT + b"}")),
    Case(
        "telegram",
        "5,000-digit message id",
        telegram(b'{"update_id": 90000002, "message": {"message_id": ' + HUGE_INT + b"}}"),
    ),
    Case("telegram", "not JSON", telegram(b"{oops")),
    Case("telegram", "a JSON array", telegram(b"[1]")),
    # -- both Slack apps --------------------------------------------------------------------------
    *(
        Case("slack", f"{app}: {name}", slack(app == "agents", body, timestamp, forged, form))
        for app in ("customers", "agents")
        for name, body, timestamp, forged, form in (
            ("timestamp not a number", SLACK_EVENT, "12a", False, False),
            ("timestamp of 5,000 digits", SLACK_EVENT, "9" * 5000, False, False),
            ("signed, not JSON", b"not json", None, False, False),
            ("signed, nested 5,000 deep", DEEP, None, False, False),
            ("signed form, payload not JSON", b"payload=not+json", None, False, True),
            ("forged signature", SLACK_EVENT, None, True, False),
            ("timestamp an hour old", SLACK_EVENT, str(int(time.time()) - 3600), False, False),
        )
    ),
    # -- last: one client floods the chat API ------------------------------------------------------
    Case("chat", "a flood from one client", custom=flood),
]
