"""kill -9 of Rasa while turns are in flight, with Rasa's lock store in Redis: how long until those
conversations get a real answer again, and is any message lost or handled twice?

Rasa serialises the turns of one conversation with a ticket lock (rasa/core/lock_store.py): a turn
takes a ticket in Redis (``lock:<conversation id>``) that expires ``TICKET_LOCK_LIFETIME`` s after
it was issued, and gives it back when the turn ends. A killed Rasa gives nothing back: the ticket
stays until it expires, and a later turn of that conversation waits behind it (polling every second)
even when Rasa is back.

The real stack under supervisord (bot/run.py) on a fresh PostgreSQL schema, the lock store in
``--redis-url``. ``--inflight`` customers ("in flight") and ``--control`` customers chat once to
open their conversations; then the in-flight customers send a question at the same moment and Rasa
is killed as soon as their tickets are in Redis (the keys present at the kill are reported). After
the kill every customer asks again ``--interval`` s after each answer until a real answer (not the
gateway's apology) comes. Per group:

  groups          ticket held: in flight, its ticket in Redis at the kill; in flight: sent just
                  before the kill, no ticket seen; control: no message in flight
  sent            messages sent from the kill on (the one in flight included)
  apology / 5xx / no answer / lost   as in bench/reliability_crash.py (lost: a 200 not stored)
  real s          seconds from the kill until the group's customers got a real answer (max, median)
  after back s    the same, counted from /health ok after Rasa's restart (max)
  rasa twice      a customer message that is in Rasa's tracker more than once
  unseen turns    a message Rasa handled (in its tracker) while the customer got the apology

    .venv/bin/python -m bench.reliability_lock --database-url postgresql://root@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/8 [--model models/....tar.gz] [--lock-lifetime 60]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from sqlalchemy import text as sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reliability_crash import (  # noqa: E402
    APOLOGIES,
    QUESTIONS,
    Outcome,
    lost_messages,
    machine_context,
)
from bot.core.db import create_db_engine, init_schema  # noqa: E402
from bot.run import Stack  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.e2e_stack import kill_program, running_stack  # noqa: E402


@dataclass
class Customer:
    number: int
    group: str  # "in flight" | "control"; "ticket held": in flight, its ticket in Redis at the kill
    sender: str = field(default_factory=lambda: f"lock-{uuid.uuid4().hex[:10]}")
    conversation_id: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    real_at: float | None = None  # monotonic time of the first real answer after the kill
    http: httpx.Client | None = None  # its own cookies: the conversation's token (as a browser)

    def __post_init__(self) -> None:
        language = list(QUESTIONS)[self.number % len(QUESTIONS)]
        self.questions = itertools.cycle(QUESTIONS[language])

    def send(self) -> Outcome:
        http = self.http
        assert http is not None
        outcome = Outcome(time.monotonic(), self.sender, next(self.questions), None)
        try:
            response = http.post("/api/chat", json={"sender": self.sender, "text": outcome.text})
        except httpx.TransportError:
            pass
        else:
            outcome.status = response.status_code
            if response.status_code == 200:
                body = response.json()
                outcome.conversation_id = self.conversation_id = body["conversation_id"]
                outcome.apology = any(r.get("text") in APOLOGIES for r in body["replies"])
        outcome.seconds = time.monotonic() - outcome.sent_at
        self.outcomes.append(outcome)
        return outcome

    def until_real(self, interval_s: float, deadline: float) -> None:
        """Ask again ``interval_s`` after each answer until a real one (or the deadline)."""
        while time.monotonic() < deadline:
            outcome = self.send()
            if outcome.status == 200 and not outcome.apology:
                self.real_at = outcome.sent_at + outcome.seconds
                return
            time.sleep(interval_s)


def lock_keys(red: redis.Redis) -> dict[str, list[dict]]:
    """``lock:<conversation>`` -> its tickets ({number, expires})."""
    found = {}
    for key in red.scan_iter("lock:*"):
        raw = red.get(key)
        if raw:
            tickets = [json.loads(t) for t in json.loads(raw).get("tickets", [])]
            found[key.decode()[len("lock:") :]] = tickets
    return found


def in_parallel(customers: list[Customer], work, *args) -> None:
    threads = [threading.Thread(target=work, args=(c, *args), daemon=True) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def kill_with_turns_in_flight(stack: Stack, red: redis.Redis, flying: list[Customer]):
    """The in-flight customers ask at once; Rasa is killed once their tickets are in Redis."""
    threads = [threading.Thread(target=c.send, daemon=True) for c in flying]
    for thread in threads:
        thread.start()
    wanted = {c.conversation_id for c in flying}
    give_up, seen, first = time.monotonic() + 10, set(), None
    held = lock_keys(red)
    while time.monotonic() < give_up:
        count = len(wanted & set(held))
        first = first or (time.monotonic() if count else None)
        # turns are short: kill once half hold a ticket, or 0.2 s after the first one did
        if count * 2 >= len(wanted) or (count and time.monotonic() - first > 0.2):
            break
        time.sleep(0.005)
        held = lock_keys(red)
        seen |= set(held)
    if not wanted & set(held):
        print(f"no in-flight ticket at the kill; lock keys seen meanwhile: {sorted(seen)[:5]}")
    killed_at, wall = time.monotonic(), time.time()
    kill_program(stack, "rasa")
    return killed_at, wall, held, threads


def health_ok_after(stack: Stack, since: float, timeout_s: float) -> float | None:
    time.sleep(1.0)  # supervisord notices the death
    while time.monotonic() - since < timeout_s:
        body = stack.health(timeout_s=5)
        if body is not None and body.get("status") == "ok":
            return time.monotonic() - since
        time.sleep(0.25)
    return None


def tracker_texts(tracker_url: str, conversation_id: str) -> Counter[str]:
    engine = create_db_engine(tracker_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sql("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": conversation_id},
            )
            return Counter(json.loads(row.data).get("text") for row in rows)
    finally:
        engine.dispose()


def report(customers, killed_at, back_s, tracker_url, lost) -> bool:
    lost_keys = {(o.sender, o.sent_at) for o in lost}
    print(
        f"{'group':10} {'convs':>5} {'sent':>5} {'apology':>7} {'5xx':>4} {'no answer':>9} {'lost':>4} "
        f"{'real s max':>10} {'real s p50':>10} {'after back s':>12} {'rasa twice':>10} {'unseen turns':>12}"
    )
    clean, nan = True, float("nan")
    for group in ("ticket held", "in flight", "control"):
        members = [c for c in customers if c.group == group]
        after = [o for c in members for o in c.outcomes if o.sent_at + o.seconds >= killed_at - 1]
        real = [c.real_at - killed_at for c in members if c.real_at is not None]
        twice = unseen = 0
        for c in members:
            seen = tracker_texts(tracker_url, c.conversation_id or "")
            sent = Counter(o.text for o in c.outcomes if o.status == 200)
            twice += sum(max(0, seen[t] - n) for t, n in sent.items())
            apologised = Counter(o.text for o in c.outcomes if o.status == 200 and o.apology)
            answered = sent - apologised
            unseen += sum(max(0, min(seen[t] - answered[t], n)) for t, n in apologised.items())
        stuck = [r - back_s for r in real] if back_s is not None else []
        missing = sum(1 for c in members if c.real_at is None)
        row = [
            len(members),
            len(after),
            sum(o.apology for o in after),
            sum(1 for o in after if o.status and o.status >= 500),
            sum(1 for o in after if o.status is None),
            sum(1 for c in members for o in c.outcomes if (o.sender, o.sent_at) in lost_keys),
        ]
        print(
            f"{group:10} {row[0]:>5} {row[1]:>5} {row[2]:>7} {row[3]:>4} {row[4]:>9} {row[5]:>4} "
            f"{max(real, default=nan):>10.1f} {statistics.median(real) if real else nan:>10.1f} "
            f"{max(stuck, default=nan):>12.1f} {twice:>10} {unseen:>12}"
            + (f"  ({missing} never answered)" if missing else "")
        )
        clean = clean and not (row[3] or row[5] or missing or twice)
    return clean


def measure(args: argparse.Namespace, work: Path, url: str) -> bool:
    engine = create_db_engine(url)
    init_schema(engine)
    engine.dispose()
    red = redis.Redis.from_url(args.redis_url)
    if lock_keys(red):
        raise SystemExit(f"{args.redis_url} already holds lock:* keys: pick an unused database number")
    env = {"REDIS_URL": args.redis_url, "CHAT_RATE_PER_MINUTE": "0", "DEMO": "false"}
    if args.lock_lifetime:
        env["TICKET_LOCK_LIFETIME"] = str(args.lock_lifetime)
    with running_stack(work, url, env, model=args.model) as stack:
        gateway = stack.settings.gateway_url
        print(f"stack up (Rasa's environment: TICKET_LOCK_LIFETIME={_lifetime(stack)})", flush=True)
        customers = [Customer(i, "in flight") for i in range(args.inflight)]
        customers += [Customer(args.inflight + i, "control") for i in range(args.control)]
        for customer in customers:
            customer.http = httpx.Client(base_url=gateway, timeout=60)
        warm = time.monotonic() + args.timeout
        in_parallel(customers, lambda c: c.until_real(1.0, warm))
        flying = [c for c in customers if c.group == "in flight"]
        killed_at, wall, held, threads = kill_with_turns_in_flight(stack, red, flying)
        stale = {cid: t for cid, t in held.items() if cid in {c.conversation_id for c in flying}}
        for customer in flying:
            customer.group = "ticket held" if customer.conversation_id in stale else customer.group
        expiries = [max(t["expires"] for t in tickets) - wall for tickets in stale.values() if tickets]
        print(
            f"rasa killed with -9; {len(stale)} of {len(flying)} in-flight conversations held a ticket in "
            f"Redis, expiring {min(expiries, default=0):.1f}-{max(expiries, default=0):.1f} s after the kill",
            flush=True,
        )
        for thread in threads:
            thread.join(70)
        deadline = killed_at + args.timeout
        others = threading.Thread(
            target=in_parallel,
            args=(
                customers,
                lambda c: c.until_real(args.interval, deadline),
            ),
            daemon=True,
        )
        others.start()
        back_s = health_ok_after(stack, killed_at, args.timeout)
        print(f"/health ok {back_s if back_s is None else round(back_s, 1)} s after the kill", flush=True)
        others.join(args.timeout + 70)
        left = lock_keys(red)
        print(f"lock keys left in Redis at the end: {len(left)}")
        outcomes = [o for c in customers for o in c.outcomes]
        lost = lost_messages(url, outcomes)
        clean = report(customers, killed_at, back_s, stack.settings.rasa_tracker_url, lost)
    print("OK: no 5xx, nothing lost or handled twice" if clean else "FAILED: see the table")
    return clean


def _lifetime(stack: Stack) -> str:
    return stack.child_env().get("TICKET_LOCK_LIFETIME", "unset (Rasa's default: 60)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (a fresh schema)")
    parser.add_argument("--redis-url", required=True, help="Redis database for Rasa's lock store (unused)")
    parser.add_argument(
        "--inflight", type=int, default=10, help="conversations with a turn in flight at the kill"
    )
    parser.add_argument("--control", type=int, default=5, help="conversations idle at the kill")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between an answer and the next")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for real answers")
    parser.add_argument(
        "--lock-lifetime", type=int, help="TICKET_LOCK_LIFETIME for Rasa (default: the stack's)"
    )
    parser.add_argument("--work", type=Path, help="keep the logs here")
    parser.add_argument("--model", type=Path, help="a trained model (default: current, trained if needed)")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(fresh_database(work, "lock", args.database_url))
        print(machine_context(url, args.redis_url), flush=True)
        return 0 if measure(args, work, url) else 1


if __name__ == "__main__":
    sys.exit(main())
