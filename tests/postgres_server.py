"""A throwaway PostgreSQL server per test session: initdb and pg_ctl on a free port, in a
temporary folder of its own, no Docker. A watchdog process (``postgres_watchdog.py``) stops it
and deletes the folder when the session ends or the test process is killed."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True,
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WATCHDOG = Path(__file__).resolve().parent / "postgres_watchdog.py"


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster in a folder of its own; ``database()`` makes a fresh
    database and its URL. ``start_postgres()`` starts one. Its watchdog stops it and deletes
    the folder when ``stop()`` closes the watchdog's pipe, or when the test process dies."""

    bin_dir: Path
    root: Path  # the server's own folder (cluster, socket, log), deleted by stop()
    port: int
    run_as: str | None  # the OS user the server runs as when the tests run as root
    watchdog: int | None = None  # the write end of the watchdog's pipe

    @property
    def cluster(self) -> Path:
        return self.root / "cluster"  # owned by ``run_as``

    @property
    def data(self) -> Path:
        return self.cluster / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=True,
                       capture_output=True, text=True, timeout=120, user=self.run_as)

    def start(self) -> None:
        """Start the watchdog, then initdb and the server (on another free port if the one
        picked was taken in the meantime, as by another xdist worker's server)."""
        self.watchdog = start_watchdog(self)
        self.cluster.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.cluster, self.run_as)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):
            # Durability is what the tests do not measure: fsync off keeps the cores for tests.
            options = (f"-p {self.port} -k {self.cluster} -c listen_addresses=127.0.0.1 "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.cluster / "server.log"),
                          "-o", options, "-w", "-t", "60", "start")
                return
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = free_port()

    def stop(self) -> None:
        """Have the watchdog stop the server and delete its folder (tens of thousands of files
        after a session: the watchdog deletes them while this process goes on)."""
        if self.watchdog is not None:
            os.close(self.watchdog)
            self.watchdog = None

    def admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)


def start_watchdog(server: PostgresServer) -> int:
    """Start ``postgres_watchdog.py`` for ``server``; the write end of its pipe. When this
    process closes the pipe or dies (and, in an xdist worker, when the controller above it
    dies), the watchdog stops the server and deletes its folder."""
    pids = [os.getppid()] if os.environ.get("PYTEST_XDIST_WORKER") else []
    spec = {"pids": pids, "pg_ctl": str(server.bin_dir / "pg_ctl"), "data": str(server.data),
            "root": str(server.root), "run_as": server.run_as}
    read, write = os.pipe()  # not inherited by this process's other children
    try:
        subprocess.run([sys.executable, "-I", str(WATCHDOG), json.dumps(spec)], stdin=read,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       start_new_session=True, check=True, timeout=60)  # it forks and returns
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)
    return write


def postgres_user() -> str | None:
    """The OS user to run the server as: None, or (initdb refuses root) ``postgres``/``nobody``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return "nobody"


def start_postgres(bin_dir: Path) -> PostgresServer:
    """A new server on a free port, in a new temporary folder, watched (see ``start_watchdog``)."""
    root = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
    root.chmod(0o755)  # the server's user reaches its cluster folder through it
    server = PostgresServer(bin_dir, root, free_port(), postgres_user())
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
