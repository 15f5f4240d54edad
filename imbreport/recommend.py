"""Every judgement of a run, made once: ``judge(results) -> Verdict``, and the advice built on it.

The judgements: which strategy leads, which are statistically tied with it (paired bootstrap
of the PR-AUC difference), whether a strategy beats chance, what is recommended, whose
probabilities resampling distorted, whether the imbalance is extreme, and which strategy the
threshold and confusion sections show. Pictures and templates read the ``Verdict``; none of
them decides anything.

The rules (``inference.py`` holds the tests):
- *Beats chance*: a strategy's PR-AUC against label permutations of the evaluated rows, every
  strategy tested together with the family-wise error held at 5% (max-statistic).
- *A differs from B*: the paired difference's p-value, Holm-adjusted over the comparisons made.
- *The recommendation*: the highest PR-AUC among the supervised strategies that beat chance (the
  leader), unless a simpler one that also beats chance is *shown* practically equivalent (the
  90% interval of the paired PR-AUC difference within ± ``EQUIVALENCE_MARGIN``) and is not
  distinguishably worse on ROC-AUC or at the tuned threshold. "The interval covers zero" means
  "not enough data to tell", so such strategies are named as undecided, not as tied winners.
  An anomaly detector only when it beats chance and no supervised strategy does; the baseline
  never. Nothing is crowned when nothing beats chance.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from imbreport.inference import (
    ALPHA,
    exact_binomial,
    holm,
    max_statistic_p_values,
    paired_difference,
    proportion_trials,
)
from imbreport.metrics import confusion_counts
from imbreport.model import (
    Advice,
    ChanceTest,
    Comparison,
    Deployment,
    FeatureImportance,
    FoldFigures,
    FoldRow,
    Metric,
    Recommended,
    Results,
    Spread,
    StrategyResult,
    TopShare,
    Verdict,
    Workload,
    fmt,
    metric_as_gated,
)
from imbreport.registry import Correction, spec_for
from imbreport.segments import FEW_EVENTS, FEW_POSITIVES, segment_figures
from imbreport.trend import trend

#: Brier score above this multiple of the plain model's: the probabilities are distorted.
DISTORTION_FACTOR = 1.5
#: Fewer positives than this, or a prevalence below ``EXTREME_PREVALENCE``: extreme imbalance.
EXTREME_POSITIVES = 50
EXTREME_PREVALENCE = 0.001
# FEW_POSITIVES (fewer positives: the figures are indicative, the advice asks for more) and
# FEW_EVENTS (a recall or precision resting on fewer events is indicative) are segments.py's,
# which sits below this module and judges segments by the same sizes.
#: A simpler strategy is preferred only when shown within this much PR-AUC of the leader.
EQUIVALENCE_MARGIN = 0.02
#: The shares of highest-scored rows the workload table shows.
TOP_SHARES = (0.01, 0.05, 0.10)


def pr_auc_of(result: StrategyResult) -> float:
    return result.metrics["pr_auc"].value or 0.0


def chance_tests(results: Results) -> dict[str, ChanceTest]:
    """Each learning strategy's chance test: its PR-AUC and ROC-AUC against the same label
    permutations of the evaluated rows as every other strategy, the family-wise error over all
    strategies and both figures held at ``ALPHA`` by the max-statistic; and whether it ranks
    worse than random."""
    prevalence = results.evaluated_prevalence
    null = results.draws.chance_null
    learners = [s for s in results.strategies if s.ok and not _spec(s).baseline and s.name in null]
    shrink = _fold_correlation_factor(results)
    observed, nulls = {}, {}
    for s in learners:
        for key in ("pr_auc", "roc_auc"):
            value = s.metrics.get(key)
            if value is not None and value.value is not None and key in null[s.name]:
                centre = float(np.mean(null[s.name][key]))
                # a score column's folds learn nothing from each other: its test is exact
                factor = 1.0 if s.existing else shrink
                observed[(s.name, key)] = centre + (value.value - centre) / factor
                nulls[(s.name, key)] = null[s.name][key]
    p_values = max_statistic_p_values(observed, nulls)
    out = {}
    for s in learners:
        found = [
            p_values[(s.name, key)] for key in ("pr_auc", "roc_auc") if (s.name, key) in p_values
        ]
        raw = min((p for p, _ in found), default=1.0)
        adjusted = min((p for _, p in found), default=1.0)
        roc = s.metrics.get("roc_auc")
        below_half = bool(roc and roc.ci and roc.ci[1] < 0.5)
        worse = bool(below_half or pr_auc_of(s) < prevalence)
        out[s.name] = ChanceTest(
            p_value=raw,
            adjusted=adjusted,
            beats_chance=bool(adjusted <= ALPHA and not worse),
            worse_than_random=worse,
        )
    return out


def _fold_correlation_factor(results: Results) -> float:
    """How much wider the out-of-fold figure varies under the null than label permutations of
    fixed scores say. The permutations hold each fold's model fixed, but the folds' models learn
    from each other's rows, so their held-out figures are correlated (a chance cluster of
    positives is learnt by every fold); with correlation ≈ n_test/n_train between folds (Nadeau
    & Bengio 2003) the spread grows by √(1 + K · n_test/n_train). A single holdout: 1."""
    folds = results.protocol.folds or 1
    if results.protocol.kind != "cv" or folds < 2 or results.protocol.ordered_by:
        return 1.0
    return math.sqrt(1 + folds * results.draws.test_share)


def judge(results: Results) -> Verdict:
    """Every judgement of ``results``, made once."""
    evaluated = [s for s in results.strategies if s.ok]
    ranking = sorted(evaluated, key=lambda s: -pr_auc_of(s))  # stable: registry order on ties
    learners = [s for s in ranking if not _spec(s).baseline]
    chance = chance_tests(results)
    supervised = [s for s in learners if _spec(s).supervised]
    passing = [s for s in supervised if chance[s.name].beats_chance]
    leader = passing[0] if passing else (supervised[0] if supervised else None)
    comparisons = compare_with_leader(results, learners, leader)
    recommended, undecided, settle = choose_recommended(results, passing, comparisons, chance)
    top = learners[0] if learners else None
    focus = results.strategy(recommended.strategy) or top
    best_f1 = max(ranking, key=lambda s: s.metric("f1", True).value or 0.0, default=None)
    dataset = results.dataset
    return Verdict(
        recommended=recommended,
        beats_chance=any(test.beats_chance for test in chance.values()),
        ranking=tuple(s.name for s in ranking),
        top=_name(top),
        leader=_name(leader),
        comparisons=comparisons,
        distorted=tuple(s.name for s in distorted_probabilities(results)),
        extreme_imbalance=(
            dataset.prevalence < EXTREME_PREVALENCE or dataset.positives < EXTREME_POSITIVES
        ),
        focus=_name(focus),
        best_tuned_f1=_name(best_f1),
        chance=chance,
        undecided=undecided,
        positives_to_settle=settle,
        corrections=correction_effects(results),
        indicative=indicative(results, focus),
        equivalence_margin=EQUIVALENCE_MARGIN,
        folds=fold_figures(results, recommended.strategy),
        workload=workload(results, recommended.strategy, recommended.threshold),
        existing=existing_comparisons(results, recommended.strategy),
        trend=trend(results, recommended.strategy),
        segments=segment_figures(results, recommended.strategy),
    )


def with_deployment(
    results: Results,
    verdict: Verdict,
    threshold: float | None,
    features: FeatureImportance | None = None,
) -> Verdict:
    """``verdict`` with the recommended strategy's threshold to deploy (tuned on all rows), the
    figures and the workload at it, whether the folds' spread makes it unstable, and what drives
    the model fitted on all rows (``features``, from the same fit)."""
    chosen = results.strategy(verdict.recommended.strategy)
    if chosen is None:
        return verdict
    deployed = threshold if threshold is not None else chosen.threshold
    at = _measured_at(results, chosen.name, deployed)
    if threshold is None and deployed is not None:
        at = {}  # the folds' median stands in; nothing was tuned on all rows to measure
    spread = chosen.threshold_spread if len(chosen.fold_thresholds) > 1 else None
    deployment = Deployment(
        strategy=chosen.name,
        threshold=deployed,
        fold_range=spread,
        at_threshold=at,
        unstable=_instability(results, chosen, spread, at),
    )
    recommended = replace(verdict.recommended, threshold=deployed)
    return replace(
        verdict,
        recommended=recommended,
        deployment=deployment,
        workload=workload(results, chosen.name, deployed),
        features=features if features is not None else verdict.features,
    )


def fold_figures(results: Results, name: str | None) -> FoldFigures | None:
    """Strategy ``name`` split by split: each split's held-out rows and positives, its PR-AUC,
    and its recall, precision and threshold as tuned inside its training part; and each
    figure's mean, SD and range across the splits (``None`` for fewer than two splits)."""
    values = results.draws.fold_values.get(name or "")
    if not values or "threshold" not in values or len(values["pr_auc"]) < 2:
        return None
    rows = tuple(
        FoldRow(
            repeat=int(values["repeat"][i]),
            fold=int(values["fold"][i]),
            rows=int(values["rows"][i]),
            positives=int(values["positives"][i]),
            pr_auc=_finite(values["pr_auc"][i]),
            recall=_finite(values["recall"][i]),
            precision=_finite(values["precision"][i]),
            threshold=_finite(values["threshold"][i]),
        )
        for i in range(len(values["pr_auc"]))
    )
    return FoldFigures(
        strategy=name,
        rows=rows,
        spread={
            key: _spread(values[key]) for key in ("pr_auc", "recall", "precision", "threshold")
        },
    )


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _spread(values) -> Spread:
    found = np.asarray(values, dtype=float)
    found = found[np.isfinite(found)]
    if len(found) == 0:
        return Spread(None, None, None, None)
    sd = float(np.std(found, ddof=1)) if len(found) > 1 else None
    return Spread(float(np.mean(found)), sd, float(found.min()), float(found.max()))


