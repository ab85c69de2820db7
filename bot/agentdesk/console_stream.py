"""One agent's live view in the console (``/agent/api/stream``): the queue when it changes, and
the open chat's new messages and owner, as server-sent events.

A snoozed chat (handoff/snooze.py) wakes when its time comes or its customer writes: nothing is
written then, so the view is read again when a customer writes in one of them, and at the first
round after the earliest wake-up time (the stream's keep-alive makes a round at least every 15 s;
the page also asks for its queue at that time)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import ConsoleServices
from bot.core import events
from bot.core.feed import Event
from bot.core.typing_signals import CUSTOMER
from bot.web.http import MAX_ROW_ID, sse
from handoff.console import transcript_entry

SEEN_EVERY_S = 20.0  # how often an open console refreshes the agent's "last seen" (a write)
FAREWELL = sse(events.LOGOUT, {})  # the session ended: the page shows the log-in again


class ConsoleStream:
    """Messages come from the change feed's memory; the database is read for the queue only when
    an owner changed (an escalation, claim, hand-back or close), for a full resync, and to check
    that the session still holds before customer text is sent. None ends the stream: the session
    was logged out, deactivated or expired meanwhile."""

    def __init__(self, services: ConsoleServices, token: str, conversation: str | None, after: int) -> None:
        self.services, self.token, self.conversation = services, token, conversation
        self.after = min(max(0, after), MAX_ROW_ID)  # the route refuses others (bot.web.http.event_id)
        self.sent: set[int] = set()
        self.last_queue: str | None = None
        self.last_owner: str | None = None
        self.last_seen = 0.0
        self.mine: frozenset[str] = frozenset()  # the agent's chats in the last queue view
        self.snoozed: frozenset[str] = frozenset()  # those of them snoozed
        self.next_wake: datetime | None = None  # the earliest wake-up time among them

    async def start(self) -> list[str] | None:
        return await self.resync()

    async def update(self, changes: list[Event], complete: bool, moved: bool) -> list[str] | None:
        if not complete or time.monotonic() - self.last_seen >= SEEN_EVERY_S:
            # the view carries the unread counts; the page's alert needs the activity event too
            resynced = await self.resync()
            return None if resynced is None else resynced + self.activity_chunks(changes)
        chunks = self.from_feed(changes)
        touched = moved and not changes  # woken without a change: presence, log-out, deactivation
        if touched or self.wakes(changes) or any(_moves_chats(c) for c in changes):
            queue = await self.queue_chunks()
            return None if queue is None else chunks + queue
        if chunks and not await self.still_allowed():
            return None
        return chunks

    async def still_allowed(self) -> bool:
        """Checked before customer text goes out: only this chat's stream pays the query."""
        return await run_in_threadpool(self.services.directory.session, self.token) is not None

    def wakes(self, changes: list[Event]) -> bool:
        """A snoozed chat's time came, or its customer wrote: the agent's chats change."""
        if self.next_wake is not None and self.services.console.now() >= self.next_wake:
            return True
        return any(
            c.kind == events.MESSAGE and c.data["author"] == "customer" and c.conversation_id in self.snoozed
            for c in changes
        )

    def from_feed(self, changes: list[Event]) -> list[str]:
        mine = [c for c in changes if c.conversation_id == self.conversation]
        chunks = self.message_chunks([c.data for c in mine if c.kind == events.MESSAGE])
        owners = [c.data["owner"] for c in mine if c.kind == events.OWNER]
        typing = [c.data for c in mine if c.kind == events.TYPING and c.data["side"] == CUSTOMER]
        chunks += [sse(events.TYPING, typing[-1])] if typing else []
        return chunks + (self.owner_chunks(owners[-1]) if owners else []) + self.activity_chunks(changes)

    def activity_chunks(self, changes: list[Event]) -> list[str]:
        """A customer wrote in another of the agent's chats: the page counts it as unread."""
        return [
            sse(events.ACTIVITY, {"conversation_id": c.conversation_id, "message_id": c.data["id"]})
            for c in changes
            if c.kind == events.MESSAGE
            and c.data["author"] == "customer"
            and c.conversation_id in self.mine
            and c.conversation_id != self.conversation
        ]

    async def resync(self) -> list[str] | None:
        """Everything from the database: used at the start and when the feed cannot tell."""
        snapshot = await run_in_threadpool(
            _console_snapshot, self.services, self.token, self.conversation, max([self.after, *self.sent])
        )
        if snapshot is None:
            return None
        self.last_seen = time.monotonic()
        view, rows, owner = snapshot
        return self.view_chunks(view) + self.message_chunks(rows) + self.owner_chunks(owner)

    async def queue_chunks(self) -> list[str] | None:
        view = await run_in_threadpool(_queue_view, self.services, self.token)
        return None if view is None else self.view_chunks(view)

    def view_chunks(self, view: dict[str, Any]) -> list[str]:
        snoozed = view.get("snoozed", [])
        self.mine = frozenset(e["conversation_id"] for e in [*view["mine"], *snoozed])
        self.snoozed = frozenset(e["conversation_id"] for e in snoozed)
        wakes = [datetime.fromisoformat(e["snoozed_until"]) for e in snoozed]
        self.next_wake = min(wakes) if wakes else None
        comparable = json.dumps(_without_waiting(view), sort_keys=True)
        if comparable == self.last_queue:
            return []
        self.last_queue = comparable
        return [sse(events.QUEUE, view)]

    def message_chunks(self, rows: list[dict[str, Any]]) -> list[str]:
        chunks = []
        for row in rows:
            if row["id"] > self.after and row["id"] not in self.sent:
                self.sent.add(row["id"])
                entry = transcript_entry(row)
                chunks.append(sse(events.MESSAGE, entry, entry["id"]))
        return chunks

    def owner_chunks(self, owner: str | None) -> list[str]:
        if owner is None or owner == self.last_owner:
            return []
        self.last_owner = owner
        return [sse(events.OWNER, {"owner": owner})]


def _moves_chats(change: Event) -> bool:
    """An owner changed, or a chat went from one agent to another (the owner stays ``agent``)."""
    if change.kind == events.OWNER:
        return True
    return (
        change.kind == events.MESSAGE
        and (change.data.get("payload") or {}).get("event") == events.TRANSFERRED
    )


def _without_waiting(view: dict[str, Any]) -> dict[str, Any]:
    strip = lambda entries: [{k: v for k, v in e.items() if k != "waiting_s"} for e in entries]  # noqa: E731
    stripped = {"offered": strip(view["offered"]), "mine": strip(view["mine"])}
    return {**view, **stripped, "snoozed": strip(view.get("snoozed", []))}


def _queue_view(services: ConsoleServices, token: str) -> dict[str, Any] | None:
    """What the session's agent is offered now; None when the session no longer holds."""
    session = services.directory.session(token)  # fresh: presence or languages may have changed
    return services.console.queue_view(session.agent) if session is not None else None


def _console_snapshot(
    services: ConsoleServices, token: str, conversation: str | None, after: int
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None] | None:
    session = services.directory.session(token)
    if session is None:
        return None
    view = services.console.queue_view(session.agent)
    services.directory.seen(session.agent.id)
    if conversation is None:
        return view, [], None
    rows = services.store.messages_after([conversation], after)
    conv = services.store.get_conversation(conversation)
    return view, rows, conv.owner if conv else None
