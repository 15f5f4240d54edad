"""The view model: a ``Report`` turned into plain, already-formatted values for the templates.

Templates do no computation; everything they print is prepared here (three-decimal numbers,
intervals, which row is highlighted, which difference is indistinguishable). Strings from the
data stay plain strings: the Jinja environment escapes them.
"""

from __future__ import annotations

from typing import Any

from imbreport.model import Metric, Report, StrategyResult
from imbreport.plots import colour
from imbreport.recommend import distorted_probabilities, fmt

#: Column lists (dropped, missing values) show this many names; the JSON has them all.
LISTED_COLUMNS = 40

SECTIONS = (
    ("summary", "Summary"),
    ("dataset", "Dataset"),
    ("protocol", "How it was evaluated"),
    ("leaderboard", "Leaderboard"),
    ("metrics-chart", "Recall, precision and F1"),
    ("curves", "Precision-recall and ROC curves"),
    ("confusion", "Confusion matrices"),
    ("threshold", "Choosing the threshold"),
    ("resampling", "What resampling does"),
    ("boundary", "Decision surfaces"),
    ("calibration", "Calibration"),
    ("anomaly", "Anomaly-detection fallback"),
    ("recommendations", "Recommendations"),
    ("appendix", "Appendix"),
)

LEADERBOARD_DEFAULT = (("recall", "Recall"), ("precision", "Precision"), ("f1", "F1"))
LEADERBOARD_TUNED = (("recall", "Recall"), ("precision", "Precision"), ("f1", "F1"))


def cell(metric: Metric) -> dict[str, str]:
    """A metric as three-decimal text with its interval (``—`` where undefined)."""
    if metric.value is None:
        return {"value": "—", "ci": ""}
    ci = "" if metric.ci is None else f"[{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"
    return {"value": f"{metric.value:.3f}", "ci": ci}


