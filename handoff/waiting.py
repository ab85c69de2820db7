"""The queue as the waiting customer sees it: an honest expected wait, leaving the queue, asking to
be contacted later, and closing the chats whose customer went silent.

Expected wait, per language (:meth:`WaitingRoom.estimates`)
    ``position x handling time / agents online``: the chats of that language up to and including
    the customer's are shared by the agents online who answer it (presence ``online``, console
    heard from within PRESENCE_TIMEOUT), each busy for the median handling time (claim to end) of
    the last :data:`HANDLING_SAMPLE` ended chats of that language, :data:`DEFAULT_HANDLING_S` until
    there are :data:`MIN_SAMPLES`. Nobody online in business hours: no figure, said so; outside
    business hours (handoff/hours.yml, bot/core/hours.py): when the team is back.
Told
    when the customer joins the queue (the router adds it to the escalation's answer), and by the
    gateway's queue loop (:meth:`WaitingRoom.refresh`) when it changes noticeably: another state
    (open, nobody online, closed) or a wait that moved by :data:`NOTICEABLE_S` and a third of the
    wait told before; and whenever the customer asks ("hoe lang nog?", "il y a quelqu'un ?":
    bot/core/wait_question.py), with the note that their message went to the agent too. Outside
    hours, with nobody online, or with a wait of :data:`LONG_WAIT_S` or more, the customer is
    offered to be contacted later.
Leave the queue, be contacted later
    Two gateway payloads (:data:`QUEUE_PAYLOADS`) the router handles while the chat waits: back to
    the bot (``Transition.LEAVE_QUEUE``, outcome ``left_queue``), or a callback: the chat stays in
    the queue, marked in its handoff's slots (an agent sees it), and the customer's next message
    (phone number, e-mail, a good time) is its note.
Abandoned
    A waiting chat (no callback asked) whose customer has been silent for QUEUE_ABANDON_MINUTES of
    the team's open hours is closed (``Transition.ABANDON``, outcome ``abandoned``), the customer
    told. The silence counts from the latest of the customer's last message, the escalation and
    today's opening, so a chat left overnight, as promised, is not closed at the opening.

Everything is read from the database (gateway replicas share it): the status last told is the
``queue`` entry of a system message's payload.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from statistics import median
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from bot.core import events
from bot.core.db import OWNER_AGENT, OWNER_QUEUED, conversations, handoffs, messages, utcnow
from bot.core.hours import BusinessHours, HoursRepository, describe_opening
from bot.core.settings import Settings
from bot.core.store import Conversation, ConversationStore
from bot.core.texts import text as customer_text
from bot.core.wait_question import asks_how_long
from bot.core.withdrawal import confirms, withdraws
from handoff.agents import AgentDirectory
from handoff.delivery import Delivery
from handoff.queue import Handoff, HandoffQueue, wants_callback

QUEUE_LEAVE = "/queue_leave"
QUEUE_CALLBACK = "/queue_callback"
QUEUE_PAYLOADS = frozenset({QUEUE_LEAVE, QUEUE_CALLBACK})

HANDLING_SAMPLE = 20
MIN_SAMPLES = 3
DEFAULT_HANDLING_S = 6 * 60.0
HANDLING_LOOKBACK = timedelta(days=30)
LONG_WAIT_S = 15 * 60.0
NOTICEABLE_S = 5 * 60.0

OPEN, NO_AGENT, CLOSED = "open", "no_agent", "closed"


class HoursSource(Protocol):
    def current(self) -> BusinessHours:
        """The business hours in force (bot.core.hours.HoursRepository)."""


@dataclass(frozen=True)
class WaitEstimate:
    handoff_id: int
    state: str  # OPEN, NO_AGENT or CLOSED
    position: int
    agents: int
    wait_s: float | None  # only when OPEN
    reopens: datetime | None  # only when CLOSED

    @property
    def long(self) -> bool:
        """Worth offering a callback: no figure, or a long one."""
        return self.state != OPEN or (self.wait_s or 0) >= LONG_WAIT_S

    def as_payload(self) -> dict[str, Any]:
        return {
            "handoff_id": self.handoff_id,
            "state": self.state,
            "position": self.position,
            "agents": self.agents,
            "wait_s": None if self.wait_s is None else round(self.wait_s),
        }


def describe_wait(seconds: float, language: str) -> str:
    """'about a minute', 'about 15 minutes' (rounded up, to fives above ten), 'more than an hour'."""
    if seconds < 90:
        return customer_text("wait_about_a_minute", language)
    minutes = math.ceil(seconds / 60)
    if minutes > 10:
        minutes = 5 * math.ceil(minutes / 5)
    if minutes >= 60:
        return customer_text("wait_over_an_hour", language)
    return customer_text("wait_about_minutes", language).format(minutes=minutes)


def noticeable(told: dict[str, Any] | None, now: WaitEstimate) -> bool:
    """Worth a new message to the customer, after ``told`` (the status last told, or None)."""
    if not told or told.get("handoff_id") != now.handoff_id or told.get("state") != now.state:
        return True
    if now.state != OPEN or now.wait_s is None or told.get("wait_s") is None:
        return False
    before = float(told["wait_s"])
    return abs(now.wait_s - before) >= max(NOTICEABLE_S, before / 3)


def wait_seconds(position: int, handling_s: float, agents: int) -> float:
    return position * handling_s / agents


class WaitingRoom:
    """The customer's side of the queue (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        store: ConversationStore | None = None,
        hours: HoursSource | None = None,
        delivery: Delivery | None = None,
        notify: Callable[[], None] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store or ConversationStore(engine)
        self.queue = HandoffQueue(engine)
        self.hours: HoursSource = hours or HoursRepository(engine, time_zone=settings.time_zone)
        self.delivery = delivery
        self.notify = notify or (lambda: None)
        self.now = now

    # -- estimates -------------------------------------------------------------------------

    def estimates(self) -> dict[str, tuple[Handoff, WaitEstimate]]:
        """Every waiting chat's handoff and expected wait, by conversation id."""
        now = self.now()
        waiting = self.queue.waiting()
        hours = self.hours.current()
        is_open = hours.is_open(now)
        online = self._agents_online(now)
        with self.engine.connect() as conn:
            handling = _handling_times(conn, {h.language for h in waiting}, now)
        positions: Counter[str] = Counter()
        found = {}
        for handoff in waiting:
            positions[handoff.language] += 1
            found[handoff.conversation_id] = (
                handoff,
                _estimate(handoff, positions[handoff.language], online, handling, hours, is_open, now),
            )
        return found

    def estimate(self, conversation_id: str) -> WaitEstimate | None:
        entry = self.estimates().get(conversation_id)
        return entry[1] if entry else None

    def _agents_online(self, now: datetime) -> Counter[str]:
        stale = timedelta(seconds=self.settings.presence_timeout_s)
        counts: Counter[str] = Counter()
        for agent in AgentDirectory(self.engine).all():
            if agent.active and agent.effective_presence(now, stale) == "online":
                counts.update(agent.languages)
        return counts

    # -- what the customer is told ---------------------------------------------------------

    def status(
        self,
        estimate: WaitEstimate,
        language: str,
        *,
        joined: bool,
        asked: bool = False,
        callback: bool = True,
    ) -> dict[str, Any]:
        """The status message: text and buttons (leave; a callback when the wait is long, unless
        ``callback`` is False: asked already). Asked for by the customer
        (bot/core/wait_question.py): also that their message went to the agent, since it did."""
        parts = [self._status_text(estimate, language, joined, asked)]
        if asked:
            parts.append(customer_text("queue_message_passed_too", language))
        buttons = [{"title": customer_text("queue_button_leave", language), "payload": QUEUE_LEAVE}]
        if estimate.long and callback:
            parts.append(customer_text("queue_callback_offer", language))
            title = customer_text("queue_button_callback", language)
            buttons.append({"title": title, "payload": QUEUE_CALLBACK})
        return {"text": " ".join(p for p in parts if p), "buttons": buttons}

    def _status_text(self, estimate: WaitEstimate, language: str, joined: bool, asked: bool = False) -> str:
        if estimate.state == CLOSED:
            if joined:  # the escalation's answer has just said when the team is back
                return ""
            assert estimate.reopens is not None
            reopens = describe_opening(estimate.reopens, self.now(), language)
            return customer_text("queue_closed", language).format(reopens=reopens)
        if estimate.state == NO_AGENT:
            return customer_text("queue_no_agent", language)
        wait = describe_wait(estimate.wait_s or 0, language)
        if joined:
            return customer_text("queue_wait", language).format(wait=wait)
        key = "queue_wait_asked" if asked else "queue_wait_update"
        return customer_text(key, language).format(position=estimate.position, wait=wait)

    def joined(self, conv: Conversation) -> list[dict[str, Any]]:
        """The status for a customer who has just joined the queue, stored (its buttons are offered)."""
        estimate = self.estimate(conv.id)
        if estimate is None:
            return []
        reply = self.status(estimate, conv.language, joined=True)
        payload = {"buttons": reply["buttons"], "queue": estimate.as_payload()}
        self.store.add_system_message(
            conv.id, author="system", text=reply["text"], language=conv.language, payload=payload
        )
        return [reply]

    def acknowledgement(self, conv: Conversation, text: str = "") -> dict[str, Any]:
        """What a message of a waiting customer gets: passed on, or noted for the callback; with
        the queue's buttons again (the customer's message superseded the earlier ones). A message
        saying a person is no longer needed (bot/core/withdrawal.py) is offered the way out; one asking
        how long it takes gets the wait."""
        language = conv.language
        handoff = self.queue.open_handoff(conv.id)
        if handoff is None:
            return {"text": customer_text("handoff_message_passed", language)}
        leave = {"title": customer_text("queue_button_leave", language), "payload": QUEUE_LEAVE}
        if withdraws(text):
            return {"text": customer_text("queue_withdraw_offer", language), "buttons": [leave]}
        if asks_how_long(text):
            estimate = self.estimate(conv.id)
            if estimate is not None:
                return self.status(
                    estimate, language, joined=False, asked=True, callback=not wants_callback(handoff)
                )
        if wants_callback(handoff):
            return {"text": customer_text("queue_callback_noted", language), "buttons": [leave]}
        callback = {"title": customer_text("queue_button_callback", language), "payload": QUEUE_CALLBACK}
        return {"text": customer_text("handoff_message_passed", language), "buttons": [leave, callback]}

    # -- the customer's choices ------------------------------------------------------------

    def command(self, conv: Conversation, payload: str) -> tuple[list[dict[str, Any]], str]:
        """Leave the queue or ask for a callback (``payload`` in :data:`QUEUE_PAYLOADS`): the
        replies (stored) and who owns the conversation afterwards."""
        owner, key = conv.owner, "queue_not_waiting"
        if conv.owner == OWNER_AGENT:
            key = "queue_already_taken"
        elif conv.owner == OWNER_QUEUED and payload == QUEUE_LEAVE:
            if self.queue.leave(conv.id):
                owner, key = "bot", "queue_left"
            else:  # taken (or closed) a moment ago
                owner, key = self._owner(conv.id), "queue_already_taken"
        elif conv.owner == OWNER_QUEUED and self.queue.request_callback(conv.id, self.now()):
            key = "queue_callback_ask"
        replies = [{"text": customer_text(key, conv.language).format(bot=self.settings.bot_name)}]
        self.store.record_outbound(
            conv.id, author="system", replies=replies, language=conv.language, answered_status="sent"
        )
        return replies, owner

    def confirms_leaving(self, conv: Conversation, text: str) -> bool:
        """A "yes" to the offer to leave the queue (:meth:`acknowledgement`), right after it."""
        if conv.owner != OWNER_QUEUED or not confirms(text):
            return False
        offer = customer_text("queue_withdraw_offer", conv.language)
        return self.store.last_outbound_text(conv.id) == offer

    def _owner(self, conversation_id: str) -> str:
        conv = self.store.get_conversation(conversation_id)
        return conv.owner if conv else OWNER_QUEUED

    # -- the gateway's queue loop ----------------------------------------------------------

    def refresh(self) -> int:
        """Tell waiting customers (no callback asked) whose expected wait changed noticeably;
        returns how many were told."""
        told = 0
        for handoff, estimate in self.estimates().values():
            if wants_callback(handoff):
                continue
            if self._tell_if_changed(handoff.conversation_id, estimate):
                told += 1
        return told

    def _tell_if_changed(self, conversation_id: str, estimate: WaitEstimate) -> bool:
        with self.engine.begin() as conn:
            # The row lock (PostgreSQL) makes one replica tell, and the others see it told.
            row = conn.execute(
                select(conversations).where(conversations.c.id == conversation_id).with_for_update()
            ).first()
            if row is None or row.owner != OWNER_QUEUED or not noticeable(_last_told(conn, row.id), estimate):
                return False
            reply = self.status(estimate, row.language, joined=False)
            payload = {
                "event": events.QUEUE_UPDATE,
                "buttons": reply["buttons"],
                "queue": estimate.as_payload(),
            }
            _insert_notice(conn, row.id, reply["text"], row.language, payload, self.now())
        self._deliver(conversation_id, [reply])
        return True

    def abandon_silent(self) -> list[str]:
        """Close the waiting chats whose customer went silent (see the module docstring)."""
        minutes = self.settings.queue_abandon_minutes
        now = self.now()
        hours = self.hours.current()
        if minutes <= 0 or not hours.is_open(now):
            return []
        since = now - timedelta(minutes=minutes)
        opened = _opened_today(hours, now)
        waiting = [h for h in self.queue.waiting() if not wants_callback(h)]
        last_said = self._last_customer_messages(h.conversation_id for h in waiting)
        closed = []
        for handoff in waiting:
            silent_since = max(handoff.created_at, opened, last_said.get(handoff.conversation_id, opened))
            if silent_since <= since and self.queue.abandon(handoff.conversation_id):
                self._tell_abandoned(handoff.conversation_id, minutes)
                closed.append(handoff.conversation_id)
        return closed

    def _last_customer_messages(self, conversation_ids: Iterable[str]) -> dict[str, datetime]:
        ids = list(conversation_ids)
        if not ids:
            return {}
        query = (
            select(messages.c.conversation_id, func.max(messages.c.created_at))
            .where(messages.c.conversation_id.in_(ids), messages.c.direction == "in")
            .group_by(messages.c.conversation_id)
        )
        with self.engine.connect() as conn:
            return {cid: _aware(at) for cid, at in conn.execute(query) if at is not None}

    def _tell_abandoned(self, conversation_id: str, minutes: int) -> None:
        conv = self.store.get_conversation(conversation_id)
        if conv is None:
            return
        text = customer_text("queue_abandoned", conv.language).format(minutes=minutes)
        self.store.add_system_message(
            conv.id, author="system", text=text, language=conv.language, payload={"event": events.ABANDONED}
        )
        self._deliver(conv.id, [{"text": text}])

    def _deliver(self, conversation_id: str, replies: list[dict[str, Any]]) -> None:
        self.notify()
        conv = self.store.get_conversation(conversation_id)
        if self.delivery is not None and conv is not None:
            self.delivery.deliver(conv, replies)


