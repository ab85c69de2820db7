"""The Telegram channel as the channel tests set it up: its token and its settings against a
fake Bot API and the fake Rasa."""

from __future__ import annotations

from typing import Any

from bot.core.settings import Settings
from testkit.fakes.http_server import FakeServer
from testkit.fakes.telegram_api import FakeTelegram

TOKEN = "123456:TEST-token"


def telegram_settings(
    base: Settings, api: FakeTelegram, rasa: FakeServer, actions: FakeServer, **overrides: Any
) -> Settings:
    """``base`` with the Telegram channel (long polling) on ``api`` and the fakes."""
    return base.with_overrides(
        telegram_token=TOKEN,
        telegram_api_url=api.base_url,
        rasa_url=rasa.url,
        action_server_url=actions.url,
        rasa_timeout_s=2.0,
        feed_interval_s=0.05,
        **overrides,
    )
