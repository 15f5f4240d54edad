"""The evaluation engine's conductor: ``Dataset`` + ``AnalysisOptions`` → ``Results``.

The protocol, in order: split the rows (``splits``), fit every strategy on each training part
with its threshold tuned inside that part (``fitting``), measure each on the held-out rows with
paired bootstrap intervals (``measure``). Only held-out rows are scored, so every evaluated
prediction is out-of-sample and no synthetic row is ever evaluated. Nothing is judged here: the
verdict is ``recommend.judge``'s. Worker processes started here are released here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from imbreport import metrics as m
from imbreport import workers
from imbreport.fitting import (
    FOREST_FIT_ROWS,
    LARGE_TRAINING_PART,
    MIN_FIT_NEGATIVES,
    NEGATIVES_PER_POSITIVE,
    VALIDATION_FRACTION,
    FitPlan,
    FoldOutcome,
    Tuning,
    fit_negatives,
    fit_on_all_rows,
    model_matrix,
    run_all,
)
from imbreport.importance import feature_importance
from imbreport.measure import EvaluatedRows, measure
from imbreport.model import Dataset, FeatureImportance, Protocol, Results
from imbreport.options import AnalysisOptions
from imbreport.registry import Correction, StrategySpec, select_strategies
from imbreport.scored import (
    decision_warnings,
    in_sample_warnings,
    score_notes,
    score_outcomes,
    score_specs,
)
from imbreport.splits import Split, fitting_rows, inner_folds, make_splits, with_validation
from imbreport.strategies import FeatureLayout
from imbreport.takeaway import deployable
from imbreport.thresholds import parse_objective
from imbreport.versions import library_versions

#: Up to this many cells (rows × feature columns × splits) the strategies are fitted in this
#: process, one thread each: starting worker processes (a second or two of imports each) would
#: cost more than the second core saves. Measured: the 1,000-row article dataset (50,000) fits in
#: 2.2 s in process against 3–4 s with workers; 10,000 rows × 33 columns with --holdout
#: (330,000): 1.6 s of work, 2.8 s with workers; the 5,472-row page_blocks0 (274,000): equal.
IN_PROCESS_CELLS = 400_000
#: Up to this many cells the fits run in this process and a fork of it (measured on two cores:
#: 10k rows × 33 columns × 5 folds 14 % faster than joblib's workers, 200k holdout 9 %; at 1M
#: rows × 5 folds the two were equal, and joblib's workers start while the file is read).
FORKED_CELLS = 40_000_000


def evaluate(
    dataset: Dataset,
    options: AnalysisOptions,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """Run every selected strategy under the protocol and measure it with intervals."""
    started = time.perf_counter()
    specs = [] if options.only_scores else select_strategies(options.strategies)
    existing = score_specs(dataset)
    n_jobs = workers.count(options.n_jobs)
    cells = _cells(dataset, options) if specs else 0
    # up to FORKED_CELLS the fits are shared with a fork of this process (no imports to pay
    # for, nothing to copy); beyond, joblib's workers (started early, in the background)
    forking = n_jobs > 1 and cells <= FORKED_CELLS and workers.can_fork()
    in_process = cells <= IN_PROCESS_CELLS or forking
    warming = None if in_process or n_jobs == 1 else workers.start(n_jobs)
    try:
        splits, notes = make_splits(dataset.y, options, dataset.group_ids, dataset.roles.time)
        plan = _fit_plan(
            dataset, options, splits, threads_per_fit=1 if n_jobs > 1 or in_process else 0
        )
        if plan.tuning.possible and plan.tuning.validation_fraction is not None:
            fraction = plan.tuning.validation_fraction
            splits = [
                with_validation(
                    s, dataset.y, fraction, options.seed, dataset.group_ids, dataset.roles.time
                )
                for s in splits
            ]
        notes += _fitting_notes(dataset.y, splits, plan.tuning, specs) + score_notes(dataset)
        notes += _time_notes(dataset, splits)
        unrunnable = _unrunnable(specs, dataset.y, splits)
        fit_started = time.perf_counter()
        outcomes = score_outcomes(dataset, splits, plan.objective, plan.tuning.possible)
        if specs:
            X = model_matrix(dataset)
            if warming is not None:
                warming.join()
            runnable = [spec for spec in specs if spec.name not in unrunnable]
            processes = 1 if in_process else n_jobs
            mapper = workers.forked_map if forking else None
            outcomes += run_all(runnable, plan, X, dataset.y, splits, processes, progress, mapper)
        fit_seconds = time.perf_counter() - fit_started
    finally:
        if warming is not None:
            workers.release()  # they exit while the rest runs, instead of at the end
    notes += _out_of_bag_note(outcomes)

    measure_started = time.perf_counter()
    evaluated = EvaluatedRows.of(dataset, splits, plan.objective)
    notes += _evaluation_notes(evaluated, dataset.sampling_rate)
    strategies, draws = measure(
        specs + existing,
        outcomes,
        unrunnable,
        evaluated,
        _strategy_notes(specs, dataset.y, splits, plan.tuning.inner_folds),
        resamples=options.bootstrap,
        seed=options.seed,
        n_jobs=n_jobs,
    )
    positives = int(evaluated.y.sum())
    represented = positives + round((len(evaluated.y) - positives) * evaluated.weight)
    random_level = m.random_ranking_pr_auc(positives, represented, seed=options.seed)
    measure_seconds = time.perf_counter() - measure_started
    return Results(
        dataset=dataset,
        protocol=_protocol(dataset, options, plan, splits, evaluated, notes),
        strategies=strategies,
        warnings=_warnings(dataset, positives, strategies)
        + in_sample_warnings(strategies)
        + decision_warnings(dataset),
        versions=library_versions(),
        timings={
            "fit_seconds": round(fit_seconds, 3),
            "measure_seconds": round(measure_seconds, 3),
            "evaluate_seconds": round(time.perf_counter() - started, 3),
            "strategies": {r.name: round(r.seconds, 3) for r in strategies},
        },
        evaluated_prevalence=positives / represented,
        random_pr_auc=random_level,
        draws=draws,
    )


def _cells(dataset: Dataset, options: AnalysisOptions, n_splits: int | None = None) -> int:
    """Rows × feature columns × splits (those of ``options``, or ``n_splits``): the size of the
    fitting work."""
    if n_splits is None:
        n_splits = 1 if options.holdout else options.folds * options.repeats
    features = max(len(dataset.numeric) + len(dataset.categorical), 1)
    return len(dataset.y) * features * n_splits


def _fit_plan(
    dataset: Dataset, options: AnalysisOptions, splits: list[Split], threads_per_fit: int
) -> FitPlan:
    """What every fit shares; ``threads_per_fit`` 0 means every core (one fit at a time)."""
    n_numeric, n_categorical = len(dataset.numeric), len(dataset.categorical)
    layout = FeatureLayout(
        tuple(range(n_numeric)),
        tuple(range(n_numeric, n_numeric + n_categorical)),
        seed=options.seed,
        threads=threads_per_fit or max(os.cpu_count() or 1, 1),
        sampling_rate=dataset.sampling_rate,
    )
    large = min(len(s.train) for s in splits) > LARGE_TRAINING_PART
    ordered = dataset.roles.time is not None  # tune on the latest rows of each training part
    tuning = Tuning(
        inner_folds(dataset.y, splits),
        VALIDATION_FRACTION if large or ordered else None,
        latest=ordered,
    )
    objective = parse_objective(options.threshold_objective, options.cost_fp, options.cost_fn)
    objective = replace(objective, negative_weight=1.0 / dataset.sampling_rate)
    return FitPlan(layout, objective, tuning, dataset.group_ids, order=dataset.roles.time)


def _protocol(dataset, options, plan: FitPlan, splits, evaluated: EvaluatedRows, notes):
    return Protocol(
        kind="holdout" if options.holdout else "cv",
        folds=None if options.holdout else len({s.fold for s in splits}),
        repeats=None if options.holdout else evaluated.repeats,
        test_fraction=_held_out_share(options, splits, len(dataset.y)),
        seed=options.seed,
        threshold_objective=plan.objective.text,
        inner_folds=plan.tuning.inner_folds,
        interval_method=_interval_method(options, options.bootstrap, int((evaluated.y == 0).sum())),
        bootstrap=options.bootstrap,
        evaluated_rows=len(evaluated.y),
        notes=tuple(notes),
        threshold_tuning=plan.tuning.describe(),
        grouped_by=_grouped_by(dataset),
        tuned_metric=plan.objective.tuned_metric,
        ordered_by=dataset.roles.time_column,
    )


def _held_out_share(options: AnalysisOptions, splits, rows: int) -> float | None:
    """The holdout's share of rows as realised (whole groups can make it differ from asked)."""
    if not options.holdout:
        return None
    realised = len(splits[0].test) / max(rows, 1)
    return options.holdout if abs(realised - options.holdout) < 0.01 else round(realised, 3)


