"""Tailoring a playbook in practice.yaml without editing it, through the ``frontdesk`` CLI:
every override kind at run time, every bad override as a located error with a did-you-mean
(exit 3, nothing written), and ``show-playbook [--effective]``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

RECORDS = Path(__file__).resolve().parents[1] / "playbooks" / "packs" / "records.yaml"

TAILORED = """\
practice: Riverside Therapy
timezone: America/New_York
people:
  maria: {name: Maria Alvarez, roles: [reception]}
  drlee: {name: Dr. Lee, roles: [clinician, director]}
  temp: {roles: [front_desk]}
playbooks:
  tl-records:
    settings: {answer_days: 20}
    roles: {front_desk: reception, owner: director}
    tasks:
      verify_identity: {title: "Check the photo ID of {{ patient }}", due: 1 business day}
      send_records: {due: {before: 3 days, from: answer_by}}
    disabled_tasks: [fax_copy]
"""

EFFECTIVE = """\
# effective playbook 'tl-records' version 1
# source: --playbooks: PLAYBOOKS/records.yaml
# tailoring: HOME/practice.yaml: 7 overrides
playbook: tl-records
version: 1
title: Patient records request
subject: Records for {{ patient }}
roles:
  - reception  # from practice.yaml line 10 (playbook: front_desk)
  - director  # from practice.yaml line 10 (playbook: owner)
inputs:
  patient: {type: string, required: true}
  received_on: {type: date, required: true}
settings:
  answer_days: 20  # from practice.yaml line 9 (playbook: 30)
  reminder_days: 5
initial: verify
states:
  verify:
    tasks:
      - id: verify_identity
        title: Check the photo ID of {{ patient }}  # from practice.yaml line 12 (playbook: "Verify {{ patient }}'s identity")
        role: reception  # from practice.yaml line 10 (playbook: front_desk)
        due: 1 business day  # from practice.yaml line 12 (playbook: 2 business days)
        done: verified
      # task 'fax_copy' disabled (from practice.yaml line 14)
      - id: weekly_check
        title: Check the request log
        role: director  # from practice.yaml line 10 (playbook: owner)
        every: 1 week
    on:
      verified:
        to: prepare
        by:
          - reception  # from practice.yaml line 10 (playbook: front_desk)
          - director  # from practice.yaml line 10 (playbook: owner)
        set: {answer_by: "{{ add_duration(received_on, settings.answer_days ~ ' days') }}"}
  prepare:
    tasks:
      - id: send_records
        title: Send the records
        role: reception  # from practice.yaml line 10 (playbook: front_desk)
        due: {before: 3 days, from: answer_by}  # from practice.yaml line 13 (playbook: {before: 1 day, from: answer_by})
        done: sent
    timers:
      - {before: "{{ settings.reminder_days }} days", from: answer_by, event: remind}
    on:
      remind:
        do:
          - message:
              to: director  # from practice.yaml line 10 (playbook: owner)
              subject: Records for {{ patient }} due {{ answer_by }}
      sent: {to: sent}
  sent: {final: true, outcome: sent}
"""  # noqa: E501 (the exact output has long comment lines)

BAD = """\
practice: Riverside Therapy
timezone: America/New_York
people:
  maria: {roles: [reception]}
playbooks:
  tl-record:
    settings: {answer_days: 20}
  tl-records:
    settings: {answer_dayz: 20, reminder_days: "5"}
    roles: {frontdesk: reception, owner: director}
    tasks:
      verify_identiy: {title: Check the photo ID}
      send_records: {title: "Send to {{ patient_name }}", due: {before: 3 days, from: answer_on}}
      fax_copy: {title: "Fax {{ patient }", due: "{{ settings.answer_day }} days"}
      weekly_check: {due: 2 days}
    disabled_tasks: [fax_cpy]
