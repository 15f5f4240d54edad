"""Fitting the strategies on the splits: each pipeline fitted on a training part, its threshold
tuned inside that part, its held-out rows scored.

Thresholds are tuned by ``TunedThresholdClassifierCV``: an inner cross-validation, a validation
share of a large training part, or, for an anomaly detector, its out-of-bag training scores.
Large training parts are case-control sampled for supervised models. Small data is fitted in
this process; larger data in joblib worker processes (strategy groups × splits in parallel).
"""

from __future__ import annotations

import time
import warnings as pywarnings
from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from imbreport.errors import short_error
from imbreport.model import Dataset
from imbreport.registry import StrategySpec
from imbreport.splits import (
    Split,
    fitting_rows,
    group_folds,
    stratified_sample,
    with_validation,
)
from imbreport.strategies import (
    FeatureLayout,
    NegativeSampleClassifier,
    build_pipeline,
    case_control_rows,
)
from imbreport.thresholds import Objective

#: training part (no refit) instead of an inner cross-validation: 1 fit per split instead of 4.
LARGE_TRAINING_PART = 60_000
VALIDATION_FRACTION = 0.2


#: Case-control sampling of large training parts: supervised models are fitted on every positive
#: and at most this many random negatives per positive (never fewer than ``MIN_FIT_NEGATIVES``).
#: The positives carry the information: with 25 controls per case a logistic model keeps about
#: 25/26 of its efficiency, and on the 200k and 1M benchmark files no strategy's PR-AUC moved by
#: more than a quarter of its interval. Every held-out row is still evaluated.
NEGATIVES_PER_POSITIVE = 25
MIN_FIT_NEGATIVES = 20_000
#: Large training parts: the Isolation Forest is fitted on a stratified sample of this many rows
#: (prevalence kept, for its default cut); it draws only 256 rows per tree anyway.
FOREST_FIT_ROWS = 100_000
#: The pipelines' input: float32 halves the memory of every slice shipped to and made in the
#: workers (7 significant digits; the first pipeline step works in float64).
MATRIX_DTYPE = np.float32


@dataclass
class FoldOutcome:
    """What one strategy produced on one split (or the error that stopped it)."""

    strategy: str
    split: Split
    scores: np.ndarray | None = None
    default_pred: np.ndarray | None = None
    threshold: float | None = None
    default_threshold: float | None = None
    seconds: float = 0.0
    error: str | None = None
    out_of_bag: bool = False  # threshold tuned on out-of-bag scores (the Isolation Forest)
    tuning_failed: str | None = None  # why threshold tuning failed (the default was used)
    model: object | None = None  # the fitted model, kept when the plan asks (``keep_models``)


@dataclass(frozen=True)
class Tuning:
    """How thresholds are tuned inside a training part: inner CV folds, or one validation split."""

    inner_folds: int
    validation_fraction: float | None = None
    latest: bool = False  # the validation rows are the latest of the part (--time)

    @property
    def possible(self) -> bool:
        return self.inner_folds >= 2

    def describe(self) -> str:
        if not self.possible:
            return "not tuned: too few positives for an inner cross-validation"
        if self.validation_fraction is not None and self.latest:
            return (
                f"on the latest {self.validation_fraction:.0%} of each training part (the model "
                "evaluated is fitted on the earlier rows of that part, so no threshold is chosen "
                "by a model that learned from later rows)"
            )
        if self.validation_fraction is not None:
            return (
                f"on a stratified {self.validation_fraction:.0%} validation split of each "
                "training part (the model evaluated is fitted on the rest of that part)"
            )
        return f"by a {self.inner_folds}-fold cross-validation inside each training part"

    def cv(self, seed: int):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(self.inner_folds, shuffle=True, random_state=seed)


