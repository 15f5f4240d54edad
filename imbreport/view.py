"""The view model: a ``Report`` turned into typed, already-formatted values for the templates.

Templates do no computation and this module decides nothing: every judgement (leader, ties,
distorted probabilities, extreme imbalance, the strategy a section shows) is read from the
report's ``Verdict``; here it is only put into words and three-decimal numbers (like coverage.py's
``IndexPage``/``FileData``). Strings from the data stay plain strings: the Jinja environment
escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imbreport.model import (
    FeatureImportance,
    FoldFigures,
    Metric,
    Report,
    Results,
    Segments,
    StrategyResult,
    Workload,
    categorical_option,
    fmt,
)
from imbreport.options import format_size
from imbreport.recommend import FEW_POSITIVES
from imbreport.registry import spec_for

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
    ("folds", "Fold by fold"),
    ("workload", "Workload at the threshold"),
    ("features", "What drives the model"),
    ("resampling", "What resampling does"),
    ("boundary", "Decision surfaces"),
    ("calibration", "Calibration"),
    ("anomaly", "Anomaly-detection fallback"),
    ("recommendations", "Recommendations"),
    ("appendix", "Appendix"),
)

TREND = ("trend", "Over time")
LEADERBOARD_DEFAULT = (("recall", "Recall"), ("precision", "Precision"), ("f1", "F1"))
LEADERBOARD_TUNED = (("recall", "Recall"), ("precision", "Precision"), ("f1", "F1"))


@dataclass(frozen=True)
class Cell:
    """A metric as three-decimal text and its interval text (``—`` and ``""`` where undefined)."""

    value: str
    ci: str


@dataclass(frozen=True)
class Section:
    id: str
    number: int
    title: str


@dataclass(frozen=True)
class KeyNumber:
    """One of the verdict band's three numbers, with what it means in rows."""

    name: str
    value: str
    ci: str
    note: str


@dataclass(frozen=True)
class VerdictView:
    headline: str
    sentence: str
    numbers: tuple[KeyNumber, ...]
    strategy: str | None
    colour: str | None
    paradox: str
    paradox_detail: str
    paradox_accuracy: str
    reason: str
    chance: str
    #: Why the figures are only indicative (few positives or events), else "".
    indicative: str = ""
    #: One sentence per score column: how the existing model stands against the recommendation.
    existing: tuple[str, ...] = ()
    #: The threshold to deploy, and what the figures beside it are.
    deployment: str = ""
    unstable: str = ""


@dataclass(frozen=True)
class DatasetView:
    rows_read: str
    rows_used: str
    rows_dropped: list[tuple[str, str]]
    target: str
    target_chosen_by: str
    positive_label: str
    negative_label: str
    class_counts: list[tuple[str, str, str]]
    prevalence: str
    imbalance_ratio: str
    numeric: list[str]
    categorical: list[str]
    dropped_columns: list[tuple[str, str]]
    dropped_more: int
    missing: list[tuple[str, str]]
    missing_more: int
    sha256: str
    sampling_rate: str | None
    #: Numeric columns of a few whole numbers: (column, how many values, the values, option).
    hints: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ProtocolView:
    rows: list[tuple[str, str]]
    notes: list[str]


@dataclass(frozen=True)
class LeaderboardRow:
    name: str
    label: str
    colour: str
    baseline: bool
    recommended: bool
    mark: str
    pr_auc: Cell
    roc_auc: Cell
    default: list[Cell]
    threshold: str
    threshold_spread: str
    tuned: list[Cell]
    brier: Cell
    notes: list[str]
    chance: str = ""  # "yes", "no", "worse than random"; "—" for the baseline
    chance_p: str = ""  # "p 0.001": the adjusted p-value


@dataclass(frozen=True)
class SkippedRow:
    label: str
    name: str
    reason: str | None
    colour: str


@dataclass(frozen=True)
class ComparisonRow:
    first: str
    second: str
    difference: str
    ci: str
    verdict: str  # "distinguishable" | "equivalent" | "undecided" | "indistinguishable"
    p_value: str = ""


@dataclass(frozen=True)
class LeaderboardView:
    default_columns: list[str]
    tuned_columns: list[str]
    rows: list[LeaderboardRow]
    skipped: list[tuple[str, str, str | None]]
    skipped_rows: list[SkippedRow]
    leader: str | None
    comparisons: list[ComparisonRow]
    corrections: list[ComparisonRow] = field(default_factory=list)
    margin: str = ""


@dataclass(frozen=True)
class ThresholdView:
    label: str
    threshold: str | None
    default: str | None
    spread: str | None
    default_cells: list[tuple[str, Cell]]
    tuned_cells: list[tuple[str, Cell]]
    scale: str
    deployed: str = ""
    unstable: str = ""


@dataclass(frozen=True)
class FoldsView:
    """The recommended strategy split by split, the spread, and the pooled figures."""

    label: str
    columns: list[str]
    rows: list[tuple[str, str, str, list[str]]]  # split, rows, positives, figures
    summary: list[tuple[str, list[str]]]  # mean, SD, range
    pooled: list[Cell]
    pooled_threshold: str
    text: str


