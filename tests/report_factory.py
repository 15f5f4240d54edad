"""Hand-built ``Report`` objects for rendering tests: fixed numbers, no model is ever fitted.

``make_report()`` constructs every model object directly (like coverage.py's golden tests build
their data by hand), so a new scikit-learn or matplotlib release cannot change what the golden
HTML tests see. Options make the variants the tests need: hostile strings from "the data", a
run where nothing beats chance, huge curves for the size budget.
"""

from __future__ import annotations

import numpy as np

from imbreport.model import (
    Advice,
    ChanceTest,
    Comparison,
    Dataset,
    GateResult,
    Illustration,
    Metric,
    Protocol,
    Recommended,
    Report,
    Results,
    StrategyResult,
    Verdict,
)
from imbreport.options import AnalysisOptions, Config, OutputOptions

HOSTILE = '<script>alert(1)</script>" onmouseover="x'
TOOL_VERSION = "9.9.9-test"
VERSIONS = {"python": "3.x", "imbreport": TOOL_VERSION, "numpy": "n", "scikit-learn": "s"}

#: name → (label, PR-AUC, ROC-AUC, recall, precision, tuned threshold, Brier)
STRATEGIES = {
    "majority": ("Majority baseline", 0.05, 0.5, 0.0, 0.0, None, 0.047),
    "logreg": ("Logistic regression", 0.82, 0.95, 0.80, 0.70, 0.21, 0.012),
    "smote": ("SMOTE", 0.78, 0.94, 0.82, 0.55, 0.74, 0.045),
    "balanced": ("Balanced class weights", 0.76, 0.94, 0.78, 0.52, 0.80, 0.050),
    "xgboost": ("XGBoost (scale_pos_weight)", 0.86, 0.97, 0.86, 0.78, 0.62, 0.008),
}
SKIPPED = {"isolation_forest": ("Isolation Forest", "not enough negatives in one fold")}


def metric(value: float | None, width: float = 0.05) -> Metric:
    """A metric with a symmetric interval clipped to [0, 1]."""
    if value is None:
        return Metric(None)
    return Metric(value, (max(value - width, 0.0), min(value + width, 1.0)))


