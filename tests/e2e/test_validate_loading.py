"""``frontdesk validate`` (in process, through the click command) on what the loader used to let
through: ids with a trailing newline, field patterns RE2 cannot run, timers and recurrences that
never move forward, ``from`` variables that hold no date, and playbook roles nobody in the
practice holds. Then ``start`` with the values people type (amounts, enum spellings) and a
pattern that would make a backtracking engine hang."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from frontdesk.cli import main

Run = Callable[..., Any]


@dataclass
class Ran:
    """What one in-process ``frontdesk`` command did."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``frontdesk ARGS`` in process through ``frontdesk.cli.main`` (its own error handler
    and exit codes) on an empty temporary home, with ``$FRONTDESK_*`` cleared."""
    for name in [k for k in os.environ if k.startswith("FRONTDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path / "main-home"))

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run

HEAD = """\
playbook: checks
version: 1
title: Checks
roles: [staff]
"""


def validate(run_cli: Run, folder: Path, text: str, *args: str) -> tuple[int, list[str]]:
    """Write ``text`` as ``folder/playbook.yaml``, validate it there; (exit, stdout lines)."""
    (folder / "playbook.yaml").write_text(text, "utf-8")
    result = run_cli(*args, "validate", str(folder / "playbook.yaml"))
    prefix = str(folder / "playbook.yaml")
    return result.exit_code, [line.replace(prefix, "P") for line in result.stdout.splitlines()]


# -- ids end where they end ------------------------------------------------------------------
@pytest.mark.parametrize(("body", "expected"), [
    ('playbook: "intake\\n"\nversion: 1\ntitle: T\nroles: [a]\ninitial: s\nstates: {s: '
     '{final: true}}\n',
     "P:1:11: error[schema]: playbook: 'intake\\n' does not match ^[a-z][a-z0-9-]*$"),
    (HEAD + 'initial: s\nstates:\n  s: {on: {go: {to: "end\\n"}}}\n  "end\\n": {final: true}\n',
     "P:7:21: error[schema]: state 's', event 'go', to: 'end\\n' does not match "
     "^[A-Za-z_][A-Za-z0-9_]*$"),
    (HEAD + 'initial: s\nstates:\n  s: {on: {go: {to: "end\\n"}}}\n  "end\\n": {final: true}\n',
     "P:8:3: error[bad-name]: states: 'end\\n' is not a valid name (use letters, digits and "
     "'_', starting with a letter or '_')"),
    (HEAD + 'initial: s\nstates:\n  s:\n    tasks: [{id: "call\\n", title: Call}]\n'
     '    on: {go: {to: e}}\n  e: {final: true}\n',
     "P:8:18: error[schema]: state 's', task 'call\\n', id: 'call\\n' does not match "
     "^[A-Za-z_][A-Za-z0-9_]*$"),
    (HEAD + 'initial: "s\\n"\nstates: {s: {final: true}}\n',
     "P:5:10: error[schema]: initial: 's\\n' does not match ^[A-Za-z_][A-Za-z0-9_]*$"),
    ('playbook: checks\nversion: 1\ntitle: T\nroles: ["staff\\n"]\ninitial: s\n'
     'states: {s: {final: true}}\n',
     "P:4:9: error[schema]: roles, item 1: 'staff\\n' holds a control character (a newline, a "
     "tab, ...)"),
])
def test_ids_with_a_trailing_newline_are_refused(run_cli: Run, tmp_path: Path, body: str,
                                                 expected: str) -> None:
    """A schema pattern's ``$`` is the end of the text (ECMA-262), not "before a final
    newline" (Python's ``re``): the id is refused where it is, shown escaped on one line."""
    code, lines = validate(run_cli, tmp_path, body)
    assert code == 3
    assert expected in lines


def test_a_bad_state_name_is_located_at_its_key(run_cli: Run, tmp_path: Path) -> None:
    """A state name the schema refuses is reported at that name, not at the first state."""
    code, lines = validate(run_cli, tmp_path, HEAD + "initial: s\nstates:\n  s: {on: {go: "
                           "{to: Bad-Name}}}\n  Bad-Name: {final: true}\n")
    assert code == 3
    assert ("P:8:3: error[bad-name]: states: 'Bad-Name' is not a valid name (use letters, "
            "digits and '_', starting with a letter or '_')") in lines


