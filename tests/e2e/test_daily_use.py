"""Daily use through the ``frontdesk`` CLI, on each store: tables that fit the terminal
(``today``, ``list``), ``show`` of an instance or a task with its next events and a readable
history, ``describe`` of a playbook as this practice runs it, ``start`` naming the inputs it
lacks, and ``fire --all`` with ``--dry-run`` and its question on a terminal.

Terminal output is checked in a pseudo-terminal (``on_terminal``): a real ``frontdesk``
process whose stdin and stdout are a terminal of ``COLUMNS`` columns."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

DAILY = """\
playbook: rt-daily
version: 1
title: Daily use test
subject: "Training {{ employee }}"
roles: [office_manager, staff, owner]
inputs:
  employee: {type: string, required: true, description: Who takes the training}
  topics: {type: list, default: [PHI basics, HIPAA]}
  urgent: {type: boolean, default: false}
  code: {type: string, default: "016"}
settings:
  reminder_days: 7
initial: assigned
states:
  assigned:
    title: Training assigned
    tasks:
      - id: take_training
        title: "Take the yearly privacy and security training, then sign the acknowledgement \\
          form ({{ employee }})"
        role: staff
        due: "{{ settings.reminder_days }} days"
        fields:
          passed_on: {type: date, required: true}
        done: completed
    timers:
      - {after: "{{ settings.reminder_days }} days", event: remind}
    on:
      completed:
        to: trained
        by: [staff, office_manager]
        note: "passed on {{ passed_on }}"
      remind:
        set: {reminded: true}
      excuse:
        to: excused
        by: owner
        fields:
          reason: {type: string, required: true, description: Why the training is waived}
  trained: {final: true, outcome: trained}
  excused: {final: true, outcome: excused}
"""
TITLE = ("Take the yearly privacy and security training, then sign the acknowledgement form "
         "(Jo Smith)")
TAILORED = """\
practice: Test Practice
timezone: America/New_York
people:
  maria: {roles: [manager, staff]}
  lee: {roles: [owner]}
playbooks:
  rt-daily:
    settings: {reminder_days: 3}
    roles: {office_manager: manager}
    tasks: {take_training: {title: "Do the privacy course ({{ employee }})"}}
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def fd(frontdesk: Frontdesk) -> Frontdesk:
    """The shared ``frontdesk`` with the ``rt-daily`` playbook beside the runtime ones."""
    (frontdesk.playbooks / "daily.yaml").write_text(DAILY, "utf-8")
    return frontdesk


def on_terminal(fd: Frontdesk, *args: str, columns: int = 80, typed: str = "",
                now: str | None = None) -> str:
    """Run ``frontdesk ARGS`` as a process on a pseudo-terminal of ``columns`` columns (stdin,
    stdout and stderr), ``typed`` written to it as keystrokes; what the terminal shows, with
    colours removed and ``\\r\\n`` as ``\\n``."""
    leader, follower = pty.openpty()
    env = {**fd.env(), "COLUMNS": str(columns), "LINES": "50"}
    with subprocess.Popen(fd.command(args, now), env=env, stdin=follower, stdout=follower,
                          stderr=follower, close_fds=True) as process:
        os.close(follower)
        if typed:
            os.write(leader, typed.encode())
        shown = b""
        while select.select([leader], [], [], 60)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the process closed the terminal (Linux: EIO)
                break
            if not chunk:
                break
            shown += chunk
        process.wait(timeout=60)
    os.close(leader)
    return ANSI.sub("", shown.decode("utf-8").replace("\r\n", "\n"))


def _words(text: str) -> list[str]:
    return text.split()