@dataclass(frozen=True)
class FitPlan:
    """What every fit of a run shares: the columns and seeds (``layout``), the threshold
    objective, and how thresholds are tuned inside a training part."""

    layout: FeatureLayout
    objective: Objective
    tuning: Tuning
    #: A group number per row (copies, --groups): inner folds keep groups whole; or None.
    groups: np.ndarray | None = None
    #: Keep each fitted model in its ``FoldOutcome`` (the Dask engine scores every row with it).
    keep_models: bool = False
    #: The --time order of every row (validation rows are then the latest), or None.
    order: np.ndarray | None = None

    @property
    def seed(self) -> int:
        return self.layout.seed


class UnseenCategoryWarning(UserWarning):
    """A frame given to the model holds categories the data it was fitted on never held."""


class FrameToMatrix(TransformerMixin, BaseEstimator):
    """A DataFrame with the data's feature columns → one float matrix for the pipelines: numeric
    columns, then categorical columns as integer codes of the data's categories (NaN where
    missing, and for a category the data never held, with an ``UnseenCategoryWarning``).

    The codes only rename the category strings (nothing is learned from the target or from other
    rows), and numbers make encoding, slicing and shipping to worker processes fast. The engine
    builds its matrix with it (``model_matrix``), and the model to take away starts with it, so
    a new frame is encoded exactly as the data was. Columns are found by name.
    """

    def __init__(self, numeric=(), categorical=(), categories=None):
        self.numeric = numeric
        self.categorical = categorical
        self.categories = categories

    @classmethod
    def of(cls, dataset: Dataset) -> FrameToMatrix:
        """The encoding of ``dataset``: its feature columns and each categorical one's categories."""
        import pandas as pd

        categories = {
            name: tuple(pd.Categorical(dataset.X[name]).categories) for name in dataset.categorical
        }
        return cls(tuple(dataset.numeric), tuple(dataset.categorical), categories)

    def fit(self, X=None, y=None):
        return self

    def transform(self, X):
        import pandas as pd

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        columns = [*self.numeric, *self.categorical]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"The frame lacks the model's feature column(s): {', '.join(map(str, missing))}."
            )
        matrix = np.empty((len(frame), len(columns)), MATRIX_DTYPE)
        for i, name in enumerate(self.numeric):
            matrix[:, i] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        for i, name in enumerate(self.categorical, start=len(self.numeric)):
            known = pd.Index(list((self.categories or {}).get(name, ())))
            column = frame[name]
            codes = known.get_indexer(column).astype(MATRIX_DTYPE)
            unseen = int(((codes < 0) & column.notna().to_numpy()).sum())
            if unseen:
                pywarnings.warn(
                    f"{unseen:,} value(s) of '{name}' are categories the data never held; "
                    "they are treated as missing values, which the model handles as its "
                    "pipeline does (XGBoost, for one, routes them like a known category).",
                    UnseenCategoryWarning,
                    stacklevel=2,
                )
            codes[codes < 0] = np.nan  # missing, or a category the data never held
            matrix[:, i] = codes
        return matrix


def model_matrix(dataset: Dataset) -> np.ndarray:
    """The data's feature columns as the pipelines' float matrix (``FrameToMatrix``)."""
    return FrameToMatrix.of(dataset).transform(dataset.X)


def run_all(specs, plan: FitPlan, X, y, splits, n_jobs, progress, mapper=None) -> list[FoldOutcome]:
    """Every strategy fitted on every split, in this process (``n_jobs`` 1) or in workers;
    ``progress(done, total)`` after each. The heaviest strategies are handed out first, so no
    worker finishes a long task alone at the end. In this process, ``mapper(function, tasks)``
    (e.g. ``workers.forked_map``) may share the tasks with a forked copy; the outcomes are the
    same, in the same order."""
    from joblib import Parallel, delayed

    groups = sorted(groups_sharing_rows(specs, plan), key=lambda g: min(s.cost for s in g))
    tasks = [(group, split) for group in groups for split in splits]
    total = len(specs) * len(splits)
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        outcomes = []
        # one BLAS thread a fit where it pays (as in the workers); all of them otherwise
        with threadpool_limits(plan.layout.threads):
            if mapper is not None:
                for group_outcomes in mapper(
                    lambda task: fit_group(task[0], plan, X, y, task[1]), tasks
                ):
                    outcomes.extend(group_outcomes)
                if progress:
                    progress(total, total)
                return outcomes
            for group, split in tasks:
                outcomes.extend(fit_group(group, plan, X, y, split))
                if progress:
                    progress(len(outcomes), total)
        return outcomes
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    outcomes = []
    generator = runner(
        delayed(_fit_group_without_split)(group, plan, X, y, split) for group, split in tasks
    )
    for (_group, split), group_outcomes in zip(tasks, generator, strict=True):
        outcomes.extend(replace(outcome, split=split) for outcome in group_outcomes)
        if progress:
            progress(len(outcomes), total)
    return outcomes


