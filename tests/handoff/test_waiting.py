"""The queue as the waiting customer sees it (handoff/waiting.py): expected wait, updates, leave,
callback and abandonment, on the configured database with a clock and business hours of its own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.core import events
from bot.core.db import conversations, handoffs, messages
from bot.core.hours import BusinessHours, parse_hours
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import Conversation, ConversationStore
from bot.core.texts import text
from handoff.agents import AgentDirectory
from handoff.delivery import Delivery
from handoff.metrics import compute_metrics
from handoff.queue import HandoffQueue
from handoff.waiting import (
    CLOSED,
    DEFAULT_HANDLING_S,
    NO_AGENT,
    OPEN,
    QUEUE_CALLBACK,
    QUEUE_LEAVE,
    WaitEstimate,
    WaitingRoom,
    describe_wait,
    noticeable,
)
from testkit.databases import insert_conversation
from tests.helpers.clock import Clock

BRUSSELS = ZoneInfo("Europe/Brussels")
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=BRUSSELS).astimezone(timezone.utc)  # open
TUESDAY_22 = datetime(2026, 3, 3, 22, 0, tzinfo=BRUSSELS).astimezone(timezone.utc)  # closed
MIN = timedelta(minutes=1)
PASSWORD = "correct horse battery"


class FixedHours:
    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours

    def current(self) -> BusinessHours:
        return self.hours


HOURS = FixedHours(parse_hours({"weekly": {"tuesday": ["08:00", "20:00"]}}, time_zone=BRUSSELS))


class Recorder:
    """A channel's sender for Delivery: what reached the customer outside a request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[dict[str, Any]]]] = []

    def send(
        self, conversation: Conversation, replies: list[dict[str, Any]], sender_name: str | None
    ) -> None:
        self.sent.append((conversation.id, replies))


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_10)


@pytest.fixture
def telegram() -> Recorder:
    return Recorder()


@pytest.fixture
def room(settings: Settings, engine: Engine, clock: Clock, telegram: Recorder) -> WaitingRoom:
    delivery = Delivery({"telegram": telegram})
    return WaitingRoom(settings, engine, hours=HOURS, delivery=delivery, now=clock)


def waiting_chat(engine: Engine, at: datetime, language: str = "nl", channel: str = "web") -> str:
    with engine.begin() as conn:
        cid = insert_conversation(conn, language=language, channel=channel, created_at=at)
    HandoffQueue(engine).escalate(cid, default_rules()["request_human"])
    with engine.begin() as conn:
        conn.execute(update(handoffs).where(handoffs.c.conversation_id == cid).values(created_at=at))
    return cid


def agent_online(engine: Engine, clock: Clock, name: str, languages: str = "nl") -> int:
    directory = AgentDirectory(engine)
    agent = directory.create(name, PASSWORD, languages=languages)
    directory.set_presence(agent.id, "online")
    directory.seen(agent.id, now=clock.now)
    return agent.id


def handled_chats(engine: Engine, clock: Clock, minutes: list[int], language: str = "nl") -> None:
    """Ended chats of the last days, each handled (claim to end) in the given minutes."""
    for n, spent in enumerate(minutes):
        claimed = clock.now - timedelta(days=1, hours=n)
        cid = waiting_chat(engine, claimed - MIN, language)
        with engine.begin() as conn:
            conn.execute(
                update(handoffs)
                .where(handoffs.c.conversation_id == cid)
                .values(claimed_at=claimed, ended_at=claimed + spent * MIN, outcome="closed")
            )
            conn.execute(update(conversations).where(conversations.c.id == cid).values(owner="closed"))


def owner(engine: Engine, cid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()


def system_messages(engine: Engine, cid: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(messages).where(messages.c.conversation_id == cid, messages.c.author == "system")
        ).all()


# -- the expected wait ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, nl, en",
    [
        (30, "ongeveer een minuut", "about a minute"),
        (150, "ongeveer 3 minuten", "about 3 minutes"),
        (11 * 60 + 5, "ongeveer 15 minuten", "about 15 minutes"),  # above ten: up to fives
        (59 * 60, "meer dan een uur", "more than an hour"),
        (3 * 3600, "meer dan een uur", "more than an hour"),
    ],
)
def test_the_wait_is_said_in_words_rounded_up(seconds: float, nl: str, en: str) -> None:
    assert (describe_wait(seconds, "nl"), describe_wait(seconds, "en")) == (nl, en)
    assert describe_wait(seconds, "fr").startswith(("environ", "plus d'une heure"))


