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
from imbreport.model import StrategyResult
from imbreport.registry import StrategySpec
from imbreport.splits import Split
from imbreport.thresholds import Objective


@dataclass(frozen=True)
class EvaluatedRows:
    """What every strategy's measurement shares: the evaluated rows and how they were split."""

    y: np.ndarray
    position: np.ndarray  # row index → column in the evaluated arrays
    repeats: int
    splits: list[Split]
    weight: float  # of each evaluated negative (--sample)
    objective: Objective

    @classmethod
    def of(cls, dataset, splits: list[Split], objective: Objective) -> EvaluatedRows:
        """The rows some split evaluates (each once), in row order."""
        evaluated = np.unique(np.concatenate([s.test for s in splits]))
        position = np.full(len(dataset.y), -1)
        position[evaluated] = np.arange(len(evaluated))
        repeats = max(s.repeat for s in splits) + 1
        weight = 1.0 / dataset.sampling_rate
        return cls(dataset.y[evaluated], position, repeats, splits, weight, objective)


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
) -> tuple[tuple[StrategyResult, ...], dict[str, np.ndarray]]:
    """Every strategy's result with 95% intervals (``notes``: a note for a strategy's entry),
    and each evaluated strategy's bootstrap PR-AUC draws (paired across strategies)."""
    measured = _measure_all(specs, outcomes, unrunnable, evaluated, notes, n_jobs)
    point_values = {r.name: values for r, values, _ in measured if r.ok}
    boot_inputs = {r.name: inp for r, _, inp in measured if r.ok}
    distributions = m.bootstrap(evaluated.y, boot_inputs, resamples, seed, evaluated.weight, n_jobs)
    final = []
    for result, _, _ in measured:
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
    draws = {name: dist["default"]["pr_auc"] for name, dist in distributions.items()}
    return tuple(final), draws


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
        note,
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


def skipped_result(spec: StrategySpec, reason: str) -> StrategyResult:
    return StrategyResult(
        name=spec.name,
        label=spec.label,
        description=spec.description,
        status="skipped",
        reason=reason,
        score_kind=spec.score_kind,
    )
