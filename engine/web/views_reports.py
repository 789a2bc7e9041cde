"""The practice's reports on the board (administrators, as the Everyone list: ``deadlines``
and rosters name subjects): the list of reports and one report as the CLI's ``report NAME
--format html`` draws it (the same ``build_report`` and ``report_fragment``), with an
optional period. Dates in the query string are no PHI."""

from __future__ import annotations

import datetime as dt

from flask import g, request

from ..errors import UsageError
from ..reports import DEFAULT_DAYS, available, build_report
from ..reports.html import report_fragment
from .app import render


def _date(name: str) -> dt.date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{name}: '{text}' is not a date (YYYY-MM-DD)") from None


def reports_list() -> tuple[str, int]:
    """Every report there is, with the playbooks declaring it."""
    g.engine.workspace.require_administrator(g.person, "the reports")
    return render("reports.html", reports=available(g.engine))


def report_page(name: str) -> tuple[str, int]:
    """One report over ``from``..``to`` (practice dates; default: all time)."""
    g.engine.workspace.require_administrator(g.person, "the reports")
    first, last = _date("from"), _date("to")
    result = build_report(g.engine, name, first, last, DEFAULT_DAYS)
    return render("report.html", name=name, fragment=report_fragment(result),
                  first=first, last=last)


ROUTES = (  # (rule, view, method); the endpoint is the view's name
    ("/reports", reports_list, "GET"),
    ("/reports/<name>", report_page, "GET"),
)
