"""A fake Rasa server (REST channel, /status, /model/parse) and action server (/health)."""

from __future__ import annotations

from typing import Any, Callable

from tests.fakes.http_server import FakeServer, Recorded

ReplyFn = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo_replies(body: dict[str, Any]) -> list[dict[str, Any]]:
    language = (body.get("metadata") or {}).get("language")
    return [{"recipient_id": body["sender"], "text": f"[{language}] you said: {body['message']}"}]


def fake_rasa(reply: ReplyFn = echo_replies) -> FakeServer:
    server = FakeServer()
    state = {"reply": reply}

    def webhook(request: Recorded) -> tuple[int, Any]:
        return 200, state["reply"](request.json())

    server.route("POST", "/webhooks/rest/webhook", webhook)
    server.route("GET", "/status", lambda r: (200, {"model_id": "fake", "model_file": "fake.tar.gz"}))
    server.route(
        "POST",
        "/model/parse",
        lambda r: (200, {"text": r.json()["text"], "intent": {"name": "greet", "confidence": 0.9}}),
    )
    server.state = state  # type: ignore[attr-defined]
    return server.start()


def fake_action_server() -> FakeServer:
    server = FakeServer()
    server.route("GET", "/health", lambda r: (200, {"status": "ok"}))
    return server.start()
