"""``frontdesk report`` on a store with a known history, on each store.

The history is made through the CLI with ``--now`` (claims paid, written off, appealed and
open; intakes around a month boundary; a HIPAA refresh overdue). Every figure of the denials
report is checked against an independent computation over ``audit export`` written here;
period boundaries fall in the practice time zone (New York). Every report runs in every format,
and the HTML is one self-contained file with SVG charts.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

FINAL = {"paid": "paid", "patient_billed": "patient_billed", "written_off": "written_off",
         "appeal_lost": "appeal_lost"}
CLAIMS = [  # (claim, payer, group, carc, amount, denied_on, service_date)
    ("C1", "commercial", "CO", "16", 120, "2026-01-02", "2025-12-20"),
    ("C2", "commercial", "CO", "16", 80, "2026-01-03", "2025-12-21"),
    ("C3", "commercial", "CO", "29", 95, "2026-01-04", "2025-06-01"),
    ("C4", "medicare", "CO", "50", 340, "2026-01-05", "2025-12-01"),
    ("C5", "medicare", "CO", "50", 200, "2026-02-02", "2026-01-10"),
]


def _task(fd: Frontdesk, instance: str, task: str, now: str) -> str:
    shown = fd.json("show", instance, now=now)
    return next(t["id"] for t in shown["tasks"] if t["task"] == task and t["status"] == "open")


def _start_claim(fd: Frontdesk, claim: str, payer: str, group: str, carc: str, amount: int,
                 denied: str, service: str) -> str:
    return fd.ok("start", "claim-denial", "--set", f"claim_id={claim}", "--set",
                 f"payer_type={payer}", "--set", f"group={group}", "--set", f"carc={carc}",
                 "--set", f"amount={amount}", "--set", f"denied_on={denied}", "--set",
                 f"service_date={service}", now=f"{denied}T10:00").strip()


def _history(fd: Frontdesk) -> dict[str, str]:
    """Claims, a HIPAA refresh and intakes, in time order (a simulated store only moves
    forward)."""
    ids = {c[0]: _start_claim(fd, *c) for c in CLAIMS[:4]}
    # C1: corrected in time, paid 100; C3: past timely filing, written off; C4: appealed
    fd.ok("done", _task(fd, ids["C1"], "correct_claim", "2026-01-06T10:00"), "--set",
          "resubmitted_on=2026-01-06", now="2026-01-06T10:00")
    fd.ok("done", _task(fd, ids["C3"], "approve_write_off", "2026-01-07T10:00"),
          now="2026-01-07T10:00")
    fd.ok("done", _task(fd, ids["C3"], "post_adjustment", "2026-01-08T10:00"),
          now="2026-01-08T10:00")
    fd.ok("done", _task(fd, ids["C4"], "send_appeal", "2026-01-09T10:00"), "--set",
          "appeal_sent_on=2026-01-09", now="2026-01-09T10:00")
    fd.ok("fire", ids["C1"], "payment_posted", "--set", "paid_amount=100",
          now="2026-01-20T10:00")
    fd.ok("start", "hipaa-annual-refresh", "--set", "employee=Sam Ortiz", "--set",
          "last_trained_on=2025-01-15", now="2026-01-21T09:00")
    # 23:30 in New York on 31 January is 1 February in UTC: a January inquiry
    for name, source, now in (("A", "doctor", "2026-01-31T23:30"),
                              ("B", "web", "2026-02-01T00:30"),
                              ("C", "web", "2026-02-02T09:00")):
        fd.ok("start", "intake", "--set", f"client_name=Client {name}", "--set",
              f"referral_source={source}", now=now)
    ids["C5"] = _start_claim(fd, *CLAIMS[4])
    fd.ok("fire", ids["C4"], "appeal_won", now="2026-02-03T10:00")
    fd.ok("done", _task(fd, ids["C5"], "send_appeal", "2026-02-04T10:00"), "--set",
          "appeal_sent_on=2026-02-04", now="2026-02-04T10:00")
    fd.ok("fire", ids["C4"], "payment_posted", "--set", "paid_amount=340",
          now="2026-02-10T10:00")
    fd.ok("fire", ids["C5"], "appeal_upheld", "--set", "decision_date=2026-02-11",
          now="2026-02-11T10:00")
    fd.ok("tick", now="2026-02-12T09:00")
    return ids


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory,
            make_frontdesk: Callable[..., Frontdesk]) -> tuple[Frontdesk, dict[str, str]]:
    fd = make_frontdesk(tmp_path_factory.mktemp("reports"))
    return fd, _history(fd)


NOW = "2026-02-12T12:00"


def _report(fd: Frontdesk, *args: str) -> Any:
    return json.loads(fd.ok("report", *args, "--format", "json", now=NOW))


def _from_audit(fd: Frontdesk) -> dict[str, dict[str, Any]]:
    """Each claim-denial instance rebuilt from the audit log alone: its variables, outcome and
    the local dates it started and closed."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    claims: dict[str, dict[str, Any]] = defaultdict(lambda: {"vars": {}, "outcome": None})
    for line in fd.ok("audit", "export", now=NOW).splitlines():
        record = json.loads(line)
        if record["playbook"] != "claim-denial":
            continue
        claim = claims[record["instance"]]
        day = dt.datetime.fromisoformat(record["at"].replace("Z", "+00:00")).astimezone(tz)
        data = record["data"]
        if record["action"] == "start":
            claim["vars"].update(data["inputs"])
            claim["started"] = day.date()
        claim["vars"].update(data.get("vars") or {})
        claim["vars"].update(data.get("fields") or {})
        if record["action"] == "transition" and record["to"] in FINAL:
            claim["outcome"], claim["closed"] = FINAL[record["to"]], day.date()
    return claims


