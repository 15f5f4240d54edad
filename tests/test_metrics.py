"""``metrics.RankedScores`` (one sort shared by every ranking metric and curve) against
scikit-learn's own functions, on scores with ties and with weighted negatives (``--sample``)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from imbreport import metrics as m


def _data(rows: int, seed: int, decimals: int = 2):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.08).astype(int)
    y[:2] = [0, 1]
    scores = np.round(np.clip(rng.normal(0.2, 0.15, rows) + 0.2 * y, 0, 1), decimals)
    return y, scores


@pytest.mark.parametrize("weight", [1.0, 7.5])
@pytest.mark.parametrize("decimals", [1, 2, 6])
def test_ranking_metrics_equal_scikit_learn(weight, decimals):
    y, scores = _data(3000, decimals, decimals)
    weights = np.where(y == 1, 1.0, weight)
    got = m.RankedScores(y, scores, weight).ranking_metrics(probabilistic=True)
    clipped = np.clip(scores, 1e-15, 1 - 1e-15)
    assert got["pr_auc"] == pytest.approx(
        skm.average_precision_score(y, scores, sample_weight=weights), abs=1e-12
    )
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)
    assert got["log_loss"] == pytest.approx(
        skm.log_loss(y, clipped, sample_weight=weights), rel=1e-12
    )
    assert got["brier"] == pytest.approx(np.average((scores - y) ** 2, weights=weights))


@pytest.mark.parametrize("weight", [1.0, 4.0])
def test_curves_equal_scikit_learn(weight):
    y, scores = _data(800, 3)
    weights = np.where(y == 1, 1.0, weight)
    ranked = m.RankedScores(y, scores, weight)
    precision, recall, _ = skm.precision_recall_curve(y, scores, sample_weight=weights)
    pr = m.pr_points(y, scores, ranked=ranked)
    assert pr["recall"] == pytest.approx(recall[::-1], abs=1e-5)
    assert pr["precision"] == pytest.approx(precision[::-1], abs=1e-5)
    fpr, tpr, _ = skm.roc_curve(y, scores)
    roc = m.roc_points(y, scores, ranked=ranked)
    assert roc["fpr"] == pytest.approx(fpr, abs=1e-5)
    assert roc["tpr"] == pytest.approx(tpr, abs=1e-5)
    # without a shared ranking the functions build their own, with the same result
    assert m.pr_points(y, scores, weight) == pr


def test_subset_is_the_fold_ranked_on_its_own():
    y, scores = _data(2000, 4)
    ranked = m.RankedScores(y, scores, 3.0)
    rows = np.random.default_rng(0).choice(len(y), 500, replace=False)
    part = ranked.subset(rows)
    alone = m.RankedScores(y[rows], scores[rows], 3.0)
    np.testing.assert_array_equal(part.thresholds, alone.thresholds)
    np.testing.assert_array_equal(part.tps, alone.tps)
    np.testing.assert_array_equal(part.fps, alone.fps)
    assert part.pr_auc() == alone.pr_auc()


def test_threshold_sweep_counts_rows_at_or_above_each_threshold():
    y, scores = _data(1500, 5)
    weight = 2.0
    sweep = m.threshold_sweep(y, scores, cost_fp=1.0, cost_fn=10.0, negative_weight=weight)
    for t, precision, recall, cost in zip(
        sweep["threshold"], sweep["precision"], sweep["recall"], sweep["cost"], strict=True
    ):
        flagged = scores >= t
        tp = np.sum(flagged & (y == 1))
        fp = weight * np.sum(flagged & (y == 0))
        fn = np.sum(~flagged & (y == 1))
        total = np.sum(y == 1) + weight * np.sum(y == 0)
        assert recall == pytest.approx(tp / np.sum(y == 1), abs=1e-5)
        assert precision == pytest.approx(tp / (tp + fp) if tp + fp else 0.0, abs=1e-5)
        assert cost == pytest.approx((fp + 10.0 * fn) / total, abs=1e-5)


def test_fold_bands_enclose_every_fold_curve():
    y, scores = _data(3000, 6)
    folds = np.array_split(np.random.default_rng(1).permutation(len(y)), 5)
    bands = m.fold_bands(y, scores, folds)
    grid = np.array(bands["fpr"])
    for fold in folds:
        fpr, tpr, _ = skm.roc_curve(y[fold], scores[fold])
        curve = np.interp(grid, fpr, tpr)
        assert np.all(curve >= np.array(bands["tpr_low"]) - 1e-5)
        assert np.all(curve <= np.array(bands["tpr_high"]) + 1e-5)


@pytest.mark.parametrize("decimals", [2, 6])
def test_fold_band_precision_is_the_best_precision_at_or_above_each_recall(decimals):
    y, scores = _data(3000, 7, decimals)
    folds = np.array_split(np.random.default_rng(2).permutation(len(y)), 5)
    bands = m.fold_bands(y, scores, folds)
    grid = np.array(bands["recall"])
    exact = []
    for fold in folds:
        precision, recall, _ = skm.precision_recall_curve(y[fold], scores[fold])
        exact.append([precision[recall >= r - 1e-12].max() for r in grid])
    np.testing.assert_allclose(bands["precision_high"], np.max(exact, axis=0), atol=1e-5)
    np.testing.assert_allclose(bands["precision_low"], np.min(exact, axis=0), atol=1e-5)


def test_bootstrap_measured_in_blocks_gives_the_same_distributions(monkeypatch):
    """Small data's resamples are measured a block at a time (memory); the blocks must not
    change any strategy's bootstrap distribution beyond the last bit of a BLAS matrix-vector
    product (its summation may differ with the block's shape: 1e-16 relative)."""
    import numpy as np

    from imbreport import metrics

    rng = np.random.default_rng(5)
    y = rng.random(3_000) < 0.05
    inputs = {}
    for name, noise in (("a", 0.5), ("b", 1.0)):
        scores = 1 / (1 + np.exp(-(y * 2.0 + rng.normal(0, noise * 2, y.size))))
        inputs[name] = metrics.BootstrapInput(
            scores=scores[None, :],
            default_pred=(scores >= 0.5)[None, :],
            tuned_pred=(scores >= 0.3)[None, :],
            probabilistic=True,
        )

    def run(cells):
        monkeypatch.setattr(metrics, "ACCUMULATE_CELLS", cells)
        return metrics.bootstrap(y, inputs, resamples=200, seed=3, threads=2)

    whole, blocks = run(10**9), run(3_000 * 7)  # one block; blocks of 7 resamples
    for name in inputs:
        for part in ("default", "tuned"):
            for metric, values in whole[name][part].items():
                assert len(values) == 200
                np.testing.assert_allclose(
                    values, blocks[name][part][metric], rtol=1e-12, atol=0, err_msg=metric
                )
