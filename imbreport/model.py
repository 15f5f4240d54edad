"""The plain values that flow through imbreport: Dataset → Results → Verdict → Report.

Frozen dataclasses holding numbers, arrays and strings only: no plotting, no templates, no I/O.
``Report.to_dict()`` is the JSON contract for audit jobs (see ``schema.json``). The options are
in ``options.py``; writing a report to a file is the Face's job (``api.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imbreport.options import Config, command_line
from imbreport.registry import (
    METRIC_KEYS,  # noqa: F401  (re-exported: the metric names)
    colour,
)

SCHEMA_VERSION = "1.3"

#: How "beats chance" is tested (the JSON's ``chance.method``).
CHANCE_METHOD = (
    "label-permutation test of each strategy's PR-AUC and ROC-AUC on the evaluated rows; every "
    "strategy scored on the same permutations; family-wise error over all strategies and both "
    "figures held by the min-p procedure (Westfall & Young)"
)
#: Metrics that do not depend on a threshold.
THRESHOLD_FREE = ("pr_auc", "roc_auc", "brier", "log_loss")
#: Metrics where lower is better.
LOWER_IS_BETTER = ("brier", "log_loss")


@dataclass(frozen=True)
class RoleColumns:
    """Columns with a role other than feature (``columns.py`` reads them): a model's scores,
    segments and time order, one value per row of the dataset."""

    scores: dict[str, np.ndarray] = field(default_factory=dict)  # column → float scores
    score_kinds: dict[str, str] = field(default_factory=dict)  # "probability" | "score"
    segments: dict[str, np.ndarray] = field(default_factory=dict)  # column → label per row
    segment_kinds: dict[str, str] = field(default_factory=dict)  # column → how it was binned
    time: np.ndarray | None = None  # float64 order key (nanoseconds for dates)
    time_kind: str | None = None  # "date" | "number"
    time_column: str | None = None

    def take(self, rows: np.ndarray) -> RoleColumns:
        """The same columns for the rows ``rows`` only (``--sample``)."""
        return RoleColumns(
            {c: v[rows] for c, v in self.scores.items()},
            dict(self.score_kinds),
            {c: v[rows] for c, v in self.segments.items()},
            dict(self.segment_kinds),
            None if self.time is None else self.time[rows],
            self.time_kind,
            self.time_column,
        )


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset: features, a 0/1 target, and the bookkeeping of what was dropped."""

    X: Any  # pandas.DataFrame of the feature columns actually used
    y: np.ndarray  # 1 = positive class
    source_name: str
    target: str
    target_chosen_by: str
    positive_label: str
    negative_label: str
    class_counts: dict[str, int]
    rows_read: int
    rows_dropped: dict[str, int]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped_columns: dict[str, str]
    missing: dict[str, int]
    sha256: str
    warnings: tuple[str, ...] = ()
    sampling_rate: float = 1.0  # fraction of negatives kept by --sample
    #: Rows that must stay in one fold (copies of a feature row, or a --groups value): a group
    #: number per row, or ``None`` when every row stands alone.
    group_ids: np.ndarray | None = None
    group_column: str | None = None
    duplicate_rows: int = 0  # rows whose features repeat an earlier row's exactly
    conflicting_copies: int = 0  # sets of identical feature rows with both labels
    #: Numeric columns holding a few whole numbers (codes, perhaps): column → its values.
    integer_codes: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: The data file's path as given on the command line (the title shows only its name).
    source_path: str | None = None
    roles: RoleColumns = field(default_factory=lambda: RoleColumns())

    @property
    def rows_used(self) -> int:
        return int(len(self.y))

    @property
    def positives(self) -> int:
        return int(self.y.sum())

    @property
    def represented_negatives(self) -> float:
        """The negatives the used rows stand for: with ``--sample``, those of the whole file."""
        return (self.rows_used - self.positives) / self.sampling_rate

    def describe_positives(self) -> str:
        """ "2,000 of 200,000 rows (1.00%)", and the whole file's prevalence after ``--sample``."""
        text = f"{self.positives:,} of {self.rows_used:,} rows"
        if self.sampling_rate >= 1:
            return f"{text} ({self.prevalence:.2%})"
        return f"{text} after --sample; {self.prevalence:.2%} of the whole file"

    @property
    def prevalence(self) -> float:
        """The share of positives in the data the metrics describe (the whole file when
        ``--sample`` kept only some negatives; the chance level of PR-AUC)."""
        return self.positives / max(self.positives + self.represented_negatives, 1)

    def summary(self) -> dict[str, Any]:
        """The JSON ``dataset`` block."""
        return {
            "source": self.source_name,
            "path": self.source_path,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_dropped": dict(self.rows_dropped),
            "target": self.target,
            "target_chosen_by": self.target_chosen_by,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "class_counts": dict(self.class_counts),
            "positives": self.positives,
            "negatives": self.rows_used - self.positives,
            "prevalence": rounded(self.prevalence),
            "imbalance_ratio": rounded(self.represented_negatives / max(self.positives, 1)),
            "features": {"numeric": list(self.numeric), "categorical": list(self.categorical)},
            "dropped_columns": dict(self.dropped_columns),
            "missing_values": dict(self.missing),
            "sampling_rate": rounded(self.sampling_rate),
            "duplicate_rows": self.duplicate_rows,
            "conflicting_copies": self.conflicting_copies,
            "groups_column": self.group_column,
            "hints": [
                {
                    "column": column,
                    "distinct_values": len(values),
                    "option": categorical_option(column),
                }
                for column, values in self.integer_codes.items()
            ],
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Metric:
    """A metric value with its 95% interval (``ci`` is ``None`` where it is undefined)."""

    value: float | None
    ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": rounded(self.value),
            "ci": None if self.ci is None else [rounded(self.ci[0]), rounded(self.ci[1])],
        }