@dataclass(frozen=True)
class WorkloadView:
    label: str
    sentence: str
    rows: list[tuple[str, str, str, str, str, str]]  # top share, rows, caught, precision, ...
    text: str


@dataclass(frozen=True)
class FeaturesView:
    label: str
    method: str
    caveat: str
    rows: list[tuple[str, str, str, str]]  # rank, feature, value, bar width in %
    permutation: list[tuple[str, str, str, str]]
    permutation_note: str
    skipped: str
    inputs: str


@dataclass(frozen=True)
class TrendView:
    """Period by period along the --time column: one row per period."""

    text: str
    columns: list[str]  # the subjects' labels (each has a PR-AUC and a recall column)
    rows: list[tuple[str, str, str, Cell, list[Cell]]]  # period, rows, positives, prevalence, …


@dataclass(frozen=True)
class CalibrationView:
    rows: list[tuple[str, Cell, Cell]]
    text: str


@dataclass(frozen=True)
class AnomalyView:
    ran: bool
    need: str
    reason: str | None = None
    cells: list[tuple[str, Cell]] = field(default_factory=list)
    versus: str | None = None
    threshold: str | None = None
    judgement: str = ""  # whether it beats chance, or ranks worse than random
    warns: bool = False  # the judgement is a warning (worse than random)


@dataclass(frozen=True)
class SegmentLine:
    """One group of a segment table: figures as cells, and what to make of them (``note``);
    ``lower`` when a figure is distinguishably below the rest."""

    value: str
    rows: str
    positives: str
    prevalence: str
    pr_auc: Cell
    recall: Cell
    precision: Cell
    note: str
    lower: bool
    other: bool
    #: The figures distinguishably below the rest, in words ("" when none).
    alert: str = ""


@dataclass(frozen=True)
class SegmentTableView:
    title: str
    column: str
    rows: list[SegmentLine]
    pooled: str


@dataclass(frozen=True)
class SegmentsView:
    """The segments section: what it shows, the flagged groups, one table per column and
    subject, and the caveat on the tests."""

    text: str
    flagged: list[str]
    tables: list[SegmentTableView]
    caveat: str
    absent: str
    tests: int = 0


@dataclass(frozen=True)
class ReportView:
    """Everything the templates print."""

    title: str
    source: str
    source_file: str
    version: str
    created: str | None
    sections: list[Section]
    number: dict[str, int]
    heading: dict[str, str]
    facts: str
    gates: list[dict[str, Any]]
    gates_failed: list[str]
    changes: Any  # ``compare.Changes`` or None
    verdict: VerdictView
    dataset: DatasetView
    protocol: ProtocolView
    leaderboard: LeaderboardView
    threshold: ThresholdView | None
    folds: FoldsView | None
    workload: WorkloadView | None
    features: FeaturesView | None
    trend: TrendView | None
    #: Why the per-fold, workload or features section is empty, by section id.
    absent: dict[str, str]
    calibration: CalibrationView
    anomaly: AnomalyView
    advice: list[dict[str, str]]
    warnings: list[str]
    config: list[tuple[str, str]]
    #: The data file's path as given, and the command line that reproduces the numbers.
    source_path: str
    command: str
    versions: list[tuple[str, str]]
    timings: list[tuple[str, str]] | None
    figures: dict[str, Any]
    #: Figures per segment (``--segment``), else ``None`` (no section).
    segments: SegmentsView | None = None


def cell(metric: Metric) -> Cell:
    """A metric as three-decimal text with its interval (``—`` where undefined)."""
    if metric.value is None:
        return Cell("—", "")
    ci = "" if metric.ci is None else f"[{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"
    return Cell(f"{metric.value:.3f}", ci)


