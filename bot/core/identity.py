"""Proving that a chat belongs to a customer: one-time codes and verified channel identities.

The flow (the action server runs steps 1 and 3, the router's store step 2):

1. :meth:`Identity.issue` makes a 6-digit code (``secrets``) for a conversation and a number,
   unless the number or the conversation already had ``SENDS_PER_HOUR`` codes this hour. Only a
   salted HMAC-SHA256 of the code and a hash of the number are stored. A number that is not a
   customer's gets a code too, which is never sent and never matches: the answers, the limits and
   the database work are the same for everyone, so the chat cannot tell who is a customer.
2. While a conversation waits for its code (``CAPTURE_WINDOW`` after it was sent), a message
   holding one run of 4 to 8 digits is an attempt: :func:`capture_code` checks it in the
   store's transaction (``hmac.compare_digest``, at most ``MAX_ATTEMPTS`` per code, ``CODE_TTL``,
   single use), the transcript keeps ``[code ••••••]`` instead and Rasa gets the payload
   ``/inform_code``: the code is never in a transcript, Rasa's tracker, a log or an export. A
   right code makes the channel identity (channel + sender) verified for ``verified_minutes``.
3. The actions read the outcome from here (:meth:`Identity.last_code`, :meth:`Identity.verified`),
   never from the conversation's slots. "Log me out" ends it (:meth:`Identity.log_out`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import phonenumbers
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from bot.core.db import conversations, messages, utcnow, verification_codes, verified_identities
from bot.core.follow_up import words
from bot.core.masking import mask_text

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
SENDS_PER_HOUR = 3  # per number and per conversation
CAPTURE_WINDOW = timedelta(minutes=30)  # how long after a code a lone number is taken for one
KEEP_CODES = timedelta(days=1)  # what purge() leaves (the limits look back one hour)
# How long purge() leaves a verification that has ended (run out or logged out): the console's
# customer panel links a customer's earlier conversations through them (handoff/customer.py).
KEEP_VERIFICATIONS = timedelta(days=30)
CODE_MASK = "[code ••••••]"
CODE_PAYLOAD = "/inform_code"
NUMBER_REGIONS = ("BE", "NL", "LU", "FR", "DE")

OPEN, USED, LOCKED, REPLACED = "open", "used", "locked", "replaced"
VERIFIED, WRONG, EXPIRED = "verified", "wrong", "expired"  # outcomes of an attempt (and LOCKED)

# One run of 4-8 digits, single spaces, dots or dashes allowed between them ("123 456").
_CODE_RUN = re.compile(r"(?<![\d+])\d(?:[ .-]?\d){3,7}(?![\d])")
_CUSTOMER_NUMBER = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})[- ]?(\d{7})(?![0-9])")
_NUMBER_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]{6,}\d")  # a phone number as written, separators and all
# What the transcript keeps of a number or code given for the check: the phone mask
# (bot/core/masking: "[phone •••56]") or CODE_MASK.
_STEP_MASK = re.compile(r"\[phone\b[^\]]*\]|" + re.escape(CODE_MASK))
IDENTITY_STEP_WORDS = 4  # "mijn nummer is ...", "voilà mon numéro ..."
MAX_NUMBER_MESSAGE = 200
MAX_CAPTURE_CHARS = 80  # a longer message is a question, not a code


@dataclass(frozen=True)
class Issued:
    """What :meth:`Identity.issue` did: ``code`` to send (None when the number is not a customer's
    or when ``limited``: too many codes this hour for the number or the conversation)."""

    code: str | None
    limited: bool


@dataclass(frozen=True)
class CodeStatus:
    """The conversation's latest code as the actions see it (never the code itself)."""

    status: str  # open | used | locked | replaced
    attempts: int
    expired: bool

    @property
    def attempts_left(self) -> int:
        return max(0, MAX_ATTEMPTS - self.attempts)


@dataclass(frozen=True)
class Verified:
    customer_id: str
    method: str
    verified_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Captured:
    """A customer message taken as a code attempt: what to store, and how it went."""

    text: str  # the message with the code masked
    outcome: str  # verified | wrong | expired | locked


def normalise_number(text: str) -> str | None:
    """The mobile number in what a customer typed ("mijn nummer is 0470 12 34 56"), in E.164
    (``+32470123456``); None without exactly one valid mobile number."""
    if not text or len(text) > MAX_NUMBER_MESSAGE:
        return None
    found = {number for run in _NUMBER_RUN.findall(text) if (number := _mobile(run))}
    return found.pop() if len(found) == 1 else None


