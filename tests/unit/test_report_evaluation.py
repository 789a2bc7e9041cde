"""The report evaluator (generated conditions, measures shared by tables, generated row adders)
against a plain computation written here, over instances that exercise every condition, measure
kind and dimension of the reports language; and playbook text never becomes code."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk.loading.reports import build_reports
from frontdesk.reports.evaluate import NONE, Evaluation, Period
from frontdesk.reports.measures import Facts, GuardContext

TZ = ZoneInfo("America/New_York")
TODAY = dt.date(2026, 3, 2)
ODD = "x') or __import__('os').getpid() or ('"  # a variable name that is not Python
REPORT = {
    "date": "opened_on",
    "measures": {
        "all": {"count": True},
        "open": {"count": True, "status": "open"},
        "amount": {"sum": "amount", "outcome": ["paid", "lost"]},
        "mean": {"average": "amount", "missing": ["skip"]},
        "days": {"median": {"days": ["started", "closed"]}},
        "to_call": {"median": {"days": ["opened_on", "task:call"]}},
        "won": {"share": {"equal": {"result": ["won", 2]}}, "has": ["result"]},
        "noshow": {"share": {"event": ["no_show"]}, "state": ["booked", "done"]},
        "on_time": {"share": {"on_time": ["call"]}, "done": ["call"]},
        "early": {"count": True, "before": ["opened_on", "event:no_show"]},
        "big": {"count": True, "when": "amount > 50 and settings.flag"},
        "odd": {"count": True, "has": [ODD]},
    },
    "tables": [
        {"title": "by kind", "by": ["kind", "outcome"],
         "measures": ["all", "open", "amount", "mean", "days", "won", "odd"]},
        {"title": "by month", "by": ["month"], "measures": ["all", "to_call", "noshow"]},
        {"title": "by week", "by": ["week", "state"], "measures": ["on_time", "early"],
         "where": {"has": ["kind"]}},
        {"title": "by year", "by": ["year"], "measures": ["big", "amount"],
         "where": {"status": "closed"}},
        {"title": "overall", "measures": ["all", "days", "won"], "where": {"outcome": ["none"]}},
    ],
}
SPEC = build_reports({"r": REPORT})["r"]


def _facts(rng: random.Random, i: int) -> Facts:
    opened = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(120))
    closed = rng.random() < 0.5
    variables: dict[str, Any] = {"opened_on": opened if rng.random() < 0.9 else None}
    for name, choices in (("kind", ["a", "b", "", None, ["x", "y"]]),
                          ("amount", [10, 75.5, 120, True, "9"]),
                          ("result", ["won", "lost", 2, ""]), ("skip", [1, "", []]),
                          (ODD, [1, ""])):
        if rng.random() < 0.8:
            variables[name] = rng.choice(choices)
    tasks = {}
    if rng.random() < 0.6:
        done = opened + dt.timedelta(days=rng.randrange(-2, 9)) if rng.random() < 0.7 else None
        tasks["call"] = (done, done is not None and rng.random() < 0.5)
    events = {"no_show": opened + dt.timedelta(days=rng.randrange(-3, 5))} \
        if rng.random() < 0.3 else {}
    return Facts(f"i{i:04d}", "p", "closed" if closed else "open",
                 rng.choice(["paid", "lost", None]) if closed else None,
                 rng.choice(["booked", "done", "new"]), opened - dt.timedelta(days=1),
                 opened + dt.timedelta(days=rng.randrange(30)) if closed else None,
                 variables, tasks, events)


def _is_set(value: Any) -> bool:
    return value not in (None, "", [], {})


def _number(value: Any) -> Any:
    return value if type(value) in (int, float) else None


def _task(f: Facts) -> tuple[dt.date | None, bool]:
    return f.tasks.get("call", (None, False))


def _contribution(name: str, f: Facts) -> Any:  # noqa: C901, PLR0911 - one case a measure
    v = f.vars
    if name == "all":
        return 1
    if name == "open":
        return 1 if f.status == "open" else None
    if name == "amount":
        return _number(v.get("amount")) if f.outcome in ("paid", "lost") else None
    if name == "mean":
        return None if _is_set(v.get("skip")) else _number(v.get("amount"))
    if name == "days":
        return (f.closed - f.started).days if f.closed and f.started else None
    if name == "to_call":
        done, opened = _task(f)[0], v.get("opened_on")
        return (done - opened).days if done and opened else None
    if name == "won":
        return int(v.get("result") in ("won", 2)) if _is_set(v.get("result")) else None
    if name == "noshow":
        return int("no_show" in f.events) if f.state in ("booked", "done") else None
    if name == "on_time":
        return int(_task(f)[1]) if _task(f)[0] is not None else None
    if name == "early":
        shown, opened = f.events.get("no_show"), v.get("opened_on")
        return 1 if shown and opened and opened <= shown else None
    if name == "big":
        amount = v.get("amount")
        try:
            return 1 if amount > 50 else None
        except TypeError:
            return None
    assert name == "odd"
    return 1 if _is_set(v.get(ODD)) else None


def _group(dimension: str, f: Facts) -> Any:
    day = f.vars.get("opened_on")
    if dimension in ("month", "week", "year"):
        if day is None:
            return NONE
        year, week, _ = day.isocalendar()
        return {"month": f"{day.year:04d}-{day.month:02d}", "week": f"{year:04d}-W{week:02d}",
                "year": f"{day.year:04d}"}[dimension]
    value = getattr(f, dimension) if dimension in ("outcome", "state") else f.vars.get(dimension)
    if value is None or value == "":
        return NONE
    return ", ".join(value) if isinstance(value, list) else value


def _holds(table: dict[str, Any], f: Facts) -> bool:
    where = table.get("where", {})
    return (("has" not in where or _is_set(f.vars.get("kind")))
            and where.get("status", f.status) == f.status
            and f.outcome in where.get("outcome", [f.outcome]))


def _figure(kind: str, values: list[Any]) -> Any:
    if kind == "count":
        return len(values)
    if kind == "sum":
        return sum(values)
    if not values:
        return None
    if kind == "median":
        return statistics.median(values)
    return sum(values) / len(values)


def _expected(table: dict[str, Any], facts: list[Facts], period: Period) -> list[list[Any]]:
    kinds = {name: next(k for k in ("count", "sum", "median", "average", "share") if k in body)
             for name, body in REPORT["measures"].items()}
    groups: dict[tuple[Any, ...], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for f in facts:
        if not period.holds(f.vars.get("opened_on")) or not _holds(table, f):
            continue
        row = groups[tuple(_group(d, f) for d in table.get("by", []))]
        for name in table["measures"]:
            value = _contribution(name, f)
            if value is not None:
                row[name].append(value)
    if not groups and not table.get("by"):
        groups[()] = defaultdict(list)
    return [[*key, *(_figure(kinds[m], groups[key][m]) for m in table["measures"])]
            for key in sorted(groups, key=lambda k: [(v == NONE, str(v)) for v in k])]


@pytest.mark.parametrize("first,last", [(None, None), (dt.date(2026, 1, 1), None),
                                        (dt.date(2026, 1, 15), dt.date(2026, 2, 14))])
def test_every_table_matches_a_plain_computation(first: dt.date | None,
                                                 last: dt.date | None) -> None:
    """Every figure of every table equals the plain computation, for a whole and a bounded
    period (instances without a date count only when the period is unbounded)."""
    rng = random.Random(18)
    facts = [_facts(rng, i) for i in range(600)]
    period = Period(first, last, TZ, TODAY)
    evaluation = Evaluation(SPEC, period, GuardContext(TODAY, {"flag": True}))
    for f in facts:
        evaluation.add(f)
    for table, spec in zip(evaluation.results(), REPORT["tables"], strict=True):
        assert table.rows == _expected(spec, facts, period), spec["title"]


def test_playbook_text_is_data_not_code() -> None:
    """A variable name or an allowed value that reads as Python is looked up as data."""
    spec = build_reports({"r": {"measures": {
        "n": {"count": True, "has": [ODD], "equal": {ODD: ["') or True or ('", 1]}}},
        "tables": [{"title": "t", "measures": ["n"]}]}})["r"]
    evaluation = Evaluation(spec, Period(None, None, TZ, TODAY), GuardContext(TODAY, {}))
    for value in (1, "') or True or ('", 2, ""):
        evaluation.add(Facts("i", "p", "open", None, "s", None, None, {ODD: value}))
    assert evaluation.results()[0].rows == [[2]]