def build_view(report: Report, figures: dict[str, Any]) -> ReportView:
    """Everything the templates print, formatted; ``figures`` are ``plots.Figure`` by section id."""
    results, verdict = report.results, report.verdict
    ds = results.dataset
    summary = ds.summary()
    recommended = results.strategy(verdict.recommended.strategy)
    # the paired comparisons start from the supervised leader (the recommendation rule's)
    compared_with = results.strategy(verdict.leader) if verdict.comparisons else None
    sections = list(SECTIONS)
    if report.changes is not None:
        sections.insert(1, ("changes", "Changes since the previous run"))
    if verdict.trend is not None:
        sections.insert(sections.index(("workload", "Workload at the threshold")) + 1, TREND)
    if verdict.segments is not None:
        at = next(i for i, (sid, _) in enumerate(sections) if sid == "workload") + 1
        sections.insert(at, ("segments", "Segments"))
    return ReportView(
        title=f"Class-imbalance report: {ds.source_name}",
        source=ds.source_name,
        source_file=ds.source_name.replace("\\", "/").rsplit("/", 1)[-1],
        version=report.tool_version,
        created=report.created,
        sections=[Section(sid, i + 1, title) for i, (sid, title) in enumerate(sections)],
        number={sid: i + 1 for i, (sid, _) in enumerate(sections)},
        heading=dict(sections),
        facts=(
            f"{ds.rows_used:,} rows · {ds.positives:,} positives ({ds.prevalence:.2%})"
            if ds.sampling_rate >= 1
            else f"{ds.rows_used:,} rows used (--sample) · {ds.positives:,} positives "
            f"({ds.prevalence:.2%} of the whole file)"
        ),
        gates=[g.to_dict() for g in report.gates],
        gates_failed=[g.message for g in report.gates if not g.passed],
        changes=report.changes,
        verdict=_verdict(report, recommended),
        dataset=DatasetView(
            rows_read=f"{ds.rows_read:,}",
            rows_used=f"{ds.rows_used:,}",
            rows_dropped=[(reason, f"{n:,}") for reason, n in ds.rows_dropped.items()],
            target=ds.target,
            target_chosen_by=ds.target_chosen_by,
            positive_label=ds.positive_label,
            negative_label=ds.negative_label,
            class_counts=[
                (label, f"{n:,}", f"{n / max(ds.rows_used, 1):.2%}")
                for label, n in ds.class_counts.items()
            ],
            prevalence=f"{ds.prevalence:.2%}",
            imbalance_ratio=f"{summary['imbalance_ratio']:.1f}",
            numeric=list(ds.numeric),
            categorical=list(ds.categorical),
            dropped_columns=list(ds.dropped_columns.items())[:LISTED_COLUMNS],
            dropped_more=max(len(ds.dropped_columns) - LISTED_COLUMNS, 0),
            missing=[(c, f"{n:,}") for c, n in ds.missing.items()][:LISTED_COLUMNS],
            missing_more=max(len(ds.missing) - LISTED_COLUMNS, 0),
            sha256=ds.sha256,
            sampling_rate=None if ds.sampling_rate >= 1 else f"{ds.sampling_rate:.2%}",
            hints=[
                (
                    column,
                    f"{len(values)}",
                    ", ".join(f"{v:g}" for v in values),
                    categorical_option(column),
                )
                for column, values in ds.integer_codes.items()
            ],
        ),
        protocol=_protocol(report),
        leaderboard=LeaderboardView(
            default_columns=[label for _, label in LEADERBOARD_DEFAULT],
            tuned_columns=[label for _, label in LEADERBOARD_TUNED],
            rows=[_leaderboard_row(results.strategy(name), report) for name in verdict.ranking],
            skipped=[(s.label, s.name, s.reason) for s in results.strategies if not s.ok],
            skipped_rows=[
                SkippedRow(s.label, s.name, s.reason, s.colour)
                for s in results.strategies
                if not s.ok
            ],
            leader=compared_with.label if compared_with else None,
            comparisons=[_comparison_row(results, c) for c in verdict.comparisons],
            corrections=[_comparison_row(results, c) for c in verdict.corrections],
            margin=f"{verdict.equivalence_margin:g}",
        ),
        threshold=_threshold(results.strategy(verdict.focus), verdict.deployment),
        folds=_folds(results, verdict.folds, verdict.recommended.threshold),
        workload=_workload(results, verdict.workload),
        features=_features(results, verdict.features),
        trend=_trend(results, verdict.trend),
        absent=_absent(report),
        calibration=_calibration(report),
        anomaly=_anomaly(report),
        advice=[a.to_dict() for a in report.advice],
        warnings=list(report.warnings),
        config=[(k, _config_value(k, v)) for k, v in report.config.to_dict().items()],
        source_path=ds.source_path or ds.source_name,
        command=_command_lines(report.command),
        versions=list(results.versions.items()),
        timings=_timings(results.timings) if report.config.output.timings else None,
        figures=figures,
        segments=_segments(results, verdict.segments),
    )


def _comparison_row(results: Results, c) -> ComparisonRow:
    if c.distinguishable:
        word = "distinguishable"
    elif c.equivalent:
        word = "equivalent"
    elif c.equivalent is False:
        word = "undecided"
    else:
        word = "indistinguishable"
    return ComparisonRow(
        first=results.label(c.first),
        second=results.label(c.second),
        difference=f"{c.difference:+.3f}",
        ci=f"[{c.ci[0]:+.3f}, {c.ci[1]:+.3f}]",
        verdict=word,
        p_value=f"{c.p_value:.3f}",
    )


