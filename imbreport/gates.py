"""Quality gates: parse ``--fail-under`` / ``--fail-over`` specs and check them against results.

Pure functions only: a spec string becomes a ``GateSpec`` (or a ``ConfigError`` that says what was
expected), and ``evaluate_gates(results, specs)`` returns one ``GateResult`` per spec. Thresholded
metrics (recall, precision, f1, …) are read at the strategy's tuned threshold; ``pr_auc``,
``roc_auc``, ``brier`` and ``log_loss`` do not depend on a threshold. A gate on the recommended
strategy fails when nothing is recommended.

A gate on a segment (``--segment``) reads the figure in one group of rows:
``METRIC[COLUMN=VALUE]=LIMIT`` or ``STRATEGY.METRIC[COLUMN=VALUE]=LIMIT`` (recall, precision
or pr_auc, as ``segments.py`` measures them); ``[COLUMN=*]`` checks every group of the column
with at least ``segments.FEW_POSITIVES`` positives and fails if any is below the limit.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from imbreport.errors import ConfigError, InputError
from imbreport.model import (
    LOWER_IS_BETTER,
    METRIC_KEYS,
    THRESHOLD_FREE,
    GateResult,
    Results,
    metric_as_gated,
)
from imbreport.registry import STRATEGY_NAMES, spec_of
from imbreport.segments import FEW_POSITIVES, GATED, segment_row, subject_table

UNDER, OVER = "under", "over"
OPTION_OF = {UNDER: "--fail-under", OVER: "--fail-over"}
RECOMMENDED = "recommended"
#: The range each metric can take (metrics not listed are in [0, 1]).
METRIC_RANGES = {"mcc": (-1.0, 1.0), "log_loss": (0.0, math.inf)}


@dataclass(frozen=True)
class GateSpec:
    """One parsed gate: ``strategy`` is ``None`` for the recommended strategy."""

    strategy: str | None
    metric: str
    limit: float
    direction: str  # "under" | "over"
    text: str  # as the user wrote it, e.g. "xgboost.recall=0.8"
    #: ``(column, value)`` of a gate on a segment (value ``"*"``: every segment), else ``None``.
    segment: tuple[str, str] | None = None

    @property
    def option(self) -> str:
        """The gate as a command-line option, e.g. ``--fail-under xgboost.recall=0.8``."""
        return f"{OPTION_OF[self.direction]} {self.text}"


def parse_gate(text: str, direction: str, strategies: Collection[str] | None) -> GateSpec:
    """Parse ``METRIC=VALUE`` or ``STRATEGY.METRIC=VALUE``; ``strategies`` are the valid names
    (``None``: not checked yet — score columns are known only with the other options); or the
    same with ``[COLUMN=VALUE]`` after the metric, a gate on a segment."""
    text = text.strip()
    if "[" in text.partition("=")[0]:
        return _parse_segment_gate(text, direction, strategies)
    target, sep, limit_text = text.partition("=")
    if not sep or not target.strip() or not limit_text.strip():
        raise ConfigError(
            f"Gate '{text}' needs the form METRIC=VALUE or STRATEGY.METRIC=VALUE, "
            f"e.g. {OPTION_OF[direction]} {_example(direction)}."
        )
    prefix, _, metric = target.strip().rpartition(".")
    prefix, metric, limit_text = prefix.strip(), metric.strip(), limit_text.strip()
    strategy = None if prefix in ("", RECOMMENDED) else prefix
    _check_name("metric", metric, METRIC_KEYS, text)
    if strategy is not None and strategies is not None:
        _check_name("strategy", strategy, strategies, text)
    limit = _parse_limit(limit_text, text)
    _check_direction(metric, direction)
    _check_range(metric, limit, text)
    canonical = f"{prefix}.{metric}={limit_text}" if prefix else f"{metric}={limit_text}"
    return GateSpec(strategy, metric, limit, direction, canonical)


def _parse_segment_gate(text: str, direction: str, strategies) -> GateSpec:
    """``[STRATEGY.]METRIC[COLUMN=VALUE]=LIMIT``: the limit after the last ``=``, the segment
    between the first ``[`` and the last ``]`` (a value may hold brackets, as bins do)."""
    target, sep, limit_text = text.rpartition("=")
    target, limit_text = target.strip(), limit_text.strip()
    opened = target.find("[")
    inner = target[opened + 1 : -1] if target.endswith("]") else ""
    column, has_value, value = inner.partition("=")
    column, value = column.strip(), value.strip()
    head = target[:opened].strip()
    if not sep or not limit_text or not head or not has_value or not column or not value:
        raise ConfigError(
            f"Gate '{text}' needs the form METRIC[COLUMN=VALUE]=LIMIT or "
            "STRATEGY.METRIC[COLUMN=VALUE]=LIMIT for a segment (VALUE * for every segment of "
            f"the column), e.g. {OPTION_OF[direction]} 'recall[region=north]=0.7'."
        )
    prefix, _, metric = head.rpartition(".")
    prefix, metric = prefix.strip(), metric.strip()
    strategy = None if prefix in ("", RECOMMENDED) else prefix
    _check_name("metric", metric, METRIC_KEYS, text)
    if metric not in GATED:
        raise ConfigError(
            f"Gate '{text}': a segment gate reads {', '.join(GATED)} (the figures measured per "
            f"segment), not {metric}."
        )
    if strategy is not None and strategies is not None:
        _check_name("strategy", strategy, strategies, text)
    limit = _parse_limit(limit_text, text)
    _check_direction(metric, direction)
    _check_range(metric, limit, text)
    subject = f"{prefix}.{metric}" if prefix else metric
    canonical = f"{subject}[{column}={value}]={limit_text}"
    return GateSpec(strategy, metric, limit, direction, canonical, (column, value))


def check_segment_columns(specs: Iterable[GateSpec], segments: Collection[str]) -> None:
    """A gate on a segment names a column given to ``--segment``."""
    for spec in specs:
        if spec.segment is None or spec.segment[0] in segments:
            continue
        given = f" (given: {', '.join(segments)})" if segments else ""
        raise ConfigError(
            f"Gate '{spec.option}' names column '{spec.segment[0]}', which is not given to "
            f"--segment{given}. Add --segment {spec.segment[0]} or correct the gate."
        )


def check_segment_values(specs: Iterable[GateSpec], labels: dict) -> None:
    """A gate on one segment names a value the column holds (``labels``: column → the label of
    each row), checked once the data is read and before anything is fitted: a typo is a usage
    error, not a failed gate."""
    for spec in specs:
        if spec.segment is None or spec.segment[1] == "*" or spec.segment[0] not in labels:
            continue
        column, value = spec.segment
        values = {str(v) for v in labels[column]}
        if value not in values:
            close = difflib.get_close_matches(value, sorted(values), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            shown = ", ".join(sorted(values)[:12]) + (" …" if len(values) > 12 else "")
            raise InputError(
                f"Gate '{spec.option}' names {column} = {value}, which no row holds.{hint} "
                f"Values of {column}: {shown}."
            )


def parse_gates(
    fail_under: Iterable[str | GateSpec], fail_over: Iterable[str | GateSpec], strategies
) -> tuple[GateSpec, ...]:
    """Parse every ``--fail-under`` then every ``--fail-over`` spec (already parsed ones pass;
    a single string is one spec)."""
    specs = []
    for direction, texts in ((UNDER, fail_under), (OVER, fail_over)):
        for text in (texts,) if isinstance(texts, str) else texts:
            spec = text if isinstance(text, GateSpec) else parse_gate(text, direction, strategies)
            specs.append(spec)
    return tuple(specs)


def check_selected(
    specs: Iterable[GateSpec],
    selected: Collection[str] | None,
    scores: Collection[str] = (),
    only_scores: bool = False,
) -> None:
    """A gate names a strategy among ``--strategies`` (``None`` = all) or a score column
    (``scores``); with ``--only-scores`` it names a score column, or there is only one."""
    specs = list(specs)
    names = [*STRATEGY_NAMES, *scores] if not only_scores else list(scores)
    for spec in specs:
        if spec.strategy is not None:
            kind = "strategy or score column" if scores else "strategy"
            _check_name(kind, spec.strategy, names, spec.text)
        elif only_scores and len(scores) > 1:
            raise ConfigError(
                f"Gate '{spec.option}' names no score column, and --only-scores evaluates "
                f"{len(scores)}: write e.g. {scores[0]}.{spec.metric}=…"
            )
    if selected is None:
        return
    for spec in specs:
        if spec.strategy in scores:
            continue
        if spec.strategy is not None and spec.strategy not in selected:
            raise ConfigError(
                f"Gate '{spec.option}' names strategy '{spec.strategy}', which --strategies leaves "
                f"out ({', '.join(selected)}). Add it to --strategies or drop the gate."
            )


def evaluate_gates(
    results: Results, recommended: str | None, specs: Iterable[GateSpec], segments=None
) -> tuple[GateResult, ...]:
    """Check every gate against ``results`` (``recommended``: the recommended strategy's name;
    ``segments``: the verdict's ``Segments``, whose tables segment gates read where they can);
    the order of ``specs`` is kept."""
    return tuple(evaluate_gate(results, recommended, spec, segments) for spec in specs)


def evaluate_gate(
    results: Results, recommended: str | None, spec: GateSpec, segments=None
) -> GateResult:
    """Check one gate; a missing, skipped or undefined value fails it with the reason."""
    name = spec.strategy or recommended
    if name is None:
        return _result(
            spec, None, None, "no strategy is recommended (none beats chance), so it fails"
        )
    strategy = results.strategy(name)
    if strategy is None:
        return _result(spec, name, None, f"strategy '{name}' was not evaluated")
    if not strategy.ok:
        return _result(spec, name, None, f"strategy '{name}' was skipped ({strategy.reason})")
    if spec.segment is not None:
        return _segment_gate(results, name, spec, segments)
    value = gate_value(strategy, spec.metric)
    if value is None:
        return _result(spec, name, None, f"{spec.metric} is undefined for '{name}'")
    passed = value >= spec.limit if spec.direction == UNDER else value <= spec.limit
    where = "" if spec.metric in THRESHOLD_FREE else _at_threshold(strategy.threshold)
    verdict = (
        f"meets the limit {_number(spec.limit)}"
        if passed
        else f"is {spec.direction} the limit {_number(spec.limit)}"
    )
    return _result(spec, name, value, f"{spec.metric} {value:.3f}{where} {verdict}", passed=passed)


def _segment_gate(results: Results, name: str, spec: GateSpec, segments) -> GateResult:
    """A gate on one segment, or on every segment large enough (``[COLUMN=*]``)."""
    column, value = spec.segment
    if column not in results.dataset.roles.segments:
        return _result(spec, name, None, f"column '{column}' was not read as a segment")
    if value != "*":
        row = segment_row(results, name, column, value)
        if row is None:
            return _result(spec, name, None, f"no evaluated row has {column} = {value}")
        found = getattr(row, spec.metric).value
        where = f" in {column} = {value}"
        if found is None:
            return _result(spec, name, None, f"{spec.metric} is undefined{where}")
        passed = found >= spec.limit
        small = (
            f" (a small segment: {_positives(row.positives)}; read the figure with its interval)"
            if row.positives < FEW_POSITIVES
            else ""
        )
        verdict = (
            f"meets the limit {_number(spec.limit)}"
            if passed
            else f"is under the limit {_number(spec.limit)}"
        )
        detail = f"{spec.metric} {found:.3f}{where} {verdict}{small}"
        return _result(spec, name, found, detail, passed=passed)
    table = next(
        (
            t
            for t in (segments.tables if segments is not None else ())
            if t.column == column and t.strategy == name
        ),
        None,
    ) or subject_table(results, name, column)
    rows = [] if table is None else [r for r in table.rows if not r.other]
    checked = [r for r in rows if r.positives >= FEW_POSITIVES]
    skipped = len(rows) - len(checked)
    if not checked:
        return _result(
            spec,
            name,
            None,
            f"no segment of '{column}' has {FEW_POSITIVES} positives or more, so there is "
            "nothing large enough to gate with [*]; gate a segment by its value to read its "
            "figure anyway",
        )
    values = [(r, getattr(r, spec.metric).value) for r in checked]
    failing = [(r, v) for r, v in values if v is None or v < spec.limit]
    lowest = min((v for _, v in values if v is not None), default=None)
    note = f"; {skipped} smaller segment(s) not checked" if skipped else ""
    if failing:
        shown = ", ".join(
            f"{column} = {r.value} ({'undefined' if v is None else f'{v:.3f}'})"
            for r, v in failing[:5]
        )
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        detail = (
            f"{spec.metric} is under the limit {_number(spec.limit)} in {shown}{more}"
            f" ({len(failing)} of {len(checked)} segments with {FEW_POSITIVES}+ positives{note})"
        )
        return _result(spec, name, lowest, detail)
    detail = (
        f"{spec.metric} meets the limit {_number(spec.limit)} in all {len(checked)} segments of "
        f"'{column}' with {FEW_POSITIVES}+ positives (lowest {lowest:.3f}{note})"
    )
    return _result(spec, name, lowest, detail, passed=True)


def gate_value(strategy, metric: str) -> float | None:
    """The value a gate reads: threshold-free metrics as they are, the others at the tuned
    threshold (the default threshold's figure when the strategy has no tuned one)."""
    found = metric_as_gated(strategy.metrics, strategy.tuned_metrics, metric)
    return None if found is None else found.value


def _result(
    spec: GateSpec, name: str | None, value: float | None, detail: str, passed: bool = False
) -> GateResult:
    return GateResult(
        spec=spec.option,
        strategy=name,
        metric=spec.metric,
        limit=spec.limit,
        direction=spec.direction,
        value=value,
        passed=passed,
        message=f"{spec.option}: {_subject(spec, name)}: {detail}.",
        segment=spec.segment,
    )


def _subject(spec: GateSpec, name: str | None) -> str:
    if spec.strategy is not None:
        return spec.strategy
    if name is not None and spec_of(name) is None:
        return f"the score column '{name}'"  # --only-scores with one score column
    return f"the recommended strategy ({name})" if name else "the recommended strategy"


def _check_name(kind: str, name: str, valid: Collection[str], text: str) -> None:
    if name in valid:
        return
    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(
        f"Unknown {kind} '{name}' in gate '{text}'.{hint} Choose from: {', '.join(valid)}."
    )


def _parse_limit(limit_text: str, text: str) -> float:
    try:
        limit = float(limit_text)
    except ValueError:
        raise ConfigError(
            f"The limit '{limit_text}' in gate '{text}' is not a number; write e.g. 0.6."
        ) from None
    if not math.isfinite(limit):
        raise ConfigError(f"The limit in gate '{text}' must be a finite number.")
    return limit


def _check_direction(metric: str, direction: str) -> None:
    lower_is_better = metric in LOWER_IS_BETTER
    if direction == UNDER and lower_is_better:
        raise ConfigError(
            f"{metric} is lower-is-better: use --fail-over {metric}=VALUE "
            "(fail when it rises above the limit)."
        )
    if direction == OVER and not lower_is_better:
        raise ConfigError(
            f"--fail-over is for lower-is-better metrics ({', '.join(LOWER_IS_BETTER)}); "
            f"{metric} is higher-is-better: use --fail-under {metric}=VALUE."
        )


def _check_range(metric: str, limit: float, text: str) -> None:
    low, high = METRIC_RANGES.get(metric, (0.0, 1.0))
    if not low <= limit <= high:
        span = f"{_number(low)} to {_number(high)}" if math.isfinite(high) else f">= {low:g}"
        raise ConfigError(
            f"The limit {_number(limit)} in gate '{text}' is outside the range of {metric} "
            f"({span}); write fractions, e.g. 0.6 rather than 60."
        )


def _example(direction: str) -> str:
    return "pr_auc=0.6 or xgboost.recall=0.8" if direction == UNDER else "brier=0.05"


def _at_threshold(threshold: float | None) -> str:
    return "" if threshold is None else f" (at the tuned threshold {threshold:.3f})"


def _positives(count: int) -> str:
    return f"{count} positive" if count == 1 else f"{count} positives"


def _number(value: float) -> str:
    return f"{value:g}"