def curves(pr_auc: float, roc_auc: float, points: int) -> dict[str, dict[str, list[float]]]:
    """Smooth, plausible PR / ROC / threshold / calibration curves with ``points`` points."""
    t = np.linspace(0.0, 1.0, points)
    precision = np.clip(1.0 - (1.0 - pr_auc) * t**2 * 2.0, 0.05, 1.0)
    tpr = t ** ((1.0 - roc_auc) * 4.0 + 0.05)
    thresholds = np.linspace(0.0, 1.0, max(points // 4, 11))
    recall_t = np.clip(1.0 - thresholds**1.5, 0.0, 1.0)
    precision_t = np.clip(0.05 + thresholds * pr_auc, 0.0, 1.0)
    f1 = 2 * recall_t * precision_t / np.maximum(recall_t + precision_t, 1e-9)
    bins = np.linspace(0.05, 0.85, 10)
    return {
        "pr": {"recall": t.tolist(), "precision": precision.tolist()},
        "roc": {"fpr": t.tolist(), "tpr": tpr.tolist()},
        "threshold_sweep": {
            "threshold": thresholds.tolist(),
            "precision": precision_t.tolist(),
            "recall": recall_t.tolist(),
            "f1": f1.tolist(),
        },
        "fold_bands": {
            "recall": t.tolist(),
            "precision_low": np.clip(precision - 0.1, 0, 1).tolist(),
            "precision_high": np.clip(precision + 0.1, 0, 1).tolist(),
            "fpr": t.tolist(),
            "tpr_low": np.clip(tpr - 0.1, 0, 1).tolist(),
            "tpr_high": np.clip(tpr + 0.1, 0, 1).tolist(),
        },
        "calibration": {"predicted": bins.tolist(), "observed": (bins * 0.6).tolist()},
    }


def strategy(name: str, spec: tuple, points: int, label: str | None = None) -> StrategyResult:
    label_, pr_auc, roc_auc, recall, precision, threshold, brier = spec
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    tuned = {"recall": recall, "precision": precision, "f1": f1, "mcc": f1 * 0.9}
    default = {k: max(v - 0.1, 0.0) for k, v in tuned.items()}
    fixed = {"pr_auc": pr_auc, "roc_auc": roc_auc, "brier": brier, "log_loss": brier * 4}
    positives, negatives = 50, 950
    tp = round(recall * positives)
    fp = round(tp / precision) - tp if precision else 0
    return StrategyResult(
        name=name,
        label=label or label_,
        description=f"{label_} (hand-built)",
        status="ok",
        score_kind="constant" if name == "majority" else "probability",
        metrics={k: metric(v) for k, v in {**fixed, **default, "accuracy": 0.95}.items()},
        tuned_metrics={k: metric(v) for k, v in tuned.items()},
        threshold=threshold,
        default_threshold=None if threshold is None else 0.5,
        fold_thresholds=()
        if threshold is None
        else (threshold - 0.05, threshold, threshold + 0.04),
        confusion={"tn": negatives, "fp": 0, "fn": positives, "tp": 0},
        tuned_confusion={"tn": negatives - fp, "fp": fp, "fn": positives - tp, "tp": tp},
        curves={} if name == "majority" else curves(pr_auc, roc_auc, points),
        notes=(),
    )


def illustration(column: str, points: int = 60) -> Illustration:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(points, 2))
    labels = (np.arange(points) % 6 == 0).astype(int)
    xy[labels == 1] += 1.5
    grid_x, grid_y = np.meshgrid(np.linspace(-3, 4, 12), np.linspace(-3, 4, 12))
    surface = 1 / (1 + np.exp(-(grid_x + grid_y - 2)))
    return Illustration(
        axes=(column, "feature b"),
        projected=False,
        points=xy,
        labels=labels,
        synthetic=xy[labels == 1][:5] + 0.2,
        grid_x=grid_x,
        grid_y=grid_y,
        surfaces={"logreg": surface, "xgboost": surface**2},
        note="Raw features of a hand-built sample.",
    )


def make_report(
    *,
    hostile: bool = False,
    beats_chance: bool = True,
    curve_points: int = 40,
    scatter_points: int = 60,
) -> Report:
    """A complete ``Report`` with fixed numbers (see the module docstring for the options)."""
    text = (lambda s: f"{s} {HOSTILE}") if hostile else (lambda s: s)
    positive, negative, column = text("yes"), text("no"), text("feature a")
    dataset = Dataset(
        X=None,
        y=np.array([1] * 50 + [0] * 950),
        source_name=text("claims.csv"),
        target=text("fraud"),
        target_chosen_by="--target",
        positive_label=positive,
        negative_label=negative,
        class_counts={negative: 950, positive: 50},
        rows_read=1003,
        rows_dropped={text("target missing"): 3},
        numeric=(column, "feature b"),
        categorical=(text("region"),),
        dropped_columns={text("customer id"): text("identifier-like")},
        missing={column: 7},
        sha256="0" * 64,
        warnings=(text("3 rows had no target value and were dropped."),),
    )
    label = text("XGBoost") if hostile else None
    results_strategies = tuple(
        strategy(name, spec, curve_points, label if name == "xgboost" else None)
        for name, spec in STRATEGIES.items()
    ) + tuple(
        StrategyResult(name=name, label=lbl, description=lbl, status="skipped", reason=reason)
        for name, (lbl, reason) in SKIPPED.items()
    )
    recommended = (
        Recommended(
            "logreg",
            0.21,
            "XGBoost has the highest PR-AUC, but Logistic regression is indistinguishable from it "
            "and simpler.",
        )
        if beats_chance
        else Recommended(None, None, "No strategy is better than chance (prevalence 0.050).")
    )
    protocol = Protocol(
        kind="cv" if beats_chance else "holdout",
        folds=5 if beats_chance else None,
        repeats=1 if beats_chance else None,
        test_fraction=None if beats_chance else 0.3,
        seed=42,
        threshold_objective="f1",
        inner_folds=3,
        interval_method="stratified bootstrap (hand-built)",
        bootstrap=1000,
        evaluated_rows=1000,
        notes=(text("A protocol note."),),
        threshold_tuning="by a 3-fold cross-validation inside each training part",
    )
    results = Results(
        dataset=dataset,
        protocol=protocol,
        strategies=results_strategies,
        warnings=dataset.warnings,
        versions=dict(VERSIONS),
        timings={"total": 1.5, "strategies": {"logreg": 0.5}},
        evaluated_prevalence=0.05,
    )
    # the judgements, by hand: as ``recommend.judge`` would make them of these numbers
    verdict = Verdict(
        recommended=recommended,
        beats_chance=beats_chance,
        ranking=("xgboost", "logreg", "smote", "balanced", "majority"),
        top="xgboost",
        leader="xgboost",
        comparisons=(
            Comparison("pr_auc", "xgboost", "logreg", 0.04, (-0.01, 0.09)),
            Comparison("pr_auc", "xgboost", "smote", 0.08, (0.02, 0.14)),
        ),
        distorted=("smote", "balanced"),
        extreme_imbalance=False,
        focus="logreg" if beats_chance else "xgboost",
        best_tuned_f1="xgboost",
        chance={
            name: ChanceTest(0.001, 0.004 if beats_chance else 0.4, beats_chance)
            for name in ("xgboost", "logreg", "smote", "balanced")
        },
        equivalence_margin=0.02,
    )
    advice = (
        Advice(text("Use Logistic regression at threshold 0.210"), "PR-AUC 0.820 [0.770, 0.870]."),
        Advice("Judge by PR-AUC, not accuracy", "The majority baseline reaches accuracy 0.950."),
    )
    gates = (
        GateResult(
            "pr_auc>=0.8", "logreg", "pr_auc", 0.8, "under", 0.82, True, "PR-AUC 0.820 >= 0.8"
        ),
        GateResult(
            "recall>=0.9", "logreg", "recall", 0.9, "under", 0.80, False, "recall 0.800 < 0.9"
        ),
    )
    return Report(
        results=results,
        verdict=verdict,
        advice=advice,
        config=Config(AnalysisOptions(target=text("fraud")), OutputOptions(timings=False)),
        tool_version=TOOL_VERSION,
        warnings=dataset.warnings,
        illustration=illustration(column, scatter_points) if beats_chance else None,
        gates=gates if beats_chance else (),
    )