def _verdict(report: Report, recommended: StrategyResult | None) -> VerdictView:
    results = report.results
    ds = results.dataset
    baseline = next((s for s in results.strategies if s.ok and spec_for(s.name).baseline), None)
    accuracy = (
        baseline.metrics["accuracy"].value
        if baseline is not None and baseline.metrics.get("accuracy") is not None
        else 1 - ds.prevalence
    )
    detail = (
        f"always predicting '{ds.negative_label}' scores accuracy {accuracy:.3f} yet finds none "
        f"of the {ds.positives:,} positives."
    )
    reason = report.verdict.recommended.reason
    deployment = report.verdict.deployment
    common = {
        "paradox": f"Accuracy misleads here: {detail}",
        "paradox_detail": detail[0].upper() + detail[1:],
        "paradox_accuracy": f"{accuracy:.1%}",
        "reason": reason,
        "chance": f"{ds.prevalence:.3f}",
        "indicative": report.verdict.indicative or "",
        "deployment": _deployment_text(deployment),
        "unstable": (deployment.unstable if deployment else None) or "",
    }
    common["existing"] = existing_sentences(results, report.verdict)
    scored = results.strategy(report.verdict.focus)
    if recommended is None and scored is not None and report.config.analysis.only_scores:
        test = report.verdict.chance.get(scored.name)
        beats = "beats chance" if test is not None and test.beats_chance else "does not beat chance"
        return VerdictView(
            headline=f"Existing model '{scored.name}' {beats}",
            sentence=reason,
            numbers=_key_numbers(scored, ds.prevalence),
            strategy=scored.name,
            colour=scored.colour,
            **common,
        )
    if recommended is None:
        return VerdictView(
            headline="No strategy beats chance on this data.",
            sentence=reason,
            numbers=(),
            strategy=None,
            colour=None,
            **common,
        )
    threshold = report.verdict.recommended.threshold
    threshold_text = "" if threshold is None else f" at threshold {threshold:.3f}"
    return VerdictView(
        headline=f"Recommended: {recommended.label}{threshold_text}",
        sentence=(
            f"{recommended.label} reaches PR-AUC {fmt(recommended.metrics['pr_auc'])} "
            f"(chance = prevalence {ds.prevalence:.3f}); at each fold's tuned threshold, recall "
            f"{fmt(recommended.metric('recall', True))} and precision "
            f"{fmt(recommended.metric('precision', True))} (the procedure's out-of-fold "
            f"estimate). {reason}"
        ),
        numbers=_key_numbers(recommended, ds.prevalence),
        strategy=recommended.name,
        colour=recommended.colour,
        **common,
    )


def _key_numbers(s: StrategyResult, prevalence: float) -> tuple[KeyNumber, ...]:
    """PR-AUC, recall and precision of the recommendation, each with what it means in rows."""
    c = s.tuned_confusion
    found = f"finds {c['tp']:,} of {c['tp'] + c['fn']:,} positives" if c else ""
    flagged = (
        f"{c['tp']:,} of {c['tp'] + c['fp']:,} flagged rows are positive; each fold at its tuned "
        "threshold"
        if c
        else ""
    )
    rows = (
        ("PR-AUC", cell(s.metrics["pr_auc"]), f"chance level {prevalence:.3f}"),
        ("Recall", cell(s.metric("recall", True)), f"{found}; each fold at its tuned threshold"),
        ("Precision", cell(s.metric("precision", True)), flagged),
    )
    return tuple(KeyNumber(name, c.value, c.ci, note) for name, c, note in rows)