def fmt(metric: Metric) -> str:
    """``0.512 [0.470, 0.551]`` — a metric with its interval, three decimals."""
    if metric.value is None:
        return "n/a"
    if metric.ci is None:
        return f"{metric.value:.3f}"
    return f"{metric.value:.3f} [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"


@dataclass(frozen=True)
class StrategyResult:
    """What one strategy achieved under the protocol, or why it was skipped."""

    name: str
    label: str
    description: str
    status: str  # "ok" | "skipped"
    reason: str | None = None
    score_kind: str = "probability"  # "probability" | "anomaly score" | "constant"
    metrics: dict[str, Metric] = field(default_factory=dict)
    tuned_metrics: dict[str, Metric] = field(default_factory=dict)
    threshold: float | None = None
    default_threshold: float | None = None
    fold_thresholds: tuple[float, ...] = ()
    confusion: dict[str, int] = field(default_factory=dict)
    tuned_confusion: dict[str, int] = field(default_factory=dict)
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    #: A score column's entry (``--score``): the column it reads, and its colour.
    column: str | None = None
    hue: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def colour(self) -> str:
        """Its fixed colour in every figure and table."""
        return self.hue or colour(self.name)

    @property
    def existing(self) -> bool:
        """An existing model's scores (``--score``), not a strategy fitted here."""
        return self.column is not None

    @property
    def threshold_spread(self) -> tuple[float, float] | None:
        if not self.fold_thresholds:
            return None
        return (min(self.fold_thresholds), max(self.fold_thresholds))

    def metric(self, key: str, tuned: bool = False) -> Metric:
        table = self.tuned_metrics if tuned else self.metrics
        return table.get(key, Metric(None))

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        spread = self.threshold_spread
        out = {
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "reason": self.reason,
            "score_kind": self.score_kind,
            "column": self.column,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "threshold": {
                "value": rounded(self.threshold),
                "default": rounded(self.default_threshold),
                "spread": None if spread is None else [rounded(spread[0]), rounded(spread[1])],
                "per_fold": [rounded(t) for t in self.fold_thresholds],
            },
            "tuned_metrics": {k: m.to_dict() for k, m in self.tuned_metrics.items()},
            "confusion_matrix": dict(self.confusion),
            "tuned_confusion_matrix": dict(self.tuned_confusion),
            "curves": self.curves,
            "notes": list(self.notes),
        }
        return out


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two strategies on the same rows: the difference ``first − second``,
    its 95% interval (paired bootstrap, widened by the per-split spread), and whether it is
    distinguishable from zero after Holm's adjustment over the comparisons made."""

    metric: str
    first: str
    second: str
    difference: float
    ci: tuple[float, float]
    p_value: float = 1.0  # Holm-adjusted, two-sided
    distinguishable: bool = False
    #: Shown practically equivalent (90% interval inside ± the margin), when that was asked.
    equivalent: bool | None = None

    @property
    def indistinguishable(self) -> bool:
        return not self.distinguishable

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "first": self.first,
            "second": self.second,
            "difference": rounded(self.difference),
            "ci": [rounded(self.ci[0]), rounded(self.ci[1])],
            "indistinguishable": self.indistinguishable,
            "p_value_adjusted": rounded(self.p_value),
            "equivalent": self.equivalent,
        }