def test_wait_is_position_times_handling_time_over_agents_online_per_language(
    engine: Engine, room: WaitingRoom, clock: Clock, fast_password_hashing: None
) -> None:
    handled_chats(engine, clock, [4, 8, 10, 12, 30])  # median 10 minutes
    agent_online(engine, clock, "ann", "nl,fr")
    agent_online(engine, clock, "bob", "nl")
    first, second = waiting_chat(engine, clock.now - 9 * MIN), waiting_chat(engine, clock.now - 5 * MIN)
    french = waiting_chat(engine, clock.now - 7 * MIN, "fr")
    estimates = room.estimates()
    assert estimates[first][1] == WaitEstimate(estimates[first][0].id, OPEN, 1, 2, 300.0, None)
    assert (estimates[second][1].position, estimates[second][1].wait_s) == (2, 600.0)
    # French: one agent, no French history yet: the default handling time.
    assert (estimates[french][1].agents, estimates[french][1].wait_s) == (1, DEFAULT_HANDLING_S)


def test_agents_away_offline_or_silent_do_not_count(
    engine: Engine, room: WaitingRoom, clock: Clock, fast_password_hashing: None
) -> None:
    directory = AgentDirectory(engine)
    away = directory.create("away", PASSWORD)
    directory.set_presence(away.id, "away")
    silent = agent_online(engine, clock, "silent")
    directory.seen(silent, now=clock.now - timedelta(minutes=10))  # console gone
    cid = waiting_chat(engine, clock.now)
    assert room.estimate(cid) == WaitEstimate(room.estimates()[cid][0].id, NO_AGENT, 1, 0, None, None)


def test_outside_hours_the_estimate_says_when_the_team_is_back(
    engine: Engine, room: WaitingRoom, clock: Clock
) -> None:
    clock.now = TUESDAY_22
    estimate = room.estimate(waiting_chat(engine, clock.now))
    assert estimate is not None and estimate.state == CLOSED and estimate.long
    assert estimate.reopens == datetime(2026, 3, 10, 8, 0, tzinfo=BRUSSELS)  # next Tuesday
    status = room.status(estimate, "en", joined=False)
    assert "back 10/03 at 08:00" in status["text"]  # a week ahead: the date
    assert [b["payload"] for b in status["buttons"]] == [QUEUE_LEAVE, QUEUE_CALLBACK]


def test_a_short_wait_offers_leaving_only_a_long_one_also_a_callback(room: WaitingRoom) -> None:
    short = WaitEstimate(1, OPEN, 1, 1, 300.0, None)
    long = WaitEstimate(1, OPEN, 5, 1, 1800.0, None)
    assert room.status(short, "fr", joined=True) == {
        "text": text("queue_wait", "fr").format(wait="environ 5 minutes"),
        "buttons": [{"title": "Quitter la file", "payload": QUEUE_LEAVE}],
    }
    status = room.status(long, "nl", joined=False)
    assert status["text"] == (
        "Update: je bent nu nummer 5 in de wachtrij. Verwachte wachttijd: ongeveer 30 minuten. "
        + text("queue_callback_offer", "nl")
    )
    assert [b["title"] for b in status["buttons"]] == ["Wachtrij verlaten", "Contacteer me later"]


def test_asked_how_long_a_waiting_customer_hears_their_place_and_the_wait(
    engine: Engine, room: WaitingRoom, clock: Clock
) -> None:
    agent_online(engine, clock, "ann", "fr")
    waiting_chat(engine, clock.now - MIN, "fr")
    cid = waiting_chat(engine, clock.now, "fr")
    conv = ConversationStore(engine).get_conversation(cid)
    assert conv is not None
    reply = room.acknowledgement(conv, "combien de temps encore ?")
    wait = describe_wait(2 * DEFAULT_HANDLING_S, "fr")  # second in line, one agent
    assert reply["text"] == " ".join(
        [text("queue_wait_asked", "fr").format(position=2, wait=wait), text("queue_message_passed_too", "fr")]
    )
    assert [b["payload"] for b in reply["buttons"]] == [QUEUE_LEAVE]  # a short wait: no callback offer