def workload(results: Results, name: str | None, threshold: float | None) -> Workload | None:
    """What strategy ``name`` flags, from its out-of-fold scores of the evaluated rows (the
    first repeat): at ``threshold`` (rows flagged, per 1,000, positives among them), and among
    the top 1 %, 5 % and 10 % of scores. Each evaluated negative counts for the negatives it
    stands for (``--sample``), so the rows are those of the whole file."""
    scores, y = results.draws.pooled_scores.get(name or ""), results.draws.labels
    if scores is None or y is None or len(y) == 0:
        return None
    y = np.asarray(y).astype(bool)
    weight = 1.0 / results.dataset.sampling_rate
    positives = int(y.sum())
    total = positives + (len(y) - positives) * weight
    order = np.argsort(-scores, kind="mergesort")
    ranked, caught = scores[order], np.cumsum(y[order])
    represented = np.cumsum(np.where(y[order], 1.0, weight))
    top = []
    for share in TOP_SHARES:
        # every row scored at least as high as the row that completes the share (ties included)
        last = min(int(np.searchsorted(represented, share * total - 1e-9)), len(y) - 1)
        last = int(np.searchsorted(-ranked, -ranked[last], side="right")) - 1
        rows = float(represented[last])
        top.append(_top_share(share, rows, int(caught[last]), positives, float(ranked[last])))
    flagged = caught_at = per_1000 = ci = None
    if threshold is not None:
        hit = scores >= threshold
        caught_at = int((hit & y).sum())
        flagged_rows = caught_at + float((hit & ~y).sum()) * weight
        flagged = int(round(flagged_rows))
        per_1000 = 1000.0 * flagged_rows / total
        if weight == 1.0:
            low, high = exact_binomial(flagged, len(y))
            ci = (1000.0 * low, 1000.0 * high)
    return Workload(
        strategy=name,
        threshold=threshold,
        rows=int(round(total)),
        positives=positives,
        flagged=flagged,
        caught=caught_at,
        per_1000=per_1000,
        per_1000_ci=ci,
        top=tuple(top),
    )