@dataclass(frozen=True)
class ChanceTest:
    """Whether one strategy ranks positives better than chance, family-wise error controlled."""

    p_value: float  # its own permutation p-value
    adjusted: float  # adjusted over every strategy tested (max-statistic)
    beats_chance: bool
    worse_than_random: bool = False  # ROC-AUC interval below 0.5 or PR-AUC below prevalence

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_value": rounded(self.p_value),
            "p_value_adjusted": rounded(self.adjusted),
            "beats_chance": self.beats_chance,
            "worse_than_random": self.worse_than_random,
        }


@dataclass(frozen=True)
class Protocol:
    """How the strategies were evaluated."""

    kind: str  # "cv" | "holdout"
    folds: int | None
    repeats: int | None
    test_fraction: float | None
    seed: int
    threshold_objective: str
    inner_folds: int
    interval_method: str
    bootstrap: int
    evaluated_rows: int
    notes: tuple[str, ...] = ()
    threshold_tuning: str = ""  # how thresholds were tuned inside the training part, in words
    #: What the splits kept whole, in words ("identical feature rows", "the 'customer' column"),
    #: or ``None`` when rows were split one by one.
    grouped_by: str | None = None
    #: The metric at the tuned threshold the objective maximises (``None``: a cost); not in JSON.
    tuned_metric: str | None = None
    #: The ``--time`` column the splits follow (``None``: random stratified splits).
    ordered_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "folds": self.folds,
            "repeats": self.repeats,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "threshold_objective": self.threshold_objective,
            "inner_folds": self.inner_folds,
            "interval_method": self.interval_method,
            "bootstrap_resamples": self.bootstrap,
            "evaluated_rows": self.evaluated_rows,
            "threshold_tuning": self.threshold_tuning,
            "grouped_by": self.grouped_by,
            "ordered_by": self.ordered_by,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Recommended:
    strategy: str | None
    threshold: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "threshold": rounded(self.threshold),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Illustration:
    """Two-dimensional pictures of the data: SMOTE before/after and probability surfaces.

    ``axes`` names the two axes (raw feature names, or principal components).
    Arrays are already subsampled for drawing.
    """

    axes: tuple[str, str]
    projected: bool
    points: np.ndarray  # (n, 2) training rows shown
    labels: np.ndarray  # 0/1 per point
    synthetic: np.ndarray  # (m, 2) rows SMOTE created (may be empty)
    grid_x: np.ndarray
    grid_y: np.ndarray
    surfaces: dict[str, np.ndarray]  # strategy name → probability grid
    note: str = ""
    synthetic_total: int = 0  # rows SMOTE created (``synthetic`` holds a sample of them)