def build_view(report: Report, figures: dict[str, Any]) -> dict[str, Any]:
    """Everything the templates print, formatted; ``figures`` are ``plots.Figure`` by section id."""
    results = report.results
    ds = results.dataset
    summary = ds.summary()
    recommended = results.strategy(results.recommended.strategy or "")
    majority = results.strategy("majority")
    leader = _leader(results.strategies)
    # the paired comparisons start from the supervised leader (the recommendation rule's)
    compared_with = results.strategy(results.comparisons[0].first) if results.comparisons else None
    tied = {
        c.second
        for c in results.comparisons
        if c.indistinguishable and compared_with is not None and c.first == compared_with.name
    }
    sections = [(sid, title) for sid, title in SECTIONS]
    if report.changes is not None:
        sections.insert(1, ("changes", "Changes since the previous run"))
    return {
        "title": f"Class-imbalance report: {ds.source_name}",
        "source": ds.source_name,
        "source_file": ds.source_name.replace("\\", "/").rsplit("/", 1)[-1],
        "version": report.tool_version,
        "created": report.created,
        "sections": [
            {"id": sid, "number": i + 1, "title": title} for i, (sid, title) in enumerate(sections)
        ],
        "number": {sid: i + 1 for i, (sid, _) in enumerate(sections)},
        "heading": dict(sections),
        "facts": (
            f"{ds.rows_used:,} rows · {ds.positives:,} positives ({ds.prevalence:.2%})"
            if ds.sampling_rate >= 1
            else f"{ds.rows_used:,} rows used (--sample) · {ds.positives:,} positives "
            f"({ds.prevalence:.2%} of the whole file)"
        ),
        "gates": [g.to_dict() for g in report.gates],
        "gates_failed": [g.message for g in report.gates if not g.passed],
        "changes": report.changes,
        "verdict": _verdict(report, recommended, majority),
        "dataset": {
            "rows_read": f"{ds.rows_read:,}",
            "rows_used": f"{ds.rows_used:,}",
            "rows_dropped": [(reason, f"{n:,}") for reason, n in ds.rows_dropped.items()],
            "target": ds.target,
            "target_chosen_by": ds.target_chosen_by,
            "positive_label": ds.positive_label,
            "negative_label": ds.negative_label,
            "class_counts": [
                (label, f"{n:,}", f"{n / max(ds.rows_used, 1):.2%}")
                for label, n in ds.class_counts.items()
            ],
            "prevalence": f"{ds.prevalence:.2%}",
            "imbalance_ratio": f"{summary['imbalance_ratio']:.1f}",
            "numeric": list(ds.numeric),
            "categorical": list(ds.categorical),
            "dropped_columns": list(ds.dropped_columns.items())[:LISTED_COLUMNS],
            "dropped_more": max(len(ds.dropped_columns) - LISTED_COLUMNS, 0),
            "missing": [(c, f"{n:,}") for c, n in ds.missing.items()][:LISTED_COLUMNS],
            "missing_more": max(len(ds.missing) - LISTED_COLUMNS, 0),
            "sha256": ds.sha256,
            "sampling_rate": None if ds.sampling_rate >= 1 else f"{ds.sampling_rate:.2%}",
        },
        "protocol": _protocol(report),
        "leaderboard": {
            "default_columns": [label for _, label in LEADERBOARD_DEFAULT],
            "tuned_columns": [label for _, label in LEADERBOARD_TUNED],
            "rows": [
                _leaderboard_row(s, recommended, leader, tied)
                for s in sorted(
                    (s for s in results.strategies if s.ok),
                    key=lambda s: -(s.metrics["pr_auc"].value or 0.0),
                )
            ],
            "skipped": [(s.label, s.name, s.reason) for s in results.strategies if not s.ok],
            "skipped_rows": [
                {"label": s.label, "name": s.name, "reason": s.reason, "colour": colour(s.name)}
                for s in results.strategies
                if not s.ok
            ],
            "leader": compared_with.label if compared_with else None,
            "comparisons": [
                {
                    "first": _label_of(results, c.first),
                    "second": _label_of(results, c.second),
                    "difference": f"{c.difference:+.3f}",
                    "ci": f"[{c.ci[0]:+.3f}, {c.ci[1]:+.3f}]",
                    "verdict": "indistinguishable" if c.indistinguishable else "distinguishable",
                }
                for c in results.comparisons
            ],
        },
        "threshold": _threshold(results, recommended),
        "calibration": _calibration(results),
        "anomaly": _anomaly(results),
        "advice": [a.to_dict() for a in report.advice],
        "warnings": list(results.warnings),
        "config": [(k, _config_value(v)) for k, v in report.config.to_dict().items()],
        "versions": list(results.versions.items()),
        "timings": _timings(results.timings) if report.config.timings else None,
        "figures": figures,
    }


def _label_of(results, name: str) -> str:
    s = results.strategy(name)
    return s.label if s else name


def _leader(strategies) -> StrategyResult | None:
    candidates = [s for s in strategies if s.ok and s.name != "majority"]
    return max(candidates, key=lambda s: s.metrics["pr_auc"].value or 0.0, default=None)


