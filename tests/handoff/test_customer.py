"""The customer panel (handoff/customer.py) on a real database and the demo account data: what
an agent sees of a verified customer, who may see it, that every read is audited, what the
agents' Slack post may show, and an honest panel when the account system fails."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.connectors.accounts import AccountService
from bot.core.db import audit_log, conversations, utcnow
from bot.core.identity import Identity
from bot.core.rules import default_rules
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from handoff.agents import Agent
from handoff.console import Console, ConsoleError
from handoff.customer import CustomerPanel, account_subject
from handoff.delivery import Delivery
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation
from testkit.fakes.accounts import FailingAccountProvider
from tests.helpers.accounts import demo_accounts

JAN = "MC1000001"  # Jan Peeters, +32470123456, three invoices in the demo data


def agent(username: str = "ann", languages: tuple[str, ...] = ("nl",), role: str = "agent") -> Agent:
    return Agent(1, username, username.capitalize(), role, languages, "online", True, utcnow())


def conversation(engine: Engine, *, channel: str = "web", sender: str | None = None, ago_h: int = 0) -> str:
    with engine.begin() as conn:
        cid = insert_conversation(conn, channel=channel, created_at=utcnow() - timedelta(hours=ago_h))
        if sender:
            conn.execute(update(conversations).where(conversations.c.id == cid).values(sender=sender))
    return cid


def escalated(engine: Engine, cid: str, reason: str = "request_human") -> str:
    assert HandoffQueue(engine).escalate(cid, default_rules()[reason]) is not None
    return cid


def verify(
    engine: Engine, cid: str, customer: str = JAN, method: str = "sms_code", minutes: int = 30
) -> None:
    channel, sender = Identity(engine).channel_identity(cid)  # type: ignore[misc]
    Identity(engine).mark_verified(channel, sender, customer, cid, method, minutes)


@pytest.fixture
def panel(settings: Settings, engine: Engine) -> CustomerPanel:
    store = ConversationStore(engine)
    console = Console(settings, engine, store, HandoffQueue(engine), Delivery())
    return CustomerPanel(engine, console, AccountService(demo_accounts(), timeout_s=1.0))


def audit_rows(engine: Engine) -> list[tuple[str, str, str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.action == "account.read")).all()
    return [(r.actor, r.action, r.subject, r.details) for r in rows]


def test_a_verified_conversation_shows_the_customer(panel: CustomerPanel, engine: Engine) -> None:
    cid = escalated(engine, conversation(engine))
    verify(engine, cid, method="telegram_contact")
    view = panel.view(cid, agent())
    assert view["verified"]["customer_id"] == JAN and view["verified"]["method"] == "Telegram"
    assert view["verified"]["current"] is True
    account = view["account"]
    assert (account["name"], account["plan"], account["msisdn"]) == (
        "Jan Peeters",
        "Mila Smart",
        "+32470123456",
    )
    expected = demo_accounts().account(JAN)
    assert expected is not None
    assert [i["number"] for i in account["invoices"]] == [i.number for i in expected.invoices[:3]]
    assert account["invoices"][0]["total"] == str(expected.invoices[0].total)
    assert account["usage"]["data_used_mb"] == expected.usage.data_used_mb
    assert account["usage"]["renews_on"] == expected.usage.renews_on.isoformat()
    assert all(order["status"] != "delivered" for order in account["orders"])
    json.dumps(view)  # all of it can go out as JSON
    assert audit_rows(engine) == [("ann", "account.read", account_subject(JAN), {"conversation_id": cid})]


def test_earlier_conversations_of_the_same_customer_and_channel_identity(
    panel: CustomerPanel, engine: Engine
) -> None:
    cid = escalated(engine, conversation(engine, channel="telegram", sender="4711"))
    verify(engine, cid)
    same_customer = conversation(engine, channel="web", ago_h=48)  # verified elsewhere as Jan
    verify(engine, escalated(engine, same_customer, "fraud"))
    with engine.begin() as conn:  # an earlier, closed chat of the same Telegram user
        same_identity = insert_conversation(conn, channel="telegram", owner="closed")
        conn.execute(update(conversations).where(conversations.c.id == same_identity).values(sender="4711"))
    stranger = conversation(engine)
    verify(engine, stranger, customer="MC1000002")
    earlier = panel.view(cid, agent())["earlier"]
    by_id = {entry["conversation_id"]: entry for entry in earlier}
    assert set(by_id) == {same_customer, same_identity}
    assert (
        by_id[same_customer]["handoff_reason"] == "fraud" and by_id[same_identity]["handoff_reason"] is None
    )
    assert by_id[same_identity]["status"] == "closed"


def test_an_unverified_conversation_shows_no_account_and_reads_nothing(
    panel: CustomerPanel, engine: Engine
) -> None:
    cid = escalated(engine, conversation(engine))
    assert panel.view(cid, agent()) == {"verified": None, "earlier": []}
    verify(engine, cid)
    Identity(engine).log_out(*Identity(engine).channel_identity(cid))  # type: ignore[misc]
    assert panel.view(cid, agent()) == {"verified": None, "earlier": []}  # "log me out" ends it too
    assert audit_rows(engine) == [] and panel.masked(cid) is None


def test_an_unverified_customer_s_earlier_chats_on_the_same_channel_identity_are_listed(
    panel: CustomerPanel, engine: Engine
) -> None:
    """No account without proof, but the same Telegram user's earlier chats are the agent's
    context; a chat verified as a customer elsewhere is not linked without proof."""
    cid = escalated(engine, conversation(engine, channel="telegram", sender="4711"))
    with engine.begin() as conn:  # his earlier, closed chat
        before = insert_conversation(conn, channel="telegram", owner="closed")
        conn.execute(update(conversations).where(conversations.c.id == before).values(sender="4711"))
    other_user = conversation(engine, channel="telegram", sender="4712", ago_h=2)
    same_id_elsewhere = conversation(engine, channel="slack", sender="4711", ago_h=3)
    verify(engine, conversation(engine, channel="web", ago_h=5))
    view = panel.view(cid, agent())
    assert view["verified"] is None and "account" not in view
    assert [(e["conversation_id"], e["status"]) for e in view["earlier"]] == [(before, "closed")]
    assert other_user not in str(view) and same_id_elsewhere not in str(view)
    assert audit_rows(engine) == []


def test_a_verification_that_ran_out_while_waiting_still_says_who_it_is(
    panel: CustomerPanel, engine: Engine
) -> None:
    cid = escalated(engine, conversation(engine))
    verify(engine, cid)
    panel.now = lambda: utcnow() + timedelta(hours=2)
    view = panel.view(cid, agent())
    assert view["verified"]["customer_id"] == JAN and view["verified"]["current"] is False


def test_only_agents_who_may_read_the_chat_see_the_panel(panel: CustomerPanel, engine: Engine) -> None:
    cid = conversation(engine)
    verify(engine, cid)
    with pytest.raises(ConsoleError) as never:
        panel.view(cid, agent())
    assert never.value.status == 404
    escalated(engine, cid)
    with pytest.raises(ConsoleError) as language:
        panel.view(cid, agent("pierre", ("fr",)))
    assert language.value.status == 403
    assert panel.view(cid, agent("root", ("fr",), role="admin"))["verified"] is not None
    assert [row[0] for row in audit_rows(engine)] == ["root"]


def test_an_account_system_outage_gives_an_honest_panel(panel: CustomerPanel, engine: Engine) -> None:
    cid = escalated(engine, conversation(engine))
    verify(engine, cid)
    panel.accounts = AccountService(FailingAccountProvider(), timeout_s=1.0)
    view = panel.view(cid, agent())
    assert view["account"] is None and view["account_unavailable"] is True
    assert view["verified"]["customer_id"] == JAN
    assert panel.masked(cid) == "customer •••01 · verified (SMS)"


def test_the_slack_line_is_masked_without_amounts(panel: CustomerPanel, engine: Engine) -> None:
    cid = escalated(engine, conversation(engine))
    verify(engine, cid)
    line = panel.masked(cid)
    assert line == "Jan P. · number •••56 · verified (SMS)"
    assert "Peeters" not in line and "470" not in line and "€" not in line and JAN not in line
    assert audit_rows(engine) == []
