"""kill -9 of Rasa, of the action server and of the gateway, and a PostgreSQL restart, under a
light load of web chats.

The real stack under supervisord, as ``make run`` runs it (bot/run.py), on free local ports, on a
temporary SQLite file or a fresh schema of ``--database-url`` PostgreSQL (with ``--redis-url``:
Rasa's lock store in Redis). ``--conversations`` customers chat at once through POST /api/chat,
each sending its next question ``--interval`` s after the last answer (nl/fr/en billing, coverage
and SIM questions; a new customer every ``--per-customer`` questions). After ``--before`` s of
load, each scenario kills one program with SIGKILL, waits until supervisord has it running again
and /health says ``ok``, then keeps the load on for ``--after`` s more. ``--scenarios postgres`` (only with
``--database-url``; not in the default list, it disturbs everything else using that server)
restarts the local PostgreSQL cluster instead (``pg_ctlcluster ... restart``, fast mode: open
connections are cut) and waits until /health says ``ok`` again; with it, signed Telegram updates
and Slack events and an agent's console requests run alongside the web chats and get a table of
their own (bench/reliability_channels.py). Per scenario (the messages sent from the kill until
the end of that scenario):

  sent         messages sent
  200          answered with 200 (of which "apology": the gateway's apology, Rasa or actions away)
  5xx          answered with a 5xx (must be 0); other: any other status
  no answer    no HTTP answer (connection refused or cut: the gateway itself was down)
  lost         a 200 whose message is not in the database (must be 0)
  p50/p95 s    seconds until the 200s came
  running s    seconds from the kill until supervisord runs the program again (past startsecs);
               postgres: until ``pg_ctlcluster restart`` returned (the server accepts connections)
  health ok s  seconds from the kill until /health says ok again
  answering s  seconds from the kill until a message sent after it got a real answer (no apology)

All local (the gateway, Rasa and the action server on 127.0.0.1); bounded by ``--timeout`` per
scenario. The limit on messages per client address (CHAT_RATE_PER_MINUTE) is switched off: every
simulated customer comes from 127.0.0.1.

    .venv/bin/python -m bench.reliability_crash [--conversations 20] [--interval 0.5]
        [--database-url postgresql://root@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/2]
        [--model models/assistant-....tar.gz] [--scenarios rasa actions gateway postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reliability_channels import (  # noqa: E402
    ChannelLoad,
    add_agent,
    channel_env,
    platforms,
    wait_drained,
)
from bench.reliability_channels import report as channel_report  # noqa: E402
from bot.core.db import conversations, create_db_engine, init_schema, messages  # noqa: E402
from bot.core.texts import text as gateway_text  # noqa: E402
from bot.run import Stack  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.e2e_stack import kill_program, running_stack  # noqa: E402

QUESTIONS = {
    "nl": [
        "hoe kan ik mijn factuur betalen?",
        "is er 5G in Gent?",
        "tegen wanneer moet mijn rekening betaald zijn",
        "mijn simkaart wordt niet herkend door mijn gsm",
    ],
    "fr": [
        "comment puis-je payer ma facture ?",
        "est-ce qu'il y a de la 5G à Namur ?",
        "j'ai bloqué ma carte sim avec un mauvais code pin",
        "quand dois-je payer ma facture ?",
    ],
    "en": [
        "how can I pay my bill?",
        "is there 5G in Ghent?",
        "my SIM card is not detected by my phone",
        "when is my bill due?",
    ],
}
APOLOGIES = {gateway_text("rasa_unavailable", language) for language in QUESTIONS}
SCENARIOS = ("rasa", "actions", "gateway")
POSTGRES = "postgres"


@dataclass
class Outcome:
    sent_at: float
    sender: str
    text: str
    status: int | None  # None: no HTTP answer
    conversation_id: str | None = None
    apology: bool = False
    seconds: float = 0.0  # until the answer (or the error)


@dataclass
class Load:
    """``conversations`` customers chatting until stopped; every message's outcome is kept."""

    url: str
    conversations: int
    interval_s: float
    per_customer: int
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._customer, args=(i,), daemon=True) for i in range(self.conversations)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _customer(self, number: int) -> None:
        language = list(QUESTIONS)[number % len(QUESTIONS)]
        questions = itertools.cycle(QUESTIONS[language])
        time.sleep(number * self.interval_s / max(1, self.conversations))  # spread the starts
        while not self.stopping.is_set():
            sender = f"crash-{number}-{uuid.uuid4().hex[:8]}"
            with httpx.Client(base_url=self.url, timeout=httpx.Timeout(60.0, connect=5.0)) as http:
                for _ in range(self.per_customer):
                    if self.stopping.is_set():
                        return
                    self._send(http, sender, next(questions))
                    self.stopping.wait(self.interval_s)

    def _send(self, http: httpx.Client, sender: str, text: str) -> None:
        outcome = Outcome(time.monotonic(), sender, text, None)
        try:
            response = http.post("/api/chat", json={"sender": sender, "text": text})
        except httpx.TransportError:
            outcome.seconds = time.monotonic() - outcome.sent_at
        else:
            outcome.seconds = time.monotonic() - outcome.sent_at
            outcome.status = response.status_code
            if response.status_code == 200:
                body = response.json()
                outcome.conversation_id = body["conversation_id"]
                replies = [r.get("text") for r in body["replies"]]
                outcome.apology = any(reply in APOLOGIES for reply in replies)
        with self._lock:
            self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        """The messages answered (or failed) in [start, end): a message in flight when a program
        is killed counts in that scenario."""
        with self._lock:
            return [o for o in self.outcomes if start <= o.sent_at + o.seconds < end]


