"""What the account and verification action tests share: a conversation, trackers, the deps."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from actions.account import AccountDeps
from bot.connectors.accounts import AccountProvider, AccountService, DemoAccountProvider
from bot.core.db import conversations, utcnow
from bot.core.identity import Identity
from bot.core.settings import Settings
from testkit.fakes.sms import InlineOutbox
from tests.helpers.trackers import run as run  # re-exported: the account tests import from here
from tests.helpers.trackers import said as said

TODAY = date(2026, 12, 4)  # the demo file's own date: its figures as written


def demo_accounts() -> DemoAccountProvider:
    return DemoAccountProvider.from_file(today=TODAY)


def make_deps(
    engine: Engine,
    provider: AccountProvider | None = None,
    outbox: InlineOutbox | None = None,
    **env: str,
) -> AccountDeps:
    settings = Settings.from_env({"SMS_PROVIDER": "demo", "ACCOUNT_PROVIDER": "demo", **env})
    return AccountDeps(
        settings=settings,
        identity=Identity(engine),
        accounts=AccountService(provider or demo_accounts(), timeout_s=1.0),
        outbox=outbox or InlineOutbox(),  # type: ignore[arg-type]
    )


def new_conversation(engine: Engine, language: str = "nl", channel: str = "web") -> str:
    cid = str(uuid.uuid4())
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel=channel,
                sender=f"sender-{cid[:8]}",
                owner="bot",
                language=language,
                created_at=now,
                updated_at=now,
            )
        )
    return cid


def tracker(
    cid: str,
    text: str = "",
    intent: str = "knowledge",
    *,
    language: str = "nl",
    slots: dict[str, Any] | None = None,
    article: str | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: dict[str, Any] | None = None,
) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if article:
        latest["article"] = {"id": article, "confidence": 0.9}
    return Tracker(
        sender_id=cid,
        slots={"language": language, **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name="action_listen",
    )


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]
