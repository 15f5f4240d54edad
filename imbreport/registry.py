"""The strategy registry: every strategy's name, words and declared traits, in one place.

A strategy's identity (its stable name, used in JSON and gates), its role, its simplicity rank,
the imbalance correction it applies, its model family, its cost and its colour are *declared*
here; the engine, the judgements and the pictures read these traits instead of testing names.
Adding a strategy is adding one entry to ``STRATEGIES`` (and its builder in ``strategies.py``).

This module imports nothing heavy, so that parsing options (and ``imbreport --help``) never
loads scikit-learn; ``strategies.build_pipeline(spec, layout)`` builds a strategy's pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from imbreport.errors import ConfigError

#: Metrics computed for every strategy, in display order (the names gates and the JSON use).
METRIC_KEYS = (
    "pr_auc",
    "roc_auc",
    "recall",
    "precision",
    "f1",
    "balanced_accuracy",
    "mcc",
    "g_mean",
    "accuracy",
    "brier",
    "log_loss",
)


class Role(Enum):
    """What a strategy is in the comparison."""

    BASELINE = "baseline"  # a reference that learns nothing (the accuracy paradox)
    SUPERVISED = "supervised"  # a classifier fitted on both classes
    ANOMALY = "anomaly"  # fitted on the majority class only; its anomaly score ranks rows
    EXISTING = "existing"  # an existing model's scores, read from a column (--score)


class Correction(Enum):
    """What a strategy does about the imbalance."""

    NONE = "none"
    UNDERSAMPLE = "undersample"
    OVERSAMPLE = "oversample"
    SYNTHETIC = "synthetic"  # SMOTE: new minority rows between neighbours
    WEIGHTS = "weights"  # class weights / scale_pos_weight

    @property
    def resamples(self) -> bool:
        return self in (Correction.UNDERSAMPLE, Correction.OVERSAMPLE, Correction.SYNTHETIC)


@dataclass(frozen=True)
class StrategySpec:
    """One registry entry: what a strategy is, and the name of its pipeline builder."""

    name: str
    label: str
    description: str
    score_kind: str  # "probability" | "anomaly score" | "constant"
    role: Role
    builder: str  # a function of ``imbreport.strategies``: FeatureLayout → Pipeline
    colour: str  # Okabe-Ito, fixed across every figure and the leaderboard
    family: str | None = None  # "linear" | "trees": strategies compared within a family
    correction: Correction = Correction.NONE
    #: Rank used to prefer the simpler of two supervised strategies (0 = simplest).
    simplicity: int | None = None
    #: Usual fitting cost, heaviest first (0): long tasks are handed to the workers first.
    cost: int = 9
    #: Its probabilities follow the training prevalence (no imbalance correction of its own), so
    #: fitting on a sample of negatives needs the sampling-rate correction.
    prior_sensitive: bool = False

    @property
    def tunable(self) -> bool:
        return self.score_kind != "constant"

    @property
    def response_method(self) -> str:
        return "decision_function" if self.score_kind == "anomaly score" else "predict_proba"

    @property
    def supervised(self) -> bool:
        return self.role is Role.SUPERVISED

    @property
    def anomaly(self) -> bool:
        return self.role is Role.ANOMALY

    @property
    def baseline(self) -> bool:
        return self.role is Role.BASELINE

    @property
    def existing(self) -> bool:
        return self.role is Role.EXISTING

    @property
    def plain(self) -> bool:
        """A supervised model with no imbalance correction: its family's reference."""
        return self.supervised and self.correction is Correction.NONE


