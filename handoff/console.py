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
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.store import Conversation, ConversationStore
from bot.core.texts import text as customer_text
from handoff.agents import Agent
from handoff.delivery import Delivery
from handoff.privacy import record_transcript_read
from handoff.queue import Handoff, HandoffQueue

CANNED_FILE = Path(__file__).with_name("canned.yml")
MAX_AGENT_MESSAGE_CHARS = 4000


class ConsoleError(Exception):
    """The agent cannot do this now; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


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
        }


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

    def queue_view(self, agent: Agent) -> dict[str, Any]:
        """Chats offered to this agent (online, in their languages), theirs, and the queue's size."""
        now = self.now()
        waiting = self.queue.waiting()
        offered = [h for h in waiting if h.language in agent.languages] if self.is_available(agent) else []
        return {
            "available": self.is_available(agent),
            "offered": [self._entry(h, now) for h in offered],
            "mine": [self._entry(h, now) for h in self.queue.claimed_by(agent.username)],
            "waiting_total": len(waiting),
            "waiting_other_languages": len([h for h in waiting if h.language not in agent.languages]),
        }

    def _entry(self, handoff: Handoff, now: datetime) -> dict[str, Any]:
        return QueueEntry(handoff, (now - handoff.created_at).total_seconds(), "").as_dict()

    def packet(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        """Everything the agent needs: reason, priority, language, channel, intents, slots,
        summary and the full transcript (unmasked: the console is the one place it may be).
        Every read is audited (handoff/privacy.py): the packet, the chat's stream and its export."""
        conv = self._conversation(conversation_id)
        handoff = self.queue.latest_handoff(conversation_id)
        if handoff is None:
            raise ConsoleError("this conversation was never handed over", 404)
        if handoff.language not in agent.languages and not agent.is_admin:
            raise ConsoleError("this conversation is in a language you do not answer", 403)
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
            },
            "transcript": [transcript_entry(m) for m in self.store.transcript(conversation_id)],
            "canned": canned_for(conv.language, agent.display_name),
        }

    # -- what the agent does -------------------------------------------------------------

    def claim(self, conversation_id: str, agent: Agent) -> None:
        if not self.is_available(agent):
            raise ConsoleError("set yourself online to take chats", 409)
        handoff = self.queue.open_handoff(conversation_id)
        if handoff is None:
            raise ConsoleError("this chat is no longer waiting", 409)
        if handoff.language not in agent.languages:
            raise ConsoleError("this chat is in a language you do not answer", 403)
        if not self.queue.claim(handoff.id, agent.username):
            raise ConsoleError("another agent took this chat first", 409)
        conv = self._conversation(conversation_id)
        self._tell_customer(
            conv,
            "agent_joined",
            {"event": events.AGENT_JOINED, "agent": agent.display_name},
            agent=agent.display_name,
        )

    def reply(self, conversation_id: str, agent: Agent, body: str) -> int:
        body = (body or "").strip()
        if not body:
            raise ConsoleError("the reply is empty", 422)
        if len(body) > MAX_AGENT_MESSAGE_CHARS:
            raise ConsoleError(f"a reply has at most {MAX_AGENT_MESSAGE_CHARS} characters", 413)
        conv = self._own(conversation_id, agent)
        message_id = self.store.add_system_message(
            conv.id,
            author="agent",
            text=body,
            language=conv.language,
            payload={"event": events.AGENT_REPLY, "agent": agent.display_name},
        )
        self.queue.record_agent_reply(conv.id, agent.username)
        self.notify()
        self.delivery.deliver(conv, [{"text": body}], sender_name=agent.display_name)
        return message_id

    def hand_back(self, conversation_id: str, agent: Agent) -> None:
        conv = self._own(conversation_id, agent)
        if not self.queue.hand_back(conv.id):
            raise ConsoleError("the chat changed owner meanwhile", 409)
        self._tell_customer(conv, "handed_back", {"event": events.HANDED_BACK}, bot=self.settings.bot_name)

    def close(self, conversation_id: str, agent: Agent) -> None:
        conv = self._conversation(conversation_id)
        if conv.owner == OWNER_AGENT:
            self._own(conversation_id, agent)
        elif conv.owner != OWNER_QUEUED or not agent.is_admin:
            raise ConsoleError("only the agent who has this chat can close it", 409)
        if not self.queue.close(conv.id):
            raise ConsoleError("the chat changed owner meanwhile", 409)
        if conv.owner == OWNER_AGENT:
            self._ask_csat(conv)
        else:  # an admin closed a chat nobody talked to (spam, a duplicate): no score to ask for
            self._tell_customer(conv, "closed_unanswered", {"event": events.CLOSED})

    # -- helpers -------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> Conversation:
        conv = self.store.get_conversation(conversation_id)
        if conv is None:
            raise ConsoleError("no such conversation", 404)
        return conv

    def _own(self, conversation_id: str, agent: Agent) -> Conversation:
        conv = self._conversation(conversation_id)
        handoff = self.queue.open_handoff(conversation_id)
        if conv.owner != OWNER_AGENT or handoff is None or handoff.claimed_by != agent.username:
            raise ConsoleError("take this chat first: it is not yours", 409)
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
