"""The leakage-safe evaluation protocol: ``Dataset`` + ``Config`` → ``Results``.

Each strategy's pipeline is fitted on the training part of each split only; its threshold is
tuned inside that training part (``TunedThresholdClassifierCV``): by an inner cross-validation,
on a validation share of a large training part, or, for the Isolation Forest, on out-of-bag
scores. Only the held-out rows of each split are scored, so every evaluated prediction is
out-of-sample and no synthetic row is ever evaluated. Small data is fitted in this process,
larger data in joblib worker processes (folds × strategies in parallel).
"""

from __future__ import annotations

import os
import time
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from imbreport import metrics as m
from imbreport import workers
from imbreport.errors import InputError
from imbreport.model import Comparison, Config, Dataset, Protocol, Results, StrategyResult
from imbreport.strategies import FeatureLayout, StrategySpec, select_strategies
from imbreport.thresholds import Objective, parse_objective

DEFAULT_INNER_FOLDS = 3
#: Above this many training rows, thresholds are tuned on one stratified validation split of the
#: training part (no refit) instead of an inner cross-validation: 1 fit per split instead of 4.
LARGE_TRAINING_PART = 60_000
VALIDATION_FRACTION = 0.2
#: Up to this many cells (rows × feature columns × splits) the strategies are fitted in this
#: process, one thread each: starting worker processes (a second or two of imports each) would
#: cost more than the second core saves. Measured: the 1,000-row article dataset (50,000) fits in
#: 2.2 s in process against 3–4 s with workers; 10,000 rows × 33 columns with --holdout
#: (330,000): 1.6 s of work, 2.8 s with workers; the 5,472-row page_blocks0 (274,000): equal.
IN_PROCESS_CELLS = 400_000
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