# -- 1. tables that fit the terminal ----------------------------------------------------------
def test_today_and_list_fit_an_80_column_terminal_and_never_cut_a_pipe(fd: Frontdesk) -> None:
    """On an 80-column terminal no line of ``today`` or ``list`` is wider than 80 and a long
    title wraps onto continuation lines, every word kept; through a pipe, and with ``--wide``
    on a terminal, the title is whole on one line."""
    instance = fd.ok("start", "rt-daily", "--set", "employee=Jo Smith").strip()
    args = ("today", "--everyone", "--days", "7")
    shown = on_terminal(fd, *args)
    lines = shown.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), shown
    assert TITLE not in shown and "\N{HORIZONTAL ELLIPSIS}" not in shown
    row = next(i for i, line in enumerate(lines) if f"{instance}-1" in line)
    title_column = lines[row].index("Take")
    continued = " ".join(line[title_column:].split("  ")[0] for line in lines[row:row + 6])
    assert " ".join(_words(TITLE)) in " ".join(_words(continued)), shown
    assert lines[row - 1].split() == ["DUE", "ROLE", "WHO", "TASK", "FOR", "ID"]

    assert TITLE in fd.ok(*args)  # not a terminal: nothing cut, nothing wrapped
    wide = on_terminal(fd, *args, "--wide")
    assert TITLE in wide and any(len(line) > 80 for line in wide.splitlines())

    listed = on_terminal(fd, "list", columns=60)
    assert all(len(line) <= 60 for line in listed.splitlines()), listed
    assert listed.splitlines()[0].split() == ["ID", "PLAYBOOK", "STATE", "STATUS", "SUBJECT"]
    assert f"{instance}  rt-daily  assigned  open    Training Jo Smith" in fd.ok("list")


# -- 2. show: an instance or a task, next events, a readable history ---------------------------
def test_show_takes_a_task_id_and_says_what_can_happen_next(fd: Frontdesk) -> None:
    """``show TASK`` shows that task's instance with the task marked; an unknown id is exit 4.
    The text lists the next events with fields and roles, and the history in practice time
    with notes, values (as YAML) and task names; ``show --json`` is the same Instance for an
    instance id and a task id."""
    instance = fd.ok("start", "rt-daily", "--set", "employee=Jo Smith",
                     "--set", "urgent=true").strip()
    task = f"{instance}-1"
    fd.ok("fire", instance, "remind", "--note", "asked twice", now="2026-01-06T10:30")
    by_task = fd.ok("show", task, now="2026-01-06T11:00")
    assert f"task {task} (take_training)" in by_task
    assert re.search(rf"^  >\s+{task}\s+open\s+2026-01-12\s+staff\s+Take the yearly", by_task,
                     re.MULTILINE), by_task
    assert fd.ok("show", instance, now="2026-01-06T11:00") != by_task

    events = by_task[by_task.index("next events"):by_task.index("history:")]
    assert "completed\n      -> trained, by staff or office_manager\n" in events
    assert "fired by completing take_training" in events
    assert ("excuse\n      -> excused, by owner\n        fields: reason (string, required)"
            in events)
    assert "remind\n      (stays in the state), by anyone\n      fired by a timer" in events

    history = by_task[by_task.index("history:"):]
    assert re.search(r"#1\s+2026-01-05 09:00 -05:00\s+maria\s+start -> assigned\n\s+inputs: "
                     r"\{code: \"016\", employee: Jo Smith, topics: \[PHI basics, HIPAA\], "
                     r"urgent: true\}", history), history
    assert "task: take_training (" + task + "), due 2026-01-12, role staff" in history
    assert "2026-01-06 10:30 -05:00  maria  transition remind assigned -> assigned" in history
    assert "note: asked twice" in history and "vars: {reminded: true}" in history
    assert "urgent: true" in by_task and "topics: [PHI basics, HIPAA]" in by_task
    assert "True" not in by_task and "['PHI" not in by_task and "T14:00" not in by_task

    fd.ok("done", task, "--set", "passed_on=2026-01-06", now="2026-01-06T12:00")
    closed = fd.ok("show", instance, now="2026-01-06T12:00")
    assert "next events" not in closed and "fields: {passed_on: 2026-01-06}" in closed
    assert "playbook note: passed on 2026-01-06" in closed

    assert fd.json("show", task) == fd.json("show", instance)
    assert list(fd.json("show", task)) == ["id", "playbook", "version", "subject", "state",
                                           "status", "outcome", "vars", "tasks", "started_at",
                                           "updated_at", "problems", "timers", "history"]
    for unknown in ("nosuch", f"{instance}-9", f"{instance}x-1"):
        missing = fd.run("show", unknown)
        assert missing.returncode == 4, missing.stderr
        assert f"no instance or task '{unknown}'" in missing.stderr