def _top_share(share: float, rows: float, caught: int, positives: int, cut: float) -> TopShare:
    return TopShare(
        share=share,
        rows=int(round(rows)),
        positives=caught,
        precision=caught / rows if rows > 0 else None,
        recall=caught / positives if positives else None,
        cut=float(cut),
    )


def _measured_at(results: Results, name: str, threshold: float | None) -> dict[str, Metric]:
    """Recall and precision at ``threshold`` on the pooled out-of-fold scores, with exact
    binomial intervals (negatives weighted as the metrics weigh them)."""
    scores, y = results.draws.pooled_scores.get(name), results.draws.labels
    if threshold is None or scores is None or y is None:
        return {}
    counts = confusion_counts(y, scores >= threshold)
    trials = proportion_trials(counts, 1.0 / results.dataset.sampling_rate)
    return {
        key: Metric(successes / total, exact_binomial(successes, total))
        for key, (successes, total) in trials.items()
    }


def _instability(results, chosen: StrategyResult, spread, at: dict[str, Metric]) -> str | None:
    """Why the threshold is unstable: over the range of the folds' tuned thresholds, recall or
    precision (on the pooled out-of-fold scores) moves by more than its interval's width."""
    if spread is None or not at:
        return None
    low, high = (_measured_at(results, chosen.name, t) for t in spread)
    for key in ("recall", "precision"):
        if key not in at or key not in low or key not in high or at[key].ci is None:
            continue
        moved = abs(low[key].value - high[key].value)
        width = at[key].ci[1] - at[key].ci[0]
        if moved > width:
            return (
                f"The folds' tuned thresholds ranged from {spread[0]:.3f} to {spread[1]:.3f}; "
                f"over that range {key} moves from {low[key].value:.3f} to {high[key].value:.3f}, "
                f"more than its interval ({width:.3f} wide): the threshold is unstable. Treat it "
                "as a starting point, and check it on new data."
            )
    return None