def evaluate(
    dataset: Dataset, config: Config, progress: Callable[[int, int], None] | None = None
) -> Results:
    """Run every selected strategy under the protocol and measure it with intervals."""
    from imbreport.recommend import choose_recommended

    started = time.perf_counter()
    specs = select_strategies(config.strategies)
    objective = parse_objective(config.threshold_objective, config.cost_fp, config.cost_fn)
    n_jobs = workers.count(config.n_jobs)
    n_splits = 1 if config.holdout else config.folds * config.repeats
    features = max(len(dataset.numeric) + len(dataset.categorical), 1)
    small = len(dataset.y) * features * n_splits <= IN_PROCESS_CELLS
    warming = None if small or n_jobs == 1 else workers.start(n_jobs)
    splits, protocol_notes = make_splits(dataset.y, config)
    inner = _inner_folds(dataset.y, splits)
    large = min(len(s.train) for s in splits) > LARGE_TRAINING_PART
    n_numeric, n_categorical = len(dataset.numeric), len(dataset.categorical)
    layout = FeatureLayout(
        tuple(range(n_numeric)),
        tuple(range(n_numeric, n_numeric + n_categorical)),
        seed=config.seed,
        threads=1 if n_jobs > 1 or small else max(os.cpu_count() or 1, 1),
        sampling_rate=dataset.sampling_rate,
    )
    notes = list(protocol_notes)
    if inner < 2:
        notes.append(
            "Too few positives in the training parts for an inner cross-validation: thresholds "
            "are not tuned (the default threshold is used)."
        )
    tuning = _Tuning(inner, VALIDATION_FRACTION if large else None)
    if tuning.possible and tuning.validation_fraction is not None:
        splits = [
            _with_validation(s, dataset.y, tuning.validation_fraction, config.seed) for s in splits
        ]
    notes.extend(_case_control_note(dataset.y, splits))
    forest_sampled = any(len(s.train) > FOREST_FIT_ROWS for s in splits)
    if forest_sampled and any(spec.name == "isolation_forest" for spec in specs):
        notes.append(
            f"The Isolation Forest was fitted on {FOREST_FIT_ROWS:,} rows drawn at random "
            "from each training part, its prevalence kept (it draws 256 rows per tree)."
        )
    smote_note = _smote_note(specs, dataset.y, splits, inner)
    unrunnable = _unrunnable(specs, dataset.y, splits)
    runnable = [spec for spec in specs if spec.name not in unrunnable]
    fit_started = time.perf_counter()
    processes = 1 if small else n_jobs
    X = model_matrix(dataset)
    if warming is not None:
        warming.join()
    outcomes = _run_all(
        runnable, layout, X, dataset.y, splits, objective, tuning, processes, progress
    )
    fit_seconds = time.perf_counter() - fit_started
    notes.extend(_out_of_bag_note(outcomes))

    evaluated = np.unique(np.concatenate([s.test for s in splits]))
    y_eval = dataset.y[evaluated]
    repeats = max(s.repeat for s in splits) + 1
    if repeats > 1:
        notes.append(
            f"Metrics are averaged over the {repeats} repeats of the cross-validation (their "
            "intervals are those of the averages); the confusion tables, curves and threshold "
            "sweeps show the first repeat."
        )
    position = np.full(len(dataset.y), -1)
    position[evaluated] = np.arange(len(evaluated))

    measure_started = time.perf_counter()
    weight = 1.0 / dataset.sampling_rate
    if dataset.sampling_rate < 1:
        notes.append(
            f"--sample kept {dataset.sampling_rate:.2%} of the negatives: each evaluated negative "
            f"counts {weight:.2f} times in precision, PR-AUC, accuracy, F1, MCC, Brier and "
            "log-loss, so they describe the full data; thresholds were tuned on the sample."
        )
    measured = _measure_all(
        specs,
        outcomes,
        unrunnable,
        _Evaluated(y_eval, position, repeats, splits, weight, objective),
        smote_note,
        n_jobs,
    )
    results = [r for r, _, _ in measured]
    point_values = {r.name: values for r, values, _ in measured if r.ok}
    boot_inputs = {r.name: inp for r, _, inp in measured if r.ok}

    resamples = config.bootstrap
    distributions = m.bootstrap(y_eval, boot_inputs, resamples, config.seed, weight, n_jobs)
    final = []
    for result in results:
        if not result.ok:
            final.append(result)
            continue
        default_values, tuned_values = point_values[result.name]
        dist = distributions[result.name]
        final.append(
            replace(
                result,
                metrics=m.with_intervals(default_values, dist["default"]),
                tuned_metrics=m.with_intervals(tuned_values, dist["tuned"]),
            )
        )
    comparisons = _compare(final, distributions)
    positives = int(y_eval.sum())
    represented = positives + round((len(y_eval) - positives) * weight)
    prevalence = positives / represented
    random_level = m.random_ranking_pr_auc(positives, represented, seed=config.seed)
    recommended, beats_chance = choose_recommended(final, comparisons, prevalence, random_level)
    measure_seconds = time.perf_counter() - measure_started

    protocol = Protocol(
        kind="holdout" if config.holdout else "cv",
        folds=None if config.holdout else len({s.fold for s in splits}),
        repeats=None if config.holdout else repeats,
        test_fraction=config.holdout,
        seed=config.seed,
        threshold_objective=objective.text,
        inner_folds=inner,
        interval_method=_interval_method(config, resamples, int((y_eval == 0).sum())),
        bootstrap=resamples,
        evaluated_rows=len(evaluated),
        notes=tuple(notes),
        threshold_tuning=tuning.describe(),
    )
    warnings = list(dataset.warnings)
    if y_eval.sum() < 10:
        warnings.append(
            f"The figures rest on {int(y_eval.sum())} evaluated positives: the bootstrap cannot "
            "show how uncertain they are (an interval can even collapse to a point). Treat every "
            "figure as anecdotal."
        )
    elif y_eval.sum() < 30:
        warnings.append(
            f"The figures rest on {int(y_eval.sum())} evaluated positives (fewer than 30): every "
            "interval is wide; treat small differences between strategies as noise."
        )
    warnings.extend(f"{r.label} skipped: {r.reason}" for r in final if not r.ok)
    timings = {
        "fit_seconds": round(fit_seconds, 3),
        "measure_seconds": round(measure_seconds, 3),
        "evaluate_seconds": round(time.perf_counter() - started, 3),
        "strategies": {r.name: round(r.seconds, 3) for r in final},
    }
    illustration = None
    from imbreport.illustrate import illustrate

    try:
        illustration = illustrate(dataset, recommended.strategy, config)
    except Exception as exc:  # an illustration must never sink the report
        warnings.append(f"The 2-D illustrations could not be drawn: {_short_error(exc)}")
    timings["illustrate_seconds"] = round(
        time.perf_counter() - started - timings["evaluate_seconds"], 3
    )
    return Results(
        dataset=dataset,
        protocol=protocol,
        strategies=tuple(final),
        comparisons=tuple(comparisons),
        recommended=recommended,
        beats_chance=beats_chance,
        warnings=tuple(warnings),
        versions=library_versions(),
        timings=timings,
        illustration=illustration,
        random_pr_auc=random_level,
    )


