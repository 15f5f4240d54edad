"""The weekly audit of a production model: ``--only-scores`` on a million rows (issue #15).

Adds a ``model_score`` column to the benchmark's 1M-row file (``generate.py``'s card-fraud-like
data; a noisy probability of the label, as a deployed model's scores would be) and times, as
whole processes, the audit job's command against the default report on the same file:

- ``only-scores``: ``imbreport analyze CSV --score model_score --only-scores -o x.json -o x.html``
- ``with-scores``: the default report with the score column beside every strategy
  (``--score model_score -o x.json -o x.html``), which fits everything.

    python benchmarks/only_scores.py            # prints wall time and peak RSS of each

Results go to ``benchmarks/out/only_scores.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
SOURCE = os.path.join(OUT, "fraud_1m.csv")
SCORED = os.path.join(OUT, "fraud_1m_scored.csv")
IMBREPORT = os.path.join(os.path.dirname(sys.executable), "imbreport")


def scored_file() -> str:
    """The 1M-row file with a ``model_score`` column (made once)."""
    if not os.path.exists(SCORED):
        if not os.path.exists(SOURCE):
            subprocess.run([sys.executable, os.path.join(HERE, "generate.py")], check=True)
        frame = pd.read_csv(SOURCE)
        rng = np.random.default_rng(7)
        logit = -4.0 + 3.0 * frame["Class"].to_numpy() + rng.normal(0, 1.2, len(frame))
        frame.insert(len(frame.columns) - 1, "model_score", np.round(1 / (1 + np.exp(-logit)), 6))
        frame.to_csv(SCORED, index=False)
    return SCORED


def run(name: str, args: list[str]) -> dict:
    """One whole process: wall time, and peak RSS of the main process (``wait4``; with
    --only-scores nothing else runs, the full report's worker processes are not counted)."""
    started = time.perf_counter()
    process = subprocess.Popen([IMBREPORT, *args], env={**os.environ, "PYTHONHASHSEED": "0"})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{name} failed ({status})")
    return {
        "name": name,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
    }


def main() -> None:
    data = scored_file()
    base = ["analyze", data, "--target", "Class", "--score", "model_score", "--no-timings", "-q"]
    results = [
        run("only-scores", [*base, "--only-scores", "-o", "/tmp/os.json", "-o", "/tmp/os.html"]),
        run("with-scores", [*base, "-o", "/tmp/ws.json", "-o", "/tmp/ws.html"]),
    ]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "only_scores.json"), "w") as stream:
        json.dump(results, stream, indent=2)
    for r in results:
        print(f"{r['name']:<12} {r['seconds']:>7.1f} s   peak RSS {r['peak_rss_mb']:>6,} MB")
    print(f"only-scores takes {results[0]['seconds'] / results[1]['seconds']:.2f}× the full report")


if __name__ == "__main__":
    main()
