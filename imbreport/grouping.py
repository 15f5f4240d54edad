"""Rows that are not independent: exact copies of a feature row, and declared groups.

Random splits assume every evaluated row is new to its model. A copy of an evaluated row in the
training part breaks that (a model can recall it), and so do several rows of one customer,
patient or device. ``row_groups`` finds exact duplicate feature rows and combines them with the
groups of ``--groups COL``; the splits then keep each group whole (``StratifiedGroupKFold``), so
no group is both learned from and evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RowGroups:
    """Which rows must stay in the same fold, and what was found."""

    ids: np.ndarray | None  # a group number per row; None when every row is its own group
    duplicate_rows: int  # rows whose features repeat an earlier row's exactly
    conflicting_copies: int  # sets of identical feature rows that carry both labels
    declared: str | None = None  # the --groups column, when given
    copies_across_groups: int = 0  # identical rows that fall in different declared groups

    @property
    def grouped(self) -> bool:
        return self.ids is not None


def feature_row_ids(X: pd.DataFrame) -> np.ndarray:
    """The same number for rows whose feature values are identical (missing equals missing)."""
    if X.shape[1] == 0:
        return np.zeros(len(X), dtype=np.int64)
    hashes = pd.util.hash_pandas_object(X, index=False).to_numpy()
    return pd.factorize(hashes)[0].astype(np.int64)


def row_groups(
    X: pd.DataFrame, y: np.ndarray, declared=None, column: str | None = None, copies: bool = True
):
    """The groups the splits must respect: ``declared`` group labels (one per row, from
    ``--groups``) if given, else the sets of identical feature rows; ``None`` ids when no group
    has more than one row. ``copies`` False: identical feature rows are not looked for (nothing
    is fitted on the features, so a copy on both sides of a split leaks nothing)."""
    copies = feature_row_ids(X) if copies else np.arange(len(y), dtype=np.int64)
    distinct = int(copies.max()) + 1 if len(copies) else 0
    duplicate_rows = len(copies) - distinct
    labels_per_copy = pd.Series(y).groupby(copies).nunique()
    conflicting = int((labels_per_copy > 1).sum())
    if declared is not None:
        ids = pd.factorize(pd.Series(declared).astype("string").fillna("<missing>"))[0]
        ids = ids.astype(np.int64)
        across = int((pd.Series(ids).groupby(copies).nunique() > 1).sum())
        if across:  # a copy in two declared groups joins them: copies never straddle a split
            ids = _joined(ids, copies)
        return RowGroups(ids, duplicate_rows, conflicting, column, across)
    return RowGroups(copies if duplicate_rows else None, duplicate_rows, conflicting)


def _joined(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Groups of rows linked by either grouping (connected components of the two)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_first = int(first.max()) + 1
    size = n_first + int(second.max()) + 1
    links = coo_matrix((np.ones(len(first)), (first, second + n_first)), shape=(size, size))
    _, component = connected_components(links, directed=False)
    return component[first].astype(np.int64)


def describe(groups: RowGroups, rows: int) -> list[str]:
    """Plain-word warnings about dependent rows."""
    notes = []
    if groups.duplicate_rows:
        kept = (
            f"rows of one --groups value ('{groups.declared}') were kept in the same fold"
            if groups.declared
            else "copies were kept in the same fold (grouped cross-validation), so no evaluated "
            "row has a copy in its model's training rows"
        )
        notes.append(
            f"{groups.duplicate_rows:,} of {rows:,} rows ({groups.duplicate_rows / rows:.1%}) "
            f"repeat another row's features exactly: {kept}."
        )
    if groups.conflicting_copies:
        notes.append(
            f"{groups.conflicting_copies:,} set(s) of identical feature rows carry both labels: "
            "no model can separate them; check the labels or add the feature that tells them "
            "apart."
        )
    if groups.copies_across_groups:
        notes.append(
            f"{groups.copies_across_groups:,} set(s) of identical feature rows fall in different "
            f"'{groups.declared}' groups: those groups were joined, so that no copy is both "
            "learned from and evaluated."
        )
    return notes