@dataclass
class Scenario:
    name: str
    killed_at: float
    running_s: float | None  # supervisord runs it again (new pid, past its startsecs)
    back_s: float | None  # and /health says ok
    ended_at: float = 0.0


def wait_back(
    stack: Stack, load: Load, name: str, old_pid: int, killed_at: float, timeout_s: float
) -> Scenario:
    """Until the program runs again and either /health says ok or customers get real answers
    again (an overloaded Rasa answers, but not /health's probe within 2 s: "slow")."""
    running_s = back_s = None
    while time.monotonic() - killed_at < timeout_s:
        stack.raise_if_dead()
        info = stack.programs().get(name, {})
        if info.get("statename") == "RUNNING" and info.get("pid") not in (0, old_pid):
            running_s = running_s or time.monotonic() - killed_at
            body = stack.health(timeout_s=10)
            if body is not None and body.get("status") == "ok":
                back_s = time.monotonic() - killed_at
                break
            if answering_after(load.between(killed_at, time.monotonic()), killed_at) is not None:
                break
        time.sleep(0.25)
    return Scenario(name, killed_at, running_s, back_s)


def lost_messages(database_url: str, outcomes: list[Outcome]) -> list[Outcome]:
    """The 200s whose message is not stored: per conversation (per sender for a message the
    gateway spooled while the database was away: no conversation id yet) and text, fewer rows
    than 200s."""
    answered = [o for o in outcomes if o.status == 200]
    expected = Counter(_key(o) for o in answered)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            query = (
                select(messages.c.conversation_id, conversations.c.sender, messages.c.text, func.count())
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(messages.c.direction == "in")
                .group_by(messages.c.conversation_id, conversations.c.sender, messages.c.text)
            )
            stored: Counter[tuple[str, str]] = Counter()
            for cid, sender, text, count in conn.execute(query):
                stored[(cid, text)] += count
                stored[("sender:" + sender, text)] += count
    finally:
        engine.dispose()
    missing = {key for key, count in expected.items() if stored[key] < count}
    return [o for o in answered if _key(o) in missing]


def _key(outcome: Outcome) -> tuple[str, str]:
    return (outcome.conversation_id or "sender:" + outcome.sender, outcome.text)