# -- helpers ----------------------------------------------------------------------------------


def _estimate(
    handoff: Handoff,
    position: int,
    online: Counter[str],
    handling: dict[str, float],
    hours: BusinessHours,
    is_open: bool,
    now: datetime,
) -> WaitEstimate:
    agents = online[handoff.language]
    if not is_open and not agents:
        return WaitEstimate(handoff.id, CLOSED, position, 0, None, hours.next_opening(now))
    if not agents:
        return WaitEstimate(handoff.id, NO_AGENT, position, 0, None, None)
    per_chat = handling.get(handoff.language, DEFAULT_HANDLING_S)
    return WaitEstimate(handoff.id, OPEN, position, agents, wait_seconds(position, per_chat, agents), None)


def _handling_times(conn: Connection, languages: set[str], now: datetime) -> dict[str, float]:
    """Median seconds from claim to end of the last ended chats, per language (with enough of them)."""
    found: dict[str, float] = {}
    since = now - HANDLING_LOOKBACK
    for language in sorted(languages):
        rows = conn.execute(
            select(handoffs.c.claimed_at, handoffs.c.ended_at)
            .where(
                handoffs.c.language == language,
                handoffs.c.claimed_at.is_not(None),
                handoffs.c.ended_at.is_not(None),
                handoffs.c.ended_at >= since,
            )
            .order_by(handoffs.c.ended_at.desc())
            .limit(HANDLING_SAMPLE)
        ).all()
        spans = [max(0.0, (ended - claimed).total_seconds()) for claimed, ended in rows]
        if len(spans) >= MIN_SAMPLES:
            found[language] = max(60.0, median(spans))
    return found


