from typing import Iterator

import httpx
import pytest

from bot.rasa.client import ActionServerClient, BotMessage, RasaClient, RasaUnavailable
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import fake_action_server, fake_rasa


@pytest.fixture
def rasa() -> Iterator[FakeServer]:
    server = fake_rasa(
        lambda body: [
            {"recipient_id": body["sender"], "text": "Hoi!"},
            {
                "recipient_id": body["sender"],
                "text": "Kies:",
                "buttons": [{"title": "Factuur", "payload": "/billing_explain_bill"}],
            },
            {"recipient_id": body["sender"], "image": "https://example.invalid/a.png"},
        ]
    )
    yield server
    server.stop()


def test_send_message_posts_to_rest_channel_with_metadata(rasa: FakeServer) -> None:
    client = RasaClient(rasa.url, token="s3cret")
    replies = client.send_message("conv-1", "hallo", {"language": "nl", "channel": "web"})
    [request] = rasa.received("POST", "/webhooks/rest/webhook")
    assert request.json() == {
        "sender": "conv-1",
        "message": "hallo",
        "metadata": {"language": "nl", "channel": "web"},
    }
    assert request.query == {"token": ["s3cret"]}
    assert replies == [
        BotMessage(text="Hoi!"),
        BotMessage(text="Kies:", buttons=[{"title": "Factuur", "payload": "/billing_explain_bill"}]),
        BotMessage(image="https://example.invalid/a.png"),
    ]
    assert replies[1].as_dict() == {
        "text": "Kies:",
        "buttons": [{"title": "Factuur", "payload": "/billing_explain_bill"}],
    }


def test_a_responses_custom_part_is_folded_into_its_reply() -> None:
    """Rasa's REST channel sends ``custom`` as a message of its own after the response's text."""
    ask = "Wat is je gsm-nummer?"
    server = fake_rasa(
        lambda body: [
            {"recipient_id": body["sender"], "text": "Oké."},
            {"recipient_id": body["sender"], "text": ask},
            {"recipient_id": body["sender"], "custom": {"ask": "phone_number"}},
            {"recipient_id": body["sender"], "custom": {"other": 1}},  # the one before has its own
        ]
    )
    try:
        replies = RasaClient(server.url).send_message("conv-1", "mijn verbruik")
    finally:
        server.stop()
    assert replies == [
        BotMessage(text="Oké."),
        BotMessage(text=ask, custom={"ask": "phone_number"}),
        BotMessage(custom={"other": 1}),
    ]
    assert replies[1].as_dict() == {"text": ask, "custom": {"ask": "phone_number"}}


def test_parse_and_status(rasa: FakeServer) -> None:
    client = RasaClient(rasa.url)
    assert client.parse("hallo")["intent"]["name"] == "greet"
    assert client.status()["model_id"] == "fake"
    assert rasa.received("POST", "/model/parse")[0].json() == {"text": "hallo"}


def test_errors_become_rasa_unavailable() -> None:
    server = FakeServer()
    server.route("POST", "/webhooks/rest/webhook", lambda r: (500, {"error": "boom"}))
    server.route("GET", "/status", lambda r: (200, {"model_id": None}))
    server.start()
    try:
        client = RasaClient(server.url)
        with pytest.raises(RasaUnavailable, match="HTTP 500"):
            client.send_message("c", "x")
        with pytest.raises(RasaUnavailable, match="no model"):
            client.status()
    finally:
        server.stop()
    with pytest.raises(RasaUnavailable, match="ConnectError"):
        RasaClient(server.url, timeout_s=1).send_message("c", "x")


def test_action_server_health() -> None:
    server = fake_action_server()
    with httpx.Client() as http:
        client = ActionServerClient(server.url, http=http)
        assert client.healthy()
        server.stop()
        assert not client.healthy()


def test_set_slot_only_in_an_existing_conversation(rasa: FakeServer) -> None:
    client = RasaClient(rasa.url, token="s3cret")
    assert client.set_slot("new conv", "language", "fr", only_if_tracked=True) is False
    assert rasa.received("POST", r"/conversations/.*/events") == []
    client.send_message("conv-1", "hallo")
    assert client.set_slot("conv-1", "language", "fr", only_if_tracked=True) is True
    [get] = [
        r for r in rasa.received("GET", r"/conversations/.*") if r.path.startswith("/conversations/conv-1")
    ]
    assert get.query == {"token": ["s3cret"], "include_events": ["NONE"]}
    [post] = rasa.received("POST", r"/conversations/conv-1/tracker/events")
    assert post.json() == {"event": "slot", "name": "language", "value": "fr"}
    assert post.query == {"token": ["s3cret"], "include_events": ["NONE"]}
    assert rasa.received("GET", r"/conversations/new%20conv/tracker")


def test_set_slot_directly_when_the_conversation_is_known(rasa: FakeServer) -> None:
    client = RasaClient(rasa.url)
    assert client.set_slot("conv-2", "language", "en") is True
    assert rasa.received("GET", r"/conversations/.*") == []
