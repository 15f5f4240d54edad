"""Profile one imbreport run and say where the time goes, stage by stage.

Runs ``imbreport analyze`` in a single process (``--n-jobs 1``, so the profile sees the fitting)
under ``cProfile``, then prints the cumulative time of the functions that mark each stage
(loading, preprocessing, each model family, threshold tuning, bootstrap, illustrations, figures,
HTML, PDF) and the top functions by cumulative and by own time.

    python benchmarks/profile.py benchmarks/out/fraud_200k.csv --holdout 0.3
    python benchmarks/profile.py benchmarks/out/fraud_200k.csv --pdf          # default 5-fold CV
    python benchmarks/profile.py --summarize benchmarks/out/profile_cv.prof   # re-read a profile

Stages overlap (threshold tuning contains model fits; fits contain preprocessing): read each line
as "time spent inside", not as a share of a sum. The environment pins BLAS and OpenMP to one
thread and stops OpenMP spin-waiting (see ``PROFILE_ENVIRONMENT``): with ``--n-jobs 1`` imbreport
gives XGBoost every core, and spinning threads on a busy machine would otherwise inflate
XGBoost's and the logistic regressions' share many times over.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")

#: One BLAS/OpenMP thread, as inside imbreport's joblib workers (joblib limits them to
#: cores // workers), so the single-process profile shows the CPU cost of the parallel run.
#: Without it, 2-thread OpenBLAS on tiny problems (the 1,000-row data set) costs ~10× the CPU.
PROFILE_ENVIRONMENT = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}

#: stage label → regular expressions matched against "path:function" of profiled functions;
#: the stage's time is the largest cumulative time among its matches (they nest).
STAGES = (
    ("whole run (cli.run_analysis)", (r"imbreport/cli\.py:run_analysis$",)),
    ("load CSV → Dataset", (r"imbreport/data\.py:load_dataset$",)),
    ("  pandas.read_csv", (r"pandas/io/parsers/readers\.py:read_csv$",)),
    ("evaluate (fit + measure)", (r"imbreport/evaluate\.py:evaluate$",)),
    ("  fit all strategies × splits", (r"imbreport/evaluate\.py:_run_all$",)),
    (
        "    threshold tuning (TunedThresholdClassifierCV.fit)",
        (r"_classification_threshold\.py:fit$",),
    ),
    (
        "      inner fits + scoring over thresholds",
        (r"_classification_threshold\.py:_fit_and_score_over_thresholds$",),
    ),
    (
        "    preprocessing fit_transform (ColumnTransformer)",
        (r"compose/_column_transformer\.py:fit_transform$",),
    ),
    (
        "    preprocessing transform (ColumnTransformer)",
        (r"compose/_column_transformer\.py:transform$",),
    ),
    ("      SimpleImputer.fit", (r"sklearn/impute/_base\.py:fit$",)),
    ("      OneHot/Ordinal encoder fit", (r"preprocessing/_encoders\.py:_fit$",)),
    ("    LogisticRegression.fit", (r"linear_model/_logistic\.py:fit$",)),
    ("    SMOTE / SMOTENC resampling", (r"imblearn/over_sampling/_smote/base\.py:_fit_resample$",)),
    (
        "    random under/oversampling",
        (r"imblearn/(under|over)_sampling/_random.*:_fit_resample$",),
    ),
    ("    XGBoost fit", (r"xgboost/sklearn\.py:fit$",)),
    ("    XGBoost predict", (r"xgboost/sklearn\.py:predict_proba$",)),
    ("    IsolationForest fit", (r"sklearn/ensemble/_iforest\.py:fit$",)),
    ("    IsolationForest score_samples", (r"sklearn/ensemble/_iforest\.py:score_samples$",)),
    ("  measure: point metrics", (r"imbreport/metrics\.py:point_metrics$",)),
    ("  measure: bootstrap intervals", (r"imbreport/metrics\.py:bootstrap$",)),
    ("  curves for the report", (r"imbreport/evaluate\.py:_strategy_result$",)),
    ("illustrate (PCA, SMOTE, 2-D refits)", (r"imbreport/illustrate\.py:illustrate$",)),
    ("render HTML (incl. figures)", (r"imbreport/render\.py:(render_html|html)$",)),
    ("  figures (plots.all_figures)", (r"imbreport/plots\.py:all_figures$",)),
    ("  matplotlib savefig", (r"matplotlib/figure\.py:savefig$",)),
    ("render PDF (WeasyPrint, incl. its HTML)", (r"imbreport/render\.py:render_pdf$",)),
    ("  WeasyPrint layout_pdf", (r"imbreport/pdf\.py:(html_to_pdf|layout_pdf)$",)),
    ("render JSON", (r"imbreport/render\.py:render_json$",)),
    ("import sklearn", (r"sklearn/__init__\.py:<module>$",)),
    ("import xgboost", (r"xgboost/__init__\.py:<module>$",)),
    ("import matplotlib.pyplot", (r"matplotlib/pyplot\.py:<module>$",)),
    ("import weasyprint", (r"weasyprint/__init__\.py:<module>$",)),
)


def run_profile(csv: str, prof_path: str, extra: list[str]) -> float:
    """Run imbreport under cProfile; returns wall seconds."""
    stem = os.path.splitext(prof_path)[0]
    outputs = ["-o", stem + ".html", "-o", stem + ".json"]
    # one process: no render process (it would take the figures and the PDF out of the profile)
    in_one_process = os.path.join(os.path.dirname(os.path.abspath(__file__)), "in_one_process.py")
    command = [sys.executable, "-m", "cProfile", "-o", prof_path, in_one_process, "analyze"]
    command += [csv, "--n-jobs", "1", "-q", *outputs, *extra]
    env = dict(os.environ, **PROFILE_ENVIRONMENT)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=False)
    return time.perf_counter() - started


def _cumulative_by_name(stats: pstats.Stats) -> dict[str, tuple[int, float, float]]:
    """ "path:function" → (calls, own time, cumulative time), summed over line numbers."""
    out: dict[str, tuple[int, float, float]] = {}
    for (path, _line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        key = f"{path}:{name}"
        c, o, t = out.get(key, (0, 0.0, 0.0))
        out[key] = (c + calls, o + own, max(t, cumulative))
    return out


def stage_lines(stats: pstats.Stats) -> list[str]:
    table = _cumulative_by_name(stats)
    lines = [f"{'stage':<58} {'calls':>6} {'seconds':>9}"]
    for label, patterns in STAGES:
        matches = [
            (calls, cumulative)
            for key, (calls, _own, cumulative) in table.items()
            if any(re.search(p, key) for p in patterns)
        ]
        if matches:
            calls, cumulative = max(matches, key=lambda m: m[1])
            lines.append(f"{label:<58} {calls:>6} {cumulative:>9.1f}")
    return lines


def top_lines(stats: pstats.Stats, key: str, count: int) -> list[str]:
    table = _cumulative_by_name(stats)
    index = 2 if key == "cumulative" else 1
    ranked = sorted(table.items(), key=lambda kv: -kv[1][index])[:count]
    site = re.compile(r".*/(site-packages|work/main)/")
    return [f"{v[index]:>9.1f} s {v[0]:>8} calls  {site.sub('', k)}" for k, v in ranked]


def summarize(prof_path: str, count: int = 30) -> None:
    stats = pstats.Stats(prof_path)
    print(f"profile: {prof_path}  (total {stats.total_tt:.1f} s of profiled time)")
    print("\n".join(stage_lines(stats)))
    print(f"\ntop {count} by cumulative time:")
    print("\n".join(top_lines(stats, "cumulative", count)))
    print(f"\ntop {count} by own time:")
    print("\n".join(top_lines(stats, "own", count)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile one imbreport run by stage.")
    parser.add_argument("csv", nargs="?")
    parser.add_argument("--holdout", type=float, default=None)
    parser.add_argument("--pdf", action="store_true", help="also write a PDF")
    parser.add_argument("--name", default=None, help="profile file stem in benchmarks/out/")
    parser.add_argument("--summarize", metavar="PROF", help="only summarize a saved profile")
    parser.add_argument("--top", type=int, default=30)
    args, extra = parser.parse_known_args(argv)
    if args.summarize:
        summarize(args.summarize, args.top)
        return 0
    if not args.csv:
        parser.error("give a CSV (or --summarize PROF)")
    mode = "holdout" if args.holdout else "cv"
    name = args.name or f"profile_{os.path.splitext(os.path.basename(args.csv))[0]}_{mode}"
    os.makedirs(OUT, exist_ok=True)
    prof_path = os.path.join(OUT, name + ".prof")
    if args.holdout:
        extra += ["--holdout", str(args.holdout)]
    if args.pdf:
        extra += ["-o", os.path.join(OUT, name + ".pdf")]
    wall = run_profile(args.csv, prof_path, extra)
    print(f"wall under the profiler: {wall:.1f} s")
    summarize(prof_path, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
