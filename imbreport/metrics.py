"""Metrics, their stratified-bootstrap intervals, and curve points for drawing.

Point estimates follow scikit-learn's definitions (PR-AUC is ``average_precision_score``; tests
check ``RankedScores``, which sorts each strategy's scores once, against scikit-learn). Intervals come
from a vectorised stratified bootstrap of the evaluated predictions: positives and negatives are
resampled separately, and the *same* resamples are used for every strategy so that differences
between strategies are paired. Above ``LARGE_NEGATIVES`` negatives, negatives are resampled as
counts over score intervals per strategy (exact for each strategy's own metrics); strategies are
then paired through the positives only, which makes differences' intervals a little wider.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imbreport.model import METRIC_KEYS, Metric

MAX_CURVE_POINTS = 500
#: Upper bound on resamples × rows per bootstrap chunk (memory of one chunk ≈ 8 bytes × this).
CHUNK_CELLS = 20_000_000
#: Cells (resamples × rows) measured at once on small data: each strategy's working copies of
#: them (about three, in each of two threads) stay near 100 MB; a 3,000-row holdout's
#: bootstrap peaked at +520 MB when all 1,000 resamples were measured together.
ACCUMULATE_CELLS = 500_000


def confusion_counts(y: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    y = np.asarray(y, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    return {
        "tp": int(np.sum(y & predicted)),
        "fp": int(np.sum(~y & predicted)),
        "tn": int(np.sum(~y & ~predicted)),
        "fn": int(np.sum(y & ~predicted)),
    }


def metrics_from_counts(tp, fp, tn, fn) -> dict[str, np.ndarray]:
    """Threshold metrics from confusion counts (scalars or arrays), with 0 where undefined."""
    tp, fp, tn, fn = (np.asarray(v, dtype=float) for v in (tp, fp, tn, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        specificity = np.where(tn + fp > 0, tn / (tn + fp), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        total = tp + fp + tn + fn
        accuracy = (tp + tn) / total
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(denominator > 0, (tp * tn - fp * fn) / denominator, 0.0)
    return {
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "balanced_accuracy": (recall + specificity) / 2,
        "mcc": mcc,
        "g_mean": np.sqrt(recall * specificity),
        "accuracy": accuracy,
    }


def threshold_metrics(
    y: np.ndarray, predicted: np.ndarray, negative_weight: float = 1.0
) -> dict[str, float]:
    """Metrics of one set of 0/1 predictions.

    ``negative_weight`` (1 / the share of negatives kept by ``--sample``) makes each evaluated
    negative stand for the negatives it represents, so that prevalence-dependent metrics describe
    the full data.
    """
    counts = confusion_counts(y, predicted)
    counts["fp"] *= negative_weight
    counts["tn"] *= negative_weight
    return {k: float(v) for k, v in metrics_from_counts(**counts).items()}


def ranking_metrics(
    y: np.ndarray, scores: np.ndarray, probabilistic: bool, negative_weight: float = 1.0
) -> dict[str, float | None]:
    """The threshold-free metrics: PR-AUC, ROC-AUC, and Brier / log-loss for probabilities."""
    return RankedScores(y, scores, negative_weight).ranking_metrics(probabilistic)


class RankedScores:
    """One strategy's scores sorted once, shared by every threshold-free metric and curve.

    The same construction as scikit-learn's ``confusion_matrix_at_thresholds``: scores in
    descending order, and the (weighted) positives and negatives at or above each distinct
    score. PR-AUC is ``average_precision_score``'s step integral and ROC-AUC the trapezoidal area
    under ``roc_curve`` (tests check both against scikit-learn). Each evaluated negative counts
    ``negative_weight`` times (``--sample``).
    """

    def __init__(self, y, scores, negative_weight: float = 1.0):
        self.y = np.asarray(y).astype(bool)
        self.scores = np.asarray(scores, dtype=float)
        self.negative_weight = negative_weight
        self.order = np.argsort(self.scores, kind="mergesort")[::-1]
        self._set_counts(self.scores[self.order], self.y[self.order])

    def _set_counts(self, sorted_scores: np.ndarray, sorted_y: np.ndarray) -> None:
        ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
        self.thresholds = sorted_scores[ends]  # descending distinct scores
        self.tps = np.cumsum(sorted_y)[ends].astype(float)
        self.fps = (ends + 1 - self.tps) * self.negative_weight

    def subset(self, rows: np.ndarray) -> RankedScores:
        """The same view of the rows ``rows`` only (a fold), without sorting again."""
        inside = np.zeros(len(self.y), dtype=bool)
        inside[rows] = True
        kept = self.order[inside[self.order]]
        part = object.__new__(RankedScores)
        part.y, part.scores = self.y[rows], self.scores[rows]
        part.negative_weight, part.order = self.negative_weight, None
        part._set_counts(self.scores[kept], self.y[kept])
        return part

    @property
    def both_classes(self) -> bool:
        return self.tps[-1] > 0 and self.fps[-1] > 0

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall at each distinct score, highest score first."""
        predicted = self.tps + self.fps
        precision = np.divide(self.tps, predicted, out=np.zeros_like(self.tps), where=predicted > 0)
        return precision, self.tps / self.tps[-1]

    def pr_auc(self) -> float:
        return float(max(0.0, _curve_areas(self.tps[None], self.fps[None])[0][0]))

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """``roc_curve``'s points (with ``drop_intermediate``), from (0, 0)."""
        fps, tps = self.fps, self.tps
        if len(fps) > 2:
            keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
            fps, tps = fps[keep], tps[keep]
        return np.r_[0.0, fps / self.fps[-1]], np.r_[0.0, tps / self.tps[-1]]

    def roc_auc(self) -> float:
        return float(_curve_areas(self.tps[None], self.fps[None])[1][0])

    def ranking_metrics(self, probabilistic: bool) -> dict[str, float | None]:
        values: dict[str, float | None] = {
            "pr_auc": self.pr_auc(),
            "roc_auc": self.roc_auc(),
            "brier": None,
            "log_loss": None,
        }
        if probabilistic:
            y, scores = self.y, self.scores
            weights = np.where(y, 1.0, self.negative_weight)
            clipped = np.clip(scores, 1e-15, 1 - 1e-15)
            losses = -np.where(y, np.log(clipped), np.log1p(-clipped))
            values["brier"] = float(np.average((scores - y) ** 2, weights=weights))
            values["log_loss"] = float(np.average(losses, weights=weights))
        return values

    def counts_at(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Weighted) positives and negatives scored at or above each threshold."""
        above = np.searchsorted(-self.thresholds, -np.asarray(thresholds, float), side="right")
        tp = np.r_[0.0, self.tps][above]
        fp = np.r_[0.0, self.fps][above]
        return tp, fp


def _curve_areas(tp: np.ndarray, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PR-AUC (``average_precision_score``'s step integral) and ROC-AUC (trapezoids) per row, from
    the (weighted) positives and negatives at or above each distinct score, highest score first
    (rows: one ranking, or one per bootstrap resample)."""
    start = np.zeros((len(tp), 1))
    recall = tp / tp[:, -1:]
    precision = tp / np.maximum(tp + fp, 1e-12)
    pr_auc = np.sum(np.diff(np.c_[start, recall], axis=1) * precision, axis=1)
    tpr, fpr = np.c_[start, recall], np.c_[start, fp / fp[:, -1:]]
    roc_auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
    return pr_auc, roc_auc


