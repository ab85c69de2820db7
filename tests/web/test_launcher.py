"""`python -m bot.run` (what `make run` starts): supervisord with the three programs, URLs
printed, clean stop on SIGTERM (supervisord and every program gone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.core.settings import PROJECT_ROOT
from testkit.e2e_stack import free_ports

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    return state != "Z"


def test_run_starts_everything_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    gateway_port, rasa_port, action_port = free_ports(3)
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "GATEWAY_PORT": str(gateway_port),
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "RASA_TELEMETRY_ENABLED": "false",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Stop: Ctrl-C" in line:
            break
    output = "".join(lines)
    assert "The assistant is running" in output, output[-3000:]
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    assert f"web chat        {gateway}/" in output
    health = httpx.get(f"{gateway}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "supervisorctl -c " in output
    (supervisord,) = children_of(process.pid)
    programs = children_of(supervisord)
    assert len(programs) == 3
    for name in ("actions", "rasa", "gateway"):
        assert f"spawned: '{name}'" in output  # supervisord's log is echoed
        assert (tmp_path / "var" / "log" / f"{name}.log").exists()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    assert not any(alive(pid) for pid in [supervisord, *programs])
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{gateway}/health", timeout=2)


def test_free_ports_are_different_ports() -> None:
    """The stack's three programs each get their own port (asked one after the other, the kernel
    may hand out the same one twice)."""
    for _ in range(20):
        ports = free_ports(3)
        assert len(set(ports)) == 3
