"""Latency of a reply through the gateway (POST /api/chat) and directly through Rasa's REST channel.

Side by side in one run, interleaved so both paths see the same machine state:
  1. one conversation at a time (1 concurrent);
  2. 20 concurrent conversations, in rounds that alternate between the paths;
  3. growth over one long conversation: turn 2 vs turn 50;
  4. the policies' share: Rasa's /predict at turn 2 and turn 50;
  5. a personal answer: a verified customer asks how much data they have left (the account
     connector included; needs the database, so only on its own stack or with --database-url).
Prints p50/p95 and throughput, and the router's overhead at p95 (target <= 15%) and the
turn-50/turn-2 ratio (target <= 1.5). Starts its own stack on free ports (SQLite, a
temporary folder) unless --gateway-url and --rasa-url point at a running one.

    .venv/bin/python -m bench.latency [--model PATH] [--turns 50] [--requests 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.taxonomy import is_answer_topic  # noqa: E402
from bot.rasa.evaluation import load_heldout  # noqa: E402

Send = Callable[[httpx.Client, str, str], None]
Texts = dict[str, list[str]]  # language -> messages; each conversation stays in one language


def ordinary_texts() -> Texts:
    """Held-out billing/coverage/SIM questions per language, intents taking turns.

    Only questions the bot answers itself: a sensitive message or a request for a person would
    hand the conversation to the agent queue, after which the gateway no longer calls Rasa (and
    the gateway path would look fast for the wrong reason). Interleaving the intents keeps a
    conversation from asking the same thing three times in a row, which is an angry repetition.
    """
    by_intent: dict[str, dict[str, list[str]]] = {}
    for language, intent, text in load_heldout():
        if is_answer_topic(intent):
            by_intent.setdefault(language, {}).setdefault(intent, []).append(text)
    texts: Texts = {}
    for language, intents in by_intent.items():
        queues = [list(v) for _, v in sorted(intents.items())]
        while any(queues):
            texts.setdefault(language, []).extend(q.pop(0) for q in queues if q)
    return texts


def answered_by_the_bot(rasa_url: str, texts: Texts) -> Texts:
    """Drop the few questions the model would hand to a person or not understand: this measures
    latency, and a conversation that went to the agent queue no longer reaches Rasa."""
    kept: Texts = {}
    with httpx.Client(timeout=60) as client:
        for language, pool in texts.items():
            for text in pool:
                intent = client.post(f"{rasa_url}/model/parse", json={"text": text}).json()["intent"]["name"]
                if is_answer_topic(intent):
                    kept.setdefault(language, []).append(text)
    return kept


def conversation_texts(texts: Texts, conversation: int) -> list[str]:
    languages = sorted(texts)
    return texts[languages[conversation % len(languages)]]


def via_gateway(url: str) -> Send:
    tokens: dict[str, str] = {}  # the conversation token each sender's first answer issued

    def send(client: httpx.Client, sender: str, text: str) -> None:
        headers = {"X-Chat-Token": tokens[sender]} if sender in tokens else {}
        response = client.post(f"{url}/api/chat", json={"sender": sender, "text": text}, headers=headers)
        response.raise_for_status()
        token = response.json().get("token")
        if token:
            tokens[sender] = token

    return send


def via_rasa(url: str) -> Send:
    def send(client: httpx.Client, sender: str, text: str) -> None:
        response = client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
        response.raise_for_status()

    return send


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def timed(send: Send, client: httpx.Client, sender: str, text: str) -> float:
    start = time.perf_counter()
    send(client, sender, text)
    return (time.perf_counter() - start) * 1000


def sequential(paths: dict[str, Send], texts: Texts, n: int) -> dict[str, list[float]]:
    """Short conversations (3 turns each), one request at a time, paths interleaved."""
    out: dict[str, list[float]] = {name: [] for name in paths}
    run_id = uuid.uuid4().hex[:6]
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            pool = conversation_texts(texts, i // 3)
            for name, send in paths.items():
                sender = f"seq-{run_id}-{name}-{i // 3}"
                out[name].append(timed(send, client, sender, pool[i % len(pool)]))
    return out


def concurrent(send: Send, texts: Texts, conversations: int, turns: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    run_id = uuid.uuid4().hex[:6]

    def worker(k: int) -> None:
        pool = conversation_texts(texts, k)
        with httpx.Client(timeout=120) as client:
            for t in range(turns):
                ms = timed(send, client, f"conc-{run_id}-{k}", pool[(k * turns + t) % len(pool)])
                with lock:
                    latencies.append(ms)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conversations)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(latencies) / (time.perf_counter() - start)


def growth(paths: dict[str, Send], texts: Texts, turns: int, repeats: int) -> dict[str, list[list[float]]]:
    """Latency per turn of long conversations: out[path][turn] = samples.

    ``turns`` should be 8k+2 so that the last turn repeats the text of turn 2.
    """
    out = {name: [[] for _ in range(turns)] for name in paths}
    with httpx.Client(timeout=60) as client:
        for r in range(repeats):
            senders = {name: f"long-{name}-{r}-{uuid.uuid4().hex[:6]}" for name in paths}
            # A cycle of 8 messages, so turn 2 and turn 50 (indexes 1 and 49) send the same text.
            pool = conversation_texts(texts, r)
            cycle = [pool[(r * 8 + i) % len(pool)] for i in range(8)]
            for turn in range(turns):
                text = cycle[turn % len(cycle)]
                for name, send in paths.items():
                    out[name][turn].append(timed(send, client, senders[name], text))
    return out


def policy_cost(rasa_url: str, texts: Texts, turns: int, samples: int = 40) -> tuple[float, float]:
    """Median time of ``POST /conversations/<id>/predict`` (tracker read + the policies, no NLU)
    on a conversation of 2 turns and one of ``turns`` turns: the policies' share, before/after."""
    send = via_rasa(rasa_url)
    pool = conversation_texts(texts, 0)
    medians = []
    with httpx.Client(timeout=60) as client:
        for length in (2, turns):
            sender = f"policy-{length}-{uuid.uuid4().hex[:6]}"
            for turn in range(length):
                send(client, sender, pool[turn % min(8, len(pool))])
            timings = []
            for _ in range(samples):
                start = time.perf_counter()
                client.post(f"{rasa_url}/conversations/{sender}/predict").raise_for_status()
                timings.append((time.perf_counter() - start) * 1000)
            medians.append(statistics.median(timings))
    return medians[0], medians[1]


