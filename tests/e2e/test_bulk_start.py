"""``start PLAYBOOK --from FILE``: one instance per roster row, every row checked before
anything is written, ``unique`` honoured so a re-import starts nothing twice, the start cap
kept, ``--dry-run`` writing nothing."""

from __future__ import annotations

import json

from frontdesk_testing import NY_PRACTICE, REPO, Frontdesk

LICENCE = """\
playbook: licence
version: 1
title: A licence to renew
subject: "{{ holder }} {{ kind }}"
roles: [staff]
inputs:
  holder: {type: string, required: true}
  kind: {type: string, required: true, enum: [licence, bls, caqh]}
  expires_on: {type: date, required: true}
unique: [holder, kind]
initial: current
states:
  current:
    on:
      lapse: {to: lapsed}
  lapsed:
    final: true
"""


def _setup(fd: Frontdesk) -> None:
    (fd.playbooks / "licence.yaml").write_text(LICENCE, "utf-8")
    fd.ok("db", "migrate")


def test_a_csv_roster_starts_one_instance_a_row_and_a_reimport_starts_nothing_twice(
        frontdesk: Frontdesk) -> None:
    """Three rows start three instances; importing the file again (one row added) starts only
    the new row and names the others as skipped."""
    fd = frontdesk
    _setup(fd)
    roster = fd.home / "roster.csv"
    roster.write_text("holder,kind,expires_on\nana,licence,2026-06-30\nben,bls,2027-01-31\n"
                      "ana,caqh,2026-03-01\n", "utf-8")
    document = fd.json("start", "licence", "--from", str(roster))
    assert [row["line"] for row in document["started"]] == [2, 3, 4]
    assert document["skipped"] == []
    assert fd.query("SELECT count(*) FROM instances") == [(3,)]
    roster.write_text(roster.read_text("utf-8") + "cy,licence,2026-09-30\n", "utf-8")
    again = fd.json("start", "licence", "--from", str(roster))
    assert [row["line"] for row in again["started"]] == [5]
    assert [row["line"] for row in again["skipped"]] == [2, 3, 4]
    assert fd.query("SELECT count(*) FROM instances") == [(4,)]
    fd.ok("audit", "verify")


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(
        frontdesk: Frontdesk) -> None:
    """A YAML roster with two bad rows: both named by line, exit 5, no instance written."""
    fd = frontdesk
    _setup(fd)
    roster = fd.home / "roster.yaml"
    roster.write_text("- {holder: ana, kind: licence, expires_on: 2026-06-30}\n"
                      "- {holder: ben, kind: dentist, expires_on: 2026-06-30}\n"
                      "- holder: cy\n"
                      "  kind: bls\n", "utf-8")
    result = fd.run("start", "licence", "--from", str(roster))
    assert result.returncode == 5, result.stderr
    assert "2 of 3 rows cannot start" in result.stderr
    assert f"{roster}:2: field 'kind'" in result.stderr
    assert f"{roster}:3: missing required field 'expires_on'" in result.stderr
    assert fd.query("SELECT count(*) FROM instances") == [(0,)]


def test_dry_run_writes_nothing_and_the_cap_refuses_a_roster_too_large(
        frontdesk: Frontdesk) -> None:
    """``--dry-run`` lists what would start; a JSON roster over ``starts_per_command`` is
    refused whole; duplicated rows within the file start once."""
    fd = frontdesk
    _setup(fd)
    rows = [{"holder": f"p{i}", "kind": "bls", "expires_on": "2027-01-31"} for i in range(4)]
    roster = fd.home / "roster.json"
    roster.write_text(json.dumps(rows + [rows[0]], indent=1), "utf-8")
    dry = fd.json("start", "licence", "--from", str(roster), "--dry-run")
    assert dry["dry_run"] is True and len(dry["started"]) == 4
    assert dry["skipped"] == [{"line": 22, "instance": None, "earlier_line": 2}]
    assert fd.query("SELECT count(*) FROM instances") == [(0,)]
    (fd.home / "practice.yaml").write_text(NY_PRACTICE + "limits: {starts_per_command: 3}\n",
                                           "utf-8")
    result = fd.run("start", "licence", "--from", str(roster))
    assert result.returncode == 5 and "more than 3" in result.stderr, result.stderr
    assert fd.query("SELECT count(*) FROM instances") == [(0,)]


def test_the_shipped_credential_roster_imports_once(frontdesk: Frontdesk) -> None:
    """docs/examples/credentials.csv starts seven credential-renewal instances, each in the
    state its expiry puts it in; importing it again starts nothing."""
    fd = frontdesk
    fd.ok("db", "migrate")
    roster = str(REPO / "docs" / "examples" / "credentials.csv")
    first = fd.json("start", "credential-renewal", "--from", roster, now="2026-03-02T09:00")
    assert len(first["started"]) == 7 and first["skipped"] == []
    states = {i["subject"]: i["state"] for i in fd.json("list", now="2026-03-02T09:00")}
    assert states["Dr. Lee: caqh (expires 2026-04-15)"] == "renewal_due"
    assert states["Dr. Lee: license PT-12345 (expires 2027-06-30)"] == "current"
    again = fd.json("start", "credential-renewal", "--from", roster, now="2026-03-02T09:00")
    assert again["started"] == [] and len(again["skipped"]) == 7