def groups_sharing_rows(specs, plan: FitPlan) -> list[tuple[StrategySpec, ...]]:
    """Strategies fitted together on a split: on large training parts, those whose pipelines
    start with the same preprocessing (fitted on the same rows) share it; otherwise one each."""
    if not (plan.tuning.possible and plan.tuning.validation_fraction is not None):
        return [(spec,) for spec in specs]
    together: dict[str, list[StrategySpec]] = {}
    for spec in specs:
        together.setdefault(_shared_step_key(spec, plan.layout) or spec.name, []).append(spec)
    return [tuple(group) for group in together.values()]


def _shared_step_key(spec: StrategySpec, layout: FeatureLayout) -> str | None:
    """What identifies a supervised strategy's preprocessing step (``None``: nothing to share)."""
    if not spec.supervised:
        return None
    return _first_step_key(build_pipeline(spec, layout))


def _first_step_key(pipeline) -> str | None:
    """What identifies a pipeline's first step when it is its preprocessing, unfitted."""
    from joblib import hash as joblib_hash

    name, step = pipeline.steps[0]
    return f"preprocess:{joblib_hash(step)}" if name == "preprocess" else None


def _fit_group_without_split(*args) -> list[FoldOutcome]:
    """``fit_group`` in a worker: the outcomes travel back without their split's row indices (a
    copy of them per outcome would cost the main process hundreds of MB on large files)."""
    return [replace(outcome, split=None) for outcome in fit_group(*args)]


def fit_group(specs, plan: FitPlan, X, y, split: Split) -> list[FoldOutcome]:
    """Fit several strategies on one split; the rows they read are gathered once, and a first
    pipeline step they share is fitted and applied once (``_SharedRows``)."""
    shared = _SharedRows(X, y, split, share_steps=len(specs) > 1)
    outcomes = [fit_one(spec, plan, X, y, split, shared) for spec in specs]
    if plan.keep_models:
        for outcome in outcomes:
            _unshare_steps(outcome.model)
    return outcomes


def _unshare_steps(model) -> None:
    """A kept model with each shared preprocessing step replaced by its own fitted step: the
    shared step remembers the arrays it was fitted on and transformed (hundreds of MB on large
    training parts), which a model kept after its group is done must not carry."""
    for inner in (model, getattr(model, "estimator", None), getattr(model, "estimator_", None)):
        steps = getattr(inner, "steps", None)
        for i, (name, step) in enumerate(steps or ()):
            if isinstance(step, _SharedStep) and hasattr(step, "step_"):
                steps[i] = (name, step.step_)


class _SharedRows:
    """What the strategies of one group read from one split, computed once: the gathered rows
    of the split's row sets, the case-control sample, and the shared preprocessing step."""

    def __init__(self, X, y: np.ndarray, split: Split, share_steps: bool = False):
        self.X, self.y, self.split, self.share_steps = X, y, split, share_steps
        self._gathered: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._samples: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        self._steps: dict[str, _SharedStep] = {}

    def take(self, rows: np.ndarray) -> np.ndarray:
        """``X[rows]``, gathered once per row set (the same array object every time)."""
        return _once_per_array(self._gathered, rows, self.X.__getitem__)

    def case_control(self, max_negatives: int, seed: int) -> tuple[np.ndarray, float]:
        """The sampled fitting rows (one array object) and the share of negatives kept."""
        key = (max_negatives, seed)
        if key not in self._samples:
            fit = self.split.fit
            rows, rate = case_control_rows(self.y[fit], max_negatives, seed)
            self._samples[key] = (fit[rows], rate)
        return self._samples[key]

    def share_first_step(self, pipeline) -> None:
        """Put the group's shared copy of the pipeline's preprocessing step in its place (when
        the group has several strategies)."""
        inner = pipeline.estimator if isinstance(pipeline, NegativeSampleClassifier) else pipeline
        key = _first_step_key(inner) if self.share_steps else None
        if key is not None:
            name, step = inner.steps[0]
            inner.steps[0] = (name, self._steps.setdefault(key, _SharedStep(step)))


