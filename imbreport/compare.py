"""Comparing this run with a previous one (``--compare PREVIOUS.json``): the ``changes`` section.

Pure functions on two JSON reports (``Report.to_dict()`` values) that return a typed ``Changes``
value: nothing is read or written here.
A metric change is *significant* when a two-sided z-test of the difference rejects at 5%:
z = Δ / √(se₁² + se₂²), each run's standard error read off its 95% interval, plus, for PR-AUC and
precision, the sampling variation of each run's prevalence.
Thresholded metrics are compared at each strategy's tuned threshold (as the gates read them).
The prevalence shift is tested with a two-proportion z-test at the 5% level.

``Changes.failed`` is true only with ``--fail-if-worse`` and a significant drop of the primary
metric (PR-AUC) of the previously recommended strategy (the model in use), measured again in
this run; or when that strategy could not be evaluated this time and nothing is recommended.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from imbreport.errors import InputError
from imbreport.model import (
    METRIC_KEYS,
    SCHEMA_VERSION,
    THRESHOLD_FREE,
    improved,
    metric_as_gated,
    rounded,
)

PRIMARY_METRIC = "pr_auc"
Z_95 = 1.959964
#: Keys a previous report needs, as paths into the JSON, with the JSON type expected.
REQUIRED_KEYS = (
    (("schema_version",), str),
    (("dataset", "rows_used"), int),
    (("dataset", "positives"), int),
    (("dataset", "prevalence"), (int, float)),
    (("strategies",), list),
    (("recommended",), dict),
)
PROTOCOL_KEYS = ("kind", "folds", "repeats", "test_fraction", "seed", "threshold_objective")


def validate_previous(data: Any, source: str) -> dict[str, Any]:
    """Check that ``data`` is an imbreport JSON report this version can compare with."""
    if not isinstance(data, dict):
        raise InputError(f"The previous report '{source}' is not an imbreport JSON report.")
    for path, kind in REQUIRED_KEYS:
        value = _get(data, path)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InputError(
                f"The previous report '{source}' has no valid '{'.'.join(path)}'; "
                "give a JSON file written by imbreport (-o result.json)."
            )
    if _major(data["schema_version"]) != _major(SCHEMA_VERSION):
        raise InputError(
            f"The previous report '{source}' uses schema_version {data['schema_version']}; this "
            f"imbreport writes {SCHEMA_VERSION} and compares only with {_major(SCHEMA_VERSION)}.x "
            "reports (see the migration notes in docs/audit.md)."
        )
    for index, item in enumerate(data["strategies"]):
        if not _valid_strategy(item):
            raise InputError(
                f"The previous report '{source}' has an invalid 'strategies[{index}]' entry "
                "(a name and metrics of the form {'value': …, 'ci': […]} are expected)."
            )
    return data


def _valid_strategy(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return False
    tables = (item.get("metrics") or {}, item.get("tuned_metrics") or {})
    return all(
        isinstance(table, dict) and all(isinstance(m, dict) for m in table.values())
        for table in tables
    )


@dataclass(frozen=True)
class RunIdentity:
    """Which run a report came from."""

    source: str | None
    sha256: str | None
    created: str | None
    tool_version: str | None
    schema_version: str


@dataclass(frozen=True)
class PrevalenceShift:
    """The prevalence before and now, and a two-proportion z-test of the difference."""

    previous: float
    current: float
    difference: float
    z: float
    significant: bool
    previous_rows: int
    current_rows: int


@dataclass(frozen=True)
class RecommendationChange:
    previous: str | None
    current: str | None
    changed: bool
    previous_threshold: float | None
    current_threshold: float | None
    threshold_difference: float | None


@dataclass(frozen=True)
class PrimaryChange:
    """The recommended strategy's PR-AUC now against the previously recommended one's."""

    metric: str
    previous_strategy: str | None
    current_strategy: str | None
    previous: float | None
    current: float | None
    difference: float | None
    recommendation_lost: bool
    significant_drop: bool


@dataclass(frozen=True)
class MetricChange:
    metric: str
    at: str  # "threshold-free" | "tuned threshold"
    previous: float | None
    current: float | None
    difference: float | None
    significant: bool
    direction: str  # "better" | "worse" | "within_intervals"


@dataclass(frozen=True)
class ThresholdChange:
    previous: float | None
    current: float | None
    difference: float | None
    outside_previous_spread: bool


@dataclass(frozen=True)
class StrategyChange:
    name: str
    status: str  # "compared" | "new" | "removed" | "skipped"
    metrics: tuple[MetricChange, ...] = ()
    threshold: ThresholdChange | None = None


@dataclass(frozen=True)
class Changes:
    """What moved since a previous run: the report's ``changes`` section and JSON block."""

    previous: RunIdentity
    notes: tuple[str, ...]
    prevalence: PrevalenceShift
    recommendation: RecommendationChange
    primary: PrimaryChange
    strategies: tuple[StrategyChange, ...]
    worse: bool
    fail_if_worse: bool
    failed: bool
    highlights: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``changes`` block."""
        return json_ready(asdict(self))


def json_ready(value: Any) -> Any:
    """Tuples as lists, recursively (``asdict`` keeps tuples)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def compare_reports(
    previous: dict[str, Any], current: dict[str, Any], *, fail_if_worse: bool = False
) -> Changes:
    """What moved between ``previous`` and ``current`` (both JSON reports)."""
    strategies = tuple(
        _strategy_change(
            name, _by_name(previous, name), _by_name(current, name), _datasets(previous, current)
        )
        for name in _strategy_names(previous, current)
    )
    primary = primary_change(previous, current)
    worse = primary.significant_drop
    changes = Changes(
        previous=_identity(previous),
        notes=tuple(comparability_notes(previous, current)),
        prevalence=prevalence_shift(previous["dataset"], current["dataset"]),
        recommendation=recommendation_change(previous, current),
        primary=primary,
        strategies=strategies,
        worse=worse,
        fail_if_worse=fail_if_worse,
        failed=bool(fail_if_worse and worse),
    )
    return replace(changes, highlights=tuple(highlights(changes)))


