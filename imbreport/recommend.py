"""Every judgement of a run, made once: ``judge(results) -> Verdict``, and the advice built on it.

The judgements: which strategy leads, which are statistically tied with it (paired bootstrap
of the PR-AUC difference), whether a strategy beats chance, what is recommended, whose
probabilities resampling distorted, whether the imbalance is extreme, and which strategy the
threshold and confusion sections show. Pictures and templates read the ``Verdict``; none of
them decides anything.

The recommendation rule (issue #3): the highest PR-AUC among supervised strategies; among the
strategies whose paired PR-AUC difference from that leader covers zero, the simplest (the
registry's simplicity rank); an anomaly detector only when it beats chance and no supervised
strategy does; the baseline never. Nothing is crowned when nothing beats chance.
"""

from __future__ import annotations

from imbreport import metrics as m
from imbreport.model import (
    Advice,
    Comparison,
    Metric,
    Recommended,
    Results,
    StrategyResult,
    Verdict,
)
from imbreport.registry import Correction, spec_of

#: Brier score above this multiple of the plain model's: the probabilities are distorted.
DISTORTION_FACTOR = 1.5
#: Fewer positives than this, or a prevalence below ``EXTREME_PREVALENCE``: extreme imbalance.
EXTREME_POSITIVES = 50
EXTREME_PREVALENCE = 0.001
#: Fewer positives than this: the advice asks for more.
FEW_POSITIVES = 30


def fmt(metric: Metric) -> str:
    """``0.512 [0.470, 0.551]`` — a metric with its interval, three decimals."""
    if metric.value is None:
        return "n/a"
    if metric.ci is None:
        return f"{metric.value:.3f}"
    return f"{metric.value:.3f} [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"


def pr_auc_of(result: StrategyResult) -> float:
    return result.metrics["pr_auc"].value or 0.0


def beats_chance(result: StrategyResult, prevalence: float, random_level: float = 0.0) -> bool:
    """The PR-AUC interval lies above the prevalence, and the PR-AUC above what a random ranking
    reaches in 95% of draws with this many positives (``random_level``)."""
    pr_auc = result.metrics.get("pr_auc")
    return bool(
        pr_auc
        and pr_auc.ci
        and pr_auc.ci[0] > prevalence
        and pr_auc.value is not None
        and pr_auc.value > random_level
    )


def judge(results: Results) -> Verdict:
    """Every judgement of ``results``, made once."""
    evaluated = [s for s in results.strategies if s.ok]
    ranking = sorted(evaluated, key=lambda s: -pr_auc_of(s))  # stable: registry order on ties
    learners = [s for s in ranking if not _spec(s).baseline]
    supervised = [s for s in learners if _spec(s).supervised]
    leader = supervised[0] if supervised else None
    comparisons = compare_with_leader(results, learners, leader)
    tied = tuple(
        c.second
        for c in comparisons
        if leader is not None and c.first == leader.name and c.indistinguishable
    )
    recommended, beats = choose_recommended(results, supervised, tied)
    top = learners[0] if learners else None
    focus = results.strategy(recommended.strategy) or top
    best_f1 = max(ranking, key=lambda s: s.metric("f1", True).value or 0.0, default=None)
    dataset = results.dataset
    return Verdict(
        recommended=recommended,
        beats_chance=beats,
        ranking=tuple(s.name for s in ranking),
        top=_name(top),
        leader=_name(leader),
        comparisons=comparisons,
        tied_with_leader=tied,
        distorted=tuple(s.name for s in distorted_probabilities(results)),
        extreme_imbalance=(
            dataset.prevalence < EXTREME_PREVALENCE or dataset.positives < EXTREME_POSITIVES
        ),
        focus=_name(focus),
        best_tuned_f1=_name(best_f1),
    )


def compare_with_leader(
    results: Results, learners: list[StrategyResult], leader: StrategyResult | None
) -> tuple[Comparison, ...]:
    """Paired PR-AUC differences between the supervised leader and every other learner, plus,
    within the linear family, synthetic oversampling against class weights (the article's
    question) when the leader is neither."""
    if len(learners) < 2 or leader is None:
        return ()
    pairs = [(leader, other) for other in learners if other is not leader]
    synthetic = _family_member(learners, "linear", Correction.SYNTHETIC)
    weighted = _family_member(learners, "linear", Correction.WEIGHTS)
    if synthetic and weighted and leader not in (synthetic, weighted):
        pairs.append((synthetic, weighted))
    draws = results.pr_auc_draws
    return tuple(
        Comparison(
            metric="pr_auc",
            first=first.name,
            second=second.name,
            difference=first.metrics["pr_auc"].value - second.metrics["pr_auc"].value,
            ci=m.interval(draws[first.name] - draws[second.name]),
        )
        for first, second in pairs
    )


