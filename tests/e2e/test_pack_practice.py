"""A pack's scenarios run with the pack's own practice configuration, never the tailoring of
the practice that runs them, unless ``--practice local`` asks for it: ``pack test`` on a
pack's source tree, and ``test`` on the scenarios of an installed pack (docs/packs.md, "Test
it"; docs/reference.md, "Where the practice configuration comes from").

Real processes: ``pack test`` imports the pack's module. "Installed" is a ``.dist-info``
folder with the entry point beside the pack's package on ``$PYTHONPATH``, which is what
``importlib.metadata`` reads for a pip-installed pack too."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from frontdesk_testing import frontdesk_argv

SAMPLE = ["PASS records sent in time",
          "PASS a practice's tailoring is honoured",
          "PASS records are not sent before the identity is verified"]
# The home's practice tailors the pack's playbook: another role name, another deadline.
TAILORED_HOME = """\
practice: Riverside Therapy
playbooks:
  acme-extras:
    roles: {front_desk: reception}
    settings: {answer_days: 20}
"""
# The pack's own practice: a closed day in March, and a scenario that counts on it.
PACK_PRACTICE = "practice: Acme test practice\ncalendar: {country: US, closed: [2026-03-03]}\n"
CLOSED_DAY = """\
playbook: acme-extras
name: the pack's closed day moves the deadline
start: {at: 2026-03-02T09:00, with: {patient: Ann Example, received_on: 2026-03-02}}
steps:
  - expect: {tasks: {verify_identity: {due: 2026-03-05, role: front_desk}}}
"""


@dataclass(frozen=True)
class Practice:
    """A practice's machine: a tailored home, and the ``acme-extras`` pack in ``pack``."""

    root: Path

    @property
    def pack(self) -> Path:
        return self.root / "acme-extras"

    @property
    def scenarios(self) -> Path:
        return self.pack / "acme_extras" / "playbooks" / "scenarios"

    def run(self, *args: str, installed: bool = False) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("FRONTDESK_") and k != "PYTHONPATH"}
        env["FRONTDESK_HOME"] = str(self.root / "home")
        if installed:
            env["PYTHONPATH"] = str(self.root / "site")
        return subprocess.run([*frontdesk_argv(), *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    def install(self) -> Path:
        """Install the pack (a copy of its package and its entry point in ``site/``); the
        installed scenarios folder."""
        site = self.root / "site"
        shutil.copytree(self.pack / "acme_extras", site / "acme_extras")
        info = site / "acme_extras-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: acme-extras\nVersion: 0.1.0\n", "utf-8")
        (info / "entry_points.txt").write_text(
            "[frontdesk.playbooks]\nacme-extras = acme_extras.playbooks\n", "utf-8")
        return site / "acme_extras" / "playbooks" / "scenarios"


@pytest.fixture
def practice(tmp_path: Path) -> Practice:
    """A home whose practice.yaml tailors the pack's playbook, and a new ``acme-extras``."""
    machine = Practice(tmp_path)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "practice.yaml").write_text(TAILORED_HOME, "utf-8")
    assert machine.run("pack", "new", "acme-extras").returncode == 0
    return machine


def test_pack_test_passes_at_a_practice_that_tailors_the_pack(practice: Practice) -> None:
    """At a home that renames the pack's role and changes its setting, ``pack test`` still
    passes (the pack's practice: every default here); ``--practice local`` runs the same
    scenarios with the home's tailoring, and the one expecting the pack's role fails."""
    result = practice.run("pack", "test", "acme-extras")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[1:] == [*SAMPLE, "3 passed, 0 failed"]
    local = practice.run("pack", "test", "acme-extras", "--practice", "local")
    assert local.returncode == 5
    lines = local.stdout.splitlines()
    assert lines[1].startswith("FAIL records sent in time: step 1 (expect): ")
    assert "'role': 'reception'" in lines[1]
    assert lines[2:] == [*SAMPLE[1:], "2 passed, 1 failed"]


def test_the_packs_own_practice_file_is_used_checked_and_never_run(practice: Practice) -> None:
    """``scenarios/practice.yaml`` is the practice of the pack's scenarios (a closed day there
    moves a deadline), not a scenario; ``--practice local`` does without it; an invalid one is
    exit 3, located in it, before any scenario runs."""
    (practice.scenarios / "practice.yaml").write_text(PACK_PRACTICE, "utf-8")
    (practice.scenarios / "closed-day.yaml").write_text(CLOSED_DAY, "utf-8")
    result = practice.run("pack", "test", "acme-extras")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[1:] == [
        *SAMPLE, "PASS the pack's closed day moves the deadline", "4 passed, 0 failed"]
    local = practice.run("pack", "test", "acme-extras", "--practice", "local")
    assert "FAIL the pack's closed day moves the deadline: " in local.stdout
    (practice.scenarios / "practice.yaml").write_text("timezone: Mars/Base\n", "utf-8")
    invalid = practice.run("pack", "test", "acme-extras")
    assert invalid.returncode == 3
    assert invalid.stdout.splitlines()[1:] == [
        "acme-extras/acme_extras/playbooks/scenarios/practice.yaml:1:11: error[practice]: "
        "unknown time zone 'Mars/Base' (use an IANA name such as America/New_York)",
        "1 error: scenarios not run"]


def test_an_installed_packs_scenarios_pass_at_a_tailored_practice(practice: Practice) -> None:
    """``frontdesk test`` on an installed pack's scenarios uses the pack's practice (its file,
    which ships in the package), so they pass at the tailored home; ``--practice local`` uses
    the home's; the same files outside any installed pack are the home's scenarios."""
    (practice.scenarios / "practice.yaml").write_text(PACK_PRACTICE, "utf-8")
    (practice.scenarios / "closed-day.yaml").write_text(CLOSED_DAY, "utf-8")
    installed = practice.install()
    tested = practice.run("test", str(installed), installed=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines() == [
        *SAMPLE, "PASS the pack's closed day moves the deadline", "4 passed, 0 failed"]
    local = practice.run("test", str(installed), "--practice", "local", installed=True)
    assert local.returncode == 5 and "2 passed, 2 failed" in local.stdout, local.stdout
    source = practice.run("test", str(practice.scenarios))
    assert source.returncode == 5 and "2 passed, 2 failed" in source.stdout, source.stdout
    broken = installed / "practice.yaml"
    broken.write_text("timezone: Mars/Base\n", "utf-8")
    failed = practice.run("test", str(installed / "closed-day.yaml"), installed=True)
    assert failed.returncode == 5
    assert failed.stdout.splitlines()[0] == (
        f"FAIL the pack's closed day moves the deadline: {broken}:1:11: error[practice]: "
        "unknown time zone 'Mars/Base' (use an IANA name such as America/New_York)")