def test_show_fits_an_80_column_terminal(fd: Frontdesk) -> None:
    """``show`` on an 80-column terminal: no line wider than 80, the title wrapped whole."""
    instance = fd.ok("start", "rt-daily", "--set", "employee=Jo Smith").strip()
    shown = on_terminal(fd, "show", instance)
    assert all(len(line) <= 80 for line in shown.splitlines()), shown
    assert " ".join(_words(TITLE)) in " ".join(_words(shown))


# -- 3. describe, and start naming the inputs --------------------------------------------------
def test_describe_says_what_a_playbook_asks_and_offers_as_this_practice_runs_it(
        make_frontdesk: Callable[..., Frontdesk], tmp_path: Path) -> None:
    """``describe`` lists inputs, settings with practice.yaml's values, states, events with
    fields and roles after the practice's role mapping, and tasks with the practice's title
    and due; it opens no store; an unknown playbook is exit 4. A ``start`` without a required
    input names the inputs and points to ``describe``."""
    fd = make_frontdesk(tmp_path, practice=TAILORED)
    (fd.playbooks / "daily.yaml").write_text(DAILY, "utf-8")
    data = fd.json("describe", "rt-daily")
    assert fd.store_kind == "postgresql" or not fd.db.exists()  # no store opened or created
    assert [i["name"] for i in data["inputs"]] == ["employee", "topics", "urgent", "code"]
    assert data["inputs"][0] == {
        "name": "employee", "type": "string", "required": True, "default": None,
        "enum": None, "pattern": None, "minimum": None, "maximum": None,
        "description": "Who takes the training"}
    assert data["inputs"][1]["default"] == ["PHI basics", "HIPAA"]
    assert data["settings"] == [{"name": "reminder_days", "value": 3, "default": 7,
                                 "tailored": True}]
    assert data["roles"] == {"office_manager": "manager", "staff": "staff", "owner": "owner"}
    assert [s["name"] for s in data["states"]] == ["assigned", "trained", "excused"]
    events = {e["name"]: e for e in data["events"]}
    assert events["completed"]["transitions"][0]["by"] == ["staff", "manager"]
    assert events["completed"]["tasks"] == ["take_training"]
    assert events["remind"]["timers"] == ["assigned"]
    assert events["excuse"]["transitions"][0]["fields"][0]["name"] == "reason"
    (task,) = data["tasks"]
    assert task | {"fields": []} == {
        "id": "take_training", "title": "Do the privacy course ({{ employee }})",
        "role": "staff", "due": "3 days", "every": None, "state": "assigned", "fields": [],
        "done": "completed", "checklist": [], "disabled": False}

    text = fd.ok("describe", "rt-daily")
    assert "employee (string, required)\n      Who takes the training" in text
    assert "topics (list, default [PHI basics, HIPAA])" in text
    assert "code (string, default \"016\")" in text
    assert "reminder_days: 3  # practice.yaml; the playbook says 7" in text
    assert "roles: office_manager (this practice: manager), staff, owner" in text
    assert "in assigned -> trained, by staff or manager" in text
    assert "take_training: Do the privacy course ({{ employee }})" in text
    assert "in assigned, role staff, due 3 days, done fires completed" in text
    for playbook in ("rt-daily", "intake"):  # intake: the shipped one, with a description
        narrow = on_terminal(fd, "describe", playbook)
        assert all(len(line) <= 80 for line in narrow.splitlines()  # a path is never broken
                   if not line.startswith("source: ")), narrow

    unknown = fd.run("describe", "rt-dayly")
    assert unknown.returncode == 4 and "did you mean 'rt-daily'?" in unknown.stderr

    refused = fd.run("start", "rt-daily", "--set", "urgent=true")
    assert refused.returncode == 5
    assert ("missing required field 'employee'; its inputs: employee (required), topics, "
            "urgent, code (see 'frontdesk describe rt-daily')") in refused.stderr