@dataclass(frozen=True)
class Draws:
    """The paired resampling draws the judgements rest on (not part of the JSON).

    ``bootstrap``: strategy → metric → its bootstrap distribution, the same resamples for every
    strategy (PR-AUC and ROC-AUC threshold-free; recall, precision and F1 at the tuned
    thresholds). ``chance_null``: strategy → {"pr_auc", "roc_auc"} → its figure under label
    permutations of the evaluated rows, the same permutations for every strategy. ``fold_values``: strategy → metric
    → each split's own figure (with its tuned threshold, held-out rows and positives, repeat
    and fold beside them, under "threshold", "rows", "positives", "repeat" and "fold"). ``test_share``: held-out rows per training row of a split.
    """

    bootstrap: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    chance_null: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    fold_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    test_share: float = 0.25
    #: strategy → its out-of-fold scores of the evaluated rows (the first repeat), and their labels
    pooled_scores: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None
    #: strategy → its out-of-fold decisions at each split's tuned threshold (the first repeat)
    pooled_decisions: dict[str, np.ndarray] = field(default_factory=dict)
    #: the dataset row of each evaluated column, and the weight of each evaluated negative
    rows: np.ndarray | None = None
    negative_weight: float = 1.0


@dataclass(frozen=True)
class Results:
    """The evaluation engine's output: what every strategy measured, and nothing judged yet."""

    dataset: Dataset
    protocol: Protocol
    strategies: tuple[StrategyResult, ...]
    warnings: tuple[str, ...]
    versions: dict[str, str]
    timings: dict[str, Any]
    #: The chance level of PR-AUC on the evaluated rows (their prevalence, with ``--sample`` the
    #: whole file's), and what a random ranking reaches in 95% of draws with this many positives.
    evaluated_prevalence: float = 0.0
    random_pr_auc: float = 0.0
    #: The paired draws the judgements compare strategies on. Not part of the JSON.
    draws: Draws = field(default_factory=lambda: Draws(), repr=False)

    def strategy(self, name: str | None) -> StrategyResult | None:
        for s in self.strategies:
            if s.name == name:
                return s
        return None

    def label(self, name: str) -> str:
        """A strategy's label (its name when it was not evaluated)."""
        found = self.strategy(name)
        return found.label if found else name


@dataclass(frozen=True)
class Deployment:
    """The threshold to deploy and what is known of the figures at it.

    ``threshold`` is tuned on every row by the same procedure as inside each training part;
    ``fold_range`` is how far the folds' own tuned thresholds spread. ``at_threshold`` holds
    recall and precision *measured at* ``threshold`` on the pooled out-of-fold scores (exact
    binomial intervals); the leaderboard's tuned figures are instead the procedure's estimate
    (each fold's model at its own tuned threshold). ``unstable`` says why the fold thresholds'
    spread moves the figures by more than their interval, else ``None``.
    """

    strategy: str
    threshold: float | None
    fold_range: tuple[float, float] | None
    at_threshold: dict[str, Metric]
    unstable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "threshold": rounded(self.threshold),
            "fold_range": None
            if self.fold_range is None
            else [rounded(self.fold_range[0]), rounded(self.fold_range[1])],
            "at_threshold": {k: m.to_dict() for k, m in self.at_threshold.items()},
            "unstable": self.unstable,
        }


@dataclass(frozen=True)
class FoldRow:
    """One split's own figures for a strategy: its held-out rows, PR-AUC, and recall and
    precision at the threshold tuned inside its training part (``None`` where undefined)."""

    repeat: int
    fold: int
    rows: int
    positives: int
    pr_auc: float | None
    recall: float | None
    precision: float | None
    threshold: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repeat": self.repeat,
            "fold": self.fold,
            "rows": self.rows,
            "positives": self.positives,
            "pr_auc": rounded(self.pr_auc),
            "recall": rounded(self.recall),
            "precision": rounded(self.precision),
            "threshold": rounded(self.threshold),
        }


@dataclass(frozen=True)
class Spread:
    """How one figure varies across the splits: mean, standard deviation (n − 1), range."""

    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": rounded(self.mean),
            "sd": rounded(self.sd),
            "min": rounded(self.low),
            "max": rounded(self.high),
        }


