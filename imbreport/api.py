"""The Python API, mirroring the CLI: ``analyze(data, target=..., **options) -> Report``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any

from imbreport import __version__
from imbreport.errors import ConfigError, InputError
from imbreport.model import Config, Report


def make_config(**options: Any) -> Config:
    """A ``Config`` from keyword options; unknown names are an error that lists the valid ones."""
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"Unknown option(s): {', '.join(unknown)}. Valid options: {', '.join(sorted(known))}."
        )
    for key in ("categorical", "strategies"):
        if isinstance(options.get(key), list | str):
            value = options[key]
            options[key] = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    return Config(**options)


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
    Everything is checked before the (slow) evaluation starts.
    """
    from imbreport.data import build_dataset, load_dataset
    from imbreport.evaluate import evaluate
    from imbreport.gates import check_selected, parse_gates
    from imbreport.strategies import STRATEGIES

    config = make_config(**options)
    gates = parse_gates(fail_under, fail_over, tuple(STRATEGIES))
    check_selected(gates, config.strategies)
    if fail_if_worse and compare is None:
        raise ConfigError(
            "--fail-if-worse needs --compare PREVIOUS.json (the run to compare with)."
        )
    previous = read_previous(compare)
    started = time.perf_counter()
    if isinstance(data, str | os.PathLike):
        dataset = load_dataset(os.fspath(data), config, display_name=display_name)
    else:
        dataset = build_dataset(data, config, source_name=display_name or "dataframe")
    load_seconds = time.perf_counter() - started
    results = evaluate(dataset, config, progress=progress)
    results.timings["load_seconds"] = round(load_seconds, 3)
    return build_report(
        results, config, gates=gates, previous=previous, fail_if_worse=fail_if_worse
    )


def build_report(
    results,
    config: Config,
    *,
    gates: Iterable[Any] = (),
    previous: Mapping[str, Any] | None = None,
    fail_if_worse: bool = False,
) -> Report:
    """The ``Report`` of ``results``: advice, the gates checked, and the changes since ``previous``."""
    from imbreport.compare import compare_reports
    from imbreport.gates import evaluate_gates
    from imbreport.recommend import build_advice

    report = Report(
        results=results,
        advice=build_advice(results),
        config=config,
        tool_version=__version__,
        gates=evaluate_gates(results, gates),
        created=created_date(),
    )
    if previous is None:
        return report
    changes = compare_reports(dict(previous), report.to_dict(), fail_if_worse=fail_if_worse)
    return replace(report, changes=changes)


def read_previous(
    source: str | os.PathLike | Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The previous JSON report to compare with, checked; a path is read, a mapping is used."""
    from imbreport.compare import validate_previous

    if source is None:
        return None
    if isinstance(source, Mapping):
        return validate_previous(dict(source), "given as a mapping")
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as exc:
        raise InputError(f"Cannot read the previous report '{path}': {exc.strerror}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"The previous report '{path}' is not valid JSON ({exc}); give a JSON file written "
            "by imbreport (-o result.json)."
        ) from None
    return validate_previous(data, path)


def source_date():
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime, or ``None``: reproducible output shows
    no wall-clock time, only the date a build system asks for."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    import datetime

    try:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a Unix timestamp, got '{epoch}'.") from None


def created_date() -> str | None:
    """The report date (``YYYY-MM-DD``), only from ``SOURCE_DATE_EPOCH``."""
    moment = source_date()
    return None if moment is None else moment.strftime("%Y-%m-%d")
