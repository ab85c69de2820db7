"""Start the real assistant (Rasa, action server, gateway) for end-to-end and browser tests."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine, init_schema
from bot.core.settings import PROJECT_ROOT, Settings
from bot.rasa.training import ensure_model
from bot.run import Stack
from testkit.databases import fresh_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_stack(
    work_dir: Path,
    database_url: str,
    extra_env: dict[str, str] | None = None,
    *,
    model: Path | None = None,
) -> Iterator[Stack]:
    env = {
        **os.environ,
        "VAR_DIR": str(work_dir / "var"),
        "DATABASE_URL": database_url,
        "GATEWAY_PORT": str(free_port()),
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "RASA_TELEMETRY_ENABLED": "false",
        "COVERAGE_PROVIDER": "demo",  # the conversations ask about demo places (no demo outage)
        **(extra_env or {}),
    }
    env.pop("RASA_TRACKER_URL", None)
    settings = Settings.from_env(env)
    model = model or ensure_model(Settings.from_env({}).model_dir, PROJECT_ROOT, quiet=True)
    stack = Stack(settings, model, env=env, log_dir=work_dir / "logs")
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        yield stack
    except Exception:
        for log in sorted((work_dir / "logs").glob("*.log")):
            print(f"===== {log.name} =====\n{log.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        stack.stop()


@contextmanager
def stack_on_fresh_database(
    work_dir: Path, prefix: str, prepare: Callable[[Engine], None] | None = None
) -> Iterator[Stack]:
    """A running stack on an empty database (SQLite, or a PostgreSQL schema of its own)."""
    with fresh_database(work_dir, prefix) as url:
        engine = create_db_engine(url)
        init_schema(engine)
        if prepare is not None:
            prepare(engine)
        engine.dispose()
        with running_stack(work_dir, url) as running:
            yield running