# -- field patterns --------------------------------------------------------------------------
def test_field_patterns_re2_cannot_run_are_located_errors(run_cli: Run, tmp_path: Path) -> None:
    """A pattern that does not compile, or uses a backreference or a lookaround, is an
    ``error[pattern]`` at the pattern; its default is not reported again; ``\\p{L}`` works."""
    code, lines = validate(run_cli, tmp_path, HEAD + """\
inputs:
  a: {pattern: "(", default: x}
  b: {pattern: "(a)\\\\1"}
  c: {pattern: "(?=x)x"}
  d: {pattern: "\\\\p{L}+", default: Zoë}
  e: {pattern: "[0-9]+", default: "12x"}
initial: s
states: {s: {final: true}}
""")
    assert code == 3
    hint = "(RE2 syntax: no backreferences or lookarounds; \\z, not \\Z)"
    assert lines == [
        f"P:6:16: error[pattern]: field 'a': pattern is not a regular expression frontdesk can "
        f"run: missing ): ( {hint}",
        f"P:7:16: error[pattern]: field 'b': pattern is not a regular expression frontdesk can "
        f"run: invalid escape sequence: \\1 {hint}",
        f"P:8:16: error[pattern]: field 'c': pattern is not a regular expression frontdesk can "
        f"run: invalid perl operator: (?= {hint}",
        "P:10:35: error[bad-default]: field 'e': default does not fit: expected text matching "
        "[0-9]+",
    ]


# -- timers and recurrences that never move forward ------------------------------------------
LOOPS = HEAD + """\
settings: {retry_days: 0, gap: 3}
initial: waiting
states:
  waiting:
    tasks:
      - {id: check, title: Check, role: staff, every: 0 days}
      - {id: check2, title: Check, role: staff, every: "{{ settings.retry_days }} days"}
      - {id: check3, title: Check, role: staff, every: "{{ settings.gap }} days"}
    timers:
      - {after: 0 minutes, event: poke}
      - {after: "{{ settings.retry_days }} days", event: retry}
      - {after: "{{ settings.gap }} days", event: later}
      - {after: 0 days, event: hop}
      - {after: 0 hours, event: stay}
      - {after: 0 days, event: leave}
    on:
      poke: {to: waiting}
      retry: {to: router}
      later: {to: waiting}
      hop: {to: elsewhere}
      stay: {}
      leave: {to: done}
  router:
    choose:
      - {when: "true", to: waiting}
      - {to: done}
  elsewhere:
    timers:
      - {after: 0 hours, event: back}
    on:
      back: {to: waiting}
  done: {final: true}
"""


def test_timers_due_at_once_that_come_back_are_errors(run_cli: Run, tmp_path: Path) -> None:
    """A zero timer (literal, or a setting whose default is 0) whose transition re-enters its
    state (directly, through a choice state, or through another zero timer) would make ``tick``
    spin; ``every`` of zero would make ``done`` spin. A positive timer, an internal transition
    and a zero timer that leaves for good are fine."""
    code, lines = validate(run_cli, tmp_path, LOOPS)
    assert code == 3
    loop = ("and its transition comes back to '{state}', so every tick would fire it again, "
            "forever (give it a positive duration, or let its event lead to another state)")
    interval = ("never moves on to a later occurrence (a recurring task needs a positive "
                "interval, e.g. '1 week')")
    assert lines == [
        f"P:10:55: error[zero-interval]: task 'check': every '0 days' {interval}",
        "P:11:56: error[zero-interval]: task 'check2': every '{{ settings.retry_days }} days' "
        f"with setting 'retry_days' = 0 {interval}",
        "P:14:17: error[timer-loop]: state 'waiting': timer 'poke' is due at once ('0 minutes') "
        + loop.format(state="waiting"),
        "P:15:17: error[timer-loop]: state 'waiting': timer 'retry' is due at once "
        "('{{ settings.retry_days }} days' with setting 'retry_days' = 0) "
        + loop.format(state="waiting"),
        "P:17:17: error[timer-loop]: state 'waiting': timer 'hop' is due at once ('0 days') "
        + loop.format(state="waiting"),
        "P:33:17: error[timer-loop]: state 'elsewhere': timer 'back' is due at once "
        "('0 hours') " + loop.format(state="elsewhere"),
    ]


