"""Start the whole assistant: Rasa, the action server and the gateway, one process each.

``python -m bot.run`` trains first when the data changed, prints the URLs once
everything answers, and stops all processes cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from bot.core.settings import PROJECT_ROOT, Settings


@dataclass
class Stack:
    """The three processes of the assistant, for ``make run`` and the end-to-end tests."""

    settings: Settings
    model: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def commands(self) -> dict[str, list[str]]:
        s, py = self.settings, sys.executable
        rasa = [
            py,
            "-m",
            "rasa",
            "run",
            "--model",
            str(self.model),
            "--enable-api",
            "--interface",
            s.bind_host,
            "--port",
            str(s.rasa_port),
            "--endpoints",
            "endpoints.yml",
        ]
        if s.rasa_token:
            rasa += ["--auth-token", s.rasa_token]
        return {
            "actions": [py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(s.action_port)],
            "rasa": rasa,
            "gateway": [
                py,
                "-m",
                "uvicorn",
                "bot.web.gateway:app_from_env",
                "--factory",
                "--host",
                s.bind_host,
                "--port",
                str(s.gateway_port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "3",  # open live streams (console, web chat) must not hold up a stop
                "--ws",
                "none",  # rasa pins websockets 10, which uvicorn's websocket protocol cannot use
            ],
        }

    def child_env(self) -> dict[str, str]:
        env = dict(self.env)
        env["ACTION_ENDPOINT_URL"] = self.settings.action_webhook_url
        env["SANIC_HOST"] = self.settings.bind_host
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def start(self) -> None:
        env = self.child_env()
        for name, command in self.commands().items():
            output = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = (self.log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )

    def wait_healthy(self, timeout_s: float = 300.0) -> None:
        deadline = time.monotonic() + timeout_s
        url = f"{self.settings.gateway_url}/health"
        while time.monotonic() < deadline:
            self.raise_if_dead()
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the assistant did not become healthy within {timeout_s:.0f}s ({url})")

    def raise_if_dead(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")

    def stop(self, grace_s: float = 15.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def prepare(settings: Settings) -> Path:
    """Database schema, demo data (only when DEMO is true: `make run` sets it) and an
    up-to-date model."""
    from bot.manage import main as manage
    from bot.rasa.training import ensure_model

    manage(["seed-demo" if settings.demo else "init-db"], settings)
    return ensure_model(settings.model_dir)


def admin_hint(settings: Settings) -> str:
    """How to get into the console when nobody can log in yet."""
    from bot.core.db import create_db_engine
    from handoff.agents import AgentDirectory

    engine = create_db_engine(settings.database_url)
    try:
        if AgentDirectory(engine).count_admins():
            return ""
    finally:
        engine.dispose()
    return "(first create an admin: make admin  or  .venv/bin/python -m bot.manage create-admin NAME)"


def main() -> int:
    settings = Settings.from_env()
    model = prepare(settings)
    stack = Stack(settings, model)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    try:
        stack.wait_healthy()
        print(
            f"\nThe assistant is running:\n"
            f"  web chat        {settings.gateway_url}/\n"
            f"  agent console   {settings.gateway_url}/agent/  {admin_hint(settings)}\n"
            f"  chat API        POST {settings.gateway_url}/api/chat\n"
            f"  health          {settings.gateway_url}/health\n"
            f"  Rasa HTTP API   {settings.rasa_url}\n"
            f"  action server   {settings.action_server_url}\n"
            f"Chat in the terminal: .venv/bin/python -m bot.cli   Stop: Ctrl-C\n",
            flush=True,
        )
        while not stopping:
            stack.raise_if_dead()
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
