"""The intent taxonomy, in one place: topics, which intents hand over, and why.

Intent names carry their topic as a prefix (``billing_refund``, ``coverage_5g``, ``sim_esim``,
``sensitive_fraud``). Editors, the scaffold, the angry-repetition rule, the classifier's
escalation guard, the traffic insights and the benchmarks all read these definitions.
"""

from __future__ import annotations

# The topics the bot answers itself, and the one it always hands over.
ANSWER_TOPICS = ("billing", "coverage", "sim")
SENSITIVE = "sensitive"
TOPICS = (*ANSWER_TOPICS, SENSITIVE)  # topics an editor can scaffold an intent under

REQUEST_HUMAN = "request_human"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
CONFUSED_INTENT = "confused"  # "??", "wat bedoel je?": the customer did not follow the answer
SMALLTALK_INTENTS = (
    "greet",
    "goodbye",
    "thanks",
    "bot_challenge",
    "capabilities",
    CONFUSED_INTENT,
    "affirm",
    "deny",
)
SENSITIVE_PREFIX = f"{SENSITIVE}_"


def topic_prefix(intent: str | None) -> str | None:
    """``billing_refund`` -> ``billing``; None for an intent outside the topics."""
    head = (intent or "").split("_", 1)[0]
    return head if head in TOPICS and (intent or "").startswith(f"{head}_") else None


def is_answer_topic(intent: str | None) -> bool:
    """A billing, coverage or SIM question the bot answers itself."""
    return topic_prefix(intent) in ANSWER_TOPICS


def is_escalation(intent: str | None) -> bool:
    """Intents the bot hands to a person: ``request_human`` and every ``sensitive_*``."""
    return bool(intent) and (intent == REQUEST_HUMAN or intent.startswith(SENSITIVE_PREFIX))


def reason_for_intent(intent: str | None) -> str | None:
    """`sensitive_fraud` -> `fraud`, `request_human` -> `request_human`, others -> None."""
    if not intent:
        return None
    if intent == REQUEST_HUMAN:
        return REQUEST_HUMAN
    if intent.startswith(SENSITIVE_PREFIX):
        return intent[len(SENSITIVE_PREFIX) :]
    return None


def topic_of(intent: str | None) -> str:
    """The topic an intent counts under in the traffic trends."""
    name = intent or FALLBACK_INTENT
    prefix = topic_prefix(name)
    if prefix:
        return prefix
    if name == REQUEST_HUMAN:
        return SENSITIVE
    if name == FALLBACK_INTENT:
        return "not_understood"
    if name == OUT_OF_SCOPE_INTENT:
        return "out_of_scope"
    return "smalltalk"


# Questions about the customer's own account. The billing intents and the help-centre articles
# below are answered from the account system for a verified customer (actions/account.py,
# which maps them to its answers); the identity intents are the check itself.
ACCOUNT_INTENT_TOPICS = {
    "billing_due_date": "bill_due",
    "billing_higher_than_usual": "bill_higher",
    "billing_explain_bill": "bill_explain",
    "billing_invoice_copy": "bill_copy",
}
ACCOUNT_ARTICLE_TOPICS = {
    "check_usage": "usage",
    "prepaid_balance": "balance",
    "contract_duration_end": "contract",
    "payment_processing_time": "payment",
    "sim_delivery_time": "order",
    "next_invoice": "bill_next",
    "my_numbers": "numbers",
}
IDENTITY_INTENTS = ("verify_identity", "account_logout", "inform_number", "inform_code")
# Sensitive matters that are about the customer's own account as much as a bill is.
PERSONAL_SENSITIVE_INTENTS = ("sensitive_fraud", "sensitive_payment_difficulty", "sensitive_privacy")


def is_personal(intent: str | None, article: str | None = None) -> bool:
    """A question about the customer's own account, their identity check or a personal
    sensitive matter: on a public surface it moves to a private conversation
    (bot/channels/private.py)."""
    return (
        intent in ACCOUNT_INTENT_TOPICS
        or intent in IDENTITY_INTENTS
        or intent in PERSONAL_SENSITIVE_INTENTS
        or (article is not None and article in ACCOUNT_ARTICLE_TOPICS)
    )
