"""Private, not public: what a public surface must hand to a private conversation.

A public surface (a Slack channel mention today; any future public channel) is read by more
people than the customer. Its channel adapter asks :class:`PrivacyCheck` before routing a message
there; a personal message is routed in the customer's private conversation instead (Slack: the
DM), and the public answer is only "I've sent you a private message".

Personal is:

* a message with personal data: a phone number, IBAN, e-mail address or card number, as
  :func:`bot.core.masking.mask_text` finds them;
* a personal question (:func:`bot.core.taxonomy.is_personal`): the billing intents and help-centre
  articles answered from the customer's own account, the identity check (verify, a number, a
  code, "log me out") and the sensitive matters about the customer's own account (fraud,
  payment difficulty, privacy). Rasa's NLU says which (``/model/parse``: no conversation is
  touched), the same understanding that would answer it;
* anything Rasa cannot classify right now: a private answer is never wrong, a public one may be.

The identity check can never run in public: its questions move to the DM, and a channel
conversation has a sender of its own (user *and* channel, bot/channels/slack.py), so it can never
be the verified identity that the account answers need.
"""

from __future__ import annotations

import logging

from bot.core.masking import mask_text
from bot.core.taxonomy import is_personal
from bot.rasa.client import RasaClient, RasaUnavailable

log = logging.getLogger(__name__)


def has_personal_data(text: str) -> bool:
    """True when the masking of transcripts would change ``text``."""
    return mask_text(text) != text


class PrivacyCheck:
    """Whether a message must leave a public surface; called in a worker thread (it asks Rasa)."""

    def __init__(self, rasa: RasaClient) -> None:
        self.rasa = rasa

    def is_personal(self, text: str) -> bool:
        if has_personal_data(text):
            return True
        try:
            parsed = self.rasa.parse(text)
        except (RasaUnavailable, ValueError) as exc:
            log.warning("NLU unavailable for a public message, answered in private: %s", exc)
            return True
        intent, article = _field(parsed, "intent", "name"), _field(parsed, "article", "id")
        return intent is None or is_personal(intent, article)


def _field(parsed: object, key: str, name: str) -> str | None:
    value = parsed.get(key) if isinstance(parsed, dict) else None
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None
