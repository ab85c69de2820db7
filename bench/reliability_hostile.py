"""Hostile inputs against the gateway: none may give a 5xx, hang, or store half of anything.

The real gateway (bot.web.gateway.create_app) on uvicorn in this process, on a free local port,
with the web chat, Telegram in webhook mode and both Slack apps, talking to local fakes of Rasa,
the action server, Telegram's Bot API and Slack's Web API (testkit/fakes); on a temporary SQLite
file, or a fresh schema of ``--database-url`` PostgreSQL. Each input is sent once, in turn:

  chat      POST /api/chat: nesting thousands deep, 5,000-digit numbers, NaN, bytes that are not
            UTF-8, NUL characters, a locale wider than its column, oversized bodies and texts,
            wrong types, forged, huge, garbled and other conversations' tokens, a lone surrogate
            (accepted: stored as U+FFFD) and, last, a flood of one client over its rate limit
  history   GET /api/chat/history and
  stream    GET /api/chat/stream: no token, a sender alone, forged, huge and garbled tokens,
            another conversation's token, NUL senders, ``after`` values that are no message id
  console   the agents' API: log-in bodies, ids beyond 64 bits, a missing CSRF token, the
            export by GET, a stream resumed after a 25-digit id
  telegram  the webhook: a wrong secret, deep JSON, huge ids, bodies that are not an update
  slack     both apps' endpoints: timestamps that are no number, bad signatures, signed bodies
            that are not JSON

Per surface it prints how many inputs were sent and how they were answered:

  4xx          refused with a 4xx in the documented error shape (what hostile input must get)
  2xx          accepted on purpose (the lone surrogates) and stored whole
  5xx          a server error (must be 0)
  hangs        no answer within ``--timeout`` s, or a stream that opened when it must not (must be 0)
  half-stored  a refused input that changed the database (conversations, messages, handoffs,
               conversation tokens, processed updates) or reached Rasa; an accepted one stored
               without its reply (must be 0)
  unexpected   any other answer (a 2xx where a refusal was due, an error in another shape)

Bounded: about 80 requests and a flood of ``--flood`` messages; local only.

    .venv/bin/python -m bench.reliability_hostile [--database-url postgresql://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hostile_inputs import CASES, Case, Context, Outcome  # noqa: E402
from bot.core.db import create_db_engine, init_schema  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.fakes.rasa import fake_action_server, fake_rasa  # noqa: E402
from testkit.fakes.slack_api import Bot, FakeSlack  # noqa: E402
from testkit.fakes.telegram_api import FakeTelegram  # noqa: E402

SURFACES = ("chat", "history", "stream", "console", "telegram", "slack")
COLUMNS = ("inputs", "4xx", "2xx", "5xx", "hangs", "half-stored", "unexpected")


@dataclass
class Result:
    case: Case
    outcome: Outcome

    @property
    def verdict(self) -> str:
        status = self.outcome.status
        if status is None:
            return "hangs"
        if status >= 500:
            return "5xx"
        if self.case.accept and 200 <= status < 300:
            return "2xx"
        if not self.case.accept and 400 <= status < 500 and self.outcome.error_shape:
            return "4xx"
        return "unexpected"


def gateway_settings(work: Path, database_url: str, fakes: dict[str, Any], ctx: Context) -> Settings:
    settings = Settings.from_env({"VAR_DIR": str(work / "var"), "DATABASE_URL": database_url})
    return settings.with_overrides(
        rasa_url=fakes["rasa"].url,
        action_server_url=fakes["actions"].url,
        rasa_timeout_s=2.0,
        feed_interval_s=0.05,
        insights_interval_s=3600.0,
        slack_api_url=fakes["slack"].base_url,
        slack_bot_token=ctx.slack_token,
        slack_signing_secret=ctx.slack_secret,
        slack_agent_bot_token=ctx.agent_token,
        slack_agent_signing_secret=ctx.agent_secret,
        slack_agent_channel="C0WEBCARE",
        telegram_token=ctx.telegram_token,
        telegram_api_url=fakes["telegram"].base_url,
        telegram_webhook_url="https://bot.example.com",
        telegram_secret_token=ctx.telegram_secret,
        chat_rate_per_minute=60.0,
        chat_rate_burst=ctx.burst,
    )


@contextmanager
def platform_fakes(ctx: Context) -> Iterator[dict[str, Any]]:
    with ExitStack() as stack:
        rasa, actions = fake_rasa(), fake_action_server()
        stack.callback(rasa.stop)
        stack.callback(actions.stop)
        bots = {ctx.slack_token: Bot("UMILA", "BMILA", "T0CUST"), ctx.agent_token: Bot("UWC", "BWC", "T0WC")}
        slack = FakeSlack(bots, locales={"UANN": "nl-BE"})
        stack.callback(slack.stop)
        telegram = FakeTelegram(ctx.telegram_token, first_update_id=90_000_000)
        stack.callback(telegram.stop)
        yield {"rasa": rasa, "actions": actions, "slack": slack, "telegram": telegram}


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The gateway on uvicorn in a thread (as tests/helpers/gateway.py); yields its base URL."""
    import threading

    import uvicorn

    from bot.web.gateway import create_app

    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        ws="none",
        log_level="error",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def run_cases(ctx: Context, cases: list[Case], progress: Callable[[str], None]) -> list[Result]:
    results = []
    for case in cases:
        outcome = case.run(ctx)
        results.append(Result(case, outcome))
        result = results[-1]
        if result.verdict not in ("4xx", "2xx") or outcome.half_stored:
            progress(f"  {case.surface:8} {case.name}: {result.verdict} {outcome.status} {outcome.note}")
    return results


