"""Many writers at once: 8 processes each fire 200 events at 50 instances of one playbook, with
many collisions, on each store. Afterwards every instance's history is a path of its playbook,
no event was applied twice or lost, the audit log holds exactly the records of the commands that
succeeded, and ``audit verify`` passes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from frontdesk.service import Engine
from frontdesk.settings import Options

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

WORKERS, EVENTS, INSTANCES = 8, 200, 50
WORKER = Path(__file__).with_name("concurrency_worker.py")
PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks" / "concurrency"
RING = ["s0", "s1", "s2", "s3"]
EDGES = {(s, "advance"): RING[(i + 1) % 4] for i, s in enumerate(RING)}
EDGES |= {(s, "back"): RING[i - 1] for i, s in enumerate(RING) if i}


def export(fd: Frontdesk) -> list[dict[str, Any]]:
    return [json.loads(line) for line in fd.ok("audit", "export").splitlines()]


def commands_in(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The log cut into the records of each command: a transition and the task records after
    it (one change's records are contiguous, since appends are serialised)."""
    runs: list[list[dict[str, Any]]] = []
    for record in records:
        if record["action"] == "transition":
            runs.append([record])
        else:
            assert runs, f"record {record['seq']} ({record['action']}) follows no transition"
            runs[-1].append(record)
    return runs


@pytest.mark.slow
def test_eight_writers_keep_every_history_a_valid_path(frontdesk: Frontdesk,
                                                       figures: Figures) -> None:
    fd = frontdesk
    engine = Engine(Options(home=str(fd.home), db=fd.store_url, now=fd.now,
                            playbooks=(str(PLAYBOOKS),), env={}))
    try:
        ids = [engine.start("rt-cycle", {}, fd.user).id for _ in range(INSTANCES)]
    finally:
        engine.close()
    baseline = len(export(fd))

    began = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, str(WORKER), fd.store_url, str(fd.home),
                                 str(PLAYBOOKS), str(seed), str(EVENTS), *ids],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed in range(WORKERS)]
    reports = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr
        reports.append(json.loads(stdout))
    elapsed = time.perf_counter() - began

    applied = Counter(tuple(pair) for r in reports for pair in r["applied"])
    refused = sum(r["refused"] for r in reports)
    conflicts = sum(r["conflicts"] for r in reports)
    assert sum(applied.values()) + refused + conflicts == WORKERS * EVENTS

    verify = fd.run("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    records = export(fd)
    runs = commands_in(records[baseline:])
    # Exactly the successful commands wrote records: one run each, none twice, none lost.
    assert len(runs) == sum(applied.values())
    assert Counter((run[0]["instance"], run[0]["event"]) for run in runs) == applied
    state = dict.fromkeys(ids, "s0")
    for run in runs:
        move = run[0]
        instance = move["instance"]
        assert move["from"] == state[instance], move  # a path: each move starts where it was
        assert EDGES[(move["from"], move["event"])] == move["to"], move
        assert [(r["instance"], r["action"]) for r in run[1:]] == [
            (instance, "set"), (instance, "task_cancelled"), (instance, "task_created")], run
        state[instance] = move["to"]
    stored = dict(fd.query("SELECT id, state FROM instances WHERE playbook = 'rt-cycle'"))
    assert stored == state
    counters = dict(fd.query("SELECT id, vars FROM instances WHERE playbook = 'rt-cycle'"))
    moves = Counter(run[0]["instance"] for run in runs)
    assert {i: json.loads(v)["n"] for i, v in counters.items()} == {i: moves[i] for i in ids}

    figures.add(f"concurrency {fd.store_kind}",
                f"{WORKERS} processes x {EVENTS} events on {INSTANCES} instances: "
                f"{sum(applied.values())} applied, {refused} refused, {conflicts} conflicts in "
                f"{elapsed:.1f} s = {WORKERS * EVENTS / elapsed:.0f} events/s "
                f"({sum(applied.values()) / elapsed:.0f} applied/s)")
