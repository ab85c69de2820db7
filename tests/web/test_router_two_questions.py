"""A message with two clear questions gets both answers (bot/core/two_questions.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot.core.db import OWNER_QUEUED, conversations
from bot.core.settings import Settings
from bot.router import IncomingMessage, Router
from testkit.fakes.http_server import FakeServer
from tests.helpers.router import make_router

TOP_UP = "how do I top up my prepaid?"
VOICEMAIL = "how do I turn off voicemail"
BOTH = f"{TOP_UP} and also {VOICEMAIL}"
READINGS = {
    TOP_UP: {"name": "knowledge", "article": "prepaid_topup"},
    VOICEMAIL: {"name": "knowledge", "article": "voicemail_disable"},
    "how do I turn off my voicemail": {"name": "knowledge", "article": "voicemail_disable"},
    "how do I change my pin?": {"name": "sim_pin_puk"},
    "how do I block my card": {"name": "sensitive_fraud"},
    "how do I activate my esim?": {"name": "sim_esim", "confidence": 0.67},
    "what about the other thing": {"name": "sim_esim", "confidence": 0.5},
}
FEEDBACK = {
    "text": "Did this help?",
    "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
}
OFFER = {
    "text": "I can also look up your own details.",
    "buttons": [{"title": "Check my account", "payload": "/verify_identity"}],
}


def reading(text: str) -> dict[str, Any]:
    found = READINGS.get(text)
    if found is None:
        return {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.4}}
    article = {"id": found["article"], "confidence": 0.9, "conditional": 0.95} if "article" in found else None
    intent = {"name": found["name"], "confidence": found.get("confidence", 0.92)}
    return {"text": text, "intent": intent, "article": article}


def answers(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An answer to the question, then the account offer and "did this help?"."""
    return [{"recipient_id": body["sender"], "text": f"answer to: {body['message']}"}, OFFER, FEEDBACK]


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    rasa.state["parse"] = reading  # type: ignore[attr-defined]
    rasa.state["reply"] = answers  # type: ignore[attr-defined]
    return make_router(settings, engine, rasa, actions)


def sent(rasa: FakeServer) -> list[str]:
    return [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]


def test_two_clear_questions_get_two_answers_and_one_did_this_help(router: Router, rasa: FakeServer) -> None:
    result = router.handle(IncomingMessage("web", "q1", BOTH))
    assert sent(rasa) == [TOP_UP, VOICEMAIL]
    assert [r.get("text") for r in result.replies] == [
        f"answer to: {TOP_UP}",
        f"answer to: {VOICEMAIL}",
        OFFER["text"],
        FEEDBACK["text"],
    ]
    assert rasa.received("POST", "/webhooks/rest/webhook")[0].json()["metadata"]["language"] == "en"


def test_a_clear_question_and_a_likely_one_get_two_answers(router: Router, rasa: FakeServer) -> None:
    """One part clear (0.92), the other likely (0.67): both answered, not only the clear one."""
    router.handle(IncomingMessage("web", "q1b", f"how do I activate my esim? and {VOICEMAIL}"))
    assert sent(rasa) == ["how do I activate my esim?", VOICEMAIL]


def test_the_transcript_keeps_the_message_as_typed(router: Router) -> None:
    result = router.handle(IncomingMessage("web", "q2", BOTH))
    transcript = router.store.transcript(result.conversation_id)
    assert [m["text"] for m in transcript if m["author"] == "customer"] == [BOTH]


@pytest.mark.parametrize(
    "text",
    [
        f"{VOICEMAIL}? and also how do I turn off my voicemail",  # the same question twice
        f"{TOP_UP} and how do I block my card",  # a part for a person: the guard reads the whole
        f"{TOP_UP} and what about the other thing",  # a part that is unclear alone (0.5)
        TOP_UP,
    ],
)
def test_otherwise_the_message_goes_whole(router: Router, rasa: FakeServer, text: str) -> None:
    router.handle(IncomingMessage("web", "q3", text))
    assert sent(rasa) == [text]


def test_the_second_question_waits_when_the_first_answer_hands_over(
    router: Router, rasa: FakeServer, engine: Engine
) -> None:
    def hand_over(body: dict[str, Any]) -> list[dict[str, Any]]:
        with engine.begin() as conn:  # as the action server's escalation does
            conn.execute(update(conversations).values(owner=OWNER_QUEUED))
        return [{"recipient_id": body["sender"], "text": "A colleague will take over."}]

    rasa.state["reply"] = hand_over  # type: ignore[attr-defined]
    result = router.handle(IncomingMessage("web", "q4", f"how do I change my pin? and {VOICEMAIL}"))
    assert sent(rasa) == ["how do I change my pin?"]
    assert result.owner == OWNER_QUEUED


def test_the_second_question_waits_while_the_first_answer_asks_something_back(
    router: Router, rasa: FakeServer
) -> None:
    rasa.state["active_loop"] = "coverage_form"  # type: ignore[attr-defined]
    router.handle(IncomingMessage("web", "q5", BOTH))
    assert sent(rasa) == [TOP_UP]


def test_rasa_unreachable_for_the_parts_sends_the_message_whole(router: Router, rasa: FakeServer) -> None:
    rasa.state["parse"] = lambda text: (_ for _ in ()).throw(RuntimeError("down"))  # type: ignore[attr-defined]
    router.handle(IncomingMessage("web", "q6", BOTH))
    assert sent(rasa) == [BOTH]


def test_rasa_gone_after_the_first_answer_still_gives_the_first(router: Router, rasa: FakeServer) -> None:
    def first_only(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] != TOP_UP:
            raise RuntimeError("Rasa went away")
        return answers(body)

    rasa.state["reply"] = first_only  # type: ignore[attr-defined]
    result = router.handle(IncomingMessage("web", "q7", BOTH))
    assert result.replies[0]["text"] == f"answer to: {TOP_UP}"
    assert result.replies[-1]["text"] == FEEDBACK["text"]  # the first answer's own question stays


def test_no_answer_to_either_part_is_still_an_answer(router: Router, rasa: FakeServer) -> None:
    rasa.state["reply"] = lambda body: []  # type: ignore[attr-defined]
    result = router.handle(IncomingMessage("web", "q8", BOTH))
    assert len(result.replies) == 1 and result.replies[0]["text"]
