"""The customers' Slack app as the channel tests set it up: its token, signing secret and
workspace, its settings, and signed requests to /slack/events as Slack sends them."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from bot.core.settings import Settings
from testkit.fakes.http_server import FakeServer
from testkit.fakes.slack_api import Bot, FakeSlack, event_callback, message_event, signed_headers

TOKEN, SECRET, TEAM = "xoxb-customers", "customer-signing-secret", "T0CUST"
BOT = Bot(user_id="UBOT", bot_id="BBOT", team_id=TEAM)
GENERAL = "C0GENERAL"
LOCALES = {"UANN": "nl-BE", "UBEN": "en-GB", "UFR": "fr-FR"}


def customer_slack() -> FakeSlack:
    """A fake Slack Web API with the customers' bot and three customers (nl, en, fr)."""
    return FakeSlack({TOKEN: BOT}, locales=LOCALES)


def slack_settings(
    settings: Settings, rasa: FakeServer, actions: FakeServer, slack: FakeSlack, **overrides: Any
) -> Settings:
    """``settings`` with the fakes and the customers' Slack app enabled."""
    return settings.with_overrides(
        rasa_url=rasa.url,
        action_server_url=actions.url,
        rasa_timeout_s=2.0,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        **overrides,
    )


def signed_post(
    client: TestClient, path: str, payload: dict[str, Any] | str, secret: str, **options: Any
) -> Response:
    """POST to one of the apps' endpoints as Slack does: a JSON event, or a form-encoded click,
    signed with ``secret`` (``options``: the timestamp, or extra headers such as retries)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    kind = "application/x-www-form-urlencoded" if isinstance(payload, str) else "application/json"
    headers = {"Content-Type": kind, **signed_headers(secret, body, **options)}
    return client.post(path, content=body, headers=headers)


def send(
    client: TestClient, payload: dict[str, Any] | str, *, secret: str = SECRET, **options: Any
) -> Response:
    """POST to the customers' app (/slack/events) as Slack does."""
    return signed_post(client, "/slack/events", payload, secret, **options)


def mention(
    client: TestClient, text: str, ts: str, *, user: str = "UBEN", channel: str = GENERAL, **extra: Any
) -> dict[str, Any]:
    """An ``app_mention`` of ``text`` (as written: with or without ``<@UBOT>``), accepted."""
    event = message_event(user, text, channel, ts, **extra)
    event["type"] = "app_mention"
    body = event_callback(TEAM, event)
    response = send(client, body)
    assert response.status_code == 200, response.text
    return body
