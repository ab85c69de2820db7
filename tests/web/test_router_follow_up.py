"""A short follow-up goes to Rasa with how the previous question and it read together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.core.db import OWNER_BOT, conversations, messages, utcnow
from bot.core.follow_up import FOLLOW_UP_KEY
from bot.core.identity import Identity
from bot.core.settings import Settings
from bot.router import IncomingMessage, Router
from testkit.fakes.http_server import FakeServer
from tests.helpers.router import make_router

QUESTION = "how do I set up voicemail"
FOLLOW_UP = "and how do I turn it off again?"
TOGETHER = {
    "intent": {"name": "knowledge", "confidence": 0.85},
    "article": {"id": "voicemail_disable", "confidence": 0.85, "conditional": 0.97, "lexical": 0.7, "x": 1},
}


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    rasa.state["parse"] = lambda text: {"text": text, **TOGETHER}  # type: ignore[attr-defined]
    return make_router(settings, engine, rasa, actions)


def sent_metadata(rasa: FakeServer) -> list[dict[str, Any]]:
    return [r.json()["metadata"] for r in rasa.received("POST", "/webhooks/rest/webhook")]


def parsed_texts(rasa: FakeServer) -> list[str]:
    return [r.json()["text"] for r in rasa.received("POST", "/model/parse")]


def test_a_follow_up_carries_the_reading_with_the_question_before_it(
    router: Router, rasa: FakeServer
) -> None:
    router.handle(IncomingMessage("web", "f1", QUESTION))
    router.handle(IncomingMessage("web", "f1", FOLLOW_UP))
    first, second = sent_metadata(rasa)
    assert FOLLOW_UP_KEY not in first  # nothing came before
    assert second[FOLLOW_UP_KEY] == {
        "intent": "knowledge",
        "confidence": 0.85,
        "article": {"id": "voicemail_disable", "confidence": 0.85, "conditional": 0.97, "lexical": 0.7},
    }
    assert parsed_texts(rasa) == [f"{QUESTION} {FOLLOW_UP}"]


@pytest.mark.parametrize(
    "text", ["thanks!", "nee", "oui merci", "how much does it cost to call Morocco from Ghent today"]
)
def test_thanks_and_full_questions_are_read_alone(router: Router, rasa: FakeServer, text: str) -> None:
    router.handle(IncomingMessage("web", "f2", QUESTION))
    router.handle(IncomingMessage("web", "f2", text))
    assert parsed_texts(rasa) == []
    assert all(FOLLOW_UP_KEY not in m for m in sent_metadata(rasa))


@pytest.mark.parametrize("greeting", ["hallo", "Bonjour !", "hi there"])
def test_a_greeting_is_no_question_to_lean_on(router: Router, rasa: FakeServer, greeting: str) -> None:
    """ "hallo", then "hoeveel kost dat?": read together with the greeting it was the higher-bill
    answer; alone it names nothing, and the pipeline asks what the customer means."""
    router.handle(IncomingMessage("web", "f2g", greeting))
    router.handle(IncomingMessage("web", "f2g", "hoeveel kost dat?"))
    assert parsed_texts(rasa) == []
    assert all(FOLLOW_UP_KEY not in m for m in sent_metadata(rasa))


def test_an_old_question_is_no_context(router: Router, rasa: FakeServer, engine: Engine) -> None:
    first = router.handle(IncomingMessage("web", "f3", QUESTION))
    with engine.begin() as conn:
        old = utcnow() - timedelta(minutes=11)
        conn.execute(
            update(messages).where(messages.c.conversation_id == first.conversation_id).values(created_at=old)
        )
    router.handle(IncomingMessage("web", "f3", FOLLOW_UP))
    assert parsed_texts(rasa) == []


def test_a_person_in_between_ends_the_context(router: Router, rasa: FakeServer, engine: Engine) -> None:
    first = router.handle(IncomingMessage("web", "f4", QUESTION))
    router.store.record_outbound(
        first.conversation_id, author="agent", replies=[{"text": "Hi, Sam here"}], language="en"
    )
    with engine.begin() as conn:  # handed back to the bot
        conn.execute(
            update(conversations).where(conversations.c.id == first.conversation_id).values(owner=OWNER_BOT)
        )
    router.handle(IncomingMessage("web", "f4", FOLLOW_UP))
    assert parsed_texts(rasa) == []


def test_a_channel_cannot_slip_in_its_own_context(router: Router, rasa: FakeServer) -> None:
    forged = {FOLLOW_UP_KEY: {"intent": "sensitive_fraud", "confidence": 1.0}}
    router.handle(IncomingMessage("web", "f5", "how do I block premium numbers for my kids", metadata=forged))
    assert FOLLOW_UP_KEY not in sent_metadata(rasa)[0]


def test_without_the_nlu_the_follow_up_is_still_answered(router: Router, rasa: FakeServer) -> None:
    def down(text: str) -> dict[str, Any]:
        raise ConnectionError("NLU down")

    router.handle(IncomingMessage("web", "f6", QUESTION))
    rasa.state["parse"] = down  # type: ignore[attr-defined]
    result = router.handle(IncomingMessage("web", "f6", FOLLOW_UP))
    assert result.replies == [{"text": f"[en] you said: {FOLLOW_UP}"}]
    assert FOLLOW_UP_KEY not in sent_metadata(rasa)[1]


def test_the_same_long_answer_twice_is_a_pointer_to_the_first(
    router: Router, rasa: FakeServer, engine: Engine
) -> None:
    """Rasa's best answer to a detail added after an answer is that answer again: the customer
    gets the lines it shares with the detail, and the transcript keeps what they saw."""
    steps = "Slow mobile internet? Try this:\n- Restart your phone."
    steps += "\n- Check that you have data left in your bundle."
    steps += "\n- Check the APN settings under Settings > Mobile network > Access point names."
    rasa.state["reply"] = lambda body: [{"recipient_id": body["sender"], "text": steps}]  # type: ignore[attr-defined]
    first = router.handle(IncomingMessage("web", "r1", "my mobile data is slow"))
    assert first.replies == [{"text": steps}]
    second = router.handle(IncomingMessage("web", "r1", "and calls work, only data doesn't"))
    (pointer,) = second.replies
    assert pointer["text"].splitlines()[1] == "- Check that you have data left in your bundle."
    assert pointer["buttons"][0]["payload"] == "/request_human"
    with engine.connect() as conn:
        stored = (
            conn.execute(
                select(messages.c.text)
                .where(messages.c.conversation_id == second.conversation_id, messages.c.direction == "out")
                .order_by(messages.c.id)
            )
            .scalars()
            .all()
        )
    assert stored == [steps, pointer["text"]]
    third = router.handle(IncomingMessage("web", "r1", "/request_human"))  # the offered button passes
    assert rasa.received("POST", "/webhooks/rest/webhook")[-1].json()["message"] == "/request_human"
    assert third.owner == OWNER_BOT


def test_the_number_given_for_the_check_is_passed_over(
    router: Router, rasa: FakeServer, engine: Engine
) -> None:
    """A follow-up after the number the bot asked for reads with the question before the number."""
    router.handle(IncomingMessage("web", "f7", QUESTION))
    number = router.handle(IncomingMessage("web", "f7", "0470 12 34 56"))
    Identity(engine).mask_number_in_transcript(number.conversation_id)  # as the check's action does
    router.handle(IncomingMessage("web", "f7", FOLLOW_UP))
    assert parsed_texts(rasa)[-1] == f"{QUESTION} {FOLLOW_UP}"
    assert sent_metadata(rasa)[2][FOLLOW_UP_KEY]["intent"] == "knowledge"
