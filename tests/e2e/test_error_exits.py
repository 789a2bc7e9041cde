"""Errors are data, and a failure of the environment is never a playbook's refusal.

Each error class decides its exit code and builds its message from its fields; code that needs
a part of an error reads the field. A missing module, a store that cannot be reached or a bug
inside a step keeps its own exit code (8 for the store, 1 for a bug), never "invalid value" and
exit 5. Commands run in-process through ``frontdesk.cli.main``, the console script's one
handler, except where a real subprocess is the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from frontdesk.cli import main
from frontdesk.error_handler import describe
from frontdesk.errors import (
    AuditBrokenError,
    ConflictError,
    ExitCode,
    InvalidError,
    Issue,
    LeftUnchangedError,
    Location,
    NotFoundError,
    RefusedError,
    StoreUnavailableError,
    UsageError,
)
from frontdesk_testing import NY_PRACTICE, RUNTIME_PLAYBOOKS

Run = Callable[..., tuple[int, str, str]]
UNREACHABLE_PG = "postgresql://frontdesk@127.0.0.1:1/nowhere"
INSTALL_HINT = "pip install 'frontdesk[postgres]'"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    """``frontdesk ARGS`` through ``main`` on a fresh New York home with the runtime test
    playbooks: ``(exit code, stdout, stderr)``."""
    for name in [k for k in os.environ if k.startswith("FRONTDESK_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(NY_PRACTICE, "utf-8")
    monkeypatch.setenv("FRONTDESK_HOME", str(home))
    monkeypatch.setenv("FRONTDESK_USER", "maria")
    monkeypatch.setenv("FRONTDESK_NOW", "2026-01-05T09:00")

    def go(*args: str, playbooks: Path = RUNTIME_PLAYBOOKS) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(["--playbooks", str(playbooks), *args])
        out, err = capsys.readouterr()
        return int(exit_.value.code or 0), out, err

    return go


# -- the classes: exit code by class, message from fields ------------------------------------
@pytest.mark.parametrize(("error", "code"), [
    (UsageError("x"), 2), (InvalidError([Issue("error", "c", "x")]), 3), (NotFoundError("x"), 4),
    (RefusedError("x"), 5), (ConflictError("x"), 6), (LeftUnchangedError(["a"]), 6),
    (AuditBrokenError("x"), 7), (StoreUnavailableError("x"), 8)])
def test_the_class_decides_the_exit_code(error: Exception, code: int) -> None:
    """Every error class maps to its documented exit code, in the one handler."""
    assert describe(error)[1] == code


def test_a_refusal_formats_its_fields() -> None:
    """Where (instance and event, task, or the playbook being started) and why are fields;
    the message is built from them, and the reason stands alone."""
    fired = RefusedError("not allowed in state 'new'", instance="i1", event="go")
    assert fired.message == "instance 'i1', event 'go': not allowed in state 'new'"
    assert (fired.reason, fired.instance, fired.event) == ("not allowed in state 'new'", "i1",
                                                           "go")
    done = RefusedError("cannot be done yet", instance="i1", task="call")
    assert str(done) == "instance 'i1', task 'call': cannot be done yet"
    started = RefusedError("missing required field 'client'", playbook="intake")
    assert started.message == "start 'intake': missing required field 'client'"
    assert RefusedError("unknown person 'x'").message == "unknown person 'x'"


def test_other_errors_format_their_fields() -> None:
    """Issues and the ids left unchanged are the fields the messages come from."""
    issue = Issue("error", "unknown-state", "goes to 'x'", Location("p.yaml", 3, 7))
    assert InvalidError([issue]).message == "p.yaml:3:7: error[unknown-state]: goes to 'x'"
    left = LeftUnchangedError([f"i{n}" for n in range(7)])
    assert left.instances[-1] == "i6"
    assert left.message == ("7 instance(s) changed meanwhile and were left unchanged (i0, i1, "
                            "i2, i3, i4, ...); run the command again")


def test_click_usage_and_bugs() -> None:
    """click's usage errors are exit 2; anything else is an internal error (exit 1) whose
    line never repeats the exception's text (it may hold a patient's data)."""
    assert describe(click.UsageError("No such option '--x'"))[1] == ExitCode.USAGE
    message, code = describe(KeyError("Ann Example"))
    assert code == ExitCode.INTERNAL and "Ann Example" not in message
    assert message == "internal error (KeyError); run with --debug for details"
    message, code = describe(ModuleNotFoundError("No module named 'zz'", name="zz"))
    assert code == ExitCode.INTERNAL and "module 'zz' cannot be imported" in message


# -- PostgreSQL without psycopg: exit 8 and what to install ----------------------------------
@pytest.mark.parametrize("args", [("start", "rt-intake", "--set", "client=Ann"), ("list",),
                                  ("tick",), ("fire", "abc", "go"), ("db", "status")])
def test_postgres_without_psycopg_says_what_to_install(
        run: Run, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """Without psycopg, every command on a postgresql:// store is exit 8 with the extra to
    install; ``start`` is not refused as an invalid value of a task."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg fails
    code, out, err = run("--db", UNREACHABLE_PG, *args)
    assert (code, out) == (8, ""), err
    assert err.startswith("frontdesk: error: a postgresql:// store needs psycopg (")
    assert INSTALL_HINT in err and "invalid value" not in err