def difference(results: Results, first: StrategyResult, second: StrategyResult, metric: str):
    """The paired difference ``first − second`` of ``metric`` (``inference.Difference``)."""
    draws = results.draws
    mine = metric_as_gated(first.metrics, first.tuned_metrics, metric)
    theirs = metric_as_gated(second.metrics, second.tuned_metrics, metric)
    estimate = (mine.value or 0.0) - (theirs.value or 0.0)
    # the spread across splits adds refitting's variability, unless the splits follow time
    # (their spread is drift) or neither side is refitted (two score columns' ranking)
    fixed = first.existing and second.existing and metric in ("pr_auc", "roc_auc")
    per_split = not (results.protocol.ordered_by or fixed)
    return paired_difference(
        estimate,
        draws.bootstrap[first.name][metric],
        draws.bootstrap[second.name][metric],
        draws.fold_values.get(first.name, {}).get(metric) if per_split else None,
        draws.fold_values.get(second.name, {}).get(metric) if per_split else None,
        draws.test_share,
    )


def _comparisons(results: Results, pairs, equivalence: bool = False) -> tuple[Comparison, ...]:
    """PR-AUC comparisons of ``pairs``, Holm-adjusted together."""
    found = [difference(results, a, b, "pr_auc") for a, b in pairs]
    adjusted = holm([d.p_value for d in found])
    return tuple(
        Comparison(
            metric="pr_auc",
            first=a.name,
            second=b.name,
            difference=d.estimate,
            ci=d.ci,
            p_value=p,
            distinguishable=bool(p <= ALPHA),
            equivalent=d.equivalent(EQUIVALENCE_MARGIN) if equivalence else None,
        )
        for (a, b), d, p in zip(pairs, found, adjusted, strict=True)
    )


def compare_with_leader(
    results: Results, learners: list[StrategyResult], leader: StrategyResult | None
) -> tuple[Comparison, ...]:
    """Paired PR-AUC differences between the supervised leader and every other learner, plus,
    within the linear family, synthetic oversampling against class weights (the article's
    question) when the leader is neither; Holm-adjusted over all of them."""
    if len(learners) < 2 or leader is None:
        return ()
    pairs = [(leader, other) for other in learners if other is not leader]
    synthetic = _family_member(learners, "linear", Correction.SYNTHETIC)
    weighted = _family_member(learners, "linear", Correction.WEIGHTS)
    if synthetic and weighted and leader not in (synthetic, weighted):
        pairs.append((synthetic, weighted))
    return _comparisons(results, pairs, equivalence=True)


def correction_effects(results: Results) -> tuple[Comparison, ...]:
    """Did correcting the imbalance help? Each correction against its family's plain model."""
    pairs = []
    for family in ("linear", "trees"):
        plain = plain_model(results, family)
        if plain is None:
            continue
        pairs += [
            (s, plain)
            for s in results.strategies
            if s.ok and _spec(s).family == family and not _spec(s).plain
        ]
    return _comparisons(results, pairs, equivalence=True) if pairs else ()


