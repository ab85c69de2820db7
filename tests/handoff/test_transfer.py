"""Passing a chat to a colleague or a language team on the configured database: the owner
(``conversations.owner`` and the open handoff's ``claimed_by``) changes in one transaction or not
at all, concurrent transfers and closes leave exactly one result, and each transfer is audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import audit_log, conversations, handoffs, utcnow
from bot.core.rules import default_rules
from handoff.queue import HandoffQueue
from handoff.transfer import TransferError, TransferRequest, to_colleague, to_team
from testkit.databases import insert_conversation


def claimed_chat(engine: Engine, agent: str = "ann", language: str = "nl") -> tuple[str, int]:
    with engine.begin() as conn:
        cid = insert_conversation(conn, language=language, channel="web", owner="bot")
    queue = HandoffQueue(engine)
    handoff = queue.escalate(cid, default_rules()["request_human"])
    assert handoff is not None and queue.claim(handoff.id, agent)
    return cid, handoff.id


def state(engine: Engine, cid: str) -> tuple[str, str | None, str, int]:
    """Owner, the open handoff's agent and language, and the transfers audited."""
    with engine.connect() as conn:
        owner = conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()
        handoff = conn.execute(select(handoffs).where(handoffs.c.conversation_id == cid)).one()
        audited = conn.execute(select(func.count()).where(audit_log.c.action == "chat.transfer")).scalar_one()
    return owner, handoff.claimed_by, handoff.language, audited


def test_a_transfer_moves_the_chat_and_is_audited(engine: Engine) -> None:
    cid, hid = claimed_chat(engine)
    assert to_colleague(engine, hid, cid, ("ann", "bob"), utcnow())
    assert state(engine, cid) == ("agent", "bob", "nl", 1)
    assert to_team(engine, hid, cid, "bob", "fr", utcnow())
    assert state(engine, cid) == ("queued", None, "fr", 2)


def test_a_transfer_by_someone_who_has_not_the_chat_changes_nothing(engine: Engine) -> None:
    cid, hid = claimed_chat(engine)
    assert not to_colleague(engine, hid, cid, ("bob", "carl"), utcnow())
    assert not to_team(engine, hid, cid, "bob", "fr", utcnow())  # the owner's move is rolled back too
    assert state(engine, cid) == ("agent", "ann", "nl", 0)
    HandoffQueue(engine).close(cid)
    assert not to_colleague(engine, hid, cid, ("ann", "bob"), utcnow())
    assert not to_team(engine, hid, cid, "ann", "fr", utcnow())
    assert state(engine, cid) == ("closed", "ann", "nl", 0)


def race(engine: Engine) -> tuple[list[str], tuple[str, str | None, str]]:
    """Two transfers to colleagues, one to a team and a close of one chat, started at once:
    who won, and the chat's owner, agent and language afterwards."""
    cid, hid = claimed_chat(engine)
    attempts = {
        "bob": lambda: to_colleague(engine, hid, cid, ("ann", "bob"), utcnow()),
        "carl": lambda: to_colleague(engine, hid, cid, ("ann", "carl"), utcnow()),
        "fr": lambda: to_team(engine, hid, cid, "ann", "fr", utcnow()),
        "close": lambda: HandoffQueue(engine).close(cid),
    }
    results: dict[str, bool] = {}
    start = threading.Barrier(len(attempts))

    def attempt(name: str) -> None:
        start.wait()
        results[name] = attempts[name]()

    threads = [threading.Thread(target=attempt, args=(name,)) for name in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    owner, agent, language, _audited = state(engine, cid)
    return [name for name, won in results.items() if won], (owner, agent, language)


def test_concurrent_transfers_and_a_close_leave_exactly_one_result(engine: Engine) -> None:
    expected = {"bob": ("agent", "bob", "nl"), "carl": ("agent", "carl", "nl"), "fr": ("queued", None, "fr")}
    for _ in range(5):
        winners, after = race(engine)
        transfers = [name for name in winners if name != "close"]
        assert len(transfers) <= 1  # never two transfers of one chat
        if "close" in winners:  # a close also ends a chat just transferred: whoever has it
            assert after[0] == "closed"
        else:
            assert len(transfers) == 1 and after == expected[transfers[0]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid_transfer"),
        ({"to": "bob", "language": "fr"}, "invalid_transfer"),
        ({"to": " "}, "invalid_transfer"),
        ({"to": 3}, "invalid_transfer"),
        ({"language": "de"}, "invalid_transfer"),
        ({"language": "fr", "note": 5}, "invalid_transfer"),
        ({"language": "fr", "note": "x" * 2001}, "note_too_long"),
    ],
)
def test_a_transfer_request_names_a_colleague_or_a_team(body: dict[str, object], code: str) -> None:
    with pytest.raises(TransferError) as refused:
        TransferRequest.parse(body)
    assert refused.value.code == code


def test_a_transfer_request_is_normalised() -> None:
    assert TransferRequest.parse({"to": " Bob ", "note": " zie notitie "}) == TransferRequest(
        "bob", None, "zie notitie"
    )
    assert TransferRequest.parse({"language": "fr"}) == TransferRequest(None, "fr", "")
