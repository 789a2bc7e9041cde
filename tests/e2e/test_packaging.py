"""The wheel: built from the checkout, installed into a fresh venv, working there, and living
beside another distribution that ships a top-level ``engine`` package."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from frontdesk_testing import REPO, build_wheel, fresh_venv, pip, pip_install

CLEAN_ENV = {"PATH": "/usr/bin:/bin"}
SHIPPED = len(list((REPO / "playbooks").glob("*.yaml")))  # the playbooks the wheel ships


@pytest.mark.slow
def test_wheel_installs_frontdesk_and_nothing_named_engine(frontdesk_wheel: Path,
                                                           tmp_path: Path) -> None:
    """The wheel holds the import package ``frontdesk`` with its schemas and playbooks; a
    ``frontdesk`` installed from it validates the shipped playbooks and runs the demo."""
    python = fresh_venv(tmp_path)
    pip_install(python, str(frontdesk_wheel))
    where = subprocess.run([str(python), "-c", "import frontdesk, frontdesk.resources as r; "
                            "print(frontdesk.__file__); print(r.data_dir('playbooks'))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    module, playbooks = where.stdout.split()
    assert module.startswith(str(tmp_path / "venv")) and "_data" in playbooks
    site = Path(module).parents[1]
    assert not (site / "engine").exists()
    frontdesk = str(tmp_path / "venv" / "bin" / "frontdesk")
    env = {**CLEAN_ENV, "HOME": str(tmp_path)}
    validate = subprocess.run([frontdesk, "validate"], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)
    assert validate.returncode == 0, validate.stderr
    assert f"{SHIPPED} files checked: 0 errors, 0 warnings" in validate.stderr
    demo = subprocess.run([frontdesk, "demo"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "audit verify: ok" in demo.stdout


@pytest.mark.slow
def test_another_distribution_shipping_engine_does_not_touch_frontdesk(
        frontdesk_wheel: Path, tmp_path: Path) -> None:
    """A second distribution with its own top-level ``engine`` package installs beside
    frontdesk; both keep working, and uninstalling it leaves frontdesk whole."""
    other = tmp_path / "other-engine"
    (other / "engine").mkdir(parents=True)
    (other / "engine" / "__init__.py").write_text("WHO = 'other-engine'\n", encoding="utf-8")
    (other / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "other-engine"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["engine"]\n', encoding="utf-8")
    other_wheel = build_wheel(other, other / "dist")
    python = fresh_venv(tmp_path)
    pip_install(python, str(frontdesk_wheel))
    pip_install(python, str(other_wheel))
    frontdesk = str(tmp_path / "venv" / "bin" / "frontdesk")
    env = {**CLEAN_ENV, "HOME": str(tmp_path)}
    who = subprocess.run([str(python), "-c", "import engine; print(engine.WHO)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert who.stdout.strip() == "other-engine"
    demo = subprocess.run([frontdesk, "demo"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "audit verify: ok" in demo.stdout
    pip(python, "uninstall", "-y", "-q", "other-engine")
    again = subprocess.run([frontdesk, "--version"], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=60)
    assert again.returncode == 0 and "frontdesk" in again.stdout