def window_medians(per_turn: list[list[float]]) -> tuple[float, float]:
    """Median latency over turns 2-9 and over the last 8 turns: both windows send the same 8
    texts (one cycle), and 8x more samples than one turn make the growth figure steadier."""
    early = [ms for turn in per_turn[1:9] for ms in turn]
    late = [ms for turn in per_turn[-8:] for ms in turn]
    return statistics.median(early), statistics.median(late)


PERSONAL = {  # language: (first message, the personal question)
    "nl": ("hallo", "hoeveel data heb ik nog"),
    "fr": ("bonjour", "combien de data il me reste"),
    "en": ("hello", "how much data do I have left"),
}
DEMO_CUSTOMER = "MC1000001"


def personal_answers(gateway_url: str, database_url: str, n: int) -> list[float]:
    """A verified customer asks how much data they have left, one new conversation a sample: the
    first message opens it, the database then says it is verified (as a right code would), and
    the question's latency is measured. Fails if the answer is not the customer's own figures."""
    from datetime import date

    from bot.connectors.accounts import DemoAccountProvider
    from bot.core.db import create_db_engine
    from bot.core.identity import Identity

    account = DemoAccountProvider.from_file(today=date.today()).account(DEMO_CUSTOMER)
    assert account is not None
    engine = create_db_engine(database_url)
    identity, run_id, out = Identity(engine), uuid.uuid4().hex[:6], []
    try:
        with httpx.Client(timeout=60) as client:
            for i in range(n):
                language = sorted(PERSONAL)[i % len(PERSONAL)]
                hello, question = PERSONAL[language]
                body = {"sender": f"personal-{run_id}-{i}", "text": hello, "locale": language}
                first = client.post(f"{gateway_url}/api/chat", json=body).json()
                channel, sender = identity.channel_identity(first["conversation_id"]) or ("", "")
                identity.mark_verified(
                    channel, sender, DEMO_CUSTOMER, first["conversation_id"], "sms_code", 60
                )
                headers = {"X-Chat-Token": first["token"]} if first.get("token") else {}
                start = time.perf_counter()
                response = client.post(
                    f"{gateway_url}/api/chat", json={**body, "text": question}, headers=headers
                )
                out.append((time.perf_counter() - start) * 1000)
                replies = " ".join(r.get("text") or "" for r in response.raise_for_status().json()["replies"])
                assert account.first_name in replies, f"not a personal answer: {replies[:200]}"
    finally:
        engine.dispose()
    return out


def row(label: str, values: list[float], rate: float | None = None) -> str:
    text = f"  {label:<28} p50 {statistics.median(values):7.1f} ms   p95 {percentile(values, 95):7.1f} ms"
    return text + (f"   {rate:6.1f} msg/s" if rate is not None else "")


