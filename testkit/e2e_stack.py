"""Start the real assistant (Rasa, action server, gateway, under supervisord as ``make run``
does) for end-to-end and browser tests and the benchmarks; kill one of its programs and time its
return (tests/web/test_crash_recovery.py, bench/reliability_crash.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
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
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free ports. Each socket stays bound until all are chosen: asked one
    after the other, the kernel may hand out the same port twice, and a stack whose gateway and
    action server got the same port looked healthy (the action server's /health also says
    ``ok``) while /api/chat answered 500."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def pinned_model() -> Path | None:
    """``TEST_MODEL=models/x.tar.gz``: run end-to-end tests on that model instead of training one
    for the current data (a developer checking code, not data, while a training runs)."""
    pinned = os.environ.get("TEST_MODEL")
    return Path(pinned).resolve() if pinned else None


@contextmanager
def running_stack(
    work_dir: Path,
    database_url: str,
    extra_env: dict[str, str] | None = None,
    *,
    model: Path | None = None,
) -> Iterator[Stack]:
    gateway_port, rasa_port, action_port = free_ports(3)
    env = {
        **os.environ,
        "VAR_DIR": str(work_dir / "var"),
        "DATABASE_URL": database_url,
        "GATEWAY_PORT": str(gateway_port),
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "RASA_TELEMETRY_ENABLED": "false",
        "COVERAGE_PROVIDER": "demo",  # the conversations ask about demo places (no demo outage)
        # Personal answers from the demo customers; codes in VAR_DIR/sms_outbox.jsonl.
        "ACCOUNT_PROVIDER": "demo",
        "SMS_PROVIDER": "demo",
        # Every test customer and benchmark lane comes from 127.0.0.1: one client to the per-client
        # rate limit of /api/chat, so it is off here (tests/channels/test_chat_rate_limit.py tests it).
        "CHAT_RATE_PER_MINUTE": "0",
        **(extra_env or {}),
    }
    env.pop("RASA_TRACKER_URL", None)
    settings = Settings.from_env(env)
    model = model or pinned_model() or ensure_model(Settings.from_env({}).model_dir, PROJECT_ROOT, quiet=True)
    stack = Stack(settings, model, env=env, log_dir=work_dir / "logs")
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        yield stack
    except Exception:
        print_logs(stack)
        raise
    finally:
        stack.stop()


def print_logs(stack: Stack, tail_chars: int = 4000) -> None:
    """The end of supervisord's log and of each program's (after a failure)."""
    for name in ["supervisord.out", "supervisord.log", *(f"{n}.log" for n in stack.commands())]:
        log = stack.logs / name
        if log.exists():
            print(f"===== {name} =====\n{log.read_text(errors='replace')[-tail_chars:]}")


def kill_program(stack: Stack, name: str) -> int:
    """``kill -9`` of one program of the running stack (supervisord restarts it); its pid."""
    pid = stack.pid(name)
    if pid is None:
        raise RuntimeError(f"{name} is not running: {stack.programs().get(name)}")
    os.kill(pid, signal.SIGKILL)
    return pid


def seconds_until_back(stack: Stack, name: str, old_pid: int, since: float, timeout_s: float = 300) -> float:
    """Seconds from ``since`` (time.monotonic()) until ``name`` runs again under a new pid and
    every component answers (/health ``ok``)."""
    deadline = since + timeout_s
    while time.monotonic() < deadline:
        stack.raise_if_dead()
        if stack.pid(name) not in (None, old_pid):
            body = stack.health(timeout_s=10)
            if body is not None and body.get("status") == "ok":
                return time.monotonic() - since
        time.sleep(0.25)
    raise TimeoutError(f"{name} was not back within {timeout_s:.0f} s: {stack.programs().get(name)}")


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