def choose_recommended(
    results: Results,
    passing: list[StrategyResult],
    comparisons: tuple[Comparison, ...],
    chance: dict[str, ChanceTest],
) -> tuple[Recommended, tuple[str, ...], int | None]:
    """The recommendation, the strategies left undecided against the leader, and roughly how
    many positives would settle the closest of them.

    The leader (highest PR-AUC among the supervised strategies that beat chance) is recommended,
    unless a simpler one that also beats chance is *shown* practically equivalent on PR-AUC and
    is not distinguishably worse on ROC-AUC or on the tuned objective's metric.
    """
    prevalence = results.evaluated_prevalence
    if passing:
        leader = passing[0]
        by_second = {c.second: c for c in comparisons if c.first == leader.name}
        simpler = [
            s
            for s in passing[1:]
            if _spec(s).simplicity < _spec(leader).simplicity
            and by_second.get(s.name)
            and by_second[s.name].equivalent
            and not _worse_elsewhere(results, leader, s)
        ]
        undecided = tuple(
            c.second
            for c in by_second.values()
            if not c.distinguishable and not c.equivalent and spec_for(c.second).supervised
        )
        settle = _positives_to_settle(results, by_second[undecided[0]]) if undecided else None
        if simpler:
            chosen = min(simpler, key=lambda s: _spec(s).simplicity)
            c = by_second[chosen.name]
            reason = (
                f"{leader.label} has {_highest(results)} ({fmt(leader.metrics['pr_auc'])}), but "
                f"{chosen.label} ({fmt(chosen.metrics['pr_auc'])}) is simpler and shown "
                f"practically equivalent: the paired difference's 90% interval lies within "
                f"±{EQUIVALENCE_MARGIN:g} (difference {c.difference:+.3f}), and it is not "
                "distinguishably worse on ROC-AUC or at the tuned threshold."
            )
            return Recommended(chosen.name, chosen.threshold, reason), undecided, settle
        reason = f"{leader.label} has {_highest(results)} ({fmt(leader.metrics['pr_auc'])})"
        reason += _standing(results, leader, by_second, undecided)
        return Recommended(leader.name, leader.threshold, reason), undecided, settle
    fitted = [s for s in results.strategies if s.ok and not s.existing and not _spec(s).baseline]
    scored = sorted(
        (s for s in results.strategies if s.ok and s.existing), key=lambda s: -pr_auc_of(s)
    )
    if scored and not fitted:
        return Recommended(None, None, _scores_only_reason(scored[0], chance)), (), None
    anomaly = next(
        (
            s
            for s in results.strategies
            if s.ok and _spec(s).anomaly and chance.get(s.name) and chance[s.name].beats_chance
        ),
        None,
    )
    if anomaly is not None:
        reason = (
            f"No supervised strategy beats chance, but the {anomaly.label} does "
            f"(PR-AUC {fmt(anomaly.metrics['pr_auc'])} vs prevalence {prevalence:.3f}; "
            f"adjusted p = {chance[anomaly.name].adjusted:.3f})."
        )
        return Recommended(anomaly.name, anomaly.threshold, reason), (), None
    tested = len(chance)
    if tested == 0:
        return (
            Recommended(None, None, "No strategy could be evaluated (see the skipped strategies)."),
            (),
            None,
        )
    best = min((t.adjusted for t in chance.values()), default=1.0)
    return (
        Recommended(
            None,
            None,
            f"No strategy is better than chance: tested together ({tested} strategies, "
            f"family-wise error {ALPHA:.0%}), none ranks the positives better than random labels "
            f"would (smallest adjusted p = {best:.3f}; chance PR-AUC = prevalence "
            f"{prevalence:.3f}).",
        ),
        (),
        None,
    )


def _highest(results: Results) -> str:
    """'the highest PR-AUC', of the strategies only when score columns compete too."""
    if any(s.existing for s in results.strategies):
        return "the highest PR-AUC of the strategies fitted here"
    return "the highest PR-AUC"


def _scores_only_reason(best: StrategyResult, chance: dict[str, ChanceTest]) -> str:
    """The verdict when only score columns were evaluated (nothing was fitted)."""
    test = chance.get(best.name)
    standing = (
        f"it ranks the positives better than chance (adjusted p = {test.adjusted:.3f})"
        if test is not None and test.beats_chance
        else "it does not rank the positives distinguishably better than chance"
        + (f" (adjusted p = {test.adjusted:.3f})" if test is not None else "")
    )
    return (
        "Only score columns were evaluated (--only-scores): nothing was fitted, so no strategy is "
        f"recommended. '{best.name}' has the highest PR-AUC ({fmt(best.metrics['pr_auc'])}); "
        f"{standing}."
    )


def existing_comparisons(results: Results, reference: str | None) -> tuple[Comparison, ...]:
    """Each score column against ``reference`` (the recommended strategy; with only score
    columns, the best of them), PR-AUC paired on the same rows and resamples, Holm-adjusted
    over the score columns; ``equivalent`` says whether it is shown within the margin."""
    chosen = results.strategy(reference) if reference else None
    scored = [s for s in results.strategies if s.ok and s.existing]
    if chosen is None and scored:
        chosen = max(scored, key=pr_auc_of)
    pairs = [(chosen, s) for s in scored if s is not chosen]
    return _comparisons(results, pairs, equivalence=True) if pairs else ()


