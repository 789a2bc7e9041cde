"""Commands on instances load cached models: no YAML, no JSON Schema, keyed by content.

Each test runs the real CLI in a subprocess through a small probe that reports which heavy
modules the command imported, on a temporary home whose cache the first command fills. The
cache lives between processes, so every command here is a real process.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

HEAVY = ("yaml", "jsonschema", "jinja2", "transitions")
PROBE = f"""\
import atexit, os, sys
HEAVY = {HEAVY!r}
def report():
    with open(os.environ["PROBE_OUT"], "w") as out:
        out.write(" ".join(m for m in HEAVY if m in sys.modules))
atexit.register(report)
from frontdesk.cli import main
sys.argv = ["frontdesk", *sys.argv[1:]]
main()
"""


def imported(fd: Frontdesk, tmp_path: Path, *args: str, now: str | None = None,
             **extra: str) -> set[str]:
    """Run ``frontdesk ARGS`` (must succeed); the heavy modules it imported."""
    out = tmp_path / "probe.txt"
    env = {**fd.env(), "PROBE_OUT": str(out), **extra}
    argv = [sys.executable, "-c", PROBE, *fd.arguments(args, now)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(out.read_text().split())


def cache_files(fd: Frontdesk) -> list[Path]:
    return sorted((fd.home / "cache" / "compiled").glob("*.pickle"))


@pytest.fixture
def frontdesk(frontdesk: Frontdesk) -> Frontdesk:
    """The shared ``frontdesk`` fixture, every command run as a real process."""
    return dataclasses.replace(frontdesk, processes=True)


@pytest.fixture
def started(frontdesk: Frontdesk) -> tuple[Frontdesk, dict[str, object]]:
    """An rt-intake instance; the command that started it filled the cache."""
    instance = frontdesk.json("start", "rt-intake", "--set", "client=Ann",
                              "--set", "referred_on=2026-01-02")
    return frontdesk, instance


def test_fire_and_done_import_no_yaml_or_jsonschema(
        started: tuple[Frontdesk, dict[str, object]], tmp_path: Path) -> None:
    """``fire`` and ``done`` on a cached playbook and practice parse no YAML, run no schema."""
    fd, instance = started
    fired = imported(fd, tmp_path, "fire", str(instance["id"]), "label")
    assert not {"yaml", "jsonschema"} & fired
    shown = fd.json("show", str(instance["id"]))
    task = next(t["id"] for t in shown["tasks"] if t["task"] == "confirm")
    done = imported(fd, tmp_path, "done", task)
    assert not {"yaml", "jsonschema"} & done


@pytest.mark.parametrize("args", [("today", "--everyone"), ("list",), ("show", "{id}"),
                                  ("--help",), ("--version",)])
def test_read_commands_import_no_runtime(started: tuple[Frontdesk, dict[str, object]],
                                         tmp_path: Path, args: tuple[str, ...]) -> None:
    """Reading commands need neither the runtime (jinja2, transitions) nor the loaders."""
    fd, instance = started
    argv = [a.format(id=instance["id"]) for a in args]
    assert imported(fd, tmp_path, *argv) == set()


def test_start_of_a_seen_playbook_parses_nothing(
        started: tuple[Frontdesk, dict[str, object]], tmp_path: Path) -> None:
    """A second ``start`` finds the playbook by the content hashes of the search path."""
    fd, _ = started
    assert not {"yaml", "jsonschema"} & imported(fd, tmp_path, "start", "rt-intake",
                                                   "--set", "client=Bo")


def test_same_size_same_mtime_edit_is_seen(frontdesk: Frontdesk) -> None:
    """An edit that keeps the file's size and modification time still changes what starts:
    the cache is keyed by content, never by mtime."""
    fd = frontdesk
    first = fd.json("start", "rt-versioned")
    path = fd.playbooks / "versioned.yaml"
    before = path.stat()
    text = path.read_text()
    edited = text.replace("title: Versioned playbook", "title: Versioned PLAYBOOK")
    assert len(edited) == len(text) and edited != text
    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = fd.json("start", "rt-versioned")
    records = {r["instance"]: r for r in fd.json("show", str(second["id"]))["history"]
               if r["action"] == "start"}
    first_digest = fd.json("show", str(first["id"]))["history"][0]["data"]["digest"]
    assert records[second["id"]]["data"]["digest"] != first_digest


def test_damaged_cache_is_rebuilt(started: tuple[Frontdesk, dict[str, object]],
                                  tmp_path: Path) -> None:
    """Truncated entries are misses: the command parses again, succeeds and rewrites them."""
    fd, instance = started
    for entry in cache_files(fd):
        entry.write_bytes(entry.read_bytes()[:7])
    assert "yaml" in imported(fd, tmp_path, "fire", str(instance["id"]), "label")
    assert not {"yaml", "jsonschema"} & imported(fd, tmp_path, "fire", str(instance["id"]),
                                                 "label")


def test_start_action_target_removed_is_still_invalid(frontdesk: Frontdesk) -> None:
    """A cached playbook whose ``start`` action names a playbook no longer on the search path
    is refused as invalid (exit 3), exactly as without a cache."""
    fd = frontdesk
    fd.ok("start", "rt-spawner", "--set", "n=3")
    (fd.playbooks / "child.yaml").unlink()
    result = fd.run("start", "rt-spawner", "--set", "n=3")
    assert result.returncode == 3, result.stderr
    assert "unknown playbook 'rt-child'" in result.stderr


def test_changed_tailoring_is_checked_again(frontdesk: Frontdesk) -> None:
    """Tailoring found fine for one practice config is checked again when the config changes."""
    fd = frontdesk
    practice = fd.home / "practice.yaml"
    base = practice.read_text()
    practice.write_text(base + "playbooks:\n  rt-intake:\n    disabled_tasks: [confirm]\n")
    fd.ok("start", "rt-intake", "--set", "client=Ann")
    practice.write_text(base + "playbooks:\n  rt-intake:\n    disabled_tasks: [confirmm]\n")
    result = fd.run("start", "rt-intake", "--set", "client=Ann")
    assert result.returncode == 3, result.stderr
    assert "has no task 'confirmm'" in result.stderr
