"""Telegram, Slack and the agent console during bench/reliability_crash.py's PostgreSQL restart.

With ``--scenarios postgres`` the gateway also runs the Telegram channel in webhook mode and the
Slack customer channel, both against local fakes of their platforms in the benchmark's process
(testkit/fakes). From the start of the load, one Telegram customer after another POSTs an update
to ``/telegram/webhook`` with the secret token, one Slack customer after another a signed DM event
to ``/slack/events`` (a new customer each time: every answer is theirs), each every
``interval`` s; every DUPLICATE_EVERY-th update is sent twice (Telegram's duplicate, Slack's retry
with ``X-Slack-Retry-Num``). An agent logged in to the console asks for its queue as often.

Per channel, for what was sent from the restart until the end of the scenario:

  sent / dup    requests sent / of which a second copy (duplicate, retry)
  2xx / 5xx     answered 2xx / 5xx (must be 0); other: another status; no answer: none at all
  lost          an acknowledged update whose message is not in the database at the end (0)
  twice         an update whose message is stored more than once (0: an update the database cut
                in the middle of its handling is finished from the spool, and the replay finds
                the message it had stored by its key at its source, bot/router/)
  back s        seconds from the restart's start until the last update sent while
                ``pg_ctlcluster restart`` ran got its answer (not the apology) on its platform
  console       the queue's answers: 200, or "degraded" (503 ``database_unavailable`` while the
                database is away: the honest answer, nothing is lost), other 5xx (must be 0)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bench.channel_fakes import both_running, fakes_env
from bot.channels.chat_spool import SPOOL_FILE
from bot.core.db import conversations, create_db_engine, messages
from bot.core.texts import text as gateway_text
from handoff.agents import AgentDirectory
from testkit.fakes.slack_api import Bot, FakeSlack, event_callback, message_event, signed_headers
from testkit.fakes.telegram_api import FakeTelegram, unescape_markdown

TELEGRAM_TOKEN, TELEGRAM_SECRET = "123456:BENCH-crash", "bench-webhook-secret"
SLACK_TOKEN, SLACK_SECRET, TEAM = "xoxb-bench-crash", "bench-crash-signing-secret", "T0CRASH"
AGENT, AGENT_PASSWORD = "bench-agent", "bench agent password"
LOCALES = {"nl": "nl-BE", "fr": "fr-BE", "en": "en-GB"}
DUPLICATE_EVERY = 4
HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class TimedSlack(FakeSlack):
    """FakeSlack that notes when each chat.postMessage arrives (its channel and text)."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, str, str]] = []
        super().__init__({SLACK_TOKEN: Bot(user_id="UCRASHBOT", bot_id="BCRASHBOT", team_id=TEAM)})

    def _chat_postMessage(self, bot: Bot, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.posts.append((time.monotonic(), str(args.get("channel")), str(args.get("text"))))
        return super()._chat_postMessage(bot, args)


def platforms() -> contextlib.AbstractContextManager[tuple[FakeTelegram, TimedSlack]]:
    return both_running(FakeTelegram(TELEGRAM_TOKEN, first_update_id=90_000_000), TimedSlack())


def channel_env(telegram: FakeTelegram, slack: FakeSlack) -> dict[str, str]:
    """The gateway's Telegram (webhook mode) and Slack customer channels, on the fakes."""
    webhook = {"TELEGRAM_WEBHOOK_URL": "https://bench.invalid", "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET}
    return {**fakes_env(telegram, slack, SLACK_TOKEN, SLACK_SECRET), **webhook}


def add_agent(engine: Engine) -> None:
    AgentDirectory(engine).create(AGENT, AGENT_PASSWORD, display_name="Bench", languages=list(LOCALES))


@dataclass
class Sent:
    channel: str
    sender: str  # the conversation's sender
    where: str  # the platform's chat (Telegram chat id, Slack DM channel)
    sent_at: float
    duplicate: bool
    status: int | None = None  # None: no HTTP answer
    seconds: float = 0.0


@dataclass
class ChannelLoad:
    """Telegram and Slack customers, and an agent's console, until stopped."""

    url: str
    telegram: FakeTelegram
    slack: TimedSlack
    interval_s: float
    questions: dict[str, list[str]]
    sent: list[Sent] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._loop, args=(send,), daemon=True)
            for send in (self._telegram, self._slack, self._console)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self, send: Callable[[httpx.Client, int], None]) -> None:
        with httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT) as http:
            for number in itertools.count():
                if self.stopping.is_set():
                    return
                send(http, number)
                self.stopping.wait(self.interval_s)

    def _question(self, number: int) -> tuple[str, str]:
        language = list(self.questions)[number % len(self.questions)]
        pool = self.questions[language]
        return language, pool[(number // len(self.questions)) % len(pool)]

    def _telegram(self, http: httpx.Client, number: int) -> None:
        language, text = self._question(number)
        chat = 800_000 + number
        update = self.telegram.text_update(chat, text, language_code=language)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": "application/json"}
        for duplicate in (False, True)[: 1 + (number % DUPLICATE_EVERY == 0)]:
            self._post(
                http,
                Sent("telegram", str(chat), str(chat), time.monotonic(), duplicate),
                "/telegram/webhook",
                json.dumps(update),
                headers,
            )

    def _slack(self, http: httpx.Client, number: int) -> None:
        language, text = self._question(number)
        user = f"UC{number:07d}"
        self.slack.locales[user] = LOCALES[language]
        dm = "D" + user[1:]
        body = json.dumps(event_callback(TEAM, message_event(user, text, dm, f"1800000000.{number:06d}")))
        for duplicate in (False, True)[: 1 + (number % DUPLICATE_EVERY == 0)]:
            retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"} if duplicate else {}
            headers = {"Content-Type": "application/json", **signed_headers(SLACK_SECRET, body), **retry}
            self._post(
                http,
                Sent("slack", f"{TEAM}:{user}", dm, time.monotonic(), duplicate),
                "/slack/events",
                body,
                headers,
            )

    def _console(self, http: httpx.Client, number: int) -> None:
        if number == 0 or "cc_agent" not in http.cookies:
            http.post("/agent/api/login", json={"username": AGENT, "password": AGENT_PASSWORD})
        self._post(http, Sent("console", AGENT, "", time.monotonic(), False), "/agent/api/queue", None, {})

    def _post(
        self, http: httpx.Client, sent: Sent, path: str, body: str | None, headers: dict[str, str]
    ) -> None:
        try:
            if body is None:
                response = http.get(path, headers=headers)
            else:
                response = http.post(path, content=body, headers=headers)
            sent.status = response.status_code
        except httpx.TransportError:
            pass
        sent.seconds = time.monotonic() - sent.sent_at
        with self._lock:
            self.sent.append(sent)

    def between(self, channel: str, start: float, end: float) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.channel == channel and start <= s.sent_at + s.seconds < end]

    # -- what reached the platforms ------------------------------------------------------------

    def answered_at(self, sent: Sent) -> float | None:
        """When the first answer that is not the apology reached the customer's chat."""
        apologies = {gateway_text("rasa_unavailable", language) for language in LOCALES}
        if sent.channel == "telegram":
            calls = [
                c for c in self.telegram.sent(int(sent.where)) if unescape_markdown(c.text) not in apologies
            ]
            return calls[0].at if calls else None
        posts = [
            at
            for at, channel, text in list(self.slack.posts)
            if channel == sent.where and text not in apologies
        ]
        return posts[0] if posts else None


def wait_drained(var_dir: Any, timeout_s: float = 120.0) -> None:
    """Until the gateway's spool is empty (every spooled message and update handled)."""
    path = var_dir / SPOOL_FILE
    deadline = time.monotonic() + timeout_s
    while path.exists() and time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
            if conn.execute("SELECT count(*) FROM spool").fetchone()[0] == 0:
                return
        time.sleep(0.5)


def stored_counts(database_url: str) -> Counter[tuple[str, str]]:
    """Customer messages stored per (channel, sender)."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(conversations.c.channel, conversations.c.sender, func.count())
                .join(messages, messages.c.conversation_id == conversations.c.id)
                .where(messages.c.direction == "in", conversations.c.channel.in_(["telegram", "slack"]))
                .group_by(conversations.c.channel, conversations.c.sender)
            ).all()
    finally:
        engine.dispose()
    return Counter({(channel, sender): count for channel, sender, count in rows})


def report(load: ChannelLoad, rows: list[tuple[str, float, float, float | None]], database_url: str) -> bool:
    """One line per channel and window (baseline, postgres): ``rows`` are (name, start, end,
    the restart's end or None); True when nothing was lost or answered 5xx."""
    stored = stored_counts(database_url)
    print(
        f"\n{'window':10}{'channel':10}{'sent':>6}{'dup':>5}{'2xx':>6}{'5xx':>5}{'other':>7}"
        f"{'no answer':>11}{'lost':>6}{'twice':>7}{'back s':>8}"
    )
    clean = True
    for name, start, end, restart_end in rows:
        for channel in ("telegram", "slack"):
            window = load.between(channel, start, end)
            codes = Counter(s.status for s in window)
            ok = sum(n for code, n in codes.items() if code is not None and 200 <= code < 300)
            errors = sum(n for code, n in codes.items() if code is not None and code >= 500)
            acked = {s.sender for s in window if s.status is not None and 200 <= s.status < 300}
            lost = sum(1 for sender in acked if stored[(channel, sender)] == 0)
            twice = sum(1 for sender in acked if stored[(channel, sender)] > 1)
            back = _back_s(load, window, start, restart_end)
            print(
                f"{name:10}{channel:10}{len(window):>6}{sum(s.duplicate for s in window):>5}{ok:>6}"
                f"{errors:>5}{len(window) - ok - errors - codes[None]:>7}{codes[None]:>11}{lost:>6}{twice:>7}"
                f"{back:>8}"
            )
            clean = clean and errors == 0 and lost == 0
        console = Counter(s.status for s in load.between("console", start, end))
        others = sum(n for code, n in console.items() if code not in (200, 503, None))
        print(
            f"{name:10}{'console':10}{sum(console.values()):>6}  200: {console[200]}, degraded (503): "
            f"{console[503]}, other: {others}, no answer: {console[None]}"
        )
        clean = clean and not any(code is not None and code >= 500 and code != 503 for code in console)
    return clean


def _back_s(load: ChannelLoad, window: list[Sent], start: float, restart_end: float | None) -> str:
    if restart_end is None:
        return "-"
    during = [s for s in window if s.sent_at < restart_end and not s.duplicate]
    answered = [load.answered_at(s) for s in during]
    if not during or any(at is None for at in answered):
        return "-"
    return f"{max(at for at in answered if at is not None) - start:.1f}"
