"""What every channel plugs into: the gateway's services, update de-duplication, platform refs.

A channel object is built when the app is created (cheap: no network), may contribute HTTP
routes, and is started inside the gateway's lifespan with a :class:`ChannelContext`. When it
can send to customers it is registered with :class:`handoff.delivery.Delivery` under its name,
so agent replies, notices and the CSAT question reach the customer on their own channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import conversation_refs, processed_updates, utcnow
from bot.core.feed import ChangeFeed
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.router import Router
from handoff.agents import AgentDirectory
from handoff.console import Console
from handoff.delivery import Delivery
from handoff.queue import HandoffQueue

T = TypeVar("T")


@dataclass
class ChannelContext:
    settings: Settings
    engine: Engine
    router: Router
    store: ConversationStore
    queue: HandoffQueue
    console: Console
    directory: AgentDirectory
    delivery: Delivery
    feed: ChangeFeed
    loop: asyncio.AbstractEventLoop


class Channel(Protocol):
    name: str

    def routes(self) -> APIRouter | None:
        """HTTP routes the channel needs on the gateway (webhooks), or None."""

    async def start(self, context: ChannelContext) -> None:
        """Connect (polling, webhooks); registers with ``context.delivery`` if it can send."""

    async def stop(self) -> None:
        """Disconnect cleanly."""


def run_on_loop(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T], timeout_s: float = 15
) -> T:
    """Run an async platform call from a worker thread (delivery is called from threads)."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout_s)


@dataclass
class Handling:
    """One platform update being handled (bot/channels/update_spool.py): the update ids it
    recorded as handled (``claims``), and those an earlier try cut short by the database going
    away had recorded (``owned``: this try is their handling, not a repeat)."""

    owned: frozenset[str] = frozenset()
    claims: list[str] = field(default_factory=list)
    replay: bool = False  # a try of a spooled update: the spool keeps it if the database goes away
    away: bool = False  # this try was cut short by the database going away


HANDLING: ContextVar[Handling | None] = ContextVar("update_handling", default=None)


class UpdateLog:
    """Platform updates already handled; the database's primary key makes it race-free."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def first_time(self, channel: str, update_id: str | int) -> bool:
        """True the first time this update is seen (and records it), False for a repeat; True
        also for an update recorded by an earlier try of the :class:`Handling` under way."""
        handling, key = HANDLING.get(), f"{channel}:{update_id}"
        if handling is not None and key in handling.owned:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(processed_updates).values(
                        channel=channel, update_id=str(update_id), created_at=utcnow()
                    )
                )
        except IntegrityError:
            return False
        if handling is not None:
            handling.claims.append(key)
        return True

    def forget_older_than(self, age: timedelta) -> int:
        """Drop ids older than ``age`` (no platform retries that late); returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(processed_updates).where(processed_updates.c.created_at < utcnow() - age)
            ).rowcount


class ConversationRefs:
    """Platform references of a conversation (a Slack thread, an escalation post...)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def set(self, conversation_id: str, kind: str, value: str) -> None:
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(conversation_refs.c.value).where(
                    conversation_refs.c.conversation_id == conversation_id, conversation_refs.c.kind == kind
                )
            ).first()
            if existing is None:
                conn.execute(
                    insert(conversation_refs).values(conversation_id=conversation_id, kind=kind, value=value)
                )
            elif existing.value != value:
                conn.execute(
                    conversation_refs.update()
                    .where(
                        conversation_refs.c.conversation_id == conversation_id,
                        conversation_refs.c.kind == kind,
                    )
                    .values(value=value)
                )

    def claim(self, conversation_id: str, kind: str, value: str) -> bool:
        """Set the ref only if there is none yet; True when this call set it (e.g. post once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(conversation_refs).values(conversation_id=conversation_id, kind=kind, value=value)
                )
        except IntegrityError:
            return False
        return True

    def get(self, conversation_id: str, kind: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(conversation_refs.c.value).where(
                    conversation_refs.c.conversation_id == conversation_id, conversation_refs.c.kind == kind
                )
            ).scalar()

    def find(self, kind: str, value: str) -> str | None:
        """The conversation whose ref of this kind has this value."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(conversation_refs.c.conversation_id)
                .where(conversation_refs.c.kind == kind, conversation_refs.c.value == value)
                .limit(1)
            ).scalar()


def configured_channels(settings: Settings) -> list[Channel]:
    """The channels whose credentials are set; imported lazily so an unused one costs nothing."""
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(settings))
    if settings.slack_enabled:
        from bot.channels.slack import SlackCustomerChannel

        channels.append(SlackCustomerChannel(settings))
    if settings.slack_agents_enabled:
        from bot.agentdesk.slack import SlackAgentWorkspace

        channels.append(SlackAgentWorkspace(settings))
    return channels
