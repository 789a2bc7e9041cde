"""The wheel: built from the checkout, installed into a fresh venv, working there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    """``pip install`` of the wheel gives a ``frontdesk`` that finds its schemas and playbooks."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("frontdesk-*.whl")
    venv = tmp_path / "venv"
    # Dependencies come from this interpreter's site-packages (no network needed); the wheel
    # itself is installed into the venv, which shadows any editable checkout.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    where = subprocess.run([str(python), "-c", "import engine, engine.resources as r; "
                            "print(engine.__file__); print(r.data_dir('playbooks'))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    module, playbooks = where.stdout.split()
    assert module.startswith(str(venv)) and "_data" in playbooks
    frontdesk = str(venv / "bin" / "frontdesk")
    validate = subprocess.run([frontdesk, "validate"], capture_output=True, text=True,
                              cwd=tmp_path, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                              timeout=120)
    assert validate.returncode == 0, validate.stderr
    assert "4 files checked: 0 errors, 0 warnings" in validate.stderr
    demo = subprocess.run([frontdesk, "demo"], capture_output=True, text=True, cwd=tmp_path,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "audit verify: ok" in demo.stdout
