"""The router's opening message and its side of the queue: welcome payloads, /start, the expected
wait after an escalation, leaving the queue and asking for a callback (fake Rasa, real database)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import conversations, messages
from bot.core.hours import BusinessHours, parse_hours
from bot.core.language import default_detector
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.core.texts import text
from bot.core.welcome import WELCOME_PAYLOADS
from bot.rasa.client import ActionServerClient, RasaClient
from bot.router import IncomingMessage, Router
from handoff.queue import HandoffQueue
from handoff.waiting import QUEUE_CALLBACK, QUEUE_LEAVE, WaitingRoom
from testkit.fakes.http_server import FakeServer
from testkit.fakes.rasa import echo_replies
from tests.helpers.clock import Clock

BRUSSELS = ZoneInfo("Europe/Brussels")
OPEN_NOW = datetime(2026, 3, 3, 10, 0, tzinfo=BRUSSELS).astimezone(timezone.utc)  # a Tuesday


class FixedHours:
    def current(self) -> BusinessHours:
        return parse_hours({"weekly": {"tuesday": ["08:00", "20:00"]}}, time_zone=BRUSSELS)


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    store = ConversationStore(engine)
    waiting = WaitingRoom(settings, engine, store=store, hours=FixedHours(), now=Clock(OPEN_NOW))
    client = RasaClient(rasa.url, timeout_s=2)
    actions_client = ActionServerClient(actions.url)
    return Router(settings, store, client, default_detector(), actions_client, waiting=waiting)


@pytest.fixture
def escalating_rasa(rasa: FakeServer, engine: Engine) -> FakeServer:
    """Rasa that hands "/request_human" to the queue, as action_escalate does."""

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == "/request_human":
            HandoffQueue(engine).escalate(body["sender"], default_rules()["request_human"])
            return [{"recipient_id": body["sender"], "text": "Of course, I'll connect you with a colleague."}]
        return echo_replies(body)

    rasa.state["reply"] = reply  # type: ignore[attr-defined]
    return rasa


def heard(rasa: FakeServer) -> list[str]:
    return [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# -- the opening message ----------------------------------------------------------------------


def test_welcome_is_in_the_locale_language_and_stores_nothing(router: Router, engine: Engine) -> None:
    result = router.welcome("slack", "T1:U1", "fr-FR")
    [reply] = result.replies
    assert result.language == "fr" and result.conversation_id == ""
    assert reply["text"].startswith("Bonjour ! Je suis Mila") and "Vie privée" in reply["text"]
    assert {b["payload"] for b in reply["buttons"]} == WELCOME_PAYLOADS
    assert router.welcome("slack", "T1:U2", "de-DE").language == "nl"  # the default
    assert count(engine, conversations) == 0


def test_welcome_follows_an_open_conversation(router: Router) -> None:
    router.handle(IncomingMessage("slack", "T1:U3", "can you explain the roaming costs on my bill"))
    assert router.welcome("slack", "T1:U3", "nl-BE").language == "en"


def test_welcome_payloads_reach_rasa_as_payloads_in_any_conversation(
    router: Router, rasa: FakeServer
) -> None:
    router.handle(
        IncomingMessage("web", "first", "/request_human", metadata={"button_title": "Talk to a person"})
    )
    router.handle(IncomingMessage("web", "later", "hallo"))
    router.handle(IncomingMessage("web", "later", "  /billing_explain_bill"))
    router.handle(IncomingMessage("web", "later", '/billing_explain_bill{"place": "x"}'))  # not the same
    assert heard(rasa) == [
        "/request_human",
        "hallo",
        "/billing_explain_bill",
        '\u200b/billing_explain_bill{"place": "x"}',
    ]


def test_start_is_answered_with_the_stored_opening_message_not_by_rasa(
    router: Router, rasa: FakeServer, engine: Engine
) -> None:
    result = router.start(IncomingMessage("telegram", "42", "/start", locale="en"))
    assert heard(rasa) == [] and result.owner == "bot" and result.language == "en"
    transcript = ConversationStore(engine).transcript(result.conversation_id)
    assert [(m["direction"], m["author"], m["status"]) for m in transcript] == [
        ("in", "customer", "answered"),
        ("out", "bot", "sent"),
    ]
    assert transcript[1]["payload"]["buttons"] == result.replies[0]["buttons"]
    router.handle(IncomingMessage("telegram", "42", "ok"))  # Rasa's first turn: language by metadata
    assert rasa.received("POST", r"/conversations/.*/tracker/events") == []
    assert rasa.received("POST", "/webhooks/rest/webhook")[0].json()["metadata"]["language"] == "en"


# -- the queue --------------------------------------------------------------------------------


def test_joining_the_queue_tells_the_wait_with_a_leave_button(
    router: Router, escalating_rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "w1", "hello there", locale="en"))
    result = router.handle(IncomingMessage("web", "w1", "/request_human"))
    assert result.owner == "queued"
    connect, status = result.replies
    assert connect["text"].startswith("Of course")
    # Nobody is online in this test: said so, with the offer to be contacted later.
    assert status["text"] == f"{text('queue_no_agent', 'en')} {text('queue_callback_offer', 'en')}"
    assert [b["payload"] for b in status["buttons"]] == [QUEUE_LEAVE, QUEUE_CALLBACK]


def test_leave_the_queue_and_talk_to_the_bot_again(
    router: Router, escalating_rasa: FakeServer, engine: Engine
) -> None:
    router.handle(IncomingMessage("web", "w2", "/request_human", locale="fr-BE"))
    before = len(heard(escalating_rasa))
    left = router.handle(
        IncomingMessage("web", "w2", QUEUE_LEAVE, metadata={"button_title": "Quitter la file"})
    )
    assert left.owner == "bot" and left.replies == [{"text": text("queue_left", "fr").format(bot="Mila")}]
    assert len(heard(escalating_rasa)) == before  # Rasa never hears the queue's buttons
    again = router.handle(IncomingMessage("web", "w2", "merci, et ma facture ?"))
    assert again.owner == "bot" and heard(escalating_rasa)[-1] == "merci, et ma facture ?"
    handoff = HandoffQueue(engine).latest_handoff(left.conversation_id)
    assert handoff is not None and handoff.outcome == "left_queue"


def test_a_callback_keeps_the_chat_queued_and_notes_the_details(
    router: Router, escalating_rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "w3", "/request_human", locale="nl-BE"))
    asked = router.handle(IncomingMessage("web", "w3", QUEUE_CALLBACK))
    assert asked.owner == "queued" and asked.replies == [{"text": text("queue_callback_ask", "nl")}]
    noted = router.handle(IncomingMessage("web", "w3", "0470 12 34 56, liefst na 17 uur"))
    leave = {"title": "Wachtrij verlaten", "payload": QUEUE_LEAVE}
    assert noted.replies == [{"text": text("queue_callback_noted", "nl"), "buttons": [leave]}]
    assert router.handle(IncomingMessage("web", "w3", "dank je")).replies == []  # said once in a row


def test_queue_buttons_outside_the_queue_never_reach_rasa(router: Router, rasa: FakeServer) -> None:
    result = router.handle(IncomingMessage("web", "w4", QUEUE_LEAVE, locale="en"))
    assert result.replies == [{"text": text("queue_not_waiting", "en")}] and heard(rasa) == []


def test_the_queue_status_is_stored_so_its_buttons_are_offered(
    router: Router, escalating_rasa: FakeServer, engine: Engine
) -> None:
    result = router.handle(IncomingMessage("web", "w5", "/request_human", locale="en"))
    with engine.connect() as conn:
        payloads = conn.execute(
            select(messages.c.payload).where(
                messages.c.conversation_id == result.conversation_id, messages.c.author == "system"
            )
        ).scalars()
        [status] = list(payloads)
    assert status["queue"]["state"] == "no_agent" and status["buttons"] == result.replies[-1]["buttons"]


def test_a_message_while_waiting_gets_the_queue_buttons_again(
    router: Router, escalating_rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "w6", "/request_human", locale="en"))
    ack = router.handle(IncomingMessage("web", "w6", "are you there?"))
    assert ack.owner == "queued"
    assert ack.replies == [
        {
            "text": text("handoff_message_passed", "en"),
            "buttons": [
                {"title": "Leave the queue", "payload": QUEUE_LEAVE},
                {"title": "Contact me later", "payload": QUEUE_CALLBACK},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("locale", "never_mind", "yes"),
    [
        ("en", "never mind, I found it myself", "yes please"),
        ("nl-BE", "laat maar, het is al opgelost", "ja"),
        ("fr-BE", "c'est bon, ça remarche", "oui merci"),
    ],
)
def test_a_customer_who_no_longer_needs_a_person_is_offered_the_way_out_and_a_yes_takes_it(
    router: Router, escalating_rasa: FakeServer, engine: Engine, locale: str, never_mind: str, yes: str
) -> None:
    language = locale[:2]
    router.handle(IncomingMessage("web", f"w7{language}", "/request_human", locale=locale))
    offer = router.handle(IncomingMessage("web", f"w7{language}", never_mind))
    assert offer.owner == "queued"  # nobody is taken out on these words alone
    leave = {"title": text("queue_button_leave", language), "payload": QUEUE_LEAVE}
    assert offer.replies == [{"text": text("queue_withdraw_offer", language), "buttons": [leave]}]
    left = router.handle(IncomingMessage("web", f"w7{language}", yes))
    assert left.owner == "bot"
    assert left.replies == [{"text": text("queue_left", language).format(bot="Mila")}]
    handoff = HandoffQueue(engine).latest_handoff(left.conversation_id)
    assert handoff is not None and handoff.outcome == "left_queue"
    assert heard(escalating_rasa) == ["/request_human"]  # Rasa heard none of it


@pytest.mark.parametrize(
    ("locale", "how_long"),
    [
        ("nl-BE", "hoe lang moet ik nog wachten?"),
        ("fr-BE", "ça va durer longtemps ?"),
        ("en", "still waiting..."),
    ],
)
def test_a_customer_who_asks_how_long_gets_the_wait_each_time(
    router: Router, escalating_rasa: FakeServer, locale: str, how_long: str
) -> None:
    """Not "your message was passed on": the queue's status, and that the message went on too.
    Nobody is online in this test, so no figure (said so) and the offer to be called back."""
    language, sender = locale[:2], f"w9{locale}"
    router.handle(IncomingMessage("web", sender, "/request_human", locale=locale))
    expected = [
        {
            "text": " ".join(
                text(key, language)
                for key in ("queue_no_agent", "queue_message_passed_too", "queue_callback_offer")
            ),
            "buttons": [
                {"title": text("queue_button_leave", language), "payload": QUEUE_LEAVE},
                {"title": text("queue_button_callback", language), "payload": QUEUE_CALLBACK},
            ],
        }
    ]
    for _ in range(2):  # asked again: answered again (a passed-on notice is said once in a row)
        asked = router.handle(IncomingMessage("web", sender, how_long))
        assert asked.owner == "queued" and asked.replies == expected
    assert heard(escalating_rasa) == ["/request_human"]


def test_after_a_callback_was_asked_the_wait_comes_without_offering_it_again(
    router: Router, escalating_rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "w10", "/request_human", locale="en"))
    router.handle(IncomingMessage("web", "w10", QUEUE_CALLBACK))
    asked = router.handle(IncomingMessage("web", "w10", "how long?"))
    assert asked.replies == [
        {
            "text": f"{text('queue_no_agent', 'en')} {text('queue_message_passed_too', 'en')}",
            "buttons": [{"title": "Leave the queue", "payload": QUEUE_LEAVE}],
        }
    ]


def test_a_yes_that_answers_nothing_leaves_nobody_out_of_the_queue(
    router: Router, escalating_rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "w8", "/request_human", locale="en"))
    router.handle(IncomingMessage("web", "w8", "my internet is still down"))
    kept = router.handle(IncomingMessage("web", "w8", "yes"))
    assert kept.owner == "queued"


def test_a_typed_queue_button_title_works_as_the_button(router: Router, escalating_rasa: FakeServer) -> None:
    router.handle(IncomingMessage("web", "w9", "/request_human", locale="nl-BE"))
    left = router.handle(IncomingMessage("web", "w9", "wachtrij verlaten!"))
    assert left.owner == "bot" and left.replies == [{"text": text("queue_left", "nl").format(bot="Mila")}]
