"""Threshold objectives: parsing ``--threshold-objective`` into a scorer for threshold tuning.

Objectives: ``f1`` (default), ``fbeta:B``, ``precision>=P`` (best recall with precision at least P),
``recall>=R`` (best precision with recall at least R), and ``cost`` (minimise
``cost_fp·FP + cost_fn·FN``). The scorer is used by ``TunedThresholdClassifierCV`` on the
training part only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from imbreport.errors import ConfigError
from imbreport.metrics import confusion_counts, metrics_from_counts

_PATTERNS = (
    (re.compile(r"^f1$"), "f1"),
    (re.compile(r"^fbeta:(?P<v>[0-9.]+)$"), "fbeta"),
    (re.compile(r"^precision>=(?P<v>[0-9.]+)$"), "precision"),
    (re.compile(r"^recall>=(?P<v>[0-9.]+)$"), "recall"),
    (re.compile(r"^cost$"), "cost"),
)


@dataclass(frozen=True)
class Objective:
    """A parsed threshold objective; ``score`` is higher-is-better on labels and predictions."""

    kind: str
    value: float | None = None
    cost_fp: float | None = None
    cost_fn: float | None = None
    #: How many negatives each row's negative stands for (``--sample`` kept 1 in this many), so
    #: that tuning weighs negatives as the reported metrics do.
    negative_weight: float = 1.0

    @property
    def text(self) -> str:
        if self.kind == "f1":
            return "maximise F1"
        if self.kind == "fbeta":
            return f"maximise F-beta with beta = {self.value:g}"
        if self.kind == "precision":
            return f"maximise recall with precision ≥ {self.value:g}"
        if self.kind == "recall":
            return f"maximise precision with recall ≥ {self.value:g}"
        return f"minimise cost = {self.cost_fp:g}·FP + {self.cost_fn:g}·FN"

    @property
    def tuned_metric(self) -> str | None:
        """The metric at the tuned threshold that this objective maximises (``None``: cost)."""
        return {"f1": "f1", "fbeta": "f1", "precision": "recall", "recall": "precision"}.get(
            self.kind
        )

    def score(self, y_true, y_pred) -> float:
        counts = confusion_counts(y_true, y_pred)
        counts["fp"] *= self.negative_weight
        counts["tn"] *= self.negative_weight
        values = {k: float(v) for k, v in metrics_from_counts(**counts).items()}
        precision, recall = values["precision"], values["recall"]
        if self.kind == "f1":
            return values["f1"]
        if self.kind == "fbeta":
            beta2 = self.value**2
            denominator = beta2 * precision + recall
            return (1 + beta2) * precision * recall / denominator if denominator > 0 else 0.0
        if self.kind == "precision":
            return recall if precision >= self.value else precision - 1.0
        if self.kind == "recall":
            return precision if recall >= self.value else recall - 1.0
        cost = self.cost_fp * counts["fp"] + self.cost_fn * counts["fn"]
        return -cost / max(len(np.asarray(y_true)), 1)

    def scorer(self):
        from sklearn.metrics import make_scorer

        return make_scorer(self.score)


def parse_objective(
    text: str, cost_fp: float | None = None, cost_fn: float | None = None
) -> Objective:
    """Parse ``--threshold-objective``; errors say what is accepted."""
    cleaned = text.strip().lower().replace(" ", "")
    for pattern, kind in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        value = float(match.group("v")) if "v" in pattern.groupindex else None
        if kind in ("precision", "recall") and not 0 < value <= 1:
            raise ConfigError(f"The {kind} target in '{text}' must be between 0 and 1.")
        if kind == "fbeta" and value <= 0:
            raise ConfigError(f"The beta in '{text}' must be positive.")
        if kind == "cost":
            if cost_fp is None or cost_fn is None:
                raise ConfigError(
                    "--threshold-objective cost needs both --cost-fp and --cost-fn "
                    "(the cost of one false positive and of one false negative)."
                )
            if cost_fp < 0 or cost_fn < 0 or cost_fp + cost_fn == 0:
                raise ConfigError("--cost-fp and --cost-fn must be non-negative and not both 0.")
        return Objective(kind, value, cost_fp, cost_fn)
    raise ConfigError(
        f"Unknown threshold objective '{text}'. Use one of: f1, fbeta:B (e.g. fbeta:2), "
        "precision>=P (e.g. precision>=0.9), recall>=R (e.g. recall>=0.8), cost "
        "(with --cost-fp and --cost-fn)."
    )