def _mobile(candidate: str) -> str | None:
    for region in NUMBER_REGIONS:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        mobile = phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        if phonenumbers.is_valid_number(number) and mobile:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def normalise_customer_number(text: str) -> str | None:
    """The customer number in what a customer typed (two letters and 7 digits, ``MC1000001``),
    upper-cased; None without exactly one."""
    if not text or len(text) > MAX_NUMBER_MESSAGE:
        return None
    found = {f"{letters}{digits}".upper() for letters, digits in _CUSTOMER_NUMBER.findall(text)}
    return found.pop() if len(found) == 1 else None


def number_hash(identifier: str) -> str:
    """What the sends-per-hour limit counts by: the number (or customer number) is not stored."""
    return hashlib.sha256(f"verification-number:{identifier}".encode()).hexdigest()


def _code_hash(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class Identity:
    """Codes and verified identities in the assistant's database."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.now = now

    def issue(
        self,
        conversation_id: str,
        channel: str,
        identifier: str,
        customer_id: str | None,
        verified_minutes: int,
    ) -> Issued:
        """A new code for the conversation (earlier open ones no longer count), or ``limited``."""
        now = self.now()
        hashed = number_hash(identifier)
        codes = verification_codes.c
        with self.engine.begin() as conn:
            since = now - timedelta(hours=1)
            per_number = _count(conn, and_(codes.number_hash == hashed, codes.created_at > since))
            per_chat = _count(conn, and_(codes.conversation_id == conversation_id, codes.created_at > since))
            if per_number >= SENDS_PER_HOUR or per_chat >= SENDS_PER_HOUR:
                return Issued(None, limited=True)
            conn.execute(
                update(verification_codes)
                .where(codes.conversation_id == conversation_id, codes.status == OPEN)
                .values(status=REPLACED)
            )
            code, salt = new_code(), secrets.token_hex(16)
            conn.execute(
                insert(verification_codes).values(
                    conversation_id=conversation_id,
                    channel=channel,
                    number_hash=hashed,
                    customer_id=customer_id,
                    code_hash=_code_hash(salt, code),
                    salt=salt,
                    attempts=0,
                    status=OPEN,
                    created_at=now,
                    expires_at=now + CODE_TTL,
                    verified_minutes=verified_minutes,
                )
            )
        return Issued(code if customer_id else None, limited=False)

    def last_code(self, conversation_id: str) -> CodeStatus | None:
        with self.engine.connect() as conn:
            row = _latest_code(conn, conversation_id)
        if row is None:
            return None
        return CodeStatus(row.status, row.attempts, row.expires_at <= self.now())

    def verified(self, channel: str, sender: str) -> Verified | None:
        """The customer this channel identity is verified as now, if any."""
        ids = verified_identities.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(verified_identities)
                .where(
                    ids.channel == channel,
                    ids.sender == sender,
                    ids.ended_at.is_(None),
                    ids.expires_at > self.now(),
                )
                .order_by(ids.verified_at.desc(), ids.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return Verified(row.customer_id, row.method, row.verified_at, row.expires_at)

    def verified_in(self, conversation_id: str) -> Verified | None:
        """The customer the conversation's channel identity is verified as now, if any."""
        identity = self.channel_identity(conversation_id)
        return self.verified(*identity) if identity else None

    def channel_identity(self, conversation_id: str) -> tuple[str, str] | None:
        """(channel, sender) of a conversation."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations.c.channel, conversations.c.sender).where(
                    conversations.c.id == conversation_id
                )
            ).first()
        return (row.channel, row.sender) if row else None

    def mark_verified(
        self,
        channel: str,
        sender: str,
        customer_id: str,
        conversation_id: str,
        method: str,
        minutes: int,
    ) -> Verified:
        """Record a proof other than a code (a Telegram contact of the sender's own number)."""
        now = self.now()
        with self.engine.begin() as conn:
            _insert_verified(conn, channel, sender, customer_id, conversation_id, method, now, minutes)
        return Verified(customer_id, method, now, now + timedelta(minutes=minutes))

    def log_out(self, channel: str, sender: str) -> bool:
        """End the identity's verification; True when it was verified."""
        ids = verified_identities.c
        with self.engine.begin() as conn:
            ended = conn.execute(
                update(verified_identities)
                .where(ids.channel == channel, ids.sender == sender, ids.ended_at.is_(None))
                .values(ended_at=self.now())
            )
        return ended.rowcount > 0

    def mask_number_in_transcript(self, conversation_id: str) -> None:
        """Mask the phone number in the conversation's latest customer message (the one the
        check read it from): the transcript keeps ``[phone •••56]``, like an export would."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(messages.c.id, messages.c.text)
                .where(messages.c.conversation_id == conversation_id, messages.c.direction == "in")
                .order_by(messages.c.id.desc())
                .limit(1)
            ).first()
            masked = mask_text(row.text) if row else None
            if row is not None and masked != row.text:
                conn.execute(update(messages).where(messages.c.id == row.id).values(text=masked))

    def purge(self) -> int:
        """:meth:`purge_counts`, summed."""
        return sum(self.purge_counts().values())

    def purge_counts(self) -> dict[str, int]:
        """Delete codes older than KEEP_CODES (expired, used or not) and verifications ended
        (run out or logged out) longer than KEEP_VERIFICATIONS ago; rows deleted per table.
        The retention job runs it (handoff/privacy.py)."""
        now = self.now()
        ids = verified_identities.c
        ended = or_(ids.expires_at < now - KEEP_VERIFICATIONS, ids.ended_at < now - KEEP_VERIFICATIONS)
        with self.engine.begin() as conn:
            codes = conn.execute(
                delete(verification_codes).where(verification_codes.c.created_at < now - KEEP_CODES)
            ).rowcount
            done = conn.execute(delete(verified_identities).where(ended)).rowcount
        return {verification_codes.name: int(codes or 0), verified_identities.name: int(done or 0)}


def identity_step(text: str) -> bool:
    """A number, customer number or code given for the check, as the transcript keeps it.

    It answers the bot's own question, it asks nothing: "et ma dernière recharge c'était quand"
    right after the code follows the question that asked for the check ("il me reste combien de
    crédit"), so the store looks past it for a follow-up's context
    (:meth:`bot.core.store.ConversationStore.previous_question`)."""
    if not (_STEP_MASK.search(text) or _CUSTOMER_NUMBER.search(text)):
        return False
    rest = _CUSTOMER_NUMBER.sub(" ", _STEP_MASK.sub(" ", text))
    return len(words(rest)) <= IDENTITY_STEP_WORDS


def capture_code(
    conn: Connection, conversation_id: str, channel: str, sender: str, text: str, now: datetime
) -> Captured | None:
    """A code attempt in a customer message, checked and masked (None: not an attempt).

    Called by the store in the transaction that stores the message. Only a conversation that
    was sent a code in the last ``CAPTURE_WINDOW``, and not yet verified with it, waits for one;
    its message is an attempt when it is short and holds exactly one run of 4-8 digits.
    """
    if not text or len(text) > MAX_CAPTURE_CHARS or not any(c.isdigit() for c in text):
        return None
    runs = list(_CODE_RUN.finditer(text))
    if len(runs) != 1 or any(c.isdigit() for c in text[: runs[0].start()] + text[runs[0].end() :]):
        return None
    row = _latest_code(conn, conversation_id)
    if row is None or row.status not in (OPEN, LOCKED) or row.created_at < now - CAPTURE_WINDOW:
        return None
    masked = text[: runs[0].start()] + CODE_MASK + text[runs[0].end() :]
    digits = re.sub(r"\D", "", runs[0].group())
    return Captured(masked, _attempt(conn, row, digits, channel, sender, now))


def _attempt(conn: Connection, row: Row, digits: str, channel: str, sender: str, now: datetime) -> str:
    codes = verification_codes.c
    counted = conn.execute(
        update(verification_codes)
        .where(codes.id == row.id, codes.status == OPEN, codes.attempts < MAX_ATTEMPTS)
        .values(attempts=codes.attempts + 1)
    )
    if counted.rowcount != 1:
        return LOCKED
    if row.expires_at <= now:
        return EXPIRED
    expected = row.code_hash
    right = hmac.compare_digest(_code_hash(row.salt, digits), expected)
    if right and row.customer_id:
        used = conn.execute(
            update(verification_codes)
            .where(codes.id == row.id, codes.status == OPEN)
            .values(status=USED, used_at=now)
        )
        if used.rowcount == 1:
            _insert_verified(
                conn,
                channel,
                sender,
                row.customer_id,
                row.conversation_id,
                "sms_code",
                now,
                row.verified_minutes,
            )
            return VERIFIED
    if row.attempts + 1 >= MAX_ATTEMPTS:
        conn.execute(update(verification_codes).where(codes.id == row.id).values(status=LOCKED))
        return LOCKED
    return WRONG


def _latest_code(conn: Connection, conversation_id: str) -> Row | None:
    codes = verification_codes.c
    return conn.execute(
        select(verification_codes)
        .where(codes.conversation_id == conversation_id)
        .order_by(codes.created_at.desc(), codes.id.desc())
        .limit(1)
    ).first()


def _count(conn: Connection, condition: ColumnElement[bool]) -> int:
    return int(
        conn.execute(select(func.count()).select_from(verification_codes).where(condition)).scalar() or 0
    )


def _insert_verified(
    conn: Connection,
    channel: str,
    sender: str,
    customer_id: str,
    conversation_id: str,
    method: str,
    now: datetime,
    minutes: int,
) -> None:
    conn.execute(
        insert(verified_identities).values(
            channel=channel,
            sender=sender,
            customer_id=customer_id,
            conversation_id=conversation_id,
            method=method,
            verified_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
