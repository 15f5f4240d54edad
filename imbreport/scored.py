"""An existing model's scores (``--score``) under the same protocol as the strategies.

Nothing is fitted: on each split, the threshold is tuned on the score column's values of that
split's training rows (the rows the strategies learn from), then applied to its held-out rows,
which are the rows evaluated. The default threshold is 0.5 for probabilities; scores that are not
probabilities have none, so their "default" figures are those at the tuned threshold.
"""

from __future__ import annotations

import time

import numpy as np

from imbreport.fitting import FoldOutcome, threshold_for_scores
from imbreport.model import Dataset
from imbreport.registry import StrategySpec, score_column_spec
from imbreport.splits import Split
from imbreport.thresholds import Objective

#: The default threshold of scores that are probabilities.
DEFAULT_PROBABILITY_THRESHOLD = 0.5


def score_specs(dataset: Dataset) -> list[StrategySpec]:
    """One leaderboard entry per score column, in the order given."""
    kinds = dataset.roles.score_kinds
    return [score_column_spec(c, kinds[c], i) for i, c in enumerate(dataset.roles.scores)]


def score_outcomes(
    dataset: Dataset, splits: list[Split], objective: Objective, tune: bool
) -> list[FoldOutcome]:
    """Every score column on every split: held-out scores, and the threshold tuned on the
    training rows' scores (``tune`` False: too few positives to tune, the default is used)."""
    outcomes = []
    for column, values in dataset.roles.scores.items():
        probability = dataset.roles.score_kinds[column] == "probability"
        for split in splits:
            started = time.perf_counter()
            threshold, failed = None, None
            if tune:
                try:
                    threshold = threshold_for_scores(
                        values[split.train], dataset.y[split.train], objective
                    )
                except ValueError as exc:  # e.g. the training rows' scores are all equal
                    failed = f"{type(exc).__name__}: {exc}"
            default = DEFAULT_PROBABILITY_THRESHOLD if probability else threshold
            held_out = values[split.test]
            if default is None:  # neither tuned nor a probability: the training rows' median
                default = float(np.median(values[split.train]))
            outcomes.append(
                FoldOutcome(
                    strategy=column,
                    split=split,
                    scores=held_out,
                    default_pred=held_out >= default,
                    threshold=threshold,
                    default_threshold=default if probability else None,
                    seconds=time.perf_counter() - started,
                    tuning_failed=failed,
                )
            )
    return outcomes


#: A score column ranking this well (ROC-AUC) looks like scores of rows its model learned from.
IN_SAMPLE_ROC_AUC = 0.99


def score_notes(dataset: Dataset) -> list[str]:
    """The protocol note on score columns: how they were evaluated, and what cannot be known."""
    columns = list(dataset.roles.scores)
    if not columns:
        return []
    named = ", ".join(f"'{c}'" for c in columns)
    kinds = dataset.roles.score_kinds
    not_probabilities = [c for c in columns if kinds[c] != "probability"]
    text = (
        f"Score column(s) {named}: read, not fitted, and evaluated on the same held-out rows and "
        "bootstrap resamples as the strategies (paired); each split's threshold was tuned on the "
        "scores of its training rows. imbreport cannot know whether the model that made them "
        "learned from these rows: the figures hold only if the scores are out-of-sample."
    )
    if not_probabilities:
        text += (
            f" {', '.join(repr(c) for c in not_probabilities)} hold values outside 0–1: they are "
            "read as ranking scores, so calibration, Brier score and log-loss are not shown, and "
            "thresholds are on the column's own scale."
        )
    return [text]


def in_sample_warnings(strategies) -> tuple[str, ...]:
    """A warning for each score column that ranks the labels almost perfectly."""
    return tuple(
        f"Score column '{s.name}' ranks the evaluated rows almost perfectly (ROC-AUC "
        f"{s.metrics['roc_auc'].value:.3f}): scores this good usually come from a model that "
        "learned from these very rows (training-set scores). If so, every figure of it is "
        "optimistic; score rows the model never saw."
        for s in strategies
        if s.ok
        and s.existing
        and s.metrics.get("roc_auc") is not None
        and (s.metrics["roc_auc"].value or 0.0) >= IN_SAMPLE_ROC_AUC
    )


def decision_warnings(dataset: Dataset) -> tuple[str, ...]:
    """A warning for each score column holding only two values: a decision, not a ranking."""
    return tuple(
        f"Score column '{column}' holds only two values: it records decisions, not scores, so "
        "its PR-AUC and ROC-AUC are those of a single cut and its curves have one step. Give the "
        "model's scores before they were cut, if they exist."
        for column, values in dataset.roles.scores.items()
        if len(np.unique(values)) == 2
    )