def _verdict(report: Report, recommended: StrategyResult | None, majority) -> dict[str, Any]:
    results = report.results
    ds = results.dataset
    accuracy = (
        majority.metrics["accuracy"].value
        if majority is not None and majority.metrics.get("accuracy") is not None
        else 1 - ds.prevalence
    )
    detail = (
        f"always predicting '{ds.negative_label}' scores accuracy {accuracy:.3f} yet finds none "
        f"of the {ds.positives:,} positives."
    )
    common = {
        "paradox": f"Accuracy misleads here: {detail}",
        "paradox_detail": detail[0].upper() + detail[1:],
        "paradox_accuracy": f"{accuracy:.1%}",
        "reason": results.recommended.reason,
        "chance": f"{ds.prevalence:.3f}",
    }
    if recommended is None:
        return {
            **common,
            "headline": "No strategy beats chance on this data.",
            "sentence": results.recommended.reason,
            "numbers": [],
            "strategy": None,
            "colour": None,
        }
    threshold = recommended.threshold
    threshold_text = "" if threshold is None else f" at threshold {threshold:.3f}"
    return {
        **common,
        "headline": f"Recommended: {recommended.label}{threshold_text}",
        "sentence": (
            f"{recommended.label}{threshold_text} reaches PR-AUC "
            f"{fmt(recommended.metrics['pr_auc'])}, recall {fmt(recommended.metric('recall', True))} "
            f"and precision {fmt(recommended.metric('precision', True))} "
            f"(chance PR-AUC = prevalence {ds.prevalence:.3f}). {results.recommended.reason}"
        ),
        "numbers": _key_numbers(recommended, ds.prevalence),
        "strategy": recommended.name,
        "colour": colour(recommended.name),
    }


def _key_numbers(s: StrategyResult, prevalence: float) -> list[dict[str, str]]:
    """PR-AUC, recall and precision of the recommendation, each with what it means in rows."""
    c = s.tuned_confusion
    found = f"finds {c['tp']:,} of {c['tp'] + c['fn']:,} positives" if c else ""
    flagged = f"{c['tp']:,} of {c['tp'] + c['fp']:,} flagged rows are positive" if c else ""
    rows = (
        ("PR-AUC", cell(s.metrics["pr_auc"]), f"chance level {prevalence:.3f}"),
        ("Recall", cell(s.metric("recall", True)), found),
        ("Precision", cell(s.metric("precision", True)), flagged),
    )
    return [{"name": name, **c, "note": note} for name, c, note in rows]


def _protocol(report: Report) -> dict[str, Any]:
    p = report.results.protocol
    if p.kind == "cv":
        how = (
            f"Stratified {p.folds}-fold cross-validation"
            + (f", repeated {p.repeats} times" if p.repeats and p.repeats > 1 else "")
            + f"; every one of the {p.evaluated_rows:,} rows is scored once per repeat by a model "
            "that never saw it."
        )
    else:
        how = (
            f"A single stratified holdout split: {1 - p.test_fraction:.0%} training, "
            f"{p.test_fraction:.0%} test; the figures are on the {p.evaluated_rows:,} test rows."
        )
    items = [
        ("Evaluation", how),
        (
            "Where resampling happens",
            "Imputation, encoding, scaling and resampling (under/oversampling, SMOTE) are steps "
            "of an imbalanced-learn Pipeline fitted on the training part of each split only; no "
            "synthetic row is ever evaluated.",
        ),
        (
            "Threshold tuning",
            f"Objective: {p.threshold_objective}. Chosen by scikit-learn's "
            f"TunedThresholdClassifierCV {p.threshold_tuning}; the evaluated rows never "
            "influence it."
            if p.inner_folds >= 2
            else "Not tuned: too few positives for an inner cross-validation.",
        ),
        ("Intervals", f"95% intervals from a {p.interval_method}."),
        ("Seed", str(p.seed)),
    ]
    if report.results.strategy("logreg") is not None:
        items.append(
            (
                "Linear models",
                "Logistic regressions see standardized features (scaled inside the pipeline).",
            )
        )
    return {"rows": items, "notes": list(p.notes)}


