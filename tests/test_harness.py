"""The test harness itself: the in-process runner answers as the console script does, and a
killed test run leaves no PostgreSQL server and no server folder behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from frontdesk_testing import CliResult
from postgres_server import postgres_bin_dir, postgres_user

TESTS = Path(__file__).resolve().parent
Run = Callable[..., subprocess.CompletedProcess[str]]

SAME_ANSWERS = [
    ("--version",),
    ("validate", str(TESTS / "playbooks" / "valid" / "minimal.yaml")),
    ("validate", str(TESTS / "playbooks" / "invalid" / "many-mistakes-claim" / "playbook.yaml")),
    ("validate", "--format", "json", "missing.yaml"),
    ("no-such-command",),
    ("start", "--bogus-option"),
    ("show", "nosuch"),
    ("fire", "nosuch", "go"),
    ("--now", "not-a-time", "list"),
    ("audit", "verify"),
]


@pytest.mark.parametrize("args", SAME_ANSWERS, ids=" ".join)
def test_in_process_runner_answers_as_the_console_script(
        args: tuple[str, ...], run_cli: Callable[..., CliResult], run_frontdesk: Run,
        tmp_path: Path) -> None:
    """Exit code, stdout and stderr of ``run_cli`` (``frontdesk.cli.main`` in this process) are
    those of the installed ``frontdesk`` process, errors included."""
    in_process = run_cli(*args, cwd=tmp_path)
    process = run_frontdesk(*args, cwd=tmp_path)
    assert (in_process.returncode, in_process.stdout, in_process.stderr) == (
        process.returncode, process.stdout, process.stderr.replace("subprocess-home",
                                                                   "cli-home"))


def test_in_process_runner_restores_the_process(run_cli: Callable[..., CliResult],
                                                tmp_path: Path) -> None:
    """After a command, this process has its own environment, directory and streams back."""
    before = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
    assert run_cli("show", "nosuch", cwd=tmp_path).returncode == 8  # no store there
    assert (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr) == before


# The child: start a server as the suite does, say where it is, then wait to be killed (or,
# with "stop", stop it as the fixture's teardown does and exit).
CHILD = """\
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from postgres_server import start_postgres
server = start_postgres(Path(sys.argv[2]))
print(json.dumps({"port": server.port, "root": str(server.root), "data": str(server.data),
                  "pid": os.getpid()}), flush=True)
if sys.argv[3] == "stop":
    server.stop()
    sys.exit(0)
time.sleep(600)
"""


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("ending", ["stopped", "test process killed",
                                    "xdist controller killed"])
def test_a_run_leaves_no_postgres_server(ending: str, tmp_path: Path) -> None:
    """A process that started the suite's PostgreSQL server stops it as the fixture does, or is
    SIGKILLed (or, for an xdist worker, the controller above it is): within seconds the
    server's port is closed and its folder is gone."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no PostgreSQL server binary (initdb, pg_ctl) was found")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    argv = [sys.executable, "-c", CHILD, str(TESTS), str(bin_dir),
            "stop" if ending == "stopped" else "wait"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    if ending == "xdist controller killed":  # a worker under a controller, which dies
        env["PYTEST_XDIST_WORKER"] = "gw0"
        argv = [sys.executable, "-c", "import subprocess, sys, time\n"
                "subprocess.Popen(sys.argv[1:])\ntime.sleep(600)\n", *argv]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    server: dict[str, object] = {}
    try:
        assert process.stdout is not None
        server = json.loads(process.stdout.readline())
        port, root = int(str(server["port"])), Path(str(server["root"]))
        if ending != "stopped":
            assert port_open(port) and root.is_dir()
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while (port_open(port) or root.exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not port_open(port), "the server still listens"
        assert not root.exists(), f"{root} is still there"
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        if server and ending == "xdist controller killed":  # the worker outlives it
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(str(server["pid"])), signal.SIGKILL)
        if server and Path(str(server["root"])).exists():  # clean up after a failure
            subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(server["data"]), "-m",
                            "immediate", "stop"], capture_output=True, check=False,
                           user=postgres_user())