def test_a_practice_setting_that_stops_time_is_an_error(run_cli: Run, tmp_path: Path) -> None:
    """A practice that overrides a setting to 0 where it makes a timer loop or a recurrence
    stand still gets the error at its override in practice.yaml."""
    playbooks = tmp_path / "books"
    playbooks.mkdir()
    (playbooks / "recall.yaml").write_text(HEAD.replace("checks", "recall") + """\
settings: {gap: 3, every_days: 7}
initial: waiting
states:
  waiting:
    tasks: [{id: call, title: Call, role: staff, every: "{{ settings.every_days }} days"}]
    timers: [{after: "{{ settings.gap }} days", event: poke}]
    on: {poke: {to: waiting}, finish: {to: done}}
  done: {final: true}
""", "utf-8")
    (tmp_path / "practice.yaml").write_text(
        "people:\n  maria: {roles: [staff]}\n"
        "playbooks:\n  recall:\n    settings: {gap: 0, every_days: 0}\n", "utf-8")
    result = run_cli("--playbooks", str(playbooks), "validate", str(tmp_path / "practice.yaml"))
    assert result.exit_code == 3
    lines = result.stdout.replace(str(tmp_path) + "/", "").splitlines()
    assert lines == [
        "practice.yaml:5:21: error[timer-loop]: playbook 'recall': state 'waiting': timer "
        "'poke' is due at once ('{{ settings.gap }} days' with setting 'gap' = 0) and its "
        "transition comes back to 'waiting', so every tick would fire it again, forever (give "
        "it a positive duration, or let its event lead to another state)",
        "practice.yaml:5:36: error[zero-interval]: playbook 'recall': task 'call': every "
        "'{{ settings.every_days }} days' with setting 'every_days' = 0 never moves on to a "
        "later occurrence (a recurring task needs a positive interval, e.g. '1 week')",
    ]


# -- what ``from`` names ---------------------------------------------------------------------
def test_from_must_name_a_date_variable(run_cli: Run, tmp_path: Path) -> None:
    """A timer's or due's ``from`` naming a string input, a number field or a variable set to
    literal text is an error; a date, a datetime and a templated ``set`` (known only when it
    runs) are fine."""
    code, lines = validate(run_cli, tmp_path, HEAD + """\
inputs:
  referral: {type: string}
  untyped: {}
  seen_on: {type: date}
  call_at: {type: datetime}
initial: s
states:
  s:
    tasks:
      - {id: a, title: A, role: staff, due: {after: 2 days, from: referral}}
      - {id: b, title: B, role: staff, due: {before: 1 day, from: untyped}}
      - {id: c, title: C, role: staff, due: {before: 1 day, from: seen_on}}
      - id: d
        title: D
        due: {after: 1 day, from: count}
        fields: {count: {type: integer}}
    timers:
      - {after: 2 hours, from: call_at, event: go}
      - {after: 2 days, from: label, event: go}
      - {after: 2 days, from: deadline, event: go}
    on:
      go:
        to: e
        set: {label: "later", deadline: "{{ add_duration(seen_on, '3 days') }}"}
  e: {final: true}
""")
    assert code == 3
    hint = "(declare it with 'type: date' or 'type: datetime')"
    assert lines == [
        f"P:14:67: error[from-type]: 'from' names 'referral', which holds a string, not a date "
        f"or datetime {hint}",
        f"P:15:67: error[from-type]: 'from' names 'untyped', which holds a string, not a date "
        f"or datetime {hint}",
        f"P:19:35: error[from-type]: 'from' names 'count', which holds an integer, not a date "
        f"or datetime {hint}",
        f"P:23:31: error[from-type]: 'from' names 'label', which holds a string, not a date "
        f"or datetime {hint}",
    ]


# -- playbook roles nobody holds -------------------------------------------------------------
def test_roles_nobody_holds_are_warnings(run_cli: Run, tmp_path: Path) -> None:
    """With ``people``: a person's role that is a typo of a playbook role nobody holds is a
    warning at that role (any playbook on the search path); an unmapped role nobody holds in a
    playbook of the practice's own is a warning at ``people`` (or at its tailoring)."""
    playbooks = tmp_path / "books"
    playbooks.mkdir()
    (playbooks / "recall.yaml").write_text(
        "playbook: recall\nversion: 1\ntitle: Recall\nroles: [staff, owner, nurse]\n"
        "initial: s\nstates: {s: {final: true}}\n", "utf-8")
    (playbooks / "other.yaml").write_text(
        "playbook: other\nversion: 1\ntitle: Other\nroles: [clerk]\n"
        "initial: s\nstates: {s: {final: true}}\n", "utf-8")
    practice = tmp_path / "practice.yaml"
    practice.write_text("people:\n  maria: {roles: [ofice_manager, staff]}\n"
                        "  drlee: {roles: [owner]}\n"
                        "playbooks:\n  other:\n    roles: {}\n", "utf-8")
    result = run_cli("--playbooks", str(playbooks), "validate", str(practice))
    assert result.exit_code == 0
    assert result.stdout.replace(str(tmp_path) + "/", "").splitlines() == [
        "practice.yaml:1:1: warning[unknown-role]: playbook 'recall': no person holds its role "
        "'nurse' (give it to a person, or map it under playbooks: recall: roles: "
        "{nurse: PRACTICE_ROLE})",
        "practice.yaml:2:19: warning[unknown-role]: person 'maria': role 'ofice_manager' is "
        "used by no playbook, and no person holds the role 'office_manager' of "
        "'onboarding-90-day' (did you mean 'office_manager'?)",
        "practice.yaml:6:5: warning[unknown-role]: playbook 'other': no person holds its role "
        "'clerk' (give it to a person, or map it under playbooks: other: roles: "
        "{clerk: PRACTICE_ROLE})",
    ]
    assert "0 errors, 3 warnings" in result.stderr


