"""End-to-end reply latency per channel: web chat, Telegram and Slack, on the real stack.

The real Rasa server, action server and gateway run on free ports with the current model
(``testkit.e2e_stack.running_stack``; trains first if the data changed). The gateway's Telegram
channel long-polls a local fake Bot API and its Slack channel posts to a local fake Web API
(``tests/fakes``), both in this process. Each sample is one ordinary held-out question (billing,
coverage or SIM, ``bench/heldout``) in the customer's language (nl/fr/en), a new customer every
--per-customer messages; the channels take turns so they see the same machine state.

Measured (p50/p95/max, ``time.monotonic`` in this one process), from the moment the platform's
message is handed to the gateway until the bot's first reply reaches the platform:
  web:      just before ``POST /api/chat`` -> the response has been read;
  telegram: the update is pushed into the fake's getUpdates queue (the fake answers the
            gateway's pending long poll at once) -> the fake receives sendMessage for that chat;
  slack:    just before the signed event is POSTed to ``/slack/events`` (signing excluded) ->
            the fake receives chat.postMessage in that message's thread.
A question that gets no reply within --timeout is counted as missing; a customer whose chat
was handed to a person is replaced by a new one (the router no longer asks Rasa for them).

    .venv/bin/python -m bench.channel_latency [--samples 60] [--per-customer 3]
        [--database-url postgresql://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.channel_fakes import both_running, fakes_env  # noqa: E402
from bench.latency import percentile  # noqa: E402
from bot.channels.slack_text import escape  # noqa: E402
from bot.core.db import OWNER_AGENT, OWNER_QUEUED, create_db_engine  # noqa: E402
from bot.core.store import ConversationStore  # noqa: E402
from bot.core.taxonomy import is_answer_topic  # noqa: E402
from bot.core.taxonomy import is_escalation as escalates  # noqa: E402
from bot.rasa.evaluation import load_heldout  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.fakes.slack_api import (  # noqa: E402
    Bot,
    FakeSlack,
    event_callback,
    message_event,
    signed_headers,
)
from testkit.fakes.telegram_api import Call, FakeTelegram  # noqa: E402

LOCALES = {"nl": "nl-BE", "fr": "fr-BE", "en": "en-GB"}
TELEGRAM_TOKEN = "123456:BENCH-token"
SLACK_TOKEN, SLACK_SECRET, TEAM = "xoxb-bench", "bench-signing-secret", "T0BENCH"
SLACK_BOT = Bot(user_id="UBENCHBOT", bot_id="BBENCHBOT", team_id=TEAM)
QUIET_S = 0.3  # a Telegram chat gets its next message once the previous answer has stopped coming
HTTP_TIMEOUT = httpx.Timeout(60.0, connect=5.0)

Sample = tuple[float, float | None]  # ms until the reply reached the platform; ms of an inner step


# -- the platform fakes, with arrival times ----------------------------------------------------------


class TimedTelegram(FakeTelegram):
    """FakeTelegram that also notes when getUpdates hands each update to the gateway."""

    def __init__(self, token: str) -> None:
        self.handed: dict[int, float] = {}
        super().__init__(token)

    def _get_updates(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        updates = super()._get_updates(args)
        now = time.monotonic()
        for update in updates:
            self.handed.setdefault(update["update_id"], now)
        return updates


class TimedSlack(FakeSlack):
    """FakeSlack that notes when the first chat.postMessage into each thread arrives."""

    def __init__(self) -> None:
        self.first_post: dict[str, float] = {}
        self.posted = threading.Condition()
        super().__init__({SLACK_TOKEN: SLACK_BOT})

    def _chat_postMessage(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.posted:
            self.first_post.setdefault(f"{args.get('channel')}:{args.get('thread_ts')}", time.monotonic())
            self.posted.notify_all()
        return super()._chat_postMessage(bot, args)

    def wait_post(self, thread: str, timeout_s: float) -> float:
        with self.posted:
            if not self.posted.wait_for(lambda: thread in self.first_post, timeout_s):
                raise TimeoutError(f"no chat.postMessage in thread {thread} within {timeout_s} s")
            return self.first_post[thread]


def platform_fakes() -> contextlib.AbstractContextManager[tuple[TimedTelegram, TimedSlack]]:
    return both_running(TimedTelegram(TELEGRAM_TOKEN), TimedSlack())


def channel_env(telegram: FakeTelegram, slack: FakeSlack) -> dict[str, str]:
    """The gateway's channels pointed at the fakes: Telegram by long polling, Slack customers only."""
    return {**fakes_env(telegram, slack, SLACK_TOKEN, SLACK_SECRET), "TELEGRAM_WEBHOOK_URL": ""}


# -- one channel each ----------------------------------------------------------------------------------


