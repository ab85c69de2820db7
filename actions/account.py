"""Personal answers: the customer's own data, bill, contract, payment and orders.

A question about the customer's own account comes in two ways: a help-centre article the
classifier chose (``check_usage``, ``prepaid_balance``, ``contract_duration_end``,
``payment_processing_time``, ``sim_delivery_time``: :data:`ARTICLE_TOPICS`) or one of the billing
intents (:data:`INTENT_TOPICS`). No intent competes with those articles: the article is the
question, the verification decides the answer.

* A verified customer (bot/core/identity.py, read from the database, never from a slot) gets
  the figures from the account system (bot/connectors/accounts.py), in their language with
  babel's amounts and dates (actions/account_answers.py, actions/formatting.py).
* An unverified customer gets the general answer plus the offer to check it's them
  (``utter_account_offer_verification``, a button to ``/verify_identity``); the topic is kept
  in ``account_topic`` so that the figures follow right after the check. Each personal question
  asked before the check is kept there ("how much data do I have left? and when does my contract
  end?"), in the order asked, and all are answered after it (:func:`pending_topics`).
* When the account system fails or is too slow, the customer is told so honestly and still
  gets the general answer: never an error, never a guess.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.account_answers import ANSWERS, answer_topic
from bot.connectors.accounts import Account, AccountService, AccountUnavailable, account_service
from bot.connectors.sms import SmsOutbox, sms_outbox
from bot.core.db import create_db_engine
from bot.core.identity import Identity, Verified, normalise_customer_number, normalise_number
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.core.taxonomy import ACCOUNT_ARTICLE_TOPICS, ACCOUNT_INTENT_TOPICS
from bot.core.texts import text

ARTICLE_TOPICS = ACCOUNT_ARTICLE_TOPICS  # article id -> topic (bot/core/taxonomy.py)
INTENT_TOPICS = ACCOUNT_INTENT_TOPICS  # intent -> topic
TOPIC_SLOT = "account_topic"
# What follows the identity check when the general answer already said the rest: after "where
# are my invoices", only which one is the latest.
AFTER_CHECK = {"bill_copy": "bill_due"}
METHOD_WORDS = {"sms_code": "SMS", "telegram_contact": "Telegram"}
MAX_PENDING = 3  # personal questions kept for after the check: the latest ones


def pending_topics(value: Any) -> List[str]:
    """The personal questions waiting for the check, oldest first (the slot holds their topics
    separated by spaces; unknown names, from an older deployment or a typed slot, are left out)."""
    if not isinstance(value, str):
        return []
    return [topic for topic in dict.fromkeys(value.split()) if topic in ANSWERS]


def with_topic(value: Any, topic: str) -> str:
    """``value`` with ``topic`` added as the latest question (asked again: moved to the end)."""
    topics = [t for t in pending_topics(value) if t != topic] + [topic]
    return " ".join(topics[-MAX_PENDING:])


@dataclass
class AccountDeps:
    """What the account actions use; tests pass their own."""

    settings: Settings
    identity: Identity
    accounts: AccountService
    outbox: SmsOutbox


@lru_cache(maxsize=1)
def _engine(url: str) -> Engine:
    return create_db_engine(url)


@lru_cache(maxsize=1)
def default_deps() -> AccountDeps:
    """The process's own: settings from the environment, one engine, one outbox."""
    settings = Settings.from_env()
    return AccountDeps(
        settings=settings,
        identity=Identity(_engine(settings.database_url)),
        accounts=account_service(settings),
        outbox=sms_outbox(settings),
    )


def reply_language(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in SUPPORTED_LANGUAGES else "nl"


def offer_verification(dispatcher: CollectingDispatcher, language: str) -> None:
    titles = {"nl": "Mijn account bekijken", "fr": "Voir mon compte", "en": "Check my account"}
    button = {"title": titles.get(language, titles["en"]), "payload": "/verify_identity"}
    dispatcher.utter_message(response="utter_account_offer_verification", buttons=[button])


NOT_FETCHED: Any = object()  # "the caller did not fetch the account" (None: fetching failed)


class PersonalAnswer:
    """The verified customer's own answer, or the general one plus the offer to verify."""

    def __init__(self, deps: AccountDeps) -> None:
        self.deps = deps

    async def respond(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        topic: str,
        general: Callable[[], None],
        ask_helped: bool = False,
    ) -> List[EventType]:
        language = reply_language(tracker)
        verified = self.deps.identity.verified_in(tracker.sender_id)
        if verified is not None:
            account = await fetch_account(self.deps.accounts, verified.customer_id)  # once
            if await said_only_the_verified_line(
                self.deps, dispatcher, verified, tracker, language, account=account
            ):
                return [SlotSet(TOPIC_SLOT, None)]  # "the usage of 0485 ...?": not our figures
            if await self.answer(dispatcher, verified, topic, language, account=account):
                return [SlotSet(TOPIC_SLOT, None)]
            general()
            return [SlotSet(TOPIC_SLOT, None)]
        general()
        offer_verification(dispatcher, language)
        if ask_helped:
            dispatcher.utter_message(response="utter_did_this_help")
        pending = with_topic(tracker.get_slot(TOPIC_SLOT), AFTER_CHECK.get(topic, topic))
        return [SlotSet(TOPIC_SLOT, pending)]

    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        verified: Verified,
        topic: str,
        language: str,
        account: Any = NOT_FETCHED,
    ) -> bool:
        """The figures for ``topic`` (of ``account`` when the caller fetched it already: None
        then means the account system failed); False (after saying so) when it fails."""
        if account is NOT_FETCHED:
            account = await fetch_account(self.deps.accounts, verified.customer_id)
        if account is None:
            dispatcher.utter_message(response="utter_account_unavailable")
            return False
        answer_topic(dispatcher, topic, account, language)
        return True


