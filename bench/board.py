"""The web board's figures: *My day* and an instance page served by ``frontdesk serve``.

Each store (the small and the large one of the flatness figures, copied) gets a person holding
the role the ``today-flat`` figure lists (``front_desk``) and a board password; a server runs
on each at the benchmark's ``--now``, on a free loopback port. One logged-in HTTP/1.1
connection per server asks, in alternation, for My day, the page of the intake with the
longest history (the same instance in both stores), and the board's minimal page
(``/healthz``: Flask's own routing and response on the same server, no store, no template).

Four figures from the one set of medians: My day and the instance page on the large store
against the small store (at most 1.5x: the store's size must not show), and against the
minimal page on the same server (at most 3x: what the board adds to the framework). Nothing
changes the stores while they are measured, so My day is answered from the rows the server
keeps while the audit head stands still (``frontdesk.web.tasklists``), as an office's
reloads between changes are; the first load after a change reads the store.
"""

from __future__ import annotations

import http.client
import re
import sqlite3
import subprocess
import time
import urllib.parse
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .common import Result, clean_env, frontdesk_argv, median
from .fixtures import BASE_TEXT, Built

PERSON = "bench"
ROLE = "front_desk"
PASSWORD = "bench board password"
_LISTENING = re.compile(r"the board is at http://127\.0\.0\.1:(\d+)/")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Server:
    """One ``frontdesk serve`` and a logged-in keep-alive connection to it."""

    process: subprocess.Popen[str]
    conn: http.client.HTTPConnection
    cookie: str = ""

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path, headers={"Cookie": self.cookie} if self.cookie else {})
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status}")
        return body

    def login(self) -> None:
        self.conn.request("GET", "/login")
        response = self.conn.getresponse()
        page = response.read().decode()
        token = response.getheader("Set-Cookie", "").split(";")[0]
        csrf = _CSRF.search(page)
        assert csrf is not None
        form = urllib.parse.urlencode({"csrf": csrf.group(1), "person": PERSON,
                                       "password": PASSWORD})
        self.conn.request("POST", "/login", body=form, headers={
            "Cookie": token, "Content-Type": "application/x-www-form-urlencoded"})
        response = self.conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie", "")
        if response.status != 302 or "frontdesk_session=" not in cookie:
            raise RuntimeError(f"the bench person could not log in (HTTP {response.status})")
        self.cookie = cookie.split(";")[0]

    def stop(self) -> None:
        self.conn.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def prepare(home: Path) -> None:
    """Give the copied home a person (the role today-flat lists) and their board password."""
    practice = home / "practice.yaml"
    practice.write_text(practice.read_text() + f"people:\n  {PERSON}: {{roles: [{ROLE}]}}\n")
    env = clean_env(FRONTDESK_HOME=str(home))
    subprocess.run([*frontdesk_argv(), "passwd", PERSON], input=PASSWORD + "\n", env=env,
                   text=True, capture_output=True, check=True, timeout=120)


def start(home: Path) -> Server:
    """``frontdesk serve`` on ``home`` at the benchmark's clock, logged in."""
    env = clean_env(FRONTDESK_HOME=str(home), FRONTDESK_NOW=BASE_TEXT)
    process = subprocess.Popen([*frontdesk_argv(), "serve", "--port", "0"], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = _LISTENING.search(line)
        if found:
            server = Server(process, http.client.HTTPConnection("127.0.0.1", int(found.group(1)),
                                                                timeout=60))
            server.login()
            return server
        if not line:
            break
    process.kill()
    raise RuntimeError("frontdesk serve did not start")


def longest_intake(db: Path) -> str:
    """The intake with the longest history (the same id in every store)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT instance FROM audit_log WHERE playbook = 'intake' GROUP BY "
                           "instance ORDER BY count(*) DESC, instance LIMIT 1").fetchone()
    return str(row[0])


def measure(small: Path, large: Path, repeat: int) -> dict[str, float]:
    """Median seconds of each page on each server (alternating every request)."""
    instance = longest_intake(small / "frontdesk.db")
    servers = {"small": start(small), "large": start(large)}
    paths = {"day": "/", "instance": f"/instance/{instance}", "minimal": "/healthz"}
    times: dict[str, list[float]] = {}
    try:
        for server in servers.values():  # warm: caches, the diagram, the page cache
            for path in paths.values():
                server.get(path)
        for _ in range(repeat):
            for label, server in servers.items():
                for page, path in paths.items():
                    began = time.perf_counter()
                    server.get(path)
                    times.setdefault(f"{page}-{label}", []).append(
                        time.perf_counter() - began)
    finally:
        for server in servers.values():
            server.stop()
    return {key: median(values) for key, values in times.items()}


def figures(small: Built, large: Built, homes: tuple[Path, Path], repeat: int,
            sizes: str) -> list[Result]:
    """The four board figures (see the module's docstring)."""
    for home in homes:
        prepare(home)
    m = {k: v * 1000 for k, v in measure(homes[0], homes[1], repeat).items()}
    note = f"{sizes} (floor: the small store)"
    minimal = f"floor: /healthz on the large store's server ({m['minimal-small']:.2f} ms on " \
              "the small one)"
    return [
        Result("board-day-flat", m["day-large"], m["day-small"], target=1.5, note=note),
        Result("board-inst-flat", m["instance-large"], m["instance-small"], target=1.5,
               note=note),
        Result("board-day", m["day-large"], m["minimal-large"], target=3.0, note=minimal),
        Result("board-inst", m["instance-large"], m["minimal-large"], target=3.0,
               note=minimal),
    ]