class Probe(Protocol):
    name: str  # also the router's channel name

    def sender(self, customer: int) -> str: ...

    def send(self, customer: int, language: str, text: str, timeout_s: float) -> Sample: ...


@dataclass
class WebProbe:
    http: httpx.Client
    run: str
    name: str = "web"
    tokens: dict[int, str] = field(default_factory=dict)

    def sender(self, customer: int) -> str:
        return f"bench-{self.run}-{customer}"

    def send(self, customer: int, language: str, text: str, timeout_s: float) -> Sample:
        body = {"sender": self.sender(customer), "text": text}
        token = self.tokens.get(customer)  # issued with the customer's first answer
        headers = {"X-Chat-Token": token} if token else {}
        started = time.monotonic()
        try:
            response = self.http.post("/api/chat", json=body, headers=headers, timeout=timeout_s)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"POST /api/chat took over {timeout_s} s") from exc
        response.raise_for_status()
        elapsed = 1000 * (time.monotonic() - started)
        if response.json().get("token"):
            self.tokens[customer] = response.json()["token"]
        return elapsed, None


@dataclass
class TelegramProbe:
    fake: TimedTelegram
    first_chat: int = 700_000
    name: str = "telegram"

    def sender(self, customer: int) -> str:
        return str(self.first_chat + customer)

    def send(self, customer: int, language: str, text: str, timeout_s: float) -> Sample:
        chat = self.first_chat + customer
        before = len(settled(self.fake, chat))
        update = self.fake.text_update(chat, text, language_code=language)
        started = time.monotonic()
        self.fake.push(update)
        try:
            reply = self.fake.wait_for("sendMessage", chat, count=before + 1, timeout=timeout_s)[before]
        except AssertionError as exc:
            raise TimeoutError(f"no sendMessage to chat {chat} within {timeout_s} s") from exc
        handed = self.fake.handed.get(update["update_id"])
        return 1000 * (reply.at - started), None if handed is None else 1000 * (handed - started)


def settled(fake: FakeTelegram, chat: int, timeout_s: float = 5.0) -> list[Call]:
    """The chat's sendMessage calls once none has come for QUIET_S (an answer may be several)."""
    deadline = time.monotonic() + timeout_s
    while True:
        sent = fake.sent(chat)
        idle = time.monotonic() - sent[-1].at if sent else QUIET_S
        if idle >= QUIET_S or time.monotonic() >= deadline:
            return sent
        time.sleep(QUIET_S - idle)


@dataclass
class SlackProbe:
    fake: TimedSlack
    http: httpx.Client
    stamps: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    name: str = "slack"

    def sender(self, customer: int) -> str:
        return f"{TEAM}:U{customer:08d}"

    def send(self, customer: int, language: str, text: str, timeout_s: float) -> Sample:
        user, channel = f"U{customer:08d}", f"D{customer:08d}"  # a DM: the reply goes in its thread
        self.fake.locales[user] = LOCALES[language]
        ts = f"{int(time.time())}.{next(self.stamps):06d}"
        body = json.dumps(event_callback(TEAM, message_event(user, escape(text), channel, ts)))
        headers = {"Content-Type": "application/json", **signed_headers(SLACK_SECRET, body)}
        started = time.monotonic()
        self.http.post("/slack/events", content=body, headers=headers).raise_for_status()
        acked = time.monotonic()
        arrived = self.fake.wait_post(f"{channel}:{ts}", timeout_s)
        return 1000 * (arrived - started), 1000 * (acked - started)


# -- customers and their questions ----------------------------------------------------------------------


def question_pools(seed: int = 7) -> dict[str, list[str]]:
    """Ordinary held-out billing/coverage/SIM questions per language, in a fixed shuffled order."""
    pools: dict[str, list[str]] = {}
    for language, intent, text in load_heldout():
        if is_answer_topic(intent) and not escalates(intent):
            pools.setdefault(language, []).append(text)
    for texts in pools.values():
        random.Random(seed).shuffle(texts)
    return pools


@dataclass
class Lane:
    """One channel's run: its current customer, the questions asked so far and the results."""

    probe: Probe
    per_customer: int
    customer: int = 0
    asked: int = 0
    samples: list[Sample] = field(default_factory=list)
    missing: int = 0
    handed_over: int = 0

    def language(self, languages: list[str]) -> str:
        return languages[self.customer % len(languages)]

    def next_customer(self) -> None:
        self.customer, self.asked = self.customer + 1, 0


