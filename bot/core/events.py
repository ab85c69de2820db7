"""The names of the events pushed to the live pages, defined once.

Two families:

* stream events, the ``event:`` field of the server-sent events of the web chat stream
  (``/api/chat/stream``) and the agent console's stream (``/agent/api/stream``). The change
  feed's :class:`~bot.core.feed.Event` kinds are the first two: a message, a change of owner.
* notices, the ``event`` in the payload of a message the system wrote to the customer (an agent
  joined, replied, handed back or closed the chat; the satisfaction question). The web chat
  stream pushes the messages that carry one.

The pages never spell these names: they get them as ``EVENTS`` from :func:`page_script`
(``/agent/events.js``, ``/events.js``; the widget has them written into ``/widget.js``).
"""

from __future__ import annotations

import json

# -- stream events (and change feed kinds) --------------------------------------------------
MESSAGE = "message"  # a message of the conversation
OWNER = "owner"  # who answers the conversation changed: {"owner": ...}
QUEUE = "queue"  # the agent's queue view (console stream)
LOGOUT = "logout"  # the console session ended: the stream stops (console stream)
TYPING = "typing"  # the other side is typing (bot/core/typing_signals.py): {"side", "name", "at"}
ACTIVITY = "activity"  # a customer wrote in another of the agent's chats (console stream)

# -- notices in a message's payload ---------------------------------------------------------
AGENT_JOINED = "agent_joined"
AGENT_REPLY = "agent_reply"
HANDED_BACK = "handed_back"
CSAT_QUESTION = "csat_question"
CLOSED = "closed"
QUEUE_UPDATE = "queue_update"  # the waiting customer's expected wait changed (handoff/waiting.py)
ABANDONED = "abandoned"  # a waiting chat closed after the customer's silence
TRANSFERRED = "transferred"  # an agent passed the chat to a colleague or a language team

NOTICES = frozenset(
    {AGENT_REPLY, AGENT_JOINED, HANDED_BACK, CSAT_QUESTION, CLOSED, QUEUE_UPDATE, ABANDONED, TRANSFERRED}
)
"""The messages with these notices reach the web customer through the stream."""

PAGE_EVENTS: dict[str, str] = {
    "MESSAGE": MESSAGE,
    "OWNER": OWNER,
    "QUEUE": QUEUE,
    "LOGOUT": LOGOUT,
    "TYPING": TYPING,
    "ACTIVITY": ACTIVITY,
    "AGENT_JOINED": AGENT_JOINED,
    "AGENT_REPLY": AGENT_REPLY,
    "HANDED_BACK": HANDED_BACK,
    "CSAT_QUESTION": CSAT_QUESTION,
    "CLOSED": CLOSED,
    "TRANSFERRED": TRANSFERRED,
}
"""What the pages see as ``EVENTS.<NAME>``."""


def page_json() -> str:
    """The names as the pages' ``EVENTS`` object (JSON, one line)."""
    return json.dumps(PAGE_EVENTS)


def page_script() -> str:
    """JavaScript defining ``window.EVENTS`` for a page that loads it before its own script."""
    return f"window.EVENTS = {page_json()};\n"