def _protocol(report: Report) -> ProtocolView:
    p = report.results.protocol
    only = (
        "Score columns only (--only-scores): nothing was fitted; each split's threshold was "
        "tuned on the scores of its training rows and applied to its held-out rows. "
        if report.config.analysis.only_scores
        else ""
    )
    if p.ordered_by and p.kind == "cv":
        how = (
            f"{p.folds} forward-chaining fold{'s' if p.folds != 1 else ''} along "
            f"'{p.ordered_by}' (expanding window): each of the {p.evaluated_rows:,} evaluated "
            "rows is scored by a model that learned only from earlier rows; the earliest block "
            "is only learned from."
        )
    elif p.ordered_by:
        how = (
            f"A time holdout along '{p.ordered_by}': the latest {p.test_fraction:.0%} of the rows "
            f"({p.evaluated_rows:,}) are evaluated by models that learned from the earlier ones."
        )
    elif p.kind == "cv":
        how = (
            f"Stratified {'group ' if p.grouped_by else ''}{p.folds}-fold cross-validation"
            + (f", repeated {p.repeats} times" if p.repeats and p.repeats > 1 else "")
            + f"; every one of the {p.evaluated_rows:,} rows is scored once per repeat by a model "
            "that never saw it."
        )
    else:
        how = (
            f"A single stratified {'group ' if p.grouped_by else ''}holdout split: "
            f"{1 - p.test_fraction:.0%} training, {p.test_fraction:.0%} test; the figures are on "
            f"the {p.evaluated_rows:,} test rows."
        )
    how = only + how
    if p.grouped_by:
        how += (
            f" Rows were kept together by {p.grouped_by}: no group is both learned from and "
            "evaluated, in the outer splits and in threshold tuning."
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
    if any(spec_for(s.name).family == "linear" for s in report.results.strategies):
        items.append(
            (
                "Linear models",
                "Logistic regressions see standardized features (scaled inside the pipeline).",
            )
        )
    return ProtocolView(items, list(p.notes))


def _leaderboard_row(s: StrategyResult, report: Report) -> LeaderboardRow:
    verdict = report.verdict
    mark = ""
    against = {c.second: c for c in verdict.comparisons if c.first == verdict.leader}
    if s.name == verdict.top:
        mark = "highest PR-AUC"
    elif s.name in against and against[s.name].equivalent:
        mark = "equivalent to the leader"
    elif s.name in against and not against[s.name].distinguishable:
        mark = "undecided against the leader"
    spread = s.threshold_spread
    return LeaderboardRow(
        name=s.name,
        label=s.label,
        colour=s.colour,
        baseline=spec_for(s.name).baseline,
        recommended=s.name == verdict.recommended.strategy,
        mark=mark,
        pr_auc=cell(s.metrics["pr_auc"]),
        roc_auc=cell(s.metrics["roc_auc"]),
        default=[cell(s.metric(k)) for k, _ in LEADERBOARD_DEFAULT],
        threshold="—" if s.threshold is None else f"{s.threshold:.3f}",
        threshold_spread=(
            ""
            if spread is None or len(s.fold_thresholds) < 2
            else f"{spread[0]:.3f}–{spread[1]:.3f}"
        ),
        tuned=[cell(s.metric(k, True)) for k, _ in LEADERBOARD_TUNED],
        brier=cell(s.metrics["brier"]),
        notes=list(s.notes),
        chance=_chance_cell(verdict.chance.get(s.name)),
        chance_p="" if s.name not in verdict.chance else f"p {verdict.chance[s.name].adjusted:.3f}",
    )


def _chance_cell(test) -> str:
    if test is None:
        return "—"
    if test.beats_chance:
        return "yes"
    return "worse than random" if test.worse_than_random else "no"


def _deployment_text(deployment) -> str:
    """The threshold to deploy and the figures measured at it, in one sentence."""
    if deployment is None or deployment.threshold is None:
        return ""
    at = deployment.at_threshold
    measured = "; ".join(f"{key} {fmt(m)}" for key, m in at.items())
    spread = (
        f" (the folds' own tuned thresholds ranged from {deployment.fold_range[0]:.3f} to "
        f"{deployment.fold_range[1]:.3f})"
        if deployment.fold_range
        else ""
    )
    if not at:
        return (
            f"Threshold to deploy: {deployment.threshold:.3f}, the median of the folds' tuned "
            f"thresholds{spread} (tuning on all rows did not succeed)."
        )
    return (
        f"Threshold to deploy: {deployment.threshold:.3f}, tuned on all rows by the same "
        f"procedure{spread}. At {deployment.threshold:.3f}, the pooled out-of-fold scores give "
        f"{measured}; these rows also chose the threshold, so read them as optimistic (the "
        "estimates above, each fold at its own threshold, are not)."
    )


def _threshold(focus: StrategyResult | None, deployment) -> ThresholdView | None:
    if focus is None:
        return None
    spread = focus.threshold_spread
    deployed = deployment if deployment is not None and deployment.strategy == focus.name else None
    return ThresholdView(
        label=focus.label,
        threshold=None if focus.threshold is None else f"{focus.threshold:.3f}",
        deployed=_deployment_text(deployed),
        unstable=(deployed.unstable if deployed else None) or "",
        default=None if focus.default_threshold is None else f"{focus.default_threshold:.3f}",
        spread=None
        if spread is None or len(focus.fold_thresholds) < 2
        else f"{spread[0]:.3f} to {spread[1]:.3f} across {len(focus.fold_thresholds)} folds",
        default_cells=[(label, cell(focus.metric(k))) for k, label in LEADERBOARD_DEFAULT],
        tuned_cells=[(label, cell(focus.metric(k, True))) for k, label in LEADERBOARD_DEFAULT],
        scale=focus.score_kind,
    )


def _absent(report: Report) -> dict[str, str]:
    """Why each of the review sections may be empty, in words."""
    verdict = report.verdict
    if verdict.recommended.strategy is None:
        return {
            "folds": "Nothing is recommended, so there is no strategy to show fold by fold.",
            "workload": "Nothing is recommended, so there is no threshold to put to work.",
            "features": "Nothing is recommended, so there is no model to look inside.",
        }
    single = report.results.protocol.kind != "cv" or (report.results.protocol.folds or 0) < 2
    return {
        "folds": "A single holdout split was evaluated: there are no folds to compare."
        if single
        else "The per-fold figures were not kept for this report.",
        "workload": "The out-of-fold scores were not kept for this report.",
        "features": "The model fitted on all rows was not kept for this report.",
    }


def _trend(results: Results, trend) -> TrendView | None:
    """The table of the periods along the --time column."""
    if trend is None or not trend.periods:
        return None
    subjects = [results.strategy(name) for name in trend.subjects]
    columns = [s.label for s in subjects]
    rows = [
        (
            p.label,
            f"{p.rows:,}",
            f"{p.positives:,}",
            cell(p.prevalence),
            [
                cell(p.figures[s.name].get(key, Metric(None)))
                for s in subjects
                for key in ("pr_auc", "recall")
            ],
        )
        for p in trend.periods
    ]
    few = [p.label for p in trend.periods if p.positives < FEW_POSITIVES]
    text = (
        f"The evaluated rows in the order of '{trend.column}', cut into {len(trend.periods)} "
        "periods; every row was scored by a model that learned only from earlier rows, and "
        "decided at the threshold tuned inside those earlier rows. A falling PR-AUC or recall "
        "with a steady prevalence means the model ages; a moving prevalence changes precision "
        "even for a model that does not."
    )
    if few:
        text += (
            f" {len(few)} of the periods hold fewer than {FEW_POSITIVES} positives: their "
            "intervals are wide, so compare periods by their intervals, not their points."
        )
    return TrendView(text, columns, rows)


def existing_sentences(results: Results, verdict) -> tuple[str, ...]:
    """One sentence per score column: its PR-AUC, and how it stands against the recommended
    strategy (or, with only score columns, the best of them), from the paired comparison."""
    out = []
    for c in verdict.existing:
        mine, theirs = results.strategy(c.second), results.strategy(c.first)
        # the comparison is reference − score column; the sentence speaks of the score column
        gap = (
            f"{mine.name} − {theirs.name}: {-c.difference:+.3f} [{-c.ci[1]:+.3f}, {-c.ci[0]:+.3f}]"
        )
        if c.distinguishable:
            standing = (
                f"{theirs.label} is distinguishably better ({gap}, Holm-adjusted p = "
                f"{c.p_value:.3f})"
                if c.difference > 0
                else f"it is distinguishably better than {theirs.label} ({gap}, Holm-adjusted "
                f"p = {c.p_value:.3f})"
            )
        elif c.equivalent:
            standing = f"shown practically equivalent to {theirs.label} ({gap})"
        else:
            standing = f"the data cannot tell it apart from {theirs.label} ({gap})"
        out.append(
            f"Existing model '{mine.name}': PR-AUC {fmt(mine.metrics['pr_auc'])}; {standing}."
        )
    return tuple(out)


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _folds(results: Results, folds: FoldFigures | None, deployed: float | None):
    """The per-fold table of the recommended strategy, with the spread and pooled figures."""
    chosen = results.strategy(folds.strategy) if folds is not None else None
    if chosen is None:
        return None
    keys = ("pr_auc", "recall", "precision", "threshold")
    repeated = any(row.repeat for row in folds.rows)
    rows = [
        (
            f"{row.repeat + 1}.{row.fold + 1}" if repeated else f"{row.fold + 1}",
            f"{row.rows:,}",
            f"{row.positives:,}",
            [_number(getattr(row, key)) for key in keys],
        )
        for row in folds.rows
    ]
    spread = [folds.spread[key] for key in keys]
    summary = [
        ("mean", [_number(s.mean) for s in spread]),
        ("SD", [_number(s.sd) for s in spread]),
        (
            "range",
            ["—" if s.low is None else f"{s.low:.3f}–{s.high:.3f}" for s in spread],
        ),
    ]
    pr_auc = folds.spread["pr_auc"]
    text = (
        f"Each split's own figures for {chosen.label}: its model, fitted on the other folds, "
        "scores its held-out rows, and recall and precision are at the threshold tuned inside "
        "its training part. The pooled row is the leaderboard's: every held-out row scored "
        "together, with its 95% interval. "
    )
    if pr_auc.low is not None and pr_auc.high is not None:
        size = int(np.median([row.rows for row in folds.rows]))
        positives = int(np.median([row.positives for row in folds.rows]))
        text += (
            f"PR-AUC ranged from {pr_auc.low:.3f} to {pr_auc.high:.3f} across the "
            f"{len(folds.rows)} splits: on a new batch of about {size:,} rows, expect a figure "
            "anywhere in a range like that."
            if positives >= FEW_FOLD_POSITIVES
            else f"PR-AUC ranged from {pr_auc.low:.3f} to {pr_auc.high:.3f} across the "
            f"{len(folds.rows)} splits, but each split held only about {positives} positives, "
            "too few for the spread to show what a new batch may bring: read the pooled 95% "
            "interval instead."
        )
    return FoldsView(
        label=chosen.label,
        columns=["PR-AUC", "Recall", "Precision", "Threshold"],
        rows=rows,
        summary=summary,
        pooled=[
            cell(chosen.metrics["pr_auc"]),
            cell(chosen.metric("recall", True)),
            cell(chosen.metric("precision", True)),
        ],
        pooled_threshold="—" if deployed is None else f"{deployed:.3f} (to deploy)",
        text=text,
    )


def _workload(results: Results, work: Workload | None) -> WorkloadView | None:
    """What the threshold and the top scores mean in flagged rows, in words and a table."""
    chosen = results.strategy(work.strategy) if work is not None else None
    if chosen is None:
        return None
    if work.flagged is None or work.per_1000 is None:
        sentence = f"{chosen.label} has no threshold to deploy; the table ranks rows by score."
    else:
        interval = (
            ""
            if work.per_1000_ci is None
            else f" (95% interval {work.per_1000_ci[0]:.0f}–{work.per_1000_ci[1]:.0f})"
        )
        false_alarms = work.flagged - work.caught
        sentence = (
            f"At the threshold to deploy, {work.threshold:.3f}, {chosen.label} flags "
            f"{work.flagged:,} of the {work.rows:,} evaluated rows: {work.per_1000:.1f} per "
            f"1,000{interval}. {work.caught:,} of them are positives (of {work.positives:,}) "
            f"and {false_alarms:,} false alarms: {_checked_per_find(work.caught, work.flagged)}. "
            "These are the out-of-fold scores of the folds' models; the model fitted on all rows "
            "may score a little differently, so watch the flagged share when it goes live."
        )
    rows = [
        (
            f"top {t.share:.0%}",
            f"{t.rows:,}",
            f"{t.positives:,}",
            _number(t.precision),
            _number(t.recall),
            _number(t.cut, 4),
        )
        for t in work.top
    ]
    first = "; the first repeat" if (results.protocol.repeats or 1) > 1 else ""
    text = (
        "If a team can only check a fixed share of rows, rank them by score: this is what the "
        "highest-scored rows held, out of fold (each row scored by a model that never saw it"
        f"{first}). Rows tied at the lowest score taken are all counted, so a share can hold "
        "more rows than it names."
    )
    if results.dataset.sampling_rate < 1:
        text += " Under --sample, rows count the negatives each kept negative stands for."
    return WorkloadView(chosen.label, sentence, rows, text)


def _checked_per_find(caught: int, flagged: int) -> str:
    if flagged == 0:
        return "nothing is flagged"
    if caught == 0:
        return "checking the flagged rows finds no positive"
    return f"{flagged / caught:.1f} flagged rows checked per positive found"


def _features(results: Results, found: FeatureImportance | None) -> FeaturesView | None:
    """The top inputs of the recommended model, with their bars scaled to the largest."""
    chosen = results.strategy(found.strategy) if found is not None else None
    if chosen is None:
        return None
    method = {
        "standardised coefficient": (
            "Standardised coefficients of the logistic regression fitted on all rows: the change "
            "in log-odds for one standard deviation of the input (for a one-hot input, of its "
            "0/1 column). Positive raises the score."
        ),
        "share of the total gain": (
            "Each input's share of the total gain of XGBoost's splits, in the model fitted on "
            "all rows: how much the trees' fit improved on splits of that input."
        ),
    }.get(found.method or "", "")

    def rows(weights, signed: bool):
        largest = max((abs(w.value) for w in weights), default=0.0) or 1.0
        return [
            (
                f"{i}",
                w.feature,
                f"{w.value:+.3f}" if signed else f"{w.value:.3f}",
                f"{100 * abs(w.value) / largest:.0f}",
            )
            for i, w in enumerate(weights, start=1)
        ]

    shown = len(found.weights)
    return FeaturesView(
        label=chosen.label,
        method=method,
        caveat=found.caveat,
        rows=rows(found.weights, found.method == "standardised coefficient"),
        permutation=rows(found.permutation, signed=True),
        permutation_note=found.permutation_note,
        skipped=found.skipped or "",
        inputs=(
            f"the top {shown} of {found.inputs} model inputs"
            if found.inputs > shown
            else f"all {found.inputs} model inputs"
        ),
    )


def _calibration(report: Report) -> CalibrationView:
    results = report.results
    rows = [
        (s.label, cell(s.metrics["brier"]), cell(s.metric("log_loss")))
        for s in results.strategies
        if s.ok and s.metric("brier").value is not None
    ]
    distorted = [results.label(name) for name in report.verdict.distorted]
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
    return CalibrationView(rows, text)


def _anomaly(report: Report) -> AnomalyView:
    results, verdict = report.results, report.verdict
    ds = results.dataset
    need = (
        f"With {ds.positives:,} positives (prevalence {ds.prevalence:.2%}), the minority class is "
        + (
            "tiny: an anomaly detector trained on the majority class is an honest baseline."
            if verdict.extreme_imbalance
            else "large enough for supervised learning; the anomaly detector is shown for "
            "comparison."
        )
    )
    detector = next((s for s in results.strategies if spec_for(s.name).anomaly), None)
    if detector is None or not detector.ok:
        return AnomalyView(
            ran=False,
            need=need,
            reason=detector.reason if detector else "not selected (--strategies)",
        )
    leader = results.strategy(verdict.leader)
    return AnomalyView(
        ran=True,
        need=need,
        cells=[
            ("PR-AUC", cell(detector.metrics["pr_auc"])),
            ("ROC-AUC", cell(detector.metrics["roc_auc"])),
            ("Recall (tuned)", cell(detector.metric("recall", True))),
            ("Precision (tuned)", cell(detector.metric("precision", True))),
        ],
        versus=None
        if leader is None
        else f"{leader.label}: PR-AUC {fmt(leader.metrics['pr_auc'])}",
        judgement=_anomaly_judgement(detector, verdict.chance.get(detector.name), ds.prevalence),
        warns=bool(
            verdict.chance.get(detector.name) and verdict.chance[detector.name].worse_than_random
        ),
        threshold=None if detector.threshold is None else f"{detector.threshold:.3f}",
    )


def _anomaly_judgement(detector: StrategyResult, test, prevalence: float) -> str:
    if test is None:
        return ""
    if test.worse_than_random:
        return (
            f"It ranks the positives worse than random (ROC-AUC {fmt(detector.metrics['roc_auc'])}, "
            f"or PR-AUC below the prevalence {prevalence:.3f}): the positives do not look like "
            "outliers of the majority here. Do not use it, not even as a baseline."
        )
    if test.beats_chance:
        return f"It beats chance (adjusted p = {test.adjusted:.3f})."
    return f"It does not beat chance (adjusted p = {test.adjusted:.2f})."


def _segments(results: Results, found: Segments | None) -> SegmentsView | None:
    """The segments section: one table per segment column and subject (the recommended
    strategy, each score column), each group's figures and what to make of them."""
    if found is None:
        return None
    tables = []
    for table in found.tables:
        subject = results.label(table.strategy)
        # a score column's label already says what it is
        role = "" if table.existing else ", recommended" if table.recommended else ", strategy"
        binning = "" if table.binning == "values" else f", {table.binning}"
        pooled = (
            f"Only the {len(table.rows) - 1} largest groups are shown one by one; the "
            f"{table.pooled_values} others are pooled in the last row, which is not tested."
            if table.pooled_values
            else ""
        )
        tables.append(
            SegmentTableView(
                title=f"{table.column}{binning} — {subject}{role}",
                column=table.column,
                rows=[_segment_line(row) for row in table.rows],
                pooled=pooled,
            )
        )
    tested = found.tests
    text = (
        "The evaluated rows split by each --segment column: rows, positives and prevalence of "
        "each group, PR-AUC ranked within the group, and recall and precision with every row "
        "decided at the threshold tuned inside its own split's training part (the "
        "leaderboard's out-of-sample decisions), each with its 95% interval. A group is "
        "flagged when its recall or precision is distinguishably below that of all other "
        f"rows: a one-sided Fisher exact test, Holm-adjusted over the {tested} test"
        f"{'' if tested == 1 else 's'} of this run (family-wise error 5%). Groups with fewer "
        "than 30 positives are called small: their intervals are wide and they are flagged "
        "only on the evidence of their counts. A figure resting on fewer than 10 positives "
        "(flagged rows, for precision) is not measurable with confidence and is not tested."
    )
    if (results.protocol.repeats or 1) > 1:
        text += " The figures are those of the first repeat."
    return SegmentsView(
        text=text,
        flagged=list(found.flagged),
        tables=tables,
        caveat=found.caveat,
        absent=found.absent or "",
        tests=tested,
    )


def _segment_line(row) -> SegmentLine:
    alerts, notes = [], []
    for key in ("recall", "precision"):
        test = row.tests.get(key)
        if test is not None and test.lower:
            alerts.append(f"{key} lower than the rest (adjusted p {_p_value(test.adjusted)})")
    if row.other:
        notes.append("pooled, not tested")
    elif row.size == "tiny":
        notes.append("tiny: too few positives to measure with confidence")
    else:
        if row.size == "small":
            notes.append("small: wide intervals")
        if not row.measurable.get("precision", True):
            notes.append(
                f"precision rests on {row.flagged_rows} flagged row"
                f"{'' if row.flagged_rows == 1 else 's'}: not measurable"
            )
    return SegmentLine(
        value=row.value,
        rows=f"{row.rows:,}",
        positives=f"{row.positives:,}",
        prevalence="—" if row.prevalence is None else f"{row.prevalence:.2%}",
        pr_auc=cell(row.pr_auc),
        recall=cell(row.recall),
        precision=cell(row.precision),
        note="; ".join(notes),
        lower=bool(row.lower),
        other=row.other,
        alert="; ".join(alerts),
    )


def _p_value(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


#: How an unset option reads in the configuration table, by option.
UNSET = {
    "target": "found by name",
    "positive_label": "the minority class",
    "strategies": "all",
    "holdout": "off (cross-validation)",
    "cost_fp": "none",
    "cost_fn": "none",
    "sample": "off (every row)",
    "encoding": "UTF-8, else Latin-1",
    "sep": "sniffed",
    "groups": "none",
    "categorical": "none",
}


#: Below this many positives per split, the folds' spread says little about a new batch.
FEW_FOLD_POSITIVES = 30

#: The timings' keys in words.
TIMING_NAMES = {
    "load_seconds": "reading the data",
    "fit_seconds": "fitting every strategy on every split",
    "measure_seconds": "measuring (intervals, chance tests)",
    "evaluate_seconds": "evaluation in all",
    "illustrate_seconds": "2-D illustrations",
    "strategies": "fitting",
}


def _command_lines(command: str) -> str:
    """The command one option per line with ``\\`` continuations: a narrow page then never breaks
    a line inside an option or a value, and the copied text still runs in a shell."""
    import shlex

    words = shlex.split(command)
    lines, current = [], [shlex.quote(w) for w in words[:3]]
    for word in words[3:]:
        if word.startswith("--"):
            lines.append(" ".join(current))
            current = ["  " + word]
        else:
            current.append(shlex.quote(word))
    lines.append(" ".join(current))
    return " \\\n".join(lines)


def _config_value(name: str, value) -> str:
    """An option's value in words: yes/no, 'all cores', sizes in units, what an unset one means."""
    if value is None or value == []:
        return UNSET.get(name, "—")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "n_jobs" and value in (-1, 0):
        return "all cores"
    if name == "max_input_size":
        return format_size(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _timings(timings: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in timings.items():
        name = TIMING_NAMES.get(key, key)
        if isinstance(value, dict):
            rows.extend((f"{name}: {k}", f"{v:.2f} s") for k, v in value.items())
        else:
            rows.append((name, f"{value:.2f} s"))
    return rows
