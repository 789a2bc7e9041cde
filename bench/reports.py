"""``report denials`` and ``report workload`` on the large store against a plain SQL aggregate
over the same rows, grouped the same way, measured in alternation in one process; and the
peak memory the report's evaluation allocates (tracemalloc), which must not grow with the
store."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import Result, alternate

# The first table of the denials report, as one statement: the same instances, the same
# groups, the same counts and sums.
DENIALS_SQL = """
SELECT json_extract(vars, '$.payer_type'), json_extract(vars, '$.group'),
       json_extract(vars, '$.carc'), COUNT(*), SUM(json_extract(vars, '$.amount')),
       SUM(CASE WHEN outcome = 'paid' THEN json_extract(vars, '$.paid_amount') END),
       SUM(CASE WHEN outcome = 'written_off' THEN json_extract(vars, '$.amount') END),
       SUM(status = 'open'), SUM(json_extract(vars, '$.deadline_met') IS NOT NULL),
       SUM(json_extract(vars, '$.deadline_missed') IS NOT NULL)
FROM instances WHERE playbook = 'claim-denial' GROUP BY 1, 2, 3
"""
# The workload report's two tables: by person and by role.
WORKLOAD_SQL = ("""
SELECT {key}, SUM(status = 'open'), SUM(status = 'open' AND due_date < ?),
       SUM(status = 'done')
FROM tasks WHERE status IN ('open', 'done') GROUP BY {key}
""")


def _sql_runner(db: Path, name: str, today: str) -> Callable[[], Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)

    def denials() -> Any:
        return conn.execute(DENIALS_SQL).fetchall()

    def workload() -> Any:
        return [conn.execute(WORKLOAD_SQL.format(key=key), (today,)).fetchall()
                for key in ("assignee", "role")]
    run = denials if name == "denials" else workload
    run.conn = conn  # type: ignore[attr-defined]
    return run


def report_figure(ctx: Any, name: str, engine_for: Callable[[Path], Any]) -> Result:
    """``report NAME`` evaluated in process on the large store: at most 2x the SQL."""
    from frontdesk.reports import build_report

    built = ctx.large()
    home = ctx.copy(built, f"report-{name}")
    engine = engine_for(home)
    today = engine.workspace.clock.now().astimezone(engine.workspace.tz).date().isoformat()
    sql = _sql_runner(home / "frontdesk.db", name, today)
    try:
        report = lambda: build_report(engine, name)  # noqa: E731
        report()  # warm: page cache, compiled playbooks
        sql()
        floor, figure = alternate([sql, report], ctx.settings.repeat)
        tracemalloc.start()
        result = report()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        sql.conn.close()  # type: ignore[attr-defined]
        engine.close()
    rows = sum(len(t.rows) for s in result.sections for t in s.tables)
    return Result(f"report-{name}", figure * 1000, floor * 1000, target=2.0,
                  note=f"{ctx.settings.large:,} instances, {rows} rows; floor: the SQL "
                       f"aggregate; peak Python memory {peak / 1e3:.0f} kB")