#: The figures of the per-fold table, in display order.
FOLD_FIGURES = ("pr_auc", "recall", "precision", "threshold")


@dataclass(frozen=True)
class FoldFigures:
    """The recommended strategy split by split (``rows``), and each figure's spread across the
    splits, to read beside the pooled intervals."""

    strategy: str
    rows: tuple[FoldRow, ...]
    spread: dict[str, Spread]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "per_fold": [row.to_dict() for row in self.rows],
            "spread": {key: s.to_dict() for key, s in self.spread.items()},
        }


@dataclass(frozen=True)
class TopShare:
    """The rows with the highest scores, ``share`` of the evaluated rows, and what they catch.

    ``rows`` counts every row at or above ``cut`` (ties at the cut included, so it can exceed
    the share); with ``--sample`` each evaluated negative counts for the negatives it stands for.
    """

    share: float
    rows: int
    positives: int
    precision: float | None
    recall: float | None
    cut: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "share": rounded(self.share),
            "rows": self.rows,
            "positives_caught": self.positives,
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
            "score_cut": rounded(self.cut),
        }


@dataclass(frozen=True)
class Workload:
    """What a threshold means in work: of the evaluated rows (the first repeat's out-of-fold
    scores), how many the threshold flags, per 1,000 rows, and how many positives they hold; and
    the top 1 %, 5 %, 10 % of scores (``top``). Row counts are of the whole file under
    ``--sample``."""

    strategy: str
    threshold: float | None
    rows: int
    positives: int
    flagged: int | None
    caught: int | None
    per_1000: float | None
    per_1000_ci: tuple[float, float] | None
    top: tuple[TopShare, ...]

    def to_dict(self) -> dict[str, Any]:
        ci = self.per_1000_ci
        return {
            "strategy": self.strategy,
            "threshold": rounded(self.threshold),
            "rows": self.rows,
            "positives": self.positives,
            "flagged": self.flagged,
            "positives_caught": self.caught,
            "flagged_per_1000": rounded(self.per_1000),
            "flagged_per_1000_ci": None if ci is None else [rounded(ci[0]), rounded(ci[1])],
            "top": [t.to_dict() for t in self.top],
        }


#: What every feature-importance table says first.
IMPORTANCE_CAVEAT = (
    "Importance says what the fitted model leans on, not what causes the outcome: a feature can "
    "rank high because it travels with the real cause, and correlated features share or swap "
    "their importance."
)


@dataclass(frozen=True)
class FeatureWeight:
    """One model input's importance: ``feature`` is its readable name (``column = category``
    for a one-hot column), ``column`` the data column it comes from. ``value`` is signed for
    coefficients (positive raises the score)."""

    feature: str
    column: str
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "column": self.column, "value": rounded(self.value)}


@dataclass(frozen=True)
class FeatureImportance:
    """What drives the recommended model, read from its fit on all rows (the one whose
    threshold is deployed): ``weights`` by ``method``, largest first (at most ``TOP_FEATURES``
    of ``inputs`` model inputs); ``permutation``: the drop in PR-AUC when a column is shuffled
    on rows that model did not learn from, or empty with ``permutation_note`` saying why.
    ``skipped`` says why there is nothing to show at all."""

    strategy: str
    method: str | None
    weights: tuple[FeatureWeight, ...] = ()
    inputs: int = 0
    permutation: tuple[FeatureWeight, ...] = ()
    permutation_note: str = ""
    skipped: str | None = None
    caveat: str = IMPORTANCE_CAVEAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "method": self.method,
            "top": [w.to_dict() for w in self.weights],
            "inputs": self.inputs,
            "permutation": [w.to_dict() for w in self.permutation],
            "permutation_note": self.permutation_note,
            "skipped": self.skipped,
            "caveat": self.caveat,
        }


#: Feature-importance tables show this many inputs.
TOP_FEATURES = 15


# --- segments (--segment; judged in segments.py) ---------------------------------------------


