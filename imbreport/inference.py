"""The statistical tests behind the report's claims, each with a controlled error rate.

- ``max_statistic_p_values``: which strategies beat chance, family-wise error ≤ α over every
  strategy tested (label permutations shared by all strategies, min-p procedure; Westfall &
  Young 1993).
- ``paired_difference``: how far apart two strategies are, from the paired bootstrap of the
  evaluated rows *and* the spread of the per-split differences with Nadeau & Bengio's (2003)
  correction for overlapping training sets; the interval is the union of both, so it covers the
  variability of refitting as well as of evaluation.
- ``holm``: Holm's (1979) step-down adjustment over the comparisons made.
- ``Difference.equivalent``: two one-sided tests (Schuirmann 1987): the 90% interval lies inside
  ± a margin stated in advance.

Pure functions of arrays; the decisions built on them are ``recommend``'s.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05


def max_statistic_p_values(
    observed: dict[Hashable, float], null: dict[Hashable, np.ndarray]
) -> dict[Hashable, tuple[float, float]]:
    """``key → (raw p, family-wise adjusted p)`` of "beats chance" for each tested statistic
    (e.g. each strategy's PR-AUC and ROC-AUC), by Westfall & Young's min-p procedure.

    ``null[key]`` holds the statistic under each label permutation (the same permutations for
    every key). Each statistic is first turned into its own p-value (so statistics with
    differently shaped nulls are comparable): from its permutation distribution when there are
    at least ``EMPIRICAL_PERMUTATIONS`` permutations, else from a normal fit of it (many
    positives, where nulls are nearly normal and few permutations are drawn). A key's adjusted
    p-value is the share of permutations whose *smallest* p-value over all keys is at most its
    own. A statistic whose null has no spread (a constant scorer) cannot beat chance (p = 1).
    """
    out = {key: (1.0, 1.0) for key in null}
    varying = {k: np.asarray(v, float) for k, v in null.items() if np.ptp(v) > 0}
    if not varying:
        return out
    permutations = min(len(v) for v in varying.values())
    empirical = permutations >= EMPIRICAL_PERMUTATIONS
    smallest = np.ones(permutations)
    raw = {}
    for key, values in varying.items():
        values = values[:permutations]
        raw[key] = _tail_p(values, np.array([observed[key]]), empirical)[0]
        smallest = np.minimum(smallest, _tail_p(values, values, empirical, itself=True))
    for key, p_value in raw.items():
        adjusted = (1 + np.sum(smallest <= p_value + 1e-12)) / (permutations + 1)
        out[key] = (float(p_value), float(max(adjusted, p_value)))
    return out


#: With at least this many permutations, p-values come from the permutations themselves.
EMPIRICAL_PERMUTATIONS = 500


def _tail_p(null: np.ndarray, values: np.ndarray, empirical: bool, itself: bool = False):
    """P(null ≥ value) for each value: the permutation share (+1, the observed counts as one
    draw; ``itself``: the values are draws of ``null``, not counted against themselves), or
    the normal tail."""
    if empirical:
        ordered = np.sort(null)
        at_least = len(null) - np.searchsorted(ordered, values - 1e-12, side="left")
        if itself:
            at_least = at_least - 1
        return (1 + at_least) / (len(null) + 1)
    from scipy.stats import norm

    spread = float(np.std(null, ddof=1))
    return norm.sf((values - float(np.mean(null))) / spread)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the given order."""
    order = np.argsort(p_values, kind="mergesort")
    adjusted = np.empty(len(p_values))
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return [float(p) for p in adjusted]


@dataclass(frozen=True)
class Difference:
    """A paired difference ``first − second`` with its intervals and two-sided p-value."""

    estimate: float
    ci: tuple[float, float]  # 95%
    ci90: tuple[float, float]  # for the two one-sided tests of equivalence
    p_value: float

    def equivalent(self, margin: float) -> bool:
        """Shown practically equivalent: the 90% interval lies inside ± ``margin``."""
        return bool(-margin < self.ci90[0] and self.ci90[1] < margin)

    @property
    def half_width(self) -> float:
        return (self.ci[1] - self.ci[0]) / 2


def paired_difference(
    estimate: float,
    bootstrap_first: np.ndarray,
    bootstrap_second: np.ndarray,
    folds_first: np.ndarray | None = None,
    folds_second: np.ndarray | None = None,
    test_share: float = 0.25,
) -> Difference:
    """The difference of two strategies' metric: the paired bootstrap of the evaluated rows,
    widened (interval union, larger p-value) by the corrected per-split t-test where there are
    several splits."""
    draws = np.asarray(bootstrap_first) - np.asarray(bootstrap_second)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Difference(estimate, (estimate, estimate), (estimate, estimate), 1.0)
    low, high = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
    low90, high90 = (float(v) for v in np.percentile(draws, [5, 95]))
    p_value = float(min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0))))
    per_split = _per_split(folds_first, folds_second)
    if per_split is not None:
        nb = _corrected_t(estimate, per_split, test_share)
        if nb is not None:
            (nb_low, nb_high), (nb_low90, nb_high90), nb_p = nb
            low, high = min(low, nb_low), max(high, nb_high)
            low90, high90 = min(low90, nb_low90), max(high90, nb_high90)
            p_value = max(p_value, nb_p)
    # a difference of two figures in [0, 1] lies in [-1, 1]
    low, high, low90, high90 = (float(np.clip(v, -1.0, 1.0)) for v in (low, high, low90, high90))
    return Difference(float(estimate), (low, high), (low90, high90), float(p_value))


