"""Telegram's "share my number": the customer's own contact proves their mobile number.

When the bot asks for the number (a reply marked ``custom: {ask: phone_number}``, domain.yml's
``utter_ask_verification_number``), the Telegram channel adds a hint and a reply keyboard with
Telegram's request-contact button. A contact that comes back proves the number only when its
``user_id`` is the sender's own: Telegram fills ``user_id`` itself, with the account that owns
the number, so a contact card of someone else carries that person's id (or none, when the
number has no Telegram account). Then the channel identity (``telegram`` + chat) is verified as
the customer owning the number (:meth:`Identity.mark_verified`, method ``telegram_contact``) and
Rasa gets the payload ``/inform_code``, as after a typed code: the actions read the outcome from
the database (actions/verification.py). Anything else verifies nothing and gets an honest
answer. The number is never stored, logged or passed to Rasa; the transcript keeps the button's
title ("📱 Share my number").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Contact, KeyboardButton, ReplyKeyboardMarkup

from bot.connectors.accounts import AccountService, AccountUnavailable
from bot.core.identity import CODE_PAYLOAD, Identity, normalise_number
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from bot.core.texts import text

CHANNEL = "telegram"
METHOD = "telegram_contact"
ASK_NUMBER = {"ask": "phone_number"}  # the ``custom`` part of the question for the number
START_CHECK = "/verify_identity"  # a contact before any conversation: the check starts first
MARKUP = "telegram_markup"  # key of a reply prepared here: the keyboard to send with it


@dataclass(frozen=True)
class ContactOutcome:
    """What a shared contact leads to: a payload for the router, or a gateway text to answer."""

    payload: str | None = None
    answer: str | None = None  # a key of bot/core/texts.yml
    share_again: bool = False  # offer the button again with the answer


NOT_OWN = ContactOutcome(answer="telegram_contact_not_own", share_again=True)
NOT_CUSTOMER = ContactOutcome(answer="telegram_contact_not_customer")
UNAVAILABLE = ContactOutcome(answer="telegram_contact_unavailable")


def asks_for_number(reply: dict[str, Any]) -> bool:
    custom = reply.get("custom")
    return isinstance(custom, dict) and custom.get("ask") == ASK_NUMBER["ask"]


def share_keyboard(language: str) -> ReplyKeyboardMarkup:
    """One button under the chat's text field that sends the user's own contact (after Telegram
    asks them to confirm); it hides once used."""
    button = KeyboardButton(text("telegram_share_number", language), request_contact=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def with_share_button(replies: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """The question for the number gets the hint and the button (without buttons of its own:
    a message has one keyboard)."""
    prepared = []
    for reply in replies:
        if asks_for_number(reply) and not reply.get("buttons"):
            hint = text("telegram_share_number_hint", language)
            body = f"{reply.get('text') or ''}\n\n{hint}".strip()
            reply = {**reply, "text": body, MARKUP: share_keyboard(language)}
        prepared.append(reply)
    return prepared


def contact_number(contact: Contact) -> str | None:
    """The contact's mobile number in E.164; Telegram sends it with or without the "+"."""
    raw = "".join(ch for ch in contact.phone_number if ch.isdigit())
    return normalise_number(f"+{raw}") if raw else None


class ContactProof:
    """Turns a shared contact into a verified identity, or into the reason it proves nothing."""

    def __init__(
        self, settings: Settings, identity: Identity, accounts: AccountService, store: ConversationStore
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.accounts = accounts
        self.store = store

    def prove(self, sender: str, user_id: int, contact: Contact) -> ContactOutcome:
        """Called in a worker thread: the account system may be slow (it has its own time limit)."""
        if contact.user_id is None or contact.user_id != user_id:
            return NOT_OWN
        number = contact_number(contact)
        if number is None:
            return NOT_CUSTOMER
        try:
            customer_id = self.accounts.find_customer(number)
        except AccountUnavailable:
            return UNAVAILABLE
        if customer_id is None:
            return NOT_CUSTOMER
        conversation = self.store.latest_conversation(CHANNEL, sender)
        if conversation is None:  # nothing asked yet: start the check, the button comes with it
            return ContactOutcome(payload=START_CHECK)
        minutes = self.settings.verified_ttl_for(CHANNEL)
        self.identity.mark_verified(CHANNEL, sender, customer_id, conversation.id, METHOD, minutes)
        return ContactOutcome(payload=CODE_PAYLOAD)
