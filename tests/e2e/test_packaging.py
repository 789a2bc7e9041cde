"""The wheel: built from the checkout, installed into a fresh venv, working there, and living
beside another distribution that ships a top-level ``engine`` package."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}


def _fresh_venv(where: Path) -> Path:
    """A venv without this interpreter's packages, except that frontdesk's dependencies are
    importable from here (a ``.pth`` line, not ``--system-site-packages``: inside a venv the
    latter would point at the base interpreter, which may lack them). A path listed in a
    ``.pth`` file is not a site folder, so the editable install's finder is not activated."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True)
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(site.stdout.strip(), "zz_frontdesk_test_deps.pth").write_text(
        "\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python


def _pip_install(python: Path, *targets: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    *targets], check=True, capture_output=True,
                   timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(REPO)], check=True, capture_output=True, timeout=300)
    (built,) = dist.glob("frontdesk-*.whl")
    return built


def test_wheel_installs_frontdesk_and_nothing_named_engine(wheel: Path, tmp_path: Path) -> None:
    """The wheel holds the import package ``frontdesk`` with its schemas and playbooks; a
    ``frontdesk`` installed from it validates the shipped playbooks and runs the demo."""
    python = _fresh_venv(tmp_path)
    _pip_install(python, str(wheel))
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
    assert "4 files checked: 0 errors, 0 warnings" in validate.stderr
    demo = subprocess.run([frontdesk, "demo"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "audit verify: ok" in demo.stdout


def test_another_distribution_shipping_engine_does_not_touch_frontdesk(
        wheel: Path, tmp_path: Path) -> None:
    """A second distribution with its own top-level ``engine`` package installs beside
    frontdesk; both keep working, and uninstalling it leaves frontdesk whole."""
    other = tmp_path / "other-engine"
    (other / "engine").mkdir(parents=True)
    (other / "engine" / "__init__.py").write_text("WHO = 'other-engine'\n", encoding="utf-8")
    (other / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "other-engine"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["engine"]\n', encoding="utf-8")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(other / "dist"), str(other)], check=True, capture_output=True,
                   timeout=300)
    (other_wheel,) = (other / "dist").glob("other_engine-*.whl")
    python = _fresh_venv(tmp_path)
    _pip_install(python, str(wheel))
    _pip_install(python, str(other_wheel))
    frontdesk = str(tmp_path / "venv" / "bin" / "frontdesk")
    env = {**CLEAN_ENV, "HOME": str(tmp_path)}
    who = subprocess.run([str(python), "-c", "import engine; print(engine.WHO)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert who.stdout.strip() == "other-engine"
    demo = subprocess.run([frontdesk, "demo"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "audit verify: ok" in demo.stdout
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "other-engine"],
                   check=True, capture_output=True, timeout=120)
    again = subprocess.run([frontdesk, "--version"], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=60)
    assert again.returncode == 0 and "frontdesk" in again.stdout