def _standing(results: Results, leader, by_second: dict, undecided: tuple[str, ...]) -> str:
    """How the leader stands against the others, from the comparisons actually made."""

    def names(found: list[str]) -> str:
        shown = ", ".join(results.label(n) for n in found[:3])
        return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")

    if not by_second:
        return "; no other strategy was compared with it."
    if undecided:
        return (
            f"; with {results.dataset.positives} positives the data cannot tell it apart from "
            f"{names(list(undecided))} (neither distinguishably better nor shown equivalent), so "
            "it is the best estimate, not a proven winner."
        )
    better = [n for n, c in by_second.items() if c.distinguishable]
    equivalent = [n for n, c in by_second.items() if c.equivalent and not c.distinguishable]
    others = [n for n in by_second if n not in better and n not in equivalent]
    parts = []
    if better:
        parts.append(f"it is distinguishably better than {names(better)}")
    if equivalent:
        parts.append(f"shown practically equivalent to {names(equivalent)} (none of them simpler)")
    if others:
        parts.append(f"not separated from {names(others)}")
    return "; " + "; ".join(parts) + "."


def _worse_elsewhere(results: Results, leader: StrategyResult, simpler: StrategyResult) -> bool:
    """The simpler strategy is distinguishably worse than the leader on ROC-AUC or on the
    metric the threshold objective tunes."""
    for metric in ("roc_auc", results.protocol.tuned_metric):
        if metric is None:
            continue
        d = difference(results, leader, simpler, metric)
        if d.ci[0] > 0:
            return True
    return False


def _positives_to_settle(results: Results, c: Comparison) -> int | None:
    """Positives needed for an undecided comparison to become either distinguishable or shown
    equivalent, if its interval shrinks as 1/√positives (``None``: it may never, a near tie)."""
    half = (c.ci[1] - c.ci[0]) / 2
    gap = abs(c.difference)
    target = max(gap, EQUIVALENCE_MARGIN - gap)
    if half <= 0 or target <= 0:
        return None
    return int(math.ceil(results.dataset.positives * (half / target) ** 2))


def distinct_positives(dataset) -> int:
    """Positives that are not copies of one another (groups holding a positive, when rows were
    grouped): what the figures' precision really rests on."""
    if dataset.group_ids is None:
        return dataset.positives
    return int(len(np.unique(dataset.group_ids[np.asarray(dataset.y) == 1])))


def indicative(results: Results, focus: StrategyResult | None) -> str | None:
    """Why the figures are only indicative: few positives, or a recall or precision resting on
    few events (positives found, rows flagged)."""
    dataset = results.dataset
    positives = distinct_positives(dataset)
    if positives < FEW_POSITIVES:
        rows = "" if positives == dataset.positives else f" in {dataset.positives} rows"
        return (
            f"The figures rest on {positives} distinct positives{rows} (fewer than "
            f"{FEW_POSITIVES}): read them as indicative, not as measurements."
        )
    counts = focus.tuned_confusion if focus is not None else {}
    flagged = counts.get("tp", 0) + counts.get("fp", 0)
    if counts and flagged < FEW_EVENTS:
        return (
            f"{focus.label}'s precision rests on {flagged} flagged rows (fewer than "
            f"{FEW_EVENTS}): read it as indicative."
        )
    return None


def distorted_probabilities(results: Results) -> list[StrategyResult]:
    """Strategies that correct the imbalance on a model whose plain version was also evaluated,
    with a Brier score well above that plain model's (the linear family: plain logistic
    regression)."""
    plain = plain_model(results, "linear")
    reference = plain.metric("brier").value if plain is not None else None
    if reference is None:
        return []
    return [
        s
        for s in results.strategies
        if s.ok
        and _spec(s).family == "linear"
        and _spec(s).correction is not Correction.NONE
        and (s.metric("brier").value or 0.0) > DISTORTION_FACTOR * reference
    ]


def plain_model(results: Results, family: str) -> StrategyResult | None:
    """The evaluated model of ``family`` with no imbalance correction, if any."""
    return next(
        (s for s in results.strategies if s.ok and _spec(s).plain and _spec(s).family == family),
        None,
    )