async def other_line_named(
    deps: AccountDeps, customer_id: str, typed: str, account: Any = NOT_FETCHED
) -> str | None:
    """The last digits of the verified line when ``typed`` names another number or customer
    number than the verified customer's ("and the usage of 0470 12 34 56?"), else None. The other
    number is not looked up: whether it is a customer's is nobody else's business. ``account``:
    the verified customer's, when the caller fetched it (None: the account system failed)."""
    number = normalise_number(typed)
    other = normalise_customer_number(typed) if number is None else None
    if (number is None and other is None) or other == customer_id:
        return None
    if account is NOT_FETCHED:
        account = await fetch_account(deps.accounts, customer_id)
    if account is not None and number == account.msisdn:
        return None
    return account.msisdn[-2:] if account is not None else "••"


async def said_only_the_verified_line(
    deps: AccountDeps,
    dispatcher: CollectingDispatcher,
    verified: Verified,
    tracker: Tracker,
    language: str,
    account: Any = NOT_FETCHED,
) -> bool:
    """When the latest message names another line than the verified one (:func:`other_line_named`),
    says that only the verified line's details are shown, and returns True."""
    typed = tracker.latest_message.get("text") or ""
    tail = await other_line_named(deps, verified.customer_id, typed, account)
    if tail is None:
        return False
    dispatcher.utter_message(text=text("verification_other_number", language).format(tail=tail))
    return True


async def fetch_account(accounts: AccountService, customer_id: str) -> Account | None:
    """The account, or None when the account system fails or is too slow. Awaited: the action
    server's event loop serves other conversations meanwhile (bench/account_load.py)."""
    try:
        return await accounts.account_async(customer_id)
    except AccountUnavailable:
        return None


class _BillingAction(Action, ABC):
    """A billing intent: the customer's own invoice when verified, else the general answer."""

    ask_helped = False

    @property
    @abstractmethod
    def intent(self) -> str:
        """The intent this action answers."""

    @property
    @abstractmethod
    def general(self) -> str:
        """The general answer (a response) for a customer who is not verified."""

    def __init__(self, deps: AccountDeps | None = None) -> None:
        self._deps = deps

    def name(self) -> str:
        return f"action_{self.intent}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        deps = self._deps or default_deps()
        return await PersonalAnswer(deps).respond(
            dispatcher,
            tracker,
            INTENT_TOPICS[self.intent],
            lambda: dispatcher.utter_message(response=self.general),
            ask_helped=self.ask_helped,
        )


class ActionBillingDueDate(_BillingAction):
    intent = "billing_due_date"
    general = "utter_billing_due_date"


class ActionBillingExplainBill(_BillingAction):
    intent = "billing_explain_bill"
    general = "utter_billing_explain_bill"


class ActionBillingInvoiceCopy(_BillingAction):
    intent = "billing_invoice_copy"
    general = "utter_billing_invoice_copy"


class ActionBillingHigherThanUsual(_BillingAction):
    intent = "billing_higher_than_usual"
    general = "utter_billing_higher_than_usual"
    ask_helped = True


async def verified_customer_note(engine: Engine, conversation_id: str, language: str) -> str | None:
    """For the agent's packet: "MC1000001 Jan Peeters, verified (SMS)" when the conversation's
    channel identity is verified, so the agent does not ask again. Never raises."""
    try:
        verified = Identity(engine).verified_in(conversation_id)
        if verified is None:
            return None
        account = await fetch_account(account_service(Settings.from_env()), verified.customer_id)
        name = account.name if account else ""
        customer = f"{verified.customer_id} {name}".strip()
        method = METHOD_WORDS.get(verified.method, verified.method)
        return text("account_verified_packet", language).format(customer=customer, method=method)
    except Exception:  # the handoff must never fail because of this note
        return None
