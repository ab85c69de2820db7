"""Private, not public (bot/channels/private.py): a personal question or personal data in a Slack
channel mention is answered in the customer's DM, and the channel hears only "I've sent you a
private message". Signed events and clicks go through the real bolt app in the gateway; what
the fake Slack Web API received is what the assertions read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.channels.common import ConversationRefs
from bot.channels.private import has_personal_data
from bot.channels.slack_text import to_plain
from bot.core.settings import Settings
from bot.core.taxonomy import is_personal
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies
from testkit.fakes.slack_api import (
    Call,
    FakeSlack,
    block_actions,
    button_of,
    event_callback,
    message_event,
    posted_message,
)
from tests.helpers.channels import conversation_of, rasa_heard
from tests.helpers.slack import GENERAL, TEAM, mention, send, slack_settings

USERS = {"nl": "UANN", "fr": "UFR", "en": "UBEN"}
ACCOUNT_DATA = "your last invoice: € 47,30, due on 18 December"  # what the DM may show
INTENTS = {  # what the fake NLU finds
    "why is my bill so high this month?": ("billing_higher_than_usual", None),
    "waarom is mijn factuur zo hoog?": ("billing_higher_than_usual", None),
    "pourquoi ma facture est-elle si élevée ?": ("billing_higher_than_usual", None),
    "how much data do I have left?": ("knowledge", "check_usage"),
    "how do I set up roaming?": ("knowledge", "roaming_activate"),
    "hello": ("greet", None),
}


def nlu(text: str) -> dict[str, Any]:
    if text.startswith("/"):
        return {"text": text, "intent": {"name": text[1:], "confidence": 1.0}}
    intent, article = INTENTS.get(text, ("out_of_scope", None))
    parsed: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    if article:
        parsed["article"] = {"id": article, "confidence": 0.9}
    return parsed


def replies(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Account data for a personal question, a button that starts the check for "menu"."""
    if body["message"] == "/verify_identity":
        return [{"recipient_id": body["sender"], "text": "What's your Mila mobile number?"}]
    parsed = nlu(body["message"])
    if is_personal(parsed["intent"]["name"], (parsed.get("article") or {}).get("id")):
        return [{"recipient_id": body["sender"], "text": ACCOUNT_DATA}]
    if body["message"] == "menu":
        button = {"title": "Check my account", "payload": "/verify_identity"}
        return [{"recipient_id": body["sender"], "text": "Want your own figures?", "buttons": [button]}]
    return echo_replies(body)


@pytest.fixture
def client(
    settings: Settings, rasa: FakeServer, actions: FakeServer, slack: FakeSlack
) -> Iterator[TestClient]:
    rasa.state["reply"], rasa.state["parse"] = replies, nlu  # type: ignore[attr-defined]
    with TestClient(create_app(slack_settings(settings, rasa, actions, slack))) as client:
        yield client


def ask(client: TestClient, text: str, ts: str, user: str = "UBEN") -> None:
    """The customer mentions the bot in the channel with ``text``."""
    mention(client, f"<@UBOT> {text}", ts, user=user)


def posts(slack: FakeSlack, channel: str, count: int) -> list[Call]:
    return slack.wait_for("chat.postMessage", lambda a: a.get("channel") == channel, count=count)


def public_text(slack: FakeSlack) -> str:
    """Everything the bot posted in the channel."""
    return " ".join(
        to_plain(c.args.get("text") or "") + json.dumps(c.args.get("blocks") or [])
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == GENERAL
    )


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_personal_question_in_a_channel_is_answered_in_the_dm(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine, language: str
) -> None:
    user = USERS[language]
    question = {
        "nl": "waarom is mijn factuur zo hoog?",
        "fr": "pourquoi ma facture est-elle si élevée ?",
        "en": "why is my bill so high this month?",
    }[language]
    ask(client, question, "1710000100.000100", user=user)
    [note] = posts(slack, GENERAL, 1)
    assert note.args["text"] == customer_text("slack_moved_to_dm", language)
    assert note.args["thread_ts"] == "1710000100.000100"
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == user
    dm = "D" + user[1:]
    intro, answer = posts(slack, dm, 2)
    assert (
        intro.args["text"] == customer_text("slack_dm_intro", language)
        and intro.args.get("thread_ts") is None
    )
    assert to_plain(answer.args["text"]) == ACCOUNT_DATA
    assert ACCOUNT_DATA not in public_text(slack) and len(slack.calls_to("chat.postMessage")) == 3
    private = conversation_of(engine, f"{TEAM}:{user}")  # the DM's own conversation
    [heard] = rasa_heard(rasa)
    assert heard["sender"] == private.id and heard["message"] == question
    assert conversation_of(engine, f"{TEAM}:{user}:{GENERAL}") is None  # nothing in the channel's
    assert ConversationRefs(engine).get(private.id, "slack_thread") == f"{dm}:"  # agents reach the DM


