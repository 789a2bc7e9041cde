"""The watchdog of a test PostgreSQL server: ``python postgres_watchdog.py SPEC``.

``PostgresServer.start`` (``postgres_server.py``) starts it beside the server, with the read
end of a pipe as its standard input; the test process holds the write end. When that pipe
closes (the test process stopped the server, or died: SIGKILL, a CI timeout, a closed
terminal) or one of the watched processes exits (the xdist controller above a worker), it stops
the server (``pg_ctl stop -m immediate``) and deletes the server's folder. So a killed test run
leaves neither a server nor a folder behind, and a normal one does not wait for the folder's
thousands of files to be deleted.

Standard library only. It forks once so that the process the test started exits at once (the
test does not keep a running child), and it runs in a session of its own, so that a Ctrl-C in
the terminal reaches pytest and not the watchdog.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def wait_for_the_end(pids: list[int]) -> None:
    """Return when standard input reaches its end or one of ``pids`` has exited."""
    fds = []
    poller = select.poll()
    poller.register(sys.stdin.fileno(), select.POLLIN | select.POLLHUP)
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                return  # already gone
            poller.register(fds[-1], select.POLLIN)
        poller.poll()
    except (AttributeError, OSError):  # no pidfd (an old kernel): look at the pids now and then
        while not poller.poll(200):
            for pid in pids:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                except PermissionError:
                    pass  # alive, owned by another user
    finally:
        for fd in fds:
            os.close(fd)


def stop_server(pg_ctl: str, data: Path, run_as: str | None) -> None:
    """``pg_ctl stop -m immediate``; SIGKILL the postmaster if that did not stop it."""
    try:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop"],
                       capture_output=True, timeout=40, check=False, user=run_as)
    except subprocess.TimeoutExpired:
        pass
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        if b"postgres" in Path(f"/proc/{postmaster}/cmdline").read_bytes():
            os.kill(postmaster, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass  # stopped (its pid file is gone), or never started


def main(spec: dict[str, Any]) -> None:
    if os.fork():
        os._exit(0)  # the starter returns at once; the watchdog goes on in the child
    wait_for_the_end([int(pid) for pid in spec["pids"]])
    stop_server(spec["pg_ctl"], Path(spec["data"]), spec["run_as"])
    shutil.rmtree(spec["root"], ignore_errors=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