def _interval_method(config: Config, resamples: int, negatives: int) -> str:
    where = "test-split" if config.holdout else "out-of-fold"
    pairing = (
        "the same resamples for every strategy, so differences are paired"
        if negatives <= m.LARGE_NEGATIVES
        else "positives resampled row by row and shared by every strategy (paired); the "
        f"{negatives:,} negatives resampled as counts over score intervals per strategy"
    )
    return (
        f"stratified bootstrap of the {where} predictions ({resamples} resamples; positives and "
        f"negatives resampled separately; {pairing})"
    )


# --- splits -------------------------------------------------------------------------------------


def make_splits(y: np.ndarray, config: Config) -> tuple[list[Split], list[str]]:
    """Stratified K-fold (repeated) or a single stratified holdout split, with notes."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, train_test_split

    positives = int(y.sum())
    notes: list[str] = []
    index = np.arange(len(y))
    if config.holdout:
        test_pos = round(positives * config.holdout)
        if test_pos < 1 or positives - test_pos < 2:
            raise InputError(
                f"A holdout of {config.holdout:g} leaves {test_pos} positive(s) in the test split "
                f"and {positives - test_pos} in the training split (of {positives}); use "
                "cross-validation (drop --holdout) or a different fraction."
            )
        train, test = train_test_split(
            index, test_size=config.holdout, stratify=y, random_state=config.seed
        )
        return [Split(0, 0, train, test)], notes
    folds = config.folds
    if positives < folds:
        notes.append(
            f"Only {positives} positives: cross-validation uses {positives} folds instead of "
            f"{folds} so that every fold has a positive."
        )
        folds = positives
    if config.repeats > 1:
        splitter = RepeatedStratifiedKFold(
            n_splits=folds, n_repeats=config.repeats, random_state=config.seed
        )
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    splits = [
        Split(i // folds, i % folds, train, test)
        for i, (train, test) in enumerate(splitter.split(index, y))
    ]
    return splits, notes


def _fitting_rows(split: Split) -> np.ndarray:
    """The rows a supervised model is fitted on: the training part, less its validation rows."""
    return split.train if split.fit is None else split.fit


def _case_control_note(y: np.ndarray, splits: list[Split]) -> list[str]:
    """The protocol note on case-control sampling, if any split's models were fitted on a sample."""
    sampled = [
        (fit_negatives(int(y[rows].sum())), int((y[rows] == 0).sum()))
        for rows in map(_fitting_rows, splits)
    ]
    sampled = [(kept, pool) for kept, pool in sampled if pool > kept]
    if not sampled:
        return []
    kept, pool = max(sampled, key=lambda pair: pair[1])
    return [
        "Large training parts: every supervised model was fitted on all the positives of the "
        f"rows it learns from and a random sample of their negatives ({NEGATIVES_PER_POSITIVE} "
        f"per positive, at least {MIN_FIT_NEGATIVES:,}: up to {kept:,} of {pool:,}; "
        "case-control sampling). Plain logistic regression's probabilities were corrected for "
        "the sampling rate (Dal Pozzolo et al., 2015). Every held-out row is evaluated."
    ]


