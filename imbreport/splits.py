"""How the rows are split: stratified (repeated) K-fold or one holdout, and the row sets inside
a training part (fitting rows and a validation share; stratified samples).

Every split keeps its evaluated rows (``test``) apart from the rows any model or threshold of that
split learns from (``train``, divided into ``fit`` and ``validation`` on large data).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imbreport.errors import InputError
from imbreport.options import AnalysisOptions

DEFAULT_INNER_FOLDS = 3


@dataclass(frozen=True)
class Split:
    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray
    #: Large training parts: the rows models are fitted on and the validation rows thresholds
    #: are tuned on (a stratified split of ``train``, drawn once for every strategy).
    fit: np.ndarray | None = None
    validation: np.ndarray | None = None


def make_splits(
    y: np.ndarray,
    options: AnalysisOptions,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[list[Split], list[str]]:
    """Stratified K-fold (repeated) or a single stratified holdout split, with notes. With
    ``groups`` (a group number per row), every group stays whole on one side of every split
    (stratified group K-fold). With ``order`` (``--time``: a sortable value per row), the splits
    follow time instead (``time_splits``)."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, train_test_split

    if order is not None:
        return time_splits(y, order, options)
    positives = int(y.sum())
    notes: list[str] = []
    index = np.arange(len(y))
    if options.holdout:
        if groups is not None:
            return [_group_holdout(y, groups, options.holdout, options.seed)], notes
        test_pos = round(positives * options.holdout)
        if test_pos < 1 or positives - test_pos < 2:
            raise InputError(
                f"A holdout of {options.holdout:g} leaves {test_pos} positive(s) in the test split "
                f"and {positives - test_pos} in the training split (of {positives}); use "
                "cross-validation (drop --holdout) or a different fraction."
            )
        train, test = train_test_split(
            index, test_size=options.holdout, stratify=y, random_state=options.seed
        )
        return [Split(0, 0, train, test)], notes
    folds = options.folds
    units = positives if groups is None else len(np.unique(groups[y == 1]))
    what = "positives" if groups is None else "groups holding a positive"
    if units < 2:
        raise InputError(
            f"Only {units} of the {what}: cross-validation needs at least 2 (rows of one group "
            "stay in one fold)."
        )
    if units < folds:
        notes.append(
            f"Only {units} {what}: cross-validation uses {units} folds instead of "
            f"{folds} so that every fold has a positive."
        )
        folds = units
    if groups is not None:
        return _group_folds(y, groups, folds, options), notes
    if options.repeats > 1:
        splitter = RepeatedStratifiedKFold(
            n_splits=folds, n_repeats=options.repeats, random_state=options.seed
        )
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=options.seed)
    splits = [
        Split(i // folds, i % folds, train, test)
        for i, (train, test) in enumerate(splitter.split(index, y))
    ]
    return splits, notes


def time_splits(
    y: np.ndarray, order: np.ndarray, options: AnalysisOptions
) -> tuple[list[Split], list[str]]:
    """Forward-chaining splits: the rows in time order are cut into K + 1 consecutive blocks and
    split k learns from blocks 0…k and is evaluated on block k + 1 (an expanding window), so
    every evaluated row is later than every row its model learned from; rows sharing a time
    stay in one block. A holdout evaluates the latest ``holdout`` share of the rows. Fewer folds
    are used when a block would hold no positive (or a first training part fewer than 2)."""
    by_time = np.argsort(order, kind="stable")
    ordered = order[by_time]
    positives_before = np.concatenate([[0], np.cumsum(y[by_time])])
    n = len(y)
    if options.holdout:
        cuts = _time_cuts(ordered, [1 - options.holdout])
        if cuts is None or not _usable(positives_before, [0, *cuts, n]):
            raise InputError(
                f"A time holdout of the latest {options.holdout:g} of the rows leaves too few "
                "positives on one side (the test part needs 1, the training part 2); use "
                "cross-validation (drop --holdout) or a different fraction."
            )
        edges = [0, *cuts, n]
    else:
        edges = None
        for folds in range(options.folds, 0, -1):
            cuts = _time_cuts(ordered, [k / (folds + 1) for k in range(1, folds + 1)])
            if cuts is not None and _usable(positives_before, [0, *cuts, n]):
                edges = [0, *cuts, n]
                break
        if edges is None and np.ptp(order) == 0:
            raise InputError(
                "Every row has the same time: a time split needs rows at different times."
            )
        if edges is None:
            raise InputError(
                f"In time order the {int(y.sum())} positives cannot be spread so that the earliest "
                "training part holds 2 and a later block 1: too few positives for a time split."
            )
    splits = [
        Split(0, k, np.sort(by_time[: edges[k + 1]]), np.sort(by_time[edges[k + 1] : edges[k + 2]]))
        for k in range(len(edges) - 2)
    ]
    notes = []
    asked = 1 if options.holdout else options.folds
    if len(splits) < asked:
        notes.append(
            f"Only {len(splits)} forward-chaining fold{'s' if len(splits) != 1 else ''} instead "
            f"of {asked}: with more, a block of time would hold no positive."
        )
    return splits, notes


def _time_cuts(ordered: np.ndarray, shares: list[float]) -> list[int] | None:
    """Row positions cutting the time-sorted rows at about ``shares`` of them, each moved to the
    start of its run of equal times; ``None`` when two cuts meet or a block is empty."""
    n = len(ordered)
    cuts = [
        int(np.searchsorted(ordered, ordered[min(round(s * n), n - 1)], "left")) for s in shares
    ]
    edges = [0, *cuts, n]
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        return None
    return cuts


def _usable(positives_before: np.ndarray, edges: list[int]) -> bool:
    """The first block holds 2 positives or more and every later block at least 1."""
    counts = np.diff(positives_before[edges])
    return bool(counts[0] >= 2 and (counts[1:] >= 1).all())


def _group_folds(y, groups, folds: int, options: AnalysisOptions) -> list[Split]:
    """Stratified group K-fold, a new shuffle per repeat."""
    from sklearn.model_selection import StratifiedGroupKFold

    index = np.arange(len(y))
    splits = []
    for repeat in range(options.repeats):
        splitter = StratifiedGroupKFold(
            n_splits=folds, shuffle=True, random_state=options.seed + repeat
        )
        for fold, (train, test) in enumerate(splitter.split(index, y, groups)):
            splits.append(Split(repeat, fold, train, test))
    return splits


def _group_holdout(y, groups, fraction: float, seed: int) -> Split:
    """One stratified group split with about ``fraction`` of the rows held out."""
    from sklearn.model_selection import StratifiedGroupKFold

    parts = max(2, round(1 / fraction))
    splitter = StratifiedGroupKFold(n_splits=parts, shuffle=True, random_state=seed)
    train, test = next(splitter.split(np.arange(len(y)), y, groups))
    if y[test].sum() < 1 or y[train].sum() < 2:
        raise InputError(
            f"A grouped holdout of {fraction:g} leaves {int(y[test].sum())} positive(s) in the "
            f"test split and {int(y[train].sum())} in the training split; use cross-validation "
            "(drop --holdout)."
        )
    return Split(0, 0, train, test)


def group_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list:
    """Stratified group K-fold of the rows ``y`` / ``groups`` describe (an inner cross-validation
    inside a training part): a list of (train, test) positions."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def fitting_rows(split: Split) -> np.ndarray:
    """The rows a supervised model is fitted on: the training part, less its validation rows."""
    return split.train if split.fit is None else split.fit


def with_validation(
    split: Split,
    y: np.ndarray,
    fraction: float,
    seed: int,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> Split:
    """``split`` with its training part divided into fitting rows and a stratified validation
    share (at least one positive on each side; whole groups when ``groups`` are given); with
    ``order`` (--time), the validation rows are the latest of the part instead."""
    if order is not None:
        validation = _latest_rows(split.train, y, order, fraction)
    elif groups is not None:
        parts = max(2, round(1 / fraction))
        inner = group_folds(y[split.train], groups[split.train], parts, seed)
        validation = np.sort(split.train[inner[0][1]])
    else:
        validation = stratified_sample(split.train, y, round(fraction * len(split.train)), seed)
    chosen = np.zeros(len(y), dtype=bool)
    chosen[validation] = True
    return replace(split, fit=split.train[~chosen[split.train]], validation=validation)


def _latest_rows(rows: np.ndarray, y: np.ndarray, order: np.ndarray, fraction: float):
    """About ``fraction`` of ``rows``, the latest in ``order`` (rows sharing a time together),
    reaching back far enough to hold a positive (sorted)."""
    ordered = rows[np.argsort(order[rows], kind="stable")]
    times = order[ordered]
    start = len(ordered) - max(1, round(fraction * len(ordered)))
    positions = np.flatnonzero(y[ordered] == 1)
    if len(positions) >= 2:
        start = min(start, int(positions[-1]))  # at least the latest positive
    start = int(np.searchsorted(times, times[start], "left"))  # whole runs of equal times
    return np.sort(ordered[start:])


def inner_folds(y: np.ndarray, splits: list[Split]) -> int:
    fewest = min(int(y[s.train].sum()) for s in splits)
    return max(0, min(DEFAULT_INNER_FOLDS, fewest)) if fewest >= 2 else 0


def stratified_sample(rows: np.ndarray, y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` of ``rows``, drawn at random with the prevalence of ``rows`` kept (sorted); when
    ``rows`` hold two or more positives, at least one is drawn and at least one left."""
    rng = np.random.default_rng(seed)
    positives = rows[y[rows] == 1]
    keep_positives = round(size * len(positives) / len(rows))
    if len(positives) >= 2:
        keep_positives = min(max(keep_positives, 1), len(positives) - 1)
    picked = (
        rng.choice(positives, keep_positives, replace=False),
        rng.choice(rows[y[rows] == 0], size - keep_positives, replace=False),
    )
    return np.sort(np.concatenate(picked))