def test_no_role_warnings_without_people(run_cli: Run, tmp_path: Path) -> None:
    """Without ``people`` everyone holds every role: nothing to warn about."""
    practice = tmp_path / "practice.yaml"
    practice.write_text("practice: Solo\n", "utf-8")
    result = run_cli("validate", str(practice))
    assert result.exit_code == 0 and result.stdout == ""


# -- values at run time ----------------------------------------------------------------------
RUNNABLE = HEAD + """\
inputs:
  code: {type: string, pattern: "(a+)+$"}
  amount: {type: number, required: true}
  payer: {type: string, enum: [medicare, medicaid, commercial]}
  name: {type: string, required: true}
initial: s
states:
  s:
    on: {finish: {to: e}}
  e: {final: true}
"""


@pytest.fixture
def started(run_cli: Run, tmp_path: Path) -> Callable[..., Any]:
    """``start checks --set ...`` on an initialised home with the runnable playbook."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "checks.yaml").write_text(RUNNABLE, "utf-8")
    assert run_cli("init").exit_code == 0
    return lambda *sets: run_cli("--playbooks", str(books), "start", "checks", "--json",
                                 *(a for s in sets for a in ("--set", s)))


def test_start_takes_amounts_and_enum_spellings(started: Callable[..., Any]) -> None:
    """``$1,340.00`` is 1340.0 and ``Medicare`` is ``medicare`` in the instance's variables."""
    import json

    result = started("amount=$1,340.00", "payer=Medicare", "name=Ann")
    assert result.exit_code == 0, result.stderr
    variables = json.loads(result.stdout)["vars"]
    assert variables["amount"] == 1340.0 and variables["payer"] == "medicare"


@pytest.mark.parametrize(("given", "message"), [
    ("amount=1_000", "field 'amount': expected a number such as 42, 3.75, $340 or 1,340.00"),
    ("amount=١٢٣", "field 'amount': expected a number such as 42, 3.75, $340 or 1,340.00"),
    ("name=", "field 'name': a value is required"),
    ("name=   ", "field 'name': a value is required"),
])
def test_start_refuses_other_text(started: Callable[..., Any], given: str,
                                  message: str) -> None:
    """Text outside the documented formats, and an empty required value, are refused (exit 5)
    naming the field."""
    sets = ["amount=5", "name=Ann", given]
    result = started(*sets)
    assert result.exit_code == 5
    assert message in result.stderr


def test_a_catastrophic_pattern_is_answered_at_once(started: Callable[..., Any]) -> None:
    """``(a+)+$`` with 41 a's and a b hangs a backtracking engine; RE2 refuses it at once."""
    began = time.monotonic()
    result = started("amount=5", "name=Ann", "code=" + "a" * 41 + "b")
    assert result.exit_code == 5
    assert "field 'code': expected text matching (a+)+$" in result.stderr
    assert time.monotonic() - began < 10


def test_a_timer_counted_from_a_variable_that_comes_back_unchanged(run_cli: Run,
                                                                   tmp_path: Path) -> None:
    """A ``from`` timer whose event always goes straight back to its state, with no guard and
    setting nothing, is armed again with the due time that just passed: an error. With a
    guard, a ``set`` of anything, or another target it may end, and is left to run time."""
    code, lines = validate(run_cli, tmp_path, HEAD + """\
inputs:
  visit_on: {type: date, required: true}
initial: waiting
states:
  waiting:
    timers:
      - {before: 1 day, from: visit_on, event: remind}
      - {after: 2 days, from: visit_on, event: guarded}
      - {after: 3 days, from: visit_on, event: counted}
      - {after: 4 days, from: visit_on, event: moved}
    on:
      remind: {to: waiting}
      guarded: {to: waiting, when: "today < visit_on"}
      counted: {to: waiting, set: {visit_on: "{{ add_duration(visit_on, '1 week') }}"}}
      moved: {to: done}
  done: {final: true}
""")
    assert code == 3
    assert lines == [
        "P:11:31: error[timer-loop]: state 'waiting': timer 'remind' counts from 'visit_on' and "
        "its transition comes back to 'waiting' changing nothing, so it is armed again with the "
        "due time that just passed and every tick would fire it, forever (let its event lead "
        "to another state, give the transition a 'when', or 'set' the variable it counts from)",
    ]