def restart_postgres() -> None:
    """Restart the local cluster (Debian's pg_ctlcluster, as scripts/ensure_services.sh starts it)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", "fast", version, "main", "restart"]
    subprocess.run(command, check=True, timeout=120, capture_output=True)


def postgres_back(stack: Stack, killed_at: float, timeout_s: float) -> Scenario:
    """Restart PostgreSQL under load; seconds until it runs again, and until /health says ok."""
    restart_postgres()
    running_s, back_s = time.monotonic() - killed_at, None
    while back_s is None and time.monotonic() - killed_at < timeout_s:
        stack.raise_if_dead()
        if (stack.health(timeout_s=10) or {}).get("status") == "ok":
            back_s = time.monotonic() - killed_at
        else:
            time.sleep(0.25)
    return Scenario(POSTGRES, killed_at, running_s, back_s)


def run_scenarios(stack: Stack, load: Load, args: argparse.Namespace) -> list[Scenario]:
    scenarios = []
    for name in args.scenarios:
        killed_at = time.monotonic()
        if name == POSTGRES:
            scenario = postgres_back(stack, killed_at, args.timeout)
        else:
            old_pid = kill_program(stack, name)
            scenario = wait_back(stack, load, name, old_pid, killed_at, args.timeout)
        settle_until = time.monotonic() + args.after
        while time.monotonic() < settle_until:  # /health may say ok only now
            if scenario.back_s is None and (stack.health(timeout_s=10) or {}).get("status") == "ok":
                scenario.back_s = time.monotonic() - killed_at
            time.sleep(0.5)
        scenario.ended_at = time.monotonic()
        how = "restarted" if name == POSTGRES else "killed with -9"
        print(
            f"  {name:8} {how}; running again after {seconds(scenario.running_s)} s, "
            f"/health ok after {seconds(scenario.back_s)} s",
            flush=True,
        )
        scenarios.append(scenario)
    return scenarios


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else None


def answering_after(outcomes: list[Outcome], killed_at: float) -> float | None:
    answered = [o.sent_at for o in outcomes if o.status == 200 and not o.apology and o.sent_at >= killed_at]
    return min(answered) - killed_at if answered else None


def report(scenarios: list[Scenario], load: Load, lost: list[Outcome], started_at: float) -> bool:
    lost_ids = {id(o) for o in lost}
    rows = [("baseline", started_at, scenarios[0].killed_at if scenarios else time.monotonic(), None)]
    rows += [(s.name, s.killed_at, s.ended_at, s) for s in scenarios]
    print(
        f"\n{'scenario':10}{'sent':>6}{'200':>6}{'apology':>9}{'5xx':>5}{'other':>7}{'no answer':>11}"
        f"{'lost':>6}{'p50 s':>7}{'p95 s':>7}{'running s':>11}{'health ok s':>13}{'answering s':>13}"
    )
    clean = True
    for name, start, end, scenario in rows:
        window = load.between(start, end)
        codes = Counter(o.status for o in window)
        ok = codes[200]
        server_errors = sum(n for code, n in codes.items() if code is not None and code >= 500)
        other = sum(n for code, n in codes.items() if code is not None and code != 200 and code < 500)
        lost_here = sum(1 for o in window if id(o) in lost_ids)
        apologies = sum(1 for o in window if o.apology)
        answering = answering_after(window, start) if scenario else None
        times = [o.seconds for o in window if o.status == 200]
        running, back = (scenario.running_s, scenario.back_s) if scenario else (None, None)
        print(
            f"{name:10}{len(window):>6}{ok:>6}{apologies:>9}{server_errors:>5}{other:>7}"
            f"{codes[None]:>11}{lost_here:>6}{seconds(percentile(times, 0.5)):>7}"
            f"{seconds(percentile(times, 0.95)):>7}{seconds(running):>11}{seconds(back):>13}"
            f"{seconds(answering):>13}"
        )
        clean = clean and server_errors == 0 and lost_here == 0
        clean = clean and (scenario is None or answering is not None)
    verdict = "0 5xx, 0 lost, answering again" if clean else "FAILED: 5xx, lost, or no real answer"
    print(f"\nlost overall: {len(lost)}; {verdict}")
    return clean


def machine_context(database_url: str, redis_url: str | None) -> str:
    engine = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    engine += " + redis lock store" if redis_url else ""
    return (
        f"machine: {os.cpu_count()} cores, {platform.machine()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, Python {platform.python_version()}, "
        f"database {engine}"
    )


def stack_env(args: argparse.Namespace) -> dict[str, str]:
    return {"CHAT_RATE_PER_MINUTE": "0", "REDIS_URL": args.redis_url or "", "DEMO": "false"}


def measure(args: argparse.Namespace, work: Path, url: str) -> bool:
    engine = create_db_engine(url)
    init_schema(engine)
    with_channels = POSTGRES in args.scenarios  # Telegram, Slack and the console join the restart
    if with_channels:
        add_agent(engine)
    engine.dispose()
    with contextlib.ExitStack() as context:
        fakes = context.enter_context(platforms()) if with_channels else None
        env = {**stack_env(args), **(channel_env(*fakes) if fakes else {})}
        stack = context.enter_context(running_stack(work, url, env, model=args.model))
        load = Load(stack.settings.gateway_url, args.conversations, args.interval, args.per_customer)
        side = (
            ChannelLoad(stack.settings.gateway_url, *fakes, args.channel_interval, QUESTIONS)
            if fakes
            else None
        )
        print(
            f"stack up; {args.conversations} conversations, a question every {args.interval} s after "
            f"each answer, {args.before:.0f} s before the first kill, {args.after:.0f} s after each return"
            + (f"; a Telegram update and a Slack event every {args.channel_interval} s" if side else ""),
            flush=True,
        )
        started_at = time.monotonic()
        threads = load.run() + (side.run() if side else [])
        time.sleep(args.before)
        try:
            scenarios = run_scenarios(stack, load, args)
        finally:
            load.stopping.set()
            if side:
                side.stopping.set()
            for thread in threads:
                thread.join(70)
        wait_drained(stack.settings.var_dir)  # what waits in the spool is stored before it is counted
        lost = lost_messages(url, load.outcomes)
        clean = report(scenarios, load, lost, started_at)
        if side is None:
            return clean
        rows = [("baseline", started_at, scenarios[0].killed_at if scenarios else time.monotonic(), None)]
        rows += [(s.name, s.killed_at, s.ended_at, s.killed_at + (s.running_s or 0)) for s in scenarios]
        return channel_report(side, rows, url) and clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=20, help="customers chatting at once")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between an answer and the next")
    parser.add_argument("--per-customer", type=int, default=8, help="questions before a new customer")
    parser.add_argument(
        "--channel-interval",
        type=float,
        default=1.0,
        help="seconds between Telegram updates (and Slack events)",
    )
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before the first kill")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after each return")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a program may take to return")
    parser.add_argument("--scenarios", nargs="*", choices=(*SCENARIOS, POSTGRES), default=list(SCENARIOS))
    parser.add_argument("--database-url", help="PostgreSQL server to use (a fresh schema); default SQLite")
    parser.add_argument("--redis-url", help="Redis for Rasa's lock store (redis://127.0.0.1:6379/2)")
    parser.add_argument("--work", type=Path, help="keep the logs and the SQLite file here")
    parser.add_argument("--model", type=Path, help="a trained model (default: current, trained if needed)")
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.per_customer < 1 or args.interval < 0:
        parser.error("--conversations and --per-customer must be at least 1, --interval at least 0")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    if POSTGRES in args.scenarios and not args.database_url:
        parser.error("the postgres scenario restarts the local PostgreSQL: it needs --database-url")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(fresh_database(work, "crash", args.database_url))
        print(machine_context(url, args.redis_url), flush=True)
        return 0 if measure(args, work, url) else 1


if __name__ == "__main__":
    sys.exit(main())
