"""Personal answers while the account system is slow or down: the action server under load.

The real action server (``python -m rasa_sdk --actions actions``, a subprocess on a free port)
runs with ``ACCOUNT_PROVIDER=testkit.fakes.accounts:SlowAccountProvider``: the demo customers
behind a delay of FAKE_ACCOUNT_DELAY (the connector has no HTTP client: the operator's provider
is a Python class, so the delay sits in the provider interface, where a slow API client blocks).
--requests verified customers (nl/fr/en in turn) ask at once for their bill, usage, balance,
contract, payment or order (``action_billing_*`` and ``action_answer_article`` with an account
article, as Rasa calls them on ``POST /webhook``), while a plain turn (a help-centre article that
needs no account) is sent every 50 ms.

Scenarios (each on its own action server; ACCOUNT_TIMEOUT = --timeout):
  hang     the account system never answers
  slow     it answers after 3 x the timeout
  healthy  it answers after a quarter of the timeout (a busy but working system)

Checked per personal request: HTTP 200 within the timeout + --margin; for hang and slow the
honest ``utter_account_unavailable`` then the general answer, in the customer's language (the
domain has that response for the language slot the tracker carries) and not a single account
figure; for healthy the customer's own figures. The questions come twice in a row (a second
wave finds the calls of the first still hanging). Printed: the requests' latency (p50/p95/max)
per wave, the plain turn's latency before and during the outage, and every failed check.

    .venv/bin/python -m bench.account_load [--requests 24] [--timeout 1.0] [--margin 0.5]
        [--scenarios hang,slow,healthy] [--database-url postgresql://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import insert
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency import percentile  # noqa: E402
from bot.core.db import conversations, create_db_engine, init_schema, utcnow  # noqa: E402
from bot.core.identity import Identity  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.e2e_stack import free_port  # noqa: E402

LANGUAGES = ("nl", "fr", "en")
CUSTOMERS = {"nl": "MC1000001", "fr": "MC1000002", "en": "MC1000003"}  # demo subscribers
# (action, account article or None, the general answer the customer also gets)
QUESTIONS = [
    ("action_billing_due_date", None, "utter_billing_due_date"),
    ("action_billing_higher_than_usual", None, "utter_billing_higher_than_usual"),
    ("action_billing_explain_bill", None, "utter_billing_explain_bill"),
    ("action_answer_article", "check_usage", "utter_article"),
    ("action_answer_article", "contract_duration_end", "utter_article"),
    ("action_answer_article", "payment_processing_time", "utter_article"),
    ("action_answer_article", "sim_delivery_time", "utter_article"),
]
PLAIN_ARTICLE = "hotspot_tethering"
UNAVAILABLE = "utter_account_unavailable"
PROBE_EVERY_S = 0.05


@dataclass(frozen=True)
class Case:
    conversation: str
    language: str
    action: str
    article: str | None
    general: str


@dataclass
class Result:
    case: Case
    seconds: float
    status: int
    responses: list[str]
    problem: str | None = None


def prepare(engine: Engine, n: int) -> tuple[list[Case], str]:
    """``n`` verified conversations asking a personal question, and one unverified for plain turns."""
    cases = []
    for i in range(n):
        language = LANGUAGES[i % len(LANGUAGES)]
        action, article, general = QUESTIONS[i % len(QUESTIONS)]
        cid = new_conversation(engine, language)
        Identity(engine).mark_verified("web", f"bench-{cid[:8]}", CUSTOMERS[language], cid, "sms_code", 60)
        cases.append(Case(cid, language, action, article, general))
    return cases, new_conversation(engine, "en")


def new_conversation(engine: Engine, language: str) -> str:
    cid, now = str(uuid.uuid4()), utcnow()
    row = {"id": cid, "channel": "web", "sender": f"bench-{cid[:8]}", "owner": "bot", "language": language}
    with engine.begin() as conn:
        conn.execute(insert(conversations).values(**row, created_at=now, updated_at=now))
    return cid


def action_call(cid: str, language: str, action: str, article: str | None) -> dict[str, Any]:
    """What Rasa posts to the action server's /webhook for ``action``."""
    latest: dict[str, Any] = {"text": "", "intent": {"name": "knowledge", "confidence": 0.9}, "entities": []}
    if article:
        latest["article"] = {"id": article, "confidence": 0.9}
    else:
        latest["intent"]["name"] = action.removeprefix("action_")
    tracker = {
        "sender_id": cid,
        "slots": {"language": language},
        "latest_message": latest,
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": action, "sender_id": cid, "tracker": tracker, "domain": {}, "version": "3.6.2"}


@contextlib.contextmanager
def action_server(database_url: str, work: Path, delay: str, timeout_s: float) -> Iterator[str]:
    """The real action server with the slow provider; its base URL. Stopped (and killed if it
    does not stop: its abandoned account threads may still be waiting) afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(work / "var"),
        "ACCOUNT_PROVIDER": "testkit.fakes.accounts:SlowAccountProvider",
        "FAKE_ACCOUNT_DELAY": delay,
        "ACCOUNT_TIMEOUT": str(timeout_s),
        "SMS_PROVIDER": "demo",
    }
    command = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    log = (work / f"actions-{delay}.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_healthy(base: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the action server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError("the action server did not start")


async def personal(client: httpx.AsyncClient, base: str, case: Case) -> Result:
    body = action_call(case.conversation, case.language, case.action, case.article)
    started = time.perf_counter()
    try:
        response = await client.post(f"{base}/webhook", json=body)
        seconds = time.perf_counter() - started
        payload = response.json() if response.status_code == 200 else {}
    except httpx.HTTPError as exc:
        return Result(case, time.perf_counter() - started, 0, [], f"{type(exc).__name__}")
    names = [str(m.get("response")) for m in payload.get("responses", [])]
    return Result(case, seconds, response.status_code, names)


async def plain_turns(client: httpx.AsyncClient, base: str, cid: str, stop: asyncio.Event) -> list[float]:
    """Latency of a plain help-centre turn, one every PROBE_EVERY_S until ``stop``."""
    found = []
    body = action_call(cid, "en", "action_answer_article", PLAIN_ARTICLE)
    while not stop.is_set():
        started = time.perf_counter()
        response = await client.post(f"{base}/webhook", json=body)
        found.append(time.perf_counter() - started)
        if response.status_code != 200 or not response.json().get("responses"):
            raise RuntimeError(f"plain turn failed: {response.status_code} {response.text[:200]}")
        await asyncio.sleep(PROBE_EVERY_S)
    return found


@dataclass
class Measured:
    waves: list[list[Result]]  # the personal questions, all at once, then again right after
    before: list[float]  # plain-turn latencies (s) before the personal questions
    during: list[float]  # and while they wait


async def load(base: str, cases: list[Case], plain: str, waves: int = 2) -> Measured:
    limits = httpx.Limits(max_connections=len(cases) + 4)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await client.post(
            f"{base}/webhook", json=action_call(plain, "en", "action_answer_article", PLAIN_ARTICLE)
        )
        quiet = asyncio.Event()  # (the first turn above read the help centre: not measured)
        quiet_task = asyncio.create_task(plain_turns(client, base, plain, quiet))
        await asyncio.sleep(1.0)
        quiet.set()
        before = await quiet_task
        stop = asyncio.Event()
        probe = asyncio.create_task(plain_turns(client, base, plain, stop))
        await asyncio.sleep(0.1)  # the probe is running when the personal questions come in
        found = []
        for _ in range(waves):
            found.append(list(await asyncio.gather(*(personal(client, base, c) for c in cases))))
        stop.set()
        during = await probe
    return Measured(found, before, during)


def check(result: Result, scenario: str, limit_s: float, texts: dict[str, dict[str, str]]) -> str | None:
    """What is wrong with one personal answer, or None."""
    case = result.case
    if result.status != 200:
        return f"HTTP {result.status}"
    if result.seconds > limit_s:
        return f"took {result.seconds:.2f} s (limit {limit_s:.2f} s)"
    if scenario == "healthy":
        if UNAVAILABLE in result.responses or not any(
            r.startswith("utter_account_") for r in result.responses
        ):
            return f"no figures while the account system works: {result.responses}"
        return None
    if result.responses != [UNAVAILABLE, case.general]:
        return f"answered {result.responses}, expected [{UNAVAILABLE}, {case.general}]"
    if not texts.get(UNAVAILABLE, {}).get(case.language):
        return f"no {UNAVAILABLE} text in {case.language}"
    return None


def domain_texts() -> dict[str, dict[str, str]]:
    """Response -> language -> first text, as Rasa picks it from the language slot."""
    responses = (yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}).get("responses", {})
    found: dict[str, dict[str, str]] = {}
    for name, variants in responses.items():
        for variant in variants or []:
            for condition in variant.get("condition") or []:
                if condition.get("name") == "language":
                    found.setdefault(name, {}).setdefault(condition["value"], variant.get("text", ""))
    return found


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"p50 {1000 * percentile(values, 50):.0f} / p95 {1000 * percentile(values, 95):.0f} / "
        f"max {1000 * max(values):.0f} ms (n={len(values)})"
    )


def report(scenario: str, measured: Measured, limit: float) -> int:
    texts = domain_texts()
    failed = 0
    n = len(measured.waves[0])
    print(f"\n[{scenario}] {n} personal questions at once, {len(measured.waves)} times in a row")
    for number, results in enumerate(measured.waves, start=1):
        bad = [(r, p) for r in results if (p := check(r, scenario, limit, texts))]
        honest = sum(r.responses[:1] == [UNAVAILABLE] for r in results)
        print(f"  wave {number}: {ms([r.seconds for r in results])}")
        print(f"          'account system unavailable' {honest} of {n}; checks failed: {len(bad)}")
        for result, problem in bad[:10]:
            print(f"    [{result.case.language}] {result.case.action} {result.case.article or ''}: {problem}")
        failed += len(bad)
    print(f"  plain turn before: {ms(measured.before)}")
    print(f"  plain turn during: {ms(measured.during)}")
    return failed


def run_scenario(
    name: str, url: str, work: Path, args: argparse.Namespace, cases: list[Case], plain: str
) -> int:
    delay = {"hang": "hang", "slow": str(3 * args.timeout), "healthy": str(args.timeout / 4)}[name]
    with action_server(url, work, delay, args.timeout) as base:
        measured = asyncio.run(load(base, cases, plain))
    return report(name, measured, args.timeout + args.margin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=1.0, help="ACCOUNT_TIMEOUT (s)")
    parser.add_argument("--margin", type=float, default=0.5, help="allowed beyond the timeout (s)")
    parser.add_argument("--scenarios", default="hang,slow,healthy")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (default: a SQLite file)")
    args = parser.parse_args(argv)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with fresh_database(work, "acctload", base_url=args.database_url) as url:
            engine = create_db_engine(url)
            init_schema(engine)
            cases, plain = prepare(engine, args.requests)
            engine.dispose()
            print(
                f"ACCOUNT_TIMEOUT {args.timeout:g} s, margin {args.margin:g} s, database {url.split(':')[0]}"
            )
            for name in args.scenarios.split(","):
                failures += run_scenario(name.strip(), url, work, args, cases, plain)
    print(f"\n{'all checks passed' if not failures else f'{failures} checks failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
