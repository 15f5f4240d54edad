"""The Python API, mirroring the CLI: ``analyze(data, target=..., **options) -> Report``."""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from imbreport import __version__
from imbreport.errors import ConfigError
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


def analyze(data, *, progress=None, display_name: str | None = None, **options: Any) -> Report:
    """Evaluate every strategy on ``data`` (a CSV path or a pandas DataFrame) and build the report."""
    from imbreport.data import build_dataset, load_dataset
    from imbreport.evaluate import evaluate

    config = make_config(**options)
    if isinstance(data, str | os.PathLike):
        dataset = load_dataset(os.fspath(data), config, display_name=display_name)
    else:
        dataset = build_dataset(data, config, source_name=display_name or "dataframe")
    results = evaluate(dataset, config, progress=progress)
    return build_report(results, config)


def build_report(results, config: Config) -> Report:
    from imbreport.recommend import build_advice

    return Report(
        results=results,
        advice=build_advice(results),
        config=config,
        tool_version=__version__,
        created=created_date(),
    )


def created_date() -> str | None:
    """The report date: only from ``SOURCE_DATE_EPOCH`` (no wall clock in reproducible output)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    import datetime

    try:
        moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    except (ValueError, OverflowError):
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a Unix timestamp, got '{epoch}'.") from None
    return moment.strftime("%Y-%m-%d")
