"""Measuring the strategies from their fold outcomes: point metrics, bootstrap intervals, curves.

Every figure is computed on the evaluated (held-out) rows only. With ``--repeats`` the metrics
are averaged over the repeats; the curves, confusion tables and sweeps show the first repeat.
The bootstrap draws the same resamples for every strategy, so differences are paired; each
strategy's PR-AUC draws are kept for the judgements (``recommend.judge``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imbreport import metrics as m
from imbreport.fitting import FoldOutcome
from imbreport.inference import exact_binomial, proportion_trials, widened_interval
from imbreport.model import Draws, Metric, StrategyResult
from imbreport.permutation import RankingPositions, null_pr_auc, positive_sets, roc_auc
from imbreport.registry import StrategySpec
from imbreport.splits import Split
from imbreport.thresholds import Objective

#: Per-split metrics kept for the judgements (each split's own figure on its held-out rows).
FOLD_METRICS = ("pr_auc", "roc_auc", "recall", "precision", "f1")
#: Kept beside them per split, for the per-fold table: the tuned threshold, held-out rows and
#: positives, and which split it is.
FOLD_BOOKKEEPING = ("threshold", "rows", "positives", "repeat", "fold")
#: Label permutations for the chance test: as many as bootstrap resamples, fewer with many
#: positives (permutations × positives at most ``PERMUTATION_CELLS``), at least this many.
MIN_PERMUTATIONS = 200
PERMUTATION_CELLS = 2_000_000


@dataclass(frozen=True)
class EvaluatedRows:
    """What every strategy's measurement shares: the evaluated rows and how they were split."""

    y: np.ndarray
    position: np.ndarray  # row index → column in the evaluated arrays
    repeats: int
    splits: list[Split]
    weight: float  # of each evaluated negative (--sample)
    objective: Objective
    groups: np.ndarray | None = None  # group number of each evaluated row (copies, --groups)
    declared_groups: bool = False  # the groups include --groups (rows of a group differ)
    ordered: bool = False  # the splits follow time (--time): training parts of growing size

    @classmethod
    def of(cls, dataset, splits: list[Split], objective: Objective) -> EvaluatedRows:
        """The rows some split evaluates (each once), in row order."""
        evaluated = np.unique(np.concatenate([s.test for s in splits]))
        position = np.full(len(dataset.y), -1)
        position[evaluated] = np.arange(len(evaluated))
        repeats = max(s.repeat for s in splits) + 1
        weight = 1.0 / dataset.sampling_rate
        groups = None if dataset.group_ids is None else dataset.group_ids[evaluated]
        declared = dataset.group_column is not None
        ordered = dataset.roles.time is not None
        return cls(
            dataset.y[evaluated],
            position,
            repeats,
            splits,
            weight,
            objective,
            groups,
            declared,
            ordered,
        )


def measure(
    specs: list[StrategySpec],
    outcomes: list[FoldOutcome],
    unrunnable: dict[str, str],
    evaluated: EvaluatedRows,
    notes: dict[str, str],
    *,
    resamples: int,
    seed: int,
    n_jobs: int,
    chunk_cells: int | None = None,
) -> tuple[tuple[StrategyResult, ...], Draws]:
    """Every strategy's result with 95% intervals (``notes``: a note for a strategy's entry),
    and the paired draws the judgements rest on (``Draws``); ``chunk_cells`` bounds the
    bootstrap's working memory (``metrics.bootstrap``; ``None``: its default)."""
    measured = _measure_all(specs, outcomes, unrunnable, evaluated, notes, n_jobs)
    point_values = {r.name: values for r, values, _ in measured if r.ok}
    boot_inputs = {r.name: extra[0] for r, _, extra in measured if r.ok}
    fold_values = {r.name: extra[1] for r, _, extra in measured if r.ok}
    distributions = m.bootstrap(
        evaluated.y,
        boot_inputs,
        resamples,
        seed,
        evaluated.weight,
        n_jobs,
        evaluated.groups,
        chunk_cells=chunk_cells or m.CHUNK_CELLS,
    )
    final = []
    for result, _, _ in measured:
        if not result.ok:
            final.append(result)
            continue
        default_values, tuned_values = point_values[result.name]
        dist = distributions[result.name]
        measured = replace(
            result,
            metrics=m.with_intervals(default_values, dist["default"]),
            tuned_metrics=m.with_intervals(tuned_values, dist["tuned"]),
        )
        final.append(
            honest_intervals(
                measured,
                fold_values[result.name],
                _test_share(evaluated),
                evaluated.weight,
                widen=_widened_metrics(result, evaluated),
            )
        )
    draws = Draws(
        bootstrap={
            name: {
                **{key: dist["default"][key] for key in ("pr_auc", "roc_auc")},
                **{key: dist["tuned"][key] for key in ("recall", "precision", "f1")},
            }
            for name, dist in distributions.items()
        },
        chance_null=_chance_null(boot_inputs, evaluated, resamples, seed, n_jobs),
        fold_values=fold_values,
        test_share=_test_share(evaluated),
        pooled_scores={name: inp.scores[0] for name, inp in boot_inputs.items()},
        labels=evaluated.y,
        pooled_decisions={name: inp.tuned_pred[0] for name, inp in boot_inputs.items()},
        rows=np.flatnonzero(evaluated.position >= 0),
        negative_weight=evaluated.weight,
    )
    return tuple(final), draws


