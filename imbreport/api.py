"""The Python API and the one conductor of a run: ``analyze(data, target=..., **options)``.

The order, as the CLI runs it too: check every option (and the gates and the previous report)
→ load → evaluate → judge → illustrate → audit (gates, comparison) → ``Report``. The returned
report can write itself (``report.write("report.html")``) and shows inline in a notebook.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from imbreport import __version__
from imbreport import model as values
from imbreport.errors import ConfigError, InputError, short_error
from imbreport.options import Config, make_config
from imbreport.reproducible import created_date

__all__ = ["Report", "analyze", "build_report", "check_options", "make_config", "read_previous"]


@dataclass(frozen=True)
class Report(values.Report):
    """The report of a run (``model.Report``), able to write itself to a file."""

    def write(self, path: str, **options: Any) -> None:
        """Write the report to ``path``; the format follows the extension (.html .pdf .json .md)."""
        from imbreport.render import write_report

        write_report(self, path, **options)

    def model_for(self, strategy: str):
        """Any evaluated strategy fitted on every row, deciding at its own threshold tuned on every
        row by the same procedure (as ``model`` is for the recommended one); ``None`` if it
        cannot be fitted on this data."""
        from imbreport.evaluate import deploy
        from imbreport.registry import check_names

        check_names((strategy,))
        return deploy(self.results.dataset, self.config.analysis, strategy).model

    def _repr_html_(self) -> str:
        from imbreport.render import render_html

        return render_html(self)


def analyze(
    data,
    *,
    progress=None,
    display_name: str | None = None,
    fail_under: Iterable[Any] = (),
    fail_over: Iterable[Any] = (),
    compare: str | os.PathLike | Mapping[str, Any] | None = None,
    fail_if_worse: bool = False,
    **options: Any,
) -> Report:
    """Evaluate every strategy on ``data`` (a CSV path or a pandas DataFrame) and build the report.

    ``fail_under`` / ``fail_over`` are gate specs such as ``"pr_auc=0.6"`` or
    ``"xgboost.recall=0.8"``; ``compare`` is a previous JSON report (a path or its parsed dict).
    Everything is checked before any file is read or the (slow) evaluation starts.
    """
    # checked before the heavy imports: some of them read the environment (numpy.f2py reads
    # SOURCE_DATE_EPOCH) and would fail first, as a bug instead of a usage error
    config, gates, previous = check_options(options, fail_under, fail_over, compare, fail_if_worse)
    from imbreport.data import build_dataset, frame_sha256, load_dataset
    from imbreport.evaluate import evaluate
    from imbreport.gates import check_segment_values

    started = time.perf_counter()
    if config.analysis.engine == "dask":
        results = _evaluate_on_dask(data, config, display_name, progress)
        return build_report(
            results, config, gates=gates, previous=previous, fail_if_worse=fail_if_worse
        )
    if isinstance(data, str | os.PathLike):
        dataset = load_dataset(os.fspath(data), config.analysis, display_name=display_name)
        dataset = replace(dataset, source_path=display_name or os.fspath(data))
    else:
        dataset = build_dataset(
            data,
            config.analysis,
            source_name=display_name or "dataframe",
            sha256=frame_sha256(data) if hasattr(data, "columns") else "",
        )
    load_seconds = time.perf_counter() - started
    check_segment_values(gates, dataset.roles.segments)
    results = evaluate(dataset, config.analysis, progress=progress)
    report = build_report(
        results, config, gates=gates, previous=previous, fail_if_worse=fail_if_worse
    )
    results.timings["load_seconds"] = round(load_seconds, 3)
    return report


def _evaluate_on_dask(data, config: Config, display_name: str | None, progress):
    """``--engine dask``: the cluster reads and scores the file, the driver fits (``distributed``)."""
    from imbreport.distributed import evaluate_on_dask

    if not isinstance(data, str | os.PathLike):
        raise ConfigError(
            "engine='dask' reads a file or a folder of Parquet files: give its path (a "
            "DataFrame in memory is analysed with the default engine)."
        )
    results = evaluate_on_dask(os.fspath(data), config.analysis, display_name, progress)
    dataset = replace(results.dataset, source_path=display_name or os.fspath(data))
    return replace(results, dataset=dataset)


def check_options(
    options: Mapping[str, Any],
    fail_under: Iterable[Any] = (),
    fail_over: Iterable[Any] = (),
    compare: str | os.PathLike | Mapping[str, Any] | None = None,
    fail_if_worse: bool = False,
):
    """Every option checked, before any data is read: the values (``make_config``), the
    threshold objective's grammar, the gates against the selected strategies, and the previous
    report. Returns the ``Config``, the parsed gates and the previous report (or ``None``)."""
    from imbreport.gates import check_segment_columns, check_selected, parse_gates
    from imbreport.reproducible import source_date
    from imbreport.thresholds import parse_objective

    config = make_config(**options)
    source_date()  # a bad SOURCE_DATE_EPOCH is an error now, not after the run
    analysis = config.analysis
    parse_objective(analysis.threshold_objective, analysis.cost_fp, analysis.cost_fn)
    gates = parse_gates(fail_under, fail_over, None)
    check_selected(gates, analysis.strategies, analysis.score, analysis.only_scores)
    check_segment_columns(gates, analysis.segment)
    if fail_if_worse and compare is None:
        raise ConfigError(
            "--fail-if-worse needs --compare PREVIOUS.json (the run to compare with)."
        )
    return config, gates, read_previous(compare)


def build_report(
    results,
    config: Config,
    *,
    gates: Iterable[Any] = (),
    previous: Mapping[str, Any] | None = None,
    fail_if_worse: bool = False,
) -> Report:
    """The ``Report`` of ``results``: the verdict, its advice and illustration, the gates checked,
    and the changes since ``previous``."""

    from imbreport.compare import compare_reports
    from imbreport.evaluate import deploy
    from imbreport.gates import evaluate_gates
    from imbreport.recommend import build_advice, judge, with_deployment

    verdict = judge(results)
    model = None
    if verdict.recommended.strategy is not None:
        deployed = deploy(results.dataset, config.analysis, verdict.recommended.strategy)
        verdict = with_deployment(results, verdict, deployed.threshold, deployed.features)
        model = deployed.model
    illustration, warnings = _illustration(results, verdict, config)
    report = Report(
        results=results,
        verdict=verdict,
        advice=build_advice(results, verdict),
        config=config,
        tool_version=__version__,
        warnings=results.warnings + warnings,
        illustration=illustration,
        gates=evaluate_gates(
            results, _gated(verdict, config.analysis), gates, segments=verdict.segments
        ),
        created=created_date(today=config.output.timings),
        model=model,
    )
    if previous is None:
        return report
    changes = compare_reports(dict(previous), report.to_dict(), fail_if_worse=fail_if_worse)
    return replace(report, changes=changes)


def _gated(verdict, analysis) -> str | None:
    """What a gate naming no strategy reads: the recommended strategy, or with --only-scores
    the one score column."""
    if analysis.only_scores and len(analysis.score) == 1:
        return analysis.score[0]
    return verdict.recommended.strategy


def _illustration(results, verdict, config: Config):
    """The 2-D illustration (``None`` and a warning when it cannot be drawn: it must never sink
    the report), and the time it took in ``results.timings``."""
    from imbreport.illustrate import illustrate

    started = time.perf_counter()
    illustration, warnings = None, ()
    if config.analysis.only_scores:
        return illustration, warnings  # nothing was fitted: nothing to illustrate
    try:
        illustration = illustrate(
            results.dataset, verdict.recommended.strategy, config.analysis.seed
        )
    except Exception as exc:
        warnings = (f"The 2-D illustrations could not be drawn: {short_error(exc)}",)
    results.timings["illustrate_seconds"] = round(time.perf_counter() - started, 3)
    return illustration, warnings


def read_previous(
    source: str | os.PathLike | Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The previous JSON report to compare with, checked; a path is read, a mapping is used."""
    from imbreport.compare import validate_previous

    if source is None:
        return None
    if isinstance(source, Mapping):
        previous = validate_previous(dict(source), "given as a mapping")
        check_against_schema(previous, "given as a mapping")
        check_numbers(previous, "given as a mapping")
        return previous
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream, parse_constant=_no_constant)
    except OSError as exc:
        raise InputError(f"Cannot read the previous report '{path}': {exc.strerror}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(
            f"The previous report '{path}' is not valid JSON ({why}); give a JSON file written "
            "by imbreport (-o result.json)."
        ) from None
    previous = validate_previous(data, path)
    check_against_schema(previous, path)
    check_numbers(previous, path)
    return previous