@pytest.mark.parametrize(
    "told, now, expected",
    [
        (None, WaitEstimate(1, OPEN, 1, 1, 300.0, None), True),
        ({"handoff_id": 1, "state": "open", "wait_s": 600}, WaitEstimate(1, OPEN, 2, 1, 600.0, None), False),
        ({"handoff_id": 1, "state": "open", "wait_s": 600}, WaitEstimate(1, OPEN, 1, 1, 360.0, None), False),
        ({"handoff_id": 1, "state": "open", "wait_s": 600}, WaitEstimate(1, OPEN, 1, 2, 300.0, None), True),
        ({"handoff_id": 1, "state": "open", "wait_s": 3600}, WaitEstimate(1, OPEN, 9, 1, 4500, None), False),
        ({"handoff_id": 1, "state": "open", "wait_s": 3600}, WaitEstimate(1, OPEN, 9, 1, 4900, None), True),
        (
            {"handoff_id": 1, "state": "open", "wait_s": 600},
            WaitEstimate(1, NO_AGENT, 1, 0, None, None),
            True,
        ),
        (
            {"handoff_id": 1, "state": "no_agent", "wait_s": None},
            WaitEstimate(1, NO_AGENT, 3, 0, None, None),
            False,
        ),
        ({"handoff_id": 7, "state": "open", "wait_s": 600}, WaitEstimate(1, OPEN, 2, 1, 600.0, None), True),
    ],
)
def test_only_a_noticeable_change_is_told(
    told: dict[str, Any] | None, now: WaitEstimate, expected: bool
) -> None:
    assert noticeable(told, now) is expected


# -- told when joining and when it changes ----------------------------------------------------


def test_joining_stores_the_status_with_its_buttons_and_the_loop_tells_changes_once(
    engine: Engine, room: WaitingRoom, clock: Clock, telegram: Recorder, fast_password_hashing: None
) -> None:
    ann = agent_online(engine, clock, "ann", "en")
    cid = waiting_chat(engine, clock.now, "en", "telegram")
    conv = ConversationStore(engine).get_conversation(cid)
    assert conv is not None
    [joined] = room.joined(conv)
    assert joined["text"].startswith("Expected wait: about 6 minutes.")
    [stored] = system_messages(engine, cid)
    assert stored.payload["buttons"] == joined["buttons"] and stored.payload["queue"]["wait_s"] == 360
    assert "event" not in stored.payload  # the answer to the request: not pushed a second time

    assert room.refresh() == 0  # nothing changed
    AgentDirectory(engine).set_presence(ann, "offline")  # the only English agent leaves
    assert room.refresh() == 1
    assert room.refresh() == 0  # told once
    update = system_messages(engine, cid)[-1]
    assert update.payload["event"] == events.QUEUE_UPDATE and update.payload["queue"]["state"] == NO_AGENT
    assert update.text.startswith(text("queue_no_agent", "en"))
    assert [b["payload"] for b in update.payload["buttons"]] == [QUEUE_LEAVE, QUEUE_CALLBACK]
    assert telegram.sent == [(cid, [{"text": update.text, "buttons": update.payload["buttons"]}])]


def test_chats_with_a_callback_hear_no_more_updates(engine: Engine, room: WaitingRoom, clock: Clock) -> None:
    cid = waiting_chat(engine, clock.now)
    assert HandoffQueue(engine).request_callback(cid)
    assert room.refresh() == 0 and system_messages(engine, cid) == []


# -- leave, callback --------------------------------------------------------------------------


def test_leaving_gives_the_chat_back_to_the_bot_and_ends_the_handoff(
    engine: Engine, room: WaitingRoom, clock: Clock
) -> None:
    cid = waiting_chat(engine, clock.now, "fr")
    conv = ConversationStore(engine).get_conversation(cid)
    assert conv is not None
    replies, now_owner = room.command(conv, QUEUE_LEAVE)
    assert now_owner == "bot" == owner(engine, cid)
    assert replies == [{"text": text("queue_left", "fr").format(bot="Mila")}]
    handoff = HandoffQueue(engine).latest_handoff(cid)
    assert handoff is not None and handoff.ended_at is not None and handoff.outcome == "left_queue"
    again, _ = room.command(ConversationStore(engine).get_conversation(cid), QUEUE_LEAVE)  # type: ignore[arg-type]
    assert again == [{"text": text("queue_not_waiting", "fr")}]


