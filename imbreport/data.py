"""Loading a labelled CSV into a validated ``Dataset``.

Owns everything between the bytes on disk and the model-ready table: compression, encoding,
delimiter, header checks, choosing the target and the positive class, deciding which columns are
features (numeric or categorical) and which are dropped, and counting every dropped row and column.
Every problem a user can fix raises ``InputError`` with a message naming the column or value.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import os
import re
from collections import Counter

import numpy as np
import pandas as pd

from imbreport.errors import InputError
from imbreport.model import Config, Dataset

TARGET_NAMES = ("target", "label", "class", "y")
MIN_POSITIVES = 2
FEW_POSITIVES = 10
SNIFF_BYTES = 64 * 1024
_DATE_PATTERN = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")
_ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|index|row)(_|\b|$)", re.IGNORECASE)


def load_dataset(path: str, config: Config, display_name: str | None = None) -> Dataset:
    """Read ``path`` and return the validated ``Dataset`` described by ``config``."""
    raw = _read_bytes(path)
    name = display_name if display_name is not None else os.path.basename(path)
    text_head, compression = _head_text(raw)
    encoding = config.encoding or _detect_encoding(raw, compression)
    warnings: list[str] = []
    if config.encoding is None and encoding != "utf-8-sig":
        warnings.append(f"The file is not valid UTF-8; it was read as {encoding}.")
    head = _decode(text_head, encoding)
    sep = config.sep or _sniff_separator(head)
    header = _read_header(head, sep)
    frame = _read_frame(raw, compression, encoding, sep, config.decimal, header)
    return build_dataset(
        frame,
        config,
        source_name=name,
        sha256=hashlib.sha256(raw).hexdigest(),
        warnings=warnings,
        raw_target=lambda col: _read_target_as_text(raw, compression, encoding, sep, col),
    )


def build_dataset(
    frame: pd.DataFrame,
    config: Config,
    *,
    source_name: str = "dataframe",
    sha256: str = "",
    warnings: list[str] | None = None,
    raw_target=None,
) -> Dataset:
    """Turn an already-read table into a ``Dataset`` (used by the CSV loader and the Python API)."""
    warnings = list(warnings or [])
    if frame.shape[1] < 2:
        raise InputError(
            f"The data has {frame.shape[1]} column(s); at least one feature column and one "
            "target column are needed. If the file uses another delimiter, pass --sep."
        )
    if len(frame) == 0:
        raise InputError("The data has a header but no rows.")
    _check_duplicate_columns([str(c) for c in frame.columns])
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    target, chosen_by = _choose_target(list(frame.columns), config.target)
    rows_read = len(frame)

    labels = _target_labels(frame[target], raw_target, target)
    missing_label = labels.isna()
    rows_dropped: dict[str, int] = {}
    if missing_label.any():
        rows_dropped["missing label"] = int(missing_label.sum())
        frame = frame.loc[~missing_label.to_numpy()]
        labels = labels[~missing_label]
    if len(labels) == 0:
        raise InputError(f"Every value of the target column '{target}' is missing.")

    counts = Counter(labels.tolist())
    _check_target_kind(frame[target], counts, target)
    positive, negative = _choose_positive(counts, config.positive_label, target)
    y = (labels.to_numpy() == positive).astype(np.int8)
    class_counts = {label: int(n) for label, n in sorted(counts.items(), key=lambda kv: -kv[1])}
    positives = int(y.sum())
    if positives < MIN_POSITIVES:
        raise InputError(
            f"Only {positives} row(s) of the positive class '{positive}' in column '{target}'; "
            f"at least {MIN_POSITIVES} are needed to evaluate anything (class counts: "
            f"{_counts_text(class_counts)})."
        )
    if positives == len(y):
        raise InputError(
            f"Every row has the positive label '{positive}'; there is nothing to tell apart."
        )
    if positives <= FEW_POSITIVES:
        warnings.append(
            f"Only {positives} positive rows: every figure rests on very few positives, the "
            "intervals are wide and the results are unstable."
        )

    features = frame.drop(columns=[target])
    X, numeric, categorical, dropped, feature_warnings = prepare_features(
        features, config.categorical
    )
    warnings.extend(feature_warnings)
    if not numeric and not categorical:
        reasons = "; ".join(f"'{c}': {r}" for c, r in dropped.items()) or "none given"
        raise InputError(f"No usable feature columns are left after dropping ({reasons}).")

    sampling_rate = 1.0
    if config.sample is not None and config.sample < len(y):
        X, y, sampling_rate = _sample_negatives(X, y, config.sample, config.seed)
        rows_dropped["sampled out (--sample)"] = rows_read - sum(rows_dropped.values()) - len(y)
        warnings.append(
            f"--sample {config.sample}: every positive kept, {sampling_rate:.2%} of negatives kept. "
            "Prevalence-dependent figures (precision, PR-AUC, accuracy) describe the sample."
        )
        class_counts = {
            positive: int(y.sum()),
            **{negative: int(len(y) - y.sum())},
        }

    return Dataset(
        X=X,
        y=y,
        source_name=source_name,
        target=target,
        target_chosen_by=chosen_by,
        positive_label=positive,
        negative_label=negative,
        class_counts=class_counts,
        rows_read=rows_read,
        rows_dropped=rows_dropped,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        dropped_columns=dropped,
        missing={c: int(n) for c, n in X.isna().sum().items() if n},
        sha256=sha256,
        warnings=tuple(warnings),
        sampling_rate=sampling_rate,
    )


# --- reading bytes -----------------------------------------------------------------------------


def _read_bytes(path: str) -> bytes:
    if not os.path.exists(path):
        raise InputError(f"The data file '{path}' does not exist.")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder; give the path of a CSV file.")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise InputError(f"The data file '{path}' cannot be read: {exc.strerror}.") from None
    if not raw.strip():
        raise InputError(f"The data file '{path}' is empty.")
    return raw


def _head_text(raw: bytes) -> tuple[bytes, str | None]:
    """The first bytes of the (decompressed) file, and the compression pandas should use."""
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
                head = handle.read(SNIFF_BYTES)
        except (OSError, EOFError):
            raise InputError("The file looks gzip-compressed but cannot be decompressed.") from None
        compression = "gzip"
    else:
        head, compression = raw[:SNIFF_BYTES], None
    if b"\x00" in head:
        raise InputError("The file is not a CSV text file (it contains binary data).")
    return head, compression


def _full_text_bytes(raw: bytes, compression: str | None) -> bytes:
    if compression == "gzip":
        return gzip.decompress(raw)
    return raw


def _detect_encoding(raw: bytes, compression: str | None) -> str:
    try:
        _full_text_bytes(raw, compression).decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "latin-1"


def _decode(head: bytes, encoding: str) -> str:
    try:
        text = head.decode(encoding, errors="strict")
    except UnicodeDecodeError:
        # the head may cut a multi-byte character in half
        text = head[:-4].decode(encoding, errors="ignore")
    except LookupError:
        raise InputError(f"Unknown encoding '{encoding}' (try utf-8 or latin-1).") from None
    return text.lstrip("\ufeff")


def _sniff_separator(head: str) -> str:
    lines = head.splitlines()[:50]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"} if lines else {}
        best = max(counts, key=counts.get) if counts else ","
        return best if counts.get(best) else ","


def _read_header(head: str, sep: str) -> list[str]:
    reader = csv.reader(io.StringIO(head), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("The file has no header row.") from None
    except csv.Error as exc:
        raise InputError(f"The header row cannot be parsed: {exc}.") from None
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise InputError(
            f"Only one column was found with the delimiter {sep!r}; pass --sep if the file "
            "uses another delimiter."
        )
    blanks = [i + 1 for i, h in enumerate(header) if not h]
    if blanks:
        raise InputError(f"The header has empty column name(s) at position(s) {blanks}.")
    _check_duplicate_columns(header)
    return header


def _check_duplicate_columns(names: list[str]) -> None:
    duplicates = sorted(n for n, c in Counter(names).items() if c > 1)
    if duplicates:
        listed = ", ".join(f"'{d}'" for d in duplicates)
        raise InputError(f"Duplicate column names: {listed}. Rename them so each is unique.")


def _read_frame(
    raw: bytes, compression: str | None, encoding: str, sep: str, decimal: str, header: list[str]
) -> pd.DataFrame:
    text = _full_text_bytes(raw, compression)
    try:
        frame = pd.read_csv(
            io.BytesIO(text),
            sep=sep,
            encoding=encoding,
            decimal=decimal,
            engine="c",
            on_bad_lines="error",
            low_memory=False,
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        raise InputError("The file has no header row.") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(_parse_error_message(exc)) from None
    frame.columns = header
    _check_short_rows(text, encoding, sep, len(header), frame)
    return frame


def _parse_error_message(exc: Exception) -> str:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if match:
        expected, line, saw = match.groups()
        return (
            f"Line {line} has {saw} fields but the header has {expected}. Check the delimiter "
            "(--sep) and the quoting of that line."
        )
    return f"The file cannot be parsed as CSV: {str(exc).strip()}"


def _check_short_rows(
    text: bytes, encoding: str, sep: str, width: int, frame: pd.DataFrame
) -> None:
    """pandas pads rows with too few fields with NaN; find them and report the line number."""
    last = frame.iloc[:, -1]
    if not last.isna().any():
        return
    reader = csv.reader(io.StringIO(text.decode(encoding, errors="replace")), delimiter=sep)
    for line_number, row in enumerate(reader, start=1):
        if row and len(row) < width:
            raise InputError(
                f"Line {reader.line_num} has {len(row)} fields but the header has {width}. "
                "Check the delimiter (--sep) and the quoting of that line."
            )
        del line_number


def _read_target_as_text(
    raw: bytes, compression: str | None, encoding: str, sep: str, column: str
) -> pd.Series:
    """Re-read one column as text so that labels such as ``NA`` or ``None`` stay labels."""
    values = pd.read_csv(
        io.BytesIO(_full_text_bytes(raw, compression)),
        sep=sep,
        encoding=encoding,
        usecols=[column],
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )[column]
    return values.str.strip().replace("", np.nan)


# --- target and positive class -----------------------------------------------------------------


def _choose_target(columns: list[str], requested: str | None) -> tuple[str, str]:
    if requested is not None:
        if requested in columns:
            return requested, "--target"
        lowered = {c.lower(): c for c in columns}
        if requested.lower() in lowered:
            closest = [lowered[requested.lower()]]
        else:
            closest = difflib.get_close_matches(requested, columns, n=1, cutoff=0.5)
        hint = f" Did you mean '{closest[0]}'?" if closest else ""
        listed = ", ".join(f"'{c}'" for c in columns[:30])
        more = f" and {len(columns) - 30} more" if len(columns) > 30 else ""
        raise InputError(
            f"The target column '{requested}' is not in the file.{hint} Available columns: "
            f"{listed}{more}."
        )
    for name in TARGET_NAMES:
        for column in columns:
            if column.strip().lower() == name:
                return column, f"named '{column}'"
    return columns[-1], "last column"


def _target_labels(series: pd.Series, raw_target, target: str) -> pd.Series:
    """Labels as strings; ``NaN`` only where the cell was really empty."""
    if series.isna().any() and raw_target is not None:
        series = raw_target(target)
        series.index = range(len(series))
    if pd.api.types.is_bool_dtype(series):
        return series.map(lambda v: str(bool(v)))
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if len(finite) and np.all(np.mod(finite, 1) == 0):
            return series.map(lambda v: v if pd.isna(v) else str(int(v)))
        return series.map(lambda v: v if pd.isna(v) else repr(float(v)))
    return series.map(lambda v: v if pd.isna(v) else str(v).strip())


def _check_target_kind(column: pd.Series, counts: Counter, target: str) -> None:
    if len(counts) == 1:
        (only,) = counts
        raise InputError(
            f"The target column '{target}' has a single class ('{only}', {counts[only]} rows); "
            "two classes are needed."
        )
    numeric = pd.to_numeric(column.dropna(), errors="coerce")
    if len(counts) > 2 and numeric.notna().all():
        if not np.all(np.mod(numeric, 1) == 0) or len(counts) > 50:
            raise InputError(
                f"The target column '{target}' looks continuous ({len(counts)} distinct numeric "
                "values). imbreport needs a class label; choose another column with --target or "
                "bin this one into classes first."
            )


def _choose_positive(counts: Counter, requested: str | None, target: str) -> tuple[str, str]:
    labels = list(counts)
    if requested is not None:
        requested = str(requested)
        if requested not in counts:
            alternatives = {str(_normalise_label(k)): k for k in labels}
            match = alternatives.get(str(_normalise_label(requested)))
            if match is None:
                raise InputError(
                    f"--positive-label '{requested}' is not a value of the target column "
                    f"'{target}'. Its classes are: {_counts_text(counts)}."
                )
            requested = match
        others = [lab for lab in labels if lab != requested]
        negative = others[0] if len(others) == 1 else "rest"
        return requested, negative
    if len(labels) > 2:
        raise InputError(
            f"The target column '{target}' has {len(labels)} classes ({_counts_text(counts)}). "
            "Pass --positive-label to evaluate one class against the rest."
        )
    ordered = sorted(labels, key=lambda lab: (counts[lab], str(lab)))
    return ordered[0], ordered[1]


def _normalise_label(value: str):
    text = str(value).strip().lower()
    try:
        number = float(text)
        return int(number) if number.is_integer() else number
    except ValueError:
        return text


def _counts_text(counts) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"'{k}': {v}" for k, v in items[:12]) + (" …" if len(items) > 12 else "")


# --- features ----------------------------------------------------------------------------------


def prepare_features(
    features: pd.DataFrame, forced_categorical: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, list[str], list[str], dict[str, str], list[str]]:
    """Decide which columns are numeric, categorical or dropped (with a reason for each drop)."""
    unknown = [c for c in forced_categorical if c not in features.columns]
    if unknown:
        raise InputError(
            f"--categorical names column(s) not among the features: {', '.join(unknown)}."
        )
    n_rows = len(features)
    numeric: list[str] = []
    categorical: list[str] = []
    dropped: dict[str, str] = {}
    warnings: list[str] = []
    columns = {}
    for name in features.columns:
        column = features[name]
        non_null = column.dropna()
        if len(non_null) == 0:
            dropped[name] = "all values missing"
            continue
        if name in forced_categorical:
            columns[name] = _as_category_text(column)
            categorical.append(name)
            continue
        if pd.api.types.is_bool_dtype(column) or _is_bool_text(non_null):
            columns[name] = _as_category_text(column)
            categorical.append(name)
            continue
        if pd.api.types.is_numeric_dtype(column):
            values = column.astype("float64")
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                warnings.append(
                    f"Column '{name}': {int(infinite.sum())} infinite value(s) treated as missing."
                )
                values = values.mask(infinite)
            if values.nunique(dropna=True) <= 1:
                dropped[name] = "constant"
                continue
            if _looks_like_identifier(name, values, n_rows):
                dropped[name] = "unique per row: looks like a row identifier (possible leakage)"
                continue
            columns[name] = values
            numeric.append(name)
            continue
        text = non_null.astype(str)
        if text.nunique() <= 1:
            dropped[name] = "constant"
            continue
        if _looks_like_dates(text):
            dropped[name] = "dates are not used as features"
            continue
        if text.nunique() == n_rows and n_rows >= 20:
            if text.str.len().mean() > 30:
                dropped[name] = "free text is not used as a feature"
            else:
                dropped[name] = "unique per row: looks like a row identifier (possible leakage)"
            continue
        if text.str.len().mean() > 50 and text.nunique() > 0.5 * len(text):
            dropped[name] = "free text is not used as a feature"
            continue
        columns[name] = _as_category_text(column)
        categorical.append(name)
    identifier_drops = [c for c, r in dropped.items() if "identifier" in r]
    if identifier_drops:
        warnings.append(
            "Dropped identifier-like column(s) "
            + ", ".join(f"'{c}'" for c in identifier_drops)
            + ": a value unique to each row lets a model memorise rows (leakage)."
        )
    X = pd.DataFrame(columns, index=features.index)
    X.index = range(len(X))
    return X, numeric, categorical, dropped, warnings


def _as_category_text(column: pd.Series) -> pd.Series:
    return column.map(lambda v: v if pd.isna(v) else str(v)).astype(object)


def _is_bool_text(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    return set(values.astype(str).str.strip().str.lower().unique()) <= {"true", "false"}


def _looks_like_identifier(name: str, values: pd.Series, n_rows: int) -> bool:
    if n_rows < 20 or values.nunique() != n_rows:
        return False
    finite = values.dropna().to_numpy()
    if not np.all(np.mod(finite, 1) == 0):
        return False
    steps = np.diff(finite)
    return bool(_ID_NAME.search(name)) or bool(np.all(steps > 0) or np.all(steps < 0))


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.head(200)
    return bool(sample.str.match(_DATE_PATTERN).mean() >= 0.9)


def _sample_negatives(X: pd.DataFrame, y: np.ndarray, size: int, seed: int):
    positives = np.flatnonzero(y == 1)
    negatives = np.flatnonzero(y == 0)
    keep_negatives = max(size - len(positives), min(len(negatives), 2 * len(positives)))
    keep_negatives = min(keep_negatives, len(negatives))
    rng = np.random.default_rng(seed)
    chosen = np.sort(
        np.concatenate([positives, rng.choice(negatives, keep_negatives, replace=False)])
    )
    X = X.iloc[chosen].reset_index(drop=True)
    return X, y[chosen], keep_negatives / len(negatives)
