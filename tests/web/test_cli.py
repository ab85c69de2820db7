import io
import sys

import pytest

from bot import cli
from testkit.fakes.http_server import FakeServer


def test_terminal_client_chats_through_the_gateway(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    gateway = FakeServer()
    gateway.route(
        "POST",
        "/api/chat",
        lambda r: (
            200,
            {
                "replies": [
                    {"text": f"echo {r.json()['text']}", "buttons": [{"title": "Factuur", "payload": "/b"}]}
                ],
                "language": "nl",
                "owner": "bot",
                "conversation_id": "c1",
            },
        )
        if r.json()["text"] != "boom"
        else (422, {"error": {"code": "invalid_message", "message": "nope"}}),
    )
    gateway.start()
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO("hallo\n\nboom\n"))
        assert cli.main(["--url", gateway.url, "--sender", "me", "--locale", "nl-BE"]) == 0
    finally:
        gateway.stop()
    out = capsys.readouterr().out
    assert "bot> echo hallo" in out and "[Factuur]  (type: /b)" in out and "(nl, owner: bot)" in out
    assert "error: nope" in out
    sent = [r.json() for r in gateway.received("POST", "/api/chat")]
    assert sent == [
        {"sender": "me", "text": "hallo", "locale": "nl-BE"},
        {"sender": "me", "text": "boom", "locale": "nl-BE"},
    ]
