"""The validation corpus: every ``playbooks/invalid/<case>/`` prints exactly its ``expected.txt``;
every ``playbooks/valid/*.yaml`` validates with exit 0.

A case folder holds ``playbook.yaml`` and ``expected.txt`` (the exact stdout of
``frontdesk validate playbook.yaml`` run in the folder), and optionally:
``args.txt`` (extra arguments, one a line, put before ``validate``: global options such as
``--playbooks ../../valid``), ``exit.txt`` (the exit code when it is not 3) and ``xfail.txt``
(the reason the validator does not yet print ``expected.txt``; the test is a strict xfail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from frontdesk_testing import CliResult

HERE = Path(__file__).resolve().parent
INVALID = HERE / "playbooks" / "invalid"
VALID = HERE / "playbooks" / "valid"
WARNS_NO_FINAL = {"yearly-refresh.yaml"}  # valid files that loop forever on purpose


def _lines(path: Path) -> list[str]:
    """The non-empty lines of ``path`` ([] when it does not exist)."""
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def _cases() -> Iterator[Any]:
    """One pytest param per invalid case folder, strict-xfail when it has ``xfail.txt``."""
    for case in sorted(p for p in INVALID.iterdir() if p.is_dir()):
        reason = _lines(case / "xfail.txt")
        marks = [pytest.mark.xfail(strict=True, reason=" ".join(reason))] if reason else []
        yield pytest.param(case, id=case.name, marks=marks)


CASES = list(_cases())
VALID_FILES = sorted(VALID.glob("*.yaml"))


def test_corpus_is_complete() -> None:
    """The corpus holds at least 36 invalid cases, each with a playbook and its expected output."""
    cases = [p for p in INVALID.iterdir() if p.is_dir()]
    assert len(cases) >= 36
    for case in cases:
        assert (case / "playbook.yaml").is_file(), case.name
        assert (case / "expected.txt").is_file(), case.name
    assert len(VALID_FILES) >= 4


@pytest.mark.parametrize("case", CASES)
def test_invalid_case(case: Path, run_cli: Callable[..., CliResult]) -> None:
    """``validate playbook.yaml`` in the case folder prints expected.txt, exits 3 or exit.txt."""
    result = run_cli(*_lines(case / "args.txt"), "validate", "playbook.yaml", cwd=case)
    assert result.stdout == (case / "expected.txt").read_text("utf-8")
    exit_code = int((_lines(case / "exit.txt") or ["3"])[0])
    assert result.returncode == exit_code, result.stderr


@pytest.mark.parametrize("path", VALID_FILES, ids=[p.name for p in VALID_FILES])
def test_valid_playbook(path: Path, run_cli: Callable[..., CliResult]) -> None:
    """A valid playbook validates with exit 0 and no error line (starts resolved in valid/)."""
    result = run_cli("--playbooks", ".", "validate", path.name, cwd=VALID)
    assert result.returncode == 0, result.stdout
    assert "error[" not in result.stdout
    lines = result.stdout.splitlines()
    if path.name in WARNS_NO_FINAL:
        assert len(lines) == 1 and "warning[no-final]" in lines[0], result.stdout
    else:
        assert lines == []


def test_valid_folder_at_once(run_cli: Callable[..., CliResult]) -> None:
    """Validating the whole valid/ folder at once reports no error and exits 0."""
    result = run_cli("validate", ".", cwd=VALID)
    assert result.returncode == 0, result.stdout
    assert "error[" not in result.stdout
    assert f"{len(VALID_FILES)} files checked: 0 errors" in result.stderr
