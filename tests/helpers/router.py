"""A router wired to fake Rasa and action servers (tests/web)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.core.language import default_detector
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.rasa.client import ActionServerClient, RasaClient
from bot.router import Router
from testkit.fakes.http_server import FakeServer


def make_router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    client = RasaClient(rasa.url, timeout_s=2)
    return Router(
        settings, ConversationStore(engine), client, default_detector(), ActionServerClient(actions.url)
    )