def _with_validation(split: Split, y: np.ndarray, fraction: float, seed: int) -> Split:
    """``split`` with its training part divided into fitting rows and a stratified validation
    share (at least one positive on each side)."""
    validation = _stratified_sample(split.train, y, round(fraction * len(split.train)), seed)
    chosen = np.zeros(len(y), dtype=bool)
    chosen[validation] = True
    return replace(split, fit=split.train[~chosen[split.train]], validation=validation)


def _inner_folds(y: np.ndarray, splits: list[Split]) -> int:
    fewest = min(int(y[s.train].sum()) for s in splits)
    return max(0, min(DEFAULT_INNER_FOLDS, fewest)) if fewest >= 2 else 0


def _smote_note(specs, y, splits, inner) -> str | None:
    if not any(s.name == "smote" for s in specs):
        return None
    fewest = min(int(y[s.train].sum()) for s in splits)
    if inner >= 2:
        fewest = fewest - -(-fewest // inner)  # positives in the smallest inner training part
    if fewest < 2:
        return (
            "SMOTE could not resample where a threshold-tuning part had a single positive; "
            "there it is plain logistic regression."
        )
    if fewest - 1 < 5:
        return (
            f"SMOTE's k_neighbors was reduced to {fewest - 1} where a training part had "
            f"only {fewest} positives."
        )
    return None


def _unrunnable(specs, y, splits) -> dict[str, str]:
    """Strategies that cannot run on these splits, with the reason (reported as skipped)."""
    fewest = min(int(y[s.train].sum()) for s in splits)
    reasons = {}
    if fewest < 2 and any(s.name == "smote" for s in specs):
        reasons["smote"] = (
            f"SMOTE needs at least 2 positives in every training part; the smallest has {fewest}."
        )
    return reasons


# --- fitting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tuning:
    """How thresholds are tuned inside a training part: inner CV folds, or one validation split."""

    inner_folds: int
    validation_fraction: float | None = None

    @property
    def possible(self) -> bool:
        return self.inner_folds >= 2

    def describe(self) -> str:
        if not self.possible:
            return "not tuned: too few positives for an inner cross-validation"
        if self.validation_fraction is not None:
            return (
                f"on a stratified {self.validation_fraction:.0%} validation split of each "
                "training part (the model evaluated is fitted on the rest of that part)"
            )
        return f"by a {self.inner_folds}-fold cross-validation inside each training part"

    def cv(self, seed: int):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(self.inner_folds, shuffle=True, random_state=seed)


def model_matrix(dataset: Dataset) -> np.ndarray:
    """One float matrix for the pipelines: numeric columns, then categorical columns as integer
    codes (NaN where missing).

    The codes only rename the category strings (nothing is learned from the target or from other
    rows), and numbers make encoding, slicing and shipping to worker processes fast.
    """
    import pandas as pd

    matrix = np.empty(
        (len(dataset.y), len(dataset.numeric) + len(dataset.categorical)), MATRIX_DTYPE
    )
    for i, name in enumerate(dataset.numeric):
        matrix[:, i] = dataset.X[name].to_numpy(dtype=np.float64, na_value=np.nan)
    for i, name in enumerate(dataset.categorical, start=len(dataset.numeric)):
        codes = pd.Categorical(dataset.X[name]).codes.astype(MATRIX_DTYPE)
        codes[codes < 0] = np.nan
        matrix[:, i] = codes
    return matrix


#: Strategies in order of their usual cost (heaviest first): handing the long tasks to the workers
#: first keeps one worker from finishing a long task alone at the end.
HEAVIEST_FIRST = ("isolation_forest", "xgboost", "smote", "oversample")


def _cost_rank(spec: StrategySpec) -> int:
    return HEAVIEST_FIRST.index(spec.name) if spec.name in HEAVIEST_FIRST else len(HEAVIEST_FIRST)


def _run_all(specs, layout, X, y, splits, objective, tuning, n_jobs, progress):
    from joblib import Parallel, delayed

    groups = sorted(_groups(specs, layout, tuning), key=lambda g: min(map(_cost_rank, g)))
    tasks = [(group, split) for group in groups for split in splits]
    total = len(specs) * len(splits)
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        outcomes = []
        # one BLAS thread a fit where it pays (as in the workers); all of them otherwise
        with threadpool_limits(layout.threads):
            for group, split in tasks:
                outcomes.extend(fit_group(group, layout, X, y, split, objective, tuning))
                if progress:
                    progress(len(outcomes), total)
        return outcomes
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    outcomes = []
    generator = runner(
        delayed(_fit_group_without_split)(group, layout, X, y, split, objective, tuning)
        for group, split in tasks
    )
    for (_group, split), group_outcomes in zip(tasks, generator, strict=True):
        outcomes.extend(replace(outcome, split=split) for outcome in group_outcomes)
        if progress:
            progress(len(outcomes), total)
    return outcomes


def _groups(specs, layout: FeatureLayout, tuning: _Tuning) -> list[tuple[StrategySpec, ...]]:
    """Strategies fitted together on a split: on large training parts, those whose pipelines
    start with the same preprocessing (fitted on the same rows) share it; otherwise one each."""
    if not (tuning.possible and tuning.validation_fraction is not None):
        return [(spec,) for spec in specs]
    together: dict[str, list[StrategySpec]] = {}
    for spec in specs:
        together.setdefault(_shared_step_key(spec, layout) or spec.name, []).append(spec)
    return [tuple(group) for group in together.values()]


def _shared_step_key(spec: StrategySpec, layout: FeatureLayout) -> str | None:
    """What identifies a supervised strategy's preprocessing step (``None``: nothing to share)."""
    if spec.name in ("majority", "isolation_forest"):
        return None
    return _first_step_key(spec.build(layout))


def _first_step_key(pipeline) -> str | None:
    """What identifies a pipeline's first step when it is its preprocessing, unfitted."""
    from joblib import hash as joblib_hash

    name, step = pipeline.steps[0]
    return f"preprocess:{joblib_hash(step)}" if name == "preprocess" else None


def _fit_group_without_split(*args) -> list[FoldOutcome]:
    """``fit_group`` in a worker: the outcomes travel back without their split's row indices (a
    copy of them per outcome would cost the main process hundreds of MB on large files)."""
    return [replace(outcome, split=None) for outcome in fit_group(*args)]


def fit_group(specs, layout, X, y, split, objective, tuning) -> list[FoldOutcome]:
    """Fit several strategies on one split; the rows they read are gathered once, and a first
    pipeline step they share is fitted and applied once (``_SharedRows``)."""
    shared = _SharedRows(X, y, split, share_steps=len(specs) > 1)
    return [fit_one(spec, layout, X, y, split, objective, tuning, shared) for spec in specs]


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
        from imbreport.strategies import case_control_rows

        key = (max_negatives, seed)
        if key not in self._samples:
            fit = self.split.fit
            rows, rate = case_control_rows(self.y[fit], max_negatives, seed)
            self._samples[key] = (fit[rows], rate)
        return self._samples[key]

    def share_first_step(self, pipeline) -> None:
        """Put the group's shared copy of the pipeline's preprocessing step in its place (when
        the group has several strategies)."""
        from imbreport.strategies import NegativeSampleClassifier

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
    layout: FeatureLayout,
    X,
    y: np.ndarray,
    split: Split,
    objective: Objective,
    tuning: _Tuning,
    shared: _SharedRows | None = None,
) -> FoldOutcome:
    """Fit one strategy on one training part and score its held-out rows (reading shared rows and
    preprocessing from ``shared`` when several strategies of a group use them)."""

    started = time.perf_counter()
    if tuning.possible and tuning.validation_fraction is not None and split.fit is None:
        split = _with_validation(split, y, tuning.validation_fraction, layout.seed)  # called alone
    shared = shared or _SharedRows(X, y, split)
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            pipeline = spec.build(layout)
            fitting = _fitting_rows(split) if spec.tunable and tuning.possible else split.train
            pipeline = _with_negative_sampling(pipeline, spec, layout, y[fitting])
            model, threshold, out_of_bag = _fit_and_tune(
                pipeline, spec, X, y, split, objective, tuning, layout.seed, shared
            )
            X_test = shared.take(split.test)
            if spec.response_method == "decision_function":
                scores = model.decision_function(X_test)
                default_threshold = float(model[-1].cut_)  # the forest is never wrapped
            else:
                scores = model.predict_proba(X_test)[:, 1]
                default_threshold = 0.5
            # The models' own predict() is this comparison; scoring the rows twice is not needed.
            default_pred = scores >= default_threshold
    except Exception as exc:  # a strategy that cannot run is skipped, the run goes on
        return FoldOutcome(spec.name, split, error=_short_error(exc))
    return FoldOutcome(
        spec.name,
        split,
        scores=np.asarray(scores, dtype=float),
        default_pred=default_pred,
        threshold=threshold,
        default_threshold=default_threshold,
        seconds=time.perf_counter() - started,
        out_of_bag=out_of_bag,
    )


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
    from imbreport.strategies import NegativeSampleClassifier

    if spec.name in ("majority", "isolation_forest"):
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


