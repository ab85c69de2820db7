"""bot/run.py under supervisord: the configuration it writes (read back by supervisor's own
parser) and the supervision itself on small stand-in programs (kill -9, restart, give up, stop).
The real stack under supervisord: tests/web/test_crash_recovery.py and test_launcher.py."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions
from supervisor.xmlrpc import SupervisorTransport

from bot.core.settings import PROJECT_ROOT, Settings
from bot.run import POLICIES, Policy, Stack, check, socket_path, supervisor_config, supervisorctl

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]
FAIL = [sys.executable, "-c", "raise SystemExit(3)"]
QUICK = Policy(priority=100, startsecs=1, startretries=1, stopwaitsecs=5)


def parsed(config: Path) -> ServerOptions:
    """The configuration as supervisord itself reads it."""
    options = ServerOptions()
    options.configfile = str(config)
    options.process_config(do_usage=False)
    return options


def programs_of(options: ServerOptions) -> dict:
    return {p.name: p for group in options.process_group_configs for p in group.process_configs}


def test_the_config_runs_the_stack_commands_with_restarts_and_logs(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var 100%"), "RASA_TOKEN": "s3cret"})
    stack = Stack(settings, tmp_path / "model.tar.gz")
    options = parsed(stack.write_config())

    assert options.nodaemon and options.silent  # foreground; its log is a file unless echo
    run_dir = settings.var_dir / "supervisor"
    assert Path(options.pidfile) == run_dir / "supervisord.pid"
    assert Path(options.logfile) == settings.var_dir / "log" / "supervisord.log"
    assert f"file={socket_path(run_dir)}".replace("%", "%%") in stack.config_path.read_text()
    programs = programs_of(options)
    assert set(programs) == {"rasa", "actions", "gateway"}
    for name, command in stack.commands().items():
        program, policy = programs[name], POLICIES[name]
        assert shlex.split(program.command) == command  # "%" in a path survives
        assert program.directory == str(PROJECT_ROOT)
        assert program.autorestart is RestartUnconditionally
        assert (program.startsecs, program.startretries) == (policy.startsecs, policy.startretries)
        assert program.stopasgroup and program.killasgroup
        assert program.stopwaitsecs == policy.stopwaitsecs
        assert program.redirect_stderr
        assert Path(program.stdout_logfile) == settings.var_dir / "log" / f"{name}.log"
    starts = sorted(programs, key=lambda name: programs[name].priority)
    assert starts == ["actions", "rasa", "gateway"]  # so the gateway is stopped first
    assert stat.S_IMODE(stack.config_path.stat().st_mode) == 0o600  # the token is in a command


def test_echo_and_log_dir_and_no_environment_in_the_file(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var")})
    stack = Stack(settings, tmp_path / "m", env={"SLACK_BOT_TOKEN": "xoxb-secret"}, echo=True)
    stack.log_dir = tmp_path / "logs"
    options = parsed(stack.write_config())
    assert not options.silent
    assert Path(programs_of(options)["gateway"].stdout_logfile) == tmp_path / "logs" / "gateway.log"
    assert "xoxb-secret" not in stack.config_path.read_text()
    assert stack.child_env()["SLACK_BOT_TOKEN"] == "xoxb-secret"  # given to supervisord instead


def rasa_lock_lifetime(env: dict[str, str]) -> int:
    """The ticket lifetime Rasa's lock store reads from its environment at import."""
    code = "from rasa.core.lock_store import LOCK_LIFETIME; print(LOCK_LIFETIME)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def test_rasa_lock_tickets_outlive_the_gateways_rasa_timeout_by_a_little(tmp_path: Path) -> None:
    """A killed Rasa leaves its tickets in Redis: they must expire soon after Rasa is back, not
    after Rasa's default of 60 s (bench/reliability_lock.py)."""
    base = {k: v for k, v in os.environ.items() if k != "TICKET_LOCK_LIFETIME"}
    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "RASA_TIMEOUT": "12.5"})
    stack = Stack(settings, tmp_path / "m", env=base)
    assert stack.child_env()["TICKET_LOCK_LIFETIME"] == "18"  # ceil(12.5) + 5
    assert rasa_lock_lifetime(stack.child_env()) == 18
    chosen = Stack(settings, tmp_path / "m", env={**base, "TICKET_LOCK_LIFETIME": "40"})
    assert chosen.child_env()["TICKET_LOCK_LIFETIME"] == "40"  # an operator's own value is kept


def test_a_long_folder_gets_its_control_socket_in_the_temporary_folder(tmp_path: Path) -> None:
    short = tmp_path / "var"
    assert socket_path(short) == short / "supervisor.sock"
    long = tmp_path / ("x" * 120)
    assert len(str(socket_path(long))) <= 100 and socket_path(long) == socket_path(long)


