"""What agents do with handed-over chats, independent of HTTP: the console's service layer.

Every change of who answers goes through :class:`handoff.queue.HandoffQueue` (one conditional
UPDATE each), so the console, Slack and the bot can never answer the same chat at once.
Messages to the customer are stored first and then delivered through the customer's own
channel (:mod:`handoff.delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.core import events
from bot.core.db import OWNER_AGENT, OWNER_QUEUED, csat, utcnow
from bot.core.ownership import handoff_from_row
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.store import Conversation, ConversationStore
from bot.core.texts import text as customer_text
from bot.core.typing_signals import AGENT as TYPING_AGENT
from bot.core.typing_signals import signal_typing
from handoff.agents import Agent, AgentDirectory
from handoff.audit import record_transcript_read
from handoff.delivery import Delivery
from handoff.queue import CALLBACK_SLOT, Handoff, HandoffQueue
from handoff.queue_search import ClosedQuery, QueueQuery, closed_chats, search_queue
from handoff.snooze import SnoozeError, SnoozeRequest, snooze_chat, snooze_entry, snoozes_of, wake_chat
from handoff.transfer import TransferRequest, to_colleague, to_team
from handoff.workspace import MAX_NOTE_CHARS, WRAP_UPS, add_note, notes_of, set_wrap_up, unread_of, wrap_up_of

CANNED_FILE = Path(__file__).with_name("canned.yml")
MAX_AGENT_MESSAGE_CHARS = 4000


class ConsoleError(Exception):
    """The agent cannot do this now; ``status`` is the HTTP status that fits, ``code`` says why
    (the console's pages show a text of their own for each code)."""

    def __init__(self, message: str, status: int = 409, code: str = "not_possible") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@lru_cache(maxsize=1)
def canned_responses(path: Path = CANNED_FILE) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, entry in data.items():
        missing = [
            lang
            for lang in SUPPORTED_LANGUAGES
            if not (entry or {}).get(lang) or not (entry.get("title") or {}).get(lang)
        ]
        if missing:
            raise ValueError(f"{path}: canned response {key!r} lacks {', '.join(missing)}")
    return data


def canned_for(language: str, agent_name: str) -> list[dict[str, str]]:
    offered = []
    for key, entry in canned_responses().items():
        body = entry[language].replace("{agent}", agent_name)
        offered.append({"key": key, "title": entry["title"][language], "text": body})
    return offered


@dataclass(frozen=True)
class QueueEntry:
    handoff: Handoff
    waiting_s: float
    sender: str

    def as_dict(self) -> dict[str, Any]:
        h = self.handoff
        return {
            "handoff_id": h.id,
            "conversation_id": h.conversation_id,
            "reason": h.reason,
            "priority": h.priority,
            "language": h.language,
            "channel": h.channel,
            "created_at": h.created_at.isoformat(),
            "waiting_s": round(self.waiting_s),
            "claimed_by": h.claimed_by,
            "summary": h.summary,
            "callback_at": callback_requested_at(h),
        }


def callback_requested_at(handoff: Handoff) -> str | None:
    """When the waiting customer asked to be contacted later (handoff/waiting.py), else None: the
    console shows it readably instead of the raw slot."""
    asked = handoff.slots.get(CALLBACK_SLOT)
    return str(asked.get("requested_at")) if isinstance(asked, dict) and asked.get("requested_at") else None


class Console:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: ConversationStore,
        queue: HandoffQueue,
        delivery: Delivery,
        notify: Callable[[], None] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.queue = queue
        self.delivery = delivery
        self.notify = notify or (lambda: None)
        self.now = now

    # -- what the agent sees -------------------------------------------------------------

    def is_available(self, agent: Agent) -> bool:
        stale = timedelta(seconds=self.settings.presence_timeout_s)
        return agent.active and agent.effective_presence(self.now(), stale) == "online"

    def queue_view(self, agent: Agent, query: QueueQuery | None = None) -> dict[str, Any]:
        """Chats offered to this agent (online, in their languages: one page of those ``query``
        finds), theirs (``mine``, and ``snoozed``: put aside for now), and the queue's size."""
        now, query = self.now(), query or QueueQuery()
        waiting = self.queue.waiting()
        available = self.is_available(agent)
        in_my_languages = [h for h in waiting if h.language in agent.languages]
        offered, found = search_queue(self.engine, in_my_languages, query, now) if available else ([], 0)
        mine, snoozed = self._mine(agent, now)
        return {
            "available": available,
            "offered": [self._entry(h, now) for h in offered],
            "offered_total": found,
            "mine": mine,
            "snoozed": snoozed,
            "waiting_total": len(waiting),
            "waiting_my_languages": len(in_my_languages),
            "waiting_other_languages": len(waiting) - len(in_my_languages),
            "query": query.as_dict(),
        }

    def closed_view(self, agent: Agent, query: ClosedQuery) -> dict[str, Any]:
        """One page of the chats that ended, in the agent's languages (an admin's: all)."""
        languages = None if agent.is_admin else agent.languages
        rows, total = closed_chats(self.engine, query, languages, agent.username)
        items = [
            {
                **self._entry(handoff_from_row(row), row.ended_at),
                "ended_at": row.ended_at.isoformat(),
                "outcome": row.outcome,
                "wrap_up": row.wrap_up,
            }
            for row in rows
        ]
        return {"items": items, "total": total, "query": query.as_dict()}

    def _mine(self, agent: Agent, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The agent's chats, each with its customer messages since the last agent reply and its
        snooze (handoff/snooze.py): the active ones, and the snoozed ones, next to wake first."""
        mine = self.queue.claimed_by(agent.username)
        unread = unread_of(self.engine, [(h.conversation_id, h.created_at) for h in mine])
        snoozes = snoozes_of(self.engine, [h.id for h in mine])
        entries = [
            {
                **self._entry(h, now),
                **unread[h.conversation_id],
                **snooze_entry(snoozes.get(h.id), now, unread[h.conversation_id]["last_customer_id"]),
            }
            for h in mine
        ]
        snoozed = sorted((e for e in entries if e["snoozed"]), key=lambda e: e["snoozed_until"])
        return [e for e in entries if not e["snoozed"]], snoozed

    def colleagues(self, agent: Agent) -> list[dict[str, Any]]:
        """The other agents online now, for a transfer: name and languages."""
        others = [a for a in AgentDirectory(self.engine).all() if a.id != agent.id and self.is_available(a)]
        return [
            {"username": a.username, "display_name": a.display_name, "languages": list(a.languages)}
            for a in others
        ]

    def _entry(self, handoff: Handoff, now: datetime) -> dict[str, Any]:
        return QueueEntry(handoff, (now - handoff.created_at).total_seconds(), "").as_dict()

    def packet(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        """Everything the agent needs: reason, priority, language, channel, intents, slots,
        summary and the full transcript (unmasked: the console is the one place it may be).
        Every read is audited (handoff/privacy.py): the packet, the chat's stream and its export."""
        conv = self._conversation(conversation_id)
        handoff = self._readable_handoff(conversation_id, agent)
        record_transcript_read(self.engine, agent.username, conv.id, self.now(), handoff_id=handoff.id)
        return {
            "conversation": {
                "id": conv.id,
                "channel": conv.channel,
                "owner": conv.owner,
                "language": conv.language,
                "created_at": conv.created_at.isoformat(),
            },
            "handoff": {
                **self._entry(handoff, self.now()),
                "intents": handoff.intents,
                "slots": handoff.slots,
                "ended": handoff.ended_at is not None,
                "ended_at": handoff.ended_at.isoformat() if handoff.ended_at else None,
                "outcome": handoff.outcome,
                "wrap_up": wrap_up_of(self.engine, handoff.id),
            },
            "transcript": [transcript_entry(m) for m in self.store.transcript(conversation_id)],
            "notes": notes_of(self.engine, conv.id),
            "canned": canned_for(conv.language, agent.display_name),
            "wrap_ups": list(WRAP_UPS),
        }

    def _readable_handoff(self, conversation_id: str, agent: Agent) -> Handoff:
        """The conversation's latest handoff, when this agent may read the conversation."""
        handoff = self.queue.latest_handoff(conversation_id)
        if handoff is None:
            raise ConsoleError("this conversation was never handed over", 404, "never_handed_over")
        if handoff.language not in agent.languages and not agent.is_admin:
            raise ConsoleError("this conversation is in a language you do not answer", 403, "wrong_language")
        return handoff

    def readable(self, conversation_id: str, agent: Agent) -> tuple[Conversation, Handoff]:
        """The conversation and its latest handoff, when this agent may read it (the customer
        panel, handoff/customer.py, asks the same as the packet)."""
        return self._conversation(conversation_id), self._readable_handoff(conversation_id, agent)

    # -- what the agent does -------------------------------------------------------------

    def claim(self, conversation_id: str, agent: Agent) -> None:
        if not self.is_available(agent):
            raise ConsoleError("set yourself online to take chats", 409, "not_online")
        handoff = self.queue.open_handoff(conversation_id)
        if handoff is None:
            raise ConsoleError("this chat is no longer waiting", 409, "not_waiting")
        if handoff.language not in agent.languages:
            raise ConsoleError("this chat is in a language you do not answer", 403, "wrong_language")
        if not self.queue.claim(handoff.id, agent.username):
            raise ConsoleError("another agent took this chat first", 409, "taken")
        conv = self._conversation(conversation_id)
        self._tell_customer(
            conv,
            "agent_joined",
            {"event": events.AGENT_JOINED, "agent": agent.display_name},
            agent=agent.display_name,
        )

    def reply(self, conversation_id: str, agent: Agent, body: str, via: str | None = None) -> int:
        """Send the agent's reply; ``via`` names where it was written when not in the web console
        (``"slack"``: the agents' Slack thread has it already, it is not posted there again)."""
        body = (body or "").strip()
        if not body:
            raise ConsoleError("the reply is empty", 422, "empty_reply")
        if len(body) > MAX_AGENT_MESSAGE_CHARS:
            too_long = f"a reply has at most {MAX_AGENT_MESSAGE_CHARS} characters"
            raise ConsoleError(too_long, 413, "reply_too_long")
        conv = self._own(conversation_id, agent)
        message_id = self.store.add_system_message(
            conv.id,
            author="agent",
            text=body,
            language=conv.language,
            payload=_reply_payload(agent, via),
        )
        self.queue.record_agent_reply(conv.id, agent.username)
        self.notify()
        self.delivery.deliver(conv, [{"text": body}], sender_name=agent.display_name)
        return message_id

    def hand_back(self, conversation_id: str, agent: Agent) -> None:
        conv = self._own(conversation_id, agent)
        if not self.queue.hand_back(conv.id):
            raise ConsoleError("the chat changed owner meanwhile", 409, "owner_changed")
        self._tell_customer(conv, "handed_back", {"event": events.HANDED_BACK}, bot=self.settings.bot_name)

    def close(self, conversation_id: str, agent: Agent, wrap_up: str | None = None) -> None:
        """End the chat, with the agent's wrap-up code (one of WRAP_UPS) when given."""
        if wrap_up is not None and wrap_up not in WRAP_UPS:
            unknown = f"the wrap-up code must be one of {', '.join(WRAP_UPS)}"
            raise ConsoleError(unknown, 422, "invalid_wrap_up")
        conv = self._conversation(conversation_id)
        if conv.owner == OWNER_AGENT:
            self._own(conversation_id, agent)
        elif conv.owner != OWNER_QUEUED or not agent.is_admin:
            raise ConsoleError("only the agent who has this chat can close it", 409, "not_yours")
        handoff = self.queue.open_handoff(conv.id)
        if handoff is None or not self.queue.close(conv.id):
            raise ConsoleError("the chat changed owner meanwhile", 409, "owner_changed")
        if wrap_up is not None:
            set_wrap_up(self.engine, handoff.id, wrap_up)
        if conv.owner == OWNER_AGENT:
            self._ask_csat(conv)
        else:  # an admin closed a chat nobody talked to (spam, a duplicate): no score to ask for
            self._tell_customer(conv, "closed_unanswered", {"event": events.CLOSED})

    def typing(self, conversation_id: str, agent: Agent) -> bool:
        """The agent types in their chat: the customer sees it (bot/core/typing_signals.py)."""
        conv = self._own(conversation_id, agent)
        sent = signal_typing(self.engine, conv.id, TYPING_AGENT, agent.display_name, self.now())
        if sent:
            self.notify()
        return sent

    def transfer(self, conversation_id: str, agent: Agent, request: TransferRequest) -> dict[str, Any]:
        """Pass the agent's chat to an online colleague or a language team (handoff/transfer.py),
        with the note kept among the chat's notes; the customer gets a neutral notice."""
        conv = self._own(conversation_id, agent)
        handoff = self.queue.open_handoff(conv.id)
        assert handoff is not None  # _own checked it
        if request.to is not None:
            taker = self._colleague(request.to, agent, handoff.language)
            done = to_colleague(
                self.engine, handoff.id, conv.id, (agent.username, taker.username), self.now()
            )
        else:
            done = to_team(
                self.engine, handoff.id, conv.id, agent.username, request.language or "", self.now()
            )
        if not done:
            raise ConsoleError("the chat changed owner meanwhile", 409, "owner_changed")
        note = None
        if request.note:
            note = add_note(
                self.engine,
                conv.id,
                handoff.id,
                (agent.username, agent.display_name),
                request.note,
                self.now(),
            )
        self._tell_customer(conv, "transferred", {"event": events.TRANSFERRED})
        return {"ok": True, "to": request.to, "language": request.language, "note": note}

    def snooze(self, conversation_id: str, agent: Agent, request: SnoozeRequest) -> dict[str, Any]:
        """Put the agent's answered chat aside until a time or the customer's next message."""
        conv = self._own(conversation_id, agent)
        handoff = self.queue.open_handoff(conv.id)
        assert handoff is not None  # _own checked it
        if handoff.first_reply_at is None:
            raise ConsoleError("answer the customer before you snooze the chat", 409, "reply_first")
        try:
            until = request.wake_at(self.now(), self.settings.time_zone)
        except SnoozeError as exc:
            raise ConsoleError(str(exc), 422, "invalid_snooze") from exc
        if not snooze_chat(self.engine, handoff.id, conv.id, agent.username, until, self.now()):
            raise ConsoleError("the chat changed owner meanwhile", 409, "owner_changed")
        return {"ok": True, "snoozed_until": until.isoformat()}

    def unsnooze(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        """End the snooze of the agent's chat now (nothing to do when it has none)."""
        conv = self._own(conversation_id, agent)
        handoff = self.queue.open_handoff(conv.id)
        assert handoff is not None  # _own checked it
        woken = wake_chat(self.engine, handoff.id, conv.id, agent.username, self.now())
        return {"ok": True, "woken": woken}

    def _colleague(self, username: str, agent: Agent, language: str) -> Agent:
        taker = AgentDirectory(self.engine).by_username(username)
        if taker is None or not taker.active:
            raise ConsoleError("no such colleague", 404, "unknown_colleague")
        if taker.id == agent.id:
            raise ConsoleError("this chat is already yours", 422, "transfer_to_self")
        if not self.is_available(taker):
            raise ConsoleError("this colleague is not online", 409, "colleague_offline")
        if language not in taker.languages:
            raise ConsoleError(
                "this colleague does not answer in the chat's language", 409, "colleague_language"
            )
        return taker

    def add_note(self, conversation_id: str, agent: Agent, body: str) -> dict[str, Any]:
        """An internal note on a conversation the agent may read; never sent to the customer."""
        body = (body or "").strip()
        if not body:
            raise ConsoleError("the note is empty", 422, "empty_note")
        if len(body) > MAX_NOTE_CHARS:
            raise ConsoleError(f"a note has at most {MAX_NOTE_CHARS} characters", 413, "note_too_long")
        conv = self._conversation(conversation_id)
        handoff = self._readable_handoff(conv.id, agent)
        author = (agent.username, agent.display_name)
        return add_note(self.engine, conv.id, handoff.id, author, body, self.now())

    # -- helpers -------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> Conversation:
        conv = self.store.get_conversation(conversation_id)
        if conv is None:
            raise ConsoleError("no such conversation", 404, "no_conversation")
        return conv

    def _own(self, conversation_id: str, agent: Agent) -> Conversation:
        conv = self._conversation(conversation_id)
        handoff = self.queue.open_handoff(conversation_id)
        if conv.owner != OWNER_AGENT or handoff is None or handoff.claimed_by != agent.username:
            raise ConsoleError("take this chat first: it is not yours", 409, "not_yours")
        return conv

    def _tell_customer(self, conv: Conversation, key: str, payload: dict[str, Any], **values: str) -> None:
        message = customer_text(key, conv.language).format(**values)
        self.store.add_system_message(
            conv.id, author="system", text=message, language=conv.language, payload=payload
        )
        self.notify()
        self.delivery.deliver(conv, [{"text": message}])

    def _ask_csat(self, conv: Conversation) -> None:
        with self.engine.begin() as conn:
            already = conn.execute(select(csat.c.conversation_id).where(csat.c.conversation_id == conv.id))
            if already.first() is None:
                conn.execute(
                    insert(csat).values(conversation_id=conv.id, language=conv.language, asked_at=self.now())
                )
        buttons = [{"title": str(n), "payload": str(n)} for n in range(1, 6)]
        question = customer_text("csat_question", conv.language)
        self.store.add_system_message(
            conv.id,
            author="system",
            text=question,
            language=conv.language,
            payload={"event": events.CSAT_QUESTION, "buttons": buttons},
        )
        self.notify()
        self.delivery.deliver(conv, [{"text": question, "buttons": buttons}])


def transcript_entry(message: dict[str, Any]) -> dict[str, Any]:
    payload = message.get("payload") or {}
    return {
        "id": message["id"],
        "author": message["author"],
        "direction": message["direction"],
        "text": message["text"],
        "language": message.get("language"),
        "status": message.get("status"),
        "at": message["created_at"].isoformat(),
        "agent": payload.get("agent"),
        "event": payload.get("event"),
        "buttons": payload.get("buttons") or [],
        "button_title": payload.get("button_title"),
    }


def _reply_payload(agent: Agent, via: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"event": events.AGENT_REPLY, "agent": agent.display_name}
    if via:
        payload["via"] = via
    return payload
