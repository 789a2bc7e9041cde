"""Data protection: the store is created owner-only (file 0600, folders 0700), and a marker
value put in a PHI field never appears in an error message nor in any file that frontdesk
writes outside the store, whatever command runs (``audit export`` of one instance to stdout is
the way to hand records out).

Every command runs with ``HOME``, ``TMPDIR``, the XDG folders and the working directory pointed
into the test's temporary folder, so any file it writes anywhere but ``/`` lands where the test
greps: most in this process through the console script's handler, some as real ``frontdesk``
processes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk_testing import run_main
from hardening_support import clean_stderr_problems

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

MARKER = f"PHI-Marker-{uuid.uuid4().hex[:12]}"
MARKER_DATE = "1957-03-14"  # a date of birth
STORE_SUFFIXES = ("frontdesk.db", "frontdesk.db-wal", "frontdesk.db-shm", "frontdesk.db-journal")

# A playbook whose expressions fail at run time on the PHI values (dynamic keys, attributes,
# conversions), so the refusals' messages are checked too.
PHI_PLAYBOOK = """\
playbook: rt-phi
version: 1
title: Expressions failing on PHI values
subject: "Client {{ client }}"
roles: [clerk]
inputs:
  client: {type: string, required: true}
  born: {type: date, required: true}
  code: {type: string, pattern: "^[A-Z]{3}$"}
  kind: {type: string, enum: [new, returning]}
  visits: {type: integer, minimum: 1, maximum: 5}
initial: open
states:
  open:
    tasks:
      - id: intake_call
        title: "Call {{ client }} (born {{ born }})"
        role: clerk
        due: 1 day
        fields:
          reached: {type: boolean, required: true}
          note: {type: string}
    timers:
      - {after: 1 day, event: remind}
    on:
      remind:
        do:
          - message: {to: clerk, subject: "Call {{ client }}", body: "born {{ born }}"}
      key_error: {set: {x: "{{ settings[client] }}"}}
      attr_error: {set: {x: "{{ client|attr(client) }}"}}
      date_key: {set: {x: "{{ instance[born] }}"}}
      guard_error: {when: "instance[client]", to: closed}
      convert_error: {set: {x: "{{ add_duration(client, '1 day') }}"}}
      compare_error: {when: "client > 5", to: closed}
      field_key:
        fields:
          label: {type: string}
        set: {x: "{{ settings[label] }}"}
      close: {to: closed}
  closed:
    final: true
