"""Short follow-ups with and without the previous question (bot/core/follow_up.py).

    .venv/bin/python -m bench.follow_ups [--model models/assistant-XXXX.tar.gz]

For each row of bench/probes/follow_ups.yml (a question the bot answered, then a short message)
prints what the message gets alone and what it gets in the conversation: the router's context
(the pipeline's reading of "question + message") passed in the metadata, through the whole
pipeline with FollowUpContext, exactly as a live message. ``follow_ups`` should gain from the
context; ``new_topics`` (a new question after an answered one) must not lose.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.model_arg import model_of, model_parser  # noqa: E402
from bot.core.follow_up import FOLLOW_UP_KEY, follow_up_context, looks_like_follow_up  # noqa: E402
from bot.rasa.longtail import outcome  # noqa: E402

PROBE = ROOT / "bench" / "probes" / "follow_ups.yml"


async def run(model: Path, show: bool) -> None:
    import logging

    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    probe = yaml.safe_load(PROBE.read_text(encoding="utf-8"))
    print(f"model: {model}")
    print(f"{'set':<12}{'lang':<6}{'n':>4}{'alone':>8}{'in context':>12}{'gained':>8}{'lost':>6}")
    for group, by_language in probe.items():
        for language, rows in by_language.items():
            alone_ok = context_ok = gained = lost = 0
            for previous, text, expected in rows:
                alone = outcome(await agent.parse_message(text))
                metadata: dict[str, Any] = {"language": language}
                if looks_like_follow_up(text):
                    context = follow_up_context(await agent.parse_message(f"{previous} {text}"))
                    if context:
                        metadata[FOLLOW_UP_KEY] = context
                message = UserMessage(text, sender_id="bench", metadata=metadata)
                in_context = outcome(await agent.processor.parse_message(message))
                alone_ok += alone == expected
                context_ok += in_context == expected
                gained += in_context == expected != alone
                lost += alone == expected != in_context
                if show and alone != in_context:
                    print(f"    {language} {expected}: {alone} -> {in_context} | {text}")
            n = len(rows)
            print(f"{group:<12}{language:<6}{n:>4}{alone_ok:>8}{context_ok:>12}{gained:>8}{lost:>6}")


def main(argv: list[str] | None = None) -> int:
    parser = model_parser()
    parser.add_argument("--show", action="store_true", help="list the messages the context changed")
    args = parser.parse_args(argv)
    args.model = model_of(args)
    asyncio.run(run(args.model, args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
