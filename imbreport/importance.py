"""What drives a fitted strategy: its model inputs named readably and ranked by importance.

Read from the recommended strategy's fit on all rows (the fit whose threshold is deployed), so
nothing is fitted again: standardised coefficients for logistic regressions (coefficient × the
standard deviation of its input, so a one-hot column and a scaled number compare), each
feature's share of the total gain for XGBoost, and nothing for an anomaly detector. Where that
fit held rows out (a validation share on large data), the drop in PR-AUC when each column is
shuffled on those rows is added, if it is cheap; otherwise it is skipped with the reason.

Model inputs are named from the data: a numeric column by its name, a one-hot column as
``column = category`` (the category's own text, ``(missing)``, or ``(other categories)`` for
the infrequent ones folded together), through every encoding step of the pipeline.
"""

from __future__ import annotations

import math

import numpy as np

from imbreport.model import (
    TOP_FEATURES,
    Dataset,
    FeatureImportance,
    FeatureWeight,
)
from imbreport.registry import StrategySpec
from imbreport.splits import stratified_sample
from imbreport.strategies import NegativeSampleClassifier

#: Permutation importance is computed on at most this many held-out rows (prevalence kept) ...
PERMUTATION_ROWS = 10_000
#: ... with this many shuffles per column ...
PERMUTATION_REPEATS = 3
#: ... and only while columns × rows × shuffles stays below this (about a second of scoring:
#: at 20,000 rows × 5 shuffles it took 3 s of a 200k-row report, issue #17).
PERMUTATION_CELLS = 1_500_000
#: Threads that score the shuffled columns.
IMPORTANCE_THREADS = 2
#: Rows used to measure the spread of a linear model's inputs.
SPREAD_ROWS = 50_000

MISSING = "(missing)"
OTHER = "(other categories)"


class _Column:
    """One column flowing through the pipeline: its readable name, the data column it comes
    from, and, for a column of category codes, the category each code stands for."""

    def __init__(self, name: str, column: str, labels: dict[float, str] | None = None):
        self.name, self.column, self.labels = name, column, labels

    def label(self, code: float) -> str:
        if code is None or (isinstance(code, float) and math.isnan(code)) or code < 0:
            return MISSING
        return (self.labels or {}).get(float(code), f"{code:g}")


def feature_importance(
    model,
    spec: StrategySpec,
    dataset: Dataset,
    X: np.ndarray,
    y: np.ndarray,
    held_out: np.ndarray | None,
    seed: int,
) -> FeatureImportance:
    """The importance of ``model``'s inputs (``spec``'s pipeline fitted on ``X``, the
    ``fitting.model_matrix`` of ``dataset``); ``held_out``: rows of ``X`` its fit did not learn
    from, for permutation importance, or ``None``."""
    if model is None:
        return FeatureImportance(spec.name, None, skipped="its fit on all rows failed.")
    if not spec.supervised:
        return FeatureImportance(
            spec.name,
            None,
            skipped=f"the {spec.label} has no per-feature weights (it isolates unusual rows "
            "by random splits).",
        )
    pipeline = model.estimator_ if isinstance(model, NegativeSampleClassifier) else model
    estimator = pipeline.steps[-1][1]
    try:
        columns = _walk_steps(pipeline.steps[:-1], _data_columns(dataset))
        method, values = _weights(pipeline, estimator, X, len(columns))
    except _Unreadable as exc:
        return FeatureImportance(spec.name, None, skipped=str(exc))
    order = sorted(range(len(values)), key=lambda i: (-abs(values[i]), i))[:TOP_FEATURES]
    weights = tuple(
        FeatureWeight(columns[i].name, columns[i].column, float(values[i])) for i in order
    )
    permutation, note = _permutation(model, dataset, X, y, held_out, seed)
    return FeatureImportance(
        spec.name,
        method,
        weights=weights,
        inputs=len(columns),
        permutation=permutation,
        permutation_note=note,
    )


class _Unreadable(Exception):
    """The pipeline holds a step or a model whose inputs or weights cannot be read."""


def _data_columns(dataset: Dataset) -> list[_Column]:
    """The columns of ``fitting.model_matrix``: numeric, then categorical as integer codes."""
    import pandas as pd

    columns = [_Column(name, name) for name in dataset.numeric]
    for name in dataset.categorical:
        categories = pd.Categorical(dataset.X[name]).categories
        labels = {float(i): str(value) for i, value in enumerate(categories)}
        columns.append(_Column(name, name, labels))
    return columns


def _walk_steps(steps, columns: list[_Column]) -> list[_Column]:
    for _name, step in steps:
        if hasattr(step, "fit_resample"):  # samplers add rows, not columns
            continue
        columns = _walk(step, columns)
    return columns


