"""A fake Rasa server (REST channel, /status, /model/parse) and action server (/health)."""

from __future__ import annotations

from typing import Any, Callable

from testkit.fakes.http_server import FakeServer, Recorded

ReplyFn = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo_replies(body: dict[str, Any]) -> list[dict[str, Any]]:
    language = (body.get("metadata") or {}).get("language")
    return [{"recipient_id": body["sender"], "text": f"[{language}] you said: {body['message']}"}]


def greet_parse(text: str) -> dict[str, Any]:
    return {"text": text, "intent": {"name": "greet", "confidence": 0.9}}


def fake_rasa(reply: ReplyFn = echo_replies) -> FakeServer:
    """Answers the REST channel with ``reply`` and ``/model/parse`` with ``state["parse"]`` (the
    text's NLU result; ``greet`` by default); remembers which conversations it has seen; a seen
    conversation's tracker is in the form ``state["active_loop"]`` (none by default)."""
    server = FakeServer()
    state: dict[str, Any] = {"reply": reply, "trackers": set(), "parse": greet_parse, "active_loop": None}

    def webhook(request: Recorded) -> tuple[int, Any]:
        body = request.json()
        state["trackers"].add(body["sender"])
        return 200, state["reply"](body)

    def tracker(request: Recorded) -> tuple[int, Any]:
        sender = request.path.split("/")[2]
        known = sender in state["trackers"]
        # as Rasa 3.6: an unseen conversation gets a session started in memory (an event time),
        # but no customer message
        latest = {"text": "hallo" if known else None, "intent": {}, "entities": []}
        loop = {"name": state["active_loop"]} if known and state["active_loop"] else {}
        body = {"sender_id": sender, "latest_event_time": 1.0, "latest_message": latest, "active_loop": loop}
        return 200, {**body, "events": None}

    server.route("POST", "/webhooks/rest/webhook", webhook)
    server.route("GET", r"/conversations/[^/]+/tracker", tracker)
    server.route("POST", r"/conversations/[^/]+/tracker/events", lambda r: (200, {"events": []}))
    server.route("GET", "/status", lambda r: (200, {"model_id": "fake", "model_file": "fake.tar.gz"}))
    server.route("POST", "/model/parse", lambda r: (200, state["parse"](r.json()["text"])))
    server.state = state  # type: ignore[attr-defined]
    return server.start()


def fake_action_server() -> FakeServer:
    server = FakeServer()
    server.route("GET", "/health", lambda r: (200, {"status": "ok"}))
    return server.start()
