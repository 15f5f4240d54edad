"""The tests behind the report's claims: permutation PR-AUC, the max-statistic, Holm, paired
differences, equivalence and exact binomial intervals, on tiny worked examples and on data with a
known truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from imbreport.inference import (
    exact_binomial,
    holm,
    max_statistic_p_values,
    paired_difference,
)
from imbreport.permutation import RankingPositions, average_precision, positive_sets


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("negative_weight", [1.0, 4.0])
def test_permutation_pr_auc_is_scikit_learns_average_precision(ties, negative_weight):
    rng = np.random.default_rng(3)
    scores = rng.random(600)
    if ties:
        scores = np.round(scores, 1)
    sets = positive_sets(600, 25, 20, seed=1)
    ranking = RankingPositions(scores)
    got = average_precision([ranking], sets, negative_weight)
    for positives, value in zip(sets, got, strict=True):
        y = np.zeros(600, bool)
        y[positives] = True
        weights = np.where(y, 1.0, negative_weight)
        assert value == pytest.approx(average_precision_score(y, scores, sample_weight=weights))


def test_repeats_are_averaged():
    rng = np.random.default_rng(4)
    first, second = RankingPositions(rng.random(100)), RankingPositions(rng.random(100))
    rows = np.arange(10)[None]
    both = average_precision([first, second], rows)[0]
    assert both == pytest.approx(
        (average_precision([first], rows)[0] + average_precision([second], rows)[0]) / 2
    )


def test_max_statistic_holds_the_family_wise_error_on_pure_noise():
    """Seven correlated strategies, none informative: the share of families in which any is
    declared to beat chance stays near 5% (measured over 400 simulated families)."""
    rng = np.random.default_rng(0)
    families, strategies, permutations = 400, 7, 400
    false_claims = 0
    for _ in range(families):
        shared = rng.normal(size=permutations + 1)
        values = 0.6 * shared[:, None] + 0.8 * rng.normal(size=(permutations + 1, strategies))
        observed = {f"s{j}": values[0, j] for j in range(strategies)}
        null = {f"s{j}": values[1:, j] for j in range(strategies)}
        adjusted = max_statistic_p_values(observed, null)
        false_claims += any(p <= 0.05 for _, p in adjusted.values())
    assert false_claims / families <= 0.08
    # unadjusted, the same families claim far more often
    assert false_claims / families < 0.2


def test_max_statistic_finds_a_real_signal_and_ignores_constants():
    rng = np.random.default_rng(1)
    null = {"strong": rng.normal(0.1, 0.01, 500), "noise": rng.normal(0.1, 0.01, 500)}
    null["constant"] = np.full(500, 0.1)
    p = max_statistic_p_values({"strong": 0.2, "noise": 0.1, "constant": 0.1}, null)
    assert p["strong"][1] <= 0.01  # the smallest a min-p over 2 varying keys can give
    assert p["noise"][1] > 0.05
    assert p["constant"] == (1.0, 1.0)


def test_holm_worked_example():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]


def test_paired_difference_is_widened_by_the_per_split_spread():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.50, 0.004, 2000), rng.normal(0.48, 0.004, 2000)
    narrow = paired_difference(0.02, a, b)
    assert narrow.ci[0] > 0 and narrow.p_value < 0.05
    folds_a = np.array([0.40, 0.60, 0.45, 0.58, 0.47])
    folds_b = np.array([0.50, 0.44, 0.52, 0.41, 0.53])
    wide = paired_difference(0.02, a, b, folds_a, folds_b, test_share=0.25)
    assert wide.ci[0] < 0 < wide.ci[1] and wide.p_value > 0.05
    assert wide.ci[0] <= narrow.ci[0] and wide.ci[1] >= narrow.ci[1]


def test_equivalence_needs_the_90_percent_interval_inside_the_margin():
    rng = np.random.default_rng(5)
    a = rng.normal(0.5, 0.002, 2000)
    assert paired_difference(0.0, a, a + rng.normal(0, 0.003, 2000)).equivalent(0.02)
    assert not paired_difference(0.0, a, a + rng.normal(0, 0.05, 2000)).equivalent(0.02)


def test_exact_binomial_never_collapses_to_a_point():
    low, high = exact_binomial(6, 6)
    assert high == 1.0 and low == pytest.approx(0.541, abs=0.001)  # 6 of 6: [0.54, 1]
    low, high = exact_binomial(0, 10)
    assert low == 0.0 and high == pytest.approx(0.308, abs=0.001)


def test_permutation_roc_auc_is_scikit_learns():
    from sklearn.metrics import roc_auc_score

    from imbreport.permutation import roc_auc

    rng = np.random.default_rng(6)
    scores = np.round(rng.random(300), 1)  # ties
    sets = positive_sets(300, 12, 10, seed=2)
    for positives, value in zip(sets, roc_auc([RankingPositions(scores)], sets), strict=True):
        y = np.zeros(300, bool)
        y[positives] = True
        assert value == pytest.approx(roc_auc_score(y, scores))


def test_group_permutations_keep_copies_together():
    groups = np.repeat(np.arange(50), 3)  # 50 groups of three copies
    y = np.zeros(150, bool)
    y[:9] = True  # the first three groups are positive
    sets = positive_sets(150, 9, 30, seed=0, groups=groups, y=y)
    for chosen in sets:
        assert len(chosen) == 9 and len(set(groups[chosen])) == 3  # whole groups move


def test_a_positive_group_of_a_unique_size_still_moves():
    groups = np.r_[np.zeros(5, int), np.repeat(np.arange(1, 41), 2)]  # one group of 5, 40 of 2
    y = np.zeros(len(groups), bool)
    y[:5] = True  # the positives are the group of five
    sets = positive_sets(len(groups), 5, 50, seed=0, groups=groups, y=y)
    assert all(len(set(chosen)) == 5 for chosen in sets)  # five distinct rows every time
    moved = [set(groups[chosen]) != {0} for chosen in sets]
    assert any(moved)  # the null is not a single point
