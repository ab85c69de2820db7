"""The terminal client (bot/cli.py): against a fake gateway for what it sends, and against the real
gateway (on the fake Rasa) for the opening message and a handoff: the opening's choices work, the
agent's notices and replies appear as they arrive over the conversation's stream, buttons are
numbered titles picked by number, and no payload is ever printed; a token the gateway no longer
takes (erasure, expiry) starts a fresh conversation, said once, instead of failing or looping."""

from __future__ import annotations

import io
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot import cli
from bot.core.chat_sessions import ChatSessions
from bot.core.db import create_db_engine
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.core.texts import text as customer_text
from bot.core.welcome import welcome_replies
from handoff.agents import AgentDirectory
from handoff.queue import HandoffQueue
from testkit.fakes.http_server import FakeServer
from tests.helpers.console import PASSWORD, log_in
from tests.helpers.gateway import live_gateway

YES_NO = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]


def test_terminal_client_chats_through_the_gateway(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    gateway = FakeServer()
    gateway.route(
        "POST",
        "/api/chat",
        lambda r: (
            200,
            {
                "replies": [
                    {"text": f"echo {r.json().get('button_title') or r.json()['text']}", "buttons": YES_NO}
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
        monkeypatch.setattr(sys, "stdin", io.StringIO("hallo\n\nboom\n2\nhallo\n2\n7\n"))
        assert cli.main(["--url", gateway.url, "--sender", "me", "--locale", "nl-BE"]) == 0
    finally:
        gateway.stop()
    out = capsys.readouterr().out
    assert out.startswith(cli.TEXTS["nl"]["intro"])
    assert "bot> echo hallo" in out and "1) Ja   2) Nee" in out
    assert "/affirm" not in out and "/deny" not in out  # payloads are never shown
    assert "Verzenden lukte niet: nope" in out
    sent = [r.json() for r in gateway.received("POST", "/api/chat")]
    assert sent == [
        {"sender": "me", "text": "hallo", "locale": "nl-BE"},
        {"sender": "me", "text": "boom", "locale": "nl-BE"},
        # "2" after the error: those choices were answered by "boom", so it is text
        {"sender": "me", "text": "2", "locale": "nl-BE"},
        {"sender": "me", "text": "hallo", "locale": "nl-BE"},
        {"sender": "me", "text": "/deny", "locale": "nl-BE", "button_title": "Nee"},
        {"sender": "me", "text": "7", "locale": "nl-BE"},  # no choice 7: a text
    ]


def test_terminal_client_keeps_the_conversation_token(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The first answer issues the token (and the sender the gateway chose); later messages send it."""
    gateway = FakeServer()
    answer = {"replies": [{"text": "ok"}], "language": "nl", "owner": "bot", "conversation_id": "c1"}
    issued = {**answer, "sender": "web-new", "token": "t" * 43}
    gateway.route(
        "POST",
        "/api/chat",
        lambda r: (200, issued if "x-chat-token" not in r.headers else {**answer, "sender": "web-new"}),
    )
    gateway.start()
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO("hallo\nnog iets\n"))
        assert cli.main(["--url", gateway.url, "--sender", "taken"]) == 0
    finally:
        gateway.stop()
    sent = gateway.received("POST", "/api/chat")
    assert [r.json()["sender"] for r in sent] == ["taken", "web-new"]
    assert "x-chat-token" not in sent[0].headers and sent[1].headers["x-chat-token"] == "t" * 43


class Screen(io.TextIOBase):
    """The terminal: what the client printed, line by line, waited for by the test."""

    def __init__(self) -> None:
        self.text = ""
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            self.text += text
            self.changed.notify_all()
        return len(text)

    def wait_for(self, expected: str, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: expected in self.text, timeout), (expected, self.text)


@pytest.fixture
def live_settings(settings: Settings, rasa: FakeServer, actions: FakeServer) -> Settings:
    return settings.with_overrides(
        rasa_url=rasa.url, action_server_url=actions.url, rasa_timeout_s=2.0, feed_interval_s=0.05
    )


class Keyboard:
    """The customer's lines, typed when the test says so (the client reads them as its stdin)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()

    def type(self, line: str) -> None:
        self.lines.put(line + "\n")

    def __iter__(self) -> Iterator[str]:
        while (line := self.lines.get(timeout=60)) is not None:
            yield line


def running_client(
    url: str, keyboard: Keyboard, screen: Screen, sender: str = "cli-handoff"
) -> Callable[[], None]:
    """The client in a thread; the returned function ends its input (Ctrl-D) and waits for it."""
    args = ["--url", url, "--sender", sender, "--locale", "fr-BE"]
    thread = threading.Thread(target=cli.main, args=(args, keyboard, screen), daemon=True)
    thread.start()

    def quit_() -> None:
        keyboard.lines.put(None)
        thread.join(15)
        assert not thread.is_alive()

    return quit_


def escalate(engine: Engine, sender: str = "cli-handoff") -> str:
    conv = ConversationStore(engine).latest_conversation("web", sender)
    assert conv is not None
    assert HandoffQueue(engine).escalate(
        conv.id, default_rules()["fraud"], summary="fraud", intents=["greet"]
    )
    return conv.id


def test_terminal_client_shows_the_agent_as_they_answer_and_never_a_payload(
    live_settings: Settings, rasa: FakeServer, fast_password_hashing: None
) -> None:
    def replies(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"recipient_id": body["sender"], "text": "Cela vous a-t-il aidé ?", "buttons": YES_NO}]

    rasa.state["reply"] = replies  # type: ignore[attr-defined]
    keyboard, screen = Keyboard(), Screen()
    with live_gateway(live_settings) as http:
        engine = create_db_engine(live_settings.database_url)
        AgentDirectory(engine).create("ann", PASSWORD, display_name="Ann", languages=("fr",))
        ann = log_in(http, "ann")
        ann.ok(ann.post("presence", {"presence": "online"}))
        quit_ = running_client(str(http.base_url), keyboard, screen)
        try:
            keyboard.type("Bonjour, on a volé ma carte SIM")
            screen.wait_for("1) Ja   2) Nee")
            cid = escalate(engine)
            ann.ok(ann.act(cid, "claim"))
            screen.wait_for("-- " + customer_text("agent_joined", "fr").format(agent="Ann"))
            screen.wait_for(cli.TEXTS["fr"]["agent"])
            ann.ok(ann.act(cid, "reply", text="Je bloque votre carte tout de suite."))
            screen.wait_for("Ann> Je bloque votre carte tout de suite.")
            keyboard.type("Merci !")
            deadline = time.monotonic() + 10
            while "Merci !" not in [m["text"] for m in ann.packet(cid)["transcript"]]:
                assert time.monotonic() < deadline, "the message never reached the agent"
                time.sleep(0.05)
            ann.ok(ann.act(cid, "close"))
            screen.wait_for(customer_text("csat_question", "fr"))
            screen.wait_for("1) 1   2) 2   3) 3   4) 4   5) 5")
            keyboard.type("4")  # the fourth choice
            screen.wait_for("bot> " + customer_text("csat_thanks", "fr"))
            transcript = ann.packet(cid)["transcript"]
        finally:
            quit_()
            engine.dispose()
    assert "/affirm" not in screen.text and "/deny" not in screen.text
    assert screen.text.count("Je bloque votre carte tout de suite.") == 1  # shown once
    assert [m["text"] for m in transcript if m["author"] == "customer"][-2:] == ["Merci !", "4"]


def test_terminal_client_opens_with_the_opening_message_and_its_person_choice_works(
    live_settings: Settings, rasa: FakeServer
) -> None:
    """As the web chat: the persona, a privacy line and numbered choices in the locale's language,
    before anything is stored; picking "a person" sends its payload, which is never printed."""

    def replies(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"recipient_id": body["sender"], "text": "Je vous mets en relation avec un collègue."}]

    rasa.state["reply"] = replies  # type: ignore[attr-defined]
    keyboard, screen = Keyboard(), Screen()
    with live_gateway(live_settings) as http:
        quit_ = running_client(str(http.base_url), keyboard, screen, sender="cli-welcome")
        try:
            opening = welcome_replies("fr", live_settings.bot_name)[0]
            screen.wait_for("bot> " + opening["text"])
            titles = [button["title"] for button in opening["buttons"]]
            screen.wait_for(cli.render_buttons(opening["buttons"]))
            assert rasa.received("POST", "/webhooks/rest/webhook") == []  # nothing sent yet
            person = next(n for n, b in enumerate(opening["buttons"], 1) if b["payload"] == "/request_human")
            keyboard.type(str(person))
            screen.wait_for("bot> Je vous mets en relation avec un collègue.")
        finally:
            quit_()
    [heard] = rasa.received("POST", "/webhooks/rest/webhook")
    assert heard.json()["message"] == "/request_human" and titles[person - 1] == "Parler à un collègue"
    assert not [b["payload"] for b in opening["buttons"] if b["payload"] in screen.text]  # never printed


def test_terminal_client_texts_exist_in_every_language() -> None:
    assert set(cli.TEXTS) == {"nl", "fr", "en"}
    assert set(cli.TEXTS["nl"]) == set(cli.TEXTS["fr"]) == set(cli.TEXTS["en"])
    assert cli.language_of("fr-BE", "nl") == "fr" and cli.language_of(None, "en") == "en"


# --- a token the gateway no longer takes ----------------------------------------------------------


def wait_until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def customer_texts(engine: Engine, sender: str) -> list[str]:
    store = ConversationStore(engine)
    conv = store.latest_conversation("web", sender)
    assert conv is not None
    return [m["text"] for m in store.transcript(conv.id) if m["author"] == "customer"]


def test_terminal_client_starts_afresh_once_after_the_customer_was_erased(
    live_settings: Settings, fast_password_hashing: None
) -> None:
    restarted = cli.TEXTS["fr"]["restarted"]
    keyboard, screen = Keyboard(), Screen()
    with live_gateway(live_settings) as http:
        engine = create_db_engine(live_settings.database_url)
        directory = AgentDirectory(engine)
        directory.create("root", PASSWORD, display_name="Root", role="admin", languages=("fr",))
        directory.create("ann", PASSWORD, display_name="Ann", languages=("fr",))
        admin, ann = log_in(http, "root"), log_in(http, "ann")
        ann.ok(ann.post("presence", {"presence": "online"}))
        quit_ = running_client(str(http.base_url), keyboard, screen, sender="cli-erased")
        try:
            keyboard.type("Bonjour")
            screen.wait_for("bot> [fr] you said: Bonjour")
            erased = admin.post("admin/privacy/erase", {"channel": "web", "sender": "cli-erased"})
            assert erased.status_code == 200, erased.text
            assert ConversationStore(engine).latest_conversation("web", "cli-erased") is None

            keyboard.type("Vous êtes là ?")  # the old token opens nothing: a fresh conversation
            screen.wait_for(restarted)
            screen.wait_for("bot> [fr] you said: Vous êtes là ?")
            keyboard.type("Encore moi")
            screen.wait_for("bot> [fr] you said: Encore moi")
            assert customer_texts(engine, "cli-erased") == ["Vous êtes là ?", "Encore moi"]

            # the new conversation's stream is followed: an agent's notice and reply arrive
            cid = escalate(engine, "cli-erased")
            ann.ok(ann.act(cid, "claim"))
            screen.wait_for("-- " + customer_text("agent_joined", "fr").format(agent="Ann"))
            ann.ok(ann.act(cid, "reply", text="Je suis là."))
            screen.wait_for("Ann> Je suis là.")
        finally:
            quit_()
            engine.dispose()
    assert screen.text.count(restarted) == 1  # said once
    assert cli.TEXTS["fr"]["failed"].split(":")[0] not in screen.text  # never "sending failed"
    assert screen.text.count("Ann> Je suis là.") == 1


def test_terminal_client_notices_an_expired_token_on_its_stream_and_starts_afresh(
    live_settings: Settings,
) -> None:
    screen = Screen()
    restarted = cli.TEXTS["nl"]["restarted"]
    with live_gateway(live_settings) as http:
        engine = create_db_engine(live_settings.database_url)
        chat = cli.Chat(http, "cli-expired", "nl-BE", "nl", screen)
        try:
            chat.send_line("Hallo")
            old = chat.token
            assert old is not None
            wait_until(lambda: old in chat.streams, "the client never followed its stream")
            assert ChatSessions(engine).forget_unused(datetime.now(timezone.utc) + timedelta(days=1)) == 1
            cli._cut(chat.streams[old])  # the connection drops: the client reconnects, is refused
            screen.wait_for(restarted)
            assert chat.token is None
            wait_until(lambda: not chat.followers[old].is_alive(), "the old stream is still followed")

            chat.send_line("Ben je daar?")
            assert chat.token not in (None, old)
            assert chat.sender != "cli-expired"  # that sender has a conversation: a new one is issued
            assert customer_texts(engine, chat.sender) == ["Ben je daar?"]
            wait_until(lambda: chat.token in chat.streams, "the new stream is not followed")
            chat.send_line("Nog iets")
        finally:
            chat.stop()
            engine.dispose()
    assert screen.text.count(restarted) == 1
    assert "Verzenden lukte niet" not in screen.text
    assert screen.text.count("bot> [nl] you said: Nog iets") == 1
    assert not any(follower.is_alive() for follower in chat.followers.values())


def test_a_refused_token_is_told_apart_from_other_errors() -> None:
    def answer(status: int, body: object) -> httpx.Response:
        return httpx.Response(status, json=body)

    assert cli.refused(answer(401, {"error": {"code": "invalid_token", "message": "..."}}))
    assert cli.refused(answer(403, {"error": {"code": "wrong_token", "message": "..."}}))
    assert not cli.refused(answer(429, {"error": {"code": "rate_limited", "message": "..."}}))
    assert not cli.refused(answer(422, {"error": {"code": "invalid_message", "message": "..."}}))
    assert not cli.refused(answer(401, ["not", "an", "error"]))
    assert not cli.refused(httpx.Response(401, text="<html>proxy says no</html>"))