def _grouped_by(dataset: Dataset) -> str | None:
    if dataset.group_ids is None or dataset.roles.time is not None:
        return None
    if dataset.group_column is not None:
        return f"the groups of the '{dataset.group_column}' column"
    return "identical feature rows (exact copies)"


def _time_notes(dataset: Dataset, splits: list[Split]) -> list[str]:
    """The protocol note of a time split: what was learned from and what evaluated, when."""
    order = dataset.roles.time
    if order is None:
        return []
    first_test = min(order[s.test].min() for s in splits)
    learned_only = int((order < first_test).sum())
    shape = (
        "the latest rows held out"
        if len(splits) == 1 and dataset.roles.time is not None and _is_holdout(splits, dataset)
        else f"{len(splits)} forward-chaining fold{'s' if len(splits) != 1 else ''} (expanding "
        "window: each fold learns from every earlier block)"
    )
    return [
        f"Time order ('{dataset.roles.time_column}'): {shape}; every evaluated row is later than "
        "every row its model and threshold learned from (thresholds tuned inside the earlier "
        f"rows). The earliest {learned_only:,} rows are only learned from, never evaluated. "
        "Exact copies of a row at different times are treated as separate events."
    ]


def _is_holdout(splits: list[Split], dataset: Dataset) -> bool:
    """One split whose training part is every row not evaluated (a holdout, not one fold)."""
    return len(splits[0].train) + len(splits[0].test) == len(dataset.y)


