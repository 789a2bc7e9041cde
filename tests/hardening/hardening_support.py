"""Helpers of the hardening tests: ``frontdesk`` under resource limits and the check that a
command's stderr is a clean error (imported by the test modules of this folder; commands run
in this process with ``frontdesk_testing.run_main``)."""

from __future__ import annotations

import re
import resource
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 512 * 1024 * 1024  # address space of one frontdesk process (it needs ~150 MB)
CPU_LIMIT = 30  # seconds of CPU of one frontdesk process
LOCATED = re.compile(r"^\s*\S.*:\d+:\d+: (error|warning)\[[\w-]+\]: ")
EXIT_CODES = {0, 2, 3, 4, 5, 6, 7, 8}  # documented codes; 1 (internal error) is a bug here


def limit_resources() -> None:
    """``preexec_fn`` of hostile subprocesses: a runaway is killed (or gets a MemoryError)
    instead of taking the machine, and the test sees a failure."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def run_limited(fd: Frontdesk, *args: str,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``frontdesk ARGS`` like ``fd.run`` but under ``limit_resources``."""
    return subprocess.run(fd.command(args), env={**fd.env(), **(env or {})},
                          capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=limit_resources)


def clean_stderr_problems(stderr: str, code: int) -> list[str]:
    """What is wrong with a command's stderr: a traceback, or an error line that is neither
    ``frontdesk: error: ...``, its indented continuation, nor a located ``path:line:col:`` issue.
    A successful command may print notes and warnings."""
    problems = []
    if "Traceback" in stderr:
        problems.append("traceback on stderr")
    if code == 0 or not stderr:
        return problems
    lines = stderr.splitlines()
    summary = re.compile(r"^\d+ files? checked: ")  # validate's last line
    if not (lines[0].startswith("frontdesk: error:") or LOCATED.match(lines[0])
            or summary.match(lines[0])):
        problems.append(f"first stderr line is not an error line: {lines[0]!r}")
    for line in lines[1:]:
        if not (line.startswith(("  ", "frontdesk: error:")) or LOCATED.match(line)
                or summary.match(line)):
            problems.append(f"unexpected stderr line: {line!r}")
    return problems


def store_dump(db: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every table of a SQLite store with its rows in rowid order (to compare before/after)."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall())
                for t in tables]
