"""Choosing the recommended strategy and writing plain-word advice backed by this run's numbers.

The rule (issue #3): the highest PR-AUC; among the strategies whose paired PR-AUC difference from
the leader covers zero, the simplest; Isolation Forest only when it beats chance and no supervised
strategy does; the majority baseline never. Nothing is crowned when nothing beats chance.
"""

from __future__ import annotations

from imbreport.model import Advice, Comparison, Metric, Recommended, Results, StrategyResult
from imbreport.strategies import SIMPLICITY_ORDER

RESAMPLERS = ("undersample", "oversample", "smote", "balanced")


def fmt(metric: Metric) -> str:
    """``0.512 [0.470, 0.551]`` — a metric with its interval, three decimals."""
    if metric.value is None:
        return "n/a"
    if metric.ci is None:
        return f"{metric.value:.3f}"
    return f"{metric.value:.3f} [{metric.ci[0]:.3f}, {metric.ci[1]:.3f}]"


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


def choose_recommended(
    strategies: list[StrategyResult],
    comparisons: list[Comparison],
    prevalence: float,
    random_level: float = 0.0,
) -> tuple[Recommended, bool]:
    supervised = [s for s in strategies if s.ok and s.name in SIMPLICITY_ORDER]
    ranked = sorted(supervised, key=lambda s: -(s.metrics["pr_auc"].value or 0.0))
    if ranked and beats_chance(ranked[0], prevalence, random_level):
        leader = ranked[0]
        tied = {c.second for c in comparisons if c.first == leader.name and c.indistinguishable}
        pool = [
            s
            for s in ranked
            if (s is leader or s.name in tied) and beats_chance(s, prevalence, random_level)
        ]
        chosen = min(pool, key=lambda s: SIMPLICITY_ORDER.index(s.name))
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
    forest = next((s for s in strategies if s.ok and s.name == "isolation_forest"), None)
    if forest is not None and beats_chance(forest, prevalence, random_level):
        reason = (
            "No supervised strategy beats chance, but the Isolation Forest does "
            f"(PR-AUC {fmt(forest.metrics['pr_auc'])} vs prevalence {prevalence:.3f})."
        )
        return Recommended(forest.name, forest.threshold, reason), True
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
    """Resampling / weighting strategies whose Brier score is well above plain logistic regression's."""
    logreg = results.strategy("logreg")
    reference = logreg.metric("brier").value if logreg is not None and logreg.ok else None
    if reference is None:
        return []
    return [
        s
        for s in results.strategies
        if s.ok and s.name in RESAMPLERS and (s.metric("brier").value or 0.0) > 1.5 * reference
    ]


def build_advice(results: Results) -> tuple[Advice, ...]:
    """Ordered advice; each item cites the figures of this run that support it."""
    advice: list[Advice] = []
    ok = {s.name: s for s in results.strategies if s.ok}
    prevalence = results.dataset.prevalence
    positives = results.dataset.positives
    chosen = ok.get(results.recommended.strategy or "")

    if chosen is not None:
        threshold = "" if chosen.threshold is None else f" at threshold {chosen.threshold:.3f}"
        advice.append(
            Advice(
                f"Use {chosen.label}{threshold}",
                f"{results.recommended.reason} At its tuned threshold it reaches recall "
                f"{fmt(chosen.metric('recall', True))} and precision "
                f"{fmt(chosen.metric('precision', True))}.",
            )
        )
    else:
        advice.append(
            Advice(
                "Do not deploy any of these models",
                f"{results.recommended.reason} Look for more informative features or more "
                f"positive examples ({positives} here).",
            )
        )

    majority = ok.get("majority")
    if majority is not None:
        accuracy = majority.metrics["accuracy"]
        advice.append(
            Advice(
                "Judge by PR-AUC, recall and precision, not accuracy",
                f"The do-nothing majority baseline reaches accuracy {fmt(accuracy)} while finding "
                f"0 of {positives} positives (recall {majority.metrics['recall'].value:.3f}).",
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

    smote, balanced = ok.get("smote"), ok.get("balanced")
    if smote and balanced:
        comparison = _comparison(results.comparisons, "smote", "balanced")
        better = smote.metrics["pr_auc"].value > balanced.metrics["pr_auc"].value
        if comparison is not None and comparison.indistinguishable:
            verdict = "SMOTE and balanced class weights are indistinguishable"
        elif better:
            verdict = "SMOTE beat balanced class weights"
        else:
            verdict = "SMOTE did not beat balanced class weights"
        advice.append(
            Advice(
                verdict,
                f"PR-AUC {fmt(smote.metrics['pr_auc'])} (SMOTE) vs "
                f"{fmt(balanced.metrics['pr_auc'])} (balanced). Class weights are cheaper and "
                "create no synthetic rows.",
            )
        )

    logreg = ok.get("logreg")
    distorted = distorted_probabilities(results)
    if distorted:
        worst = max(distorted, key=lambda s: s.metrics["brier"].value or 0)
        advice.append(
            Advice(
                "Resampling and class weights distort probabilities",
                f"Brier score {fmt(worst.metrics['brier'])} for {worst.label} vs "
                f"{fmt(logreg.metrics['brier'])} for plain logistic regression. If calibrated "
                "risk estimates matter, use the unweighted model with a tuned threshold.",
            )
        )

    forest = ok.get("isolation_forest")
    if forest is not None:
        extreme = prevalence < 0.001 or positives < 50
        best = max(
            (s for n, s in ok.items() if n in SIMPLICITY_ORDER),
            key=lambda s: s.metrics["pr_auc"].value or 0,
            default=None,
        )
        versus = f" vs {fmt(best.metrics['pr_auc'])} for {best.label}" if best else ""
        text = f"Isolation Forest PR-AUC {fmt(forest.metrics['pr_auc'])}{versus}. " + (
            f"With {positives} positives (prevalence {prevalence:.4f}) an anomaly detector is "
            "a fair baseline to keep in view."
            if extreme
            else "The imbalance here is not extreme enough to need an anomaly detector."
        )
        advice.append(Advice("Anomaly-detection fallback", text))

    if positives < 30:
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


def _comparison(comparisons, a: str, b: str) -> Comparison | None:
    for c in comparisons:
        if {c.first, c.second} == {a, b}:
            return c
    return None
