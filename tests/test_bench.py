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


@pytest.mark.slow
def test_bench_stores_are_simulated_and_verify_in_full(tmp_path: Path) -> None:
    """Every kind of store the benchmark builds is simulated, ends before the benchmark's
    --now (its commands are never behind the log) and passes a full audit verify, also when
    the hot instances or the audit records span more than one transaction."""
    from frontdesk.audit import format_at
    from frontdesk.store import open_store
    from frontdesk.verification import prove

    from bench import fixtures

    specs = [fixtures.StoreSpec(30, hot=10),
             fixtures.StoreSpec(fixtures.BATCH + 50, hot=fixtures.BATCH + 50,
                                mix=("intake",), history=False, label="intake-due"),
             fixtures.AuditSpec(fixtures.AUDIT_BATCH + 500)]
    for spec in specs:
        built = fixtures.cached_home(spec, tmp_path / "stores")
        store = open_store(f"sqlite:///{built.db}", read_only=True)
        try:
            proof = prove(store)
        finally:
            store.close()
        assert proof.clock == "simulated", spec
        assert proof.last_at is not None and proof.last_at < format_at(fixtures.base_time())
        assert proof.instances == built.counts["open instances"], spec
        if isinstance(spec, fixtures.AuditSpec):
            assert proof.records >= spec.records


@pytest.mark.slow
def test_profile_splits_each_workload(tmp_path: Path) -> None:
    """``python -m bench.profile`` prints, for each workload, the time per item, the SQL
    statements by kind (a commit among them) and the Python by subsystem."""
    for block in _workload_blocks(tmp_path, "bench.profile"):
        lines = block.splitlines()
        assert any(line.split()[:2] == ["sql", "COMMIT"] for line in lines), block
        groups = [line for line in lines if line.startswith("  py ")]
        assert len(groups) >= 5 and all(line.rstrip().endswith("%)") for line in groups)


@pytest.mark.slow
def test_phases_add_up_to_the_time_per_item(tmp_path: Path) -> None:
    """``python -m bench.phases`` prints, for each workload, its time per item split into
    phases (the commit, SQL statements, the step, the audit chain ...) that add up to it."""
    for block in _workload_blocks(tmp_path, "bench.phases"):
        head, *lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        total = int(head.split(": ")[1].split(" us")[0].replace(",", ""))
        phases = {line[:78].strip(): int(line[78:].split(" us")[0]) for line in lines}
        assert {"commit (BEGIN + COMMIT: WAL write and fsync)",
                "audit chain (records, canonical JSON, SHA-256)"} <= set(phases), block
        assert any(name.startswith("step:") for name in phases), block
        assert abs(sum(phases.values()) - total) <= len(phases), block


def test_clocked_phases_leave_the_code_as_it_was() -> None:
    """The clocks wrap the engine's entry points only inside the block."""
    from frontdesk import audit
    from frontdesk.service import Engine

    from bench.phases import Clocks, clocked

    fire, chain = Engine.fire, audit.chain_with_data
    with clocked(Clocks()):
        assert Engine.fire is not fire and audit.chain_with_data is not chain
    assert Engine.fire is fire and audit.chain_with_data is chain


def _workload_blocks(tmp_path: Path, module: str) -> list[str]:
    """The output blocks of ``python -m <module> --items 30``, one per workload, in the order
    event, spiff, fire --all, tick."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_BENCH_CACHE"] = str(tmp_path / "stores")
    result = subprocess.run([sys.executable, "-m", module, "--items", "30"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    blocks = [b for b in result.stdout.split("\n\n") if "us per item over 30 items" in b]
    assert [b.split()[0] for b in blocks] == ["event", "spiff", "fire", "tick"]
    return blocks
