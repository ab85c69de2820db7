"""Queue, routing and ownership on the configured database (SQLite, then PostgreSQL in CI)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import conversations, utcnow
from bot.core.rules import default_rules, load_rules
from bot.core.taxonomy import reason_for_intent
from handoff.queue import HandoffQueue
from testkit.databases import insert_conversation


def conversation(engine: Engine, language: str = "nl", channel: str = "web", owner: str = "bot") -> str:
    with engine.begin() as conn:
        return insert_conversation(conn, language=language, channel=channel, owner=owner)


def owner(engine: Engine, cid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(conversations.c.owner).where(conversations.c.id == cid)).scalar_one()


@pytest.fixture
def queue(engine: Engine) -> HandoffQueue:
    return HandoffQueue(engine)


def test_escalation_queues_a_bot_conversation_once(engine: Engine, queue: HandoffQueue) -> None:
    cid = conversation(engine, "fr", "telegram")
    handoff = queue.escalate(
        cid, default_rules()["fraud"], summary="appels inconnus", intents=["sensitive_fraud"]
    )
    assert handoff is not None
    assert (handoff.reason, handoff.priority, handoff.language, handoff.channel) == (
        "fraud",
        "urgent",
        "fr",
        "telegram",
    )
    assert handoff.intents == ["sensitive_fraud"] and handoff.summary == "appels inconnus"
    assert owner(engine, cid) == "queued"
    assert queue.escalate(cid, default_rules()["complaint"]) is None  # already queued
    assert len(queue.waiting()) == 1


def test_queue_is_ordered_by_priority_then_waiting_time_and_filtered_by_language(
    engine: Engine, queue: HandoffQueue
) -> None:
    rules = default_rules()
    first_normal = queue.escalate(conversation(engine, "nl"), rules["request_human"])
    later_urgent = queue.escalate(conversation(engine, "fr"), rules["abuse"])
    later_normal = queue.escalate(conversation(engine, "nl"), rules["privacy"])
    high = queue.escalate(conversation(engine, "en"), rules["complaint"])
    assert [h.id for h in queue.waiting()] == [later_urgent.id, high.id, first_normal.id, later_normal.id]
    assert [h.id for h in queue.waiting(("nl",))] == [first_normal.id, later_normal.id]
    assert [h.id for h in queue.waiting(("fr", "en"))] == [later_urgent.id, high.id]
    assert queue.position(later_normal.conversation_id) == 2
    assert queue.position(high.conversation_id) == 1


def test_claim_reply_hand_back_and_close(engine: Engine, queue: HandoffQueue) -> None:
    cid = conversation(engine)
    handoff = queue.escalate(cid, default_rules()["request_human"])
    assert queue.claim(handoff.id, "agent-ann")
    assert owner(engine, cid) == "agent" and queue.waiting() == []
    assert not queue.claim(handoff.id, "agent-bob")
    assert not queue.record_agent_reply(cid, "agent-bob")
    assert queue.record_agent_reply(cid, "agent-ann")
    assert queue.hand_back(cid)
    assert owner(engine, cid) == "bot" and queue.open_handoff(cid) is None
    second = queue.escalate(cid, default_rules()["complaint"])
    assert second is not None and second.id != handoff.id
    assert queue.close(cid) and owner(engine, cid) == "closed"
    assert not queue.close(cid) and not queue.hand_back(cid)


def test_unanswered_claims_go_back_to_the_queue(engine: Engine, queue: HandoffQueue) -> None:
    quiet, answered = conversation(engine), conversation(engine)
    h1 = queue.escalate(quiet, default_rules()["request_human"])
    h2 = queue.escalate(answered, default_rules()["request_human"])
    assert queue.claim(h1.id, "ann") and queue.claim(h2.id, "bob")
    assert queue.record_agent_reply(answered, "bob")
    assert queue.requeue_unanswered(timedelta(minutes=5)) == []
    later = utcnow() + timedelta(minutes=6)
    assert queue.requeue_unanswered(timedelta(minutes=5), now=later) == [h1.id]
    assert owner(engine, quiet) == "queued" and owner(engine, answered) == "agent"
    assert [h.id for h in queue.waiting()] == [h1.id]


def claim_concurrently(engine: Engine, handoff_id: int, agents: int) -> list[str]:
    """All agents claim the same handoff at the same moment; returns the winners."""
    barrier = threading.Barrier(agents)
    wins: list[str] = []

    def claim(agent: str) -> None:
        barrier.wait()
        if HandoffQueue(engine).claim(handoff_id, agent):
            wins.append(agent)

    threads = [threading.Thread(target=claim, args=(f"agent-{i}",)) for i in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wins


def test_agents_claiming_at_once_exactly_one_wins(engine: Engine, queue: HandoffQueue) -> None:
    for _ in range(5):
        handoff = queue.escalate(conversation(engine), default_rules()["fraud"])
        wins = claim_concurrently(engine, handoff.id, agents=6)
        assert len(wins) == 1
        assert queue.open_handoff(handoff.conversation_id).claimed_by == wins[0]


def test_escalation_racing_a_close_leaves_one_consistent_state(engine: Engine, queue: HandoffQueue) -> None:
    cid = conversation(engine)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def escalate() -> None:
        barrier.wait()
        results["escalated"] = HandoffQueue(engine).escalate(cid, default_rules()["complaint"])

    def close() -> None:
        barrier.wait()
        results["closed"] = HandoffQueue(engine).close(cid)

    threads = [threading.Thread(target=escalate), threading.Thread(target=close)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["closed"] is True
    assert owner(engine, cid) == "closed"
    assert queue.open_handoff(cid) is None


def test_rules_file(tmp_path) -> None:
    rules = default_rules()
    assert {r for r, rule in rules.items() if rule.priority == "urgent"} == {"fraud", "abuse"}
    assert rules["fraud"].rank < rules["complaint"].rank < rules["request_human"].rank
    bad = tmp_path / "rules.yml"
    bad.write_text("reasons:\n  fraud: {priority: asap}\n")
    with pytest.raises(ValueError, match="priority 'asap'"):
        load_rules(bad)


@pytest.mark.parametrize(
    "intent, reason",
    [
        ("sensitive_fraud", "fraud"),
        ("request_human", "request_human"),
        ("billing_refund", None),
        (None, None),
    ],
)
def test_reason_for_intent(intent: str | None, reason: str | None) -> None:
    assert reason_for_intent(intent) == reason
