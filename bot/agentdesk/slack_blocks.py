"""What an escalation post in the agents' Slack channel shows: Block Kit drawn from the handoff and
the conversation's owner (reason, priority, language, channel, waiting time, masked summary and
customer, and the buttons the state allows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels.slack_text import escape
from bot.core.db import OWNER_AGENT, OWNER_QUEUED
from bot.core.masking import mask_text
from handoff.queue import Handoff

MAX_SECTION_CHARS = 3000
PRIORITY_ICONS = {"urgent": ":red_circle:", "high": ":large_orange_circle:", "normal": ":white_circle:"}


@dataclass(frozen=True)
class PostView:
    """What an escalation post shows: state is waiting | taken | handed_back | closed |
    left_queue (the customer went back to the bot) | abandoned (closed after their silence)."""

    conversation_id: str
    handoff: Handoff
    state: str
    agent: str | None
    now: datetime
    customer: str | None = None  # the verified customer, masked

    @property
    def key(self) -> tuple[int, str, str | None]:
        return (self.handoff.id, self.state, self.agent)


def minutes(seconds: float) -> str:
    whole = int(max(0.0, seconds) // 60)
    if whole < 1:
        return "<1 min"
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


def _fields(view: PostView) -> dict[str, Any]:
    h = view.handoff
    waited = ((h.claimed_at or view.now) - h.created_at).total_seconds()
    since = f"<!date^{int(h.created_at.timestamp())}^{{time}}|{h.created_at:%H:%M} UTC>"
    pairs = [
        ("Reason", h.reason.replace("_", " ")),
        ("Priority", h.priority),
        ("Language", h.language.upper()),
        ("Channel", h.channel),
        ("Waiting" if view.state == "waiting" else "Waited", f"{minutes(waited)} (since {since})"),
    ]
    if view.customer:
        pairs.append(("Customer", escape(view.customer)))
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs]}


def _headline(view: PostView) -> str:
    agent = escape(view.agent or "an agent")
    return {
        "waiting": f"{PRIORITY_ICONS.get(view.handoff.priority, '')} *New chat waiting for a person*",
        "taken": f":speech_balloon: *{agent}* has this chat",
        "handed_back": f":leftwards_arrow_with_hook: Handed back to the bot by *{agent}*",
        "closed": f":white_check_mark: Closed by *{agent}*" if view.agent else ":white_check_mark: Closed",
        "left_queue": ":leftwards_arrow_with_hook: The customer left the queue and is back with the bot",
        "abandoned": ":zzz: Closed: the customer went silent in the queue",
    }[view.state]


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _actions(view: PostView) -> list[dict[str, Any]]:
    cid = view.conversation_id
    if view.state == "waiting":
        return [{"type": "actions", "elements": [_button("Take", "take", cid, "primary")]}]
    if view.state != "taken":
        return []
    close = _button("Close", "close", cid, "danger")
    close["confirm"] = {
        "title": {"type": "plain_text", "text": "Close this chat?"},
        "text": {
            "type": "plain_text",
            "text": "The customer is asked for a score; their next message starts anew.",
        },
        "confirm": {"type": "plain_text", "text": "Close"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    hint = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Reply in this thread to answer the customer."}],
    }
    return [hint, {"type": "actions", "elements": [_button("Hand back to bot", "hand_back", cid), close]}]


def post_content(view: PostView) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments for an escalation post; customer text masked."""
    h = view.handoff
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _headline(view)}},
        _fields(view),
    ]
    if h.summary:
        summary = f"*Summary*\n{escape(mask_text(h.summary))}"[:MAX_SECTION_CHARS]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    state = view.state.replace("_", " ").capitalize()
    text = f"{state}: {h.reason} ({h.priority}, {h.language.upper()}, {h.channel})"
    return {"text": text, "blocks": blocks + _actions(view)}


def state_of(owner: str, handoff: Handoff) -> str | None:
    if handoff.ended_at is not None:
        ended = ("closed", "left_queue", "abandoned")
        return handoff.outcome if handoff.outcome in ended else "handed_back"
    return {OWNER_QUEUED: "waiting", OWNER_AGENT: "taken"}.get(owner)
