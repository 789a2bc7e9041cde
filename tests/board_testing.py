"""The web board under test: a practice home with passwords, ``frontdesk serve`` as a
subprocess on a free loopback port, and Debian's Chromium driven by Playwright (launched with
``executable_path``; Playwright never downloads a browser here). Shared by the browser tests
(tests/e2e/test_board.py) and the screenshot script (tests/board_screenshots.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from frontdesk_testing import CliResult, frontdesk_argv, run_main

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
BOARD_PLAYBOOKS = Path(__file__).resolve().parent / "playbooks" / "board"
PASSWORD = "correct horse battery"
_LISTENING = re.compile(r"the board is at (https?://\S+/)")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return "no Chromium (apt-get install chromium)"
    return None


def launch(playwright: object) -> object:
    """Debian's Chromium, headless, through ``playwright.chromium``."""
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        args=CHROMIUM_ARGS)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}


def frontdesk(home: Path, *args: str, now: str | None = None, stdin: str = "",
              playbooks: Path | None = BOARD_PLAYBOOKS) -> CliResult:
    """``frontdesk`` on ``home`` (``--now`` when given), run in this process as the console
    script runs it (``run_main``); never raises on its exit."""
    argv = ["--home", str(home)]
    if playbooks is not None:
        argv += ["--playbooks", str(playbooks)]
    if now is not None:
        argv += ["--now", now]
    return run_main([*argv, *args], _env(), stdin=stdin)


def set_passwords(home: Path, people: Sequence[str], playbooks: Path | None = BOARD_PLAYBOOKS
                  ) -> None:
    """Give each person the test password (``frontdesk passwd`` reading stdin)."""
    for person in people:
        done = frontdesk(home, "passwd", person, stdin=PASSWORD + "\n", playbooks=playbooks)
        assert done.returncode == 0, done.stderr


@dataclass
class BoardServer:
    """``frontdesk serve`` running as a subprocess; ``url`` is where it listens."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, home: Path, now: str | None = None,
              playbooks: Path | None = BOARD_PLAYBOOKS, extra: Sequence[str] = (),
              env: dict[str, str] | None = None) -> BoardServer:
        argv = [*frontdesk_argv(), "--home", str(home)]
        if playbooks is not None:
            argv += ["--playbooks", str(playbooks)]
        if now is not None:
            argv += ["--now", now]
        process = subprocess.Popen([*argv, "serve", "--port", "0", *extra],
                                   stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                   env=env if env is not None else _env())
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = _LISTENING.search(line)
            if found:
                return cls(process, found.group(1))
        process.kill()
        raise AssertionError("frontdesk serve did not start: " + "".join(lines))

    def stop(self) -> str:
        """Stop the server (SIGTERM, as systemd does); what it wrote to stderr since it
        started listening."""
        self.process.terminate()
        try:
            _out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
        return err or ""
