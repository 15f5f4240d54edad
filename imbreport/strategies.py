"""How each strategy's ``imblearn.pipeline.Pipeline`` is built, and the small estimators they use.

The registry (``registry.py``) names each strategy and its builder here. Preprocessing
(imputation, encoding, scaling for linear models) and resampling live *inside* each pipeline, so
they only ever see the training part of a split.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from imbreport.registry import StrategySpec

SMOTE_NEIGHBOURS = 5
MAX_ONE_HOT_CATEGORIES = 30


@dataclass(frozen=True)
class FeatureLayout:
    """What the pipelines need to know about the columns, and how to seed and thread them."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    seed: int = 42
    threads: int = 1
    sampling_rate: float = 1.0  # share of negatives --sample kept before any split


# --- small estimators ---------------------------------------------------------------------------


class WeightedXGBClassifier(ClassifierMixin, BaseEstimator):
    """XGBoost with ``scale_pos_weight`` = negatives / positives of the data it is fitted on
    (``weighted=False``: plain XGBoost, every row weighing the same)."""

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        random_state: int = 0,
        n_jobs: int = 1,
        weighted: bool = True,
    ):
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.weighted = weighted

    def fit(self, X, y):
        from xgboost import XGBClassifier

        y = np.asarray(y)
        positives = max(int(y.sum()), 1)
        self.scale_pos_weight_ = (len(y) - positives) / positives if self.weighted else 1.0
        self.model_ = XGBClassifier(
            n_estimators=self.n_estimators,
            scale_pos_weight=self.scale_pos_weight_,
            random_state=self.random_state,
            eval_metric="logloss",
            n_jobs=self.n_jobs,
            tree_method="hist",
        )
        self.model_.fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class MajorityIsolationForest(ClassifierMixin, BaseEstimator):
    """Isolation Forest fitted on the majority class only; its anomaly score ranks rows.

    ``decision_function`` is the anomaly score (higher = more anomalous); ``predict`` flags as
    positive the share of rows equal to the training prevalence. That cut is read from the
    out-of-bag scores of the training rows (``oob_scores_``; each negative scored by the trees
    that did not draw it), or, for a majority too small to have them, from in-sample scores.
    """

    CUT_SAMPLE = 50_000

    def __init__(self, *, n_estimators: int = 100, random_state: int = 0, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y):
        y = np.asarray(y)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(X[y == 0])
        self.classes_ = np.array([0, 1])
        self.oob_scores_ = self.out_of_bag_scores(X, y)
        if self.oob_scores_ is not None:
            scores = self.oob_scores_
        else:
            rows = np.arange(len(y))
            if len(rows) > self.CUT_SAMPLE:  # the quantile needs a sample, not every row
                rows = np.random.default_rng(self.random_state).choice(
                    rows, self.CUT_SAMPLE, replace=False
                )
            scores = self.decision_function(X[rows])
        self.cut_ = float(np.quantile(scores, 1.0 - y.mean()))
        return self

    def decision_function(self, X):
        return -self.forest_.score_samples(X)

    def predict(self, X):
        return (self.decision_function(X) >= self.cut_).astype(int)

    def out_of_bag_scores(self, X, y, min_trees: int = 10) -> np.ndarray | None:
        """The anomaly score of each row it was fitted on (``X``, ``y`` as given to ``fit``),
        from the trees that did not draw that row: out-of-sample scores without refitting.

        Positives were never drawn (the forest sees the majority only), so all trees score them.
        ``None`` when some row has fewer than ``min_trees`` such trees (a small majority: every
        tree draws nearly every row). Same formula as ``IsolationForest.score_samples``, averaged
        over a row's own trees: 2^(−mean path length / c(max_samples)).
        """
        forest = self.forest_
        y = np.asarray(y)
        majority = np.flatnonzero(y == 0)
        drawn = np.zeros((len(forest.estimators_), len(y)), dtype=bool)
        for t, rows in enumerate(forest.estimators_samples_):
            drawn[t, majority[rows]] = True
        unseen = ~drawn
        if unseen.sum(axis=0).min() < min_trees:
            return None
        values = np.asarray(X, dtype=np.float32)
        depths = np.zeros(len(y))
        for t, tree in enumerate(forest.estimators_):
            depths += np.where(unseen[t], _path_lengths(tree, values), 0.0)
        mean_depth = depths / unseen.sum(axis=0)
        return 2.0 ** (-mean_depth / _average_path_length(forest.max_samples_))


def case_control_rows(y: np.ndarray, max_negatives: int, seed: int) -> tuple[np.ndarray, float]:
    """Row positions of every positive and at most ``max_negatives`` random negatives (sorted),
    and the share of negatives kept."""
    negatives = np.flatnonzero(y == 0)
    rate = min(1.0, max_negatives / max(len(negatives), 1))
    if rate >= 1.0:
        return np.arange(len(y)), 1.0
    kept = np.random.default_rng(seed).choice(negatives, max_negatives, replace=False)
    return np.sort(np.r_[np.flatnonzero(y == 1), kept]), rate


