"""``validate`` serves the issues of files it has seen from the disk cache, and only while they
still hold: a run over unchanged files prints exactly what the first run printed without
importing the parser, JSON Schema, Jinja2 or the holidays package; an edited file, a changed
sibling playbook (its inputs, its presence, the ids a did-you-mean picks from), a changed
practice config or a changed tailored playbook is checked again. Each command runs as a
subprocess on a home whose cache the first command fills."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HEAVY = ("yaml", "jsonschema", "jinja2", "holidays")
PROBE = f"""\
import atexit, os, sys
def report():
    with open(os.environ["PROBE_OUT"], "w") as out:
        out.write(" ".join(m for m in {HEAVY!r} if m in sys.modules))
atexit.register(report)
from frontdesk.cli import main
sys.argv = ["frontdesk", *sys.argv[1:]]
main()
"""
TESTS = Path(__file__).resolve().parents[1]
BAD_CASE = TESTS / "playbooks" / "invalid" / "many-mistakes-claim" / "playbook.yaml"

PARENT = """\
playbook: parent
version: 1
title: Starts the child
roles: [clerk]
initial: wait
states:
  wait:
    on:
      go:
        to: done
        do:
          - start: {target}
            with: {{count: 1}}
  done:
    final: true
"""
CHILD = """\
playbook: child
version: 1
title: Started by the parent
roles: [clerk]
inputs:
  count: {{type: integer, required: true}}{more}
initial: open
states:
  open:
    tasks:
      - {{id: {task}, title: Call the client, role: clerk}}
    on:
      finish: {{to: done}}
  done:
    final: true
"""
PRACTICE = """\
practice: Test Practice
timezone: America/New_York
playbooks:
  child:
    disabled_tasks: [{task}]
"""


@dataclass
class Run:
    """One command: its exit code, output and the heavy modules it imported."""

    returncode: int
    stdout: str
    stderr: str
    imported: set[str]


@dataclass
class Workspace:
    """A home with a practice config and a playbook folder (``pb``) holding parent and child."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(text, "utf-8")

    def run(self, *args: str, cwd: Path | None = None) -> Run:
        """``frontdesk --playbooks pb ARGS`` in ``cwd`` (default: the workspace)."""
        out = self.root / "probe.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env.update(FRONTDESK_HOME=str(self.home), PROBE_OUT=str(out))
        folder = os.path.relpath(self.root / "pb", cwd or self.root)
        result = subprocess.run([sys.executable, "-c", PROBE, "--playbooks", folder, *args],
                                cwd=cwd or self.root, env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert "Traceback" not in result.stderr, result.stderr
        return Run(result.returncode, result.stdout, result.stderr,
                   set(out.read_text().split()))

    def twice(self, *args: str, cwd: Path | None = None) -> Run:
        """Run a command twice; the second run, after checking it printed the same."""
        first = self.run(*args, cwd=cwd)
        second = self.run(*args, cwd=cwd)
        assert (second.returncode, second.stdout, second.stderr) == (
            first.returncode, first.stdout, first.stderr)
        return second


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """The workspace: a valid parent, child and practice config."""
    workspace = Workspace(tmp_path)
    workspace.home.mkdir()
    (tmp_path / "pb").mkdir()
    workspace.write("pb/parent.yaml", PARENT.format(target="child"))
    workspace.write("pb/child.yaml", CHILD.format(more="", task="call"))
    workspace.write("home/practice.yaml", PRACTICE.format(task="call"))
    return workspace


@pytest.mark.parametrize("args", [("validate",), ("validate", "--format", "json"),
                                  ("validate", str(BAD_CASE)), ("validate", "pb")])
def test_second_run_prints_the_same_without_parsing(ws: Workspace, args: tuple[str, ...]) -> None:
    """Unchanged files: the same output and exit code, and nothing heavy imported."""
    second = ws.twice(*args)
    assert second.imported == set()


def test_edited_file_is_checked_again(ws: Workspace) -> None:
    """An edit that keeps the file's size and modification time is still seen."""
    assert ws.twice("validate", "pb/parent.yaml").returncode == 0
    path = ws.root / "pb" / "parent.yaml"
    before = path.stat()
    ws.write("pb/parent.yaml", PARENT.format(target="child").replace("count", "cuont"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = ws.run("validate", "pb/parent.yaml")
    assert result.returncode == 3
    assert "error[missing-input]: starts 'child' without its required input 'count'" in (
        result.stdout)
    assert "error[unknown-input]: 'child' has no input 'cuont'" in result.stdout


def test_changed_sibling_is_seen(ws: Workspace) -> None:
    """The parent is checked again when the child it starts changes its inputs, disappears
    and comes back."""
    assert ws.twice("validate", "pb/parent.yaml").returncode == 0
    ws.write("pb/child.yaml", CHILD.format(
        more="\n  name: {type: string, required: true}", task="call"))
    result = ws.run("validate", "pb/parent.yaml")
    assert result.returncode == 3
    assert "starts 'child' without its required input 'name'" in result.stdout
    (ws.root / "pb" / "child.yaml").unlink()
    result = ws.run("validate", "pb/parent.yaml")
    assert result.returncode == 3
    assert "error[unknown-playbook]: starts unknown playbook 'child'" in result.stdout
    ws.write("pb/child.yaml", CHILD.format(more="", task="call"))
    assert ws.run("validate", "pb/parent.yaml").returncode == 0


def test_new_playbook_changes_the_did_you_mean(ws: Workspace) -> None:
    """The hint of an unknown ``start`` target picks from every id: a new playbook with a close
    id changes it."""
    ws.write("pb/parent.yaml", PARENT.format(target="kid"))
    before = ws.twice("validate", "pb/parent.yaml")
    assert before.returncode == 3
    assert "starts unknown playbook 'kid'\n" in before.stdout
    ws.write("pb/kids.yaml", CHILD.format(more="", task="call").replace("child", "kids"))
    after = ws.run("validate", "pb/parent.yaml")
    assert after.returncode == 3
    assert "starts unknown playbook 'kid' (did you mean 'kids'?)" in after.stdout


def test_changed_practice_and_tailored_playbook_are_seen(ws: Workspace) -> None:
    """The practice config is checked again when it changes and when a playbook it tailors
    renames what it names."""
    assert ws.twice("validate").returncode == 0
    ws.write("pb/child.yaml", CHILD.format(more="", task="phone"))
    result = ws.run("validate")
    assert result.returncode == 3
    assert "home/practice.yaml:5:22: error[unknown-task]: playbook 'child' has no task 'call'" in (
        result.stdout)
    ws.write("home/practice.yaml", PRACTICE.format(task="phone"))
    assert ws.run("validate").returncode == 0
    ws.write("home/practice.yaml", PRACTICE.format(task="phone").replace("New_York", "Nowhere"))
    result = ws.run("validate")
    assert result.returncode == 3
    assert "unknown time zone 'America/Nowhere'" in result.stdout


def test_issues_name_the_file_as_given(ws: Workspace) -> None:
    """The same text checked under another name reports that name."""
    ws.write("pb/parent.yaml", PARENT.format(target="kid"))
    assert ws.twice("validate", "pb/parent.yaml").stdout.startswith("pb/parent.yaml:")
    inner = ws.run("validate", "parent.yaml", cwd=ws.root / "pb")
    assert inner.returncode == 3
    assert inner.stdout.startswith("parent.yaml:")
