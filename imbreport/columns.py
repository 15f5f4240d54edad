"""Columns with a role other than feature: a model's scores (``--score``), segments
(``--segment``) and time order (``--time``), read and checked from the loaded table.

A score column and the time column are never features (a score is the answer, a date lets the
future train the past); a segment column stays a feature when it is usable as one, and is also
kept here as one label per row. Every problem is an ``InputError`` that names the column.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from imbreport.errors import InputError
from imbreport.model import RoleColumns

#: A numeric segment column with more distinct values than this is cut into quantile bins.
MAX_SEGMENT_VALUES = 12
#: A text segment column with more distinct values than this is an identifier, not segments.
MAX_SEGMENT_GROUPS = 200
#: Quantile bins of a numeric segment column.
SEGMENT_BINS = 4
#: Names that suggest a date or time (for the "use --time" hint on numeric columns).
_TIME_NAME = re.compile(
    r"(^|_|\b)(date|time|timestamp|datetime|ts|day|month|year|week|period)(_|\b|$)",
    re.IGNORECASE,
)


def drop_roles(frame: pd.DataFrame, scores: tuple[str, ...], time: str | None) -> pd.DataFrame:
    """The table without the columns that must never be features (scores, time)."""
    never = [c for c in (*scores, *([time] if time else [])) if c in frame.columns]
    return frame.drop(columns=never) if never else frame


def read_roles(
    frame: pd.DataFrame,
    target: str,
    scores: tuple[str, ...],
    segments: tuple[str, ...],
    time: str | None,
) -> RoleColumns:
    """The role columns of ``frame`` (rows already filtered to labelled ones), checked."""
    for column in (*scores, *segments, *([time] if time else [])):
        _check_present(frame, column, target)
    values = {c: _score_values(frame[c], c) for c in scores}
    score_kinds = {
        c: "probability" if bool(((v >= 0) & (v <= 1)).all()) else "score"
        for c, v in values.items()
    }
    labels, kinds = {}, {}
    for column in segments:
        labels[column], kinds[column] = _segment_labels(frame[column])
    order, time_kind = _time_values(frame[time], time) if time else (None, None)
    return RoleColumns(values, score_kinds, labels, kinds, order, time_kind, time)


def time_hint(frame: pd.DataFrame, dropped: dict[str, str], time: str | None) -> str | None:
    """The warning that random splits let the future train the past, when a column looks like
    a date or time and ``--time`` was not given."""
    if time is not None:
        return None
    dated = [c for c, reason in dropped.items() if "dates" in reason]
    named = [
        c
        for c in frame.columns
        if c not in dated and _TIME_NAME.search(str(c)) and pd.api.types.is_numeric_dtype(frame[c])
    ]
    found = dated + named
    if not found:
        return None
    return (
        f"Column '{found[0]}' looks like a date or time, but the rows were split at random: "
        "models learned from rows later than those they were evaluated on, which flatters "
        "them if the data drift. If rows are events in time, rerun with "
        f"--time {found[0]} (every evaluated row later than every row its model learned from)."
    )


def _check_present(frame: pd.DataFrame, column: str, target: str) -> None:
    if column == target:
        raise InputError(
            f"'{column}' is the target column; it cannot also be a score, segment or time."
        )
    if column not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:20]))
        raise InputError(
            f"Column '{column}' is not in the data. Columns: {shown}"
            f"{' …' if frame.shape[1] > 20 else ''}."
        )


def _score_values(column: pd.Series, name: str) -> np.ndarray:
    """A score column as float64: numbers only, one for every row, all finite."""
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        example = str(column[bad].iloc[0])[:40]
        raise InputError(
            f"Score column '{name}' holds {int(bad.sum()):,} value(s) that are not numbers "
            f"(e.g. '{example}'); a score column holds one number per row, higher meaning more "
            "likely positive."
        )
    values = numbers.to_numpy(dtype=np.float64)
    missing = int(np.isnan(values).sum())
    if missing:
        raise InputError(
            f"Score column '{name}' has no score on {missing:,} row(s); every row needs one "
            "(fill them, or filter those rows out, and say so in the review)."
        )
    if not np.isfinite(values).all():
        raise InputError(f"Score column '{name}' holds infinite values.")
    if np.ptp(values) == 0:
        raise InputError(
            f"Score column '{name}' holds one value ({values[0]:g}) on every row: it ranks nothing."
        )
    return values


def _segment_labels(column: pd.Series) -> tuple[np.ndarray, str]:
    """One label per row, and how they were made: the values of a categorical column (missing
    values become their own segment), or quantile bins of a numeric column."""
    numbers = pd.to_numeric(column, errors="coerce") if column.dtype == object else column
    numeric = pd.api.types.is_numeric_dtype(numbers) and not pd.api.types.is_bool_dtype(numbers)
    if numeric and (numbers.notna().sum() == column.notna().sum()):
        distinct = numbers.dropna().unique()
        if len(distinct) > MAX_SEGMENT_VALUES:
            return _quantile_bins(numbers), f"{SEGMENT_BINS} quantile bins"
        labels = numbers.map(lambda v: "(missing)" if pd.isna(v) else _number_label(v))
        return labels.to_numpy(dtype=object), "values"
    labels = column.astype("string").fillna("(missing)").str.strip()
    distinct = labels.nunique()
    if distinct > MAX_SEGMENT_GROUPS:
        raise InputError(
            f"Segment column '{column.name}' holds {distinct:,} distinct values: too many to be "
            f"segments (at most {MAX_SEGMENT_GROUPS}); it looks like an identifier. Give a column "
            "that groups rows (region, product, channel), or a number to cut into quartiles."
        )
    return labels.to_numpy(dtype=object), "values"


def _quantile_bins(numbers: pd.Series) -> np.ndarray:
    bins = pd.qcut(numbers, SEGMENT_BINS, duplicates="drop")
    labels = np.full(len(numbers), "(missing)", dtype=object)
    present = bins.notna().to_numpy()
    if present.any():
        edges = bins.cat.categories
        # qcut moves the lowest edge 0.1 % below the minimum; the label shows the minimum
        lowest = float(numbers.min())
        names = [
            f"{'[' if i == 0 else '('}{_number_label(lowest if i == 0 else iv.left)}, "
            f"{_number_label(iv.right)}]"
            for i, iv in enumerate(edges)
        ]
        codes = bins.cat.codes.to_numpy()
        labels[present] = np.asarray(names, dtype=object)[codes[present]]
    return labels


def _number_label(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _time_values(column: pd.Series, name: str) -> tuple[np.ndarray, str]:
    """The ``--time`` column as a sortable float64 key: numbers as they are, dates and times
    parsed (nanoseconds since 1970); missing or unreadable values are an error."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        kind = "number"
    else:
        text = column.astype("string")
        parsed = _one_date_format(text, name)
        bad = parsed.isna() & text.notna()
        if parsed.isna().sum() > bad.sum():
            _missing_time(name, int(parsed.isna().sum() - bad.sum()))
        if bad.any():
            example = str(text[bad].iloc[0])[:40]
            raise InputError(
                f"The --time column '{name}' holds {int(bad.sum()):,} value(s) that are neither "
                f"dates nor numbers (e.g. '{example}')."
            )
        values = parsed.dt.as_unit("ns").astype("int64").to_numpy(np.float64)
        kind = "date"
    if np.isnan(values).any():
        _missing_time(name, int(np.isnan(values).sum()))
    return values, kind


def _one_date_format(text: pd.Series, name: str) -> pd.Series:
    """Dates and times parsed with one format for the whole column (ISO 8601, else the format
    pandas infers from the first value); a column mixing formats is an error, since reading
    05/01 as May in one row and January in another would scramble the order."""
    present = text.dropna()
    for fmt in ("ISO8601", None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
                return pd.to_datetime(text, format=fmt, utc=True)
        except (ValueError, TypeError, OverflowError):
            continue
    coerced = pd.to_datetime(present, errors="coerce", format="mixed", utc=True)
    if len(present) and coerced.notna().all():
        raise InputError(
            f"The --time column '{name}' mixes date formats (e.g. '{present.iloc[0]}'): write "
            "every value in one format, ideally ISO 8601 (2024-05-01 or 2024-05-01T13:45)."
        )
    return pd.to_datetime(text, errors="coerce", format="mixed", utc=True)


def _missing_time(name: str, missing: int) -> None:
    raise InputError(
        f"The --time column '{name}' is missing on {missing:,} row(s); every row needs a time "
        "to be put in order."
    )