def point_metrics(
    y: np.ndarray,
    scores: np.ndarray,
    predicted: np.ndarray,
    probabilistic: bool,
    negative_weight: float = 1.0,
) -> dict[str, float | None]:
    """Every metric on one set of predictions, in ``METRIC_KEYS`` order."""
    values = {
        **threshold_metrics(y, predicted, negative_weight),
        **ranking_metrics(y, scores, probabilistic, negative_weight),
    }
    return {k: values[k] for k in METRIC_KEYS}


@dataclass
class BootstrapInput:
    """One strategy's evaluated predictions, for every repeat (rows are the same across repeats)."""

    scores: np.ndarray  # (repeats, n)
    default_pred: np.ndarray  # (repeats, n) bool
    tuned_pred: np.ndarray  # (repeats, n) bool
    probabilistic: bool


#: Above this many negatives the bootstrap resamples negatives per strategy from score intervals
#: (exact for each strategy's own metrics; strategies are then paired through the positives only).
LARGE_NEGATIVES = 5_000


def bootstrap(
    y: np.ndarray,
    inputs: dict[str, BootstrapInput],
    resamples: int,
    seed: int,
    negative_weight: float = 1.0,
    threads: int = 1,
    groups: np.ndarray | None = None,
    chunk_cells: int = CHUNK_CELLS,
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Stratified bootstrap distributions: ``{strategy: {"default"|"tuned": {metric: (B,)}}}``.

    Every strategy is evaluated on the same resamples of the positives (and, up to
    ``LARGE_NEGATIVES``, of the negatives too), so ``a - b`` of two distributions is the paired
    bootstrap distribution of the difference. Strategies are measured in ``threads`` threads
    (NumPy releases the GIL); the resamples, drawn first, do not depend on it. With ``groups``
    (a group number per row: copies of a feature row, ``--groups``) whole groups are resampled
    within each class (a cluster bootstrap), since the rows of a group are not independent.
    """
    from concurrent.futures import ThreadPoolExecutor

    y = np.asarray(y).astype(bool)
    positives = np.flatnonzero(y)
    negatives = np.flatnonzero(~y)
    rng = np.random.default_rng(seed)
    large = len(negatives) > LARGE_NEGATIVES
    n = len(positives) if large else len(y)
    chunk = max(1, min(resamples, chunk_cells // max(n, 1)))
    collected: dict[str, dict[str, dict[str, list]]] = {
        name: {"default": {}, "tuned": {}} for name in inputs
    }
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:

        def each_strategy(work) -> dict:
            return dict(zip(inputs, pool.map(work, inputs), strict=True))

        prepared = each_strategy(
            lambda name: (
                _IntervalRanking(inputs[name], y, negative_weight)
                if large
                else _ranking(inputs[name].scores, y)
            )
        )
        done = 0
        while done < resamples:
            b = min(chunk, resamples - done)
            positive_weights = _counts(rng, _of(groups, positives), len(positives), b)
            if large:
                negative_seed = int(rng.integers(2**63))
                each_strategy(
                    lambda name, pw=positive_weights, ns=negative_seed: prepared[name].accumulate(
                        collected[name], pw, ns
                    )
                )
            else:
                weights = np.zeros((b, len(y)), dtype=np.float64)
                weights[:, positives] = positive_weights
                negative_counts = _counts(rng, _of(groups, negatives), len(negatives), b)
                weights[:, negatives] = negative_counts * negative_weight
                # measured a block of resamples at a time: each strategy's working arrays are
                # resamples × rows, and resamples are measured independently of one another
                # (the same values, but for the last bit of BLAS's matrix-vector products)
                block = max(1, ACCUMULATE_CELLS // len(y))
                for start in range(0, b, block):
                    each_strategy(
                        lambda name, w=weights[start : start + block]: _accumulate(
                            collected[name], w, y, inputs[name], prepared[name]
                        )
                    )
            done += b
    return {
        name: {
            part: {metric: np.concatenate(chunks) for metric, chunks in table.items()}
            for part, table in parts.items()
        }
        for name, parts in collected.items()
    }


def _uniform_counts(rng, rows: int, resamples: int) -> np.ndarray:
    """How often each of ``rows`` rows is drawn in each resample (multinomial counts)."""
    return rng.multinomial(rows, np.full(rows, 1 / rows), size=resamples).astype(np.float64)


def _of(groups: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if groups is None else groups[rows]


def _counts(rng, groups: np.ndarray | None, rows: int, resamples: int) -> np.ndarray:
    """How often each row is drawn in each resample: row by row, or, with ``groups`` (the group
    of each row), whole groups drawn with replacement and each row counted as often as its
    group."""
    if groups is None:
        return _uniform_counts(rng, rows, resamples)
    ids = np.unique(groups, return_inverse=True)[1]
    drawn = _uniform_counts(rng, int(ids.max()) + 1, resamples)
    return drawn[:, ids]


def _add_to(table, sums) -> None:
    for part, values in sums.items():
        for key, value in values.items():
            table[part].setdefault(key, []).append(value)


class _IntervalRanking:
    """Bootstrap of one strategy when negatives are many.

    Positives are resampled row by row (shared weights). Negatives are resampled as multinomial
    counts over the intervals that the positives' distinct scores cut the score axis into, which
    is exactly what ranking metrics depend on; thresholded counts of negatives are binomial, and
    the negatives' share of Brier / log-loss uses its normal approximation (N > 5,000).
    """

    def __init__(self, inp: BootstrapInput, y: np.ndarray, negative_weight: float = 1.0):
        self.inp = inp
        self.negative_weight = negative_weight
        self.repeats = []
        for r in range(inp.scores.shape[0]):
            scores = inp.scores[r]
            pos, neg = scores[y], np.sort(scores[~y])
            cuts = np.unique(pos)[::-1]
            above = len(neg) - np.searchsorted(neg, cuts, side="right")  # negatives > cut
            at_or_above = len(neg) - np.searchsorted(neg, cuts, side="left")
            sizes = np.empty(2 * len(cuts) + 1)
            sizes[0] = above[0]
            sizes[1::2] = at_or_above - above
            sizes[2:-1:2] = above[1:] - at_or_above[:-1]
            sizes[-1] = len(neg) - at_or_above[-1]
            level = np.searchsorted(-cuts, -pos)  # index of each positive's cut
            order = np.argsort(level, kind="mergesort")
            starts = np.flatnonzero(np.r_[True, level[order][1:] != level[order][:-1]])
            losses = None
            if inp.probabilistic:
                clipped = np.clip(scores, 1e-15, 1 - 1e-15)
                losses = {
                    "brier": ((scores - y) ** 2),
                    "log_loss": -(y * np.log(clipped) + (~y) * np.log(1 - clipped)),
                }
            self.repeats.append((sizes / len(neg), order, starts, len(neg), losses, y))

    def accumulate(self, table, positive_weights, negative_seed: int) -> None:
        """Add one chunk of resamples. Every repeat draws its negatives from the same seed, so
        repeats share one resample of the negatives (as the exact mode shares row weights)."""
        b = len(positive_weights)
        total_pos = positive_weights.sum(axis=1)  # varies per resample with groups
        sums: dict[str, dict[str, np.ndarray]] = {"default": {}, "tuned": {}}
        w = self.negative_weight
        for r, (shares, order, starts, n_rows, losses, y) in enumerate(self.repeats):
            rng = np.random.default_rng(negative_seed)
            n_neg = n_rows * w  # the negatives the evaluated ones stand for
            counts = rng.multinomial(n_rows, shares, size=b).astype(np.float64) * w
            cumulative = np.cumsum(counts, axis=1)
            fp_ge = cumulative[:, 1::2]
            fp_gt = fp_ge - counts[:, 1::2]
            tp_eq = np.add.reduceat(positive_weights[:, order], starts, axis=1)
            tp_ge = np.cumsum(tp_eq, axis=1)
            tp_gt = tp_ge - tp_eq
            share = tp_eq / total_pos[:, None]
            pr_auc = np.sum(share * tp_ge / np.maximum(tp_ge + fp_ge, 1e-12), axis=1)
            ties = (fp_ge - fp_gt) * (tp_gt + tp_ge) / 2
            gaps = (fp_gt[:, 1:] - fp_ge[:, :-1]) * tp_ge[:, :-1]
            tail = (n_neg - fp_ge[:, -1]) * total_pos
            roc_auc = (ties.sum(axis=1) + gaps.sum(axis=1) + tail) / (total_pos * n_neg)
            free = {"pr_auc": pr_auc, "roc_auc": roc_auc}
            if losses is not None:
                for key, loss in losses.items():
                    negative_loss = loss[~y]
                    spread = w * np.sqrt(n_rows * negative_loss.var()) * rng.standard_normal(b)
                    total = positive_weights @ loss[y] + n_neg * negative_loss.mean() + spread
                    free[key] = total / (total_pos + n_neg)
            for part, predicted in (
                ("default", self.inp.default_pred[r]),
                ("tuned", self.inp.tuned_pred[r]),
            ):
                tp = positive_weights @ predicted[y]
                fp = w * rng.binomial(n_rows, predicted[~y].mean(), size=b).astype(np.float64)
                values = {**free, **metrics_from_counts(tp, fp, n_neg - fp, total_pos - tp)}
                for key, value in values.items():
                    sums[part][key] = sums[part].get(key, 0.0) + value / len(self.repeats)
        _add_to(table, sums)


def _ranking(scores: np.ndarray, y: np.ndarray):
    """Per repeat: descending order of scores and the last index of each tie group."""
    out = []
    for row in np.atleast_2d(scores):
        order = np.argsort(-row, kind="mergesort")
        sorted_scores = row[order]
        ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
        out.append((order, ends, y[order]))
    return out


def _accumulate(table, weights, y, inp: BootstrapInput, rankings) -> None:
    repeats = inp.scores.shape[0]
    sums: dict[str, dict[str, np.ndarray]] = {"default": {}, "tuned": {}}
    total = weights.sum(axis=1)
    total_pos = weights @ y
    total_neg = total - total_pos
    for r in range(repeats):
        order, ends, y_sorted = rankings[r]
        # weight at or above each distinct score: one cumulative sum over every row, and one over
        # the (few) positives, read at the number of positives up to each end
        at_or_above = np.cumsum(weights[:, order], axis=1)[:, ends]
        positive_rows = order[y_sorted]
        positives_up_to = np.cumsum(y_sorted)[ends]
        tp_cum = np.c_[np.zeros(len(weights)), np.cumsum(weights[:, positive_rows], axis=1)][
            :, positives_up_to
        ]
        pr_auc, roc_auc = _curve_areas(tp_cum, at_or_above - tp_cum)
        free = {"pr_auc": pr_auc, "roc_auc": roc_auc}
        if inp.probabilistic:
            s = inp.scores[r]
            free["brier"] = weights @ ((s - y) ** 2) / total
            clipped = np.clip(s, 1e-15, 1 - 1e-15)
            free["log_loss"] = weights @ -(y * np.log(clipped) + (~y) * np.log(1 - clipped)) / total
        for part, predicted in (("default", inp.default_pred[r]), ("tuned", inp.tuned_pred[r])):
            tp = weights @ (y & predicted)
            fp = weights @ (~y & predicted)
            values = {**free, **metrics_from_counts(tp, fp, total_neg - fp, total_pos - tp)}
            for key, value in values.items():
                sums[part][key] = sums[part].get(key, 0.0) + value / repeats
    _add_to(table, sums)


def random_ranking_pr_auc(
    positives: int, rows: int, quantile: float = 0.95, draws: int = 1000, seed: int = 0
) -> float:
    """The ``quantile`` of PR-AUC (average precision) reached by a *random* ranking.

    Average precision of a random ranking exceeds the prevalence in a finite sample (the fewer the
    positives, the more), so "beats chance" also asks the observed PR-AUC to exceed this level.
    """
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, positives + 1)
    values = np.empty(draws)
    for i in range(draws):
        positions = np.sort(rng.choice(rows, positives, replace=False)) + 1
        values[i] = np.mean(ranks / positions)
    return float(np.quantile(values, quantile))


def interval(distribution: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of a bootstrap distribution."""
    low, high = np.nanpercentile(distribution, [2.5, 97.5])
    return float(low), float(high)


def with_intervals(
    values: dict[str, float | None], distributions: dict[str, np.ndarray]
) -> dict[str, Metric]:
    out = {}
    for key in METRIC_KEYS:
        value = values.get(key)
        if value is None or key not in distributions:
            out[key] = Metric(value, None)
        else:
            out[key] = Metric(value, interval(distributions[key]))
    return out


# --- curves -------------------------------------------------------------------------------------


def _downsample(*arrays: np.ndarray, limit: int = MAX_CURVE_POINTS) -> list[list[float]]:
    n = len(arrays[0])
    if n > limit:
        keep = np.unique(np.r_[np.linspace(0, n - 1, limit).round().astype(int)])
        arrays = tuple(a[keep] for a in arrays)
    return [np.round(np.asarray(a, dtype=float), 5).tolist() for a in arrays]


def roc_points(y, scores, ranked: RankedScores | None = None) -> dict[str, list[float]]:
    fpr, tpr = (ranked or RankedScores(y, scores)).roc()
    fpr, tpr = _downsample(fpr, tpr)
    return {"fpr": fpr, "tpr": tpr}


def pr_points(
    y, scores, negative_weight: float = 1.0, ranked: RankedScores | None = None
) -> dict[str, list[float]]:
    """``precision_recall_curve``'s points in order of increasing recall, from (0, 1)."""
    precision, recall = (ranked or RankedScores(y, scores, negative_weight)).precision_recall()
    recall, precision = _downsample(np.r_[0.0, recall], np.r_[1.0, precision])
    return {"recall": recall, "precision": precision}


RECALL_GRID = np.linspace(0, 1, 51)
FPR_GRID = np.linspace(0, 1, 51)


def fold_bands(y, scores, folds, ranked: RankedScores | None = None) -> dict[str, list[float]]:
    """Per-fold PR and ROC curves on a common grid: min and max across folds (the fold band)."""
    ranked = ranked or RankedScores(y, scores)
    precisions, tprs = [], []
    for test_idx in folds:
        fold = ranked.subset(test_idx)
        if not fold.both_classes:
            continue
        precision, recall = fold.precision_recall()
        precision, recall = np.r_[1.0, precision], np.r_[0.0, recall]
        # interpolated precision: the best precision at recall >= r (read at the first point of
        # each recall: negatives between two positives repeat a recall with falling precision)
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        distinct, first = np.unique(recall, return_index=True)
        at_or_above = np.minimum(np.searchsorted(distinct, RECALL_GRID - 1e-12), len(first) - 1)
        precisions.append(envelope[first][at_or_above])
        fpr, tpr = fold.roc()
        tprs.append(np.interp(FPR_GRID, fpr, tpr))
    if len(precisions) < 2:
        return {}
    precisions, tprs = np.array(precisions), np.array(tprs)
    grid, p_low, p_high = _downsample(RECALL_GRID, precisions.min(0), precisions.max(0))
    fgrid, t_low, t_high = _downsample(FPR_GRID, tprs.min(0), tprs.max(0))
    return {
        "recall": grid,
        "precision_low": p_low,
        "precision_high": p_high,
        "fpr": fgrid,
        "tpr_low": t_low,
        "tpr_high": t_high,
    }


def threshold_sweep(
    y,
    scores,
    cost_fp=None,
    cost_fn=None,
    negative_weight: float = 1.0,
    ranked: RankedScores | None = None,
) -> dict[str, list[float]]:
    """Precision, recall, F1 (and cost) against the threshold, over the score range; each
    negative counts ``negative_weight`` times (``--sample``)."""
    ranked = ranked or RankedScores(y, scores, negative_weight)
    ascending = ranked.scores[ranked.order[::-1]]
    low, high = ascending[0], ascending[-1]
    if high > low:
        # even steps over the range plus score quantiles, so bunched scores still get a smooth curve
        quantiles = np.interp(np.linspace(0, 1, 251), np.linspace(0, 1, len(ascending)), ascending)
        thresholds = np.unique(np.r_[np.linspace(low, high, 151), quantiles])
    else:
        thresholds = np.array([low])
    tp, fp = ranked.counts_at(thresholds)
    fn = ranked.tps[-1] - tp
    tn = ranked.fps[-1] - fp
    values = metrics_from_counts(tp, fp, tn, fn)
    out = {
        "threshold": thresholds,
        "precision": values["precision"],
        "recall": values["recall"],
        "f1": values["f1"],
    }
    if cost_fp is not None and cost_fn is not None:
        out["cost"] = (cost_fp * fp + cost_fn * fn) / (tp + fp + tn + fn)
    keys = list(out)
    return dict(zip(keys, _downsample(*(out[k] for k in keys)), strict=True))


def calibration_points(
    y, scores, bins: int = 10, min_rows: int = 10, negative_weight: float = 1.0
) -> dict[str, list[float]]:
    """Reliability curve: mean predicted probability vs observed share of positives.

    Equal-width probability bins (quantile bins would put every positive of a rare class into the
    top bin); bins with fewer than ``min_rows`` rows are left out, and ``rows`` says how many rows
    each point rests on.
    """
    y = np.asarray(y, dtype=float)
    scores = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    which = np.minimum((scores * bins).astype(int), bins - 1)
    rows = np.bincount(which, minlength=bins)
    keep = rows >= min_rows
    weights = np.where(y == 1, 1.0, negative_weight)
    mass = np.bincount(which, weights=weights, minlength=bins)[keep]
    predicted = np.bincount(which, weights=scores * weights, minlength=bins)[keep] / mass
    observed = np.bincount(which, weights=y, minlength=bins)[keep] / mass
    predicted, observed, counts = _downsample(predicted, observed, rows[keep])
    return {"predicted": predicted, "observed": observed, "rows": counts}