def _fit_then_tune_on_validation(pipeline, spec, X, y, split, objective, seed, shared):
    """Large training parts: fit once on ``split.fit``, tune the threshold on ``split.validation``.

    The same as ``TunedThresholdClassifierCV(cv=fraction, refit=False)``, which would fit the
    pipeline twice on the same rows. Rows are picked from ``X`` by index and only those a model
    is fitted on are gathered (case-control sampled rows; a stratified sample for the forest),
    through ``shared``: once for the whole group, which also shares the preprocessing step.
    """
    from sklearn.model_selection import TunedThresholdClassifierCV

    from imbreport.strategies import NegativeSampleClassifier

    shared.share_first_step(pipeline)
    fit_rows = split.fit
    if isinstance(pipeline, NegativeSampleClassifier):
        sampled, rate = shared.case_control(pipeline.max_negatives, pipeline.random_state)
        model = pipeline.fit_sampled(shared.take(sampled), y[sampled], rate)
    else:
        if spec.name == "isolation_forest" and len(fit_rows) > FOREST_FIT_ROWS:
            fit_rows = _stratified_sample(fit_rows, y, FOREST_FIT_ROWS, seed)
        model = pipeline.fit(shared.take(fit_rows), y[fit_rows])
    tuner = TunedThresholdClassifierCV(
        model,
        scoring=objective.scorer(),
        response_method=spec.response_method,
        cv="prefit",
        refit=False,
    ).fit(shared.take(split.validation), y[split.validation])
    return model, float(tuner.best_threshold_)


