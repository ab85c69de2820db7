"""A customer's identity check (bot/core/identity.py) in their export and their erasure."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from bot.core.db import audit_log, conversations, utcnow, verification_codes, verified_identities
from bot.core.identity import Identity
from bot.core.settings import Settings
from handoff.privacy import Privacy


def conversation(engine: Engine, cid: str, sender: str) -> str:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel="web",
                sender=sender,
                owner="bot",
                language="nl",
                created_at=now,
                updated_at=now,
            )
        )
    return cid


def test_export_and_erasure_take_the_identity_check_along(settings: Settings, engine: Engine) -> None:
    ann, bob = conversation(engine, "c-ann", "ann"), conversation(engine, "c-bob", "bob")
    ids = Identity(engine)
    for cid, sender in ((ann, "ann"), (bob, "bob")):
        code = ids.issue(cid, "web", f"+3247011111{len(sender)}", "MC1000001", 30).code
        ids.mark_verified("web", sender, "MC1000001", cid, "sms_code", 30)
        assert code is not None
    privacy = Privacy(settings, engine, None)

    data = privacy.export_customer("web", "ann", actor="dpo")
    (exported,) = data["conversations"]
    assert [row["customer_id"] for row in exported["verified_identities"]] == ["MC1000001"]
    assert len(exported["verification_codes"]) == 1
    assert "+3247011111" not in json.dumps(data)  # the number is not kept, so not exported

    result = privacy.erase_customer("web", "ann", actor="dpo")
    assert result["deleted"]["verified_identities"] == 1 and result["deleted"]["verification_codes"] == 1
    assert ids.verified("web", "ann") is None and ids.verified("web", "bob") is not None
    with engine.connect() as conn:
        assert conn.execute(select(verification_codes.c.conversation_id)).scalars().all() == [bob]
        assert conn.execute(select(verified_identities.c.sender)).scalars().all() == ["bob"]


def test_retention_purges_old_codes_and_ended_verifications_whatever_the_limits(
    settings: Settings, engine: Engine
) -> None:
    now = utcnow()
    cid = conversation(engine, "c-ann", "ann")
    then = Identity(engine, now=lambda: now - timedelta(days=40))
    then.issue(cid, "web", "+32470111111", "MC1000001", 30)  # the code and the verification of
    then.mark_verified("web", "ann", "MC1000001", cid, "sms_code", 30)  # 40 days ago
    then.mark_verified("web", "bob", "MC1000002", cid, "telegram_contact", 60 * 24 * 90)  # still on
    two_days_ago = Identity(engine, now=lambda: now - timedelta(days=2))
    two_days_ago.issue(cid, "web", "+32470111111", "MC1000001", 30)  # counts for no limit any more
    today = Identity(engine, now=lambda: now)
    today.issue(cid, "web", "+32470111111", "MC1000001", 30)  # the sends-per-hour counter
    kept_for_good = settings.with_overrides(
        retention_transcript_days=0, retention_tracker_days=0, retention_insights_days=0
    )

    counts = Privacy(kept_for_good, engine, None).enforce_retention(now)

    assert (counts["verification_codes"], counts["verified_identities"]) == (2, 1)
    assert counts["conversations"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(verification_codes)).scalar_one() == 1
        assert conn.execute(select(verified_identities.c.sender)).scalars().all() == ["bob"]
        (run,) = conn.execute(select(audit_log.c.details).where(audit_log.c.action == "retention.run")).all()
    assert run.details["deleted"]["verification_codes"] == 2
    assert today.verified("web", "bob") is not None and today.last_code(cid) is not None
    assert Privacy(kept_for_good, engine, None).enforce_retention(now)["verification_codes"] == 0
