"""The identity check (bot/core/identity.py): codes, attempts, limits, verified identities, and
the store masking a typed code (bot/core/store.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.core import identity as identity_module
from bot.core.db import conversations, messages, verification_codes, verified_identities
from bot.core.identity import (
    CAPTURE_WINDOW,
    CODE_MASK,
    CODE_PAYLOAD,
    CODE_TTL,
    EXPIRED,
    LOCKED,
    MAX_ATTEMPTS,
    SENDS_PER_HOUR,
    VERIFIED,
    WRONG,
    Identity,
    capture_code,
    identity_step,
    normalise_customer_number,
    normalise_number,
)
from bot.core.language import LanguageChoice
from bot.core.masking import mask_text
from bot.core.store import ConversationStore

START = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)
NUMBER = "+32470123456"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ids(engine: Engine, clock: Clock) -> Identity:
    return Identity(engine, now=clock)


def conversation(engine: Engine, channel: str = "web", sender: str | None = None) -> str:
    cid = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid,
                channel=channel,
                sender=sender or cid,
                owner="bot",
                language="nl",
                created_at=START,
                updated_at=START,
            )
        )
    return cid


def attempt(engine: Engine, cid: str, text: str, now: datetime) -> identity_module.Captured | None:
    channel, sender = Identity(engine).channel_identity(cid) or ("", "")
    with engine.begin() as conn:
        return capture_code(conn, cid, channel, sender, text, now)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_is_six_digits_and_only_its_hash_is_stored(engine: Engine, ids: Identity) -> None:
    cid = conversation(engine)
    issued = ids.issue(cid, "web", NUMBER, "MC1000001", 30)
    assert issued.code is not None and len(issued.code) == 6 and issued.code.isdigit()
    with engine.connect() as conn:
        row = conn.execute(select(verification_codes)).one()
    stored = " ".join(str(value) for value in row)
    assert issued.code not in stored and NUMBER not in stored and "470123456" not in stored
    assert row.expires_at - row.created_at == CODE_TTL == timedelta(minutes=5)


def test_the_right_code_verifies_the_channel_identity_once(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    cid = conversation(engine, sender="telegram-user-7")
    code = ids.issue(cid, "web", NUMBER, "MC1000001", 45).code
    captured = attempt(engine, cid, f"de code is {code}", clock.now)
    assert captured is not None and captured.outcome == VERIFIED
    assert captured.text == f"de code is {CODE_MASK}"
    verified = ids.verified("web", "telegram-user-7")
    assert verified is not None and verified.customer_id == "MC1000001" and verified.method == "sms_code"
    assert verified.expires_at == clock.now + timedelta(minutes=45)
    assert ids.verified_in(cid) == verified
    # Single use: the code is spent, and a later message is not taken for a code any more.
    assert attempt(engine, cid, code, clock.now) is None  # type: ignore[arg-type]
    assert ids.last_code(cid).status == "used"  # type: ignore[union-attr]


def test_an_expired_code_fails(engine: Engine, ids: Identity, clock: Clock) -> None:
    cid = conversation(engine)
    code = ids.issue(cid, "web", NUMBER, "MC1000001", 30).code
    clock.advance(minutes=5, seconds=1)
    captured = attempt(engine, cid, code, clock.now)  # type: ignore[arg-type]
    assert captured is not None and captured.outcome == EXPIRED and captured.text == CODE_MASK
    assert ids.verified_in(cid) is None
    assert ids.last_code(cid).expired  # type: ignore[union-attr]


def test_five_wrong_codes_lock_it_and_the_right_one_no_longer_works(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    cid = conversation(engine)
    code = ids.issue(cid, "web", NUMBER, "MC1000001", 30).code
    outcomes = [attempt(engine, cid, wrong(code), clock.now).outcome for _ in range(MAX_ATTEMPTS)]  # type: ignore[union-attr,arg-type]
    assert outcomes == [WRONG] * (MAX_ATTEMPTS - 1) + [LOCKED]
    assert ids.last_code(cid).attempts_left == 0  # type: ignore[union-attr]
    late = attempt(engine, cid, code, clock.now)  # type: ignore[arg-type]
    assert late is not None and late.outcome == LOCKED and late.text == CODE_MASK  # masked all the same
    assert ids.verified_in(cid) is None


def test_a_code_of_one_conversation_does_not_work_in_another(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    first, second = conversation(engine), conversation(engine)
    code = ids.issue(first, "web", NUMBER, "MC1000001", 30).code
    assert attempt(engine, second, code, clock.now) is None  # type: ignore[arg-type]  # no code waits there
    ids.issue(second, "web", NUMBER, "MC1000001", 30)
    replayed = attempt(engine, second, code, clock.now)  # type: ignore[arg-type]
    assert replayed is not None and replayed.outcome == WRONG
    assert ids.verified_in(second) is None and ids.verified_in(first) is None


def test_a_new_code_replaces_the_open_one(engine: Engine, ids: Identity, clock: Clock) -> None:
    cid = conversation(engine)
    old = ids.issue(cid, "web", NUMBER, "MC1000001", 30).code
    new = ids.issue(cid, "web", NUMBER, "MC1000001", 30).code
    if old != new:
        assert attempt(engine, cid, old, clock.now).outcome == WRONG  # type: ignore[union-attr,arg-type]
    assert attempt(engine, cid, new, clock.now).outcome == VERIFIED  # type: ignore[union-attr,arg-type]


def test_sends_are_limited_per_number_and_per_conversation(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    chats = [conversation(engine) for _ in range(SENDS_PER_HOUR + 1)]
    for cid in chats[:SENDS_PER_HOUR]:
        assert not ids.issue(cid, "web", NUMBER, "MC1000001", 30).limited
    limited = ids.issue(chats[-1], "web", NUMBER, "MC1000001", 30)
    assert limited.limited and limited.code is None
    assert not ids.issue(chats[-1], "web", "+32470000001", None, 30).limited  # another number
    one = conversation(engine)
    for i in range(SENDS_PER_HOUR):
        assert not ids.issue(one, "web", f"+3247011110{i}", None, 30).limited
    assert ids.issue(one, "web", "+32470111199", None, 30).limited  # per conversation
    clock.advance(hours=1, seconds=1)
    assert not ids.issue(one, "web", "+32470111199", None, 30).limited
    assert not ids.issue(chats[-1], "web", NUMBER, "MC1000001", 30).limited


def test_a_number_that_is_not_a_customer_behaves_the_same_but_never_verifies(
    engine: Engine, ids: Identity, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger, customer = conversation(engine), conversation(engine)
    monkeypatch.setattr(identity_module, "new_code", lambda: "424242")
    assert ids.issue(stranger, "web", "+32470999999", None, 30).code is None  # nothing to send
    assert ids.issue(customer, "web", NUMBER, "MC1000001", 30).code == "424242"
    # Even the code that was made for it (never sent) does not verify the stranger.
    assert attempt(engine, stranger, "424242", clock.now).outcome == WRONG  # type: ignore[union-attr]
    assert ids.last_code(stranger) == ids.last_code(customer).__class__("open", 1, False)  # type: ignore[union-attr]
    assert attempt(engine, customer, "424242", clock.now).outcome == VERIFIED  # type: ignore[union-attr]
    assert ids.verified_in(stranger) is None


def test_only_a_short_message_with_one_run_of_digits_is_an_attempt(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    cid = conversation(engine)
    ids.issue(cid, "web", NUMBER, "MC1000001", 30)
    for text in (
        "hoeveel data heb ik nog",
        "0470 12 34 56",
        "12 en 345678",
        "ik betaalde 12,50 op 3/12",
        "x" * 90 + "123456",
    ):
        assert attempt(engine, cid, text, clock.now) is None
    for text in ("123 456", "code: 12-34-56", "1234", "12345678"):
        captured = attempt(engine, cid, text, clock.now)
        assert (
            captured is not None
            and "[code ••••••]" in captured.text
            and not any(c.isdigit() for c in captured.text)
        )


def test_no_attempt_long_after_the_code_was_sent(engine: Engine, ids: Identity, clock: Clock) -> None:
    cid = conversation(engine)
    ids.issue(cid, "web", NUMBER, "MC1000001", 30)
    clock.advance(seconds=CAPTURE_WINDOW.total_seconds() + 1)
    assert attempt(engine, cid, "123456", clock.now) is None


def test_verification_ends_on_log_out_and_after_its_time(engine: Engine, ids: Identity, clock: Clock) -> None:
    cid = conversation(engine, channel="telegram", sender="42")
    ids.mark_verified("telegram", "42", "MC1000005", cid, "telegram_contact", 60)
    assert ids.verified("telegram", "42").method == "telegram_contact"  # type: ignore[union-attr]
    assert ids.verified("web", "42") is None  # per channel identity
    assert ids.log_out("telegram", "42") is True
    assert ids.verified("telegram", "42") is None
    assert ids.log_out("telegram", "42") is False
    ids.mark_verified("telegram", "42", "MC1000005", cid, "sms_code", 60)
    clock.advance(minutes=61)
    assert ids.verified_in(cid) is None


def test_purge_keeps_what_the_limits_and_verifications_need(
    engine: Engine, ids: Identity, clock: Clock
) -> None:
    cid = conversation(engine)
    ids.issue(cid, "web", NUMBER, "MC1000001", 30)
    ids.mark_verified("web", "s", "MC1000001", cid, "sms_code", 30)
    ids.mark_verified("web", "t", "MC1000002", cid, "sms_code", 60 * 24 * 90)  # still verified
    ids.mark_verified("web", "u", "MC1000003", cid, "sms_code", 60 * 24 * 90)
    assert ids.log_out("web", "u") is True
    assert ids.purge() == 0
    clock.advance(days=2)  # the code goes; ended verifications stay for the customer panel
    assert ids.purge_counts() == {"verification_codes": 1, "verified_identities": 0}
    clock.advance(days=29)
    assert ids.purge_counts() == {"verification_codes": 0, "verified_identities": 2}
    with engine.connect() as conn:
        assert conn.execute(select(verification_codes)).first() is None
        assert conn.execute(select(verified_identities.c.sender)).scalars().all() == ["t"]
    assert ids.verified("web", "t") is not None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0470 12 34 56", "+32470123456"),
        ("+32 470 12 34 56", "+32470123456"),
        ("0032470123456", "+32470123456"),
        ("0470/12.34.56", "+32470123456"),
        ("06 12345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("02 512 34 56", None),  # a Brussels landline: codes go to mobiles only
        ("123456", None),
        ("mijn nummer is 0470 12 34 56", "+32470123456"),
        # SQL or HTML around a number: only the number, rebuilt from its digits, is used
        ("0470 12 34 56'; DROP TABLE conversations; --", "+32470123456"),
        ("<script>alert(1)</script>0470123456", "+32470123456"),
        ("'; DROP TABLE conversations; --", None),
        ("0470 12 34 56 of 0485 11 22 33", None),  # two numbers: which one?
        ("", None),
    ],
)
def test_numbers_are_mobile_numbers_in_e164(typed: str, expected: str | None) -> None:
    assert normalise_number(typed) == expected


def test_customer_numbers() -> None:
    assert normalise_customer_number("mc 1000001") == "MC1000001"
    assert normalise_customer_number("MC-1000001") == "MC1000001"
    assert normalise_customer_number("mijn klantnummer is MC1000001") == "MC1000001"
    assert normalise_customer_number("MC1000001' OR 1=1") == "MC1000001"
    assert normalise_customer_number("<b>MC1</b>") is None
    assert normalise_customer_number("MC1000001 of MC1000002") is None


# -- the store masks a code typed in a verification step -------------------------------------


def choose(_current: str | None) -> LanguageChoice:
    return LanguageChoice("nl", "test")


def test_the_store_keeps_a_masked_code_and_tells_the_router_what_rasa_gets(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConversationStore(engine)
    first = store.record_inbound(
        channel="web", sender="s1", text="hallo", locale=None, choose_language=choose
    )
    cid = first.conversation.id
    assert first.rasa_text is None
    monkeypatch.setattr(identity_module, "new_code", lambda: "918273")
    Identity(engine).issue(cid, "web", NUMBER, "MC1000001", 30)
    typed = store.record_inbound(
        channel="web", sender="s1", text="918 273", locale=None, choose_language=choose
    )
    assert typed.rasa_text == CODE_PAYLOAD
    later = store.record_inbound(
        channel="web", sender="s1", text="123456", locale=None, choose_language=choose
    )
    assert later.rasa_text is None  # verified: no code waits any more
    with engine.connect() as conn:
        texts = list(conn.execute(select(messages.c.text).order_by(messages.c.id)).scalars())
    assert texts == ["hallo", CODE_MASK, "123456"]
    assert Identity(engine).verified("web", "s1").customer_id == "MC1000001"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "typed",
    ["0470 12 34 56", "+32 470 12 34 56", "0470/12.34.56", "0032470123456", "06 12345678", "+31 6 12345678"],
)
def test_every_number_the_check_accepts_is_masked_in_logs_and_exports(typed: str) -> None:
    assert normalise_number(typed)
    masked = mask_text(f"mijn nummer is {typed}")
    assert masked.startswith("mijn nummer is [phone •••") and not any(c.isdigit() for c in masked[:-3])


# identity_step: what a customer gives for the check, as the transcript keeps it
@pytest.mark.parametrize(
    "text",
    [
        CODE_MASK,
        mask_text("0470 12 34 56"),
        mask_text("mijn nummer is 0470 12 34 56"),
        mask_text("voilà : +32 485 11 22 33"),
        "MC1000001",
        "klantnummer mc-1000001",
    ],
)
def test_a_number_or_code_for_the_check_is_an_identity_step(text: str) -> None:
    assert identity_step(text)


@pytest.mark.parametrize(
    "text",
    [
        "hoeveel data heb ik nog?",
        "et ma dernière recharge c'était quand",
        "ok",
        "1234",  # a PIN or an amount is no number of the check
        mask_text("ik word gebeld door 0470 12 34 56 en die persoon scheldt me uit, wat kan ik doen"),
        "[phone",  # not a mask
    ],
)
def test_a_question_or_a_number_in_a_question_is_not(text: str) -> None:
    assert not identity_step(text)