def test_a_chat_an_agent_took_cannot_be_left(engine: Engine, room: WaitingRoom, clock: Clock) -> None:
    cid = waiting_chat(engine, clock.now)
    queue = HandoffQueue(engine)
    conv = ConversationStore(engine).get_conversation(cid)  # read while still waiting
    handoff = queue.open_handoff(cid)
    assert conv is not None and handoff is not None and queue.claim(handoff.id, "ann")
    replies, now_owner = room.command(conv, QUEUE_LEAVE)
    assert (now_owner, replies) == ("agent", [{"text": text("queue_already_taken", "nl")}])
    assert owner(engine, cid) == "agent"


def test_a_callback_keeps_the_chat_waiting_and_marks_it_for_the_agent(
    engine: Engine, room: WaitingRoom, clock: Clock
) -> None:
    cid = waiting_chat(engine, clock.now, "en")
    conv = ConversationStore(engine).get_conversation(cid)
    assert conv is not None
    replies, now_owner = room.command(conv, QUEUE_CALLBACK)
    assert now_owner == "queued" and replies == [{"text": text("queue_callback_ask", "en")}]
    handoff = HandoffQueue(engine).open_handoff(cid)
    assert handoff is not None and handoff.slots["callback"]["requested_at"] == clock.now.isoformat()
    assert room.acknowledgement(conv) == {
        "text": text("queue_callback_noted", "en"),
        "buttons": [{"title": "Leave the queue", "payload": QUEUE_LEAVE}],
    }


# -- abandoned chats ----------------------------------------------------------------------------


def say(engine: Engine, cid: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            messages.insert().values(
                conversation_id=cid,
                direction="in",
                author="customer",
                text="hallo?",
                status="received",
                created_at=at,
            )
        )


def test_silent_waiting_chats_are_closed_after_the_configured_minutes(
    settings: Settings, engine: Engine, clock: Clock, telegram: Recorder
) -> None:
    room = WaitingRoom(
        settings.with_overrides(queue_abandon_minutes=30),
        engine,
        hours=HOURS,
        delivery=Delivery({"telegram": telegram}),
        now=clock,
    )
    silent = waiting_chat(engine, clock.now - 40 * MIN, "fr", "telegram")
    say(engine, silent, clock.now - 35 * MIN)
    talking = waiting_chat(engine, clock.now - 40 * MIN)
    say(engine, talking, clock.now - 10 * MIN)
    recent = waiting_chat(engine, clock.now - 20 * MIN)
    callback = waiting_chat(engine, clock.now - 50 * MIN)
    HandoffQueue(engine).request_callback(callback)

    assert room.abandon_silent() == [silent]
    assert [owner(engine, c) for c in (silent, talking, recent, callback)] == [
        "closed",
        "queued",
        "queued",
        "queued",
    ]
    handoff = HandoffQueue(engine).latest_handoff(silent)
    assert handoff is not None and handoff.outcome == "abandoned"
    [told] = system_messages(engine, silent)
    assert told.payload == {"event": events.ABANDONED}
    assert told.text == text("queue_abandoned", "fr").format(minutes=30)
    assert telegram.sent == [(silent, [{"text": told.text}])]
    assert room.abandon_silent() == []
    queue = compute_metrics(engine, since=clock.now - timedelta(hours=2), until=clock.now)["queue"]
    assert queue == {"abandoned": 1, "left_queue": 0, "callbacks": 1, "abandonment_rate": 0.25}


def test_the_silence_counts_in_open_hours_only(settings: Settings, engine: Engine, clock: Clock) -> None:
    room = WaitingRoom(settings.with_overrides(queue_abandon_minutes=30), engine, hours=HOURS, now=clock)
    clock.now = TUESDAY_22
    overnight = waiting_chat(engine, clock.now - 2 * timedelta(hours=1))
    assert room.abandon_silent() == []  # closed: the chat waits for the team, as promised
    clock.now = datetime(2026, 3, 10, 8, 20, tzinfo=BRUSSELS).astimezone(timezone.utc)
    assert room.abandon_silent() == []  # 20 minutes since the opening
    clock.advance(11 * 60)
    assert room.abandon_silent() == [overnight]


def test_zero_minutes_never_abandons(settings: Settings, engine: Engine, clock: Clock) -> None:
    room = WaitingRoom(settings.with_overrides(queue_abandon_minutes=0), engine, hours=HOURS, now=clock)
    cid = waiting_chat(engine, clock.now - timedelta(hours=5))
    assert room.abandon_silent() == [] and owner(engine, cid) == "queued"