@contextlib.contextmanager
def own_stack(model: Path | None, extra_env: dict[str, str]) -> Iterator[tuple[str, str, str | None]]:
    from testkit.e2e_stack import running_stack

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extra = {"RASA_TELEMETRY_ENABLED": "false", **extra_env}
        database_url = f"sqlite:///{work / 'bench.db'}"
        with running_stack(work, database_url, extra, model=model) as stack:
            yield stack.settings.gateway_url, stack.settings.rasa_url, database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway-url")
    parser.add_argument("--rasa-url")
    parser.add_argument("--database-url", help="the running stack's database (for the personal answers)")
    parser.add_argument("--personal", type=int, default=30, help="personal answers to time (0: none)")
    parser.add_argument("--personal-only", action="store_true", help="time only the personal answers")
    parser.add_argument("--model", type=Path, help="model to start (default: the project's current model)")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="measure the 'before': Rasa's default policies, without bot/rasa/speedups.py",
    )
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds at --concurrency")
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    extra_env: dict[str, str] = {}
    if args.baseline:
        from bot.core.settings import Settings
        from bot.rasa.training import ensure_model

        config = "bench/configs/default_policies.yml"
        args.model = ensure_model(Settings.from_env().model_dir, config=config, prefix="baseline")
        extra_env["RASA_SPEEDUPS"] = "false"
    texts = ordinary_texts()
    stack = (
        contextlib.nullcontext((args.gateway_url, args.rasa_url, args.database_url))
        if args.gateway_url and args.rasa_url
        else own_stack(args.model, extra_env)
    )
    with stack as (gateway_url, rasa_url, database_url):
        if args.personal_only:
            return print_personal(gateway_url, database_url, args.personal)
        texts = answered_by_the_bot(rasa_url, texts)
        paths = {"gateway": via_gateway(gateway_url), "rasa": via_rasa(rasa_url)}
        sequential(paths, texts, 30)  # warm-up: first calls load models and caches lazily
        label = "BEFORE: default policies, no speed-ups" if args.baseline else "current config"
        print(f"gateway {gateway_url}  rasa {rasa_url}  model {args.model or 'current'}  ({label})")
        print("1 conversation at a time:")
        seq = sequential(paths, texts, args.requests)
        for name, values in seq.items():
            print(row(f"{name} (1 concurrent)", values, 1000 / statistics.mean(values)))
        print(f"{args.concurrency} concurrent conversations ({args.rounds} rounds of 5 turns per path):")
        # Rounds alternate between the paths: a p95 made of queueing is noisy, and drift in the
        # machine's state then hits both paths alike.
        conc: dict[str, list[float]] = {name: [] for name in paths}
        rates: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, send in paths.items():
                values, rate = concurrent(send, texts, args.concurrency, 5)
                conc[name] += values
                rates[name].append(rate)
        for name, values in conc.items():
            print(row(f"{name} ({args.concurrency} concurrent)", values, statistics.mean(rates[name])))
        print(f"growth over one conversation ({args.turns} turns, {args.repeats} conversations per path):")
        grown = growth(paths, texts, args.turns, args.repeats)
        ratios, window_ratios = {}, {}
        for name, per_turn in grown.items():
            turn2 = statistics.median(per_turn[1])
            last = statistics.median(per_turn[-1])
            ratios[name] = last / turn2
            early, late = window_medians(per_turn)
            window_ratios[name] = late / early
            print(
                f"  {name:<8} turn 2 {turn2:6.1f} ms   turn {args.turns} {last:6.1f} ms"
                f"   ratio {last / turn2:4.2f}   (turns 2-9 {early:5.1f} ms, last 8 {late:5.1f} ms:"
                f" {late / early:4.2f})"
            )
        short, long = policy_cost(rasa_url, texts, args.turns)
        print(
            "POST /conversations/<id>/predict (tracker read, policies, tracker JSON; no NLU):"
            f" turn 2 {short:5.1f} ms, turn {args.turns} {long:5.1f} ms"
        )
        print("summary:")
        for label, data in (("1 concurrent", seq), (f"{args.concurrency} concurrent", conc)):
            overhead = percentile(data["gateway"], 95) / percentile(data["rasa"], 95) - 1
            print(f"  router overhead at p95, {label}: {100 * overhead:+.1f}%  (target <= +15%)")
        print(f"  turn {args.turns} / turn 2 through the gateway: {ratios['gateway']:.2f}  (target <= 1.5)")
        print(f"  same, last 8 turns / turns 2-9 (less noisy): {window_ratios['gateway']:.2f}")
        print_personal(gateway_url, database_url, args.personal)
    return 0


def print_personal(gateway_url: str, database_url: str | None, n: int) -> int:
    if n and database_url:
        personal_answers(gateway_url, database_url, 3)  # warm-up: the connector loads its data lazily
        values = personal_answers(gateway_url, database_url, n)
        print(row("personal answer (verified)", values) + f"   ({n} conversations, gateway + connector)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
