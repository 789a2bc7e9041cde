"""The watchdog of a test PostgreSQL server: ``python postgres_watchdog.py SPEC``.

``PostgresServer.start`` (``frontdesk_testing.py``) starts it beside the server. It waits until
one of the watched processes (the pytest process that owns the server, and the xdist controller
above a worker) is gone, then stops the server (``pg_ctl stop -m immediate``) and deletes its
folder. A test run that ends normally stops the server itself and kills the watchdog first; a
run that is killed (SIGKILL, a CI timeout, a closed terminal) leaves neither a server nor a
folder behind.

Standard library only: it runs as its own process, in its own session, so that a Ctrl-C in the
terminal reaches pytest (which cleans up) and not the watchdog (which would then be gone).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def wait_for_any_exit(pids: list[int]) -> None:
    """Return as soon as one of ``pids`` has exited (a pidfd each; polling where there is none)."""
    fds = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                return  # already gone
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        poller.poll()
    except (AttributeError, OSError):  # no pidfd (an old kernel or not Linux): poll the pids
        while True:
            for pid in pids:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                except PermissionError:
                    pass  # alive, owned by another user
            time.sleep(0.2)
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
    wait_for_any_exit([int(pid) for pid in spec["pids"]])
    stop_server(spec["pg_ctl"], Path(spec["data"]), spec["run_as"])
    shutil.rmtree(spec["root"], ignore_errors=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