@dataclass(frozen=True)
class SegmentTest:
    """A segment's figure against every other evaluated row: one-sided Fisher exact test that
    it is lower, ``adjusted`` by Holm over every segment test of the run; ``lower`` when the
    adjusted p-value is at most 5 %."""

    rest: float
    p_value: float
    adjusted: float
    lower: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "rest": rounded(self.rest),
            "p_value": rounded(self.p_value),
            "p_value_adjusted": rounded(self.adjusted),
            "lower": self.lower,
        }


@dataclass(frozen=True)
class SegmentRow:
    """One group of rows of a segment column, for one strategy or score column: its evaluated
    rows and positives, prevalence, PR-AUC, and recall and precision at each split's own tuned
    threshold (``flagged_rows`` decided positive), with 95% intervals. ``size``: "ok", "small"
    (fewer than 30 positives) or "tiny" (fewer than 10); ``measurable`` says, per figure, whether
    it rests on at least 10 events (positives; flagged rows for precision); ``tests`` holds its test against the rest (``None``
    where not tested). ``other`` marks the pooled row of the groups beyond the shown ones."""

    value: str
    other: bool
    rows: int
    positives: int
    prevalence: float | None
    flagged_rows: int
    pr_auc: Metric
    recall: Metric
    precision: Metric
    size: str
    tests: dict[str, SegmentTest | None]
    measurable: dict[str, bool]

    @property
    def lower(self) -> tuple[str, ...]:
        """The figures distinguishably below the rest."""
        return tuple(k for k, t in self.tests.items() if t is not None and t.lower)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "other": self.other,
            "rows": self.rows,
            "positives": self.positives,
            "prevalence": rounded(self.prevalence),
            "flagged_rows": self.flagged_rows,
            "size": self.size,
            "pr_auc": self.pr_auc.to_dict(),
            "recall": self.recall.to_dict(),
            "precision": self.precision.to_dict(),
            "measurable": dict(self.measurable),
            "tests": {k: None if t is None else t.to_dict() for k, t in self.tests.items()},
            "lower": list(self.lower),
        }


@dataclass(frozen=True)
class SegmentTable:
    """A segment column's groups for one strategy or score column (``existing``)."""

    column: str
    binning: str  # "values" | "4 quantile bins"
    strategy: str
    existing: bool
    recommended: bool
    rows: tuple[SegmentRow, ...]
    #: Groups pooled into the "other" row (beyond the largest shown one by one).
    pooled_values: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "binning": self.binning,
            "strategy": self.strategy,
            "existing": self.existing,
            "recommended": self.recommended,
            "pooled_values": self.pooled_values,
            "segments": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class Segments:
    """Every ``--segment`` column's figures (``tables``), the segments flagged below the rest
    in one sentence each (``flagged``), how many tests the Holm adjustment covered, the method
    and the dependence caveat in words; ``absent`` says why there are no tables."""

    tables: tuple[SegmentTable, ...]
    flagged: tuple[str, ...]
    tests: int
    method: str
    caveat: str
    absent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "family_wise_error": 0.05,
            "tests": self.tests,
            "flagged": list(self.flagged),
            "caveat": self.caveat,
            "absent": self.absent,
            "tables": [t.to_dict() for t in self.tables],
        }


@dataclass(frozen=True)
class Period:
    """One period of time-ordered evaluated rows: its span, counts, prevalence, and each
    subject's PR-AUC, recall and precision (at each split's tuned threshold) with intervals."""

    label: str
    rows: int
    positives: int
    prevalence: Metric
    figures: dict[str, dict[str, Metric]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.label,
            "rows": self.rows,
            "positives": self.positives,
            "prevalence": self.prevalence.to_dict(),
            "figures": {
                name: {key: metric.to_dict() for key, metric in table.items()}
                for name, table in self.figures.items()
            },
        }


@dataclass(frozen=True)
class Trend:
    """Figures period by period along the ``--time`` column (``trend.py``)."""

    column: str
    subjects: tuple[str, ...]
    periods: tuple[Period, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "subjects": list(self.subjects),
            "periods": [p.to_dict() for p in self.periods],
        }