def _last_told(conn: Connection, conversation_id: str, look_back: int = 50) -> dict[str, Any] | None:
    rows = conn.execute(
        select(messages.c.payload)
        .where(messages.c.conversation_id == conversation_id, messages.c.direction == "out")
        .order_by(messages.c.id.desc())
        .limit(look_back)
    ).scalars()
    return next(((p or {}).get("queue") for p in rows if isinstance((p or {}).get("queue"), dict)), None)


def _insert_notice(
    conn: Connection, conversation_id: str, text: str, language: str, payload: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        insert(messages).values(
            conversation_id=conversation_id,
            direction="out",
            author="system",
            text=text,
            language=language,
            status="sent",
            payload=payload,
            created_at=now,
        )
    )


def _opened_today(hours: BusinessHours, now: datetime) -> datetime:
    """When the team opened today (called while it is open)."""
    local = now.astimezone(hours.timezone)
    opens = hours.weekly[local.weekday()][0]
    return datetime.combine(local.date(), opens, tzinfo=hours.timezone)


def _aware(moment: datetime) -> datetime:
    """``max(created_at)`` is an SQL expression: SQLite may return it naive, or as text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


__all__ = [
    "QUEUE_CALLBACK",
    "QUEUE_LEAVE",
    "QUEUE_PAYLOADS",
    "WaitEstimate",
    "WaitingRoom",
    "describe_wait",
    "noticeable",
]