def ask(lane: Lane, pools: dict[str, list[str]], store: ConversationStore, timeout_s: float) -> Sample | None:
    """One question from the lane's current customer; a new customer after per_customer of them."""
    language = lane.language(sorted(pools))
    pool = pools[language]
    text = pool[(lane.customer * lane.per_customer + lane.asked) % len(pool)]
    lane.asked += 1
    try:
        sample = lane.probe.send(lane.customer, language, text, timeout_s)
    except TimeoutError as exc:
        print(f"  {lane.probe.name}: {exc}", flush=True)
        lane.missing += 1
        lane.next_customer()
        return None
    conv = store.latest_conversation(lane.probe.name, lane.probe.sender(lane.customer))
    if conv is not None and conv.owner in (OWNER_QUEUED, OWNER_AGENT):
        lane.handed_over += 1
        lane.next_customer()
    elif lane.asked >= lane.per_customer:
        lane.next_customer()
    return sample


def run_rounds(
    lanes: list[Lane], pools: dict[str, list[str]], store: ConversationStore, rounds: int, timeout_s: float
) -> None:
    """``rounds`` questions per lane, the lanes taking turns."""
    for _ in range(rounds):
        for lane in lanes:
            sample = ask(lane, pools, store, timeout_s)
            if sample is not None:
                lane.samples.append(sample)


# -- reporting ---------------------------------------------------------------------------------------------

INNER_STEP = {
    "telegram": "update handed over by getUpdates after",
    "slack": "POST /slack/events acknowledged after",
}


def row(lane: Lane) -> str:
    values = [s[0] for s in lane.samples]
    if not values:
        return f"  {lane.probe.name:<9} no replies (missing {lane.missing})"
    p50, p95 = statistics.median(values), percentile(values, 95)
    text = f"  {lane.probe.name:<9} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(values):6.1f} ms"
    text += f"  n={len(values)}"
    inner = [s[1] for s in lane.samples if s[1] is not None]
    if inner:
        text += (
            f"  ({INNER_STEP[lane.probe.name]} p50 {statistics.median(inner):.1f} / max {max(inner):.1f} ms)"
        )
    if lane.missing or lane.handed_over:
        text += f"  [no reply: {lane.missing}, handed to a person: {lane.handed_over}]"
    return text


def machine_context(database_url: str) -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (
        f"machine: {cores} cores ({usable} usable), {platform.machine()}, load average {load_average()}"
        f" before the stack started, Python {platform.python_version()},"
        f" database {make_url(database_url).get_backend_name()}"
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def explain(per_customer: int, pools: dict[str, list[str]]) -> str:
    sizes = ", ".join(f"{lang} {len(texts)}" for lang, texts in sorted(pools.items()))
    return (
        f"questions: ordinary held-out billing/coverage/SIM messages ({sizes}), a new customer every"
        f" {per_customer}, channels taking turns, one message in flight at a time\n"
        "included: the gateway's channel code, router, database, Rasa (NLU, policies, action server)"
        " and the\n  reply's HTTP call to the platform fake; telegram also the hand-over by the pending"
        " long poll, slack\n  bolt's signature check and users.info (a fake round trip) for a new customer\n"
        "not included: the internet, Telegram's and Slack's own servers, Slack's signing, the customer's app"
    )


# -- putting it together -------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, gateway_url: str, database_url: str, fakes: tuple[Any, Any]) -> None:
    telegram, slack = fakes
    pools, engine = question_pools(), create_db_engine(database_url)
    with httpx.Client(base_url=gateway_url, timeout=HTTP_TIMEOUT) as http:
        probes: list[Probe] = [
            WebProbe(http, uuid.uuid4().hex[:6]),
            TelegramProbe(telegram),
            SlackProbe(slack, http),
        ]
        lanes = [Lane(probe, args.per_customer) for probe in probes]
        store = ConversationStore(engine)
        run_rounds(lanes, pools, store, args.warm_up, 60.0)  # models, caches, auth.test, pools
        for lane in lanes:
            lane.samples.clear()
            lane.missing = lane.handed_over = 0
        print(f"gateway {gateway_url}  {args.samples} questions per channel", flush=True)
        print(explain(args.per_customer, pools), flush=True)
        run_rounds(lanes, pools, store, args.samples, args.timeout)
    engine.dispose()
    print("end-to-end reply latency per channel:")
    for lane in lanes:
        print(row(lane))
    print(f"load average after the run: {load_average()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=60, help="questions per channel")
    parser.add_argument("--per-customer", type=int, default=3, help="questions before a new customer")
    parser.add_argument("--warm-up", type=int, default=6, help="questions per channel before measuring")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a reply")
    parser.add_argument("--database-url", help="PostgreSQL server to use (a fresh schema); default SQLite")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.per_customer < 1 or args.warm_up < 0:
        parser.error("--samples and --per-customer must be at least 1, --warm-up at least 0")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from testkit.e2e_stack import running_stack

    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp), "bench", args.database_url) as url:
        print(machine_context(url), flush=True)
        with platform_fakes() as fakes, running_stack(Path(tmp), url, channel_env(*fakes)) as stack:
            measure(args, stack.settings.gateway_url, url, fakes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