def _expected_denials(claims: dict[str, dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for claim in claims.values():
        v = claim["vars"]
        groups[(v["payer_kind"], v["group"], v["carc"])].append(claim)
    expected = {}
    for key, members in groups.items():
        closed = [(c["closed"] - c["started"]).days for c in members if c["outcome"]]
        expected[key] = {
            "claims": len(members), "denied": sum(c["vars"]["amount"] for c in members),
            "recovered": sum(c["vars"]["paid_amount"] for c in members
                             if c["outcome"] == "paid"),
            "written_off": sum(c["vars"]["amount"] for c in members
                               if c["outcome"] == "written_off"),
            "open": sum(1 for c in members if not c["outcome"]),
            "days_to_resolve": statistics.median(closed) if closed else None,
            "deadlines_met": sum(1 for c in members if c["vars"].get("deadline_met")),
            "deadlines_missed": sum(1 for c in members if c["vars"].get("deadline_missed")),
        }
    return expected


def _table(report: dict[str, Any], title: str) -> list[dict[str, Any]]:
    for section in report["sections"]:
        for table in section["tables"]:
            if table["title"] == title:
                return list(table["rows"])
    raise AssertionError(f"no table {title!r}")


def test_denials_match_the_audit_log(history: tuple[Frontdesk, dict[str, str]]) -> None:
    """Every figure of the denials table equals what the audit export says."""
    fd, _ids = history
    expected = _expected_denials(_from_audit(fd))
    rows = _table(_report(fd, "denials"), "By payer kind, group code and CARC")
    got = {(r["payer_kind"], r["group"], r["carc"]): {k: r[k] for k in expected[
        (r["payer_kind"], r["group"], r["carc"])]} for r in rows}
    assert got == expected
    appeals = {r["payer_kind"]: r for r in _table(_report(fd, "denials"),
                                                   "Appeals by payer kind")}
    assert appeals["medicare"]["level_1_decided"] == 2
    assert appeals["medicare"]["level_1_overturned"] == 0.5


def test_denials_period_by_denial_date(history: tuple[Frontdesk, dict[str, str]]) -> None:
    """--from/--to select claims by their denial date, bounds included."""
    fd, _ids = history
    rows = _table(_report(fd, "denials", "--from", "2026-01-03", "--to", "2026-01-05"),
                  "By month of denial")
    assert rows == [{"month": "2026-01", "claims": 3, "denied": 515, "recovered": 340,
                     "written_off": 95, "deadlines_missed": 0}]


def test_intake_periods_in_the_practice_time_zone(
        history: tuple[Frontdesk, dict[str, str]]) -> None:
    """An inquiry at 23:30 New York time on 31 January is January's, though it is February in
    UTC; open inquiries count as not converted."""
    fd, _ids = history
    months = {r["month"]: r for r in _table(_report(fd, "intake"), "Inquiries by month")}
    assert {m: r["inquiries"] for m, r in months.items()} == {"2026-01": 1, "2026-02": 2}
    assert months["2026-02"]["converted"] == 0
    february = _table(_report(fd, "intake", "--from", "2026-02-01"), "By referral source")
    assert {r["referral_source"]: r["inquiries"] for r in february} == {"web": 2}


def test_training_roster_and_workload(history: tuple[Frontdesk, dict[str, str]]) -> None:
    """The roster names the staff member, the refresher due 2026-01-15 is overdue; workload
    counts the open tasks by role."""
    fd, _ids = history
    report = _report(fd, "training")
    roster = _table(report, "Roster")
    assert [(r["employee"], r["next_due"], r["overdue"]) for r in roster] == [
        ("Sam Ortiz", "2026-01-15", True)]
    assert [r["up_to_date"] for r in _table(report, "Compliance by state")] == [0]
    roles = {r["role"]: r for r in _table(_report(fd, "workload"), "By role")}
    open_tasks = fd.query("SELECT role, COUNT(*) FROM tasks WHERE status = 'open' GROUP BY role")
    assert {role: roles[role]["open"] for role, _n in open_tasks} == dict(open_tasks)


def test_deadlines_include_far_tasks(history: tuple[Frontdesk, dict[str, str]]) -> None:
    """A task due months ahead is listed when the window reaches it, earliest first, with the
    declared deadline dates."""
    fd, ids = history
    rows = _table(_report(fd, "deadlines", "--days", "400"), "Deadlines")
    assert [r["due"] for r in rows] == sorted(r["due"] for r in rows)
    c5 = [r for r in rows if r["instance"] == ids["C5"]]  # second-level appeal due August
    assert {r["kind"] for r in c5} == {"task", "timer", "deadline"}
    assert any(r["what"] == "second-level appeal deadline" for r in c5)
    assert not [r for r in _table(_report(fd, "deadlines", "--days", "30"), "Deadlines")
                if r["instance"] == ids["C5"] and r["kind"] == "task"]


@pytest.mark.parametrize("name", ["denials", "intake", "training", "workload", "deadlines"])
def test_every_format(history: tuple[Frontdesk, dict[str, str]], name: str,
                      tmp_path: Path) -> None:
    """Table (80 columns), CSV, JSON and a self-contained HTML file with SVG charts."""
    fd, _ids = history
    text = fd.ok("report", name, now=NOW)
    assert max(len(line) for line in text.splitlines()) <= 80
    rows = list(csv.reader(io.StringIO(fd.ok("report", name, "--format", "csv", now=NOW))))
    assert rows[0][:2] == ["section", "table"]
    out = tmp_path / f"{name}.html"
    fd.ok("report", name, "--format", "html", "--output", str(out), now=NOW)
    page = out.read_text("utf-8")
    assert "http" not in page and "<script" not in page
    if name != "deadlines":
        assert "<svg" in page
    assert "Client A" not in page  # aggregates only: no patient names


def test_unknown_report(history: tuple[Frontdesk, dict[str, str]]) -> None:
    fd, _ids = history
    result = fd.run("report", "denial", now=NOW)
    assert result.returncode == 4
    assert "denials" in result.stderr


def test_html_report_renders_its_charts_in_a_browser(
        history: tuple[Frontdesk, dict[str, str]], tmp_path: Path) -> None:
    """``report denials --format html`` opened in Chromium (Debian's, through Playwright):
    every chart is drawn with a visible size and bars, the tables are there, and the page asks
    for nothing beyond its own file."""
    from board_testing import browser_missing, launch

    missing = browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser check cannot run: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    fd, _ids = history
    out = tmp_path / "denials.html"
    fd.ok("report", "denials", "--format", "html", "--output", str(out), now=NOW)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser: Any = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(out.as_uri())
            charts = page.locator("svg")
            assert charts.count() >= 3
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 100
            assert page.locator("svg rect").count() > charts.count()  # bars, not empty frames
            assert page.locator("table").count() >= 4
            assert "By payer kind, group code and CARC" in page.inner_text("body")
            page.screenshot(path=str(tmp_path / "denials.png"), full_page=True)
        finally:
            browser.close()
    assert requested == [out.as_uri()]
    assert (tmp_path / "denials.png").stat().st_size > 10_000


def test_deadlines_to_before_today_is_a_usage_error(
        history: tuple[Frontdesk, dict[str, str]]) -> None:
    """``deadlines --to`` a date before today (without ``--from``) would list nothing: exit 2
    saying so, instead of an empty report."""
    fd, _ids = history
    result = fd.run("report", "deadlines", "--to", "2026-01-01", now=NOW)
    assert result.returncode == 2
    assert "--to 2026-01-01 is before" in result.stderr
