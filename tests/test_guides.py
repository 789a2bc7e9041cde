"""The examples of docs/packs.md and docs/tailoring.md, run as written.

A block is marked in the Markdown by a comment on the line before it, ``<!-- example: NAME -->``
for an input and ``<!-- output: NAME -->`` for what frontdesk prints (the same convention as
``<!-- example: playbook -->`` in docs/authoring.md, checked by test_shipped.py).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from frontdesk_testing import CliResult, frontdesk_argv, run_main

REPO = Path(__file__).resolve().parents[1]


def block(doc: str, kind: str, name: str) -> str:
    """The fenced block marked ``<!-- kind: name -->`` in ``docs/<doc>``."""
    text = (REPO / "docs" / doc).read_text("utf-8")
    (found,) = re.findall(rf"<!-- {kind}: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", text,
                          re.S)
    return str(found)


def guide_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(FRONTDESK_HOME=str(home), FRONTDESK_NOW="2026-01-05T09:00",
               FRONTDESK_USER="maria")
    return env


def frontdesk(*args: str, cwd: Path, home: Path) -> CliResult:
    """``frontdesk ARGS`` in this process (``run_main``), as the guide's reader runs it."""
    return run_main(args, guide_env(home), cwd=cwd)


def frontdesk_process(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``frontdesk ARGS`` as the installed command: ``pack test`` imports the pack, and a
    module imported once stays imported in a process, so pack commands each get their own."""
    return subprocess.run([*frontdesk_argv(), *args], cwd=cwd, env=guide_env(home),
                          capture_output=True, text=True, timeout=120, check=False)


def test_tailoring_example_validates_runs_and_shows(tmp_path: Path) -> None:
    """The example practice.yaml validates, changes the corrected-claim task as the guide says,
    and ``show-playbook --effective`` prints the excerpts shown in the guide."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(block("tailoring.md", "example", "practice"), "utf-8")
    checked = frontdesk("validate", cwd=tmp_path, home=home)
    assert checked.returncode == 0, checked.stdout
    started = frontdesk("start", "claim-denial", "--set", "claim_id=C-1001",
                        "--set", "payer_type=commercial", "--set", "group=CO", "--set", "carc=16",
                        "--set", "amount=120", "--set", "denied_on=2026-01-05",
                        "--set", "service_date=2025-12-20", "--json", cwd=tmp_path, home=home)
    assert started.returncode == 0, started.stderr
    instance = json.loads(started.stdout)
    assert instance["vars"]["appeal_deadline"] == "2026-04-05"  # 90 days, not 180
    assert [(t["title"], t["role"], t["due"]) for t in instance["tasks"]] == [
        ("Fix and resubmit claim C-1001", "billing", "2026-01-07")]
    shown = frontdesk("show-playbook", "claim-denial", "--effective", cwd=tmp_path, home=home)
    assert shown.returncode == 0
    for name in ("effective", "disabled"):
        assert block("tailoring.md", "output", name) in shown.stdout, name


def test_tailoring_mistakes_are_reported_as_the_guide_says(tmp_path: Path) -> None:
    """The guide's broken practice.yaml gives exactly the guide's ``validate`` output, exit 3."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(block("tailoring.md", "example", "bad-practice"),
                                        "utf-8")
    result = frontdesk("validate", "practice.yaml", cwd=home, home=home)
    assert result.returncode == 3
    assert result.stdout == block("tailoring.md", "output", "validate")


def test_pack_guide_sequence_runs_as_written(tmp_path: Path) -> None:
    """``pack new`` / ``cd`` / ``pack test`` from docs/packs.md print the guide's output, and the
    pyproject excerpt is what ``pack new`` wrote."""
    cwd = tmp_path
    output = ""
    for line in block("packs.md", "example", "pack-new").splitlines():
        args = shlex.split(line)
        if args[0] == "cd":
            cwd = cwd / args[1]
            continue
        result = frontdesk_process(*args[1:], cwd=cwd, home=tmp_path / "home")
        assert result.returncode == 0, result.stdout + result.stderr
        output = result.stdout
    assert output == block("packs.md", "output", "pack-test")
    pyproject = (cwd / "pyproject.toml").read_text("utf-8")
    assert block("packs.md", "example", "pyproject") in pyproject
