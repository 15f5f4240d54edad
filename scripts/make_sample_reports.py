"""Regenerate ``sample_reports/`` from the bundled datasets (HTML, PDF, JSON, Markdown each).

Run from the repository root with the project installed::

    python scripts/make_sample_reports.py

The outputs are reproducible: the seed is fixed, timings are left out (``--no-timings``) and
``SOURCE_DATE_EPOCH`` is unset, so running it twice gives byte-identical HTML, JSON and Markdown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "imbreport" / "datasets"
OUT = ROOT / "sample_reports"

SAMPLES = (
    ("article", "article_dataset.csv", ["--target", "label"]),
    ("abalone19", "abalone19.csv", ["--target", "Class", "--positive-label", "positive"]),
)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for name, csv_name, options in SAMPLES:
        outputs = [arg for ext in ("html", "pdf", "json", "md") for arg in ("-o", f"{name}.{ext}")]
        command = [
            sys.executable,
            "-m",
            "imbreport",
            "analyze",
            os.path.relpath(DATA / csv_name, OUT),
            *options,
            "--seed",
            "42",
            "--no-timings",
            *outputs,
        ]
        print("running:", " ".join(command[2:]), file=sys.stderr)
        # run inside sample_reports/ so the report names the file, not a machine-specific path
        completed = subprocess.run(command, cwd=OUT, env=env)
        if completed.returncode not in (0, 1):
            return completed.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
