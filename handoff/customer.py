"""The customer panel of the agent console: who the customer of a verified conversation is.

A conversation is verified when its channel identity is verified now (bot/core/identity.py), or
was verified in this very conversation and the customer did not log out: a verification that
ran out while the customer waited for an agent still says who they are (the panel says it ran
out). The panel shows what the account system says - name, customer number, plan, the last
invoices, usage this month, open orders - and the customer's earlier conversations (those of
the same verified customer or of the same channel identity).

Read-only: agents read the account through the account connector the gateway wires in
(bot/connectors/accounts.py, with its time limit); nothing here writes to it. Every read of an
account is audited (handoff/privacy.py: ``account.read``, subject ``account:<customer id>``),
as reading a transcript is. The agents' Slack post shows only :meth:`CustomerPanel.masked`:
first name, last initial and the last two digits of the number, no amounts.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from bot.connectors.accounts import Account, AccountService, AccountUnavailable
from bot.core.db import conversations, handoffs, utcnow, verified_identities
from bot.core.identity import Identity, Verified
from handoff.agents import Agent
from handoff.audit import Action, record
from handoff.console import Console

INVOICES_SHOWN = 3
EARLIER_SHOWN = 10
METHODS = {"sms_code": "SMS", "telegram_contact": "Telegram"}
DONE_ORDERS = ("delivered",)  # the panel shows open orders


def account_subject(customer_id: str) -> str:
    """The audit log's name for a customer's account."""
    return f"account:{customer_id}"


class CustomerPanel:
    def __init__(
        self,
        engine: Engine,
        console: Console,
        accounts: AccountService | None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.console = console
        self.accounts = accounts  # None: no account system wired in
        self.now = now

    def view(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        """The panel for an agent who may read the conversation (else :class:`ConsoleError`);
        ``{"verified": None, "earlier": [...]}`` when the conversation is not verified: no account
        is read, only the earlier conversations of the same channel identity are listed."""
        conv, _handoff = self.console.readable(conversation_id, agent)
        verified = self.verification(conv.id)
        if verified is None:
            # no account, but the earlier chats of the same channel identity (Telegram user,
            # Slack user, web session) are still the agent's context
            return {"verified": None, "earlier": self.earlier(conv.id, conv.channel, conv.sender, None)}
        record(
            self.engine,
            agent.username,
            Action.ACCOUNT_READ,
            account_subject(verified.customer_id),
            {"conversation_id": conv.id},
            self.now(),
        )
        account = self._account(verified.customer_id)
        return {
            "verified": {
                "customer_id": verified.customer_id,
                "method": METHODS.get(verified.method, verified.method),
                "verified_at": verified.verified_at.isoformat(),
                "expires_at": verified.expires_at.isoformat(),
                "current": verified.expires_at > self.now(),
            },
            "account": account_view(account) if account else None,
            "account_unavailable": account is None,
            "earlier": self.earlier(conv.id, conv.channel, conv.sender, verified.customer_id),
        }

    def masked(self, conversation_id: str) -> str | None:
        """ "Jan P. · number •••56 · verified (SMS)" for the agents' Slack post; None when not
        verified. Never raises: the post goes out without it."""
        try:
            verified = self.verification(conversation_id)
            if verified is None:
                return None
            account = self._account(verified.customer_id)
            method = METHODS.get(verified.method, verified.method)
            if account is None:
                return f"customer •••{verified.customer_id[-2:]} · verified ({method})"
            name = f"{account.first_name} {account.last_name[:1]}.".strip()
            return f"{name} · number •••{account.msisdn[-2:]} · verified ({method})"
        except Exception:
            return None

    def verification(self, conversation_id: str) -> Verified | None:
        """The identity's current verification, else the latest one made in this conversation
        that was not ended by "log me out"."""
        identity = Identity(self.engine, self.now)
        current = identity.verified_in(conversation_id)
        if current is not None:
            return current
        ids = verified_identities.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(verified_identities)
                .where(ids.conversation_id == conversation_id, ids.ended_at.is_(None))
                .order_by(ids.verified_at.desc(), ids.id.desc())
                .limit(1)
            ).first()
        return Verified(row.customer_id, row.method, row.verified_at, row.expires_at) if row else None

    def earlier(
        self, conversation_id: str, channel: str, sender: str, customer_id: str | None
    ) -> list[dict[str, Any]]:
        """The customer's other conversations, newest first: of the same channel identity, and
        verified as the same customer when ``customer_id`` is known."""
        ids, convs = verified_identities.c, conversations.c
        mine = (convs.channel == channel) & (convs.sender == sender)
        if customer_id is not None:
            same_customer = select(ids.conversation_id).where(ids.customer_id == customer_id)
            mine = or_(convs.id.in_(same_customer), mine)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(conversations)
                .where(convs.id != conversation_id, mine)
                .order_by(convs.created_at.desc())
                .limit(EARLIER_SHOWN)
            ).all()
            reasons = _handoff_reasons(conn, [row.id for row in rows])
        return [
            {
                "conversation_id": row.id,
                "channel": row.channel,
                "language": row.language,
                "status": row.owner,
                "started_at": row.created_at.isoformat(),
                "last_activity_at": row.updated_at.isoformat(),
                "handoff_reason": reasons.get(row.id),
            }
            for row in rows
        ]

    def _account(self, customer_id: str) -> Account | None:
        if self.accounts is None:
            return None
        try:
            return self.accounts.account(customer_id)
        except AccountUnavailable:
            return None


def _handoff_reasons(conn: Any, conversation_ids: list[str]) -> dict[str, str]:
    """The latest handoff reason of each conversation that was handed over."""
    if not conversation_ids:
        return {}
    rows = conn.execute(
        select(handoffs.c.conversation_id, handoffs.c.reason)
        .where(handoffs.c.conversation_id.in_(conversation_ids))
        .order_by(handoffs.c.created_at, handoffs.c.id)
    ).all()
    return {row.conversation_id: row.reason for row in rows}  # the latest wins


def account_view(account: Account) -> dict[str, Any]:
    """The account as JSON: amounts as decimal strings in euro, dates as ISO dates."""
    return {
        "customer_id": account.customer_id,
        "name": account.name,
        "language": account.language,
        "country": account.country,
        "msisdn": account.msisdn,
        "kind": account.kind,
        "plan": account.plan,
        "monthly_price": _plain(account.monthly_price),
        "currency": "EUR",
        "usage": _plain(asdict(account.usage)),
        "prepaid": _plain(asdict(account.prepaid)) if account.prepaid else None,
        "contract": _plain(asdict(account.contract)) if account.contract else None,
        "invoices": [
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on.isoformat(),
                "due_on": invoice.due_on.isoformat(),
                "total": str(invoice.total),
                "status": invoice.status,
                "paid_on": invoice.paid_on.isoformat() if invoice.paid_on else None,
            }
            for invoice in account.invoices[:INVOICES_SHOWN]
        ],
        "orders": [_plain(asdict(order)) for order in account.orders if order.status not in DONE_ORDERS],
    }


def _plain(value: Any) -> Any:
    """Dates and amounts of a dataclass's dict as JSON can carry them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