def build_advice(results: Results, verdict: Verdict) -> tuple[Advice, ...]:
    """Ordered advice; each item cites the figures of this run that support it."""
    advice: list[Advice] = []
    ok = [s for s in results.strategies if s.ok]
    prevalence = results.dataset.prevalence
    positives = results.dataset.positives
    chosen = results.strategy(verdict.recommended.strategy)

    keep = _existing_better(results, verdict)
    if keep:
        advice.append(keep)
    if results.dataset.roles.scores and not any(
        not s.existing and not _spec(s).baseline for s in ok
    ):  # --only-scores: an audit of existing models, nothing to deploy or reject here
        advice.append(_audit_advice(results, verdict))
    elif chosen is not None:
        deployed = verdict.recommended.threshold
        threshold = "" if deployed is None else f" at threshold {deployed:.3f}"
        use = "Or use" if keep else "Use"
        advice.append(
            Advice(
                f"{use} {chosen.label}{threshold}",
                f"{verdict.recommended.reason} Out of fold, each fold's model at its own tuned "
                f"threshold reached recall {fmt(chosen.metric('recall', True))} and precision "
                f"{fmt(chosen.metric('precision', True))}.",
            )
        )
    else:
        advice.append(
            Advice(
                "Do not deploy any of these models",
                f"{verdict.recommended.reason} Look for more informative features or more "
                f"positive examples ({positives} here).",
            )
        )

    baseline = next((s for s in ok if _spec(s).baseline), None)
    if baseline is not None:
        accuracy = baseline.metrics["accuracy"]
        advice.append(
            Advice(
                "Judge by PR-AUC, recall and precision, not accuracy",
                f"The do-nothing majority baseline reaches accuracy {fmt(accuracy)} while finding "
                f"0 of {positives} positives (recall {baseline.metrics['recall'].value:.3f}).",
            )
        )

    if chosen is not None and verdict.recommended.threshold is not None:
        default_f1 = chosen.metric("f1")
        tuned_f1 = chosen.metric("f1", True)
        spread = chosen.threshold_spread
        spread_text = (
            f" (across folds they ranged from {spread[0]:.3f} to {spread[1]:.3f})"
            if spread and len(chosen.fold_thresholds) > 1
            else ""
        )
        advice.append(
            Advice(
                "Tune the decision threshold on training data",
                f"For {chosen.label}, F1 is {fmt(default_f1)} at the default threshold and "
                f"{fmt(tuned_f1)} at the thresholds tuned inside each training part"
                f"{spread_text}. The same tuning on all rows gives "
                f"{verdict.recommended.threshold:.3f}, the threshold to deploy.",
            )
        )

    synthetic = _family_member(ok, "linear", Correction.SYNTHETIC)
    weighted = _family_member(ok, "linear", Correction.WEIGHTS)
    if synthetic and weighted:
        comparison = _comparison(verdict.comparisons, synthetic.name, weighted.name)
        better = synthetic.metrics["pr_auc"].value > weighted.metrics["pr_auc"].value
        if comparison is not None and comparison.indistinguishable:
            verdict_text = "SMOTE and balanced class weights are indistinguishable"
        elif better:
            verdict_text = "SMOTE beat balanced class weights"
        else:
            verdict_text = "SMOTE did not beat balanced class weights"
        advice.append(
            Advice(
                verdict_text,
                f"PR-AUC {fmt(synthetic.metrics['pr_auc'])} (SMOTE) vs "
                f"{fmt(weighted.metrics['pr_auc'])} (balanced). Class weights are cheaper and "
                "create no synthetic rows.",
            )
        )

    distorted = [results.strategy(name) for name in verdict.distorted]
    if distorted:
        worst = max(distorted, key=lambda s: s.metrics["brier"].value or 0)
        plain = plain_model(results, "linear")
        advice.append(
            Advice(
                "Resampling and class weights distort probabilities",
                f"Brier score {fmt(worst.metrics['brier'])} for {worst.label} vs "
                f"{fmt(plain.metrics['brier'])} for plain logistic regression. If calibrated "
                "risk estimates matter, use the unweighted model with a tuned threshold.",
            )
        )

    advice.extend(_correction_advice(results, verdict))

    anomaly = next((s for s in ok if _spec(s).anomaly), None)
    if anomaly is not None:
        best = results.strategy(verdict.leader)
        versus = f" vs {fmt(best.metrics['pr_auc'])} for {best.label}" if best else ""
        test = verdict.chance.get(anomaly.name)
        head = f"{anomaly.label} PR-AUC {fmt(anomaly.metrics['pr_auc'])}{versus}. "
        if test is not None and test.worse_than_random:
            text = head + (
                f"It ranks the positives worse than random (ROC-AUC "
                f"{fmt(anomaly.metrics['roc_auc'])}, or PR-AUC below the prevalence "
                f"{prevalence:.3f}): the positives here do not look like outliers of the "
                "majority; do not use it."
            )
        elif verdict.extreme_imbalance:
            text = head + (
                f"With {positives} positives (prevalence {prevalence:.4f}) supervised models have "
                "little to learn from, so an anomaly detector is a fair baseline to keep in view."
            )
        else:
            text = head + (
                f"With {positives} positives supervised models have enough to learn from; the "
                "anomaly detector is shown for comparison only."
            )
        advice.append(Advice("Anomaly-detection fallback", text))

    if positives < FEW_POSITIVES or verdict.positives_to_settle:
        settle = (
            f" About {verdict.positives_to_settle:,} positives would settle whether "
            f"{results.label(verdict.undecided[0])} is as good as the leader."
            if verdict.positives_to_settle and verdict.undecided
            else ""
        )
        advice.append(
            Advice(
                "Collect more positive examples",
                f"Only {positives} positives: intervals are wide "
                + (
                    f"(the recommended PR-AUC spans {fmt(chosen.metrics['pr_auc'])})"
                    if chosen is not None
                    else ""
                )
                + " and rankings between strategies may change with new data."
                + settle,
            )
        )
    return tuple(advice)