def test_personal_data_in_a_channel_goes_to_the_dm_without_asking_the_nlu(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    text = "hello, my number is 0470 12 34 56 and my IBAN BE68 5390 0754 7034"
    assert has_personal_data(text)
    ask(client, text, "1710000101.000100")
    [note] = posts(slack, GENERAL, 1)
    assert note.args["text"] == customer_text("slack_moved_to_dm", "en")
    posts(slack, "DBEN", 2)
    assert rasa.received("POST", "/model/parse") == []
    assert "0470" not in public_text(slack) and "7034" not in public_text(slack)


def test_a_personal_help_centre_article_goes_to_the_dm(client: TestClient, slack: FakeSlack) -> None:
    ask(client, "how much data do I have left?", "1710000102.000100")
    posts(slack, "DBEN", 2)
    assert ACCOUNT_DATA not in public_text(slack)


def test_a_general_question_is_answered_in_the_channel(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    ask(client, "how do I set up roaming?", "1710000103.000100")
    [answer] = posts(slack, GENERAL, 1)
    assert answer.args["text"] == "[en] you said: how do I set up roaming?"
    assert slack.calls_to("conversations.open") == []
    [parsed] = rasa.received("POST", "/model/parse")
    assert parsed.json() == {"text": "how do I set up roaming?"}


def test_without_the_nlu_a_channel_message_is_answered_in_private(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    def down(text: str) -> dict[str, Any]:
        raise ConnectionError("NLU down")

    rasa.state["parse"] = down  # type: ignore[attr-defined]
    ask(client, "hello", "1710000104.000100")
    [note] = posts(slack, GENERAL, 1)
    assert note.args["text"] == customer_text("slack_moved_to_dm", "en")
    posts(slack, "DBEN", 2)


def test_without_a_dm_the_channel_is_told_to_write_one_and_nothing_is_answered(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    slack.refuse_dms = True
    ask(client, "waarom is mijn factuur zo hoog?", "1710000105.000100", user="UANN")
    [note] = posts(slack, GENERAL, 1)
    assert note.args["text"] == customer_text("slack_dm_failed", "nl")
    assert rasa_heard(rasa) == [] and conversation_of(engine, f"{TEAM}:UANN") is None


def test_the_check_offered_by_a_button_in_a_channel_thread_starts_in_the_dm(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    ask(client, "menu", "1710000106.000100")
    [offer] = posts(slack, GENERAL, 1)
    click = block_actions(TEAM, "UBEN", GENERAL, posted_message(offer), button_of(offer))
    assert send(client, click).status_code == 200
    intro, question = posts(slack, "DBEN", 2)
    assert intro.args["text"] == customer_text("slack_dm_intro", "en")
    assert question.args["text"] == "What's your Mila mobile number?"  # the payload, not its text
    [_, moved] = posts(slack, GENERAL, 2)
    assert moved.args["text"] == customer_text("slack_moved_to_dm", "en")
    private = conversation_of(engine, f"{TEAM}:UBEN")
    assert [(h["sender"], h["message"]) for h in rasa_heard(rasa)][-1] == (private.id, "/verify_identity")


def test_the_dm_itself_is_private_and_answered_as_usual(client: TestClient, slack: FakeSlack) -> None:
    event = message_event("UBEN", "why is my bill so high this month?", "DBEN", "1710000107.000100")
    assert send(client, event_callback(TEAM, event)).status_code == 200
    answer = slack.wait_for("chat.postMessage", lambda a: ACCOUNT_DATA in to_plain(a.get("text") or ""))[0]
    assert answer.args["channel"] == "DBEN" and slack.calls_to("conversations.open") == []
