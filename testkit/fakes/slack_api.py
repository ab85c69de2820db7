"""A local fake of Slack's Web API for the real ``AsyncWebClient`` (``base_url=fake.base_url``),
and signed requests as Slack sends them to the app (events and interactivity).

Every Web API call is recorded with its token and arguments (JSON, form or query alike). Each
token is a bot of its own workspace (``auth.test`` answers accordingly), so the customer app
and the agents' app can be told apart.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

from testkit.fakes.http_server import FakeServer, Recorded


@dataclass(frozen=True)
class Call:
    method: str
    token: str
    args: dict[str, Any]
    response: dict[str, Any]


@dataclass(frozen=True)
class Bot:
    user_id: str
    bot_id: str
    team_id: str


class FakeSlack:
    def __init__(self, bots: dict[str, Bot], locales: dict[str, str] | None = None) -> None:
        self.bots = bots
        self.locales = dict(locales or {})
        self.refuse_dms = False  # conversations.open fails (an app without the im:write scope)
        self.calls: list[Call] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.server = FakeServer()
        self.server.route("POST", r"/api/[\w.]+", self._handle)
        self.server.route("GET", r"/api/[\w.]+", self._handle)
        self.server.start()

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/api/"

    def stop(self) -> None:
        self.server.stop()

    # -- the API -------------------------------------------------------------------------------

    def _handle(self, request: Recorded) -> tuple[int, Any]:
        method = request.path.rsplit("/", 1)[-1]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        args, bot = _arguments(request), self.bots.get(token)
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if bot is None:
            response = {"ok": False, "error": "invalid_auth"}
        else:
            response = answer(bot, args) if answer else {"ok": True}
        with self._lock:
            self.calls.append(Call(method, token, args, response))
        return 200, response

    def _auth_test(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "user_id": bot.user_id,
            "bot_id": bot.bot_id,
            "team_id": bot.team_id,
            "user": "bot",
        }

    def _chat_postMessage(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        ts = self.new_ts()
        channel = str(args.get("channel", ""))
        message = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks"), "bot_id": bot.bot_id}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}

    def _chat_postEphemeral(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"ok": True, "message_ts": self.new_ts()}

    def _conversations_open(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:
        """The DM with one user: its id is the user's with "D" for "U" (``UANN`` -> ``DANN``)."""
        users = str(args.get("users") or "").split(",")
        if self.refuse_dms:
            return {"ok": False, "error": "missing_scope", "needed": "im:write"}
        if len(users) != 1 or not users[0].startswith("U"):
            return {"ok": False, "error": "not_implemented"}
        return {"ok": True, "channel": {"id": "D" + users[0][1:]}}

    def _users_info(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        if user not in self.locales:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user, "team_id": bot.team_id, "locale": self.locales[user]}}

    def new_ts(self) -> str:
        with self._lock:
            return f"1700000000.{next(self._ts):06d}"

    # -- for tests -----------------------------------------------------------------------------

    def calls_to(self, method: str, token: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (token is None or c.token == token)]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
        *,
        token: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """The first ``count`` matching calls, waiting for them up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_to(method, token) if predicate(c.args)]
            if len(found) >= count:
                return found[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"{method}: {len(found)} of {count} matching calls; all: {self.calls}")
            time.sleep(0.02)


def _arguments(request: Recorded) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
    content_type = request.headers.get("content-type", "")
    if request.body and "json" in content_type:
        args.update(json.loads(request.body))
    elif request.body:
        args.update(dict(parse_qsl(request.body.decode())))
    for key in ("blocks", "attachments"):  # form-encoded calls send these as JSON text
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


# --- requests from Slack to the app ---------------------------------------------------------------


def signed_headers(secret: str, body: str, *, timestamp: int | None = None, **extra: str) -> dict[str, str]:
    """Headers Slack sends with ``body``, signed with the real v0 HMAC scheme."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, **extra}


_event_ids = itertools.count(1)


def event_callback(team: str, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "event": event,
    }


def message_event(
    user: str, text: str, channel: str, ts: str, *, thread_ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    event = {"type": "message", "user": user, "text": text, "channel": channel, "ts": ts, **extra}
    event.setdefault("channel_type", "im" if channel.startswith("D") else "channel")
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_actions(team: str, user: str, channel: str, message: dict[str, Any], action: dict[str, Any]) -> str:
    """The form body of a button click (``payload=<json>``)."""
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
        "channel": {"id": channel, "name": "channel"},
        "message": message,
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{"type": "button", "block_id": "b1", "action_ts": str(time.time()), **action}],
    }
    return urlencode({"payload": json.dumps(payload)})


def button_of(call: Call, index: int = 0) -> dict[str, Any]:
    """The ``index``-th button of a recorded message (as Slack sends it back in a click)."""
    buttons = [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]
    return buttons[index]


def posted_message(call: Call) -> dict[str, Any]:
    """The message a recorded chat.postMessage created, as Slack includes it in a click."""
    ts = call.response["ts"]
    message = {"type": "message", "ts": ts, "text": call.args.get("text"), "blocks": call.args.get("blocks")}
    if call.args.get("thread_ts"):
        message["thread_ts"] = call.args["thread_ts"]
    return message
