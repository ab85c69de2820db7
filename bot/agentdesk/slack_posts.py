"""What the agents' Slack workspace has posted, or reserved to post, kept in the database so that
every gateway process sees it and each post is made exactly once.

Two kinds of post:

* the escalation post of a handoff: the ``slack_agent_post`` ref of the conversation holds
  ``"<handoff id>:pending@<epoch s>"`` while one process posts it (the reservation), then
  ``"<handoff id>:<channel>:<ts>"`` (or ``"<handoff id>:failed"`` when Slack refused it);
* a message relayed into the post's thread (the customer's, or an agent's reply written in the web
  console): a ``relay:<message id>`` row in ``processed_updates`` is the reservation, a
  ``relay:<message id>:posted`` row says it was posted.

A process that dies between reserving and posting leaves a reservation nobody finishes. A
reservation older than :data:`RESERVATION_LEASE_S` is taken over by another process with a
compare-and-set on the reservation itself (the ref's value, the row's ``created_at``), so exactly one
process takes it over. The lease is far longer than a Slack call may take (``SLACK_TIMEOUT_S`` and
the client's retry); a process that still finishes after its reservation was taken over deletes its
own post (:meth:`PostLedger.store_post` tells it so). The processes' clocks must agree within a
fraction of the lease (NTP).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from bot.channels.common import ConversationRefs
from bot.core.db import conversation_refs, processed_updates, utcnow

POST_REF = "slack_agent_post"
THREAD_REF = "slack_agent_thread"  # "<channel>:<ts>" of the current post: thread replies find their chat
RELAY_LOG = "slack_agents"  # the processed_updates channel of the relays (and of Slack's event ids)
RESERVATION_LEASE_S = 60.0
RELAY_LOOKBACK = timedelta(hours=1)  # older unfinished relays are stale news: left alone


@dataclass(frozen=True)
class PostRef:
    """The ``slack_agent_post`` ref: which handoff has a post, and where (or pending / failed)."""

    handoff_id: int
    status: str = "posted"  # posted | pending | failed
    channel: str = ""
    ts: str = ""
    reserved_at: float = 0.0  # pending: when it was reserved (0: by a version that did not say)

    @classmethod
    def parse(cls, value: str | None) -> PostRef | None:
        parts = (value or "").split(":")
        if len(parts) == 3 and parts[0].isdigit():
            return cls(int(parts[0]), "posted", parts[1], parts[2])
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        status, _, since = parts[1].partition("@")
        if status == "failed" or (status == "pending" and _is_number(since or "0")):
            return cls(int(parts[0]), status, reserved_at=float(since or 0))
        return None

    @classmethod
    def reservation(cls, handoff_id: int, now: datetime | None = None) -> PostRef:
        return cls(handoff_id, "pending", reserved_at=round((now or utcnow()).timestamp(), 3))

    @property
    def value(self) -> str:
        if self.status == "posted":
            return f"{self.handoff_id}:{self.channel}:{self.ts}"
        if self.status == "pending":
            return f"{self.handoff_id}:pending@{self.reserved_at:.3f}"
        return f"{self.handoff_id}:{self.status}"

    def unfinished(self, now: datetime, lease_s: float) -> bool:
        """Failed, or reserved longer ago than the lease: another process may post it."""
        if self.status == "failed":
            return True
        return self.status == "pending" and now.timestamp() - self.reserved_at > lease_s


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class PostLedger:
    """The reservations and posts of the agents' workspace, race-free through the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- escalation posts ----------------------------------------------------------------------

    def reserve(self, cid: str, previous: PostRef | None, pending: PostRef) -> bool:
        """Reserve the post: True when this call did (no ref yet, or ``previous`` unchanged)."""
        if previous is None:
            return self._insert_once(
                conversation_refs, conversation_id=cid, kind=POST_REF, value=pending.value
            )
        return self.replace(cid, previous.value, pending.value)

    def replace(self, cid: str, old: str, new: str) -> bool:
        """Compare-and-set of the post ref: True when this call changed ``old`` into ``new``."""
        refs = conversation_refs.c
        mine = (refs.conversation_id == cid, refs.kind == POST_REF, refs.value == old)
        return self._update_one(conversation_refs, mine, value=new)

    def store_post(self, cid: str, pending: PostRef, posted: PostRef) -> bool:
        """Record the post; False when the reservation was taken over meanwhile (a duplicate)."""
        if not self.replace(cid, pending.value, posted.value):
            return False
        ConversationRefs(self.engine).set(cid, THREAD_REF, f"{posted.channel}:{posted.ts}")
        return True

    def unfinished_posts(self, now: datetime, lease_s: float) -> list[str]:
        """Conversations whose post failed or whose reservation outlived the lease."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(conversation_refs.c.conversation_id, conversation_refs.c.value).where(
                    conversation_refs.c.kind == POST_REF,
                    conversation_refs.c.value.like("%:pending%") | conversation_refs.c.value.like("%:failed"),
                )
            ).all()
        return [row.conversation_id for row in rows if _unfinished(row.value, now, lease_s)]

    # -- relays into the thread ----------------------------------------------------------------

    def reserve_relay(self, message_id: int) -> bool:
        """True for the one process that relays this message."""
        return self._insert(_relay_key(message_id))

    def relayed(self, message_id: int) -> None:
        self._insert(_relay_key(message_id) + ":posted")

    def _insert(self, key: str) -> bool:
        return self._insert_once(processed_updates, channel=RELAY_LOG, update_id=key, created_at=utcnow())

    def take_over_relays(self, now: datetime, lease_s: float) -> list[int]:
        """The messages whose relay was reserved longer ago than the lease and never posted,
        each re-reserved by this call (compare-and-set on the reservation's time)."""
        posted = processed_updates.alias("posted")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(processed_updates.c.update_id, processed_updates.c.created_at)
                .outerjoin(
                    posted,
                    and_(
                        posted.c.channel == RELAY_LOG,
                        posted.c.update_id == processed_updates.c.update_id + ":posted",
                    ),
                )
                .where(
                    processed_updates.c.channel == RELAY_LOG,
                    processed_updates.c.update_id.like("relay:%"),
                    processed_updates.c.update_id.not_like("%:posted"),
                    processed_updates.c.created_at < now - timedelta(seconds=lease_s),
                    processed_updates.c.created_at > now - RELAY_LOOKBACK,
                    posted.c.update_id.is_(None),
                )
            ).all()
        return [
            int(row.update_id.split(":")[1])
            for row in rows
            if self._retake(row.update_id, row.created_at, now)
        ]

    def _retake(self, key: str, reserved_at: datetime, now: datetime) -> bool:
        updates = processed_updates.c
        mine = (updates.channel == RELAY_LOG, updates.update_id == key, updates.created_at == reserved_at)
        return self._update_one(processed_updates, mine, created_at=now)

    # -- the two race-free writes --------------------------------------------------------------

    def _insert_once(self, table: Table, **values: Any) -> bool:
        """Insert the row: True when this call did, False when its unique key is already taken."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(**values))
        except IntegrityError:
            return False
        return True

    def _update_one(self, table: Table, where: Iterable[ColumnElement[bool]], **values: Any) -> bool:
        """Compare-and-set: True when this call's update changed the one row ``where`` still
        matched (another process may have changed it first)."""
        with self.engine.begin() as conn:
            changed = conn.execute(update(table).where(*where).values(**values))
        return changed.rowcount == 1


def _relay_key(message_id: int) -> str:
    return f"relay:{message_id}"


def _unfinished(value: str, now: datetime, lease_s: float) -> bool:
    ref = PostRef.parse(value)
    return ref is not None and ref.unfinished(now, lease_s)