def _average_path_length(n):
    """c(n): the average path length of an unsuccessful search in a binary tree of ``n`` rows."""
    n = np.asarray(n, dtype=float)
    out = np.where(n <= 1, 0.0, 1.0)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _path_lengths(tree, X) -> np.ndarray:
    """Each row's isolation path length in one tree: its leaf's depth plus c(rows in the leaf)
    (``compute_node_depths`` counts the root as 1, as ``IsolationForest`` reads it)."""
    structure = tree.tree_
    depth = structure.compute_node_depths() - 1.0
    leaf_length = depth + _average_path_length(structure.n_node_samples)
    return leaf_length[tree.apply(X)]


class NegativeSampleClassifier(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on every positive and at most ``max_negatives`` random negatives.

    Case-control sampling for large training parts: the rare positives carry most of the
    information, so a sample of the negatives loses little and saves most of the work. With
    ``correct_probabilities`` the probabilities are mapped back to the full prevalence,
    p = β·pₛ / (β·pₛ − pₛ + 1) with β the share of negatives kept (Dal Pozzolo et al., 2015),
    here and before the split (``prior_rate``: the share ``--sample`` kept).
    """

    def __init__(
        self,
        estimator,
        *,
        max_negatives: int = 100_000,
        correct_probabilities: bool = False,
        prior_rate: float = 1.0,
        random_state: int = 0,
    ):
        self.estimator = estimator
        self.max_negatives = max_negatives
        self.correct_probabilities = correct_probabilities
        self.prior_rate = prior_rate
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        rows, rate = case_control_rows(y, self.max_negatives, self.random_state)
        return self.fit_sampled(X[rows], y[rows], rate)

    def fit_sampled(self, X, y, rate: float):
        """Fit on rows already drawn by ``case_control_rows`` (negatives kept at ``rate``), so a
        caller holding a large matrix gathers only the sampled rows."""
        self.rate_ = rate
        self.estimator_ = clone(self.estimator).fit(X, np.asarray(y))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = self.estimator_.predict_proba(X)[:, 1]
        kept = self.rate_ * self.prior_rate
        if self.correct_probabilities and kept < 1.0:
            p = kept * p / (kept * p - p + 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _smote_with_shrinking_neighbours(X, y, *, kind, categorical, k_neighbors, random_state):
    """SMOTE / SMOTENC / SMOTEN whose ``k_neighbors`` shrinks to fit a small minority class.

    For SMOTE and SMOTENC, synthetic rows depend only on the minority rows, so the sampler is
    given those (plus one majority row, to keep two classes) and asked for as many rows as the
    majority has; the synthetic rows are then appended to the untouched input. Same rows as
    running SMOTE on everything, without encoding and decoding every majority row (SMOTENC on
    large data). SMOTEN's distance needs every row.
    """
    X, y = np.asarray(X), np.asarray(y, dtype=int)
    counts = np.bincount(y, minlength=2)
    minority = int(np.argmin(counts))
    k = min(k_neighbors, int(counts[minority]) - 1)
    if k < 1 or counts[minority] == counts[1 - minority]:
        return X, y
    sampler = {"smoten": SMOTEN, "smotenc": SMOTENC}.get(kind, SMOTE)
    options = {}
    if kind == "smotenc":
        # a dense encoding: the same rows as imblearn's default sparse one, without its
        # conversions of every synthetic row to and from LIL (a fifth of SMOTENC's time)
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
        options = {"categorical_features": categorical, "categorical_encoder": encoder}
    # SMOTEN's distance uses both classes' category frequencies: every row. SMOTE and SMOTENC
    # learn from the minority rows alone: one majority row suffices.
    majority_rows = np.flatnonzero(y != minority)
    if kind != "smoten":
        majority_rows = majority_rows[:1]
    rows = np.r_[np.flatnonzero(y == minority), majority_rows]
    resampled, _ = sampler(
        k_neighbors=k,
        random_state=random_state,
        sampling_strategy={minority: int(counts[1 - minority])},
        **options,
    ).fit_resample(X[rows], y[rows])
    synthetic = resampled[len(rows) :]
    return np.vstack([X, synthetic]), np.r_[y, np.full(len(synthetic), minority)]


# --- preprocessing ------------------------------------------------------------------------------


class MedianImputer(TransformerMixin, BaseEstimator):
    """Fill missing numbers with the training median (``np.nanmedian``: much faster than
    ``SimpleImputer(strategy="median")`` on large data); an all-missing column gets 0."""

    def fit(self, X, y=None):
        values = np.asarray(X, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            medians = np.nanmedian(values, axis=0)
        self.statistics_ = np.where(np.isnan(medians), 0.0, medians)
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X):
        values = np.array(X, dtype=np.float64)
        missing = np.isnan(values)
        if missing.any():
            values[missing] = np.take(self.statistics_, np.nonzero(missing)[1])
        return values


# Categorical columns: a missing value is a category of its own (both encoders allow it).


def _one_hot() -> OneHotEncoder:
    return OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        max_categories=MAX_ONE_HOT_CATEGORIES,
        sparse_output=False,
    )


def _ordinal() -> OrdinalEncoder:
    return OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )


def _impute_numeric(scale: bool) -> Pipeline:
    steps = [("impute", MedianImputer())]
    if scale:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def linear_preprocessing(layout: FeatureLayout) -> ColumnTransformer:
    """Impute, scale numeric columns and one-hot encode categorical ones (for linear models)."""
    parts = []
    if layout.numeric:
        parts.append(("numeric", _impute_numeric(scale=True), list(layout.numeric)))
    if layout.categorical:
        parts.append(("categorical", _one_hot(), list(layout.categorical)))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def tree_preprocessing(layout: FeatureLayout) -> ColumnTransformer:
    """Impute numeric columns and ordinal-encode categorical ones (for trees and forests)."""
    parts = []
    if layout.numeric:
        parts.append(("numeric", _impute_numeric(scale=False), list(layout.numeric)))
    if layout.categorical:
        parts.append(("categorical", _ordinal(), list(layout.categorical)))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def _logistic(layout: FeatureLayout, class_weight=None) -> LogisticRegression:
    return LogisticRegression(max_iter=1000, class_weight=class_weight, random_state=layout.seed)


# --- builders -----------------------------------------------------------------------------------


def build_majority(layout: FeatureLayout) -> Pipeline:
    """The baseline ignores the features, so it needs no preprocessing."""
    return Pipeline([("model", DummyClassifier(strategy="prior"))])


def build_logreg(layout: FeatureLayout) -> Pipeline:
    return Pipeline([("preprocess", linear_preprocessing(layout)), ("model", _logistic(layout))])


def build_balanced(layout: FeatureLayout) -> Pipeline:
    return Pipeline(
        [
            ("preprocess", linear_preprocessing(layout)),
            ("model", _logistic(layout, class_weight="balanced")),
        ]
    )


def build_undersample(layout: FeatureLayout) -> Pipeline:
    return Pipeline(
        [
            ("preprocess", linear_preprocessing(layout)),
            ("resample", RandomUnderSampler(random_state=layout.seed)),
            ("model", _logistic(layout)),
        ]
    )


def build_oversample(layout: FeatureLayout) -> Pipeline:
    return Pipeline(
        [
            ("preprocess", linear_preprocessing(layout)),
            ("resample", RandomOverSampler(random_state=layout.seed)),
            ("model", _logistic(layout)),
        ]
    )


def build_smote(layout: FeatureLayout) -> Pipeline:
    """SMOTE for numeric data, SMOTENC for mixed, SMOTEN for all-categorical data."""
    n_numeric = len(layout.numeric)
    categorical_idx = list(range(n_numeric, n_numeric + len(layout.categorical)))
    if not layout.categorical:
        kind = "smote"
    elif not layout.numeric:
        kind = "smoten"
    else:
        kind = "smotenc"
    sampler = FunctionSampler(
        func=_smote_with_shrinking_neighbours,
        validate=False,
        kw_args={
            "kind": kind,
            "categorical": categorical_idx,
            "k_neighbors": SMOTE_NEIGHBOURS,
            "random_state": layout.seed,
        },
    )
    if kind == "smote":
        return Pipeline(
            [
                ("preprocess", linear_preprocessing(layout)),
                ("resample", sampler),
                ("model", _logistic(layout)),
            ]
        )
    encode_after = []
    if layout.numeric:
        encode_after.append(("numeric", "passthrough", list(range(n_numeric))))
    encode_after.append(("categorical", _one_hot(), categorical_idx))
    before = []
    if layout.numeric:
        before.append(("numeric", _impute_numeric(scale=True), list(layout.numeric)))
    before.append(("categorical", _ordinal(), list(layout.categorical)))
    return Pipeline(
        [
            ("preprocess", ColumnTransformer(before, sparse_threshold=0.0)),
            ("resample", sampler),
            ("encode", ColumnTransformer(encode_after, sparse_threshold=0.0)),
            ("model", _logistic(layout)),
        ]
    )


def build_xgboost(layout: FeatureLayout, weighted: bool = True) -> Pipeline:
    model = WeightedXGBClassifier(
        random_state=layout.seed, n_jobs=layout.threads, weighted=weighted
    )
    return Pipeline([("preprocess", tree_preprocessing(layout)), ("model", model)])


def build_xgboost_plain(layout: FeatureLayout) -> Pipeline:
    return build_xgboost(layout, weighted=False)


def build_isolation_forest(layout: FeatureLayout) -> Pipeline:
    return Pipeline(
        [
            ("preprocess", tree_preprocessing(layout)),
            (
                "model",
                MajorityIsolationForest(random_state=layout.seed, n_jobs=layout.threads),
            ),
        ]
    )


def build_pipeline(spec: StrategySpec, layout: FeatureLayout) -> Pipeline:
    """The unfitted pipeline of a registry entry (its ``builder`` names a function here)."""
    return globals()[spec.builder](layout)