def table(results: list[Result]) -> tuple[str, Counter[str]]:
    lines = [f"{'surface':10}" + "".join(f"{c:>13}" for c in COLUMNS)]
    totals: Counter[str] = Counter()
    for surface in SURFACES:
        mine = [r for r in results if r.case.surface == surface]
        counts = Counter(r.verdict for r in mine)
        counts["inputs"] = len(mine)
        counts["half-stored"] = sum(r.outcome.half_stored for r in mine)
        totals.update(counts)
        lines.append(f"{surface:10}" + "".join(f"{counts[c]:>13}" for c in COLUMNS))
    lines.append(f"{'total':10}" + "".join(f"{totals[c]:>13}" for c in COLUMNS))
    return "\n".join(lines), totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server (a fresh schema is used); SQLite if absent"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds before an answer counts as a hang"
    )
    parser.add_argument("--flood", type=int, default=300, help="messages of the one flooding client")
    args = parser.parse_args(argv)
    ctx = Context(timeout_s=args.timeout, flood=args.flood)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        url = stack.enter_context(fresh_database(work, "hostile", base_url=args.database_url))
        engine = create_db_engine(url)
        stack.callback(engine.dispose)
        init_schema(engine)
        fakes = stack.enter_context(platform_fakes(ctx))
        base = stack.enter_context(serving(gateway_settings(work, url, fakes, ctx)))
        http = stack.enter_context(
            httpx.Client(base_url=base, timeout=httpx.Timeout(args.timeout, connect=2.0))
        )
        ctx.prepare(http, engine, fakes["rasa"])
        engine_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"hostile inputs against the gateway on {engine_name}: {len(CASES)} inputs", flush=True)
        started = time.monotonic()
        results = run_cases(ctx, CASES, lambda line: print(line, flush=True))
        took = time.monotonic() - started
    report, totals = table(results)
    print(report)
    print(f"({took:.1f} s; the flood: {ctx.flood_note})")
    bad = sum(totals[c] for c in ("5xx", "hangs", "half-stored", "unexpected"))
    print("OK: every hostile input refused with a 4xx, nothing half-stored" if not bad else f"FAILED: {bad}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