@dataclass(frozen=True)
class Verdict:
    """Every judgement of a run, made once (``recommend.judge``): which strategy leads, which
    are tied with it, whether anything beats chance, what is recommended, whose probabilities
    are distorted, whether the imbalance is extreme, and which strategy a section shows.

    Pictures and templates read these; they never decide them.
    """

    recommended: Recommended
    beats_chance: bool
    #: Evaluated strategies, highest PR-AUC first (the leaderboard's order).
    ranking: tuple[str, ...] = ()
    #: The highest PR-AUC among the strategies that learn (the baseline aside; may be an
    #: anomaly detector).
    top: str | None = None
    #: The supervised strategy with the highest PR-AUC: the comparisons start from it.
    leader: str | None = None
    comparisons: tuple[Comparison, ...] = ()
    #: Resampling / weighting strategies whose Brier score is far above their plain model's.
    distorted: tuple[str, ...] = ()
    #: The minority class is tiny (few positives or prevalence below 0.1%).
    extreme_imbalance: bool = False
    #: The strategy the threshold and confusion sections show (the recommended one, else the top).
    focus: str | None = None
    #: The strategy with the highest F1 at its tuned threshold.
    best_tuned_f1: str | None = None
    #: Each learning strategy's chance test.
    chance: dict[str, ChanceTest] = field(default_factory=dict)
    #: Strategies the data can neither separate from the leader nor show equivalent to it.
    undecided: tuple[str, ...] = ()
    #: Roughly how many positives would settle the closest undecided comparison.
    positives_to_settle: int | None = None
    #: Each imbalance correction against its family's plain model (Holm within the family).
    corrections: tuple[Comparison, ...] = ()
    #: Why the figures are only indicative (few positives or few events), else ``None``.
    indicative: str | None = None
    #: The margin within which a simpler strategy counts as practically equivalent (PR-AUC).
    equivalence_margin: float = 0.0
    #: The recommended strategy's threshold to deploy (tuned on all rows) and its figures.
    deployment: Deployment | None = None
    #: The recommended strategy split by split, and the spread of its figures across splits.
    folds: FoldFigures | None = None
    #: What the recommended threshold and the top scores mean in flagged rows.
    workload: Workload | None = None
    #: What drives the recommended model (its fit on all rows).
    features: FeatureImportance | None = None
    #: Each score column against the recommended strategy (or, with only score columns, the
    #: best of them): paired PR-AUC differences, Holm-adjusted over the score columns.
    existing: tuple[Comparison, ...] = ()
    #: Period by period along the --time column (``None`` without --time).
    trend: Trend | None = None
    #: Figures per segment (``--segment``) and the segments flagged below the rest, else ``None``.
    segments: Segments | None = None


@dataclass(frozen=True)
class Advice:
    """One plain-word recommendation with the numbers that support it."""

    title: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text}


@dataclass(frozen=True)
class GateResult:
    """One quality gate (``--fail-under`` / ``--fail-over``) checked against the results."""

    spec: str
    strategy: str | None
    metric: str
    limit: float
    direction: str  # "under" | "over"
    value: float | None
    passed: bool
    message: str
    #: ``(column, value)`` of a gate on a segment (``"*"``: every large segment), else ``None``.
    segment: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "gate": self.spec,
            "strategy": self.strategy,
            "metric": self.metric,
            "limit": self.limit,
            "direction": self.direction,
            "value": rounded(self.value),
            "passed": self.passed,
            "message": self.message,
        }
        if self.segment is not None:
            out["segment"] = {"column": self.segment[0], "value": self.segment[1]}
        return out


