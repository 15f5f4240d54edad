"""Label-permutation null distributions of PR-AUC, for the "beats chance" test.

Under the null hypothesis that a strategy's out-of-fold scores carry no information about the
labels, the evaluated positives are a uniformly random subset of the evaluated rows. PR-AUC
(average precision, scikit-learn's definition, ties grouped) depends only on *where* the positives
fall in each strategy's ranking, so a permutation costs O(positives · log positives) whatever the
number of rows: draw which rows are positive, look up their positions, and recompute.

ROC-AUC (the Mann–Whitney statistic) is recomputed the same way, from the positives' ranks.
Every strategy is scored on the *same* permuted label sets, so the null statistics of different
strategies are paired: the judgement (``recommend``) combines them with a max-statistic
(Westfall & Young 1993) to control the family-wise error over every strategy tested.
"""

from __future__ import annotations

import numpy as np

#: Upper bound on permutations × positives per chunk (memory ≈ 8 bytes × this, a few times).
CHUNK_CELLS = 4_000_000


def positive_sets(
    n_rows: int,
    positives: int,
    permutations: int,
    seed: int,
    groups: np.ndarray | None = None,
    y: np.ndarray | None = None,
    shuffle_within: bool = False,
) -> np.ndarray:
    """The positives of ``permutations`` label permutations (one set of row numbers per row of
    the result).

    Without ``groups`` the labels of single rows are exchangeable: each set is ``positives``
    distinct rows drawn at random. With ``groups`` (a group number per row, and the labels
    ``y``), whole groups are: each group's count of positives goes to a random group of the same
    size, then to rows of that group: random rows with ``shuffle_within`` (declared groups,
    whose rows differ), else its first rows (copies of one feature row score alike, so which of
    them is immaterial).
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        out = np.empty((permutations, positives), dtype=np.int64)
        for b in range(permutations):
            out[b] = rng.choice(n_rows, positives, replace=False)
        return out
    return _group_positive_sets(
        np.asarray(groups), np.asarray(y, bool), permutations, rng, shuffle_within
    )


def _group_positive_sets(groups, y, permutations: int, rng, shuffle_within: bool) -> np.ndarray:
    ids = np.unique(groups, return_inverse=True)[1]
    sizes = np.bincount(ids)
    counts = np.bincount(ids, weights=y).astype(np.int64)
    rows_by_group = np.argsort(ids, kind="stable")
    starts = np.cumsum(sizes) - sizes
    strata = _size_strata(sizes)
    total = int(counts.sum())
    out = np.empty((permutations, total), dtype=np.int64)
    for b in range(permutations):
        assigned = np.empty_like(counts)
        for members in strata:
            assigned[members] = _fitted_counts(
                counts[rng.permutation(members)], sizes[members], rng
            )
        if shuffle_within:  # a new random order of the rows inside each group
            rows_by_group = np.lexsort((rng.random(len(ids)), ids))
        # the first ``assigned[g]`` rows of each group g in that order
        offsets = np.arange(total) - np.repeat(np.cumsum(assigned) - assigned, assigned)
        out[b] = rows_by_group[np.repeat(starts, assigned) + offsets]
    return out


def _size_strata(sizes: np.ndarray) -> list[np.ndarray]:
    """Groups that exchange their positives: groups of one size, neighbouring sizes merged until
    a stratum holds at least two groups (a group alone in its stratum would never move, and a
    positive group of a unique size would make the null distribution a single point)."""
    strata: list[list[int]] = []
    current: list[int] = []
    for group in np.argsort(sizes, kind="stable"):
        if current and sizes[group] != sizes[current[-1]] and len(current) >= 2:
            strata.append(current)
            current = []
        current.append(int(group))
    if strata and len(current) < 2:
        strata[-1].extend(current)
    elif current:
        strata.append(current)
    return [np.asarray(members) for members in strata]


def _fitted_counts(counts: np.ndarray, sizes: np.ndarray, rng) -> np.ndarray:
    """Positives per group after a swap within a stratum of mixed sizes: no group gets more
    positives than rows; the excess goes to random groups with room (the total is kept)."""
    fitted = np.minimum(counts, sizes)
    excess = int(counts.sum() - fitted.sum())
    while excess > 0:
        room = np.flatnonzero(fitted < sizes)
        fitted[rng.choice(room)] += 1
        excess -= 1
    return fitted


class RankingPositions:
    """Where each row falls in one ranking (scores highest first) and the tie group it is in."""

    def __init__(self, scores: np.ndarray):
        scores = np.asarray(scores, dtype=float)
        order = np.argsort(scores, kind="mergesort")[::-1]
        sorted_scores = scores[order]
        new_group = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
        group_of_position = np.cumsum(new_group) - 1
        self.group_of_row = np.empty(len(scores), dtype=np.int64)
        self.group_of_row[order] = group_of_position
        #: rows at or above the end of each tie group
        self.rows_through_group = np.flatnonzero(np.r_[new_group[1:], True]) + 1
        #: each tie group's rank from the bottom (1 = lowest score), ties at their mean rank
        first = np.r_[0, self.rows_through_group[:-1]]
        self.midrank = len(scores) - (first + self.rows_through_group - 1) / 2


def average_precision(
    rankings: list[RankingPositions], positive_rows: np.ndarray, negative_weight: float = 1.0
) -> np.ndarray:
    """PR-AUC for each set of positive rows (a row of ``positive_rows``), averaged over the
    rankings (the repeats of a cross-validation); each negative counts ``negative_weight``
    times (``--sample``)."""
    positive_rows = np.atleast_2d(positive_rows)
    sets, positives = positive_rows.shape
    out = np.zeros(sets)
    chunk = max(1, CHUNK_CELLS // max(positives, 1))
    for start in range(0, sets, chunk):
        rows = positive_rows[start : start + chunk]
        for ranking in rankings:
            out[start : start + len(rows)] += _average_precision(ranking, rows, negative_weight)
    return out / len(rankings)


def _average_precision(ranking: RankingPositions, rows: np.ndarray, weight: float) -> np.ndarray:
    groups = np.sort(ranking.group_of_row[rows], axis=1)
    sets, positives = groups.shape
    # positives at or above the end of each positive's tie group: search the sorted groups of
    # all sets at once (offset so that the flattened array stays sorted)
    span = int(ranking.rows_through_group.shape[0])
    offset = (np.arange(sets, dtype=np.int64) * span)[:, None]
    flat = (groups + offset).ravel()
    through = np.searchsorted(flat, flat, side="right").reshape(sets, positives)
    tp = (through - np.arange(sets)[:, None] * positives).astype(float)
    rows_above = ranking.rows_through_group[groups]
    precision = tp / (tp + (rows_above - tp) * weight)
    return precision.mean(axis=1)


def roc_auc(rankings: list[RankingPositions], positive_rows: np.ndarray) -> np.ndarray:
    """ROC-AUC for each set of positive rows (the Mann–Whitney statistic with ties at their mean
    rank, as ``roc_auc_score``), averaged over the rankings; it does not depend on how much each
    negative weighs."""
    positive_rows = np.atleast_2d(positive_rows)
    positives = positive_rows.shape[1]
    out = np.zeros(len(positive_rows))
    for ranking in rankings:
        n = len(ranking.group_of_row)
        negatives = n - positives
        ranks = ranking.midrank[ranking.group_of_row[positive_rows]].sum(axis=1)
        out += (ranks - positives * (positives + 1) / 2) / (positives * negatives)
    return out / len(rankings)


def null_pr_auc(
    rankings: list[RankingPositions],
    permuted_positives: np.ndarray,
    negative_weight: float = 1.0,
) -> np.ndarray:
    """The PR-AUC a strategy reaches under each label permutation: its null distribution."""
    return average_precision(rankings, permuted_positives, negative_weight)
