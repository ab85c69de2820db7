"""Live-view latency of the human handoff: how fast messages cross between customer and agent.

Measured (p50/p95/max, wall clock in this one process with ``time.perf_counter``):
  1. customer -> agent console: from just before the customer's ``POST /api/chat`` until the
     console's live stream (``/agent/api/stream?conversation=ID``, opened by a logged-in, online
     agent who has claimed the chat) delivers the ``message`` event with that text.
     Target: p95 under 1 s.
  2. agent -> customer web chat: from just before the agent's ``POST .../reply`` until the
     customer's ``/api/chat/stream`` delivers the ``message`` event with that text.
  3. customer -> admin console while the chat is still ``queued`` (nobody has claimed it).
Each is measured on one conversation at a time, then on --conversations conversations at
once (one sender per conversation, all streams open), to show that the change feed scales; all
the while both sides of every claimed chat keep typing (bench/workspace_load.py).

Only the gateway runs (a real uvicorn subprocess on a free port): queued and agent-owned
conversations never reach Rasa, so RASA_URL and ACTION_SERVER_URL point at an unused port.
The database (a temporary SQLite file, or a fresh schema on --database-url PostgreSQL) gets an
agent, an admin and the conversations before the gateway starts; the conversations are
escalated with HandoffQueue as the action server would, and the agent claims them over HTTP.

    .venv/bin/python -m bench.handoff_latency [--samples 100] [--conversations 5]
        [--database-url postgresql://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency import percentile  # noqa: E402
from bench.workspace_load import typing_everywhere  # noqa: E402
from bot.core.chat_sessions import ChatSessions  # noqa: E402
from bot.core.db import conversations, create_db_engine, init_schema, utcnow  # noqa: E402
from bot.core.rules import default_rules  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from handoff.agents import AgentDirectory  # noqa: E402
from handoff.queue import HandoffQueue  # noqa: E402
from testkit.databases import fresh_database  # noqa: E402
from testkit.e2e_stack import free_port  # noqa: E402

AGENT, ADMIN, PASSWORD = "bench.agent", "bench.admin", "bench-password-123"
COOKIE, CSRF_HEADER = "cc_agent", "X-CSRF-Token"
TARGET_MS = 1000.0
ARRIVAL_TIMEOUT_S = 10.0
HTTP_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
STREAM_TIMEOUT = httpx.Timeout(60.0, connect=5.0, read=None)  # streams send a keep-alive every 15 s


# -- the database and the gateway ------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    claimed: list[str]  # conversation ids the agent claims (sender == id, channel web)
    queued: list[str]  # conversation ids left waiting in the queue
    tokens: dict[str, str]  # each conversation's web chat token (bot/core/chat_sessions.py)


def new_conversation(engine: Engine) -> str:
    """A web conversation owned by the bot, as tests/handoff/test_queue.py creates them."""
    cid, now = str(uuid.uuid4()), utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=cid, channel="web", sender=cid, owner="bot", language="nl", created_at=now, updated_at=now
            )
        )
    return cid


def prepare_database(url: str, count: int) -> Fixture:
    """Schema, an agent and an admin, and 2 x ``count`` escalated conversations."""
    engine = create_db_engine(url)
    try:
        init_schema(engine)
        directory = AgentDirectory(engine)
        directory.create(AGENT, PASSWORD, display_name="Bench Agent", languages=("nl",))
        directory.create(ADMIN, PASSWORD, display_name="Bench Admin", role="admin", languages=("nl",))
        handoffs, rule = HandoffQueue(engine), default_rules()["request_human"]
        ids = [new_conversation(engine) for _ in range(2 * count)]
        tokens = {}
        for cid in ids:
            assert handoffs.escalate(cid, rule) is not None
            session = ChatSessions(engine).issue(cid)
            assert session is not None and session.token is not None
            tokens[cid] = session.token
    finally:
        engine.dispose()
    return Fixture(claimed=ids[:count], queued=ids[count:], tokens=tokens)


def gateway_env(work: Path, database_url: str, port: int) -> dict[str, str]:
    unused = free_port()  # nothing listens there: Rasa and the action server are "down"
    return {
        **os.environ,
        "VAR_DIR": str(work / "var"),
        "DATABASE_URL": database_url,
        "GATEWAY_PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{unused}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{unused}",
        "CHAT_RATE_PER_MINUTE": "0",  # every lane's customer posts from 127.0.0.1
        "PYTHONUNBUFFERED": "1",
    }


def gateway_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "bot.web.gateway:app_from_env", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--ws", "none", "--no-access-log"),
        *("--timeout-graceful-shutdown", "3"),
    ]


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Any answer from /health will do: it says "degraded" because Rasa is (deliberately) down."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{url}/health", timeout=2.0)
            return
        time.sleep(0.2)
    raise TimeoutError(f"the gateway did not answer within {timeout_s:.0f} s")


@contextlib.contextmanager
def running_gateway(work: Path, env: dict[str, str]) -> Iterator[str]:
    port = int(env["GATEWAY_PORT"])
    log_path = work / "gateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            gateway_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}", process)
            yield f"http://127.0.0.1:{port}"
        except Exception:
            print(f"===== gateway.log =====\n{log_path.read_text(errors='replace')[-4000:]}")
            raise
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- HTTP clients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSession:
    url: str
    cookie: str
    csrf: str

    def client(self, timeout: httpx.Timeout = HTTP_TIMEOUT) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            cookies={COOKIE: self.cookie},
            headers={CSRF_HEADER: self.csrf},
            timeout=timeout,
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.client() as client:
            response = client.post(path, json=body)
        response.raise_for_status()
        return response.json()


def log_in(url: str, username: str) -> AgentSession:
    with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT) as client:
        response = client.post("/agent/api/login", json={"username": username, "password": PASSWORD})
        response.raise_for_status()
        return AgentSession(url, client.cookies[COOKIE], response.json()["csrf"])


def last_message_id(url: str, token: str) -> int:
    headers = {"X-Chat-Token": token}
    response = httpx.get(f"{url}/api/chat/history", headers=headers, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return int(response.json()["last_id"])


# -- server-sent events --------------------------------------------------------------------------


class SseReader:
    """Reads one event stream in a thread; every event goes on a queue with its arrival time."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        self.client, self.path = client, path
        self.events: queue.Queue[tuple[str, dict[str, Any], float]] = queue.Queue()
        self.ready, self.stopping = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"sse {path}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.client.stream("GET", self.path) as response:
                response.raise_for_status()
                self._read(response)
            if not self.stopping.is_set():
                raise EOFError("the server closed the stream")
        except Exception as exc:  # reported by wait_for; a closed stream at the end is fine
            if not self.stopping.is_set():
                self.error = exc
        finally:
            self.ready.set()

    def _read(self, response: httpx.Response) -> None:
        kind, data, arrived = "message", "", 0.0
        for line in response.iter_lines():
            if self.stopping.is_set():
                return
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data, arrived = line[5:].strip(), time.perf_counter()
            elif not line and data:
                self.events.put((kind, json.loads(data), arrived))
                self.ready.set()  # the stream's first snapshot has been sent
                kind, data = "message", ""

    def wait_for(self, text: str, timeout_s: float = ARRIVAL_TIMEOUT_S) -> float:
        """perf_counter time at which the ``message`` event with this text arrived."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if self.error is not None:
                raise RuntimeError(f"stream {self.path} failed: {self.error!r}")
            try:
                kind, data, arrived = self.events.get(timeout=max(0.0, min(remaining, 1.0)))
            except queue.Empty:
                if remaining <= 0:
                    raise TimeoutError(
                        f"{text!r} did not arrive on {self.path} within {timeout_s} s"
                    ) from None
                continue
            if kind == "message" and data.get("text") == text:
                return arrived

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5.0)
        self.client.close()


@dataclass
class Lane:
    """One conversation seen from both ends: the customer's web chat and an agent's console."""

    index: int
    conversation: str
    customer: httpx.Client
    agent: httpx.Client
    console: SseReader
    web: SseReader | None

    def close(self) -> None:
        for reader in (self.console, self.web):
            if reader is not None:
                reader.close()
        self.customer.close()
        self.agent.close()


def open_lane(url: str, index: int, cid: str, token: str, session: AgentSession, with_web: bool) -> Lane:
    after = last_message_id(url, token)
    console = SseReader(session.client(STREAM_TIMEOUT), f"/agent/api/stream?conversation={cid}&after={after}")
    web = None
    if with_web:
        stream_client = httpx.Client(base_url=url, timeout=STREAM_TIMEOUT)
        web = SseReader(stream_client, f"/api/chat/stream?token={token}&after={after}")
    customer = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, headers={"X-Chat-Token": token})
    return Lane(index, cid, customer, session.client(), console, web)


def wait_ready(lanes: list[Lane], timeout_s: float = 30.0) -> None:
    for lane in lanes:
        for reader in (lane.console, lane.web):
            if reader is not None and not reader.ready.wait(timeout_s):
                raise TimeoutError(f"stream {reader.path} sent nothing within {timeout_s} s")
            if reader is not None and reader.error is not None:
                raise RuntimeError(f"stream {reader.path} failed: {reader.error!r}")


def close_lanes(lanes: list[Lane], nudge: AgentSession) -> None:
    """Readers stop at their next line; a presence change wakes every stream to send one."""
    for lane in lanes:
        for reader in (lane.console, lane.web):
            if reader is not None:
                reader.stopping.set()
    with contextlib.suppress(httpx.HTTPError):
        nudge.post("/agent/api/presence", {"presence": "online"})
    for lane in lanes:
        lane.close()


# -- the measurements ------------------------------------------------------------------------------

Sample = tuple[float, float]  # ms until the stream delivered the message, ms until the POST returned
Probe = Callable[[Lane, str], Sample]  # sends one message with a unique tag and times it


def customer_to_console(lane: Lane, tag: str, timeout_s: float = ARRIVAL_TIMEOUT_S) -> Sample:
    text = f"Hallo, ik wacht nog op antwoord over mijn factuur ({tag})"
    started = time.perf_counter()
    lane.customer.post("/api/chat", json={"sender": lane.conversation, "text": text}).raise_for_status()
    returned = time.perf_counter()
    return 1000 * (lane.console.wait_for(text, timeout_s) - started), 1000 * (returned - started)


def agent_to_customer(lane: Lane, tag: str, timeout_s: float = ARRIVAL_TIMEOUT_S) -> Sample:
    assert lane.web is not None
    text = f"Ik kijk het voor u na, een ogenblik ({tag})"
    path = f"/agent/api/conversations/{lane.conversation}/reply"
    started = time.perf_counter()
    lane.agent.post(path, json={"text": text}).raise_for_status()
    returned = time.perf_counter()
    return 1000 * (lane.web.wait_for(text, timeout_s) - started), 1000 * (returned - started)


def sequential(lane: Lane, probe: Probe, samples: int) -> list[Sample]:
    run = uuid.uuid4().hex[:6]
    return [probe(lane, f"{run} {lane.index}-{i}") for i in range(samples)]


def concurrent(lanes: list[Lane], probe: Probe, samples: int) -> list[Sample]:
    """Every conversation sends at the same time, each waiting for its own message to arrive."""
    per_lane = math.ceil(samples / len(lanes))
    results: list[list[Sample]] = [[] for _ in lanes]
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(lanes))

    def worker(lane: Lane) -> None:
        barrier.wait()
        try:
            results[lane.index] = sequential(lane, probe, per_lane)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [sample for values in results for sample in values]


def row(label: str, samples: list[Sample]) -> str:
    values, requests = [s[0] for s in samples], [s[1] for s in samples]
    return (
        f"  {label:<26} p50 {statistics.median(values):6.1f} ms  p95 {percentile(values, 95):6.1f} ms"
        f"  max {max(values):6.1f} ms  (n={len(values)}; "
        f"the POST alone p50 {statistics.median(requests):.1f} ms)"
    )


def measure(title: str, lanes: list[Lane], probe: Probe, samples: int) -> dict[str, list[Sample]]:
    """One conversation at a time, then all lanes at once; prints and returns both."""
    print(title, flush=True)
    out = {"1 conversation": sequential(lanes[0], probe, samples)}
    print(row("1 conversation", out["1 conversation"]), flush=True)
    if len(lanes) > 1:
        label = f"{len(lanes)} conversations at once"
        out[label] = concurrent(lanes, probe, samples)
        print(row(label, out[label]), flush=True)
    return out


def warm_up(lanes: list[Lane], probes: list[Probe], rounds: int = 3) -> None:
    """The first messages load the language detector and fill caches and connection pools.

    Every claimed chat also gets an agent reply here, so that a long run is not re-queued by
    the gateway's "no reply within AGENT_REPLY_TIMEOUT" rule.
    """
    for lane in lanes:
        for probe in probes:
            for i in range(rounds):
                probe(lane, f"warm-up {lane.index}-{i}", 60.0)


# -- putting it together ----------------------------------------------------------------------------


def machine_context(database_url: str, env: dict[str, str]) -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    backend = make_url(database_url).get_backend_name()
    interval = Settings.from_env(env).feed_interval_s
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {cores} cores ({usable} usable), {platform.machine()}, load average {load}, "
        f"Python {platform.python_version()}, database {backend}\n"
        f"change feed: poll every {interval:.2f} s (FEED_INTERVAL), "
        "plus an immediate wake-up for writes made by the gateway itself"
    )


def set_up_agents(url: str, fixture: Fixture) -> tuple[AgentSession, AgentSession]:
    agent, admin = log_in(url, AGENT), log_in(url, ADMIN)
    agent.post("/agent/api/presence", {"presence": "online"})
    for cid in fixture.claimed:
        agent.post(f"/agent/api/conversations/{cid}/claim", {})
    return agent, admin


def run(url: str, fixture: Fixture, samples: int) -> dict[str, list[Sample]]:
    agent, admin = set_up_agents(url, fixture)
    tokens = fixture.tokens
    claimed = [open_lane(url, i, c, tokens[c], agent, with_web=True) for i, c in enumerate(fixture.claimed)]
    queued = [open_lane(url, i, c, tokens[c], admin, with_web=False) for i, c in enumerate(fixture.queued)]
    try:
        wait_ready(claimed + queued)
        streams = f"{len(claimed)} agent + {len(queued)} admin consoles, {len(claimed)} web chats"
        print(f"live streams open during every measurement: {streams}", flush=True)
        warm_up(claimed, [customer_to_console, agent_to_customer])
        warm_up(queued, [customer_to_console])
        typists = {c: tokens[c] for c in fixture.claimed}  # bench/workspace_load.py: typing indicators on
        with agent.client() as typing_agent, typing_everywhere(url, typists, typing_agent) as typed:
            console = measure(
                "1. customer message -> agent console (claimed chat):", claimed, customer_to_console, samples
            )
            measure("2. agent reply -> customer web chat stream:", claimed, agent_to_customer, samples)
            measure(
                "3. customer message -> admin console (queued chat):", queued, customer_to_console, samples
            )
        print(f"typing meanwhile, both sides of every claimed chat: {typed}", flush=True)
    finally:
        close_lanes(claimed + queued, agent)
    return console


def verdict(console: dict[str, list[Sample]]) -> bool:
    print("summary:")
    ok = True
    for label, samples in console.items():
        p95 = percentile([s[0] for s in samples], 95)
        ok = ok and p95 < TARGET_MS
        result = "PASS" if p95 < TARGET_MS else "FAIL"
        print(f"  customer -> console p95, {label}: {p95:.1f} ms  (target < {TARGET_MS:.0f} ms)  {result}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=100, help="messages per measurement and scenario")
    parser.add_argument("--conversations", type=int, default=5, help="conversations sending at once")
    parser.add_argument("--database-url", help="PostgreSQL server to use (a fresh schema); default SQLite")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.conversations < 1:
        parser.error("--samples and --conversations must be at least 1")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    with tempfile.TemporaryDirectory() as tmp, fresh_database(Path(tmp), "bench", args.database_url) as url:
        work = Path(tmp)
        fixture = prepare_database(url, args.conversations)
        env = gateway_env(work, url, free_port())
        print(machine_context(url, env))
        with running_gateway(work, env) as gateway_url:
            print(
                f"gateway {gateway_url} (uvicorn, no Rasa)  samples {args.samples} per scenario", flush=True
            )
            console = run(gateway_url, fixture, args.samples)
        return 0 if verdict(console) else 1


if __name__ == "__main__":
    sys.exit(main())
