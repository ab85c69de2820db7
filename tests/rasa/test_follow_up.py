"""FollowUpContext: a short follow-up read with the previous question when alone it is unclear."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.core.follow_up import (
    FOLLOW_UP_KEY,
    follow_up_context,
    looks_like_follow_up,
    points_back_to_the_answer,
)
from bot.rasa.nlu.follow_up import FollowUpContext
from bot.rasa.nlu.knowledge import ARTICLE

VOICEMAIL_OFF = {
    "intent": "knowledge",
    "confidence": 0.85,
    "article": {"id": "voicemail_disable", "confidence": 0.85, "conditional": 0.97, "lexical": 0.7},
}


def message(text: str, intent: str, confidence: float, context: dict[str, Any] | None) -> Message:
    data: dict[str, Any] = {TEXT: text, INTENT: {"name": intent, "confidence": confidence}}
    data["metadata"] = {"language": "en", **({FOLLOW_UP_KEY: context} if context else {})}
    return Message(data=data)


def decide(msg: Message) -> Message:
    [out] = FollowUpContext(FollowUpContext.get_default_config()).process([msg])
    return out


@pytest.mark.parametrize(
    ("intent", "confidence"),
    [("nlu_fallback", 0.3), ("coverage_abroad", 0.46), ("sensitive_cancellation", 0.39)],
)
def test_an_unclear_follow_up_takes_the_reading_together(intent: str, confidence: float) -> None:
    msg = decide(message("and how do I turn it off again?", intent, confidence, VOICEMAIL_OFF))
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.85}
    assert msg.get(ARTICLE)["id"] == "voicemail_disable"
    assert msg.get(FOLLOW_UP_KEY) is True


@pytest.mark.parametrize(
    "text", ["en hoe zet ik hem terug aan?", "and how do I turn it on again?", "et pour la réactiver ?"]
)
def test_a_follow_up_that_names_nothing_new_takes_the_reading_together_over_a_confident_guess(
    text: str,
) -> None:
    """ "en hoe zet ik hem terug aan?" after the voicemail answer read as a refund (0.65: "terug")."""
    msg = decide(message(text, "billing_refund", 0.65, VOICEMAIL_OFF))
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.85}
    assert msg.get(ARTICLE)["id"] == "voicemail_disable"


@pytest.mark.parametrize(
    "text", ["and how do I cancel it?", "en hoe zet ik het stop?", "et comment je l'annule ?"]
)
def test_how_to_cancel_what_the_answer_named_is_not_a_cancellation_of_the_subscription(text: str) -> None:
    """ "and how do I cancel it?" after call forwarding went to a person as a cancellation (0.6)."""
    msg = decide(message(text, "sensitive_cancellation", 0.6, VOICEMAIL_OFF))
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.85}


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("and how do I cancel it?", 0.95),  # the classifier is sure
        ("and I want to cancel it", 0.6),  # a wish, not how to
        ("and how do I cancel my subscription?", 0.6),  # names what
    ],
)
def test_a_sure_or_named_cancellation_stays_one(text: str, confidence: float) -> None:
    msg = decide(message(text, "sensitive_cancellation", confidence, VOICEMAIL_OFF))
    assert msg.get(INTENT)["name"] == "sensitive_cancellation"


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("en hoe zet ik hem terug aan?", 0.93),  # the classifier is sure even so
        ("and what about a refund?", 0.65),  # names something new: the usual limit (0.6)
    ],
)
def test_a_sure_reading_or_a_new_topic_keeps_its_own_answer(text: str, confidence: float) -> None:
    msg = decide(message(text, "billing_refund", confidence, VOICEMAIL_OFF))
    assert msg.get(INTENT) == {"name": "billing_refund", "confidence": confidence}


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("and my bill is too high", "billing_higher_than_usual", 0.98),  # clear alone
        ("and I want to cancel it", "sensitive_cancellation", 0.8),  # a sure handover stays one
        ("thanks", "nlu_fallback", 0.3),  # no follow-up
        (
            "how much does it cost to call Morocco from Ghent on a Sunday night",
            "nlu_fallback",
            0.3,
        ),  # too long
    ],
)
def test_a_clear_message_or_no_follow_up_keeps_its_own_reading(
    text: str, intent: str, confidence: float
) -> None:
    msg = decide(message(text, intent, confidence, VOICEMAIL_OFF))
    assert msg.get(INTENT) == {"name": intent, "confidence": confidence}
    assert msg.get(FOLLOW_UP_KEY) is None


@pytest.mark.parametrize(
    "context",
    [
        None,
        {"intent": "knowledge", "confidence": 0.6, "article": VOICEMAIL_OFF["article"]},  # not sure together
        {"intent": "nlu_fallback", "confidence": 0.9},
        {"intent": "out_of_scope", "confidence": 0.9},
        {"intent": "sensitive_fraud", "confidence": 0.95},  # a handover comes from the message itself
        {"intent": "knowledge", "confidence": 0.9},  # an article without its id
        "knowledge",
    ],
)
def test_an_unsure_or_unusable_reading_together_changes_nothing(context: Any) -> None:
    msg = decide(message("and how do I turn it off again?", "nlu_fallback", 0.3, context))
    assert msg.get(INTENT)["name"] == "nlu_fallback"


def test_an_intent_read_together_replaces_an_unclear_one() -> None:
    context = {"intent": "sim_pin_puk", "confidence": 0.95}
    msg = decide(message("where do I find it then?", "coverage_check_place", 0.4, context))
    assert msg.get(INTENT) == {"name": "sim_pin_puk", "confidence": 0.95}
    assert msg.get(ARTICLE) is None


@pytest.mark.parametrize(
    "text",
    [
        "and how do I turn it off again?",
        "en sms'en?",
        "et pour l'annuler ?",
        "kan ik bijkopen?",
        "minimum?",
        "does that work on a smartwatch too?",
        "waar vind ik dan de puk?",
        "ça marche aussi sur une montre ?",
        "je peux en racheter ?",
        "comment je peux la désactiver maintenant",
        # "that" / "dat": after the replacement SIM, "how long does that take" got the due date
        "how long does that take exactly",
        "hoe lang moet ik daar gemiddeld op wachten",
        "and is this also possible in the app?",
        "kan ik dat ook online regelen misschien",
        # a short question about a detail of the answer: "how much is the minimum?" after the
        # top-up answer fell back alone; read with the question it is the top-up
        "how much is the minimum?",
        "wat is het minimum bedrag?",
        "c'est quoi le prix exact ?",
    ],
)
def test_short_or_leaning_messages_are_follow_ups(text: str) -> None:
    assert looks_like_follow_up(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x07\u200b",  # control characters and a zero-width space: no words
        "/restart",
        "thanks!",
        "Dank je wel",
        "ok merci",
        "Au revoir",
        "merci, bonne journée",  # a goodbye: the PIN answer was sent again
        "bedankt, fijne dag nog",
        "thanks, have a nice day",
        "nee",
        "one two three four five six seven eight nine",
        # full questions of their own, without a sign of leaning on the one before
        "can I pay my bill by direct debit?",
        "tegen wanneer moet mijn factuur betaald zijn?",
        "ma facture est à payer pour quand ?",
    ],
)
def test_payloads_thanks_and_long_messages_are_not(text: str) -> None:
    assert not looks_like_follow_up(text)


def test_the_context_keeps_the_intent_and_the_articles_scores_only() -> None:
    parsed = {
        "text": "x",
        "intent": {"name": "knowledge", "confidence": 0.9},
        "entities": [{"entity": "place", "value": "gent"}],
        "article": {
            "id": "volte",
            "confidence": 0.9,
            "conditional": 0.95,
            "lexical": 0.8,
            "classified": [1, 2],
        },
    }
    assert follow_up_context(parsed) == {
        "intent": "knowledge",
        "confidence": 0.9,
        "article": {"id": "volte", "confidence": 0.9, "conditional": 0.95, "lexical": 0.8},
    }
    assert follow_up_context({"intent": {"name": "greet", "confidence": 0.99}}) == {
        "intent": "greet",
        "confidence": 0.99,
    }
    assert follow_up_context({"text": "x"}) is None


SIM_REPLACEMENT = {"intent": "sim_replace", "confidence": 0.56}


def ranked(msg: Message, *names: str) -> Message:
    msg.set("intent_ranking", [{"name": n, "confidence": 0.3 - i / 20} for i, n in enumerate(names)])
    return msg


def test_a_weak_answer_that_the_conversation_contradicts_is_a_clarification() -> None:
    """ "hoe lang duurt dat" after the replacement SIM: alone the due date (0.31), together the SIM
    (0.56, not sure enough to adopt): the customer is asked, the SIM first among the topics."""
    msg = ranked(
        message("hoe lang duurt dat", "billing_due_date", 0.31, SIM_REPLACEMENT), "billing_due_date", "x"
    )
    decide(msg)
    assert msg.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.31}
    assert [r["name"] for r in msg.get("intent_ranking")] == ["sim_replace", "billing_due_date", "x"]
    assert msg.get(ARTICLE) is None


def test_an_intent_rescued_from_the_help_centre_is_judged_by_the_classifier_alone() -> None:
    """ArticleDecision lifted the due date from 0.22 to 0.47 by setting the help centre's share
    aside: above the doubt threshold, but the message alone is no clearer for it."""
    msg = ranked(
        message("hoe lang duurt dat", "billing_due_date", 0.47, SIM_REPLACEMENT), "billing_due_date", "x"
    )
    classified = [{"name": "knowledge", "confidence": 0.53}, {"name": "billing_due_date", "confidence": 0.22}]
    msg.set(
        ARTICLE,
        {"id": "payment_processing_time", "confidence": 0.2, "conditional": 0.4, "classified": classified},
    )
    decide(msg)
    assert msg.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.47}
    assert msg.get("intent_ranking")[0]["name"] == "sim_replace"


def test_an_intent_the_classifier_itself_backs_is_not_doubted() -> None:
    msg = message("hoe lang duurt dat", "billing_due_date", 0.5, SIM_REPLACEMENT)
    classified = [{"name": "billing_due_date", "confidence": 0.5}]
    msg.set(ARTICLE, {"id": "x", "confidence": 0.1, "conditional": 0.3, "classified": classified})
    decide(msg)
    assert msg.get(INTENT) == {"name": "billing_due_date", "confidence": 0.5}


@pytest.mark.parametrize(
    ("intent", "confidence", "context"),
    [
        ("billing_due_date", 0.5, SIM_REPLACEMENT),  # not weak alone: kept
        ("billing_due_date", 0.31, {"intent": "sim_replace", "confidence": 0.4}),  # together not plausible
        ("sim_replace", 0.31, SIM_REPLACEMENT),  # the same answer both ways
        ("greet", 0.31, SIM_REPLACEMENT),  # small talk is not an answer in doubt
        ("billing_due_date", 0.31, {"intent": "out_of_scope", "confidence": 0.7}),
        ("billing_due_date", 0.31, {"intent": "sensitive_fraud", "confidence": 0.7}),
    ],
)
def test_other_weak_or_agreeing_readings_are_left_alone(
    intent: str, confidence: float, context: dict[str, Any]
) -> None:
    msg = decide(message("hoe lang duurt dat", intent, confidence, context))
    assert msg.get(INTENT) == {"name": intent, "confidence": confidence}


def test_a_follow_up_that_fell_back_offers_the_reading_together_first() -> None:
    msg = ranked(message("hoe lang duurt dat", "nlu_fallback", 0.3, SIM_REPLACEMENT), "billing_due_date")
    decide(msg)
    assert msg.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.3}
    assert [r["name"] for r in msg.get("intent_ranking")] == ["sim_replace", "billing_due_date"]


def test_a_clear_new_question_is_never_doubted() -> None:
    msg = decide(message("can I pay my bill by direct debit?", "billing_due_date", 0.31, SIM_REPLACEMENT))
    assert msg.get(INTENT)["name"] == "billing_due_date"  # not a follow-up: its own reading stays


def test_the_message_own_article_does_not_come_before_the_reading_together() -> None:
    """The clarification's article button comes first: a weak article of the message alone would
    push the reading together down, so it gives way."""
    msg = ranked(message("hoe lang duurt dat", "billing_due_date", 0.31, SIM_REPLACEMENT), "billing_due_date")
    msg.set(ARTICLE, {"id": "invoice_paper_or_email", "confidence": 0.2, "conditional": 0.6, "lexical": 0.1})
    decide(msg)
    assert msg.get(ARTICLE) is None
    assert msg.get("intent_ranking")[0]["name"] == "sim_replace"


def test_an_article_read_together_is_the_clarification_article() -> None:
    volte = {"id": "volte", "confidence": 0.6, "conditional": 0.9, "lexical": 0.7}
    context = {"intent": "knowledge", "confidence": 0.6, "article": volte}
    msg = ranked(message("en hoe zet ik dat aan", "billing_due_date", 0.3, context), "billing_due_date")
    msg.set(ARTICLE, {"id": "invoice_paper_or_email", "confidence": 0.2, "conditional": 0.6, "lexical": 0.1})
    decide(msg)
    assert msg.get(ARTICLE) == volte
    assert msg.get(INTENT)["name"] == "nlu_fallback"


EXTRA_DATA = {
    "intent": "knowledge",
    "confidence": 0.93,
    "article": {"id": "extra_data_option", "confidence": 0.73, "conditional": 0.93, "lexical": 0.53},
}


@pytest.mark.parametrize(
    "text",
    [
        "c'est combien ?",
        "hoeveel kost dat?",
        "how much is it?",
        "en wanneer?",
        "kan ik dat afzetten?",
        "where do I find it?",
        "je peux le désactiver ?",
    ],
)
def test_a_question_about_the_answer_read_as_confused_takes_the_reading_together(text: str) -> None:
    """ "c'est combien ?" after the extra-data answer read as "I don't follow" (0.73)."""
    msg = decide(message(text, "confused", 0.73, EXTRA_DATA))
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.93}
    assert msg.get(ARTICLE)["id"] == "extra_data_option"


@pytest.mark.parametrize(
    "text", ["wat bedoel je?", "??", "je comprends pas", "huh?", "comment ça ?", "what do you mean?", "hè?"]
)
def test_real_confusion_stays_confusion(text: str) -> None:
    msg = decide(message(text, "confused", 0.73, EXTRA_DATA))
    assert msg.get(INTENT) == {"name": "confused", "confidence": 0.73}


SMARTWATCH = {
    "intent": "knowledge",
    "confidence": 1.0,
    "article": {"id": "esim_smartwatch", "confidence": 0.99, "conditional": 0.99, "lexical": 0.8},
}


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("ça coûte combien", "billing_roaming_charges", 0.68),
        ("hoeveel kost dat?", "billing_roaming_charges", 0.75),
        ("how much does it cost?", "billing_explain_bill", 0.85),
    ],
)
def test_a_cost_question_naming_no_topic_takes_the_reading_together_over_a_guess(
    text: str, intent: str, confidence: float
) -> None:
    """ "ça coûte combien" after the smartwatch eSIM answer got the roaming answer: alone it reads
    as the roaming charges (0.68), a guess since it names nothing; read together it is the eSIM."""
    msg = decide(message(text, intent, confidence, SMARTWATCH))
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 1.0}
    assert msg.get(ARTICLE)["id"] == "esim_smartwatch"


def test_a_cost_question_naming_its_topic_keeps_its_own_reading() -> None:
    msg = decide(message("combien coûte le roaming ?", "billing_roaming_charges", 0.68, SMARTWATCH))
    assert msg.get(INTENT) == {"name": "billing_roaming_charges", "confidence": 0.68}


def test_a_price_question_without_a_sure_reading_together_stays_as_read() -> None:
    unsure = {**EXTRA_DATA, "confidence": 0.5}
    msg = decide(message("c'est combien ?", "confused", 0.73, unsure))
    assert msg.get(INTENT) == {"name": "confused", "confidence": 0.73}


def test_out_of_scope_by_its_neighbours_still_takes_a_sure_reading_together() -> None:
    """OutOfScopeNeighbours made "en hoe zet ik het weer af?" out_of_scope (0.9: its nearest
    examples are out of scope); the classifier itself gave out_of_scope 0.07, so alone the message
    is unclear and the sure reading together (call forwarding) answers it."""
    msg = message("en hoe zet ik het weer af?", "out_of_scope", 0.9, VOICEMAIL_OFF)
    classified = [
        {"name": "coverage_check_place", "confidence": 0.31},
        {"name": "out_of_scope", "confidence": 0.07},
    ]
    msg.set(ARTICLE, {"id": "x", "confidence": 0.1, "conditional": 0.2, "classified": classified})
    decide(msg)
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.85}
    assert msg.get(FOLLOW_UP_KEY) is True


def test_a_question_the_classifier_itself_finds_out_of_scope_keeps_its_answer() -> None:
    msg = message("and do you sell tvs?", "out_of_scope", 0.9, VOICEMAIL_OFF)
    classified = [{"name": "out_of_scope", "confidence": 0.82}]
    msg.set(ARTICLE, {"id": "x", "confidence": 0.01, "conditional": 0.2, "classified": classified})
    decide(msg)
    assert msg.get(INTENT) == {"name": "out_of_scope", "confidence": 0.9}


def test_an_article_the_decision_is_sure_of_is_clear_alone() -> None:
    """ "et c'est payé ?" after the bill's answer: the payment article (0.89, its key words all
    there) answers it; that the help centre's share was only 0.4 says nothing about the message
    being unclear, so the bill's answer is not given (and pointed at) again."""
    bill = {"intent": "billing_higher_than_usual", "confidence": 0.92, "article": None}
    msg = message("et c'est payé ?", "knowledge", 0.89, bill)
    classified = [{"name": "knowledge", "confidence": 0.4}, {"name": "billing_due_date", "confidence": 0.3}]
    article = {"id": "payment_processing_time", "confidence": 0.45, "conditional": 0.89, "lexical": 1.0}
    msg.set(ARTICLE, {**article, "classified": classified})
    decide(msg)
    assert msg.get(INTENT) == {"name": "knowledge", "confidence": 0.89}  # neither adopted nor doubted
    assert msg.get(ARTICLE)["id"] == "payment_processing_time"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("en hoe zet ik hem terug aan?", True),
        ("en hoe zet ik het stop?", True),
        ("and how do I turn it on again?", True),
        ("et comment je l'annule ?", True),
        ("et pour la réactiver ?", True),
        ("en het abonnement?", False),  # an article, a topic of its own
        ("et l'offre ?", False),
        ("and my bill is too high", False),
        ("hoe zet ik hem aan", False),  # no connective: may be a new question
    ],
)
def test_a_follow_up_that_names_nothing_new(text: str, expected: bool) -> None:
    assert points_back_to_the_answer(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "combien ça coûte",
        "how much does it cost?",
        "hoeveel kost dat?",
        "how long does it take",
        "c'est combien ?",
    ],
)
def test_a_cost_or_time_question_naming_nothing_without_an_answer_before_is_a_clarification(
    text: str,
) -> None:
    """ "combien ça coûte" alone got the roaming charges (0.68): a guess, not an answer."""
    msg = decide(message(text, "billing_roaming_charges", 0.68, None))
    assert msg.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.68}


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("combien ça coûte", "billing_roaming_charges", 0.95),  # all but sure
        ("combien ça coûte", "sensitive_fraud", 0.6),  # a handover stays one
        ("combien ça coûte", "greet", 0.6),  # small talk is no guessed answer
        ("how much does roaming cost", "billing_roaming_charges", 0.7),  # names its topic
        ("combien coûte une esim", "sim_esim", 0.6),
    ],
)
def test_a_sure_or_named_reading_without_an_answer_before_stays(
    text: str, intent: str, confidence: float
) -> None:
    msg = decide(message(text, intent, confidence, None))
    assert msg.get(INTENT) == {"name": intent, "confidence": confidence}
