"""Playbook packs: ``pack new`` scaffolds a pack whose scenarios pass at once, ``pack test``
validates and runs a pack's source tree with the exit codes of ``validate`` and ``test``, and a
pack's wheel installed next to frontdesk in a fresh venv is listed, validated, tested, shadowed
and upgraded there. Real processes (``run_frontdesk``): ``pack test`` imports the pack's
module, which would stay imported in the test process and make the next ``pack new`` of the
same name refuse it as already importable."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from frontdesk_testing import REPO, build_wheel, fresh_venv, pip_install

PACK_FILES = [
    "acme-extras/pyproject.toml",
    "acme-extras/README.md",
    "acme-extras/.gitignore",
    "acme-extras/acme_extras/__init__.py",
    "acme-extras/acme_extras/playbooks/__init__.py",
    "acme-extras/acme_extras/playbooks/acme-extras.yaml",
    "acme-extras/acme_extras/playbooks/scenarios/acme-extras.yaml",
]
PASSING = [
    "PASS records sent in time",
    "PASS a practice's tailoring is honoured",
    "PASS records are not sent before the identity is verified",
    "3 passed, 0 failed",
]

Run = Callable[..., subprocess.CompletedProcess[str]]


def _new_pack(run_frontdesk: Run, tmp_path: Path) -> Path:
    result = run_frontdesk("pack", "new", "acme-extras")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == PACK_FILES
    return tmp_path / "acme-extras"


def test_pack_new_scaffolds_a_pack_whose_scenarios_pass(run_frontdesk: Run,
                                                        tmp_path: Path) -> None:
    """``pack new NAME`` writes the pyproject (entry point in group frontdesk.playbooks), a
    sample playbook, its scenarios and a README; ``pack test`` passes at once, from inside
    the pack or given its path."""
    pack = _new_pack(run_frontdesk, tmp_path)
    pyproject = (pack / "pyproject.toml").read_text("utf-8")
    assert '[project.entry-points."frontdesk.playbooks"]\nacme-extras = ' \
           '"acme_extras.playbooks"' in pyproject
    inside = run_frontdesk("pack", "test", cwd=pack)
    assert inside.returncode == 0, inside.stdout + inside.stderr
    assert inside.stdout.splitlines() == [
        "pack acme-extras 0.1.0: 1 playbook in acme_extras/playbooks", *PASSING]
    outside = run_frontdesk("pack", "test", "acme-extras")
    assert outside.returncode == 0
    assert outside.stdout.splitlines()[0] == \
        "pack acme-extras 0.1.0: 1 playbook in acme-extras/acme_extras/playbooks"


def test_pack_new_refuses_bad_names_and_full_folders(run_frontdesk: Run, tmp_path: Path) -> None:
    """A name that is not lower-case words, one whose package is already importable, or a
    folder that is not empty: exit 2, one error line, nothing written."""
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me", "utf-8")
    cases = {
        "Acme_Extras": "frontdesk: error: pack name 'Acme_Extras' must be lower-case letters "
                       "and digits, words joined by '-' (e.g. riverside-billing)",
        "yaml": "frontdesk: error: a Python module named 'yaml' is already importable here; "
                "choose another pack name",
        "taken": "frontdesk: error: taken already exists and is not empty",
    }
    for name, message in cases.items():
        result = run_frontdesk("pack", "new", name)
        assert (result.returncode, result.stderr, result.stdout) == (2, message + "\n", "")
    assert not (tmp_path / "Acme_Extras").exists() and not (tmp_path / "yaml").exists()
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_pack_test_exit_codes(run_frontdesk: Run, tmp_path: Path) -> None:
    """An invalid playbook is exit 3 with its located error and no scenario run; a failing
    scenario is exit 5 with its FAIL line; no pyproject.toml is exit 4."""
    pack = _new_pack(run_frontdesk, tmp_path)
    playbook = pack / "acme_extras" / "playbooks" / "acme-extras.yaml"
    text = playbook.read_text("utf-8")
    playbook.write_text(text.replace("sent: {to: sent}", "sent: {to: snet}"), "utf-8")
    invalid = run_frontdesk("pack", "test", "acme-extras")
    assert invalid.returncode == 3
    lines = invalid.stdout.splitlines()
    assert "acme-extras/acme_extras/playbooks/acme-extras.yaml:47:18: error[unknown-state]: " \
           "state 'prepare', event 'sent': goes to unknown state 'snet' (did you mean " \
           "'sent'?)" in lines
    assert lines[-1] == "2 errors: scenarios not run"
    assert not any(line.startswith(("PASS", "FAIL")) for line in lines)
    playbook.write_text(text.replace("answer_days: 30", "answer_days: 31"), "utf-8")
    failing = run_frontdesk("pack", "test", "acme-extras")
    assert failing.returncode == 5
    assert failing.stdout.splitlines()[1].startswith(
        "FAIL records sent in time: step 3 (expect): expected vars {'answer_by': '2026-02-04'}, "
        "got {'answer_by': '2026-02-05'}")
    assert failing.stdout.splitlines()[-1] == "2 passed, 1 failed"
    missing = run_frontdesk("pack", "test", "acme-extras/acme_extras")
    assert missing.returncode == 4
    assert missing.stderr.startswith("frontdesk: error: no pyproject.toml in "
                                     "acme-extras/acme_extras: not a pack")


def test_pack_test_checks_the_entry_point(run_frontdesk: Run, tmp_path: Path) -> None:
    """A pyproject without the entry point, or one naming a module the pack does not have, is
    exit 3 with the problem located in pyproject.toml."""
    pack = _new_pack(run_frontdesk, tmp_path)
    pyproject = pack / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    pyproject.write_text(text.replace('"acme_extras.playbooks"', '"acme_extra.playbooks"'),
                         "utf-8")
    wrong = run_frontdesk("pack", "test", "acme-extras")
    assert (wrong.returncode, wrong.stdout) == (3, "")
    assert wrong.stderr == (
        "frontdesk: error: acme-extras/pyproject.toml:17:1: error[pack-entry-point]: entry "
        "point 'acme-extras' names 'acme_extra.playbooks', which is not a package or module of "
        "this project (point it at the package folder that holds the playbooks)\n")
    pyproject.write_text(text.split("# frontdesk reads")[0], "utf-8")
    none = run_frontdesk("pack", "test", "acme-extras")
    assert none.returncode == 3
    assert "acme-extras/pyproject.toml:1:1: error[pack-entry-point]: no entry point in group " \
           "'frontdesk.playbooks'" in none.stderr


def test_pack_test_ignores_the_practice_and_warns_of_untested_playbooks(
        run_frontdesk: Run, tmp_path: Path) -> None:
    """The home's practice.yaml cannot change a pack's results (scenarios run in a throwaway
    home); a playbook without a scenario is a warning, not a failure."""
    pack = _new_pack(run_frontdesk, tmp_path)
    home = tmp_path / "subprocess-home"
    home.mkdir(exist_ok=True)
    (home / "practice.yaml").write_text(
        "playbooks:\n  acme-extras:\n    settings: {answer_days: 99}\n", "utf-8")
    folder = pack / "acme_extras" / "playbooks"
    second = (folder / "acme-extras.yaml").read_text("utf-8").replace(
        "playbook: acme-extras", "playbook: acme-extras-two")
    (folder / "two.yaml").write_text(second, "utf-8")
    result = run_frontdesk("pack", "test", "acme-extras")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "pack acme-extras 0.1.0: 2 playbooks in acme-extras/acme_extras/playbooks",
        "acme-extras/acme_extras/playbooks/two.yaml:1:1: warning[no-scenario]: playbook "
        "'acme-extras-two' has no scenario test (add one under scenarios/)",
        *PASSING]


def _python(venv: Path, *args: str, cwd: Path) -> str:
    result = subprocess.run([str(venv / "bin" / "python"), *args], capture_output=True,
                            text=True, cwd=cwd, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_pack_wheel_in_a_fresh_venv_is_listed_validated_tested_and_upgraded(
        run_frontdesk: Run, tmp_path: Path, frontdesk_wheel: Path) -> None:
    """``pack new`` -> wheel -> ``pip install`` next to frontdesk's own wheel in a fresh venv:
    ``playbooks`` lists the pack with its name and version, ``validate`` checks it, ``pack
    test`` and ``test`` pass there; a home copy shadows it; version 0.2.0 of the pack with
    playbook version 2 is taken by ``upgrade`` for a running instance."""
    pack = _new_pack(run_frontdesk, tmp_path)
    pack_wheel = build_wheel(pack, tmp_path / "dist-pack")
    # Dependencies come from this interpreter's site-packages (no network); both wheels are
    # installed into the venv itself, as a practice would.
    venv = fresh_venv(tmp_path).parents[1]
    pip_install(venv / "bin" / "python", str(frontdesk_wheel), str(pack_wheel))
    installed = Path(_python(venv, "-c", "import acme_extras.playbooks as p; print(p.__file__)",
                             cwd=tmp_path).strip()).parent
    assert installed.is_relative_to(venv)
    home = tmp_path / "practice-home"
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "FRONTDESK_HOME": str(home),
           "FRONTDESK_NOW": "2026-01-05T09:00", "FRONTDESK_USER": "maria"}

    def frontdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "frontdesk"), *args], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=120, check=False)

    listed = json.loads(frontdesk("playbooks", "--json").stdout)
    assert {"id": "acme-extras", "version": 1, "title": "Patient records request",
            "source": f"pack acme-extras 0.1.0: {installed}/acme-extras.yaml"} in listed
    validated = frontdesk("validate")
    assert validated.returncode == 0, validated.stdout
    shipped = len(list((REPO / "playbooks").glob("*.yaml")))
    assert f"{shipped + 1} files checked: 0 errors, 0 warnings" in validated.stderr
    tested = frontdesk("pack", "test", "acme-extras")
    assert tested.returncode == 0 and tested.stdout.splitlines()[1:] == PASSING
    shipped_tests = frontdesk("test", str(installed / "scenarios"))
    assert shipped_tests.returncode == 0 and shipped_tests.stdout.splitlines() == PASSING

    (home / "playbooks").mkdir(parents=True)
    (home / "playbooks" / "acme-extras.yaml").write_bytes(
        (installed / "acme-extras.yaml").read_bytes())
    rows = [r for r in json.loads(frontdesk("playbooks", "--json").stdout)
            if r["id"] == "acme-extras"]
    assert [r["source"] for r in rows] == [
        f"home: {home}/playbooks/acme-extras.yaml",
        f"pack acme-extras 0.1.0: {installed}/acme-extras.yaml (shadowed by home: "
        f"{home}/playbooks/acme-extras.yaml)"]
    (home / "playbooks" / "acme-extras.yaml").unlink()

    instance = frontdesk("start", "acme-extras", "--set", "patient=Ann",
                         "--set", "received_on=2026-01-05").stdout.strip()
    source = pack / "acme_extras" / "playbooks" / "acme-extras.yaml"
    source.write_text(source.read_text("utf-8").replace("version: 1", "version: 2"), "utf-8")
    pyproject = pack / "pyproject.toml"
    pyproject.write_text(pyproject.read_text("utf-8").replace('version = "0.1.0"',
                                                              'version = "0.2.0"'), "utf-8")
    newer = build_wheel(pack, tmp_path / "dist-pack-2")
    pip_install(venv / "bin" / "python", str(newer))
    assert {"id": "acme-extras", "version": 2, "title": "Patient records request",
            "source": f"pack acme-extras 0.2.0: {installed}/acme-extras.yaml"} in \
        json.loads(frontdesk("playbooks", "--json").stdout)
    assert json.loads(frontdesk("show", instance, "--json").stdout)["version"] == 1
    moved = frontdesk("upgrade", "acme-extras", "--to", "2")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines()[-1] == "moved 1, cannot move 0, already on version 2: 0"
    assert json.loads(frontdesk("show", instance, "--json").stdout)["version"] == 2
    assert frontdesk("audit", "verify").returncode == 0
