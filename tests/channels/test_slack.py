"""Customers on Slack, end to end: signed events and clicks through the real bolt app in the
gateway, the router and a fake Rasa, answers through the real AsyncWebClient to a fake Slack
Web API; agent replies, notices and the satisfaction question through the console's Delivery."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.channels.common import ConversationRefs, run_on_loop
from bot.channels.slack import SlackCustomerChannel
from bot.channels.slack_text import to_plain
from bot.core.db import csat, processed_updates
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from handoff.agents import AgentDirectory
from handoff.console import Console
from handoff.queue import HandoffQueue
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
from tests.helpers.channels import conversation_of, rasa_messages, wait_until
from tests.helpers.slack import GENERAL, TEAM, TOKEN, mention, send, slack_settings

DM = "D0ANN"
MENU = [{"title": "Pay my bill", "payload": "/pay_bill"}, {"title": "Roaming <EU>", "payload": "/roaming"}]


def replies(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Echo, except "menu", which offers quick replies."""
    if body["message"] == "menu":
        return [{"recipient_id": body["sender"], "text": "Pick one:", "buttons": MENU}]
    return echo_replies(body)


# The fakes serve the whole module (tests/channels/conftest.py); each test starts with empty logs.


@pytest.fixture
def rasa(module_rasa: FakeServer) -> FakeServer:
    module_rasa.requests.clear()
    module_rasa.state["reply"] = replies  # type: ignore[attr-defined]
    return module_rasa


@pytest.fixture
def customer_settings(
    settings: Settings, rasa: FakeServer, actions: FakeServer, slack: FakeSlack
) -> Settings:
    return slack_settings(settings, rasa, actions, slack, feed_interval_s=0.05)


@pytest.fixture
def client(customer_settings: Settings) -> Iterator[TestClient]:
    """The gateway with the channels its settings enable: here the Slack customer channel."""
    with TestClient(create_app(customer_settings)) as client:
        yield client


# --- helpers ------------------------------------------------------------------------------------


def dm(
    client: TestClient, text: str, ts: str, *, user: str = "UANN", channel: str = DM, **extra: Any
) -> Response:
    response = send(client, event_callback(TEAM, message_event(user, text, channel, ts, **extra)))
    assert response.status_code == 200, response.text
    return response


def posted(slack: FakeSlack, text: str, **where: Any) -> Call:
    """The (first) chat.postMessage whose plain text contains ``text``."""
    wanted = lambda a: text in to_plain(a.get("text", "")) and all(a.get(k) == v for k, v in where.items())  # noqa: E731
    return slack.wait_for("chat.postMessage", wanted)[0]


def processed_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(processed_updates)).scalar_one()


# --- messages in --------------------------------------------------------------------------------