@dataclass(frozen=True)
class Report:
    """Everything a rendered report shows: results, the verdict, advice, gates and the options."""

    results: Results
    verdict: Verdict
    advice: tuple[Advice, ...]
    config: Config
    tool_version: str
    warnings: tuple[str, ...] = ()
    illustration: Illustration | None = None
    gates: tuple[GateResult, ...] = ()
    changes: Any = None  # ``compare.Changes`` since a previous run (``--compare``)
    created: str | None = None  # ISO date: SOURCE_DATE_EPOCH's, else the run's unless --no-timings
    #: The recommended strategy fitted on every row, deciding at the deployed threshold: a
    #: scikit-learn estimator that predicts on a frame of the data's columns (``None`` when
    #: nothing is recommended). Not part of the JSON; ``saved_model`` says where it was saved.
    model: Any = field(default=None, compare=False, repr=False)
    #: ``{"file": name, "sha256": hex}`` of the model written by ``--save-model``.
    saved_model: dict[str, str] | None = None

    @property
    def command(self) -> str:
        """The command line that reproduces the numbers: every option that changes them,
        defaults spelled out, the target and positive class as resolved."""
        ds = self.results.dataset
        return command_line(
            self.config.analysis,
            ds.source_path or ds.source_name,
            target=ds.target,
            positive_label=ds.positive_label,
        )

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def return_code(self) -> int:
        """0 when every gate passed (or none were set), 1 otherwise."""
        if not self.gates_passed:
            return 1
        if self.changes is not None and self.changes.failed:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        r, v = self.results, self.verdict
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "imbreport", "version": self.tool_version},
            "created": self.created,
            "command": self.command,
            "saved_model": self.saved_model,
            "dataset": r.dataset.summary(),
            "protocol": r.protocol.to_dict(),
            "strategies": [s.to_dict() for s in r.strategies],
            "comparisons": [c.to_dict() for c in v.comparisons],
            "corrections": [c.to_dict() for c in v.corrections],
            "score_columns": [c.to_dict() for c in v.existing],
            "trend": None if v.trend is None else v.trend.to_dict(),
            "segments": None if v.segments is None else v.segments.to_dict(),
            "recommended": {
                **v.recommended.to_dict(),
                "undecided": list(v.undecided),
                "positives_to_settle": v.positives_to_settle,
                "indicative": v.indicative,
                "equivalence_margin": v.equivalence_margin,
                "deployment": None if v.deployment is None else v.deployment.to_dict(),
                "folds": None if v.folds is None else v.folds.to_dict(),
                "workload": None if v.workload is None else v.workload.to_dict(),
                "features": None if v.features is None else v.features.to_dict(),
            },
            "beats_chance": v.beats_chance,
            "chance": {
                "prevalence": rounded(r.dataset.prevalence),
                "random_ranking_pr_auc_95": rounded(r.random_pr_auc),
                "method": CHANCE_METHOD,
                "family_wise_error": 0.05,
                "strategies": {name: test.to_dict() for name, test in v.chance.items()},
            },
            "advice": [a.to_dict() for a in self.advice],
            "gates": [g.to_dict() for g in self.gates],
            "warnings": list(self.warnings),
            "config": self.config.to_dict(),
            "versions": dict(r.versions),
        }
        if self.changes is not None:
            out["changes"] = self.changes.to_dict()
        if self.config.output.timings:
            out["timings"] = r.timings
        return out


def categorical_option(column: str) -> str:
    """The command-line option that treats ``column`` as categorical, quoted for a shell."""
    import shlex

    return f"--categorical {shlex.quote(column)}"


def improved(key: str, difference: float) -> bool:
    """A change of ``difference`` in metric ``key`` is an improvement."""
    return difference < 0 if key in LOWER_IS_BETTER else difference > 0


def metric_as_gated(metrics: Mapping[str, Any], tuned: Mapping[str, Any], key: str) -> Any:
    """The entry of metric ``key`` that gates and comparisons read: threshold-free metrics as
    they are, the others at the tuned threshold (the default threshold's when there is none).
    Works on ``Metric`` tables and on their JSON alike; ``None`` when absent."""
    if key not in THRESHOLD_FREE and key in tuned:
        return tuned[key]
    return metrics.get(key)


def rounded(value: float | None, digits: int = 6) -> float | None:
    """Round for stable, readable JSON; NaN and inf become ``None``."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)