def _widened_metrics(result: StrategyResult, evaluated: EvaluatedRows) -> tuple[str, ...]:
    """The metrics whose intervals also cover refitting and re-tuning (the spread across
    splits): none under time order, whose splits are not exchangeable (their spread is drift,
    not refitting); for a score column, nothing is refitted, only its thresholds re-tuned."""
    if evaluated.ordered:
        return ()
    if result.existing:
        return ("recall", "precision", "f1")
    return ("pr_auc", "roc_auc", "recall", "precision", "f1")


def honest_intervals(
    result: StrategyResult,
    folds: dict[str, np.ndarray],
    test_share: float,
    weight: float,
    widen: tuple[str, ...] = ("pr_auc", "roc_auc", "recall", "precision", "f1"),
) -> StrategyResult:
    """Intervals that cover what they claim: the bootstrap of the evaluated rows holds the fitted
    models and thresholds fixed, so where there are several splits the intervals of PR-AUC,
    ROC-AUC and the figures at the tuned thresholds are widened to the corrected per-split t
    interval (refitting and re-tuning move them too); and a
    recall or precision interval always contains the exact (Clopper–Pearson) interval of its
    counts, so it never collapses to a point on few events."""
    metrics, tuned = dict(result.metrics), dict(result.tuned_metrics)
    for key in ("pr_auc", "roc_auc"):
        found = metrics.get(key)
        if found is not None and found.value is not None and key in widen:
            widened = Metric(
                found.value, widened_interval(found.ci, folds[key], found.value, test_share)
            )
            metrics[key] = widened
            if key in tuned:
                tuned[key] = widened
    for key in ("recall", "precision", "f1"):
        found = tuned.get(key)
        if found is not None and found.value is not None and key in widen:
            tuned[key] = Metric(
                found.value, widened_interval(found.ci, folds[key], found.value, test_share)
            )
    for table, counts in ((metrics, result.confusion), (tuned, result.tuned_confusion)):
        if counts:
            _binomial_floor(table, counts, weight)
    return replace(result, metrics=metrics, tuned_metrics=tuned)


def _binomial_floor(table: dict[str, Metric], counts: dict[str, int], weight: float) -> None:
    for key, (successes, trials) in proportion_trials(counts, weight).items():
        found = table.get(key)
        if found is None or found.value is None or found.ci is None:
            continue
        low, high = exact_binomial(successes, trials)
        table[key] = Metric(found.value, (min(found.ci[0], low), max(found.ci[1], high)))