def _per_split(first, second) -> np.ndarray | None:
    if first is None or second is None or len(first) < 2:
        return None
    values = np.asarray(first, float) - np.asarray(second, float)
    values = values[np.isfinite(values)]
    return values if len(values) >= 2 else None


def _corrected_t(estimate: float, per_split: np.ndarray, test_share: float):
    """Nadeau & Bengio's corrected resampled t: variance (1/K + n_test/n_train) · s² of the K
    per-split differences, K − 1 degrees of freedom, centred on ``estimate``."""
    from scipy.stats import t as student

    k = len(per_split)
    spread = float(np.var(per_split, ddof=1))
    se = math.sqrt((1 / k + test_share) * spread)
    if se <= 0:
        return None
    q95, q90 = student.ppf(0.975, k - 1), student.ppf(0.95, k - 1)
    p_value = float(2 * student.sf(abs(estimate) / se, k - 1))
    return (
        (estimate - q95 * se, estimate + q95 * se),
        (estimate - q90 * se, estimate + q90 * se),
        p_value,
    )


def widened_interval(
    bootstrap_ci: tuple[float, float] | None,
    per_split: np.ndarray | None,
    estimate: float | None,
    test_share: float,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, float] | None:
    """A metric's 95% interval: the bootstrap's, widened to the corrected per-split t interval
    where there are several splits (refitting and re-tuning vary the figure too), kept within
    the metric's ``bounds``."""
    if bootstrap_ci is None or estimate is None or per_split is None:
        return bootstrap_ci
    values = np.asarray(per_split, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return bootstrap_ci
    nb = _corrected_t(estimate, values, test_share)
    if nb is None:
        return bootstrap_ci
    (low, high), _, _ = nb
    low, high = (
        max(min(bootstrap_ci[0], low), bounds[0]),
        min(max(bootstrap_ci[1], high), bounds[1]),
    )
    return (float(low), float(high))


def proportion_trials(counts: dict[str, int], negative_weight: float = 1.0) -> dict:
    """``{"recall": (successes, trials), "precision": (…)}`` from confusion counts, each
    negative counting ``negative_weight`` times (``--sample``); a proportion with no trials is
    left out."""
    tp, fp, fn = counts["tp"], counts["fp"] * negative_weight, counts["fn"]
    found = {"recall": (tp, tp + fn), "precision": (tp, tp + fp)}
    return {key: pair for key, pair in found.items() if pair[1] > 0}


def exact_binomial(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson interval of a proportion (never a point, even at 0 or all)."""
    from scipy.stats import beta

    if trials <= 0:
        return (0.0, 1.0)
    tail = (1 - level) / 2
    low = 0.0 if successes <= 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = (
        1.0 if successes >= trials else float(beta.ppf(1 - tail, successes + 1, trials - successes))
    )
    return (low, high)