@pytest.mark.parametrize("argument", ["a\nb", "a ;b", "a #b"])
def test_what_supervisord_would_cut_short_is_refused(tmp_path: Path, argument: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        supervisor_config({"x": ["echo", argument]}, directory=tmp_path, log_dir=tmp_path, run_dir=tmp_path)


# --- supervision on stand-in programs -------------------------------------------------------


@dataclass
class StandIn(Stack):
    """The stack's supervision with other programs."""

    programs_to_run: dict[str, list[str]] = field(default_factory=dict)

    def commands(self) -> dict[str, list[str]]:
        return self.programs_to_run


def wait_until(condition: Callable[[], object], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_file = Path(f"/proc/{pid}/stat")
    return stat_file.exists() and stat_file.read_text().split()[2] != "Z"


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[Callable[..., StandIn]]:
    started: list[StandIn] = []

    def start(programs: dict[str, list[str]], **policies: Policy) -> StandIn:
        settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var")})
        stack = StandIn(settings, tmp_path / "m", policies=policies)
        stack.programs_to_run = programs
        stack.start()
        started.append(stack)
        wait_until(lambda: len(stack.programs()) == len(programs))
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.mark.slow
def test_a_killed_program_is_restarted_and_that_is_logged(stand_in: Callable[..., StandIn]) -> None:
    stack = stand_in({"gateway": SLEEP}, gateway=QUICK)
    wait_until(lambda: stack.programs()["gateway"]["statename"] == "RUNNING")
    first = stack.pid("gateway")
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: stack.pid("gateway") not in (None, first))
    wait_until(lambda: stack.programs()["gateway"]["statename"] == "RUNNING")
    stack.raise_if_dead()
    ctl = subprocess.run([*shlex.split(supervisorctl(stack)), "status"], capture_output=True, text=True)
    assert ctl.returncode == 0 and f"RUNNING   pid {stack.pid('gateway')}," in ctl.stdout, ctl
    anonymous = xmlrpc.client.ServerProxy(
        "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{socket_path(stack.run_dir)}")
    )
    with pytest.raises(xmlrpc.client.ProtocolError, match="401"):
        anonymous.supervisor.getState()
    log = (stack.logs / "supervisord.log").read_text()
    assert "exited: gateway (terminated by SIGKILL; not expected)" in log
    assert log.count("spawned: 'gateway'") == 2


@pytest.mark.slow
def test_a_program_that_keeps_failing_is_given_up_and_reported_once(
    stand_in: Callable[..., StandIn], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = stand_in({"gateway": SLEEP, "rasa": FAIL}, gateway=QUICK, rasa=QUICK)
    wait_until(lambda: stack.given_up() == ["rasa"])
    assert check(stack, set()) == {"rasa"}  # the gateway apologises meanwhile: keep running
    assert check(stack, {"rasa"}) == {"rasa"}
    err = capsys.readouterr().err
    assert err.count("rasa kept failing at start") == 1
    assert f"-c {stack.config_path} start rasa" in err
    with pytest.raises(RuntimeError, match="rasa keeps failing"):
        stack.raise_if_dead()


@pytest.mark.slow
def test_without_a_gateway_the_launcher_gives_up(stand_in: Callable[..., StandIn]) -> None:
    stack = stand_in({"gateway": FAIL}, gateway=QUICK)
    wait_until(lambda: stack.given_up() == ["gateway"])
    with pytest.raises(RuntimeError, match="gateway keeps failing"):
        check(stack, set())


@pytest.mark.slow
def test_stop_ends_each_program_with_its_children_and_a_second_run_is_refused_meanwhile(
    stand_in: Callable[..., StandIn],
) -> None:
    forks = ["sh", "-c", f"{shlex.join(SLEEP)} & {shlex.join(SLEEP)}"]
    stack = stand_in({"gateway": forks, "rasa": SLEEP})
    wait_until(lambda: all(i["statename"] == "RUNNING" for i in stack.programs().values()))
    pids = [int(info["pid"]) for info in stack.programs().values()]
    children = [int(p) for p in Path(f"/proc/{pids[0]}/task/{pids[0]}/children").read_text().split()]
    children += [int(p) for p in Path(f"/proc/{pids[1]}/task/{pids[1]}/children").read_text().split()]
    assert children, "the shell runs one sleeper in the background"

    second = StandIn(stack.settings, stack.model)
    with pytest.raises(RuntimeError, match="still running"):
        second.start()

    supervisord = stack.supervisord
    assert supervisord is not None
    stack.stop()
    assert supervisord.returncode == 0
    assert not [pid for pid in [supervisord.pid, *pids, *children] if alive(pid)]
    stack.stop()  # twice is harmless