def _once_per_array(memo: dict, array, compute):
    """``compute(array)``, computed once per array object (``memo`` keys them by identity and
    keeps them alive, so an identity is never reused for another array)."""
    found = memo.get(id(array))
    if found is None or found[0] is not array:
        found = (array, compute(array))
        memo[id(array)] = found
    return found[1]


class _SharedStep(TransformerMixin, BaseEstimator):
    """A preprocessing step fitted once and applied once per array for a group's pipelines.

    Fitting it again on the very array it was fitted on changes nothing (any other array fits a
    fresh copy); ``transform`` remembers its output for each array it was given. Cloning
    returns the same object, so a wrapper that clones its pipeline still shares it.
    """

    def __init__(self, step=None):
        self.step = step

    def __sklearn_clone__(self):
        return self

    def fit(self, X, y=None, **params):
        if getattr(self, "fitted_on_", None) is not X:
            self.step_ = clone(self.step).fit(X, y)
            self.fitted_on_ = X
            self.memo_ = {}
        return self

    def transform(self, X):
        return _once_per_array(self.memo_, X, self.step_.transform)

    def fit_transform(self, X, y=None, **params):
        return self.fit(X, y).transform(X)


def fit_one(
    spec: StrategySpec,
    plan: FitPlan,
    X,
    y: np.ndarray,
    split: Split,
    shared: _SharedRows | None = None,
) -> FoldOutcome:
    """Fit one strategy on one training part and score its held-out rows (reading shared rows and
    preprocessing from ``shared`` when several strategies of a group use them)."""

    started = time.perf_counter()
    tuning = plan.tuning
    if tuning.possible and tuning.validation_fraction is not None and split.fit is None:
        fraction = tuning.validation_fraction
        split = with_validation(split, y, fraction, plan.seed, plan.groups, plan.order)
    shared = shared or _SharedRows(X, y, split)
    fallback = None
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            try:
                model, threshold, out_of_bag = _fitted(spec, plan, X, y, split, shared)
            except Exception as exc:
                if not (spec.tunable and tuning.possible):
                    raise
                # tuning can fail where fitting does not (an inner fold whose model predicts one
                # value on tiny data): fit without tuning, say so, and go on
                fallback = short_error(exc)
                untuned = replace(plan, tuning=Tuning(0))
                model, threshold, out_of_bag = _fitted(spec, untuned, X, y, split, shared)
            X_test = shared.take(split.test)
            if spec.response_method == "decision_function":
                scores = model.decision_function(X_test)
                default_threshold = float(model[-1].cut_)  # an anomaly model is never wrapped
            else:
                scores = model.predict_proba(X_test)[:, 1]
                default_threshold = 0.5
            # The models' own predict() is this comparison; scoring the rows twice is not needed.
            default_pred = scores >= default_threshold
    except Exception as exc:  # a strategy that cannot run is skipped, the run goes on
        return FoldOutcome(spec.name, split, error=short_error(exc))
    return FoldOutcome(
        spec.name,
        split,
        scores=np.asarray(scores, dtype=float),
        default_pred=default_pred,
        threshold=threshold,
        default_threshold=default_threshold,
        seconds=time.perf_counter() - started,
        out_of_bag=out_of_bag,
        tuning_failed=fallback,
        model=model if plan.keep_models else None,
    )


