"""The shipped playbooks, their scenarios, the demo, graphs and the docs' examples (commands run
in this process through the console script's handler, ``run_main``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from frontdesk_testing import CliResult, run_main

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "playbooks").glob("*.yaml"))


def frontdesk(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> CliResult:
    """``frontdesk ARGS`` in ``cwd`` with ``env`` (default: this process's environment)."""
    return run_main(args, env or dict(os.environ), cwd=cwd)


def test_the_routines_are_shipped() -> None:
    """intake, claim-denial, onboarding-90-day, hipaa-annual-refresh and the routines of
    DOMAIN.md section 8 are shipped."""
    assert {p.stem for p in SHIPPED} >= {
        "intake", "claim-denial", "onboarding-90-day", "hipaa-annual-refresh",
        "credential-renewal", "records-request", "plan-of-care",
        "breach-response", "osha-bloodborne", "osha-exposure-control-plan"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_playbook_validates_without_warnings(path: Path) -> None:
    """Each shipped playbook validates with no error and no warning."""
    result = frontdesk("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "0 errors, 0 warnings" in result.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_playbook_has_descriptions_subject_settings(path: Path) -> None:
    """Each shipped playbook has a description, a subject template and settings."""
    import yaml

    data = yaml.safe_load(path.read_text("utf-8"))
    assert data["description"].strip()
    assert "{{" in data["subject"]
    assert data["settings"]


def test_every_scenario_passes(tmp_path: Path) -> None:
    """``frontdesk test playbooks/scenarios`` passes every scenario, at least 5 per playbook."""
    env = {**os.environ, "FRONTDESK_HOME": str(tmp_path)}
    env.pop("FRONTDESK_DB", None)
    result = frontdesk("test", "playbooks/scenarios", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("PASS ") for line in lines[:-1]), result.stdout
    match = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1])
    assert match and int(match.group(1)) >= 20
    for path in SHIPPED:
        text = (REPO / "playbooks" / "scenarios" / path.name).read_text("utf-8")
        assert text.count("\nplaybook: ") + text.startswith("playbook: ") >= 5 or \
            len(re.findall(r"^playbook: ", text, re.M)) >= 5, path.name


def test_failing_scenario_names_step_and_counts(tmp_path: Path) -> None:
    """A wrong expectation fails with the step, expected and actual; exit is non-zero."""
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(
        "playbook: claim-denial\nname: wrong state\npractice: {timezone: America/New_York}\n"
        "start: {at: 2026-01-05T09:00, with: {claim_id: C1, payer_type: commercial, group: CO,"
        " carc: \"16\", amount: 120, denied_on: 2026-01-05, service_date: 2025-12-20}}\n"
        "steps:\n  - expect: {state: paid}\n---\nplaybook: claim-denial\nname: typo\n"
        "start: {at: 2026-01-05T09:00, with: {claim_id: C1, payer_type: commercial, group: CO,"
        " carc: \"16\", amount: 120, denied_on: 2026-01-05, service_date: 2025-12-20}}\n"
        "steps:\n  - done: corect_claim\n", "utf-8")
    result = frontdesk("test", str(scenario), env={**os.environ, "FRONTDESK_HOME": str(tmp_path)})
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL wrong state: step 1 (expect): expected state 'paid', got "
                               "'correct'")
    assert lines[1].startswith("FAIL typo: step 1: ") and "unknown task id 'corect_claim'" in \
        lines[1] and "did you mean 'correct_claim'?" in lines[1]
    assert lines[-1] == "0 passed, 2 failed"


def test_demo_runs_in_a_temporary_home(tmp_path: Path) -> None:
    """``frontdesk demo`` tells its story, verifies the audit log and leaves no home behind."""
    env = {**os.environ, "FRONTDESK_HOME": str(tmp_path / "real-home"),
           "FRONTDESK_DB": "sqlite:///" + str(tmp_path / "real.db")}
    result = frontdesk("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "audit verify: ok" in result.stdout
    assert "closed: written_off" in result.stdout and "closed: paid" in result.stdout
    assert "refused" in result.stdout  # EHR access before HIPAA training
    assert not (tmp_path / "real-home").exists() and not (tmp_path / "real.db").exists()


def test_demo_keeps_an_empty_home_and_refuses_a_full_one(tmp_path: Path) -> None:
    """``--home`` must name an empty folder; the store stays there for a look afterwards."""
    home = tmp_path / "demo"
    home.mkdir()
    assert frontdesk("--home", str(home), "demo").returncode == 0
    assert (home / "frontdesk.db").exists()
    again = frontdesk("--home", str(home), "demo")
    assert again.returncode == 2 and "not empty" in again.stderr
    listed = frontdesk("--home", str(home), "list", "--json")
    assert listed.returncode == 0 and '"claim-denial"' in listed.stdout
    verified = frontdesk("--home", str(home), "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert ("(state, status, variables, tasks and assignees, armed and fired timers)"
            in verified.stdout)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_graphs(path: Path) -> None:
    """Mermaid output is a stateDiagram-v2 with choice states; dot renders with Graphviz."""
    mermaid = frontdesk("graph", path.stem)
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("stateDiagram-v2")
    dot = frontdesk("graph", path.stem, "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph")
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz 'dot' is missing on CI")
        pytest.skip("Graphviz 'dot' not installed")
    rendered = subprocess.run(["dot", "-Tsvg"], input=dot.stdout, capture_output=True,
                              text=True, timeout=60)
    assert rendered.returncode == 0 and "<svg" in rendered.stdout


def _doc_examples(name: str) -> list[str]:
    text = (REPO / "docs" / name).read_text("utf-8")
    return re.findall(r"<!-- example: playbook -->\n```yaml\n(.*?)```", text, re.S)


def test_authoring_guide_example_validates(tmp_path: Path) -> None:
    """The complete playbook in docs/authoring.md validates and runs."""
    (example,) = _doc_examples("authoring.md")
    path = tmp_path / "records-request.yaml"
    path.write_text(example, "utf-8")
    assert frontdesk("validate", str(path)).returncode == 0
    env = {**os.environ, "FRONTDESK_HOME": str(tmp_path / "home"),
           "FRONTDESK_NOW": "2026-01-05T09:00"}
    started = frontdesk("--playbooks", str(tmp_path), "start", "records-request",
                        "--set", "patient=Ann", "--set", "received_on=2026-01-05", env=env)
    assert started.returncode == 0, started.stderr


def test_playbooks_json_lists_the_search_path_with_shadowing(tmp_path: Path) -> None:
    """``playbooks --json`` has the keys of docs/reference.md (JSON shapes); an earlier folder
    shadows a shipped playbook."""
    import json

    (tmp_path / "intake.yaml").write_text((REPO / "playbooks" / "intake.yaml").read_text())
    env = {**os.environ, "FRONTDESK_HOME": str(tmp_path / "home")}
    result = frontdesk("--playbooks", str(tmp_path), "playbooks", "--json", env=env)
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert all(set(row) == {"id", "version", "title", "source"} for row in rows)
    intakes = [row for row in rows if row["id"] == "intake"]
    assert intakes[0]["source"].startswith("--playbooks: ")
    assert "shadowed by --playbooks" in intakes[1]["source"]
    assert {row["id"] for row in rows} >= {"claim-denial", "onboarding-90-day",
                                           "hipaa-annual-refresh"}
