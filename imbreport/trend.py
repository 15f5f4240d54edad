"""Figures period by period when the rows follow time (``--time``): does the model hold up?

The evaluated rows, in time order, are cut into periods: under forward-chaining cross-validation
each fold's held-out block is a period (it was scored by a model that learned only from earlier
rows); a time holdout is cut into up to ``HOLDOUT_PERIODS`` consecutive periods. For each period
and each subject (the recommended strategy and every score column): rows, positives and
prevalence, PR-AUC with a bootstrap interval inside the period, and recall and precision at each
split's tuned threshold with exact intervals.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from imbreport import metrics as m
from imbreport.inference import exact_binomial, proportion_trials
from imbreport.model import Metric, Period, Results, Trend

#: A time holdout is shown as this many consecutive periods (fewer when rows are few).
HOLDOUT_PERIODS = 4
#: Fewest evaluated rows per period of a holdout.
MIN_PERIOD_ROWS = 50
#: Date periods spanning less than this (10 days, in nanoseconds) are labelled to the minute.
FINE_SPAN_NS = 10 * 86_400 * 10**9
#: Bootstrap resamples of each period's PR-AUC (at most the run's own).
PERIOD_RESAMPLES = 400


def trend(results: Results, recommended: str | None) -> Trend | None:
    """The period-by-period figures, or ``None`` when the splits did not follow time."""
    dataset, draws = results.dataset, results.draws
    order = dataset.roles.time
    if order is None or draws.rows is None or draws.labels is None:
        return None
    subjects = [recommended] if recommended and recommended in draws.pooled_scores else []
    subjects += [s.name for s in results.strategies if s.ok and s.existing]
    if not subjects:
        return None
    times = order[draws.rows]
    by_time = np.argsort(times, kind="stable")
    blocks = _blocks(results, times[by_time])
    resamples = min(results.protocol.bootstrap, PERIOD_RESAMPLES)
    fine = float(np.ptp(times)) < FINE_SPAN_NS  # a few days: show the time of day
    periods = []
    for index, (start, stop) in enumerate(blocks):
        rows = by_time[start:stop]
        periods.append(
            Period(
                label=_span(times[rows].min(), times[rows].max(), dataset.roles.time_kind, fine),
                rows=len(rows),
                positives=int(draws.labels[rows].sum()),
                prevalence=_prevalence(draws.labels[rows], draws.negative_weight),
                figures={
                    name: _figures(results, name, rows, resamples, results.protocol.seed + index)
                    for name in subjects
                },
            )
        )
    return Trend(column=dataset.roles.time_column, subjects=tuple(subjects), periods=tuple(periods))


def _blocks(results: Results, ordered_times: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges of the time-sorted evaluated rows, one per period."""
    n = len(ordered_times)
    some = next(iter(results.draws.fold_values.values()), {})
    sizes = [int(r) for r in some.get("rows", [])]
    if len(sizes) > 1 and sum(sizes) == n:  # forward-chaining folds: one period per fold
        edges = np.concatenate([[0], np.cumsum(sizes)])
        return [(int(a), int(b)) for a, b in zip(edges, edges[1:], strict=False)]
    parts = max(1, min(HOLDOUT_PERIODS, n // MIN_PERIOD_ROWS))
    cuts = [
        int(np.searchsorted(ordered_times, ordered_times[k * n // parts], "left"))
        for k in range(1, parts)
    ]
    edges = sorted({0, *cuts, n})
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def _prevalence(labels: np.ndarray, weight: float) -> Metric:
    positives = float(labels.sum())
    represented = positives + (len(labels) - positives) * weight
    if represented <= 0:
        return Metric(None)
    low, high = exact_binomial(positives, represented)
    return Metric(positives / represented, (low, high))


def _figures(results: Results, name: str, rows: np.ndarray, resamples: int, seed: int):
    """PR-AUC (bootstrap inside the period), recall and precision (exact) of ``name``."""
    draws = results.draws
    y, scores = draws.labels[rows], draws.pooled_scores[name][rows]
    decided = draws.pooled_decisions[name][rows]
    weight = draws.negative_weight
    out: dict[str, Metric] = {}
    if 0 < y.sum() < len(y):
        value = m.RankedScores(y, scores, weight).pr_auc()
        inputs = {name: m.BootstrapInput(scores[None], decided[None], decided[None], False)}
        spread = m.bootstrap(y, inputs, resamples, seed, weight)[name]["default"]["pr_auc"]
        out["pr_auc"] = Metric(value, m.interval(spread))
    else:
        out["pr_auc"] = Metric(None)
    counts = m.confusion_counts(y, decided)
    trials = proportion_trials(counts, weight)
    for key in ("recall", "precision"):
        if key in trials:
            successes, total = trials[key]
            out[key] = Metric(successes / total, exact_binomial(successes, total))
        else:
            out[key] = Metric(None)
    return out


def _span(first: float, last: float, kind: str | None, fine: bool = False) -> str:
    """A period's time span in words: dates (to the minute, UTC, when ``fine``) for dates,
    numbers in full otherwise."""
    if kind == "date":
        shape = "%Y-%m-%d %H:%M UTC" if fine else "%Y-%m-%d"
        start, end = (
            dt.datetime.fromtimestamp(t / 1e9, tz=dt.UTC).strftime(shape) for t in (first, last)
        )
    else:
        start, end = (f"{t:.15g}" for t in (first, last))
    return start if start == end else f"{start} – {end}"