def significant(
    previous: dict | None,
    current: dict | None,
    key: str | None = None,
    datasets: tuple[dict, dict] | None = None,
) -> bool:
    """The change exceeds what the two runs' uncertainty explains: a two-sided z-test of the
    difference at 5%, z = Δ / √(se₁² + se₂²), each standard error read off its run's 95%
    interval (width / 3.92). Both intervals must be known. For figures that move with the
    prevalence (PR-AUC, precision), each run's standard error also carries the sampling
    variation of its prevalence (``datasets``: the two runs' ``dataset`` blocks)."""
    z = change_z(previous, current, key, datasets)
    return z is not None and abs(z) > Z_95


#: Figures that move with the prevalence: precision = TPR·π / (TPR·π + FPR·(1 − π)).
PREVALENCE_DEPENDENT = ("pr_auc", "precision")


def change_z(
    previous: dict | None,
    current: dict | None,
    key: str | None = None,
    datasets: tuple[dict, dict] | None = None,
) -> float | None:
    """The z statistic of a metric's change between two runs (``None`` when not computable)."""
    if not previous or not current:
        return None
    before, after = previous.get("value"), current.get("value")
    if before is None or after is None or not previous.get("ci") or not current.get("ci"):
        return None
    if None in previous["ci"] or None in current["ci"]:
        return None
    variance = _standard_error(previous["ci"]) ** 2 + _standard_error(current["ci"]) ** 2
    if key in PREVALENCE_DEPENDENT and datasets is not None:
        variance += _prevalence_variance(before, datasets[0])
        variance += _prevalence_variance(after, datasets[1])
    se = math.sqrt(variance)
    if se == 0:
        return 0.0 if after == before else math.copysign(math.inf, after - before)
    return (after - before) / se


def _prevalence_variance(value: float, dataset: dict) -> float:
    """How much a precision-like figure varies because the run's prevalence π is itself a
    sample: the delta method on ∂precision/∂π = p(1 − p) / (π(1 − π)), with var π = π(1 − π)/n
    (the class-stratified bootstrap holds π fixed, so its interval leaves this out)."""
    rows = _rows_represented(dataset)
    prevalence = dataset["positives"] / max(rows, 1)
    if not 0 < prevalence < 1 or rows <= 0:
        return 0.0
    slope = value * (1 - value) / (prevalence * (1 - prevalence))
    return slope**2 * prevalence * (1 - prevalence) / rows