def _fitted(spec, plan: FitPlan, X, y, split: Split, shared):
    """The fitted model, its tuned threshold and whether it was tuned out of bag."""
    pipeline = build_pipeline(spec, plan.layout)
    tuned = spec.tunable and plan.tuning.possible
    fitting = fitting_rows(split) if tuned else split.train
    pipeline = _with_negative_sampling(pipeline, spec, plan.layout, y[fitting])
    return _fit_and_tune(pipeline, spec, X, y, split, plan, shared)


@dataclass(frozen=True)
class AllRowsFit:
    """``spec`` fitted on every row to be deployed: the model (``None`` if fitting failed), its
    tuned threshold (``None`` where thresholds are not tuned or tuning failed), and the rows its
    model did not learn from (a validation share on large data; else ``None``)."""

    model: object | None
    threshold: float | None
    held_out: np.ndarray | None = None


def fit_on_all_rows(spec: StrategySpec, plan: FitPlan, X, y: np.ndarray) -> AllRowsFit:
    """The model and threshold to deploy: ``spec`` fitted and its threshold tuned on every row,
    by the same procedure as inside each training part (fitted without tuning where thresholds
    are not tuned, or where tuning fails, as in the splits)."""
    split = Split(0, 0, np.arange(len(y)), np.arange(0))
    tuned = spec.tunable and plan.tuning.possible
    if tuned and plan.tuning.validation_fraction is not None:
        fraction = plan.tuning.validation_fraction
        split = with_validation(split, y, fraction, plan.seed, plan.groups, plan.order)
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        if tuned:
            try:
                model, threshold, _ = _fitted(spec, plan, X, y, split, _SharedRows(X, y, split))
                return AllRowsFit(model, threshold, split.validation)
            except Exception:  # as in the splits: the default threshold then
                pass
        try:
            untuned = replace(plan, tuning=Tuning(0))
            model, _, _ = _fitted(spec, untuned, X, y, split, _SharedRows(X, y, split))
        except Exception:
            return AllRowsFit(None, None)
    return AllRowsFit(model, None)


def fit_negatives(positives: int) -> int:
    """How many negatives a supervised model is fitted on, at most, beside ``positives``."""
    return max(MIN_FIT_NEGATIVES, NEGATIVES_PER_POSITIVE * positives)


def _with_negative_sampling(pipeline, spec, layout: FeatureLayout, y_fitting: np.ndarray):
    """Wrap the pipeline for case-control sampling of large fitting rows (``y_fitting``: their
    labels), and for the probability correction of a prior-sensitive model when ``--sample``
    dropped negatives.

    The baseline needs neither; the Isolation Forest already subsamples (256 rows a tree) and its
    default cut must see the training part's own prevalence.
    """
    if not spec.supervised:
        return pipeline
    limit = fit_negatives(int(y_fitting.sum()))
    sampled = int((y_fitting == 0).sum()) > limit
    corrected = spec.prior_sensitive and layout.sampling_rate < 1.0
    if not (sampled or corrected):
        return pipeline
    return NegativeSampleClassifier(
        pipeline,
        max_negatives=limit,
        correct_probabilities=spec.prior_sensitive,
        prior_rate=layout.sampling_rate,
        random_state=layout.seed,
    )


def _fit_then_tune_on_validation(pipeline, spec, y, split: Split, plan: FitPlan, shared):
    """Large training parts: fit once on ``split.fit``, tune the threshold on ``split.validation``.

    The same as ``TunedThresholdClassifierCV(cv=fraction, refit=False)``, which would fit the
    pipeline twice on the same rows. Rows are picked from ``X`` by index and only those a model
    is fitted on are gathered (case-control sampled rows; a stratified sample for the forest),
    through ``shared``: once for the whole group, which also shares the preprocessing step.
    """
    from sklearn.model_selection import TunedThresholdClassifierCV

    shared.share_first_step(pipeline)
    fit_rows = split.fit
    if isinstance(pipeline, NegativeSampleClassifier):
        sampled, rate = shared.case_control(pipeline.max_negatives, pipeline.random_state)
        model = pipeline.fit_sampled(shared.take(sampled), y[sampled], rate)
    else:
        if spec.anomaly and len(fit_rows) > FOREST_FIT_ROWS:
            fit_rows = stratified_sample(fit_rows, y, FOREST_FIT_ROWS, plan.seed)
        model = pipeline.fit(shared.take(fit_rows), y[fit_rows])
    tuner = TunedThresholdClassifierCV(
        model,
        scoring=plan.objective.scorer(),
        response_method=spec.response_method,
        cv="prefit",
        refit=False,
    ).fit(shared.take(split.validation), y[split.validation])
    return model, float(tuner.best_threshold_)


