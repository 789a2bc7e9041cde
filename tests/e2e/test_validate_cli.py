"""End-to-end ``frontdesk validate`` and help/version: exit codes, located issue lines, JSON
output, limits, and never a traceback. Commands run in this process through the console
script's handler (``run_cli``); ``--help`` and ``--version`` also run as the installed
``frontdesk`` process (``run_frontdesk``)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from frontdesk import __version__
from frontdesk_testing import CliResult

Run = Callable[..., "CliResult | subprocess.CompletedProcess[str]"]

TESTS = Path(__file__).resolve().parents[1]
GOOD = TESTS / "playbooks" / "valid" / "minimal.yaml"
BAD_CASE = TESTS / "playbooks" / "invalid" / "many-mistakes-claim"
LOCATED = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): "
                     r"(?P<severity>error|warning)\[(?P<code>[a-z0-9-]+)\]: \S.*$")


def alias_bomb() -> str:
    """A "billion laughs" document: 9 levels of 9 aliases each."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def make_input(kind: str, folder: Path) -> str:
    """Write the input file of ``kind`` in ``folder``; returns the name to pass to validate."""
    if kind == "good":
        (folder / "good.yaml").write_text(GOOD.read_text("utf-8"), "utf-8")
        return "good.yaml"
    if kind == "bad":
        (folder / "playbook.yaml").write_text((BAD_CASE / "playbook.yaml").read_text("utf-8"),
                                              "utf-8")
        return "playbook.yaml"
    if kind == "bomb":
        (folder / "bomb.yaml").write_text(alias_bomb(), "utf-8")
        return "bomb.yaml"
    if kind == "big":
        filler = "# " + "x" * 1022 + "\n"
        (folder / "big.yaml").write_text("playbook: big\n" + filler * (5 * 1024), "utf-8")
        return "big.yaml"
    if kind == "binary":
        (folder / "binary.yaml").write_bytes(b"playbook: x\n\x00\x01\x02\xff\xfe" * 50)
        return "binary.yaml"
    assert kind == "missing"
    return "missing.yaml"


def assert_no_traceback(result: CliResult | subprocess.CompletedProcess[str]) -> None:
    """Neither stream shows a Python traceback."""
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def located_lines(stdout: str, path: str) -> list[re.Match[str]]:
    """Every stdout line parsed as ``PATH:LINE:COL: severity[CODE]: message``."""
    matches = []
    for line in stdout.splitlines():
        match = LOCATED.match(line)
        assert match, f"not a located issue line: {line!r}"
        assert match["path"] == path
        matches.append(match)
    return matches


def test_good_file_exits_0(run_cli: Run, tmp_path: Path) -> None:
    """A valid playbook: exit 0, nothing on stdout, a summary on stderr."""
    result = run_cli("validate", make_input("good", tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "1 file checked: 0 errors, 0 warnings" in result.stderr
    assert_no_traceback(result)


def test_bad_file_one_located_line_per_problem(run_cli: Run) -> None:
    """A playbook with many mistakes: exit 3, exactly its expected located lines."""
    result = run_cli("validate", "playbook.yaml", cwd=BAD_CASE)
    assert result.returncode == 3, result.stderr
    expected = (BAD_CASE / "expected.txt").read_text("utf-8")
    assert result.stdout == expected
    matches = located_lines(result.stdout, "playbook.yaml")
    assert len(matches) == len(expected.splitlines()) > 10
    assert f"{len(matches)} errors" in result.stderr
    assert_no_traceback(result)


def test_alias_bomb_refused_fast(run_cli: Run, tmp_path: Path) -> None:
    """A billion-laughs file is refused with a located too-large error in under a second."""
    name = make_input("bomb", tmp_path)
    started = time.monotonic()
    result = run_cli("validate", name)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    [match] = located_lines(result.stdout, name)
    assert match["code"] == "too-large"
    assert_no_traceback(result)


def test_five_mib_file_refused(run_cli: Run, tmp_path: Path) -> None:
    """A 5 MiB file is refused with one located too-large line."""
    name = make_input("big", tmp_path)
    assert (tmp_path / name).stat().st_size >= 5 * 1024 * 1024
    result = run_cli("validate", name)
    assert result.returncode == 3, result.stderr
    [match] = located_lines(result.stdout, name)
    assert (match["line"], match["col"], match["code"]) == ("1", "1", "too-large")
    assert_no_traceback(result)


def test_binary_file_refused(run_cli: Run, tmp_path: Path) -> None:
    """A binary file is refused with one located error line, exit 3."""
    name = make_input("binary", tmp_path)
    result = run_cli("validate", name)
    assert result.returncode == 3, result.stderr
    [match] = located_lines(result.stdout, name)
    assert match["severity"] == "error"
    assert_no_traceback(result)


def test_missing_file_reported(run_cli: Run, tmp_path: Path) -> None:
    """A path that does not exist gives one located not-found error, exit 3."""
    result = run_cli("validate", make_input("missing", tmp_path))
    assert result.returncode == 3, result.stderr
    [match] = located_lines(result.stdout, "missing.yaml")
    assert match["code"] == "not-found"
    assert_no_traceback(result)


@pytest.mark.parametrize("kind, exit_code", [
    ("good", 0), ("bad", 3), ("bomb", 3), ("big", 3), ("binary", 3), ("missing", 3),
])
def test_json_format(run_cli: Run, tmp_path: Path, kind: str, exit_code: int) -> None:
    """``--format json`` prints one JSON document whose counts match the exit code."""
    name = make_input(kind, tmp_path)
    result = run_cli("validate", "--format", "json", name)
    assert result.returncode == exit_code, result.stderr
    report = json.loads(result.stdout)
    [entry] = report["files"]
    assert entry["path"] == name
    assert entry["valid"] is (exit_code == 0)
    assert (report["errors"] > 0) is (exit_code != 0)
    assert len(entry["issues"]) == report["errors"] + report["warnings"]
    for issue in entry["issues"]:
        assert issue["path"] == name
        assert issue["line"] >= 1 and issue["col"] >= 1
    assert_no_traceback(result)


def test_help_exits_0(run_frontdesk: Run) -> None:
    """``frontdesk --help`` exits 0 and lists the validate command."""
    result = run_frontdesk("--help")
    assert result.returncode == 0, result.stderr
    assert "validate" in commands_of(result.stdout)
    assert_no_traceback(result)


def test_version_exits_0(run_frontdesk: Run) -> None:
    """``frontdesk --version`` exits 0 and prints the package version."""
    result = run_frontdesk("--version")
    assert result.returncode == 0, result.stderr
    assert "frontdesk" in result.stdout and __version__ in result.stdout
    assert_no_traceback(result)


def commands_of(help_text: str) -> list[str]:
    """The command names listed under ``Commands:`` in click's help output."""
    names: list[str] = []
    in_commands = False
    for line in help_text.splitlines():
        if line.strip() == "Commands:":
            in_commands = True
        elif in_commands and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif in_commands and line.strip() and not line.startswith("   "):
            in_commands = False
    return names


def test_every_command_help_exits_0(run_cli: Run) -> None:
    """``frontdesk COMMAND --help`` exits 0 for every command (and subcommand) the help lists."""
    pending = [[name] for name in commands_of(run_cli("--help").stdout)]
    assert pending
    seen = 0
    while pending:
        command = pending.pop()
        result = run_cli(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage:" in result.stdout, command
        assert_no_traceback(result)
        pending.extend([*command, name] for name in commands_of(result.stdout))
        seen += 1
    assert seen >= 2
