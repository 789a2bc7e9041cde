"""The queries of a step's working set (``Queries.load_working_sets``) reach their rows through
indexes, for one instance and for a batch: SQLite's EXPLAIN QUERY PLAN names an index of the
instance's rows for every read of ``tasks`` and ``timers``, never a scan of a table or the
store-wide status indexes (which would cost the store's size, where the rows a step needs are
few)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from frontdesk.store import SQLiteStore
from frontdesk.store.sql import LATEST_TASK, SELECT_HEAD, armed_timers_sql, open_tasks_sql
from frontdesk.store.sqlite import SQLITE


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A migrated, empty store's file (SQLite plans from the schema, not from statistics)."""
    path = tmp_path_factory.mktemp("plans") / "frontdesk.db"
    with SQLiteStore(path) as store:
        store.migrate()
    with closing(sqlite3.connect(path)) as opened:
        yield opened


def plan(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[str]:
    with closing(conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)) as rows:
        return [str(row[3]) for row in rows]


def reads(steps: list[str]) -> list[str]:
    """The steps that read ``tasks`` or ``timers`` (by their names or aliases)."""
    return [s for s in steps if s.startswith(("SEARCH", "SCAN"))
            and s.split()[1] in ("tasks", "timers", "t", "x")]


@pytest.mark.parametrize("count", [1, 200])
def test_working_set_queries_use_the_instance_indexes(conn: sqlite3.Connection,
                                                      count: int) -> None:
    marks = ", ".join("?" * count)
    ids = tuple(f"i{n}" for n in range(count))
    join = SQLITE.outer_join_first
    tasks = reads(plan(conn, open_tasks_sql(marks, join), ids))
    timers = reads(plan(conn, armed_timers_sql(marks, join), ids))
    head = reads(plan(conn, f"{SELECT_HEAD} WHERE id IN ({marks})", ids))
    assert tasks == ["SEARCH t USING INDEX tasks_open (instance=?)"], tasks
    assert timers == ["SEARCH t USING INDEX timers_armed (instance=?)"], timers
    assert head == ["SEARCH tasks USING COVERING INDEX tasks_instance (instance=?)",
                    "SEARCH timers USING COVERING INDEX timers_instance (instance=?)"], head


def test_the_latest_occurrence_is_read_backwards_by_seq(conn: sqlite3.Connection) -> None:
    """``done('task')`` of a working set reads the instance's rows newest first, and stops at
    the first of that task: no sort, no scan of the table."""
    steps = plan(conn, LATEST_TASK, ("i0", "intake"))
    assert steps == ["SEARCH tasks USING INDEX tasks_instance (instance=?)"], steps