def _walk(step, columns: list[_Column]) -> list[_Column]:
    """The columns ``step`` outputs from ``columns``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    from imbreport.strategies import MedianImputer

    if isinstance(step, str) and step == "passthrough":
        return columns
    if hasattr(step, "step_"):  # a shared preprocessing step (fitting._SharedStep)
        return _walk(step.step_, columns)
    if isinstance(step, SkPipeline) or hasattr(step, "steps"):
        return _walk_steps(step.steps, columns)
    if isinstance(step, ColumnTransformer):
        out: list[_Column] = []
        for _name, part, where in step.transformers_:
            if isinstance(part, str) and part == "drop":
                continue
            out += _walk(part, [columns[i] for i in np.atleast_1d(where)])
        return out
    if isinstance(step, MedianImputer | StandardScaler):
        return columns
    if isinstance(step, FunctionTransformer) and step.feature_names_out == "one-to-one":
        return columns  # a fitted ColumnTransformer's "passthrough"
    if isinstance(step, OrdinalEncoder):
        return [
            _Column(c.name, c.column, {float(i): c.label(v) for i, v in enumerate(found)})
            for c, found in zip(columns, step.categories_, strict=True)
        ]
    if isinstance(step, OneHotEncoder):
        return _one_hot_columns(step, columns)
    raise _Unreadable(f"its pipeline has a step ({type(step).__name__}) whose outputs are unnamed.")


def _one_hot_columns(encoder, columns: list[_Column]) -> list[_Column]:
    """``column = category`` for each output of a fitted one-hot encoder."""
    placeholders = [f"c{k}" for k in range(len(columns))]
    out = []
    for name in encoder.get_feature_names_out(placeholders):
        head, _, value = name.partition("_")
        source = columns[int(head[1:])]
        if value == "infrequent_sklearn":
            category = OTHER
        else:
            category = source.label(float(value))
        out.append(_Column(f"{source.column} = {category}", source.column))
    return out


def _weights(pipeline, estimator, X: np.ndarray, inputs: int) -> tuple[str, np.ndarray]:
    """The method's name and one weight per model input."""
    from sklearn.linear_model import LogisticRegression

    from imbreport.strategies import WeightedXGBClassifier

    if isinstance(estimator, LogisticRegression):
        coefficients = np.ravel(estimator.coef_)
        if len(coefficients) != inputs:
            raise _Unreadable("its coefficients do not match its named inputs.")
        rows = X if len(X) <= SPREAD_ROWS else X[:: -(-len(X) // SPREAD_ROWS)]
        design = rows
        for _name, step in pipeline.steps[:-1]:
            if not hasattr(step, "fit_resample"):
                design = step.transform(design)
        spread = np.std(np.asarray(design, dtype=float), axis=0)
        return "standardised coefficient", coefficients * spread
    if isinstance(estimator, WeightedXGBClassifier):
        gains = estimator.model_.get_booster().get_score(importance_type="total_gain")
        values = np.zeros(inputs)
        for key, gain in gains.items():
            index = int(key[1:]) if key.startswith("f") and key[1:].isdigit() else None
            if index is None or index >= inputs:
                raise _Unreadable("its trees name inputs that cannot be matched to columns.")
            values[index] = gain
        total = values.sum()
        return "share of the total gain", values / total if total > 0 else values
    raise _Unreadable(f"its model ({type(estimator).__name__}) has no weights to read.")


def _permutation(model, dataset: Dataset, X, y, held_out, seed: int):
    """The drop in PR-AUC when each data column is shuffled on ``held_out`` rows, largest
    first, and what was done (or why it was not)."""
    if held_out is None or len(held_out) == 0:
        return (), (
            "Permutation importance was not computed: the model to deploy was fitted on every "
            "row, so no row it did not learn from is left to shuffle (on large files a "
            "validation share is held out of that fit, and it is computed there)."
        )
    columns = list(dataset.numeric) + list(dataset.categorical)
    rows = held_out
    if len(rows) > PERMUTATION_ROWS:
        rows = stratified_sample(rows, y, PERMUTATION_ROWS, seed)
    if len(columns) * len(rows) * PERMUTATION_REPEATS > PERMUTATION_CELLS:
        return (), (
            f"Permutation importance was not computed: {len(columns)} columns × "
            f"{len(rows):,} held-out rows would take too long to score."
        )
    if y[rows].sum() == 0 or y[rows].sum() == len(rows):
        return (), "Permutation importance was not computed: the held-out rows hold one class."
    from joblib import parallel_config
    from sklearn.inspection import permutation_importance

    # columns shuffled in two threads (scoring is mostly NumPy and XGBoost, which release the
    # GIL; no process to start); the same numbers, as every column gets the same seed
    with parallel_config(backend="threading", n_jobs=IMPORTANCE_THREADS):
        found = permutation_importance(
            model,
            X[rows],
            y[rows],
            scoring="average_precision",
            n_repeats=PERMUTATION_REPEATS,
            random_state=seed,
            n_jobs=IMPORTANCE_THREADS,
        )
    drops = found.importances_mean
    order = sorted(range(len(columns)), key=lambda i: (-drops[i], i))[:TOP_FEATURES]
    weights = tuple(FeatureWeight(columns[i], columns[i], float(drops[i])) for i in order)
    return weights, (
        f"Drop in PR-AUC when a column is shuffled ({PERMUTATION_REPEATS} times) on "
        f"{len(rows):,} rows held out of the fit on all rows (its threshold's validation share)."
    )