def test_postgres_without_psycopg_in_a_subprocess(tmp_path: Path) -> None:
    """The console script's way: an interpreter where ``import psycopg`` fails."""
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['psycopg'] = None\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(NY_PRACTICE, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(PYTHONPATH=os.pathsep.join([str(blocker), env.get("PYTHONPATH", "")]),
               FRONTDESK_HOME=str(home), FRONTDESK_DB=UNREACHABLE_PG, FRONTDESK_USER="maria")
    result = subprocess.run(
        [sys.executable, "-c", "from frontdesk.cli import main; main()", "--playbooks",
         str(RUNTIME_PLAYBOOKS), "start", "rt-intake", "--set", "client=Ann"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 8, result.stderr
    assert INSTALL_HINT in result.stderr and "Traceback" not in result.stderr


# -- failures inside a step keep their own exit code -----------------------------------------
def test_a_missing_module_in_a_step_is_an_internal_error(
        run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """``start`` computes a due date in business days; with the ``holidays`` package missing
    that is a broken installation (exit 1, naming the module), not a refusal (exit 5)."""
    monkeypatch.setitem(sys.modules, "holidays", None)
    code, _, err = run("start", "rt-intake", "--set", "client=Ann")
    assert code == 1, err
    assert err == ("frontdesk: error: internal error: the module 'holidays' cannot be imported "
                   "(ModuleNotFoundError); reinstall frontdesk, or run with --debug for "
                   "details\n")


@pytest.mark.parametrize(("error", "code"), [
    (StoreUnavailableError("cannot use the store: disk I/O error"), 8),
    (ConflictError("the store is busy; retry"), 6),
    (OSError(5, "Input/output error"), 1),
    (MemoryError(), 1),
])
def test_failures_inside_a_step_are_not_refusals(run: Run, monkeypatch: pytest.MonkeyPatch,
                                                 error: BaseException, code: int) -> None:
    """Whatever fails while a step computes a due date keeps its exit code; only a bad value
    or expression is the playbook's refusal (exit 5)."""
    def broken(country: str, subdivision: str | None) -> Callable[[int], frozenset[object]]:
        def holidays_for_year(year: int) -> frozenset[object]:
            raise error
        return holidays_for_year

    monkeypatch.setattr("frontdesk.workspace.package_holidays", broken)
    got, _, err = run("start", "rt-intake", "--set", "client=Ann")
    assert got == code, err
    assert "invalid value" not in err and "Traceback" not in err


def test_a_bad_value_in_an_expression_is_still_a_refusal(run: Run) -> None:
    """The narrowed handler still refuses what a playbook's expression does wrong."""
    code, out, _ = run("start", "rt-intake", "--set", "client=Ann", "--json")
    assert code == 0
    instance = json.loads(out)["id"]
    code, _, err = run("fire", instance, "label")
    assert code == 5
    assert err == (f"frontdesk: error: instance '{instance}', event 'label': set 'label': "
                   "'referred_on' is undefined\n")


# -- reasons are read from the field ---------------------------------------------------------
GUARDED_TIMER = """\
playbook: et-guarded
version: 1
title: A timer whose event is refused
roles: [front_desk]
inputs:
  n: {type: integer, default: 1}
initial: waiting
states:
  waiting:
    timers:
      - {after: 1 day, event: nudge}
    on:
      nudge: {to: nudged, when: n > 5}
  nudged:
    final: true
    outcome: nudged
"""


def test_a_timer_not_applied_keeps_the_refusals_reason(run: Run, tmp_path: Path) -> None:
    """``tick`` records why a timer's event was not applied: the refusal's reason field, the
    same words the refusal gives after its instance and event."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "guarded.yaml").write_text(GUARDED_TIMER, "utf-8")
    code, instance, err = run("start", "et-guarded", playbooks=folder)
    assert code == 0, err
    instance = instance.strip()
    code, out, err = run("--now", "2026-01-07T09:00", "tick", "--json", playbooks=folder)
    assert code == 0, err
    assert '"not_applied"' in out and instance in out
    code, out, err = run("show", instance, "--json", playbooks=folder)
    [fired] = [r for r in json.loads(out)["history"] if r["action"] == "timer_fired"]
    assert fired["data"]["applied"] is False
    assert fired["data"]["reason"] == ("not allowed now in state 'waiting': its condition does "
                                       "not hold (n > 5)")
