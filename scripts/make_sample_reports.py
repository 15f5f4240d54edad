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
    (
        "abalone19_review",
        "abalone19_scored.csv",
        [
            "--target",
            "Class",
            "--positive-label",
            "positive",
            "--score",
            "legacy_score",
            "--segment",
            "Sex",
        ],
    ),  # fmt: skip
)
#: Made from abalone19.csv by ``scored_copy``: the review of an existing model.
SCORED = OUT / "abalone19_scored.csv"


def scored_copy() -> Path:
    """abalone19 with ``legacy_score``: the out-of-fold probabilities of a logistic regression
    on three of its measurements (a stand-in for a team's existing model, out-of-sample as a
    score column must be), rounded to 4 decimals."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    frame = pd.read_csv(DATA / "abalone19.csv")
    inputs = frame[["Length", "Height", "Shell_weight"]]
    y = (frame["Class"].str.strip() == "positive").astype(int)
    folds = StratifiedKFold(5, shuffle=True, random_state=7)
    model = LogisticRegression(max_iter=1000)
    scores = cross_val_predict(model, inputs, y, cv=folds, method="predict_proba")[:, 1]
    frame.insert(len(frame.columns) - 1, "legacy_score", scores.round(4))
    frame.to_csv(SCORED, index=False)
    return SCORED


def main() -> int:
    OUT.mkdir(exist_ok=True)
    scored_copy()
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for name, csv_name, options in SAMPLES:
        outputs = [arg for ext in ("html", "pdf", "json", "md") for arg in ("-o", f"{name}.{ext}")]
        command = [
            sys.executable,
            "-m",
            "imbreport",
            "analyze",
            os.path.relpath(DATA / csv_name if (DATA / csv_name).exists() else OUT / csv_name, OUT),
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
