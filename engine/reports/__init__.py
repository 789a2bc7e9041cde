"""Reports: the practice's figures, declared by playbooks and evaluated over the store.

``build_report(engine, name, ...)`` gathers the report ``name`` of every playbook on the search
path that declares it (or runs a built-in one: ``workload``, ``deadlines``) and returns a
:class:`ReportResult`; ``render_text``, ``render_csv``, ``render_json`` and ``render_html``
turn that into a document. The CLI (``frontdesk report``) and the web board call these two
steps and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..errors import NotFoundError, UsageError, did_you_mean
from ..loading.reports import BUILTIN_REPORTS
from ..model import Playbook
from .evaluate import Period, evaluate
from .html import render_html
from .render import render_csv, render_json, render_text
from .result import ReportResult

if TYPE_CHECKING:
    from ..service import Engine

__all__ = ["BUILTIN_REPORTS", "ReportResult", "available", "build_report", "render",
           "render_csv", "render_html", "render_json", "render_text"]

DEFAULT_DAYS = 60
MAX_DAYS = 3660


def _playbooks(engine: Engine) -> list[Playbook]:
    return [engine.playbooks.current(pid).playbook for pid in engine.playbooks.ids()]


def available(engine: Engine) -> dict[str, list[str]]:
    """Every report name -> the playbooks declaring it (built-ins: ``[]``), sorted."""
    names: dict[str, list[str]] = {name: [] for name in BUILTIN_REPORTS}
    for playbook in _playbooks(engine):
        for name in playbook.reports:
            if name not in BUILTIN_REPORTS:
                names.setdefault(name, []).append(playbook.id)
    return dict(sorted(names.items()))


def _period(engine: Engine, first: dt.date | None, last: dt.date | None) -> Period:
    if first is not None and last is not None and first > last:
        raise UsageError(f"--from {first} is after --to {last}")
    tz = engine.workspace.tz
    today = engine.workspace.clock.now().astimezone(tz).date()
    return Period(first, last, tz, today)


def build_report(engine: Engine, name: str, first: dt.date | None = None,
                 last: dt.date | None = None, days: int = DEFAULT_DAYS) -> ReportResult:
    """Evaluate report ``name`` over ``first``..``last`` (practice-local, inclusive; None:
    unbounded). ``days`` is the ``deadlines`` window when ``last`` is not given. Unknown
    names are exit 4 with a did-you-mean."""
    from .builtin import deadlines, workload

    if not 0 <= days <= MAX_DAYS:
        raise UsageError(f"--days must be from 0 to {MAX_DAYS} (ten years)")
    playbooks = _playbooks(engine)
    period = _period(engine, first, last)
    now = engine.workspace.clock.now().astimezone(engine.workspace.tz)
    store = engine.store
    if name == "workload":
        result = ReportResult(name, "Workload", first, last, now, [workload(store, period)])
    elif name == "deadlines":
        start = first or period.today
        end = last or start + dt.timedelta(days=days)
        if end < start:  # only --to, and it is before today: the window would be empty
            raise UsageError(f"--to {end} is before the window's start {start} (give --from)")
        window = Period(start, end, period.tz, period.today)
        result = ReportResult(name, "Deadlines", start, end, now,
                              [deadlines(store, playbooks, window)])
    else:
        declaring = [p for p in playbooks if name in p.reports]
        if not declaring:
            known = set(available(engine))
            hint = did_you_mean(name, known) or f"reports: {', '.join(sorted(known))}"
            raise NotFoundError(f"no report '{name}' ({hint})")
        practice = engine.workspace.practice
        sections = [evaluate(store, p, p.reports[name], period,
                             {**p.settings, **practice.tailoring(p.id).settings})
                    for p in declaring]
        title = next((t for t in (p.reports[name].title for p in declaring) if t),
                     name.capitalize())
        result = ReportResult(name, title, first, last, now, sections)
    result.notes.append(f"practice time zone {engine.workspace.tz}; today {period.today}")
    return result


def render(result: ReportResult, fmt: str) -> str:
    """``result`` as ``table`` (80 columns), ``csv``, ``json`` or ``html``."""
    renderers = {"table": render_text, "csv": render_csv, "json": render_json,
                 "html": render_html}
    return renderers[fmt](result)