def _standard_error(interval: list[float]) -> float:
    return (interval[1] - interval[0]) / (2 * Z_95)


def _rows_represented(dataset: dict[str, Any]) -> int:
    """The rows a run's figures describe: with ``--sample``, every positive and the negatives
    the sampled ones stand for (the whole file)."""
    rate = dataset.get("sampling_rate") or 1.0
    negatives = dataset["rows_used"] - dataset["positives"]
    return round(dataset["positives"] + negatives / rate)


def prevalence_shift(previous: dict[str, Any], current: dict[str, Any]) -> PrevalenceShift:
    """The change in prevalence and whether a two-proportion z-test finds it significant."""
    n0, n1 = _rows_represented(previous), _rows_represented(current)
    p0, p1 = previous["positives"] / max(n0, 1), current["positives"] / max(n1, 1)
    pooled = (previous["positives"] + current["positives"]) / max(n0 + n1, 1)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / max(n0, 1) + 1 / max(n1, 1)))
    z = 0.0 if spread == 0 else (p1 - p0) / spread
    return PrevalenceShift(
        previous=rounded(p0),
        current=rounded(p1),
        difference=rounded(p1 - p0),
        z=rounded(z, 3),
        significant=abs(z) > Z_95,
        previous_rows=n0,
        current_rows=n1,
    )


def recommendation_change(
    previous: dict[str, Any], current: dict[str, Any]
) -> RecommendationChange:
    """Which strategy and threshold were recommended before and now."""
    before, after = previous["recommended"], current["recommended"]
    threshold_before, threshold_after = before.get("threshold"), after.get("threshold")
    return RecommendationChange(
        previous=before.get("strategy"),
        current=after.get("strategy"),
        changed=before.get("strategy") != after.get("strategy"),
        previous_threshold=threshold_before,
        current_threshold=threshold_after,
        threshold_difference=_difference(threshold_before, threshold_after),
    )


def primary_change(previous: dict[str, Any], current: dict[str, Any]) -> PrimaryChange:
    """The previously recommended strategy's PR-AUC now against before (the model in use: is it
    still as good?); the currently recommended one's where the previous one was not evaluated
    this time. A drop counts when the z-test of the difference finds it; a recommendation lost
    because nothing beats chance any more counts only as far as that test does, unless the
    previous strategy could not be evaluated at all."""
    name_before = previous["recommended"].get("strategy")
    name_after = current["recommended"].get("strategy")
    still_there = _evaluated(current, name_before)
    subject = name_before if still_there else name_after
    before = _metric(_by_name(previous, name_before), PRIMARY_METRIC)
    after = _metric(_by_name(current, subject), PRIMARY_METRIC)
    lost = name_before is not None and name_after is None
    value_before = before.get("value") if before else None
    value_after = after.get("value") if after else None
    dropped = value_before is not None and value_after is not None and value_after < value_before
    vanished = lost and value_after is None
    return PrimaryChange(
        metric=PRIMARY_METRIC,
        previous_strategy=name_before,
        current_strategy=subject,
        previous=value_before,
        current=value_after,
        difference=_difference(value_before, value_after),
        recommendation_lost=lost,
        significant_drop=vanished
        or (dropped and significant(before, after, PRIMARY_METRIC, _datasets(previous, current))),
    )


def _evaluated(report: dict[str, Any], name: str | None) -> bool:
    found = _by_name(report, name) if name else None
    return bool(found and found.get("status") == "ok")