def _leaderboard_row(s: StrategyResult, recommended, leader, tied) -> dict[str, Any]:
    mark = ""
    if leader is not None and s.name == leader.name:
        mark = "highest PR-AUC"
    elif s.name in tied:
        mark = "indistinguishable from the leader"
    threshold = "—" if s.threshold is None else f"{s.threshold:.3f}"
    spread = s.threshold_spread
    return {
        "name": s.name,
        "label": s.label,
        "colour": colour(s.name),
        "recommended": recommended is not None and s.name == recommended.name,
        "mark": mark,
        "pr_auc": cell(s.metrics["pr_auc"]),
        "roc_auc": cell(s.metrics["roc_auc"]),
        "default": [cell(s.metric(k)) for k, _ in LEADERBOARD_DEFAULT],
        "threshold": threshold,
        "threshold_spread": (
            ""
            if spread is None or len(s.fold_thresholds) < 2
            else f"{spread[0]:.3f}–{spread[1]:.3f}"
        ),
        "tuned": [cell(s.metric(k, True)) for k, _ in LEADERBOARD_TUNED],
        "brier": cell(s.metrics["brier"]),
        "notes": list(s.notes),
    }


def _threshold(results, recommended) -> dict[str, Any] | None:
    focus = recommended or _leader(results.strategies)
    if focus is None:
        return None
    spread = focus.threshold_spread
    return {
        "label": focus.label,
        "threshold": None if focus.threshold is None else f"{focus.threshold:.3f}",
        "default": None if focus.default_threshold is None else f"{focus.default_threshold:.3f}",
        "spread": None
        if spread is None or len(focus.fold_thresholds) < 2
        else f"{spread[0]:.3f} to {spread[1]:.3f} across {len(focus.fold_thresholds)} folds",
        "default_cells": [(label, cell(focus.metric(k))) for k, label in LEADERBOARD_DEFAULT],
        "tuned_cells": [(label, cell(focus.metric(k, True))) for k, label in LEADERBOARD_DEFAULT],
        "scale": focus.score_kind,
    }


def _calibration(results) -> dict[str, Any]:
    rows = [
        (s.label, cell(s.metrics["brier"]), cell(s.metric("log_loss")))
        for s in results.strategies
        if s.ok and s.metric("brier").value is not None
    ]
    distorted = [s.label for s in distorted_probabilities(results)]
    if distorted:
        text = (
            f"{', '.join(distorted)} distorted the probabilities: their Brier scores are well above "
            "plain logistic regression's. Their scores still rank rows, but do not read them as "
            "risks. If calibrated probabilities matter, use plain logistic regression (or "
            "XGBoost without weights) with a tuned threshold, or recalibrate on held-out data."
        )
    else:
        text = (
            "No strategy's Brier score is far above plain logistic regression's; still, check the "
            "curves before reading scores as probabilities."
        )
    return {"rows": rows, "text": text}


def _anomaly(results) -> dict[str, Any]:
    forest = results.strategy("isolation_forest")
    ds = results.dataset
    extreme = ds.prevalence < 0.001 or ds.positives < 50
    need = (
        f"With {ds.positives:,} positives (prevalence {ds.prevalence:.2%}), the minority class is "
        + (
            "tiny: an anomaly detector trained on the majority class is an honest baseline."
            if extreme
            else "large enough for supervised learning; the anomaly detector is shown for "
            "comparison."
        )
    )
    if forest is None or not forest.ok:
        return {
            "ran": False,
            "need": need,
            "reason": forest.reason if forest else "not selected (--strategies)",
        }
    leader = _leader([s for s in results.strategies if s.name != "isolation_forest"])
    return {
        "ran": True,
        "need": need,
        "cells": [
            ("PR-AUC", cell(forest.metrics["pr_auc"])),
            ("ROC-AUC", cell(forest.metrics["roc_auc"])),
            ("Recall (tuned)", cell(forest.metric("recall", True))),
            ("Precision (tuned)", cell(forest.metric("precision", True))),
        ],
        "versus": None
        if leader is None
        else f"{leader.label}: PR-AUC {fmt(leader.metrics['pr_auc'])}",
        "threshold": None if forest.threshold is None else f"{forest.threshold:.3f}",
    }


def _config_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _timings(timings: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in timings.items():
        if isinstance(value, dict):
            rows.extend((f"{key}: {k}", f"{v:.2f} s") for k, v in value.items())
        else:
            rows.append((key, f"{value:.2f} s"))
    return rows