# -- 4. fire --all: --dry-run, and a question only on a terminal -------------------------------
def test_fire_all_dry_run_writes_nothing_and_lists_each_instance(fd: Frontdesk) -> None:
    """``fire --all --dry-run`` prints, per open instance, where the event would take it or
    why it would be refused, and writes nothing (the audit head stays); ``--dry-run`` without
    ``--all`` is exit 2; without a terminal ``fire --all`` asks nothing and fires."""
    ids = [fd.ok("start", "rt-daily", "--set", f"employee=P{n}").strip() for n in range(3)]
    fd.ok("fire", ids[2], "remind", "--note", "late")  # still open, its history grows
    fd.ok("fire", ids[1], "excuse", "--set", "reason=on leave")  # closed: not listed
    head = fd.ok("audit", "head")

    text = fd.ok("fire", "--all", "rt-daily", "excuse", "--set", "reason=moved away",
                 "--dry-run")
    assert fd.ok("audit", "head") == head
    assert re.search(rf"^{ids[0]}\s+Training P0\s+assigned -> excused \(closed: excused\)$",
                     text, re.MULTILINE), text
    assert re.search(rf"^{ids[2]}\s+Training P2\s+assigned -> excused", text, re.MULTILINE)
    assert ids[1] not in text
    assert text.splitlines()[-1] == "dry run: would fire 2, not allowed 0; nothing was written"
    by_hand = fd.ok("fire", "--all", "rt-daily", "completed", "--dry-run")
    assert f"{ids[0]}  Training P0  refused: note: 'passed_on' is undefined" in by_hand

    refused = fd.json("fire", "--all", "rt-daily", "excuse", "--dry-run")
    assert refused == {"dry_run": True, "would_fire": [], "not_allowed": [
        {"instance": i, "state": "assigned",
         "reason": "missing required field 'reason'"} for i in (ids[0], ids[2])]}
    assert fd.ok("audit", "head") == head

    alone = fd.run("fire", ids[0], "completed", "--dry-run")
    assert alone.returncode == 2 and "--dry-run goes with --all" in alone.stderr
    assert fd.ok("audit", "head") == head

    fired = fd.run("fire", "--all", "rt-daily", "excuse", "--set", "reason=closed office")
    assert fired.returncode == 0 and fired.stdout == "fired 2, not allowed 0\n", fired.stderr
    assert "?" not in fired.stderr + fired.stdout  # no question without a terminal
    assert fd.ok("audit", "head") != head


def test_fire_all_asks_on_a_terminal_unless_yes(fd: Frontdesk) -> None:
    """On a terminal, ``fire --all`` says how many it would fire and asks (default no):
    answering no fires nothing; yes fires; ``--yes`` does not ask."""
    ids = [fd.ok("start", "rt-daily", "--set", f"employee=P{n}").strip() for n in range(2)]
    head = fd.ok("audit", "head")
    declined = on_terminal(fd, "fire", "--all", "rt-daily", "remind", typed="n\n")
    assert "'remind' would fire at 2 of 2 open instance(s) of 'rt-daily'" in declined
    assert "Fire it? [y/N]" in declined and "nothing fired" in declined, declined
    assert fd.ok("audit", "head") == head

    accepted = on_terminal(fd, "fire", "--all", "rt-daily", "remind", typed="y\n")
    assert "Fire it? [y/N]" in accepted and "fired 2, not allowed 0" in accepted, accepted
    assert fd.ok("audit", "head") != head

    unasked = on_terminal(fd, "fire", "--all", "rt-daily", "remind", "--yes")
    assert "Fire it?" not in unasked and "fired 2, not allowed 0" in unasked, unasked
    for instance in ids:  # fired twice: by the yes and by --yes, never by the no
        history = fd.json("show", instance)["history"]
        assert sum(r["event"] == "remind" and r["action"] == "transition" for r in history) == 2
