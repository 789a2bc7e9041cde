"""``python -m bench --quick`` runs every figure end to end: a smoke test of the benchmark
script (stores built, commands run, lines printed). It asserts no time and no verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VERDICTS = {"ok", "MISS", "SKIP", "info"}


@pytest.mark.slow
def test_quick_bench_prints_every_figure(tmp_path: Path) -> None:
    """Each figure gets one line: name, figure, floor, ratio, target and a verdict."""
    from bench.figures import FIGURES

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_BENCH_CACHE"] = str(tmp_path / "stores")
    result = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()
             if line and not line.startswith("#")}
    assert lines.pop("name")[:6] == ["name", "figure", "floor", "ratio", "target", "ok?"]
    assert set(lines) == set(FIGURES)
    for name, fields in lines.items():
        assert VERDICTS & set(fields), (name, fields)
