"""The run's options, split by what they change, and checked in one place before any file is read.

``AnalysisOptions`` change what is computed (how the data is read, the protocol, the seed);
``OutputOptions`` change only how the report is written (paper size, run timings). ``Config``
holds both, as the report's appendix and JSON ``config`` block show them. ``make_config`` checks
every option value against its declared constraint (like imbalanced-learn's
``_parameter_constraints``), for the CLI and the Python API alike; the conductor
(``api.check_options``) adds the checks that belong to other modules (the threshold objective's
grammar, the gates, the previous report) before any file is read.
"""

from __future__ import annotations

import math
import numbers
import re
import shlex
from dataclasses import dataclass, field, fields
from typing import Any

from imbreport.errors import ConfigError
from imbreport.registry import STRATEGY_NAMES, check_names

#: 2 GiB of CSV text: about 7M rows, some 12 GB once parsed and fitted.
DEFAULT_MAX_INPUT_SIZE = 2 << 30


@dataclass(frozen=True)
class AnalysisOptions:
    """Every option that changes the results."""

    target: str | None = None
    positive_label: str | None = None
    categorical: tuple[str, ...] = ()
    groups: str | None = None  # a column of group labels (customer, patient…): not a feature
    strategies: tuple[str, ...] | None = None
    folds: int = 5
    repeats: int = 1
    holdout: float | None = None
    seed: int = 42
    n_jobs: int = -1
    threshold_objective: str = "f1"
    cost_fp: float | None = None
    cost_fn: float | None = None
    bootstrap: int = 1000
    sample: int | None = None
    encoding: str | None = None
    sep: str | None = None
    decimal: str = "."
    #: The most bytes read from the data file, and the most its text may have once decompressed.
    max_input_size: int = DEFAULT_MAX_INPUT_SIZE
    #: Columns holding an existing model's scores: leaderboard rows, never features.
    score: tuple[str, ...] = ()
    only_scores: bool = False  # evaluate the score columns alone, fit nothing
    segment: tuple[str, ...] = ()  # columns whose groups of rows get their own figures
    time: str | None = None  # a date/time or ordinal column: forward-chaining splits
    #: Where the heavy work runs: "pandas" (this process and its workers) or "dask" (a Dask
    #: cluster: ``scheduler``'s address, or a local cluster started for the run).
    engine: str = "pandas"
    scheduler: str | None = None


ENGINES = ("pandas", "dask")
#: Options left out of the JSON ``config`` block and the appendix at these values, so that a run
#: that does not use them writes what it wrote before they existed.
SHOWN_WHEN_SET = {
    "engine": "pandas",
    "scheduler": None,
    "score": (),
    "only_scores": False,
    "segment": (),
    "time": None,
}

PAPER_SIZES = ("a4", "letter")


@dataclass(frozen=True)
class OutputOptions:
    """Options that change only how the report is written, never a number in it."""

    paper: str = "a4"
    timings: bool = True


@dataclass(frozen=True)
class Config:
    """All the options of a run: what changes the results, and how the output is written."""

    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    output: OutputOptions = field(default_factory=OutputOptions)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``config`` block: every option by its name, analysis options first."""
        out = {}
        for part in (self.analysis, self.output):
            for f in fields(part):
                value = getattr(part, f.name)
                if f.name in SHOWN_WHEN_SET and value == SHOWN_WHEN_SET[f.name]:
                    continue
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


#: Declared ranges of the numeric options: name → (lowest, highest), ``None`` for no bound.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "folds": (2, 20),
    "repeats": (1, 20),
    "holdout": (0.05, 0.95),
    "bootstrap": (100, 10_000),
    "sample": (100, None),
    "cost_fp": (0, 1e12),
    "cost_fn": (0, 1e12),
    "seed": (0, 2**32 - 1),
    "n_jobs": (-1, 1024),
    "max_input_size": (1, None),
}
INTEGER_OPTIONS = frozenset(
    {"folds", "repeats", "bootstrap", "sample", "seed", "n_jobs", "max_input_size"}
)
OPTION_NAMES = tuple(f.name for f in fields(AnalysisOptions)) + tuple(
    f.name for f in fields(OutputOptions)
)


def make_config(**options: Any) -> Config:
    """A checked ``Config`` from keyword options (the CLI's and the API's), or a ``ConfigError``
    that says what was expected: unknown names, values out of range, unknown strategies, an
    objective that cannot be parsed."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ConfigError(
            f"Unknown option(s): {', '.join(unknown)}. Valid options: "
            f"{', '.join(sorted(OPTION_NAMES))}."
        )
    for key in ("categorical", "strategies", "score", "segment"):
        if isinstance(options.get(key), list | str):
            value = options[key]
            options[key] = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    if options.get("max_input_size") is not None:
        options["max_input_size"] = parse_size(options["max_input_size"])
    for name, (low, high) in RANGES.items():
        _check_range(name, options.get(name), low, high)
        if name in INTEGER_OPTIONS and options.get(name) is not None:
            if not isinstance(options[name], numbers.Integral):
                raise ConfigError(f"Option '{name}' must be a whole number, got {options[name]!r}.")
    if "paper" in options:
        options["paper"] = _check_paper(options["paper"])
    if options.get("engine") is not None or options.get("scheduler") is not None:
        options["engine"] = _check_engine(
            options.get("engine") or "pandas", options.get("scheduler")
        )
    output_names = {f.name for f in fields(OutputOptions)}
    analysis = AnalysisOptions(**{k: v for k, v in options.items() if k not in output_names})
    output = OutputOptions(**{k: v for k, v in options.items() if k in output_names})
    if analysis.strategies is not None:
        check_names(analysis.strategies)
    _check_roles(analysis)
    return Config(analysis, output)


