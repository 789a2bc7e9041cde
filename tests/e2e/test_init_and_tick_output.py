"""What ``init`` tells a new practice to do next, with the paths of the home it made, and the
time at the start of each ``tick`` line for a cron log (docs/reference.md, "init" and "tick";
the guide's own example is run by tests/test_guides.py). In this process, through the console
script's handler."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from frontdesk.commands.admin import console_script, next_steps
from frontdesk.settings import Options
from frontdesk_testing import Frontdesk, frontdesk_factory, run_main

SCRIPTS = str(Path(console_script()).parent)  # where this installation's frontdesk is


def _env(**extra: str) -> dict[str, str]:
    """This environment without $FRONTDESK_*, the frontdesk command first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    path = f"{SCRIPTS}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, "FRONTDESK_USER": "maria", **extra}


def _cron_line(stderr: str) -> str:
    (line,) = [line.strip() for line in stderr.splitlines() if line.strip().startswith("*/15")]
    return line


def test_init_with_a_relative_home_and_store_names_them_absolutely(tmp_path: Path) -> None:
    """``--home`` and ``--db`` given relative: stdout is the home's absolute path, and the
    suggested commands and the cron line name both absolutely (cron runs in another folder),
    with the full path of the frontdesk command; ``tick`` as the cron line runs it works."""
    result = run_main(["--home", "office", "--db", "sqlite:///stores/fd.db", "init"], _env(),
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    home, store = tmp_path / "office", tmp_path / "stores" / "fd.db"
    assert result.stdout == f"{home}\n"
    assert "store ready: SQLite file stores/fd.db\n" in result.stderr
    assert f"  2. check it: frontdesk --home {home} --db sqlite:///{store} validate\n" in \
        result.stderr
    cron = _cron_line(result.stderr)
    assert cron == (f"*/15 * * * * FRONTDESK_HOME={home} FRONTDESK_DB=sqlite:///{store} "
                    f"{console_script()} tick >> {home / 'tick.log'} 2>&1")
    assert f"     Environment=FRONTDESK_DB=sqlite:///{store}\n" in result.stderr
    assert store.is_file() and (home / "practice.yaml").is_file()
    words = shlex.split(cron)[5:]
    environment = dict(w.split("=", 1) for w in words[:2])
    ticked = run_main(words[3:4], _env(**environment), cwd=Path("/"))
    assert ticked.returncode == 0 and ticked.stderr.endswith(" tick: 0 timer(s) fired\n")


def test_next_steps_never_show_a_store_password(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A PostgreSQL URL's password is shown as ``***`` (keep it in ~/.pgpass); a URL without
    one is shown as given; a home from $FRONTDESK_HOME needs no --home in the commands."""
    monkeypatch.setenv("PATH", _env()["PATH"])
    url = "postgresql://app:s3cret@db.local:5432/riverside?sslmode=require"
    lines = "\n".join(next_steps(Options(home=str(tmp_path), db=url, env={}), tmp_path))
    assert "s3cret" not in lines
    assert "--db 'postgresql://app:***@db.local:5432/riverside?sslmode=require' validate" in lines
    assert "FRONTDESK_DB='postgresql://app:***@db.local:5432/riverside?sslmode=require'" in lines
    plain = "\n".join(next_steps(Options(env={"FRONTDESK_HOME": str(tmp_path),
                                              "FRONTDESK_DB": "postgresql:///riverside"}),
                                 tmp_path))
    assert "  2. check it: frontdesk validate" in plain
    assert f"FRONTDESK_HOME={tmp_path} FRONTDESK_DB=postgresql:///riverside " in plain


def test_init_with_a_home_in_the_environment(tmp_path: Path) -> None:
    """With $FRONTDESK_HOME, the commands are plain ``frontdesk ...`` (the shell has the
    variable) and the cron line sets it; running init again keeps practice.yaml."""
    env = _env(FRONTDESK_HOME=str(tmp_path / "h"))
    first = run_main(["init"], env, cwd=tmp_path)
    assert first.returncode == 0 and "  2. check it: frontdesk validate\n" in first.stderr
    assert f"FRONTDESK_HOME={tmp_path / 'h'} " in _cron_line(first.stderr)
    again = run_main(["init"], env, cwd=tmp_path)
    assert again.returncode == 0
    assert again.stderr.startswith(f"kept existing {tmp_path / 'h' / 'practice.yaml'}\n")


@pytest.fixture
def fd(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Frontdesk:
    """A SQLite home in New York with the runtime playbooks."""
    return frontdesk_factory(tmp_path_factory.mktemp("pycache"), None)(tmp_path)


def test_tick_lines_start_with_the_practice_time(fd: Frontdesk) -> None:
    """Each text line of ``tick`` starts with the moment it ran, in the practice's zone with
    its offset (a clock given in UTC is shown in New York time); ``--json`` is unchanged."""
    first = fd.ok("start", "rt-intake", "--set", "client=Ann").strip()
    second = fd.ok("start", "rt-intake", "--set", "client=Bob").strip()
    ticked = fd.run("tick", now="2026-01-08T14:00:00Z")
    assert ticked.returncode == 0, ticked.stderr
    assert sorted(ticked.stdout.splitlines()) == sorted(
        f"2026-01-08T09:00:00-05:00 {i}: remind" for i in (first, second))
    assert ticked.stderr == "2026-01-08T09:00:00-05:00 tick: 2 timer(s) fired\n"
    again = fd.run("tick", "--json", now="2026-01-08T09:30")
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout) == {"fired": [], "not_applied": []}
    assert again.stdout == '{\n  "fired": [],\n  "not_applied": []\n}\n'


def test_tick_time_is_the_practices_zone(tmp_path: Path,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """A practice in Berlin reads its own offset, summer time included."""
    fd = frontdesk_factory(tmp_path_factory.mktemp("pycache"), None)(
        tmp_path, practice="timezone: Europe/Berlin\n")
    fd.ok("start", "rt-intake", "--set", "client=Ann", now="2026-07-01T08:00")
    ticked = fd.run("tick", now="2026-07-01T09:15")
    assert ticked.stderr == "2026-07-01T09:15:00+02:00 tick: 0 timer(s) fired\n"


def test_a_command_not_on_path_is_named_by_its_full_path(tmp_path: Path) -> None:
    """Where ``frontdesk`` is not on PATH (a virtual environment never activated), the
    suggested commands use the full path init knows, as the cron line does."""
    env = _env(FRONTDESK_HOME=str(tmp_path / "h"), PATH="/nonexistent")
    result = run_main(["init"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"  2. check it: {console_script()} validate\n" in result.stderr