def _fit_and_tune(pipeline, spec, X, y, split: Split, plan: FitPlan, shared):
    """The fitted model, its tuned threshold (``None`` when not tuned) and whether the threshold
    was tuned on out-of-bag scores, by the cheapest way that suits this training part."""
    from sklearn.model_selection import TunedThresholdClassifierCV

    tuning, objective, seed = plan.tuning, plan.objective, plan.seed
    rows = split.train
    if spec.anomaly and len(rows) > FOREST_FIT_ROWS:
        rows = stratified_sample(rows, y, FOREST_FIT_ROWS, seed)
    if not (spec.tunable and tuning.possible):
        return pipeline.fit(X[rows], y[rows]), None, False
    if spec.anomaly and plan.order is None:  # out-of-bag rows are earlier and later ones
        tuned = _fit_then_tune_out_of_bag(pipeline, X[rows], y[rows], objective)
        if tuned is not None:
            return (*tuned, True)
    if tuning.validation_fraction is not None:
        tuned = _fit_then_tune_on_validation(pipeline, spec, y, split, plan, shared)
        return (*tuned, False)
    X_train, y_train = X[split.train], y[split.train]
    tuner = TunedThresholdClassifierCV(
        pipeline,
        scoring=objective.scorer(),
        response_method=spec.response_method,
        cv=tuning.cv(seed)
        if plan.groups is None
        else group_folds(y_train, plan.groups[split.train], tuning.inner_folds, seed),
        refit=True,
        random_state=seed,
    ).fit(X_train, y_train)
    return tuner.estimator_, float(tuner.best_threshold_), False


def _fit_then_tune_out_of_bag(pipeline, X_train, y_train, objective):
    """The Isolation Forest: fit once, tune the threshold on its out-of-bag training scores.

    Each tree draws 256 of the training part's negatives; a negative scored only by the trees
    that did not draw it is out-of-sample, as are the positives (never drawn). Tuning on those
    scores replaces the inner cross-validation's three extra forests. ``None`` where the
    majority is too small for out-of-bag scores (every tree draws nearly every row).
    """
    model = pipeline.fit(X_train, y_train)
    scores = model[-1].oob_scores_  # computed by the fit (the default cut is read from them)
    if scores is None:
        return None
    return model, threshold_for_scores(scores, y_train, objective)


def threshold_for_scores(scores: np.ndarray, y: np.ndarray, objective) -> float:
    """The threshold on known out-of-sample ``scores`` of rows labelled ``y`` that best meets
    ``objective`` (scikit-learn's ``TunedThresholdClassifierCV`` searching over them)."""
    from sklearn.model_selection import TunedThresholdClassifierCV

    tuner = TunedThresholdClassifierCV(
        _known_scores(scores),
        scoring=objective.scorer(),
        response_method="decision_function",
        cv="prefit",
        refit=False,
    ).fit(np.zeros((len(scores), 1)), y)
    return float(tuner.best_threshold_)


def _known_scores(scores: np.ndarray):
    """A fitted "model" whose scores for the rows it is asked about are already known, so that
    ``TunedThresholdClassifierCV`` can search a threshold over them (out-of-bag scores)."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class KnownScores(ClassifierMixin, BaseEstimator):
        def __init__(self, scores=None):
            self.scores = scores

        def fit(self, X, y):
            return self

        def decision_function(self, X):
            if len(X) != len(self.scores):
                raise ValueError("KnownScores only scores the rows its scores belong to.")
            return self.scores

    model = KnownScores(scores)
    model.classes_ = np.array([0, 1])
    return model