def comparability_notes(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Plain sentences on what differs between the two runs besides the results."""
    notes = []
    old, new = previous["dataset"], current["dataset"]
    if old.get("sha256") and old.get("sha256") == new.get("sha256"):
        notes.append("The data file's contents are identical to the previous run's (SHA-256).")
    elif old.get("sha256"):
        notes.append("The data changed since the previous run (different SHA-256).")
    for key in ("target", "positive_label"):
        if old.get(key) != new.get(key):
            notes.append(
                f"The {key.replace('_', ' ')} differs ('{old.get(key)}' before, "
                f"'{new.get(key)}' now): the runs do not measure the same thing."
            )
    old_protocol, new_protocol = previous.get("protocol") or {}, current.get("protocol") or {}
    differing = [k for k in PROTOCOL_KEYS if old_protocol.get(k) != new_protocol.get(k)]
    if differing:
        notes.append(
            f"The protocol differs ({', '.join(differing)}): part of any change may come from it."
        )
    return notes


def highlights(changes: Changes) -> list[str]:
    """The changes worth a reader's attention, one plain sentence each."""
    lines = []
    prevalence = changes.prevalence
    if prevalence.significant:
        lines.append(
            f"Prevalence shifted from {prevalence.previous:.2%} to {prevalence.current:.2%}."
        )
    recommendation = changes.recommendation
    if recommendation.changed:
        lines.append(
            f"The recommendation changed from {recommendation.previous or 'none'} to "
            f"{recommendation.current or 'none'}."
        )
    primary = changes.primary
    if primary.recommendation_lost:
        lines.append("No strategy beats chance any more: the recommendation was lost.")
    if primary.significant_drop and primary.current is not None:
        lines.append(
            f"The recommended strategy's PR-AUC dropped significantly, from "
            f"{primary.previous:.3f} ({primary.previous_strategy}) to "
            f"{primary.current:.3f} ({primary.current_strategy})."
        )
    for strategy in changes.strategies:
        for change in strategy.metrics:
            if change.significant:
                lines.append(
                    f"{strategy.name}: {change.metric} {change.direction}, "
                    f"{change.previous:.3f} to {change.current:.3f}."
                )
    return lines


def _strategy_change(
    name: str, before: dict | None, after: dict | None, datasets: tuple[dict, dict]
) -> StrategyChange:
    status = _status(before, after)
    if status != "compared":
        return StrategyChange(name, status)
    return StrategyChange(
        name,
        status,
        metrics=tuple(
            _metric_change(key, _metric(before, key) or {}, _metric(after, key) or {}, datasets)
            for key in METRIC_KEYS
        ),
        threshold=_threshold_change(before.get("threshold"), after.get("threshold")),
    )


def _status(before: dict | None, after: dict | None) -> str:
    if before is None:
        return "new"
    if after is None:
        return "removed"
    if before.get("status") != "ok" or after.get("status") != "ok":
        return "skipped"
    return "compared"


def _datasets(previous: dict, current: dict) -> tuple[dict, dict]:
    return previous["dataset"], current["dataset"]


def _metric_change(key: str, before: dict, after: dict, datasets=None) -> MetricChange:
    difference = _difference(before.get("value"), after.get("value"))
    is_significant = significant(before, after, key, datasets)
    return MetricChange(
        metric=key,
        at="threshold-free" if key in THRESHOLD_FREE else "tuned threshold",
        previous=before.get("value"),
        current=after.get("value"),
        difference=difference,
        significant=is_significant,
        direction=("better" if improved(key, difference) else "worse")
        if is_significant
        else "within_intervals",
    )


def _threshold_change(before: dict | None, after: dict | None) -> ThresholdChange:
    value_before = (before or {}).get("value")
    value_after = (after or {}).get("value")
    spread = (before or {}).get("spread")
    return ThresholdChange(
        previous=value_before,
        current=value_after,
        difference=_difference(value_before, value_after),
        outside_previous_spread=bool(
            spread and value_after is not None and not _inside(value_after, spread)
        ),
    )


def _metric(strategy: dict | None, key: str) -> dict | None:
    """A strategy's metric (JSON) as gates read it: thresholded ones at the tuned threshold."""
    if strategy is None:
        return None
    return metric_as_gated(strategy.get("metrics") or {}, strategy.get("tuned_metrics") or {}, key)


def _strategy_names(previous: dict, current: dict) -> list[str]:
    names = [s["name"] for s in current["strategies"]]
    return names + [s["name"] for s in previous["strategies"] if s["name"] not in names]


def _by_name(report: dict, name: str | None) -> dict | None:
    return next((s for s in report["strategies"] if s.get("name") == name), None)


def _identity(report: dict) -> RunIdentity:
    dataset = report["dataset"]
    return RunIdentity(
        source=dataset.get("source"),
        sha256=dataset.get("sha256"),
        created=report.get("created"),
        tool_version=(report.get("tool") or {}).get("version"),
        schema_version=report["schema_version"],
    )


def _get(data: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _inside(value: float, interval: list[float]) -> bool:
    return interval[0] <= value <= interval[1]


def _difference(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else rounded(after - before)


def _major(version: str) -> str:
    return version.split(".", 1)[0]