STRATEGIES: dict[str, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec(
            "majority",
            "Majority baseline",
            "Always predicts the majority class; scores every row with the training prevalence. "
            "Shows the accuracy paradox.",
            "constant",
            Role.BASELINE,
            "build_majority",
            colour="#999999",
        ),
        StrategySpec(
            "logreg",
            "Logistic regression",
            "Plain logistic regression on standardized features, no imbalance correction.",
            "probability",
            Role.SUPERVISED,
            "build_logreg",
            colour="#0072B2",
            family="linear",
            simplicity=0,
            prior_sensitive=True,
        ),
        StrategySpec(
            "undersample",
            "Random undersampling",
            "Random undersampling of the majority class in the training part, then logistic "
            "regression.",
            "probability",
            Role.SUPERVISED,
            "build_undersample",
            colour="#56B4E9",
            family="linear",
            correction=Correction.UNDERSAMPLE,
            simplicity=2,
        ),
        StrategySpec(
            "oversample",
            "Random oversampling",
            "Random oversampling of the minority class in the training part, then logistic "
            "regression.",
            "probability",
            Role.SUPERVISED,
            "build_oversample",
            colour="#009E73",
            family="linear",
            correction=Correction.OVERSAMPLE,
            simplicity=3,
            cost=3,
        ),
        StrategySpec(
            "smote",
            "SMOTE",
            "Synthetic minority oversampling (SMOTE; SMOTENC/SMOTEN with categorical features) "
            "in the training part, then logistic regression.",
            "probability",
            Role.SUPERVISED,
            "build_smote",
            colour="#E69F00",
            family="linear",
            correction=Correction.SYNTHETIC,
            simplicity=4,
            cost=2,
        ),
        StrategySpec(
            "balanced",
            "Balanced class weights",
            "Logistic regression with class_weight='balanced'.",
            "probability",
            Role.SUPERVISED,
            "build_balanced",
            colour="#CC79A7",
            family="linear",
            correction=Correction.WEIGHTS,
            simplicity=1,
        ),
        StrategySpec(
            "xgboost_plain",
            "XGBoost (plain)",
            "Gradient-boosted trees with no imbalance correction: the reference for XGBoost's "
            "scale_pos_weight (does weighting beat a plain model with a tuned threshold?).",
            "probability",
            Role.SUPERVISED,
            "build_xgboost_plain",
            colour="#882255",
            family="trees",
            simplicity=5,
            cost=1,
            prior_sensitive=True,
        ),
        StrategySpec(
            "xgboost",
            "XGBoost (scale_pos_weight)",
            "Gradient-boosted trees with scale_pos_weight = negatives / positives of the "
            "training part.",
            "probability",
            Role.SUPERVISED,
            "build_xgboost",
            colour="#D55E00",
            family="trees",
            correction=Correction.WEIGHTS,
            simplicity=6,
            cost=1,
        ),
        StrategySpec(
            "isolation_forest",
            "Isolation Forest",
            "Anomaly detector fitted on the majority class of the training part; its anomaly "
            "score ranks rows (no probabilities).",
            "anomaly score",
            Role.ANOMALY,
            "build_isolation_forest",
            colour="#000000",
            cost=0,
        ),
    )
}

STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)
#: Colour of a strategy the registry does not know (e.g. in a previous run's JSON).
OTHER_COLOUR = "#777777"
#: Colours of score columns, in the order given (Paul Tol's muted scheme: apart from Okabe-Ito).
SCORE_COLOURS = ("#44AA99", "#332288", "#999933", "#AA4499", "#117733")


def score_column_spec(column: str, score_kind: str, index: int = 0) -> StrategySpec:
    """The entry of a score column (``--score``): an existing model, read, never fitted."""
    return StrategySpec(
        column,
        f"{column} (score column)",
        f"Scores of an existing model, read from the column '{column}' (not fitted here; "
        "they must be out-of-sample for these rows).",
        score_kind,
        Role.EXISTING,
        "",
        colour=SCORE_COLOURS[index % len(SCORE_COLOURS)],
    )


def spec_for(name: str, score_kind: str = "score") -> StrategySpec:
    """The registry's entry of ``name``, or a score column's entry for any other name."""
    return STRATEGIES.get(name) or score_column_spec(name, score_kind)


def spec_of(name: str | None) -> StrategySpec | None:
    """The registry entry of ``name`` (``None`` for an unknown name or ``None``)."""
    return STRATEGIES.get(name or "")


def colour(name: str) -> str:
    """The fixed colour of a strategy (grey for unknown names)."""
    spec = spec_of(name)
    return spec.colour if spec else OTHER_COLOUR


def plain_strategy(family: str) -> StrategySpec | None:
    """The registry's model of ``family`` with no imbalance correction (its reference)."""
    return next((s for s in STRATEGIES.values() if s.plain and s.family == family), None)


def check_names(names: tuple[str, ...]) -> None:
    """Unknown strategy names are an error that lists the valid ones."""
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise ConfigError(
            f"Unknown strategy name(s): {', '.join(unknown)}. Choose from: {', '.join(STRATEGIES)}."
        )


def select_strategies(names: tuple[str, ...] | None) -> list[StrategySpec]:
    """The specs for ``names`` (all when ``None``), in registry order; unknown names are an error."""
    if names is None:
        return list(STRATEGIES.values())
    check_names(names)
    return [spec for name, spec in STRATEGIES.items() if name in names]