def test_a_dm_is_answered_in_its_thread_with_mrkdwn_escaped(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    started = time.monotonic()
    dm(client, "Hoe betaal ik mijn *factuur* &amp; mijn &lt;abonnement&gt;?", "1710000000.000100")
    assert time.monotonic() - started < 2.0  # acknowledged before the work is done
    call = posted(slack, "you said")
    assert call.token == TOKEN
    assert call.args["channel"] == DM and call.args["thread_ts"] == "1710000000.000100"
    assert call.args["text"] == "[nl] you said: Hoe betaal ik mijn factuur &amp; mijn &lt;abonnement&gt;?"
    assert "blocks" not in call.args
    assert rasa_messages(rasa) == ["Hoe betaal ik mijn factuur & mijn <abonnement>?"]
    conv = conversation_of(engine, f"{TEAM}:UANN")
    assert conv.channel == "slack" and conv.locale == "nl-BE"
    assert ConversationRefs(engine).get(conv.id, "slack_thread") == f"{DM}:1710000000.000100"
    assert [c.args["user"] for c in slack.calls_to("users.info")] == ["UANN"]


def test_the_slack_locale_sets_the_language(client: TestClient, slack: FakeSlack) -> None:
    dm(client, "ok", "1710000000.000200", user="UFR", channel="D0FR")
    assert posted(slack, "you said").args["text"] == "[fr] you said: ok"


def test_a_mention_is_understood_as_plain_text_and_answered_in_its_thread(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    # (personal data, such as an e-mail address, would move it to a DM: test_slack_private.py)
    text = "<@UBOT> can you check <https://status.example.com|the status page> for <#C0HELP|help>?"
    mention(client, text, "1710000001.000200", thread_ts="1710000001.000100")
    # Slack also sends the same message as a plain channel message: it is not handled twice.
    dm(client, text, "1710000001.000200", user="UBEN", channel=GENERAL, thread_ts="1710000001.000100")
    call = posted(slack, "you said")
    assert call.args["channel"] == GENERAL and call.args["thread_ts"] == "1710000001.000100"
    assert rasa_messages(rasa) == ["can you check the status page for #help?"]
    conv = conversation_of(engine, f"{TEAM}:UBEN:{GENERAL}")  # a channel's own conversation
    assert conv is not None and conv.language == "en"


def test_in_a_channel_only_the_customer_continues_their_thread_without_a_mention(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    mention(client, "<@UBOT> hello", "1710000002.000100")
    posted(slack, "you said: hello")
    thread = {"thread_ts": "1710000002.000100"}
    dm(client, "a colleague's remark", "1710000002.000300", user="UANN", channel=GENERAL, **thread)
    dm(client, "and my roaming?", "1710000002.000400", user="UBEN", channel=GENERAL, **thread)
    dm(client, "unrelated chatter", "1710000002.000500", user="UBEN", channel=GENERAL)
    assert posted(slack, "you said: and my roaming?").args["thread_ts"] == "1710000002.000100"
    mention(client, "<@UBOT> marker", "1710000002.000600")
    posted(slack, "you said: marker")
    assert rasa_messages(rasa) == ["hello", "and my roaming?", "marker"]


# --- what is refused or ignored -----------------------------------------------------------------


def test_a_forged_signature_is_refused_with_401_and_nothing_is_processed(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    body = event_callback(TEAM, message_event("UANN", "hallo", DM, "1710000003.000100"))
    assert send(client, body, secret="not-the-secret").status_code == 401
    unsigned = client.post(
        "/slack/events", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401
    assert rasa_messages(rasa) == [] and processed_count(engine) == 0
    assert slack.calls_to("chat.postMessage") == []


def test_a_request_older_than_five_minutes_is_refused_with_401(
    client: TestClient, rasa: FakeServer, engine: Engine
) -> None:
    body = event_callback(TEAM, message_event("UANN", "hallo", DM, "1710000004.000100"))
    assert send(client, body, timestamp=int(time.time()) - 6 * 60).status_code == 401
    assert rasa_messages(rasa) == [] and processed_count(engine) == 0


def test_a_retried_event_is_processed_once(client: TestClient, slack: FakeSlack, rasa: FakeServer) -> None:
    body = event_callback(TEAM, message_event("UANN", "mijn factuur", DM, "1710000005.000100"))
    assert send(client, body).status_code == 200
    posted(slack, "you said: mijn factuur")
    retry = send(client, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    again = send(client, body, **{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"})
    assert again.status_code == 200
    dm(client, "marker", "1710000005.000200")
    posted(slack, "you said: marker")
    assert rasa_messages(rasa).count("mijn factuur") == 1
    answers = [c for c in slack.calls_to("chat.postMessage") if "you said: mijn factuur" in c.args["text"]]
    assert len(answers) == 1


def test_the_bots_own_messages_edits_and_joins_are_ignored(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    dm(client, "[nl] you said: hallo", "1710000006.000100", user="UBOT", bot_id="BBOT")
    dm(client, "a bot post", "1710000006.000200", subtype="bot_message", bot_id="BBOT")
    edited = {"subtype": "message_changed", "message": {"user": "UANN", "text": "edited"}}
    dm(client, "edited", "1710000006.000300", **edited)
    dm(client, "joined", "1710000006.000400", user="UANN", channel=GENERAL, subtype="channel_join")
    dm(client, "marker", "1710000006.000500")
    posted(slack, "you said: marker")
    assert rasa_messages(rasa) == ["marker"]


def test_a_message_too_long_gets_a_short_explanation_in_the_customer_language(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    dm(client, "factuur " * 300, "1710000007.000100")
    call = posted(slack, "te lang")
    expected = customer_text("slack_message_too_long", "nl").format(max=2000)
    assert call.args["text"] == expected and call.args["thread_ts"] == "1710000007.000100"
    assert rasa_messages(rasa) == []


# --- buttons ------------------------------------------------------------------------------------


def test_quick_replies_become_buttons_and_a_click_is_routed_once(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    dm(client, "menu", "1710000008.000100")
    menu = posted(slack, "Pick one")
    assert menu.args["thread_ts"] == "1710000008.000100"
    section, actions = menu.args["blocks"]
    assert section["text"] == {"type": "mrkdwn", "text": "Pick one:"}
    assert [(b["text"]["text"], b["value"]) for b in actions["elements"]] == [
        ("Pay my bill", "/pay_bill"),
        ("Roaming <EU>", "/roaming"),
    ]
    click = block_actions(TEAM, "UANN", DM, posted_message(menu), button_of(menu, 1))
    assert send(client, click).status_code == 200
    answer = posted(slack, "you said: /roaming")
    assert answer.args["thread_ts"] == "1710000008.000100"
    update = slack.wait_for("chat.update")[0]
    assert update.args["ts"] == menu.response["ts"]
    assert [b["type"] for b in update.args["blocks"]] == ["section", "context"]  # no second click
    assert "Roaming &lt;EU&gt;" in update.args["blocks"][1]["elements"][0]["text"]
    assert send(client, click).status_code == 200  # clicked twice before the update arrived
    dm(client, "marker", "1710000008.000200")
    posted(slack, "you said: marker")
    assert rasa_messages(rasa) == ["menu", "/roaming", "marker"]


def test_a_forged_click_is_refused(client: TestClient, slack: FakeSlack, rasa: FakeServer) -> None:
    dm(client, "menu", "1710000009.000100")
    menu = posted(slack, "Pick one")
    click = block_actions(TEAM, "UANN", DM, posted_message(menu), button_of(menu, 0))
    assert send(client, click, secret="forged").status_code == 401
    assert rasa_messages(rasa) == ["menu"]


# --- an agent answers ---------------------------------------------------------------------------


def test_agent_replies_notices_and_the_score_question_reach_the_customers_thread(
    client: TestClient, slack: FakeSlack, engine: Engine, fast_password_hashing: None
) -> None:
    dm(client, "Ik wil een medewerker spreken", "1710000010.000100")
    posted(slack, "you said")
    dm(client, "Nog een vraag", "1710000010.000500", thread_ts="1710000010.000400")  # a newer thread
    posted(slack, "you said: Nog een vraag")
    cid = conversation_of(engine, f"{TEAM}:UANN").id
    assert HandoffQueue(engine).escalate(cid, default_rules()["request_human"]) is not None
    directory = AgentDirectory(engine)
    agent = directory.create("ann", "correct horse battery", display_name="Ann", languages=("nl",))
    directory.set_presence(agent.id, "online")
    agent = directory.get(agent.id)
    console: Console = client.app.state.console.console  # type: ignore[attr-defined]
    where = {"channel": DM, "thread_ts": "1710000010.000400"}

    console.claim(cid, agent)
    posted(slack, customer_text("agent_joined", "nl").format(agent="Ann"), **where)
    console.reply(cid, agent, "Ik kijk het na & bel je terug")
    reply = posted(slack, "Ik kijk het na", **where)
    assert reply.args["text"] == "*Ann (klantendienst)*\nIk kijk het na &amp; bel je terug"
    console.close(cid, agent)
    question = posted(slack, customer_text("csat_question", "nl"), **where)
    assert [b["value"] for b in button_of_all(question)] == ["1", "2", "3", "4", "5"]

    click = block_actions(TEAM, "UANN", DM, posted_message(question), button_of(question, 3))
    assert send(client, click).status_code == 200
    posted(slack, customer_text("csat_thanks", "nl"), **where)
    assert wait_until(lambda: csat_score(engine, cid)) == 4


def button_of_all(call: Call) -> list[dict[str, Any]]:
    return [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def csat_score(engine: Engine, cid: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(csat.c.score).where(csat.c.conversation_id == cid)).scalar()


def test_delivery_called_on_the_event_loop_itself_does_not_block_it(
    customer_settings: Settings, slack: FakeSlack, engine: Engine
) -> None:
    channel = SlackCustomerChannel(customer_settings)
    with TestClient(create_app(customer_settings, channels=[channel])) as client:
        dm(client, "hallo", "1710000011.000100")
        posted(slack, "you said: hallo")
        conv = ConversationStore(engine).latest_conversation("slack", f"{TEAM}:UANN")
        assert conv is not None and channel.context is not None

        async def deliver_from_the_loop() -> None:
            channel.send(conv, [{"text": "Tot straks"}], "Ann")

        run_on_loop(channel.context.loop, deliver_from_the_loop(), timeout_s=2)
        call = posted(slack, "Tot straks")
        assert call.args["channel"] == DM and call.args["thread_ts"] == "1710000011.000100"


@pytest.mark.parametrize(
    "slack_text, plain, forwarded",
    [
        ("<@UBOT> hi *there* _you_ ~old~", "hi there you old", "hi there you old"),
        ("snake_case and 2*3*4 and file_name.txt", "snake_case and 2*3*4 and file_name.txt", None),
        (
            "<https://x.example/_a_|the FAQ> or <https://x.example/b>",
            "the FAQ or https://x.example/b",
            "the FAQ (https://x.example/_a_) or https://x.example/b",  # markers in a URL stay
        ),
        ("see <https://x.example/faq|the FAQ>", "see the FAQ", "see the FAQ (https://x.example/faq)"),
        ("<mailto:jan@x.be|jan@x.be> <tel:+3225123456|02 512 34 56>", "jan@x.be 02 512 34 56", None),
        ("<!here> <#C1|general> <@U2|jan> <@U3> &amp; &lt;b&gt;", "@here #general @jan & <b>", None),
        ("<!date^1700000000^{date}|14 Nov>", "14 Nov", None),
    ],
)
def test_slack_formatting_becomes_plain_text(slack_text: str, plain: str, forwarded: str | None) -> None:
    assert to_plain(slack_text, bot_user_id="UBOT") == plain
    assert to_plain(slack_text, bot_user_id="UBOT", keep_urls=True) == (forwarded or plain)


# --- the opening message at the first contact -------------------------------------------------


def home_opened(client: TestClient, user: str, channel: str, tab: str = "messages") -> None:
    event = {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab, "event_ts": "1.2"}
    assert send(client, event_callback(TEAM, event)).status_code == 200


def test_opening_the_apps_dm_shows_the_opening_message_once(
    client: TestClient, slack: FakeSlack, rasa: FakeServer, engine: Engine
) -> None:
    home_opened(client, "UFR", "D0FR")
    welcome = posted(slack, "Je suis Mila", channel="D0FR")
    assert welcome.args.get("thread_ts") is None and "Vie privée" in to_plain(welcome.args["text"])
    assert [button_of(welcome, i)["value"] for i in range(4)] == [
        "/billing_explain_bill",
        "/coverage_check_place",
        "/sim_activate",
        "/request_human",
    ]
    home_opened(client, "UFR", "D0FR")  # opened again: once is enough
    home_opened(client, "UANN", "D0ANN", tab="home")  # the Home tab is no DM
    home_opened(client, "UNOBODY", "D0NOBODY")  # no Slack locale: English
    posted(slack, "Hi! I'm Mila", channel="D0NOBODY")
    dm(client, "marker", "1710000020.000100", user="UBEN", channel="D0BEN")
    posted(slack, "you said: marker")
    openings = [c for c in slack.calls_to("chat.postMessage") if "Mila" in c.args["text"]]
    assert [c.args["channel"] for c in openings] == ["D0FR", "D0NOBODY", "D0BEN"]
    assert rasa_messages(rasa) == ["marker"]


def test_the_first_dm_gets_the_opening_message_then_the_answer_and_its_buttons_work(
    client: TestClient, slack: FakeSlack, rasa: FakeServer
) -> None:
    dm(client, "hello, how much does roaming cost", "1710000021.000100", user="UBEN", channel="D0BEN")
    posted(slack, "you said", channel="D0BEN")
    first, answer = slack.calls_to("chat.postMessage")
    assert to_plain(first.args["text"]).startswith("Hi! I'm Mila") and answer.args["text"].startswith("[en]")
    assert first.args["thread_ts"] == answer.args["thread_ts"] == "1710000021.000100"
    person = button_of(first, 3)
    assert person["text"]["text"] == "Talk to a person"
    click = block_actions(TEAM, "UBEN", "D0BEN", posted_message(first), person)
    assert send(client, click).status_code == 200
    posted(slack, "you said: /request_human")
    dm(client, "and in France?", "1710000021.000200", user="UBEN", channel="D0BEN")
    posted(slack, "you said: and in France?")
    assert rasa_messages(rasa) == ["hello, how much does roaming cost", "/request_human", "and in France?"]
    assert len([c for c in slack.calls_to("chat.postMessage") if "Mila" in c.args["text"]]) == 1