def choose_recommended(
    results: Results, supervised: list[StrategyResult], tied: tuple[str, ...]
) -> tuple[Recommended, bool]:
    """The recommendation and whether any strategy beats chance (``supervised``: highest
    PR-AUC first; ``tied``: those indistinguishable from the first)."""
    prevalence, random_level = results.evaluated_prevalence, results.random_pr_auc
    if supervised and beats_chance(supervised[0], prevalence, random_level):
        leader = supervised[0]
        pool = [
            s
            for s in supervised
            if (s is leader or s.name in tied) and beats_chance(s, prevalence, random_level)
        ]
        chosen = min(pool, key=lambda s: _spec(s).simplicity)
        if chosen is leader:
            reason = (
                f"{leader.label} has the highest PR-AUC ({fmt(leader.metrics['pr_auc'])}) and no "
                "simpler strategy is statistically indistinguishable from it."
            )
        else:
            reason = (
                f"{leader.label} has the highest PR-AUC ({fmt(leader.metrics['pr_auc'])}), but "
                f"{chosen.label} ({fmt(chosen.metrics['pr_auc'])}) is indistinguishable from it "
                "(the paired difference's interval covers zero) and simpler."
            )
        return Recommended(chosen.name, chosen.threshold, reason), True
    anomaly = next((s for s in results.strategies if s.ok and _spec(s).anomaly), None)
    if anomaly is not None and beats_chance(anomaly, prevalence, random_level):
        reason = (
            f"No supervised strategy beats chance, but the {anomaly.label} does "
            f"(PR-AUC {fmt(anomaly.metrics['pr_auc'])} vs prevalence {prevalence:.3f})."
        )
        return Recommended(anomaly.name, anomaly.threshold, reason), True
    return (
        Recommended(
            None,
            None,
            "No strategy is better than chance: no PR-AUC is both above the prevalence "
            f"({prevalence:.3f}) with its whole interval and above what a random ranking reaches "
            f"in 95% of draws ({random_level:.3f}).",
        ),
        False,
    )


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

    if chosen is not None:
        threshold = "" if chosen.threshold is None else f" at threshold {chosen.threshold:.3f}"
        advice.append(
            Advice(
                f"Use {chosen.label}{threshold}",
                f"{verdict.recommended.reason} At its tuned threshold it reaches recall "
                f"{fmt(chosen.metric('recall', True))} and precision "
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

    if chosen is not None and chosen.threshold is not None:
        default_f1 = chosen.metric("f1")
        tuned_f1 = chosen.metric("f1", True)
        spread = chosen.threshold_spread
        spread_text = (
            f"; across folds it ranged from {spread[0]:.3f} to {spread[1]:.3f}"
            if spread and len(chosen.fold_thresholds) > 1
            else ""
        )
        advice.append(
            Advice(
                "Tune the decision threshold on training data",
                f"For {chosen.label}, F1 is {fmt(default_f1)} at the default threshold and "
                f"{fmt(tuned_f1)} at the tuned threshold {chosen.threshold:.3f}{spread_text}.",
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

    anomaly = next((s for s in ok if _spec(s).anomaly), None)
    if anomaly is not None:
        best = results.strategy(verdict.leader)
        versus = f" vs {fmt(best.metrics['pr_auc'])} for {best.label}" if best else ""
        text = f"{anomaly.label} PR-AUC {fmt(anomaly.metrics['pr_auc'])}{versus}. " + (
            f"With {positives} positives (prevalence {prevalence:.4f}) an anomaly detector is "
            "a fair baseline to keep in view."
            if verdict.extreme_imbalance
            else "The imbalance here is not extreme enough to need an anomaly detector."
        )
        advice.append(Advice("Anomaly-detection fallback", text))

    if positives < FEW_POSITIVES:
        advice.append(
            Advice(
                "Collect more positive examples",
                f"Only {positives} positives: intervals are wide "
                + (
                    f"(the recommended PR-AUC spans {fmt(chosen.metrics['pr_auc'])})"
                    if chosen is not None
                    else ""
                )
                + " and rankings between strategies may change with new data.",
            )
        )
    return tuple(advice)


def _spec(result: StrategyResult):
    """The registry entry of a result (every result comes from the registry)."""
    return spec_of(result.name)


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
