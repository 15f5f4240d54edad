"""The wheel really ships its templates and data: build it, install it in a fresh virtual
environment, and render a report from an unrelated working directory."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_renders_from_another_directory(tmp_path):
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
    )
    (wheel,) = wheel_dir.glob("imbreport-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    # dependencies come from the running environment, appended *after* the fresh site-packages
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(fresh_site, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import imbreport; print(imbreport.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(env_dir) in where, f"imbreport imported from {where}, not from the fresh venv"

    result = subprocess.run(
        [
            str(env_dir / "bin" / "imbreport"),
            "demo",
            "-o",
            "report.html",
            "--strategies",
            "majority,logreg,balanced",
            "--bootstrap",
            "100",
            "--n-jobs",
            "1",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    html = (elsewhere / "report.html").read_text(encoding="utf-8")
    assert 'id="leaderboard"' in html and "<svg" in html
