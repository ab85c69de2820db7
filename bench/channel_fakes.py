"""The Telegram and Slack platform fakes (testkit/fakes) as the channel benchmarks run them next to
the gateway: bench/channel_latency.py and bench/reliability_channels.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TypeVar

from testkit.fakes.slack_api import FakeSlack
from testkit.fakes.telegram_api import FakeTelegram

TelegramT = TypeVar("TelegramT", bound=FakeTelegram)
SlackT = TypeVar("SlackT", bound=FakeSlack)


@contextlib.contextmanager
def both_running(telegram: TelegramT, slack: SlackT) -> Iterator[tuple[TelegramT, SlackT]]:
    """The two fakes, both stopped on the way out."""
    try:
        yield telegram, slack
    finally:
        telegram.stop()
        slack.stop()


def fakes_env(
    telegram: FakeTelegram, slack: FakeSlack, slack_token: str, slack_secret: str
) -> dict[str, str]:
    """The gateway's Telegram and Slack customer channels on the fakes, without the agents' Slack
    app; the caller adds how Telegram reaches the gateway (long polling or webhook)."""
    return {
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "SLACK_BOT_TOKEN": slack_token,
        "SLACK_SIGNING_SECRET": slack_secret,
        "SLACK_API_URL": slack.base_url,
        "SLACK_AGENT_BOT_TOKEN": "",
    }
