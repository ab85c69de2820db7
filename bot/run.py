"""Start the whole assistant: Rasa, the action server and the gateway, under supervisord.

``python -m bot.run`` trains first when the data changed, writes a supervisord configuration
(``var/supervisor/supervisord.conf``, made from :meth:`Stack.commands`) and runs supervisord in
the foreground. supervisord restarts a program that dies (with a growing pause when it keeps
dying at start) and logs every exit and restart (``var/log/supervisord.log``, echoed here); each
program logs to ``var/log/<name>.log``. Once everything answers the URLs are printed; Ctrl-C or
SIGTERM stops supervisord, which stops its programs, each with its whole process group.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bot.core.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class Policy:
    """How supervisord runs one program (its ``[program:x]`` section)."""

    priority: int  # start order, low first; supervisord stops them in the reverse order
    startsecs: int  # up this long counts as started; a death before is a failed start
    startretries: int  # failed starts in a row (pausing 1, 2, 3... s between) before giving up
    stopwaitsecs: int  # after SIGTERM to the program's process group, SIGKILL after this long


POLICIES = {
    "actions": Policy(priority=100, startsecs=3, startretries=5, stopwaitsecs=10),
    "rasa": Policy(priority=200, startsecs=10, startretries=5, stopwaitsecs=20),
    "gateway": Policy(priority=300, startsecs=3, startretries=5, stopwaitsecs=10),
}
DEFAULT_POLICY = Policy(priority=400, startsecs=3, startretries=5, stopwaitsecs=10)
LOG_MAX_BYTES = "10MB"  # per log file; 3 old ones are kept
UNIX_SOCKET_MAX_CHARS = 100  # sun_path holds 108 bytes on Linux
CONTROL_USER = "launcher"
RUNNING_STATES = frozenset({"STARTING", "RUNNING", "BACKOFF"})
LOCK_MARGIN_S = 5  # a conversation's Rasa lock ticket outlives RASA_TIMEOUT by this much


def lock_lifetime_s(settings: Settings) -> int:
    """TICKET_LOCK_LIFETIME for Rasa: how long a conversation's lock ticket lasts.

    Rasa's Redis lock store frees a ticket when its turn ends; a killed Rasa never does, and that
    conversation's next turns wait until the ticket expires (Rasa's default: 60 s, longer than
    Rasa takes to restart). A turn cannot outlive the gateway's RASA_TIMEOUT by much: the gateway
    hangs up and Sanic cancels the turn, which gives its ticket back. So a ticket lasts a little
    longer than that timeout (bench/reliability_lock.py measures the difference).
    """
    return math.ceil(settings.rasa_timeout_s) + LOCK_MARGIN_S


def socket_path(run_dir: Path) -> Path:
    """supervisord's control socket: in ``run_dir``, or in the temporary folder (named after
    ``run_dir``) when that path is too long for a unix socket."""
    path = run_dir / "supervisor.sock"
    if len(str(path)) <= UNIX_SOCKET_MAX_CHARS:
        return path
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"supervisor-{digest}.sock"


def _value(value: object, expansions: int = 1) -> str:
    """A value for supervisord.conf: one line, no inline comment (`` ;`` or `` #``), ``%``
    escaped once per expansion supervisord does (``%(here)s``; log files of programs twice)."""
    text = str(value)
    if "\n" in text or "\r" in text or re.search(r"\s[;#]", text):
        raise ValueError(f"a supervisord setting must be one line without ' ;' or ' #': {text!r}")
    return text.replace("%", "%" * 2**expansions)


def supervisor_config(
    commands: dict[str, list[str]],
    *,
    directory: Path,
    log_dir: Path,
    run_dir: Path,
    echo: bool = False,
    policies: Mapping[str, Policy] = POLICIES,
    password: str | None = None,
) -> str:
    """supervisord.conf for ``commands`` (name -> argv). The programs' environment is the one
    supervisord is started with: no setting or secret is written into the file. ``password``
    guards the control socket (beside its 0700 mode) for the launcher and supervisorctl."""
    sock = socket_path(run_dir)
    lines = [
        "; written by bot/run.py (python -m bot.run) at every start: edits here are overwritten",
        "[unix_http_server]",
        f"file={_value(sock)}",
        "chmod=0700",
        *_credentials(password),
        "",
        "[supervisord]",
        "nodaemon=true",
        f"silent={'false' if echo else 'true'}",
        f"logfile={_value(log_dir / 'supervisord.log')}",
        f"logfile_maxbytes={LOG_MAX_BYTES}",
        "logfile_backups=3",
        "loglevel=info",
        f"pidfile={_value(run_dir / 'supervisord.pid')}",
        f"childlogdir={_value(log_dir)}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(sock)}",
        *_credentials(password),
    ]
    for name, command in commands.items():
        policy = policies.get(name, DEFAULT_POLICY)
        lines += ["", *_program_section(name, command, policy, directory, log_dir)]
    return "\n".join(lines) + "\n"


def _credentials(password: str | None) -> list[str]:
    return [] if password is None else [f"username={CONTROL_USER}", f"password={_value(password)}"]


def _program_section(
    name: str, command: list[str], policy: Policy, directory: Path, log_dir: Path
) -> list[str]:
    return [
        f"[program:{name}]",
        f"command={_value(shlex.join(command))}",
        f"directory={_value(directory)}",
        f"priority={policy.priority}",
        "autostart=true",
        "autorestart=true",
        f"startsecs={policy.startsecs}",
        f"startretries={policy.startretries}",
        "stopsignal=TERM",
        f"stopwaitsecs={policy.stopwaitsecs}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_value(log_dir / f'{name}.log', expansions=2)}",
        f"stdout_logfile_maxbytes={LOG_MAX_BYTES}",
        "stdout_logfile_backups=3",
    ]


@dataclass
class Stack:
    """The three programs of the assistant under one supervisord, for ``make run``, the
    end-to-end tests and the benchmarks. ``echo`` also prints supervisord's own log (starts,
    exits, restarts) on this process's output."""

    settings: Settings
    model: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    log_dir: Path | None = None  # default: <VAR_DIR>/log
    echo: bool = False
    policies: dict[str, Policy] = field(default_factory=lambda: dict(POLICIES))
    supervisord: subprocess.Popen | None = None
    _password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

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
                "--no-proxy-headers",  # one rule for the client's address: TRUSTED_PROXIES (bot/web/http.py)
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
        env.setdefault("TICKET_LOCK_LIFETIME", str(lock_lifetime_s(self.settings)))  # read by Rasa
        return env

    @property
    def logs(self) -> Path:
        return self.log_dir or self.settings.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.settings.var_dir / "supervisor"

    @property
    def config_path(self) -> Path:
        return self.run_dir / "supervisord.conf"

    def write_config(self) -> Path:
        """supervisord.conf, readable by its owner only (Rasa's --auth-token is in a command)."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        text = supervisor_config(
            self.commands(),
            directory=PROJECT_ROOT,
            log_dir=self.logs,
            run_dir=self.run_dir,
            echo=self.echo,
            policies=self.policies,
            password=self._password,
        )
        path = self.config_path
        path.unlink(missing_ok=True)
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> None:
        _refuse_second_run(self.run_dir / "supervisord.pid")
        config = self.write_config()
        output = None if self.echo else (self.logs / "supervisord.out").open("ab")
        try:
            self.supervisord = subprocess.Popen(
                [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(config)],
                cwd=PROJECT_ROOT,
                env=self.child_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,  # Ctrl-C reaches this process only: it stops supervisord
            )
        finally:
            if output is not None:
                output.close()

    def control(self) -> Any:
        """supervisord's XML-RPC interface over its unix socket (``supervisor.*`` methods)."""
        from supervisor.xmlrpc import SupervisorTransport

        url = f"unix://{socket_path(self.run_dir)}"
        transport = SupervisorTransport(CONTROL_USER, self._password, url)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def programs(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of each program (``statename``, ``pid``...); empty while it does
        not answer (starting, stopped)."""
        try:
            infos = self.control().supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            return {}
        return {info["name"]: info for info in infos}

    def pid(self, name: str) -> int | None:
        """The process id of a program that is running or starting, else None."""
        info = self.programs().get(name)
        if info is None or info["statename"] not in RUNNING_STATES:
            return None
        return int(info["pid"]) or None

    def given_up(self) -> list[str]:
        """Programs supervisord stopped restarting (they kept dying at start: state FATAL)."""
        return [name for name, info in self.programs().items() if info["statename"] == "FATAL"]

    def raise_if_dead(self, tolerate: Collection[str] = ()) -> None:
        """Raises when supervisord is gone or gave up on a program not in ``tolerate``."""
        if self.supervisord is None or self.supervisord.poll() is not None:
            code = None if self.supervisord is None else self.supervisord.returncode
            raise RuntimeError(f"supervisord exited (code {code}); see {self.logs / 'supervisord.log'}")
        for name in self.given_up():
            if name not in tolerate:
                raise RuntimeError(f"{name} keeps failing at start; see {self.logs / f'{name}.log'}")

    def health(self, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """The gateway's /health body, or None while it does not answer."""
        try:
            return httpx.get(f"{self.settings.gateway_url}/health", timeout=timeout_s).json()
        except (httpx.HTTPError, ValueError):
            return None

    def wait_healthy(self, timeout_s: float = 300.0) -> None:
        """Until every component answers (/health says ``ok``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.raise_if_dead()
            body = self.health()
            # the gateway's own body names its components; another server on the port may say "ok"
            if body is not None and body.get("status") == "ok" and "components" in body:
                return
            time.sleep(0.5)
        url = f"{self.settings.gateway_url}/health"
        raise TimeoutError(f"the assistant did not become healthy within {timeout_s:.0f}s ({url})")

    def stop(self, grace_s: float = 60.0) -> None:
        """SIGTERM to supervisord: it stops the programs (gateway first), each with its process
        group, and exits. Whatever is left after ``grace_s`` is killed."""
        process = self.supervisord
        if process is None or process.poll() is not None:
            return
        pids = [info["pid"] for info in self.programs().values() if info["pid"]]
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def _refuse_second_run(pidfile: Path) -> None:
    """A supervisord of an earlier run that is still alive (its launcher was killed) holds the
    ports: say so instead of starting programs that cannot bind."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"supervisord" in cmdline:
        raise RuntimeError(
            f"the assistant of an earlier run is still running (supervisord pid {pid}); stop it "
            f"first: kill {pid}"
        )


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


TOLERATED = ("rasa", "actions")  # without them the gateway still stores messages and apologises


class _StopRequested(Exception):
    """Ctrl-C or SIGTERM."""


def _request_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested


def supervisorctl(stack: Stack) -> str:
    return f"{Path(sys.executable).parent / 'supervisorctl'} -c {stack.config_path}"


def watch(stack: Stack, interval_s: float = 1.0) -> None:
    """Until stopped: supervisord restarts what dies; see :func:`check`."""
    reported: set[str] = set()
    while True:
        reported = check(stack, reported)
        time.sleep(interval_s)


def check(stack: Stack, reported: set[str]) -> set[str]:
    """Raises when customers can no longer be served (supervisord gone, or it gave up on the
    gateway); reports a Rasa or action server that supervisord gave up on (the gateway apologises
    meanwhile) once: returns the programs reported so far."""
    stack.raise_if_dead(tolerate=TOLERATED)
    given_up = set(stack.given_up())
    for name in sorted(given_up - reported):
        print(
            f"ERROR: {name} kept failing at start and is no longer restarted; customers get an "
            f"apology meanwhile. See {stack.logs / f'{name}.log'}, then: {supervisorctl(stack)} "
            f"start {name}",
            file=sys.stderr,
            flush=True,
        )
    return given_up


def banner(stack: Stack) -> str:
    settings = stack.settings
    return (
        f"\nThe assistant is running:\n"
        f"  web chat        {settings.gateway_url}/\n"
        f"  agent console   {settings.gateway_url}/agent/  {admin_hint(settings)}\n"
        f"  chat API        POST {settings.gateway_url}/api/chat\n"
        f"  health          {settings.gateway_url}/health\n"
        f"  Rasa HTTP API   {settings.rasa_url}\n"
        f"  action server   {settings.action_server_url}\n"
        f"  logs            {stack.logs}/ (supervisord.log: every exit and restart)\n"
        f"  processes       {supervisorctl(stack)} status\n"
        f"Chat in the terminal: .venv/bin/python -m bot.cli   Stop: Ctrl-C\n"
    )


def main() -> int:
    settings = Settings.from_env()
    model = prepare(settings)
    stack = Stack(settings, model, echo=True)
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    code = 0
    try:
        stack.start()
        stack.wait_healthy()
        print(banner(stack), flush=True)
        watch(stack)
    except _StopRequested:
        pass
    except (RuntimeError, TimeoutError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping...", flush=True)
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
