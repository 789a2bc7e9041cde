"""``report denials`` and ``report workload`` on the large store against plain SQL aggregates
over the same rows, grouped the same way, measured in alternation in one process; the peak
memory the report's evaluation allocates in Python (tracemalloc); and ``report-mem``, the peak
RSS of the ``report`` command (SQLite's memory included) on the large store against the small
one, which shows that memory does not grow with the store."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import Result, alternate, max_rss_mb, median


def _var(name: str) -> str:
    return f"json_extract(vars, '$.{name}')"


_CLAIMS = "FROM instances WHERE playbook = 'claim-denial'"
_AMOUNT, _PAID = _var("amount"), _var("paid_amount")
# The denials report computes four tables (playbooks/claim-denial.yaml), so its floor is the
# four grouped statements, one per table: the same instances, the same groups, a COUNT or a
# SUM per measure. A median has no plain SQL aggregate: its floor sums the same days instead.
DENIALS_SQL = [
    f"""SELECT {_var('payer_type')}, {_var('group')}, {_var('carc')}, COUNT(*), SUM({_AMOUNT}),
       SUM(CASE WHEN outcome = 'paid' THEN {_PAID} END),
       SUM(CASE WHEN outcome = 'written_off' THEN {_AMOUNT} END),
       SUM(status = 'open'),
       SUM(CASE WHEN status = 'closed' THEN julianday(updated_at) - julianday(started_at) END),
       SUM({_var('deadline_met')} IS NOT NULL), SUM({_var('deadline_missed')} IS NOT NULL)
    {_CLAIMS} GROUP BY 1, 2, 3""",
    f"""SELECT {_var('payer_type')}, SUM({_var('appeal_level_1')} IS NOT NULL),
       SUM({_var('appeal_level_1')} = 'won'), SUM({_var('appeal_level_2')} IS NOT NULL),
       SUM({_var('appeal_level_2')} = 'won')
    {_CLAIMS} GROUP BY 1""",
    f"""SELECT substr(json_extract(vars, '$.denied_on."$date"'), 1, 7), COUNT(*),
       SUM({_AMOUNT}), SUM(CASE WHEN outcome = 'paid' THEN {_PAID} END),
       SUM(CASE WHEN outcome = 'written_off' THEN {_AMOUNT} END),
       SUM({_var('deadline_missed')} IS NOT NULL)
    {_CLAIMS} GROUP BY 1""",
    f"SELECT outcome, COUNT(*), SUM({_AMOUNT}) {_CLAIMS} GROUP BY 1",
]
# The workload report's two tables: by person and by role.
WORKLOAD_SQL = ("""
SELECT {key}, SUM(status = 'open'), SUM(status = 'open' AND due_date < ?),
       SUM(status = 'done')
FROM tasks WHERE status IN ('open', 'done') GROUP BY {key}
""")


def _sql_runners(db: Path, name: str, today: str,
                 ) -> tuple[sqlite3.Connection, Callable[[], Any], Callable[[], Any] | None]:
    """The connection, the floor (every table of the report) and, for denials, its first
    table alone (the floor of earlier runs)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    if name == "denials":
        return (conn, lambda: [conn.execute(sql).fetchall() for sql in DENIALS_SQL],
                lambda: conn.execute(DENIALS_SQL[0]).fetchall())

    def table(key: str) -> Any:
        return conn.execute(WORKLOAD_SQL.format(key=key), (today,)).fetchall()
    return conn, lambda: [table(key) for key in ("assignee", "role")], None


def report_figure(ctx: Any, name: str, engine_for: Callable[[Path], Any]) -> Result:
    """``report NAME`` evaluated in process on the large store: at most 2x the SQL of its
    tables. For denials, the note gives the ratio to its first table's SQL alone, too."""
    from frontdesk.reports import build_report

    built = ctx.large()
    home = ctx.copy(built, f"report-{name}")
    engine = engine_for(home)
    today = engine.workspace.clock.now().astimezone(engine.workspace.tz).date().isoformat()
    conn, sql, first = _sql_runners(home / "frontdesk.db", name, today)
    try:
        report = lambda: build_report(engine, name)  # noqa: E731
        report()  # warm: page cache, compiled playbooks
        sql()
        floor, figure, *one = alternate([sql, report, *([first] if first else [])],
                                        ctx.settings.repeat)
        tracemalloc.start()
        result = report()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        conn.close()
        engine.close()
    rows = sum(len(t.rows) for s in result.sections for t in s.tables)
    tables = sum(len(s.tables) for s in result.sections)
    return Result(f"report-{name}", figure * 1000, floor * 1000, target=2.0,
                  note=f"{ctx.settings.large:,} instances, {tables} tables, {rows} rows; "
                       f"floor: the SQL of every table; "
                       + "".join(f"{figure / t:.2f}x the first table's SQL alone; " for t in one)
                       + f"peak Python memory (compiling and evaluating) {peak / 1e3:.0f} kB")


def report_memory_figure(ctx: Any, argv: list[str], env_for: Callable[[Path], Any]) -> Result:
    """Peak RSS of ``report denials`` and of ``report workload`` (the larger of the two) on
    the large store against the small one: at most 1.25x (memory does not grow with the
    store). Measured as the command runs, so SQLite's memory counts too."""
    homes = {"large": ctx.copy(ctx.large(), "report-mem-large"),
             "small": ctx.copy(ctx.small(), "report-mem-small")}
    peaks: dict[tuple[str, str], float] = {}
    for name in ("denials", "workload"):
        for size, home in homes.items():
            env = env_for(home)
            max_rss_mb([*argv, "report", name], env)  # warm: the home's caches
            peaks[name, size] = median([max_rss_mb([*argv, "report", name], env)
                                        for _ in range(ctx.settings.heavy_repeat)])
    figure = max(peaks["denials", "large"], peaks["workload", "large"])
    floor = max(peaks["denials", "small"], peaks["workload", "small"])
    detail = "; ".join(f"{name} {peaks[name, 'large']:.1f} vs {peaks[name, 'small']:.1f} MB"
                       for name in ("denials", "workload"))
    return Result("report-mem", figure, floor, unit="MB", target=1.25,
                  note=f"peak RSS of the report command, {ctx.settings.large:,} vs "
                       f"{ctx.settings.small:,} instances: {detail}")
