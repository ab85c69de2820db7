"""Finding chats in the agents' queue and among their closed chats: search by text or customer,
filters (language, reason, priority, channel, waiting time), sort and paging.

A search matches, case-insensitively, a conversation whose id starts with the text, whose sender
(the customer's id on the channel) or whose handoff summary or details (slots, such as a customer
number) contain it, whose customer proved to be that customer number, or one of whose customer
messages contains it. The queue is filtered in Python (it is small and read in one query); the
closed chats are searched in SQL, one page at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from bot.core.db import Priority, conversations, handoffs, messages, verified_identities
from bot.core.settings import SUPPORTED_LANGUAGES
from handoff.queue import Handoff

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SEARCH_CHARS = 100
QUEUE_SORTS = ("priority", "oldest", "newest")  # priority: most urgent first, then longest waiting
CLOSED_OUTCOMES = ("closed", "handed_back", "left_queue", "abandoned")
PRIORITIES = tuple(p.value for p in Priority)
_ID_CHUNK = 500


class QueryError(ValueError):
    """A search, filter, sort or page the queue does not know."""


@dataclass(frozen=True)
class QueueQuery:
    """What an agent asks of the queue; the defaults are the whole queue, most urgent first."""

    text: str = ""
    language: str | None = None
    reason: str | None = None
    priority: str | None = None
    channel: str | None = None
    min_wait_s: int = 0
    sort: str = "priority"
    offset: int = 0
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> QueueQuery:
        """From a request's query parameters (``q``, ``language``, ``reason``, ``priority``,
        ``channel``, ``min_wait`` in minutes, ``sort``, ``offset``, ``limit``)."""
        sort = params.get("sort") or "priority"
        if sort not in QUEUE_SORTS:
            raise QueryError(f"sort must be one of {', '.join(QUEUE_SORTS)}")
        return cls(
            text=_search_text(params.get("q")),
            language=_choice(params, "language", SUPPORTED_LANGUAGES),
            reason=_name(params, "reason"),
            priority=_choice(params, "priority", PRIORITIES),
            channel=_name(params, "channel"),
            min_wait_s=60 * _number(params, "min_wait", 0, 60 * 24 * 366),
            sort=sort,
            offset=_number(params, "offset", 0, 10**9),
            limit=_number(params, "limit", PAGE_SIZE, MAX_PAGE_SIZE, lowest=1),
        )

    @property
    def filtered(self) -> bool:
        """Anything but the whole queue in its usual order, from the first page."""
        return self != replace(QueueQuery(), limit=self.limit)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def keeps(self, handoff: Handoff, now: datetime) -> bool:
        """Whether the filters (not the text search) keep this waiting chat."""
        wanted = {"language": self.language, "reason": self.reason, "priority": self.priority}
        wanted["channel"] = self.channel
        if any(value is not None and getattr(handoff, key) != value for key, value in wanted.items()):
            return False
        return (now - handoff.created_at).total_seconds() >= self.min_wait_s


def search_queue(
    engine: Engine, waiting: list[Handoff], query: QueueQuery, now: datetime
) -> tuple[list[Handoff], int]:
    """One page of the waiting chats the query keeps, in its order, and how many it keeps."""
    kept = [h for h in waiting if query.keeps(h, now)]
    if query.text:
        found = matching_conversations(engine, query.text, [h.conversation_id for h in kept])
        kept = [h for h in kept if h.conversation_id in found or _handoff_mentions(h, query.text)]
    if query.sort == "oldest":
        kept.sort(key=lambda h: (h.created_at, h.id))
    elif query.sort == "newest":
        kept.sort(key=lambda h: (h.created_at, h.id), reverse=True)
    return kept[query.offset : query.offset + query.limit], len(kept)


def matching_conversations(engine: Engine, text: str, conversation_ids: Iterable[str]) -> set[str]:
    """Those of ``conversation_ids`` a search for ``text`` finds in the database."""
    ids, found = list(dict.fromkeys(conversation_ids)), set()
    with engine.connect() as conn:
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            query = select(conversations.c.id).where(conversations.c.id.in_(chunk), _text_match(text))
            found.update(conn.execute(query).scalars())
    return found


@dataclass(frozen=True)
class ClosedQuery:
    """The closed-chats view: ended handoffs, the most recently ended first."""

    text: str = ""
    language: str | None = None
    outcome: str | None = None
    wrap_up: str | None = None
    mine: bool = False
    offset: int = 0
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ClosedQuery:
        return cls(
            text=_search_text(params.get("q")),
            language=_choice(params, "language", SUPPORTED_LANGUAGES),
            outcome=_choice(params, "outcome", CLOSED_OUTCOMES),
            wrap_up=_name(params, "wrap_up"),
            mine=(params.get("mine") or "").lower() in ("1", "true", "yes"),
            offset=_number(params, "offset", 0, 10**9),
            limit=_number(params, "limit", PAGE_SIZE, MAX_PAGE_SIZE, lowest=1),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def closed_chats(
    engine: Engine, query: ClosedQuery, languages: tuple[str, ...] | None, username: str
) -> tuple[list[Any], int]:
    """One page of ended handoffs (rows) in ``languages`` (None: all) and how many match."""
    conditions: list[ColumnElement[bool]] = [handoffs.c.ended_at.is_not(None)]
    if languages is not None:
        conditions.append(handoffs.c.language.in_(languages))
    for column, value in ((handoffs.c.language, query.language), (handoffs.c.outcome, query.outcome)):
        if value is not None:
            conditions.append(column == value)
    if query.wrap_up is not None:
        conditions.append(handoffs.c.wrap_up == query.wrap_up)
    if query.mine:
        conditions.append(handoffs.c.claimed_by == username)
    if query.text:
        summary = func.lower(handoffs.c.summary).like(_pattern(query.text), escape="\\")
        conditions.append(or_(_text_match(query.text), summary))
    joined = handoffs.join(conversations, conversations.c.id == handoffs.c.conversation_id)
    where = and_(*conditions)
    page = (
        select(handoffs)
        .select_from(joined)
        .where(where)
        .order_by(handoffs.c.ended_at.desc(), handoffs.c.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    )
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one()
        rows = conn.execute(page).all()
    return rows, int(total)


# --- matching -----------------------------------------------------------------------------------


def _text_match(text: str) -> ColumnElement[bool]:
    """A conversation (in a query over ``conversations``) that a search for ``text`` finds."""
    pattern = _pattern(text)
    said = exists().where(
        messages.c.conversation_id == conversations.c.id,
        messages.c.author == "customer",
        func.lower(messages.c.text).like(pattern, escape="\\"),
    )
    proven = exists().where(
        verified_identities.c.conversation_id == conversations.c.id,
        func.lower(verified_identities.c.customer_id) == text,
    )
    return or_(
        conversations.c.id.like(_escape(text) + "%", escape="\\"),
        func.lower(conversations.c.sender).like(pattern, escape="\\"),
        said,
        proven,
    )


def _handoff_mentions(handoff: Handoff, text: str) -> bool:
    details = [handoff.summary or "", *(str(v) for v in handoff.slots.values())]
    return any(text in value.lower() for value in details)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pattern(text: str) -> str:
    return f"%{_escape(text)}%"


# --- parameters ---------------------------------------------------------------------------------


def _search_text(raw: str | None) -> str:
    text = " ".join((raw or "").split()).lower()
    if len(text) > MAX_SEARCH_CHARS:
        raise QueryError(f"a search has at most {MAX_SEARCH_CHARS} characters")
    return text


def _choice(params: Mapping[str, str], key: str, allowed: tuple[str, ...]) -> str | None:
    value = (params.get(key) or "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise QueryError(f"{key} must be one of {', '.join(allowed)}")
    return value


def _name(params: Mapping[str, str], key: str) -> str | None:
    value = (params.get(key) or "").strip().lower()
    if not value:
        return None
    if len(value) > 32 or not value.replace("_", "").replace("-", "").isalnum():
        raise QueryError(f"{key} must be a code of letters, digits and underscores")
    return value


def _number(params: Mapping[str, str], key: str, default: int, highest: int, lowest: int = 0) -> int:
    raw = (params.get(key) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 12 or not lowest <= int(raw) <= highest:
        raise QueryError(f"{key} must be a whole number from {lowest} to {highest}")
    return int(raw)
