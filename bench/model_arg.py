"""The ``--model`` argument the NLU benchmarks share: a model file, or the project's trained
model (trained first when missing)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def model_parser() -> argparse.ArgumentParser:
    """A parser with ``--model``; telemetry off, as for every benchmark that loads Rasa."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None, help="default: the trained model")
    return parser


def model_of(args: argparse.Namespace) -> Path:
    if args.model is not None:
        return args.model
    from bot.core.settings import Settings
    from bot.rasa.training import ensure_model

    return ensure_model(Settings.from_env().model_dir)