def _existing_better(results: Results, verdict: Verdict) -> Advice | None:
    """Keep an existing model that is distinguishably better than the recommended strategy."""
    better = [c for c in verdict.existing if c.distinguishable and c.difference < 0]
    chosen = results.strategy(verdict.recommended.strategy)
    if not better or chosen is None:
        return None
    best = min(better, key=lambda c: c.difference)
    mine = results.strategy(best.second)
    return Advice(
        f"Keep the existing model '{mine.name}'",
        f"Its PR-AUC ({fmt(mine.metrics['pr_auc'])}) is distinguishably higher than that of "
        f"{chosen.label}, the best of the strategies fitted here "
        f"({fmt(chosen.metrics['pr_auc'])}; {mine.name} − {chosen.name} = {-best.difference:+.3f} "
        f"[{-best.ci[1]:+.3f}, {-best.ci[0]:+.3f}], Holm-adjusted p = {best.p_value:.3f}), on "
        "the same rows and resamples. Replacing it with a strategy of this report would lose "
        "ranking quality, provided its scores are out-of-sample for these rows.",
    )


def _audit_advice(results: Results, verdict: Verdict) -> Advice:
    """--only-scores: what the audit found about the best score column."""
    best = results.strategy(verdict.focus)
    test = verdict.chance.get(best.name) if best is not None else None
    if best is None or test is None or not test.beats_chance:
        return Advice(
            "The existing model ranks no better than chance here",
            f"{verdict.recommended.reason} Check that the scores belong to these rows, and "
            "whether the model still sees the inputs it was built on.",
        )
    return Advice(
        f"'{best.name}' still ranks the positives",
        f"{verdict.recommended.reason} At each split's threshold, tuned on that split's "
        f"training rows, recall {fmt(best.metric('recall', True))} and precision "
        f"{fmt(best.metric('precision', True))}. Gate these figures (--fail-under "
        f"{best.name}.recall=…) to be told when they drop.",
    )


def _correction_advice(results: Results, verdict: Verdict) -> list[Advice]:
    """Did correcting the imbalance help, for each model family with a plain model?"""
    out = []
    for family, plain_words in (
        ("linear", "plain logistic regression"),
        ("trees", "plain XGBoost"),
    ):
        found = [c for c in verdict.corrections if spec_for(c.second).family == family]
        if not found:
            continue
        better = [c for c in found if c.distinguishable and c.difference > 0]
        worse = [c for c in found if c.distinguishable and c.difference < 0]
        parts = "; ".join(
            f"{results.label(c.first)} {c.difference:+.3f} (adjusted p = {c.p_value:.2f})"
            for c in found
        )
        if better:
            title = f"Correcting the imbalance helped {plain_words}"
            names = ", ".join(results.label(c.first) for c in better)
            lead = f"{names} beat {plain_words} on PR-AUC (Holm-adjusted)."
        elif worse:
            title = f"Correcting the imbalance did not help {plain_words}"
            lead = f"No correction beat {plain_words}; some did worse."
        else:
            title = f"Correcting the imbalance made no measurable difference to {plain_words}"
            lead = (
                f"No correction is distinguishable from {plain_words} on PR-AUC; with a tuned "
                "threshold the plain model ranks as well (Elor & Averbuch-Elor, 2022)."
            )
        out.append(Advice(title, f"{lead} PR-AUC differences from it: {parts}."))
    return out


def _spec(result: StrategyResult):
    """The registry entry of a result (every result comes from the registry)."""
    return spec_for(result.name, result.score_kind)


def _name(result: StrategyResult | None) -> str | None:
    return None if result is None else result.name


def _family_member(
    results: list[StrategyResult], family: str, correction: Correction
) -> StrategyResult | None:
    return next(
        (s for s in results if _spec(s).family == family and _spec(s).correction is correction),
        None,
    )


def _comparison(comparisons, a: str, b: str) -> Comparison | None:
    for c in comparisons:
        if {c.first, c.second} == {a, b}:
            return c
    return None
