"""Scheduled starts: ``tick`` starts one instance per subject and period, once (recorded in
``schedule_runs``), moved to a business day when asked, covered by an open instance with the
same ``unique`` inputs, deferred past ``limits.starts_per_command``, per person (by role) or
per roster row, from a playbook's ``schedule`` or practice.yaml ``schedules``."""

from __future__ import annotations

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
    assert fd.json("tick", now="2026-01-02T09:00")["scheduled"]["started"] == []
    assert fd.json("tick", now="2026-01-04T09:00")["scheduled"]["started"] == []
    first = fd.json("tick", now="2026-01-05T09:00")["scheduled"]
    assert [(r["subject"], r["period"]) for r in first["started"]] == [
        ("ana", "2026-01-03"), ("ben", "2026-01-03")]
    again = fd.json("tick", now="2026-01-05T10:00")["scheduled"]
    assert again["started"] == [] and again["covered"] == []
    subjects = {i["subject"] for i in fd.json("list")}
    assert subjects == {"ana 2026-01-03", "ben 2026-01-03"}
    fd.ok("fire", first["started"][0]["instance"], "finish", "--as", "ana", now="2026-06-01T09:00")
    later = fd.json("tick", now="2027-01-04T09:00")["scheduled"]
    assert [r["subject"] for r in later["started"]] == ["ana"]
    assert [(r["subject"], r["instance"]) for r in later["covered"]] == [
        ("ben", first["started"][1]["instance"])]
    assert fd.query("SELECT count(*) FROM schedule_runs") == [(4,)]
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
    started = [r["subject"] for r in first["started"] if r["schedule"] == "roster-yearly"]
    assert len(started) + len([r for r in first["started"] if r["schedule"] == "yearly"]) == 2
    assert first["deferred"] == 3
    second = fd.json("tick", now="2026-01-05T10:00")["scheduled"]
    third = fd.json("tick", now="2026-01-05T11:00")["scheduled"]
    total = {r["subject"] for r in first["started"] + second["started"] + third["started"]}
    assert total == {"ana", "ben", "xia", "yan", "zed"}
    assert third["deferred"] == 0