def _fit_and_tune(pipeline, spec, X, y, split, objective, tuning, seed, shared):
    """The fitted model, its tuned threshold (``None`` when not tuned) and whether the threshold
    was tuned on out-of-bag scores, by the cheapest way that suits this training part."""
    from sklearn.model_selection import TunedThresholdClassifierCV

    rows = split.train
    if spec.name == "isolation_forest" and len(rows) > FOREST_FIT_ROWS:
        rows = _stratified_sample(rows, y, FOREST_FIT_ROWS, seed)
    if not (spec.tunable and tuning.possible):
        return pipeline.fit(X[rows], y[rows]), None, False
    if spec.name == "isolation_forest":
        tuned = _fit_then_tune_out_of_bag(pipeline, X[rows], y[rows], objective)
        if tuned is not None:
            return (*tuned, True)
    if tuning.validation_fraction is not None:
        tuned = _fit_then_tune_on_validation(pipeline, spec, X, y, split, objective, seed, shared)
        return (*tuned, False)
    X_train, y_train = X[split.train], y[split.train]
    tuner = TunedThresholdClassifierCV(
        pipeline,
        scoring=objective.scorer(),
        response_method=spec.response_method,
        cv=tuning.cv(seed),
        refit=True,
        random_state=seed,
    ).fit(X_train, y_train)
    return tuner.estimator_, float(tuner.best_threshold_), False