def _warnings(dataset: Dataset, positives: int, strategies) -> tuple[str, ...]:
    warnings = list(dataset.warnings)
    if positives < 10:
        warnings.append(
            f"The figures rest on {positives} evaluated positives: every interval is wide and "
            "every figure anecdotal."
        )
    elif positives < 30:
        warnings.append(
            f"The figures rest on {positives} evaluated positives (fewer than 30): every "
            "interval is wide; treat small differences between strategies as noise."
        )
    warnings.extend(f"{r.label} skipped: {r.reason}" for r in strategies if not r.ok)
    warnings.extend(
        f"{r.label}: {note}" for r in strategies if r.ok for note in r.notes
        if note.startswith("Threshold tuning failed")
    )  # fmt: skip
    return tuple(warnings)


def _fitting_notes(y: np.ndarray, splits, tuning: Tuning, specs) -> list[str]:
    """Protocol notes on how the training parts were used."""
    notes = []
    if not tuning.possible:
        notes.append(
            "Too few positives in the training parts for an inner cross-validation: thresholds "
            "are not tuned (the default threshold is used)."
        )
    notes.extend(_case_control_note(y, splits))
    forest_sampled = any(len(s.train) > FOREST_FIT_ROWS for s in splits)
    for spec in specs:
        if forest_sampled and spec.anomaly:
            notes.append(
                f"The {spec.label} was fitted on {FOREST_FIT_ROWS:,} rows drawn at random "
                "from each training part, its prevalence kept (it draws 256 rows per tree)."
            )
    return notes


def _evaluation_notes(evaluated: EvaluatedRows, sampling_rate: float) -> list[str]:
    """Protocol notes on what the figures average over and describe."""
    notes = []
    if evaluated.repeats > 1:
        notes.append(
            f"Metrics are averaged over the {evaluated.repeats} repeats of the cross-validation "
            "(their intervals are those of the averages); the confusion tables, curves and "
            "threshold sweeps show the first repeat."
        )
    if sampling_rate < 1:
        notes.append(
            f"--sample kept {sampling_rate:.2%} of the negatives: each evaluated negative "
            f"counts {evaluated.weight:.2f} times in precision, PR-AUC, accuracy, F1, MCC, Brier "
            "and log-loss, and in the threshold tuning's objective, so the figures and the "
            "thresholds describe the whole file."
        )
    return notes


def _widening(options: AnalysisOptions) -> str:
    """What the intervals add to the bootstrap's variability, in words."""
    if options.holdout:
        return ""
    if options.time is not None:
        return (
            "the forward-chaining folds are not exchangeable (their spread is drift as much as "
            "refitting), so no interval is widened by it: they cover the evaluated rows with "
            "the folds' models fixed, and the 'Over time' section shows the drift; "
        )
    if options.score:
        return (
            "under cross-validation every interval of a strategy, and those of the differences "
            "between strategies, is widened to cover refitting and re-tuning too (the spread "
            "across folds, with Nadeau & Bengio's correction; a score column is not refitted, "
            "so only its figures at the tuned thresholds are); "
        )
    return (
        "under cross-validation every interval, and those of the differences between "
        "strategies, is widened to cover refitting and re-tuning too (the spread across "
        "folds, with Nadeau & Bengio's correction); "
    )


