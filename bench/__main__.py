"""Print the first figures: validate on the shipped playbooks, one `fire` subprocess, and
in-process fires; each the median of repeated runs."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = """\
playbook: bench-loop
version: 1
title: Benchmark loop
roles: [staff]
initial: a
states:
  a:
    tasks: [{id: ta, title: "Task A", role: staff, due: 1 day}]
    on: {go: {to: b, when: "n >= 0", set: {n: "{{ n + 1 }}"}}}
  b:
    tasks: [{id: tb, title: "Task B", role: staff, due: 2 days}]
    on: {go: {to: a, set: {n: "{{ n + 1 }}"}}}
inputs:
  n: {type: integer, default: 0}
"""


def _frontdesk() -> list[str]:
    exe = shutil.which("frontdesk")
    return [exe] if exe else [sys.executable, str(REPO / "cli.py")]


def _median_ms(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "pb").mkdir()
        (home / "pb" / "bench-loop.yaml").write_text(PLAYBOOK)
        env = {**os.environ, "FRONTDESK_HOME": str(home), "FRONTDESK_NOW": "2026-01-05T09:00",
               "FRONTDESK_USER": "bench"}
        env.pop("FRONTDESK_DB", None)
        cmd = _frontdesk()

        def run(*args: str) -> str:
            return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True,
                                  check=True).stdout

        floor = _median_ms(lambda: subprocess.run([sys.executable, "-c", "import click"],
                                                  check=True), 10)
        print(f"python -c 'import click'                  {floor:8.1f} ms (floor)")
        help_ms = _median_ms(lambda: run("--help"), 10)
        print(f"frontdesk --help                          {help_ms:8.1f} ms  "
              f"({help_ms / floor:.2f}x floor)")
        validate_ms = _median_ms(lambda: run("validate", str(REPO / "playbooks")), 10)
        print(f"frontdesk validate (4 shipped playbooks)  {validate_ms:8.1f} ms")
        instance = run("--playbooks", str(home / "pb"), "start", "bench-loop").strip()
        fire_ms = _median_ms(lambda: run("fire", instance, "go"), 10)
        print(f"frontdesk fire (subprocess, SQLite)       {fire_ms:8.1f} ms")

        from engine.service import Engine
        from engine.settings import Options

        engine = Engine(Options(home=str(home), playbooks=(str(home / "pb"),), env=env))
        target = engine.start("bench-loop", {}, "bench").id
        began = time.perf_counter()
        for _ in range(1000):
            engine.fire(target, "go", {}, "bench")
        per_fire = (time.perf_counter() - began) * 1000 / 1000
        engine.close()
        print(f"in-process fire x1000 (one txn each)      {per_fire:8.2f} ms per fire "
              f"({1000 / per_fire:,.0f} per s)")


if __name__ == "__main__":
    main()
