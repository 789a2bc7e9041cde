"""Shared pieces of the benchmark: timing, subprocesses, the result line and its verdict.

Every figure is printed next to a floor measured in the same run, so the ratio stays meaningful
on a noisy shared machine. Figures and floors are medians of repeated runs, and when both are
measured by repetition they are measured in alternation (floor, figure, floor, figure, ...) so
that a burst of load from a neighbour hits both alike.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent


@dataclass
class Settings:
    """How big and how often: chosen on the command line (``--quick`` shrinks everything)."""

    repeat: int = 7
    heavy_repeat: int = 3  # figures that take seconds each (10k items, 1M records)
    small: int = 1_000  # instances in the small store of the flatness figures
    large: int = 100_000  # instances in the large store
    hot: int = 200  # instances with work due "today" in every store (the same ones)
    due_items: int = 10_000  # due items for fire --all and tick
    records: int = 1_000_000  # audit records for audit verify
    events: int = 1_000  # in-process events
    spiff_instances: int = 200
    cache: Path | None = None
    rebuild: bool = False
    quick: bool = False


@dataclass
class Result:
    """One printed line: a figure, its floor, and how their ratio compares with the target."""

    name: str
    figure: float | None = None
    floor: float | None = None
    unit: str = "ms"
    floor_unit: str | None = None
    target: float | None = None
    higher_is_better: bool = False  # rates: figure/floor must be >= target
    note: str = ""
    skipped: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.floor:
            return None
        return self.figure / self.floor

    @property
    def verdict(self) -> str:
        if self.skipped is not None:
            return "SKIP"
        ratio = self.ratio
        if ratio is None or self.target is None:
            return "info"
        met = ratio >= self.target if self.higher_is_better else ratio <= self.target
        return "ok" if met else "MISS"

    def line(self) -> str:
        target = "" if self.target is None else (
            f"{'>=' if self.higher_is_better else '<='}{self.target:.2f}")
        if self.skipped is not None:
            return f"{self.name:<14} {'-':>16} {'-':>16} {'-':>8}  {target:<7} SKIP  {self.skipped}"
        ratio = self.ratio
        ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
        return (f"{self.name:<14} {_amount(self.figure, self.unit):>16} "
                f"{_amount(self.floor, self.floor_unit or self.unit):>16} {ratio_text:>8}  "
                f"{target:<7} {self.verdict:<4}  {self.note}").rstrip()


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value:,.0f} {unit}"
    if value >= 100:
        return f"{value:.1f} {unit}"
    return f"{value:.3g} {unit}"


HEADER = (f"{'name':<14} {'figure':>16} {'floor':>16} {'ratio':>8}  {'target':<7} "
          f"{'ok?':<4}  note")


# -- timing ------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(run: Callable[[], object]) -> float:
    """Seconds one call of ``run`` takes."""
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def alternate(runs: Sequence[Callable[[], object]], repeat: int,
              prepare: Callable[[], object] | None = None) -> list[float]:
    """Median seconds of each of ``runs``, measured in alternation ``repeat`` times.

    ``prepare`` (untimed) runs before every timed call, e.g. to copy a store a run changes.
    """
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for i, run in enumerate(runs):
            if prepare is not None:
                prepare()
            times[i].append(timed(run))
    return [median(t) for t in times]


# -- subprocesses ------------------------------------------------------------------------------
def frontdesk_argv() -> list[str]:
    """The ``frontdesk`` console script next to this interpreter, else ``python cli.py``."""
    found = shutil.which("frontdesk", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, str(REPO / "cli.py")]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any FRONTDESK_ variable of the caller, plus ``extra``.

    Bytecode is written and reused (``PYTHONDONTWRITEBYTECODE`` dropped), as in an installed
    frontdesk: pip compiles a wheel's modules when it installs them, and a command that
    compiled every engine module from source each time would measure the compiler.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FRONTDESK_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


class CommandFailed(RuntimeError):
    """A command the benchmark runs exited with an error."""


def run(argv: Sequence[str], env: dict[str, str] | None = None,
        ok: Sequence[int] = (0,)) -> str:
    """Run a command to completion; its stdout. Raises ``CommandFailed`` on an exit not in ok."""
    # cwd: the repository, never the caller's folder (``python -c`` imports from it first)
    proc = subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False,
                          cwd=REPO)
    if proc.returncode not in ok:
        raise CommandFailed(f"{' '.join(argv)} exited {proc.returncode}: "
                            f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def runner(argv: Sequence[str], env: dict[str, str] | None = None) -> Callable[[], str]:
    """A no-argument callable running ``argv`` (for :func:`alternate`)."""
    return lambda: run(argv, env)


_RSS_LAUNCHER = """\
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def max_rss_mb(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Peak resident memory (MB) of one run of ``argv``.

    A small launcher process starts it and reads ``wait4``: a child forked straight from this
    (big) process would count the pages it shared with us before ``exec``.
    """
    out = run([sys.executable, "-c", _RSS_LAUNCHER, *argv], env)
    return int(out.split()[-1]) / 1024  # kilobytes on Linux
