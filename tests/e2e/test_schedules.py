"""Scheduled starts: ``tick`` starts one instance per subject and period, once (recorded in
``schedule_runs``), moved to a business day when asked, covered by an open instance with the
same ``unique`` inputs, deferred past ``limits.starts_per_command``, per person (by role) or
per roster row, from a playbook's ``schedule`` or practice.yaml ``schedules``."""

from __future__ import annotations

from typing import Any

from frontdesk_testing import NY_PRACTICE, Frontdesk

YEARLY = """\
playbook: yearly
version: 1
title: Yearly check
subject: "{{ person }} {{ due_on }}"
roles: [staff]
inputs:
  person: {type: string, required: true}
  due_on: {type: date, required: true}
unique: [person]
schedule:
  every: 12 months
  starting: 2026-01-03
  business_day: next
  for: people
  role: staff
  with: {person: "{{ person.id }}", due_on: "{{ period }}"}
initial: open
states:
  open:
    on:
      finish: {to: done}
  done:
    final: true
"""

PEOPLE = """\
people:
  ana: {roles: [staff]}
  ben: {roles: [staff]}
  cy: {roles: [owner]}
"""


def _ours(document: dict[str, Any], key: str = "started") -> list[dict[str, Any]]:
    """The runs of this test's schedules (the shipped HIPAA refresh has one too)."""
    return [r for r in document[key] if r["schedule"] != "hipaa-annual-refresh"]


def _setup(fd: Frontdesk, extra: str = "") -> None:
    (fd.playbooks / "yearly.yaml").write_text(YEARLY, "utf-8")
    (fd.home / "practice.yaml").write_text(NY_PRACTICE + PEOPLE + extra, "utf-8")
    fd.ok("db", "migrate")


def test_tick_starts_each_person_once_a_period_on_the_next_business_day(
        frontdesk: Frontdesk) -> None:
    """2026-01-03 is a Saturday: nothing before Monday the 5th; then one start for each staff
    member (not the owner), none on a second tick; a year later the open ones cover it."""
    fd = frontdesk
    _setup(fd)
    assert "scheduled" not in fd.json("tick", now="2026-01-02T09:00")
    assert "scheduled" not in fd.json("tick", now="2026-01-04T09:00")
    first = fd.json("tick", now="2026-01-05T09:00")["scheduled"]
    assert [(r["subject"], r["period"]) for r in _ours(first)] == [
        ("ana", "2026-01-03"), ("ben", "2026-01-03")]
    assert "scheduled" not in fd.json("tick", now="2026-01-05T10:00")
    subjects = {i["subject"] for i in fd.json("list")}
    assert subjects == {"ana 2026-01-03", "ben 2026-01-03"}
    fd.ok("fire", _ours(first)[0]["instance"], "finish", "--as", "ana", now="2026-06-01T09:00")
    later = fd.json("tick", now="2027-01-04T09:00")["scheduled"]
    assert [r["subject"] for r in _ours(later)] == ["ana"]
    assert [(r["subject"], r["instance"]) for r in _ours(later, "covered")] == [
        ("ben", first["started"][1]["instance"])]
    assert fd.query("SELECT count(*) FROM schedule_runs WHERE schedule = 'yearly'") == [(4,)]
    hipaa = [r["subject"] for r in later["started"] if r not in _ours(later)]
    assert hipaa == ["ana", "ben", "cy"]  # the shipped yearly refresh, for every person
    fd.ok("audit", "verify")


def test_a_practice_schedule_reads_a_roster_and_defers_past_the_start_cap(
        frontdesk: Frontdesk) -> None:
    """A practice schedule over a CSV roster with a start cap of 2: two start, one waits for
    the next tick, which starts it."""
    fd = frontdesk
    roster = fd.home / "staff.csv"
    _setup(fd, "limits: {starts_per_command: 2}\nschedules:\n  - name: roster-yearly\n"
               "    playbook: yearly\n    schedule:\n      every: 1 year\n"
               "      starting: 2026-01-05\n      for: roster\n      roster: staff.csv\n"
               "      key: '{{ row.who }}'\n"
               "      with: {person: '{{ row.who }}', due_on: '{{ period }}'}\n")
    roster.write_text("who\nxia\nyan\nzed\n", "utf-8")
    first = fd.json("tick", now="2026-01-05T09:00")["scheduled"]
    assert len(first["started"]) == 2 and first["deferred"] == 3
    second = fd.json("tick", now="2026-01-05T10:00")["scheduled"]
    third = fd.json("tick", now="2026-01-05T11:00")["scheduled"]
    total = {r["subject"] for r in first["started"] + second["started"] + third["started"]}
    assert total == {"ana", "ben", "xia", "yan", "zed"}
    assert third["deferred"] == 0
