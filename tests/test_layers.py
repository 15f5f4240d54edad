"""The package's layers (``[tool.importlinter]`` in pyproject.toml) hold, and would catch the
imports that once tied the core to the shell: each case adds one such import, inside a
function, to a copy of the package and expects ``lint-imports`` to fail on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

#: name → (module file, a function-level import the layers forbid, the module it reaches)
FORBIDDEN = {
    "values reach the renderer": ("model.py", "from imbreport.render import write_report"),
    "the PDF stage reaches the Face": ("pdf.py", "from imbreport.api import analyze"),
    "workers reach back into the engine": ("workers.py", "import imbreport.evaluate"),
    "the engine judges": ("evaluate.py", "from imbreport.recommend import judge"),
    "a judgement draws": ("recommend.py", "import matplotlib.pyplot"),
    "the loader talks click": ("data.py", "import click"),
    "the registry builds pipelines": ("registry.py", "from imbreport import strategies"),
    "pictures render templates": ("plots.py", "import jinja2"),
}


def lint(folder: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package copy in ``folder`` (found first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT), "--config", str(folder / "pyproject.toml"), "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )


def package_copy(folder: Path) -> Path:
    shutil.copytree(ROOT / "imbreport", folder / "imbreport")
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def test_the_layers_hold(tmp_path):
    result = lint(package_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("case", list(FORBIDDEN))
def test_a_forbidden_import_breaks_a_contract(case, tmp_path):
    module, statement = FORBIDDEN[case]
    folder = package_copy(tmp_path)
    with open(folder / "imbreport" / module, "a", encoding="utf-8") as stream:
        stream.write(f"\n\ndef _leak():\n    {statement}\n")
    result = lint(folder)
    assert result.returncode != 0, case
    assert "BROKEN" in result.stdout and f"imbreport.{module[:-3]}" in result.stdout


def test_every_module_has_a_layer():
    """A new module must be placed in the layers (else no contract would check it)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    modules = {
        f"imbreport.{path.stem}"
        for path in (ROOT / "imbreport").glob("*.py")
        if path.stem != "__init__"
    }
    assert modules <= placed, sorted(modules - placed)
