"""Delivery of messages that reach a customer outside a request: agent replies, notices, CSAT.

The message is always stored first (the transcript is the record). The web chat reads it from
the transcript through its live stream, so it needs no push here; channels with a platform API
(Telegram, Slack) register a sender that calls that API. A failed delivery is logged and the
message stays stored, so nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.core.store import Conversation

log = logging.getLogger(__name__)


class ChannelSender(Protocol):
    def send(
        self, conversation: Conversation, replies: list[dict[str, Any]], sender_name: str | None
    ) -> None:
        """Send replies to the conversation's customer on this channel."""


class Delivery:
    """Routes outgoing messages to the sender of the conversation's own channel."""

    # Channels whose customers read the transcript through a live stream.
    STREAMED = frozenset({"web", "cli"})

    def __init__(self, senders: dict[str, ChannelSender] | None = None) -> None:
        self.senders = dict(senders or {})

    def register(self, channel: str, sender: ChannelSender) -> None:
        self.senders[channel] = sender

    def deliver(
        self, conversation: Conversation, replies: list[dict[str, Any]], sender_name: str | None = None
    ) -> bool:
        """True when handed to the channel (or the channel streams the transcript itself)."""
        if conversation.channel in self.STREAMED:
            return True
        sender = self.senders.get(conversation.channel)
        if sender is None:
            log.error("no sender for channel %s (conversation %s)", conversation.channel, conversation.id)
            return False
        try:
            sender.send(conversation, replies, sender_name)
        except Exception:
            log.exception("delivery on %s failed (conversation %s)", conversation.channel, conversation.id)
            return False
        return True
