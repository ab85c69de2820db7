"""The conversation router (routing.py) and the message a channel hands it (message.py)."""

from bot.router.message import IncomingMessage, InvalidMessage, RouterResult, valid_sender
from bot.router.routing import Router

__all__ = ["IncomingMessage", "InvalidMessage", "Router", "RouterResult", "valid_sender"]