def _chance_null(boot_inputs, evaluated: EvaluatedRows, resamples: int, seed: int, n_jobs: int):
    """Each strategy's PR-AUC under the same label permutations of the evaluated rows (paired
    across strategies); fewer permutations when there are many positives (each costs
    positives · log positives), never fewer than ``MIN_PERMUTATIONS``."""
    from concurrent.futures import ThreadPoolExecutor

    positives = int(evaluated.y.sum())
    permutations = min(resamples, max(MIN_PERMUTATIONS, PERMUTATION_CELLS // max(positives, 1)))
    sets = positive_sets(
        len(evaluated.y), positives, permutations, seed + 1, evaluated.groups, evaluated.y,
        shuffle_within=evaluated.declared_groups,
    )  # fmt: skip

    def null(name):
        rankings = [RankingPositions(scores) for scores in boot_inputs[name].scores]
        return {
            "pr_auc": null_pr_auc(rankings, sets, evaluated.weight),
            "roc_auc": roc_auc(rankings, sets),
        }

    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        return dict(zip(boot_inputs, pool.map(null, boot_inputs), strict=True))


def _test_share(evaluated: EvaluatedRows) -> float:
    """Held-out rows per training row of a split (n₂/n₁ of Nadeau & Bengio's correction); for
    forward-chaining splits, whose training parts grow, the mean over the splits."""
    if evaluated.ordered:
        return float(np.mean([len(s.test) / max(len(s.train), 1) for s in evaluated.splits]))
    split = evaluated.splits[0]
    return len(split.test) / max(len(split.train), 1)


def _measure_all(specs, outcomes, unrunnable, evaluated: EvaluatedRows, notes, n_jobs):
    """Measure every strategy (in threads: sorting a million scores releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def measure(spec):
        if spec.name in unrunnable:
            return skipped_result(spec, unrunnable[spec.name]), None, None
        mine = [o for o in outcomes if o.strategy == spec.name]
        failed = [o for o in mine if o.error]
        if failed:
            return skipped_result(spec, failed[0].error), None, None
        return _measure_strategy(spec, mine, evaluated, notes.get(spec.name))

    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        return list(pool.map(measure, specs))


def _measure_strategy(spec, mine, ev: EvaluatedRows, note: str | None):
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
    if spec.baseline:
        # a constant scorer: each fold's prior differs in the last digits, which would make a
        # ranking out of nothing; one constant gives PR-AUC = prevalence and ROC-AUC = 0.5
        scores[:] = scores.mean()
    probabilistic = spec.score_kind in ("probability", "constant")
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
        note,
    )
    inputs = m.BootstrapInput(scores, default_pred, tuned_pred, probabilistic)
    folds = _fold_values(ranked, tuned_pred, ev, mine)
    return result, (default_values, tuned_values), (inputs, folds)


def _fold_values(ranked: list[m.RankedScores], tuned_pred, ev: EvaluatedRows, outcomes):
    """Each split's own PR-AUC, ROC-AUC and tuned recall / precision / F1 on its held-out rows,
    in the order of ``ev.splits``; and, for the per-fold table, its tuned threshold (NaN where
    none was tuned), held-out rows and positives (``FOLD_BOOKKEEPING``)."""
    values: dict[str, list[float]] = {key: [] for key in FOLD_METRICS + FOLD_BOOKKEEPING}
    tuned = {(o.split.repeat, o.split.fold): o.threshold for o in outcomes}
    for split in ev.splits:
        cols = ev.position[split.test]
        part = ranked[split.repeat].subset(cols)
        thresholded = m.threshold_metrics(ev.y[cols], tuned_pred[split.repeat, cols], ev.weight)
        both = part.both_classes
        values["pr_auc"].append(part.pr_auc() if both else np.nan)
        values["roc_auc"].append(part.roc_auc() if both else np.nan)
        for key in ("recall", "precision", "f1"):
            values[key].append(thresholded[key])
        threshold = tuned.get((split.repeat, split.fold))
        values["threshold"].append(np.nan if threshold is None else threshold)
        values["rows"].append(len(cols))
        values["positives"].append(int(ev.y[cols].sum()))
        values["repeat"].append(split.repeat)
        values["fold"].append(split.fold)
    return {key: np.asarray(v) for key, v in values.items()}


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
    if spec.score_kind == "score":
        notes.append(
            "Its values are not probabilities (some lie outside 0–1): no calibration, Brier "
            "score or log-loss; thresholds are on the column's own scale."
        )
    failed = [o.tuning_failed for o in outcomes if o.tuning_failed]
    if failed:
        notes.append(
            f"Threshold tuning failed in {len(failed)} of {len(outcomes)} splits ({failed[0]}); "
            "the default threshold was used there."
        )
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
        column=spec.name if spec.existing else None,
        hue=spec.colour if spec.existing else None,
    )


def skipped_result(spec: StrategySpec, reason: str) -> StrategyResult:
    return StrategyResult(
        name=spec.name,
        label=spec.label,
        description=spec.description,
        status="skipped",
        reason=reason,
        score_kind=spec.score_kind,
    )