def check_numbers(data: dict[str, Any], source: str) -> None:
    """What a schema cannot say about a previous report: every number finite (``1e400`` parses
    as infinity), metrics and their intervals within what a metric can be, counts that fit."""
    problem = _number_problem(data)
    if problem:
        raise InputError(
            f"The previous report '{source}' is not one imbreport wrote: {problem}. Give a JSON "
            "file written by imbreport (-o result.json)."
        )


def _non_finite(node: Any, where: str = "") -> str | None:
    """The path of the first number in ``node`` that is not finite, if any."""
    import math

    if isinstance(node, float) and not math.isfinite(node):
        return where.lstrip("/") or "the top level"
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in children:
        found = _non_finite(value, f"{where}/{key}")
        if found:
            return found
    return None


def _number_problem(data: dict[str, Any]) -> str | None:
    found = _non_finite(data)
    if found:
        return f"{found} is not a finite number"
    dataset = data["dataset"]
    if not 0 <= dataset["positives"] <= dataset["rows_used"]:
        return "dataset.positives is not between 0 and rows_used"
    if not 0 <= dataset["prevalence"] <= 1:
        return "dataset.prevalence is not between 0 and 1"
    rate = dataset.get("sampling_rate", 1)
    if rate is not None and not (isinstance(rate, int | float) and 1e-9 < rate <= 1):
        return "dataset.sampling_rate is not in (0, 1]"
    for strategy in data["strategies"]:
        for table in (strategy.get("metrics") or {}, strategy.get("tuned_metrics") or {}):
            for name, metric in table.items():
                numbers = [metric.get("value"), *(metric.get("ci") or [])]
                if any(isinstance(x, int | float) and not -1 <= x <= 1000 for x in numbers):
                    return f"{strategy['name']}'s {name} is outside what the metric can be"
    return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def check_against_schema(data: Any, source: str) -> None:
    """Check a previous report against the shipped JSON Schema, leniently about what a newer
    minor version may add (unknown keys, fields a later version requires) and strictly about the
    type of every value present: a string metric, a one-element interval, a nested object where
    a number belongs are an ``InputError`` now, not a crash after the run."""
    from importlib import resources

    import jsonschema

    schema = json.loads((resources.files("imbreport") / "schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(_lenient(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise InputError(
            f"The previous report '{source}' does not match imbreport's JSON schema at {where}: "
            f"{error.message[:200]}. Give a JSON file written by imbreport (-o result.json)."
        )


def _lenient(node: Any) -> Any:
    """``node`` without ``additionalProperties: false``, ``const`` and ``required`` lists, except
    in a metric (value and interval must both be there)."""
    if isinstance(node, list):
        return [_lenient(item) for item in node]
    if not isinstance(node, dict):
        return node
    keep_required = set(node.get("required", ())) == {"value", "ci"}
    return {
        key: _lenient(value)
        for key, value in node.items()
        if not (key == "additionalProperties" and value is False)
        and not (key == "required" and not keep_required)
        and key != "const"  # the schema version: validate_previous checks the major version
    }