def _interval_method(options: AnalysisOptions, resamples: int, negatives: int) -> str:
    where = "test-split" if options.holdout else "out-of-fold"
    pairing = (
        "the same resamples for every strategy, so differences are paired"
        if negatives <= m.LARGE_NEGATIVES
        else "positives resampled row by row and shared by every strategy (paired); the "
        f"{negatives:,} negatives resampled as counts over score intervals per strategy"
    )
    return (
        f"stratified bootstrap of the {where} predictions ({resamples} resamples; positives and "
        f"negatives resampled separately; {pairing}). It holds the fitted models fixed, so it "
        "covers the variability of the evaluated rows; "
        + _widening(options)
        + "a recall or precision interval is never narrower than the exact binomial interval of "
        "its counts"
    )


def _case_control_note(y: np.ndarray, splits: list[Split]) -> list[str]:
    """The protocol note on case-control sampling, if any split's models were fitted on a sample."""
    sampled = [
        (fit_negatives(int(y[rows].sum())), int((y[rows] == 0).sum()))
        for rows in map(fitting_rows, splits)
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


def _strategy_notes(specs, y, splits, inner) -> dict[str, str]:
    """A note for the entry of each strategy that synthesises neighbours (SMOTE) when the
    training parts hold too few positives for its usual ``k_neighbors``."""
    fewest = min(int(y[s.train].sum()) for s in splits)
    if inner >= 2:
        fewest = fewest - -(-fewest // inner)  # positives in the smallest inner training part
    notes = {}
    for spec in specs:
        if spec.correction is not Correction.SYNTHETIC:
            continue
        if fewest < 2:
            notes[spec.name] = (
                f"{spec.label} could not resample where a threshold-tuning part had a single "
                "positive; there it is plain logistic regression."
            )
        elif fewest - 1 < 5:
            notes[spec.name] = (
                f"{spec.label}'s k_neighbors was reduced to {fewest - 1} where a training part "
                f"had only {fewest} positives."
            )
    return notes


def _unrunnable(specs: list[StrategySpec], y, splits) -> dict[str, str]:
    """Strategies that cannot run on these splits, with the reason (reported as skipped)."""
    fewest = min(int(y[s.train].sum()) for s in splits)
    return {
        spec.name: f"{spec.label} needs at least 2 positives in every training part; the "
        f"smallest has {fewest}."
        for spec in specs
        if spec.correction is Correction.SYNTHETIC and fewest < 2
    }


def _out_of_bag_note(outcomes: list[FoldOutcome]) -> list[str]:
    """The note on anomaly detectors whose threshold was tuned on out-of-bag scores."""
    notes = []
    for spec in (s for s in select_strategies(None) if s.anomaly):
        fitted = [o for o in outcomes if o.strategy == spec.name and not o.error]
        used = sum(o.out_of_bag for o in fitted)
        if not used:
            continue
        where = (
            ""
            if used == len(fitted)
            else f" (in {used} of {len(fitted)} splits; in the others by the inner "
            "cross-validation)"
        )
        notes.append(
            f"The {spec.label}'s threshold was tuned on out-of-bag scores of the training rows "
            f"it was fitted on{where}: each negative scored only by the trees that did not draw "
            "it, the positives (never drawn) by all; one forest per split, no inner "
            "cross-validation or validation split."
        )
    return notes


class Deployed(NamedTuple):
    """Strategy ``name`` fitted and tuned on every row: the threshold to deploy, what drives the
    model, and the model to take away (``takeaway.deployable``; ``None`` if fitting failed)."""

    threshold: float | None
    features: FeatureImportance
    model: Any = None


def deploy(dataset: Dataset, options: AnalysisOptions, name: str) -> Deployed:
    """The threshold to deploy for strategy ``name`` (fitted and tuned on every row by the same
    procedure as inside each training part), what drives that fitted model, and the model."""
    whole = [Split(0, 0, np.arange(len(dataset.y)), np.arange(0))]
    n_jobs = workers.count(options.n_jobs)
    # every core for a large fit; one thread for a small one, where waking threads for each of
    # XGBoost's boosting rounds costs more than it shares (1,000 rows: 0.7 s against 0.15 s)
    threads = 0 if n_jobs > 1 and _cells(dataset, options, n_splits=1) > IN_PROCESS_CELLS else 1
    plan = _fit_plan(dataset, options, whole, threads_per_fit=threads)
    spec = select_strategies((name,))[0]
    X = model_matrix(dataset)
    fitted = fit_on_all_rows(spec, plan, X, dataset.y)
    features = feature_importance(
        fitted.model, spec, dataset, X, dataset.y, fitted.held_out, options.seed
    )
    model = None
    if fitted.model is not None:
        model = deployable(fitted.model, dataset, fitted.threshold, spec.response_method)
    return Deployed(fitted.threshold, features, model)
