"""The peer engine: SpiffWorkflow running ``three_tasks.bpmn`` with the same persistence.

Per instance: create the workflow from the spec (the BPMN is parsed once), run it to the first
user task, complete the three user tasks one after the other, and after the start and after
each task serialise the workflow to JSON and write it to SQLite in its own transaction, in WAL
mode at the same ``synchronous`` setting as the frontdesk store. That is what frontdesk does
for ``start`` + three ``done`` commands (four transactions), so the two are compared like for
like. SpiffWorkflow is an optional extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from .common import BENCH

BPMN = BENCH / "three_tasks.bpmn"


def available() -> str | None:
    """None when SpiffWorkflow can be imported, else why not."""
    try:
        import SpiffWorkflow  # noqa: F401
    except ImportError:
        return "SpiffWorkflow is not installed (pip install -e '.[bench]')"
    return None


def runner(db: Path, synchronous: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(run_one_instance, close)`` for SpiffWorkflow writing to the SQLite file ``db``."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("three_tasks")
    serializer = BpmnWorkflowSerializer()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE IF NOT EXISTS workflows (id INTEGER PRIMARY KEY, state TEXT)")
    counter = [0]

    def save(workflow_id: int, workflow: Any, insert: bool) -> None:
        state = serializer.serialize_json(workflow)
        conn.execute("BEGIN IMMEDIATE")
        if insert:
            conn.execute("INSERT INTO workflows (id, state) VALUES (?, ?)", (workflow_id, state))
        else:
            conn.execute("UPDATE workflows SET state = ? WHERE id = ?", (state, workflow_id))
        conn.execute("COMMIT")

    def one() -> None:
        counter[0] += 1
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        save(counter[0], workflow, True)
        for _ in range(3):
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.run()
            workflow.do_engine_steps()
            save(counter[0], workflow, False)
        if not workflow.completed:
            raise RuntimeError("the SpiffWorkflow instance did not complete")

    def close() -> None:
        with closing(conn):
            pass

    return one, close
