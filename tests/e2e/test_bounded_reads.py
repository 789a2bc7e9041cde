"""Files that must never be read whole (or waited on) are refused at once with a located error:
``/dev/zero``, a 3 GB sparse file, a FIFO with no writer and a folder named like a playbook,
given to ``validate`` or lying on the search path while other playbooks are validated and
started. Each command runs as a subprocess; its ``timeout`` only guards against a hang."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from frontdesk_testing import frontdesk_argv

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(),
                                reason="needs FIFOs and /dev/zero (POSIX)")

MINIMAL = Path(__file__).resolve().parents[1] / "playbooks" / "valid" / "minimal.yaml"
HANG_GUARD = 20  # seconds; the commands take well under one
KINDS = {"dev-zero": "not-a-file", "sparse": "too-large", "fifo": "not-a-file",
         "folder": "not-a-file"}


def make_hostile(kind: str, path: Path) -> None:
    """Create the hostile entry ``kind`` at ``path``."""
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "sparse":
        with path.open("wb") as stream:
            stream.truncate(3 * 1024 ** 3)  # 3 GB of holes: no disk used
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        assert kind == "folder"
        path.mkdir()


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``frontdesk ARGS`` in ``tmp_path`` on a home of its own there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(FRONTDESK_HOME=str(tmp_path / "home"), FRONTDESK_NOW="2026-01-05T09:00",
               FRONTDESK_USER="maria")
    return subprocess.run([*frontdesk_argv(), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=HANG_GUARD, check=False)


def refusal(display: str, code: str) -> re.Pattern[str]:
    """The located line that refuses ``display``."""
    return re.compile(rf"^{re.escape(display)}:1:1: error\[{code}\]: \S.*$", re.MULTILINE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A playbook folder holding the minimal playbook."""
    path = tmp_path / "pb"
    path.mkdir()
    shutil.copy(MINIMAL, path / "minimal.yaml")
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_given_to_validate(tmp_path: Path, kind: str) -> None:
    """``validate PATH`` on the entry: exit 3 and one located line, nothing else on stdout."""
    if kind == "dev-zero":
        name = "/dev/zero"
    else:
        name = "x.yaml"
        make_hostile(kind, tmp_path / name)
    result = run(tmp_path, "validate", name)
    assert result.returncode == 3, result.stderr
    assert refusal(name, KINDS[kind]).fullmatch(result.stdout.strip()), result.stdout
    assert "Traceback" not in result.stderr
    assert "1 file checked: 1 error" in result.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_on_the_search_path(tmp_path: Path, folder: Path, kind: str) -> None:
    """On the search path the entry is reported by ``validate`` (exit 3), and neither the
    validation of another file nor ``start`` of another playbook (twice: from an empty and a
    filled cache) is held up by it."""
    make_hostile(kind, folder / "x.yaml")
    every = run(tmp_path, "--playbooks", "pb", "validate")
    assert every.returncode == 3, every.stderr
    assert refusal("pb/x.yaml", KINDS[kind]).search(every.stdout), every.stdout
    assert "Traceback" not in every.stderr

    other = run(tmp_path, "--playbooks", "pb", "validate", "pb/minimal.yaml")
    assert other.returncode == 0, other.stdout + other.stderr
    assert other.stdout == ""

    for _ in range(2):
        started = run(tmp_path, "--playbooks", "pb", "start", "test-minimal")
        assert started.returncode == 0, started.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_start_of_the_entry_itself_is_refused(tmp_path: Path, folder: Path, kind: str) -> None:
    """``start x`` of the entry (its id is its file name) is invalid, exit 3, and says why."""
    make_hostile(kind, folder / "x.yaml")
    result = run(tmp_path, "--playbooks", "pb", "start", "x")
    assert result.returncode == 3, result.stderr
    assert f"pb/x.yaml:1:1: error[{KINDS[kind]}]: " in result.stderr, result.stderr
