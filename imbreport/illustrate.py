"""Two-dimensional illustrations: SMOTE before/after and predicted-probability surfaces.

With exactly two numeric features the raw features are used; otherwise the preprocessed features
are projected on their first two principal components, and the surfaces come from the models
refitted on those two components (an illustration, not the evaluated models). Large data is
subsampled, keeping every positive (up to a cap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbreport.model import Dataset, Illustration
from imbreport.registry import STRATEGIES, plain_strategy
from imbreport.strategies import FeatureLayout, build_pipeline, linear_preprocessing

MAX_NEGATIVES = 3000
MAX_POSITIVES = 1500
MAX_FIT_ROWS = 20000
GRID = 70


def illustrate(dataset: Dataset, recommended: str | None, seed: int) -> Illustration:
    """The 2-D pictures for ``dataset``: SMOTE's synthetic rows, and the probability surfaces of
    plain logistic regression and of the ``recommended`` strategy refitted in two dimensions."""
    from imblearn.over_sampling import SMOTE
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    rows = _subsample(dataset.y, MAX_FIT_ROWS, rng)
    X, y = dataset.X.iloc[rows].reset_index(drop=True), dataset.y[rows]
    train, _ = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
    X, y = X.iloc[train].reset_index(drop=True), y[train]
    raw = len(dataset.numeric) == 2 and not dataset.categorical
    if raw:
        coords = X[list(dataset.numeric)].to_numpy(dtype=float)
        coords = np.where(np.isnan(coords), np.nanmedian(coords, axis=0), coords)
        axes = (dataset.numeric[0], dataset.numeric[1])
        smote_space, to_2d = coords, None
    else:
        from sklearn.decomposition import PCA

        layout = FeatureLayout(dataset.numeric, dataset.categorical, seed=seed)
        smote_space = linear_preprocessing(layout).fit_transform(X)
        pca = PCA(n_components=2, random_state=seed).fit(smote_space)
        coords = pca.transform(smote_space)
        share = pca.explained_variance_ratio_
        axes = (
            f"principal component 1 ({share[0]:.0%} of variance)",
            f"principal component 2 ({share[1]:.0%} of variance)",
        )
        to_2d = pca.transform

    positives = int(y.sum())
    synthetic = np.empty((0, 2))
    if positives >= 2:
        k = min(5, positives - 1)
        resampled, _ = SMOTE(k_neighbors=k, random_state=seed).fit_resample(smote_space, y)
        new_rows = resampled[len(y) :]
        synthetic = new_rows if to_2d is None else to_2d(new_rows)
    synthetic_total = len(synthetic)

    grid_x, grid_y = _grid(coords)
    frame = pd.DataFrame(coords, columns=["c1", "c2"])
    grid_frame = pd.DataFrame({"c1": grid_x.ravel(), "c2": grid_y.ravel()})
    surfaces = {}
    reference = plain_strategy("linear").name
    names = [reference] + ([recommended] if recommended and recommended != reference else [])
    layout2d = FeatureLayout(("c1", "c2"), (), seed=seed)
    for name in names:
        spec = STRATEGIES[name]
        model = build_pipeline(spec, layout2d).fit(frame, y)
        if spec.score_kind == "anomaly score":
            raw_scores = model.decision_function(grid_frame)
            span = np.ptp(raw_scores) or 1.0
            values = (raw_scores - raw_scores.min()) / span
        else:
            values = model.predict_proba(grid_frame)[:, 1]
        surfaces[name] = values.reshape(grid_x.shape)

    shown = _subsample(y, MAX_NEGATIVES + MAX_POSITIVES, rng, MAX_POSITIVES)
    if len(synthetic) > MAX_POSITIVES:
        synthetic = synthetic[rng.choice(len(synthetic), MAX_POSITIVES, replace=False)]
    note = (
        "Raw features of a stratified 70% training sample."
        if raw
        else "First two principal components of the preprocessed features (70% training sample); "
        "the probability surfaces come from models refitted on these two components, for "
        "illustration only."
    )
    return Illustration(
        axes=axes,
        projected=not raw,
        points=coords[shown],
        labels=y[shown],
        synthetic=np.asarray(synthetic, dtype=float),
        synthetic_total=synthetic_total,
        grid_x=grid_x,
        grid_y=grid_y,
        surfaces=surfaces,
        note=note,
    )


def _subsample(y: np.ndarray, limit: int, rng, max_positives: int | None = None) -> np.ndarray:
    """Row indices: every positive (up to ``max_positives``) and a random share of negatives."""
    positives = np.flatnonzero(y == 1)
    negatives = np.flatnonzero(y == 0)
    if max_positives is not None and len(positives) > max_positives:
        positives = rng.choice(positives, max_positives, replace=False)
    room = max(limit - len(positives), 0)
    if len(negatives) > room:
        negatives = rng.choice(negatives, room, replace=False)
    return np.sort(np.concatenate([positives, negatives]))


def _grid(coords: np.ndarray):
    low = np.percentile(coords, 0.5, axis=0)
    high = np.percentile(coords, 99.5, axis=0)
    pad = (high - low) * 0.08 + 1e-9
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], GRID)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], GRID)
    return np.meshgrid(xs, ys)