def _out_of_bag_note(outcomes: list[FoldOutcome]) -> list[str]:
    forests = [o for o in outcomes if o.strategy == "isolation_forest" and not o.error]
    used = sum(o.out_of_bag for o in forests)
    if not used:
        return []
    where = (
        ""
        if used == len(forests)
        else f" (in {used} of {len(forests)} splits; in the others by the inner cross-validation)"
    )
    return [
        "The Isolation Forest's threshold was tuned on out-of-bag scores of the training rows "
        f"it was fitted on{where}: each negative scored only by the trees that did not draw it, "
        "the positives (never drawn) by all; one forest per split, no inner cross-validation "
        "or validation split."
    ]


def _fit_then_tune_out_of_bag(pipeline, X_train, y_train, objective):
    """The Isolation Forest: fit once, tune the threshold on its out-of-bag training scores.

    Each tree draws 256 of the training part's negatives; a negative scored only by the trees
    that did not draw it is out-of-sample, as are the positives (never drawn). Tuning on those
    scores replaces the inner cross-validation's three extra forests. ``None`` where the
    majority is too small for out-of-bag scores (every tree draws nearly every row).
    """
    from sklearn.model_selection import TunedThresholdClassifierCV

    model = pipeline.fit(X_train, y_train)
    scores = model[-1].oob_scores_  # computed by the fit (the default cut is read from them)
    if scores is None:
        return None
    tuner = TunedThresholdClassifierCV(
        _known_scores(scores),
        scoring=objective.scorer(),
        response_method="decision_function",
        cv="prefit",
        refit=False,
    ).fit(X_train, y_train)
    return model, float(tuner.best_threshold_)


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


def _stratified_sample(rows: np.ndarray, y: np.ndarray, size: int, seed: int) -> np.ndarray:
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


def _short_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evaluated:
    """What every strategy's measurement shares: the evaluated rows and how they were split."""

    y: np.ndarray
    position: np.ndarray  # row index → column in the evaluated arrays
    repeats: int
    splits: list[Split]
    weight: float  # of each evaluated negative (--sample)
    objective: Objective