"""


class World:
    """One home, a process environment rooted in the test folder, and everything run.

    Commands run in-process through ``frontdesk.cli.main`` (same handler, same messages, with the
    environment below) except those marked ``process=True``, which run as real processes.
    """

    def __init__(self, fd: Frontdesk, root: Path) -> None:
        self.fd = fd
        self.root = root
        self.errors: list[tuple[tuple[str, ...], int, str, str]] = []
        self.commands = 0
        env = fd.env()
        for name in ("HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                     "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
            folder = root / "env" / name.lower()
            folder.mkdir(parents=True)
            env[name] = str(folder)
        self.cwd = root / "cwd"
        self.cwd.mkdir()
        self.env = env

    def run(self, *args: str, now: str | None = None,
            process: bool = False) -> tuple[int, str, str]:
        self.commands += 1
        if process:
            result = subprocess.run(self.fd.command(args, now), env=self.env, cwd=self.cwd,
                                    capture_output=True, text=True, timeout=120, check=False)
            return result.returncode, result.stdout, result.stderr
        done = run_main(self.fd.arguments(args, now), self.env, cwd=self.cwd)
        return done.returncode, done.stdout, done.stderr

    def ok(self, *args: str, now: str | None = None, process: bool = False) -> str:
        code, stdout, stderr = self.run(*args, now=now, process=process)
        assert code == 0, (args, stderr)
        assert MARKER not in stderr, (args, stderr)
        return stdout

    def refused(self, *args: str, now: str | None = None, process: bool = False) -> None:
        """An error path: neither stdout nor stderr may hold the marker."""
        code, stdout, stderr = self.run(*args, now=now, process=process)
        assert code != 0, (args, stdout)
        assert not clean_stderr_problems(stderr, code), stderr
        self.errors.append((args, code, stdout, stderr))


def test_phi_never_leaves_the_store(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk],
                                    figures: Figures) -> None:
    """Drive every command with the marker in PHI fields, success and error paths; then grep."""
    fd = make_frontdesk(tmp_path / "practice")
    (fd.playbooks / "phi.yaml").write_text(PHI_PLAYBOOK, "utf-8")
    w = World(fd, tmp_path)
    phi = (f"client={MARKER}", f"born={MARKER_DATE}")

    # success paths: PHI goes into the store
    first = json.loads(w.ok("start", "rt-phi", *(f"--set={s}" for s in phi), "--json",
                            process=True))
    pid = first["id"]
    task = first["tasks"][0]["id"]
    intake = w.ok("start", "rt-intake", "--set", f"client={MARKER}", "--set",
                  "referred_on=2026-01-02").strip()
    for args in (("list",), ("list", "--json"), ("show", pid), ("show", pid, "--json"),
                 ("today", "--everyone"), ("today", "--everyone", "--format", "csv"),
                 ("today", "--everyone", "--format", "ics"), ("outbox",),
                 ("audit", "export", "--instance", pid), ("audit", "verify"), ("audit", "head"),
                 ("validate",), ("playbooks",)):
        w.ok(*args)
    w.ok("tick", now="2026-01-09T09:00", process=True)
    w.ok("fire", intake, "schedule", "--set", "visit_on=2026-01-12", now="2026-01-09T10:00",
         process=True)
    w.ok("show", pid, process=True)
    w.env["FRONTDESK_NOW"] = "2026-01-09T11:00"  # a simulated store only moves forward

    # error paths: a PHI value in a field that refuses it, or an expression failing on it
    bad_inputs = [f"visits={MARKER}", f"born={MARKER}", f"code={MARKER}", f"kind={MARKER}",
                  f"nosuch={MARKER}", MARKER, f"={MARKER}", "visits=999999"]
    for bad in bad_inputs:
        w.refused("start", "rt-phi", f"--set=client={MARKER}", f"--set=born={MARKER_DATE}",
                  f"--set={bad}")
    w.refused("start", "rt-phi", f"--set=client={MARKER}")  # missing born
    for event in ("key_error", "attr_error", "date_key", "guard_error", "convert_error",
                  "compare_error"):
        w.refused("fire", pid, event)
    w.refused("fire", pid, "field_key", "--set", f"label={MARKER}")
    w.refused("fire", pid, "close", "--set", f"nosuch={MARKER}")
    w.refused("done", task, "--set", f"reached={MARKER}", process=True)
    w.refused("done", task, "--set", f"note={MARKER}")  # reached missing
    w.refused("fire", intake, "schedule", "--set", f"visit_on={MARKER}")
    w.ok("done", task, "--set", "reached=true", "--set", f"note={MARKER}", process=True)

    leaks = [(args, code, out + err) for args, code, out, err in w.errors
             if MARKER in out + err or MARKER_DATE in out + err]
    assert not leaks, leaks

    # files: everything frontdesk wrote anywhere we pointed it, except the store itself
    scanned = 0
    for folder in (fd.home, tmp_path / "env", w.cwd, fd.playbooks):
        for path in folder.rglob("*"):
            if not path.is_file() or path.name in STORE_SUFFIXES:
                continue
            scanned += 1
            data = path.read_bytes()
            assert MARKER.encode() not in data, path
    store = b"".join(p.read_bytes() for p in fd.home.glob("frontdesk.db*"))
    assert MARKER.encode() in store  # the marker did go in: the grep above is meaningful
    figures.add("phi", f"{w.commands} commands ({len(w.errors)} error paths), "
                       f"{scanned} files outside the store scanned: marker found 0 times")


def test_store_and_home_are_owner_only(tmp_path: Path,
                                       make_frontdesk: Callable[..., Frontdesk]) -> None:
    """A store created under a permissive umask in missing folders: 0600 file, 0700 folders;
    ``init`` makes the home 0700 and practice.yaml 0600."""
    fd = make_frontdesk(tmp_path / "practice")
    db = tmp_path / "new" / "deeper" / "frontdesk.db"
    home = tmp_path / "fresh-home"
    old = os.umask(0o022)
    try:
        result = subprocess.run(fd.command(("db", "migrate"), extra=("--db", f"sqlite:///{db}")),
                                env=fd.env(), capture_output=True, text=True, timeout=120,
                                check=False)
        assert result.returncode == 0, result.stderr
        env = {**fd.env(), "FRONTDESK_HOME": str(home)}
        result = subprocess.run([*fd.argv, "init"], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 0, result.stderr
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    for extra in db.parent.glob("frontdesk.db-*"):
        assert mode(extra) & 0o077 == 0, extra
    assert mode(home) == 0o700
    assert mode(home / "frontdesk.db") == 0o600
    assert mode(home / "practice.yaml") == 0o600
