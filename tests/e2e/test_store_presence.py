"""A store that does not exist (a mistyped home in a cron line) fails loudly: every command but
``init``, ``start`` and ``db migrate`` is exit 8 naming it, and nothing is created."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from frontdesk_testing import RUNTIME_PLAYBOOKS, frontdesk_argv

COMMANDS = [("list",), ("tick",), ("today", "--everyone"), ("show", "x1"), ("outbox",),
            ("fire", "x1", "label"), ("done", "x1-1"), ("audit", "verify"), ("audit", "head"),
            ("audit", "export")]


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(FRONTDESK_HOME=str(home), FRONTDESK_USER="maria")
    return subprocess.run([*frontdesk_argv(), "--playbooks", str(RUNTIME_PLAYBOOKS), *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_a_missing_store_is_exit_8_and_creates_nothing(tmp_path: Path,
                                                       args: tuple[str, ...]) -> None:
    home = tmp_path / "typo-home"
    result = _run(home, *args)
    assert result.returncode == 8, (args, result.stderr)
    assert result.stderr.startswith("frontdesk: error: no store at ") and "init" in result.stderr
    assert not home.exists()


def test_start_and_db_migrate_create_the_store(tmp_path: Path) -> None:
    started = _run(tmp_path / "a", "start", "rt-intake", "--set", "client=Ann")
    assert started.returncode == 0, started.stderr
    assert (tmp_path / "a" / "frontdesk.db").is_file()
    migrated = _run(tmp_path / "b", "db", "migrate")
    assert migrated.returncode == 0 and (tmp_path / "b" / "frontdesk.db").is_file()
    assert _run(tmp_path / "b", "list").returncode == 0


def test_out_of_range_and_unknown_are_their_own_exit_codes(tmp_path: Path) -> None:
    """``today --days`` beyond ten years is a usage error (2), not an internal one; exporting
    an unknown instance's records is exit 4, not an empty export."""
    home = tmp_path / "home"
    assert _run(home, "start", "rt-intake", "--set", "client=Ann").returncode == 0
    far = _run(home, "today", "--everyone", "--days", "3650000")
    assert far.returncode == 2 and "--days" in far.stderr, far.stderr
    unknown = _run(home, "audit", "export", "--instance", "nosuch")
    assert unknown.returncode == 4 and "nosuch" in unknown.stderr, unknown.stderr