"""

BAD_ERRORS = """\
practice.yaml:6:3: error[unknown-playbook]: tailoring of unknown playbook 'tl-record' (did you mean 'tl-records'?)
practice.yaml:9:16: error[unknown-setting]: playbook 'tl-records' has no setting 'answer_dayz' (did you mean 'answer_days'?)
practice.yaml:9:48: error[setting-type]: playbook 'tl-records' setting 'reminder_days' is a number, got text (the playbook's default is 5)
practice.yaml:10:13: error[unknown-role]: playbook 'tl-records' has no role 'frontdesk' (did you mean 'front_desk'?)
practice.yaml:10:42: error[unknown-role]: no person holds the practice role 'director'
practice.yaml:12:7: error[unknown-task]: playbook 'tl-records' has no task 'verify_identiy' (did you mean 'verify_identity'?)
practice.yaml:13:29: error[unknown-name]: playbook 'tl-records' has no variable 'patient_name' (did you mean 'patient'?)
practice.yaml:13:87: error[unknown-name]: 'from' names unknown variable 'answer_on' of playbook 'tl-records' (did you mean 'answer_by'?)
practice.yaml:14:25: error[syntax]: template syntax error: unexpected '}'
practice.yaml:14:50: error[unknown-setting]: playbook 'tl-records' has no setting 'answer_day' (did you mean 'answer_days'?)
practice.yaml:15:27: error[recurring-due]: task 'weekly_check' recurs every 1 week: its occurrences are due by 'every', so a 'due' override would change nothing (remove this 'due')
practice.yaml:16:22: error[unknown-task]: playbook 'tl-records' has no task 'fax_cpy' (did you mean 'fax_copy'?)
"""  # noqa: E501


def _fd(make_frontdesk: Callable[..., Frontdesk], root: Path, practice: str) -> Frontdesk:
    fd = make_frontdesk(root, practice)
    shutil.copy(RECORDS, fd.playbooks / "records.yaml")
    return fd


def _start(fd: Frontdesk) -> dict[str, Any]:
    started = fd.json("start", "tl-records", "--set", "patient=Ann",
                      "--set", "received_on=2026-01-05")
    assert isinstance(started, dict)
    return started


def test_every_override_kind_applies_at_run_time(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """Settings, role mapping (tasks, ``by``, messages), task title and due, disabled tasks."""
    fd = _fd(make_frontdesk, tmp_path, TAILORED)
    instance = _start(fd)
    tasks = {t["task"]: (t["title"], t["role"], t["due"]) for t in instance["tasks"]}
    assert tasks == {  # title and due overridden, roles mapped, fax_copy disabled
        "verify_identity": ("Check the photo ID of Ann", "reception", "2026-01-06"),
        "weekly_check": ("Check the request log", "director", "2026-01-12"),
    }
    # ``by: [front_desk, owner]`` means reception or director here: the pack's role name is
    # not enough on its own.
    refused = fd.run("fire", str(instance["id"]), "verified", "--as", "temp")
    assert refused.returncode == 5
    assert "does not hold the role it needs (director or reception)" in refused.stderr
    moved = fd.json("fire", str(instance["id"]), "verified", "--as", "maria")
    assert moved["vars"]["answer_by"] == "2026-01-25"  # answer_days 20, not 30
    send = [t for t in moved["tasks"] if t["task"] == "send_records"]
    assert [(t["role"], t["due"]) for t in send] == [("reception", "2026-01-22")]
    assert fd.run("tick", now="2026-01-20T09:00").returncode == 0
    (message,) = fd.json("outbox")
    assert message["to"] == "director"


def test_every_bad_override_is_a_located_error(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """``validate`` reports each bad override at its practice.yaml line and column, with a
    did-you-mean; ``start`` refuses with the same errors (exit 3) and writes nothing."""
    fd = _fd(make_frontdesk, tmp_path, BAD)
    fd.ok("db", "migrate")  # creates the store, so the refused start can be compared with it
    validated = fd.run("validate", str(fd.home / "practice.yaml"))
    assert validated.returncode == 3
    errors = [line for line in validated.stdout.splitlines() if "warning[" not in line]
    assert "\n".join(errors).replace(str(fd.home) + "/", "") + "\n" == BAD_ERRORS
    before = fd.dump()
    started = fd.run("start", "tl-records", "--set", "patient=Ann",
                     "--set", "received_on=2026-01-05")
    assert started.returncode == 3 and "Traceback" not in started.stderr
    lines = started.stderr.splitlines()
    assert lines[0] == "frontdesk: error:"
    # start checks the tailoring of the playbook it starts: every error but the unknown one
    expected = BAD_ERRORS.splitlines()[1:]
    assert [line.strip().replace(str(fd.home) + "/", "") for line in lines[1:]] == expected
    assert fd.dump() == before


def test_override_schema_errors_are_located(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """A misspelt override key, a bad duration and a wrongly shaped list are schema errors at
    their own line and column."""
    fd = _fd(make_frontdesk, tmp_path, """\
playbooks:
  tl-records:
    tasks:
      send_records: {titel: Send the records, due: 3 bussiness days}
    disabled_tasks: fax_copy
""")
    result = fd.run("validate", str(fd.home / "practice.yaml"))
    assert result.returncode == 3
    assert result.stdout.replace(str(fd.home) + "/", "").splitlines() == [
        "practice.yaml:4:22: error[unknown-key]: playbook 'tl-records', task 'send_records': "
        "unknown key 'titel' (did you mean 'title'?)",
        "practice.yaml:4:52: error[bad-duration]: playbook 'tl-records', task 'send_records', "
        "due: bad duration '3 bussiness days' (write 'N unit' with unit minutes, hours, days, "
        "business days, weeks, months or years)",
        "practice.yaml:5:21: error[type]: playbook 'tl-records', disabled_tasks: expected a "
        "list, got text",
    ]


def test_show_playbook_effective_prints_the_tailored_playbook(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """``show-playbook ID --effective``: exactly the playbook as the practice runs it, with a
    comment naming the practice.yaml line of every override."""
    fd = _fd(make_frontdesk, tmp_path, TAILORED)
    result = fd.run("show-playbook", "tl-records", "--effective")
    assert result.returncode == 0, result.stderr
    shown = result.stdout.replace(str(fd.playbooks), "PLAYBOOKS").replace(str(fd.home), "HOME")
    assert shown == EFFECTIVE


def test_effective_playbook_runs_like_the_tailoring(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """The printed effective playbook, run by a practice with no tailoring, creates the same
    tasks (title, role, due) as the original run with the tailoring: the view does not lie."""
    tailored = _fd(make_frontdesk, tmp_path / "tailored", TAILORED)
    text = tailored.ok("show-playbook", "tl-records", "--effective")
    plain = make_frontdesk(tmp_path / "plain", TAILORED.split("playbooks:")[0])
    (plain.playbooks / "records.yaml").write_text(text, "utf-8")
    assert plain.run("validate", str(plain.playbooks / "records.yaml")).returncode == 0

    def tasks(fd: Frontdesk) -> list[tuple[str, str, str]]:
        instance = _start(fd)
        done = fd.json("fire", str(instance["id"]), "verified", "--as", "maria")
        return [(t["title"], t["role"], t["due"]) for t in done["tasks"]]

    assert tasks(plain) == tasks(tailored)


def test_show_playbook_prints_the_source_as_found(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """Plain ``show-playbook`` prints the file byte for byte and names where it came from;
    an unknown id is exit 4 with a did-you-mean, a bad tailoring exit 3."""
    fd = _fd(make_frontdesk, tmp_path, TAILORED)
    result = fd.run("show-playbook", "tl-records")
    assert result.returncode == 0
    assert result.stdout == RECORDS.read_text("utf-8")
    assert result.stderr == f"tl-records version 1 from --playbooks: {fd.playbooks}/records.yaml\n"
    missing = fd.run("show-playbook", "tl-record")
    assert (missing.returncode, missing.stderr) == (
        4, "frontdesk: error: unknown playbook 'tl-record' (did you mean 'tl-records'?)\n")
    (fd.home / "practice.yaml").write_text(BAD, "utf-8")
    bad = fd.run("show-playbook", "tl-records", "--effective")
    assert bad.returncode == 3 and bad.stdout == ""
    assert "error[unknown-setting]" in bad.stderr


def test_effective_view_of_every_shipped_playbook_reads_back(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """With one setting overridden, the effective YAML of each shipped playbook (block
    scalars, quoted CARC keys, templates, dates) validates and differs from the original only
    in that setting."""
    import yaml

    shipped = Path(__file__).resolve().parents[2] / "playbooks"
    for path in sorted(shipped.glob("*.yaml")):
        original = yaml.safe_load(path.read_text("utf-8"))
        name = next(iter(original["settings"]))
        value = original["settings"][name]
        new = "changed" if isinstance(value, str) else ({} if isinstance(value, dict) else 99)
        practice = f"playbooks:\n  {path.stem}:\n    settings: {{{name}: {new}}}\n"
        fd = make_frontdesk(tmp_path / path.stem, practice)
        text = fd.ok("show-playbook", path.stem, "--effective")
        out = tmp_path / path.stem / "effective.yaml"
        out.write_text(text, "utf-8")
        assert fd.run("validate", str(out)).returncode == 0, path.stem
        reread = yaml.safe_load(text)
        original["settings"][name] = reread["settings"][name]
        assert reread == original, path.stem
        assert "# from practice.yaml line 3 (playbook: " in text