def _check_roles(options: AnalysisOptions) -> None:
    """Score, segment and time options that cannot go together."""
    if options.only_scores and not options.score:
        raise ConfigError("--only-scores evaluates score columns: name at least one with --score.")
    if options.only_scores and options.strategies is not None:
        raise ConfigError(
            "--only-scores fits nothing, so --strategies has nothing to choose: drop one of them."
        )
    if options.time is not None and options.groups is not None:
        raise ConfigError(
            "--time and --groups cannot be combined: a time split keeps the order of rows, a "
            "group split keeps rows together; choose the one your review needs."
        )
    if options.time is not None and options.repeats > 1:
        raise ConfigError(
            "--repeats needs random splits; with --time the splits follow the time order and "
            "would repeat identically."
        )
    seen: dict[str, str] = {}
    named = [(c, "--score") for c in options.score] + [(c, "--segment") for c in options.segment]
    named += [(c, f"--{o}") for c, o in ((options.time, "time"), (options.groups, "groups")) if c]
    for column, option in named:
        if column in seen:
            raise ConfigError(
                f"Column '{column}' is given to {seen[column]} and {option}; give each column "
                "one role."
                if seen[column] != option
                else f"Column '{column}' is given to {option} twice."
            )
        seen[column] = option
    clashing = [c for c in options.score if c in STRATEGY_NAMES or "." in c or "[" in c]
    if clashing:
        raise ConfigError(
            f"Score column '{clashing[0]}' cannot be used under that name: it is a strategy's "
            "name, or holds '.' or '[' which gates use to separate names. Rename the column."
        )


def _check_range(name: str, value: Any, low: float | None, high: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"Option '{name}' must be a finite number, got {value!r}.")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"Option '{name}' must be {bounds}, got {value!r}.")


#: Options that change no number (how many processes fit the models; the input size guard).
NOT_IN_COMMAND = frozenset({"n_jobs", "max_input_size", "target", "positive_label", "scheduler"})


def command_line(options: AnalysisOptions, data: str, *, target: str, positive_label: str) -> str:
    """``imbreport analyze DATA …`` with every option that changes the results, defaults
    resolved and spelled out, quoted for a POSIX shell (the appendix's "reproduce this run")."""
    words = ["imbreport", "analyze", data, "--target", target, "--positive-label", positive_label]
    for f in fields(AnalysisOptions):
        value = getattr(options, f.name)
        if f.name in NOT_IN_COMMAND or value is None or value == ():
            continue
        if f.name in SHOWN_WHEN_SET and value == SHOWN_WHEN_SET[f.name]:
            continue
        flag = "--" + f.name.replace("_", "-")
        if value is False:
            continue
        if value is True:
            words.append(flag)
        elif f.name in ("categorical", "score", "segment"):
            for column in value:
                words += [flag, column]
        elif f.name == "strategies":
            words += [flag, ",".join(value)]
        else:
            words += [flag, _number_text(value)]
    return " ".join(shlex.quote(str(word)) for word in words)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_size(size: int) -> str:
    """``size`` bytes in the units ``--max-input-size`` takes (1K = 1,024 bytes)."""
    for unit, power in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << power and size % (1 << power) == 0:
            return f"{size >> power}{unit}"
    return f"{size:,} bytes"


def parse_size(text: Any) -> int:
    """``--max-input-size``'s value in bytes: a whole number with an optional unit K, M, G or T
    (powers of 1,024), e.g. ``500M`` or ``16G``; a ``ConfigError`` otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ConfigError(
            f"Option 'max_input_size' must be a size such as 500M or 16G, got {text!r}."
        )
    number, unit = int(match.group(1)), match.group(2).upper()
    return number << (10 * " KMGT".index(unit)) if unit else number


def _check_paper(value: Any) -> str:
    text = str(value).lower()
    if text not in PAPER_SIZES:
        raise ConfigError(f"Option 'paper' must be one of {', '.join(PAPER_SIZES)}, got {value!r}.")
    return text


def _check_engine(value: Any, scheduler: Any) -> str:
    text = str(value).lower()
    if text not in ENGINES:
        raise ConfigError(f"Option 'engine' must be one of {', '.join(ENGINES)}, got {value!r}.")
    if scheduler is not None and text != "dask":
        raise ConfigError(
            f"--scheduler {scheduler} connects to a Dask cluster; it needs --engine dask."
        )
    return text