def _measure_all(specs, outcomes, unrunnable, evaluated: _Evaluated, smote_note, n_jobs):
    """Measure every strategy (in threads: sorting a million scores releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def measure(spec):
        if spec.name in unrunnable:
            return _skipped(spec, unrunnable[spec.name]), None, None
        mine = [o for o in outcomes if o.strategy == spec.name]
        failed = [o for o in mine if o.error]
        if failed:
            return _skipped(spec, failed[0].error), None, None
        return _measure_strategy(spec, mine, evaluated, smote_note)

    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        return list(pool.map(measure, specs))


def _measure_strategy(spec, mine, ev: _Evaluated, smote_note):
    """Point metrics, bootstrap input and curves of one strategy from its fold outcomes."""
    width = len(ev.y)
    scores = np.zeros((ev.repeats, width))
    default_pred = np.zeros((ev.repeats, width), dtype=bool)
    tuned_pred = np.zeros((ev.repeats, width), dtype=bool)
    for o in mine:
        cols = ev.position[o.split.test]
        scores[o.split.repeat, cols] = o.scores
        default_pred[o.split.repeat, cols] = o.default_pred
        tuned_pred[o.split.repeat, cols] = (
            o.default_pred if o.threshold is None else o.scores >= o.threshold
        )
    probabilistic = spec.score_kind != "anomaly score"
    ranked = [m.RankedScores(ev.y, s, ev.weight) for s in scores]  # one sort per repeat
    ranking = _mean_over_repeats([r.ranking_metrics(probabilistic) for r in ranked])
    default_values = {
        **_mean_over_repeats([m.threshold_metrics(ev.y, p, ev.weight) for p in default_pred]),
        **ranking,
    }
    tuned_values = {
        **_mean_over_repeats([m.threshold_metrics(ev.y, p, ev.weight) for p in tuned_pred]),
        **ranking,
    }
    result = _strategy_result(
        spec,
        mine,
        ev.y,
        ranked[0],
        default_pred[0],
        tuned_pred[0],
        ev.splits,
        ev.position,
        ev.objective,
        smote_note if spec.name == "smote" else None,
    )
    inputs = m.BootstrapInput(scores, default_pred, tuned_pred, probabilistic)
    return result, (default_values, tuned_values), inputs


def _mean_over_repeats(per_repeat: list[dict]) -> dict[str, float | None]:
    """Each metric averaged over the repeats of the cross-validation (``None`` stays ``None``)."""
    out = {}
    for key in per_repeat[0]:
        values = [v[key] for v in per_repeat]
        out[key] = None if values[0] is None else float(np.mean(values))
    return out


def _strategy_result(
    spec,
    outcomes,
    y_eval,
    ranked: m.RankedScores,
    default_pred,
    tuned_pred,
    splits,
    position,
    objective,
    note,
) -> StrategyResult:
    """The strategy's report entry; its curves come from the first repeat's ``ranked`` scores."""
    thresholds = tuple(o.threshold for o in outcomes if o.threshold is not None)
    first_repeat = [position[s.test] for s in splits if s.repeat == 0]
    scores, weight = ranked.scores, ranked.negative_weight
    curves = {
        "roc": m.roc_points(y_eval, scores, ranked=ranked),
        "pr": m.pr_points(y_eval, scores, ranked=ranked),
        "threshold_sweep": m.threshold_sweep(
            y_eval, scores, objective.cost_fp, objective.cost_fn, ranked=ranked
        ),
    }
    if len(first_repeat) > 1:
        bands = m.fold_bands(y_eval, scores, first_repeat, ranked=ranked)
        if bands:
            curves["fold_bands"] = bands
    if spec.score_kind == "probability":
        curves["calibration"] = m.calibration_points(y_eval, scores, negative_weight=weight)
    defaults = [o.default_threshold for o in outcomes if o.default_threshold is not None]
    notes = [note] if note else []
    if spec.score_kind == "anomaly score":
        notes.append("Thresholds are on the anomaly-score scale, not probabilities.")
    return StrategyResult(
        name=spec.name,
        label=spec.label,
        description=spec.description,
        status="ok",
        score_kind=spec.score_kind,
        threshold=float(np.median(thresholds)) if thresholds else None,
        default_threshold=float(np.median(defaults)) if defaults else None,
        fold_thresholds=thresholds,
        confusion=m.confusion_counts(y_eval, default_pred),
        tuned_confusion=m.confusion_counts(y_eval, tuned_pred),
        curves=curves,
        notes=tuple(notes),
        seconds=float(sum(o.seconds for o in outcomes)),
    )


def _skipped(spec: StrategySpec, reason: str) -> StrategyResult:
    return StrategyResult(
        name=spec.name,
        label=spec.label,
        description=spec.description,
        status="skipped",
        reason=reason,
        score_kind=spec.score_kind,
    )


def _compare(results: list[StrategyResult], distributions) -> list[Comparison]:
    """Paired PR-AUC differences between the supervised leader (the one the recommendation rule
    starts from) and every other evaluated strategy, plus SMOTE against class weights."""
    from imbreport.strategies import SIMPLICITY_ORDER

    ranked = sorted(
        (r for r in results if r.ok and r.name != "majority"),
        key=lambda r: -(r.metrics["pr_auc"].value or 0.0),
    )
    supervised = [r for r in ranked if r.name in SIMPLICITY_ORDER]
    if len(ranked) < 2 or not supervised:
        return []
    leader = supervised[0]
    pairs = [(leader, other) for other in ranked if other is not leader]
    by_name = {r.name: r for r in ranked}
    if "smote" in by_name and "balanced" in by_name and leader.name not in ("smote", "balanced"):
        pairs.append((by_name["smote"], by_name["balanced"]))
    out = []
    for first, second in pairs:
        diff = (
            distributions[first.name]["default"]["pr_auc"]
            - distributions[second.name]["default"]["pr_auc"]
        )
        out.append(
            Comparison(
                metric="pr_auc",
                first=first.name,
                second=second.name,
                difference=first.metrics["pr_auc"].value - second.metrics["pr_auc"].value,
                ci=m.interval(diff),
            )
        )
    return out


def library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("imbreport", "numpy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
