"""Loading a labelled CSV into a validated ``Dataset``.

Owns everything between the bytes on disk and the model-ready table: compression, encoding,
delimiter, header checks, choosing the target and the positive class, deciding which columns are
features (numeric or categorical) and which are dropped, and counting every dropped row and column.
Every problem a user can fix raises ``InputError`` (or ``ConfigError`` for a bad option) with a
message naming the column, the value or the line, and what would work instead.

The happy path stays vectorised (pandas' C parser, ``factorize`` on the target); the slower checks
that locate a bad line run only when something already looks wrong. Large files are copied as
little as possible: ASCII text is taken as UTF-8 without decoding it, the file is hashed in a
background thread while pandas parses it, and long numeric columns that need no change go into
``X`` without a copy.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import difflib
import gzip
import hashlib
import io
import lzma
import os
import re
import stat
import warnings as pywarnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbreport.columns import drop_roles, read_roles, time_hint
from imbreport.errors import ConfigError, InputError
from imbreport.grouping import describe as describe_groups
from imbreport.grouping import row_groups
from imbreport.model import Dataset
from imbreport.options import AnalysisOptions, format_size

TARGET_NAMES = ("target", "label", "class", "y")
SEPARATORS = (",", ";", "\t", "|")
MIN_POSITIVES = 2
FEW_POSITIVES = 10
MAX_INTEGER_CLASSES = 50
SNIFF_BYTES = 64 * 1024
SNIFF_ROWS = 100
MIXED_NUMERIC_SHARE = 0.95
#: A numeric column of whole numbers with this few distinct values (and more than two: 0/1 is
#: the same as a category) may hold codes for categories: the dataset section suggests
#: ``--categorical``. Only a column's first ``SNIFF_ROWS`` values are looked at unless they pass.
MAX_CODE_VALUES = 12
#: From this many rows on, ``X`` shares the columns it keeps unchanged instead of copying them into
#: one block (pandas copies a shared column only when either table is written to). Below it the
#: copy is cheap, and one block keeps thousands of columns fast to build and scan.
SHARE_COLUMNS_FROM_ROWS = 10_000
#: Columns with magnitudes beyond 1e±100 are rescaled: their squares would overflow float64.
MAX_MAGNITUDE_EXPONENT = 100
_DATE_PATTERN = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")
_ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|index|row)(_|\b|$)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Text pandas would read as missing; in the target such a label stays a class of its own.
_NA_SPELLINGS = frozenset(
    {"na", "n/a", "nan", "none", "null", "#n/a", "#na", "-nan", "<na>", "nat", "-1.#ind"}
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECOMPRESSORS = {
    b"\x1f\x8b": ("gzip", lambda stream: gzip.GzipFile(fileobj=stream)),
    b"BZh": ("bzip2", bz2.BZ2File),
    b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile),
}
#: Bytes read or decompressed at a time (a size limit is checked after each).
_CHUNK = 8 << 20


@dataclass(frozen=True)
class CsvText:
    """A data file as UTF-8 bytes (no BOM), with the delimiter and decimal mark to parse it."""

    data: bytes
    sep: str
    decimal: str


# --- the two entry points ----------------------------------------------------------------------


def load_dataset(path: str, config: AnalysisOptions, display_name: str | None = None) -> Dataset:
    """Read ``path`` (a CSV file, optionally compressed; a Parquet file or a folder of them) and
    return the validated ``Dataset`` described by ``config``."""
    if is_parquet(path):
        return _load_parquet(path, config, display_name)
    sep, decimal = _delimiter_options(config.sep, config.decimal)
    raw = _read_bytes(path, config.max_input_size)
    with ThreadPoolExecutor(max_workers=1) as background:
        # hashlib releases the GIL, so the file is hashed while it is being parsed
        digest = background.submit(_sha256_hex, raw)
        data, notes = _to_utf8(_decompress(raw, config.max_input_size), config.encoding)
        head = _head(data)
        _check_is_text(head)
        csv_text = CsvText(data, sep or _sniff_separator(head, decimal), decimal)
        header, header_notes = _read_header(csv_text)
        frame = _read_frame(csv_text, header)
        sha256 = digest.result()
    return build_dataset(
        frame,
        config,
        source_name=display_name if display_name is not None else os.path.basename(path),
        sha256=sha256,
        warnings=notes + header_notes,
        raw_target=lambda position: _read_column_as_text(csv_text, position),
    )


def build_dataset(
    frame: pd.DataFrame,
    config: AnalysisOptions,
    *,
    source_name: str = "dataframe",
    sha256: str = "",
    warnings: list[str] | None = None,
    raw_target=None,
) -> Dataset:
    """Turn an already-read table into a ``Dataset`` (used by the CSV loader and the Python API).

    ``raw_target(position)`` may return the target column re-read as text, so that labels pandas
    reads as missing (``NA``, ``None``) can stay labels.
    """
    warnings = list(warnings or [])
    frame = _checked_frame(frame)
    target, chosen_by = _choose_target(frame, config.target)
    rows_read = len(frame)
    position = frame.columns.get_loc(target)
    text_column = (lambda: raw_target(position)) if raw_target is not None else None
    codes, names, label_notes = _target_classes(frame[target], text_column, target)
    warnings.extend(label_notes)

    rows_dropped: dict[str, int] = {}
    labelled = codes >= 0
    if not labelled.all():
        rows_dropped["missing label"] = int((~labelled).sum())
        frame, codes = frame.loc[labelled], codes[labelled]
    where = _where_chosen(chosen_by)
    if len(codes) == 0:
        raise InputError(f"Every value of the target column '{target}' is missing{where}.")
    counts = dict(zip(names, np.bincount(codes, minlength=len(names)).tolist(), strict=True))
    _check_target_kind(names, counts, target, where)
    positive, negative = _choose_positive(counts, config.positive_label, target, where)
    y = (codes == names.index(positive)).astype(np.int8)
    class_counts = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    _check_class_sizes(y, positive, target, class_counts)
    if y.sum() <= FEW_POSITIVES:
        warnings.append(
            f"Only {int(y.sum())} positive rows: every figure rests on very few positives, the "
            "intervals are wide and the results are unstable."
        )

    declared = _group_labels(frame, config.groups, target)
    roles = read_roles(frame, target, config.score, config.segment, config.time)
    features = drop_roles(
        frame.drop(columns=[target] + ([config.groups] if config.groups else [])),
        config.score,
        config.time,
    )
    if config.only_scores:  # nothing is fitted: the other columns are not read as features
        features = features.iloc[:, :0]
    X, numeric, categorical, dropped, feature_warnings = prepare_features(
        features, config.categorical
    )
    warnings.extend(feature_warnings)
    hint = time_hint(features, dropped, config.time)
    warnings.extend([hint] if hint else [])
    if not numeric and not categorical and not config.only_scores:
        reasons = "; ".join(f"'{c}': {r}" for c, r in dropped.items()) or "none given"
        raise InputError(
            f"No usable feature columns are left after dropping ({reasons}). imbreport needs at "
            "least one numeric or categorical column besides the target."
        )

    sampling_rate = 1.0
    if config.sample is not None and config.sample < len(y):
        X, y, sampling_rate, kept = _sample_negatives(X, y, config.sample, config.seed)
        declared = None if declared is None else declared[kept]
        roles = roles.take(kept)
        rows_dropped["sampled out (--sample)"] = rows_read - sum(rows_dropped.values()) - len(y)
        warnings.append(
            f"--sample {config.sample}: every positive kept, {sampling_rate:.2%} of negatives "
            "kept; each kept negative is counted for the negatives it stands for, so the figures "
            "and the tuned thresholds describe the whole file."
        )
        class_counts = {positive: int(y.sum()), negative: int(len(y) - y.sum())}
    groups = row_groups(X, y, declared, config.groups, copies=not config.only_scores)
    warnings.extend(describe_groups(groups, len(y)))
    codes = integer_codes(X, numeric)

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
        group_ids=groups.ids,
        group_column=groups.declared,
        duplicate_rows=groups.duplicate_rows,
        conflicting_copies=groups.conflicting_copies,
        integer_codes=codes,
        roles=roles,
    )


def _group_labels(frame: pd.DataFrame, column: str | None, target: str) -> np.ndarray | None:
    """The ``--groups`` column's values (one group label per row), checked."""
    if column is None:
        return None
    if column == target:
        raise InputError(
            f"--groups '{column}' is the target column; give the column that says which rows "
            "belong together (a customer, patient or device id)."
        )
    if column not in frame.columns:
        raise InputError(
            f"The --groups column '{column}' is not in the data. Columns: "
            f"{', '.join(map(str, frame.columns[:20]))}{' …' if frame.shape[1] > 20 else ''}."
        )
    return frame[column].to_numpy()


def _checked_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.shape[1] < 2:
        raise InputError(
            f"The data has {frame.shape[1]} column(s); at least one feature column and one "
            "target column are needed. If the file uses another delimiter, pass --sep."
        )
    if len(frame) == 0:
        raise InputError("The data has a header but no rows.")
    names = [str(c) for c in frame.columns]
    _check_duplicate_columns(names)
    return frame.set_axis(names, axis=1).reset_index(drop=True)


# --- options -----------------------------------------------------------------------------------


def _delimiter_options(sep: str | None, decimal: str) -> tuple[str | None, str]:
    """``--sep`` and ``--decimal`` checked: one character each, and not the same one."""
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t"}.get(sep.lower(), sep)
        if len(sep) != 1 or not (sep == "\t" or (sep.isascii() and sep.isprintable())):
            raise ConfigError(
                f"--sep must be a single character such as ',', ';', '|' or tab ('\\t'); "
                f"got {sep!r}."
            )
        if sep in "\"'":
            raise ConfigError(f"--sep cannot be the quote character {sep!r}.")
    if len(decimal) != 1 or decimal.isdigit() or decimal in "\"'\t\r\n":
        raise ConfigError(f"--decimal must be one character such as '.' or ','; got {decimal!r}.")
    if sep == decimal:
        raise ConfigError(
            f"--sep and --decimal are both {sep!r}; a file with decimal commas is usually "
            "separated by ';' (try --sep ';' --decimal ',')."
        )
    return sep, decimal


# --- Parquet ------------------------------------------------------------------------------------

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str) -> bool:
    """A ``.parquet`` file, a file that starts with Parquet's magic bytes, or a folder holding
    ``.parquet`` files (a partitioned table)."""
    if os.path.isdir(path):
        return bool(_parquet_parts(path))
    if path.lower().endswith(PARQUET_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_parts(folder: str) -> list[str]:
    """The Parquet files of a folder, at any depth (hive partitions), sorted."""
    parts = []
    for root, _, names in os.walk(folder):
        parts += [os.path.join(root, n) for n in names if n.lower().endswith(PARQUET_SUFFIXES)]
    return sorted(parts)


def _load_parquet(path: str, config: AnalysisOptions, display_name: str | None) -> Dataset:
    """A Parquet table through the same checks and rules as a CSV's frame (``build_dataset``)."""
    import pyarrow.parquet as pq

    parts = _parquet_parts(path) if os.path.isdir(path) else [path]
    if not os.path.exists(path):
        raise InputError(f"The data file '{path}' does not exist.")
    try:
        stored = sum(os.path.getsize(p) for p in parts)
        text = sum(pq.ParquetFile(p).metadata.serialized_size for p in parts)
        expanded = sum(
            meta.row_group(i).total_byte_size
            for meta in (pq.ParquetFile(p).metadata for p in parts)
            for i in range(meta.num_row_groups)
        )
        if max(stored, expanded + text) > config.max_input_size:
            raise InputError(_too_large("The Parquet data, uncompressed,", config.max_input_size))
        frame = pd.read_parquet(path, engine="pyarrow")
    except InputError:
        raise
    except Exception as exc:  # pyarrow's errors have no common base class worth naming
        raise InputError(
            f"'{path}' cannot be read as Parquet ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None
    notes = [
        f"--{name} applies to CSV files; it was ignored for this Parquet data."
        for name, value in (("sep", config.sep), ("encoding", config.encoding))
        if value is not None
    ]
    return build_dataset(
        frame,
        config,
        source_name=display_name
        if display_name is not None
        else os.path.basename(path.rstrip("/")),
        sha256=_parts_sha256(path, parts),
        warnings=notes,
    )


def _parts_sha256(path: str, parts: list[str]) -> str:
    """A file's SHA-256; for a folder, the SHA-256 of each part's relative name and digest."""
    if not os.path.isdir(path):
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    digest = hashlib.sha256()
    for part in parts:
        with open(part, "rb") as handle:
            inner = hashlib.file_digest(handle, "sha256").hexdigest()
        digest.update(f"{os.path.relpath(part, path)}\0{inner}\n".encode())
    return digest.hexdigest()


# --- bytes, compression, encoding --------------------------------------------------------------


def _read_bytes(path: str, limit: int) -> bytes:
    """The file's bytes, at most ``limit`` of them (a device such as /dev/zero, or a pipe, is
    read in chunks and stopped at the limit; a regular file is measured first)."""
    if not os.path.exists(path):
        raise InputError(f"The data file '{path}' does not exist.")
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder; give the path of a CSV file.")
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                if size > limit:
                    raise InputError(_too_large("The data file", limit))
                raw = handle.read()
            else:
                raw = _read_limited(handle, limit, "The data file")
    except OSError as exc:
        raise InputError(f"The data file '{path}' cannot be read: {exc.strerror}.") from None
    if not raw.lstrip():  # same test as strip(), but no copy of a file that starts with text
        raise InputError(f"The data file '{path}' is empty.")
    return raw


def _sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """A SHA-256 of a DataFrame's column names and values (the API's input has no file to hash):
    the same table gives the same digest, a changed value or name another."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode("utf-8", "surrogatepass"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _read_limited(stream, limit: int, what: str) -> bytes:
    """Everything ``stream`` holds, read in chunks into one buffer (held once, not twice), or an
    ``InputError`` as soon as it passes ``limit`` bytes."""
    buffer = io.BytesIO()
    while chunk := stream.read(_CHUNK):
        if buffer.tell() + len(chunk) > limit:
            raise InputError(_too_large(what, limit))
        buffer.write(chunk)
    return buffer.getvalue()  # shares the buffer's bytes (no copy)


def _too_large(what: str, limit: int) -> str:
    return (
        f"{what} is larger than the input size limit of {format_size(limit)}. Pass "
        "--max-input-size with a larger value (e.g. --max-input-size 16G) if the machine has the "
        "memory, or analyse a sample of the rows."
    )


def _decompress(raw: bytes, limit: int) -> bytes:
    """The file's bytes, decompressed when they start with a gzip, bzip2 or xz signature: as a
    stream, stopped with an ``InputError`` when the text passes ``limit`` bytes."""
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(
            "The file is a ZIP archive (an Excel .xlsx workbook is one), not a CSV. Export the "
            "sheet as CSV (or unzip the file) and pass that instead."
        )
    for magic, (kind, opener) in _DECOMPRESSORS.items():
        if raw.startswith(magic):
            try:
                with opener(io.BytesIO(raw)) as stream:
                    data = _read_limited(
                        stream, limit, f"The {kind}-compressed file, decompressed,"
                    )
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
                raise InputError(
                    f"The file looks {kind}-compressed but cannot be decompressed (truncated or "
                    "corrupt)."
                ) from None
            if not data.lstrip():
                raise InputError(f"The {kind}-compressed file is empty.")
            return data
    return raw


def _to_utf8(data: bytes, requested: str | None) -> tuple[bytes, list[str]]:
    """The text as UTF-8 bytes without a BOM, and notes on how it was decoded.

    Without ``--encoding``: a BOM decides, else UTF-8, else Latin-1 (which never fails).
    """
    encoding = _codec_name(requested) if requested else _bom_encoding(data) or "utf-8"
    if codecs.lookup(encoding).name == "utf-8" and data.isascii():
        return data, []  # ASCII is valid UTF-8 without a BOM: nothing to decode or check
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if requested or encoding != "utf-8":
            raise InputError(_decode_error_message(data, exc, requested or encoding)) from None
        text = data.decode("latin-1")
        note = "The file is not valid UTF-8; it was read as Latin-1 (pass --encoding to choose)."
        return text.encode("utf-8"), [note]
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        return data.removeprefix(codecs.BOM_UTF8), []
    return text.removeprefix("\ufeff").encode("utf-8"), []


def _codec_name(requested: str) -> str:
    try:
        return codecs.lookup(requested).name
    except LookupError:
        raise ConfigError(
            f"Unknown encoding '{requested}'. Try utf-8, latin-1, cp1252 or utf-16."
        ) from None


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _decode_error_message(data: bytes, exc: UnicodeDecodeError, encoding: str) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start : exc.start + 1].hex()
    return (
        f"The file is not valid {encoding}: byte 0x{byte} on line {line} cannot be decoded. "
        "Pass the file's real encoding, e.g. --encoding latin-1 or --encoding cp1252."
    )


def _head(data: bytes) -> str:
    """The first complete lines of the text, for sniffing."""
    if len(data) <= SNIFF_BYTES:
        return data.decode("utf-8")
    head = data[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    return head[:cut] if cut > 0 else head


def _check_is_text(head: str) -> None:
    control = len(_CONTROL.findall(head))
    if "\x00" in head or control > max(2, len(head) // 100):
        raise InputError(
            "The file is not a CSV text file (it contains binary data). If it is UTF-16 text "
            "without a byte-order mark, pass --encoding utf-16."
        )


# --- delimiter, header, parsing ----------------------------------------------------------------


def _sniff_separator(head: str, decimal: str) -> str:
    """The candidate delimiter that splits the header widest and every sampled row alike."""
    candidates = [sep for sep in SEPARATORS if sep != decimal]
    return max(candidates, key=lambda sep: _separator_score(head, sep))


def _separator_score(head: str, sep: str) -> tuple[bool, bool, int, int]:
    rows = _sample_rows(head, sep)
    if not rows:
        return (False, False, 0, 0)
    width = len(rows[0])
    agreeing = sum(len(row) == width for row in rows[1:])
    return (width > 1, agreeing == len(rows) - 1, width, agreeing)


def _sample_rows(head: str, sep: str) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(head), delimiter=sep):
            if row and any(field.strip() for field in row):
                rows.append(row)
            if len(rows) >= SNIFF_ROWS:
                break
    except csv.Error:
        pass
    return rows


def _read_header(csv_text: CsvText) -> tuple[list[str], list[str]]:
    """The column names as written (stripped), checked; names for unnamed columns, with a note."""
    stream = io.TextIOWrapper(io.BytesIO(csv_text.data), encoding="utf-8", newline="")
    try:
        rows = csv.reader(stream, delimiter=csv_text.sep)
        header = next((row for row in rows if not _is_blank(row)), None)
    except csv.Error as exc:
        raise InputError(f"The header row cannot be parsed: {exc}.") from None
    if header is None:
        raise InputError("The file has no header row.")
    header = [name.strip().lstrip("\ufeff").strip() for name in header]
    if len(header) < 2:
        raise InputError(
            f"Only one column was found with the delimiter {csv_text.sep!r}; pass --sep if the "
            "file uses another delimiter."
        )
    blanks = [i for i, name in enumerate(header) if not name]
    for i in blanks:
        header[i] = f"unnamed_{i + 1}"
    _check_duplicate_columns(header)
    notes = []
    if blanks:
        listed = ", ".join(header[i] for i in blanks)
        notes.append(
            f"The header has no name for column(s) at position(s) "
            f"{', '.join(str(i + 1) for i in blanks)}; they are called {listed}."
        )
    return header, notes


def _check_duplicate_columns(names: list[str]) -> None:
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(position)
    duplicates = {name: places for name, places in seen.items() if len(places) > 1}
    if duplicates:
        listed = "; ".join(
            f"'{name}' (columns {', '.join(map(str, places))})"
            for name, places in duplicates.items()
        )
        raise InputError(f"Duplicate column names: {listed}. Rename them so each is unique.")


def _read_frame(csv_text: CsvText, header: list[str]) -> pd.DataFrame:
    """Parse the whole file with pandas' C parser; rows of the wrong width are an error."""
    with pywarnings.catch_warnings():
        # with index_col=False pandas only warns (and truncates) when the first row is too long
        pywarnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.BytesIO(csv_text.data),
                sep=csv_text.sep,
                decimal=csv_text.decimal,
                encoding="utf-8",
                engine="c",
                index_col=False,
                on_bad_lines="error",
                low_memory=False,
            )
        except pd.errors.EmptyDataError:
            raise InputError("The file has no header row.") from None
        except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
            raise InputError(_parse_error_message(exc, csv_text, len(header))) from None
    if frame.shape[1] != len(header):
        raise InputError(_width_error(csv_text, len(header)) or "The header cannot be parsed.")
    frame.columns = header
    # pandas pads rows with too few fields with NaN: look closer only when that may have happened
    if frame.iloc[:, -1].isna().any() and _has_rows_of_other_width(csv_text, len(header)):
        message = _width_error(csv_text, len(header))
        if message:
            raise InputError(message)
    _check_repeated_header(frame, csv_text, header)
    return frame


def _check_repeated_header(frame: pd.DataFrame, csv_text: CsvText, header: list[str]) -> None:
    """A data row equal to the header (files concatenated with their headers) is an error."""
    ends = [frame.iloc[:, i] for i in (0, -1)]
    if any(pd.api.types.is_numeric_dtype(column) for column in ends):
        return
    repeats = (ends[0].astype(str).str.strip() == header[0]) & (
        ends[1].astype(str).str.strip() == header[-1]
    )
    if not repeats.any():
        return
    lines = (line for line, row in _records(csv_text, skip_header=True) if _is_header(row, header))
    line = next(lines, None)
    if line is not None:
        raise InputError(
            f"Line {line} repeats the header row (were several files joined together?). "
            "Remove that line."
        )


def _parse_error_message(exc: Exception, csv_text: CsvText, width: int) -> str:
    text = str(exc).strip()
    if "EOF inside string" in text:
        line = _last_record_line(csv_text)
        return (
            f"A quoted field in the row that starts on line {line} is never closed (an "
            "unmatched '\"'). Fix or remove that quote character."
        )
    return _width_error(csv_text, width) or (
        f"The file cannot be parsed as CSV: {text.removeprefix('Error tokenizing data. ')}"
    )


def _has_rows_of_other_width(csv_text: CsvText, width: int) -> bool:
    """Whether any non-blank row has a field count other than ``width`` (fast, via pyarrow)."""
    import pyarrow
    import pyarrow.csv as pa_csv

    found = []

    def on_invalid(row) -> str:
        if not row.text.strip():
            return "skip"
        found.append(row)
        return "error"  # one is enough

    try:  # one thread: with newlines_in_values, more threads only add contention
        pa_csv.read_csv(
            io.BytesIO(csv_text.data),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=csv_text.sep, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pa_csv.ConvertOptions(include_columns=[]),
        )
    except pyarrow.ArrowException:
        return bool(found) or _width_error(csv_text, width) is not None
    return bool(found)


def _width_error(csv_text: CsvText, width: int) -> str | None:
    """A message naming the first line whose field count differs from the header's, if any."""
    for line, row in _records(csv_text, skip_header=True):
        if len(row) != width:
            return (
                f"Line {line} has {len(row)} field(s) but the header has {width}. Check the "
                f"delimiter (now {csv_text.sep!r}; pass --sep to change it) and the quoting of "
                "that line."
            )
    return None


def _last_record_line(csv_text: CsvText) -> int:
    starts = [line for line, _row in _records(csv_text, skip_header=False)]
    return starts[-1] if starts else 1


def _records(csv_text: CsvText, *, skip_header: bool):
    """(first physical line, fields) of every non-blank record; a slow pass for error messages."""
    stream = io.TextIOWrapper(io.BytesIO(csv_text.data), encoding="utf-8", newline="")
    reader = csv.reader(stream, delimiter=csv_text.sep)
    start = 1
    try:
        for row in reader:
            if not _is_blank(row):
                if not skip_header:
                    yield start, row
                skip_header = False
            start = reader.line_num + 1
    except csv.Error:
        return


def _is_header(row: list[str], header: list[str]) -> bool:
    return [name.strip() for name in row] == header


def _is_blank(row: list[str]) -> bool:
    return len(row) <= 1 and not "".join(row).strip()


def _read_column_as_text(csv_text: CsvText, position: int) -> pd.Series:
    """Re-read one column as text, with only empty cells missing (so ``NA`` stays a label)."""
    column = pd.read_csv(
        io.BytesIO(csv_text.data),
        sep=csv_text.sep,
        encoding="utf-8",
        engine="c",
        index_col=False,
        usecols=[position],
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    ).iloc[:, 0]
    return column.reset_index(drop=True)


# --- target and positive class -----------------------------------------------------------------


def _choose_target(frame: pd.DataFrame, requested: str | None) -> tuple[str, str]:
    columns = list(frame.columns)
    if requested is not None:
        if requested in columns:
            return requested, "--target"
        raise InputError(_missing_target_message(requested, columns))
    for name in TARGET_NAMES:
        for column in columns:
            if column.strip().lower() == name:
                return column, f"named '{column}'"
    filled = (c for c in reversed(columns) if frame[c].notna().any())
    return next(filled, columns[-1]), "last column"


def _missing_target_message(requested: str, columns: list[str]) -> str:
    lowered = {c.lower(): c for c in columns}
    if requested.lower() in lowered:
        closest = [lowered[requested.lower()]]
    else:
        closest = difflib.get_close_matches(requested, columns, n=1, cutoff=0.5)
    hint = f" The closest match is '{closest[0]}'." if closest else ""
    listed = ", ".join(f"'{c}'" for c in columns[:30])
    more = f" and {len(columns) - 30} more" if len(columns) > 30 else ""
    return (
        f"The target column '{requested}' is not in the file.{hint} Available columns: "
        f"{listed}{more}."
    )


def _where_chosen(chosen_by: str) -> str:
    if chosen_by == "--target":
        return ""
    how = "by default as the last column" if chosen_by == "last column" else "by its name"
    return f" (chosen {how}; pass --target to choose another column)"


def _target_classes(
    series: pd.Series, text_column, target: str
) -> tuple[np.ndarray, list[str], list[str]]:
    """Class codes per row (-1 where the label is missing), the class names, and notes."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    codes, names = _merge_names(codes, _label_texts(uniques))
    notes: list[str] = []
    if (codes < 0).any() and text_column is not None:
        codes, names, recovered = _recover_text_labels(codes, names, text_column())
        if recovered:
            listed = ", ".join(f"'{label}' ({n} rows)" for label, n in recovered.items())
            notes.append(
                f"The target column '{target}' has labels that are often used for missing values: "
                f"{listed}. They are kept as classes of their own; if they mean missing, make "
                "those cells empty."
            )
    return codes, names, notes


def _label_texts(uniques) -> list[str]:
    """One text per distinct target value: integers without '.0', text stripped."""
    values = pd.Index(uniques)
    if pd.api.types.is_bool_dtype(values):
        return [str(bool(v)) for v in values]
    if pd.api.types.is_float_dtype(values):
        array = values.to_numpy(dtype="float64")
        if np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0):
            return [str(int(v)) for v in array]
        return [repr(float(v)) for v in array]
    return [str(v).strip() for v in values]


def _merge_names(codes: np.ndarray, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes re-pointed so that values with the same text (' yes', 'yes') are one class;
    an empty text is a missing label."""
    names: list[str] = []
    index: dict[str, int] = {}
    remap = np.empty(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts):
        if not text:
            remap[i] = -1
            continue
        if text not in index:
            index[text] = len(names)
            names.append(text)
        remap[i] = index[text]
    remap[-1] = -1  # code -1 (missing) indexes the last slot
    return remap[codes], names


def _recover_text_labels(codes: np.ndarray, names: list[str], text: pd.Series):
    """Fill missing codes from the raw text where the cell was not empty (``NA``, ``None``)."""
    if len(text) != len(codes):  # cannot happen with the same parser; never guess
        return codes, names, {}
    missing = np.flatnonzero(codes < 0)
    raw = text.iloc[missing].str.strip()
    present = raw.notna().to_numpy() & (raw != "").to_numpy()
    found = raw[present]
    if found.empty:
        return codes, names, {}
    extra_codes, extra_uniques = pd.factorize(found)
    names = list(names)
    remap = []
    for label in extra_uniques:
        if label not in names:
            names.append(label)
        remap.append(names.index(label))
    codes = codes.copy()
    codes[missing[present]] = np.asarray(remap)[extra_codes]
    recovered = found.value_counts().to_dict()
    return codes, names, {k: int(v) for k, v in recovered.items() if k.lower() in _NA_SPELLINGS}


def _check_target_kind(names: list[str], counts: dict[str, int], target: str, where: str):
    if len(names) == 1:
        (only,) = names
        raise InputError(
            f"The target column '{target}'{where} has a single class ('{only}', {counts[only]} "
            "rows); two classes are needed."
        )
    if len(names) <= 2:
        return
    numbers = pd.to_numeric(pd.Series(names), errors="coerce")
    if numbers.notna().all():
        integer_codes = np.all(np.mod(numbers, 1) == 0) and len(names) <= MAX_INTEGER_CLASSES
        if not integer_codes:
            raise InputError(
                f"The target column '{target}'{where} looks continuous ({len(names)} distinct "
                "numeric values). imbreport needs a class label: choose another column with "
                "--target, or bin this one into classes first."
            )


def _choose_positive(
    counts: dict[str, int], requested: str | None, target: str, where: str
) -> tuple[str, str]:
    labels = list(counts)
    if requested is not None:
        positive = _match_label(str(requested), labels)
        if positive is None:
            raise InputError(
                f"--positive-label '{requested}' is not a value of the target column "
                f"'{target}'{where}. Its classes are: {_counts_text(counts)}."
            )
        others = [label for label in labels if label != positive]
        return positive, others[0] if len(others) == 1 else "rest"
    if len(labels) > 2:
        raise InputError(
            f"The target column '{target}'{where} has {len(labels)} classes "
            f"({_counts_text(counts)}). Pass --positive-label to evaluate one class against "
            "the rest."
        )
    ordered = sorted(labels, key=lambda label: (counts[label], label))
    return ordered[0], ordered[1]


def _match_label(requested: str, labels: list[str]) -> str | None:
    """``requested`` as one of ``labels``, allowing '1' for '1.0' and 'Yes' for 'yes'."""
    if requested in labels:
        return requested
    normalised = {_normalise_label(label): label for label in labels}
    return normalised.get(_normalise_label(requested))


def _normalise_label(value: str):
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _check_class_sizes(y: np.ndarray, positive: str, target: str, class_counts) -> None:
    positives = int(y.sum())
    sizes = {
        f"have the positive class '{positive}'": positives,
        f"are not '{positive}'": len(y) - positives,
    }
    for which, size in sizes.items():
        if size < MIN_POSITIVES:
            raise InputError(
                f"Only {size} row(s) {which} in column '{target}'; at least {MIN_POSITIVES} of each "
                f"class are needed to evaluate anything (class counts: "
                f"{_counts_text(class_counts)}). Add rows or choose another --positive-label."
            )


def _counts_text(counts) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"'{k}': {v}" for k, v in items[:12]) + (" …" if len(items) > 12 else "")


# --- features ----------------------------------------------------------------------------------


def prepare_features(
    features: pd.DataFrame, forced_categorical: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, list[str], list[str], dict[str, str], list[str]]:
    """Decide which columns are numeric, categorical or dropped (with a reason for each drop).

    Numeric columns are checked one by one as float64 arrays; a kept column that needs no change
    goes into ``X`` as it is (see ``SHARE_COLUMNS_FROM_ROWS``).
    """
    unknown = [c for c in forced_categorical if c not in features.columns]
    if unknown:
        raise InputError(
            f"--categorical names column(s) that are not features: {', '.join(unknown)}. "
            f"Features: {', '.join(list(features.columns)[:30])}."
        )
    warnings: list[str] = []
    outcomes: dict[str, tuple[str, pd.Series | np.ndarray | None, str | None]] = {}
    numbers: dict[str, pd.Series] = {}
    for name, dtype in features.dtypes.items():
        if name not in forced_categorical and _is_plain_number(dtype):
            numbers[name] = _as_float_column(features[name])
            continue
        outcome = _classify_other_column(name, features[name], name in forced_categorical, warnings)
        if outcome[0] == "numeric":
            numbers[name] = _as_float_column(outcome[1])
        else:
            outcomes[name] = outcome
    outcomes.update(_classify_numbers(numbers, warnings))
    ordered = [(name, *outcomes[name]) for name in features.columns]
    dropped = {name: reason for name, _kind, _values, reason in ordered if reason}
    kept = [(name, kind, values) for name, kind, values, reason in ordered if not reason]
    identifier_drops = [c for c, r in dropped.items() if "identifier" in r]
    if identifier_drops:
        warnings.append(
            "Dropped identifier-like column(s) "
            + ", ".join(f"'{c}'" for c in identifier_drops)
            + ": a value unique to each row lets a model memorise rows (leakage)."
        )
    X = pd.DataFrame(
        {name: values for name, _kind, values in kept},
        index=features.index,
        copy=len(features) < SHARE_COLUMNS_FROM_ROWS,
    )
    numeric = [name for name, kind, _values in kept if kind == "numeric"]
    categorical = [name for name, kind, _values in kept if kind == "categorical"]
    return X.reset_index(drop=True), numeric, categorical, dropped, warnings


def integer_codes(X: pd.DataFrame, numeric: list[str]) -> dict[str, tuple[float, ...]]:
    """Numeric columns that hold only a few whole numbers (3 to ``MAX_CODE_VALUES`` distinct),
    with their values: 4 card suits coded 1–4 are read as amounts unless ``--categorical`` says
    otherwise. Cheap on large files: a column whose first ``SNIFF_ROWS`` values already have
    too many distinct values or a fraction is not scanned further."""
    found = {}
    for name in numeric:
        values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        if not _few_whole_numbers(values[:SNIFF_ROWS]):
            continue
        distinct = pd.unique(values[~np.isnan(values)])
        if 2 < len(distinct) <= MAX_CODE_VALUES and _integral(distinct):
            found[name] = tuple(float(v) for v in np.sort(distinct))
    return found


def _few_whole_numbers(values: np.ndarray) -> bool:
    values = values[~np.isnan(values)]
    return len(np.unique(values)) <= MAX_CODE_VALUES and _integral(values)


def _is_plain_number(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _classify_other_column(name: str, column: pd.Series, forced: bool, warnings: list[str]):
    """(kind, values, drop reason) for a column that is not plainly numeric.

    A text column of numbers (but for a few stray values) comes back as ``("numeric", numbers,
    None)`` for the numeric checks.
    """
    non_null = column.dropna()
    if len(non_null) == 0:
        return "categorical", None, "all values missing"
    if forced or pd.api.types.is_bool_dtype(column):
        return "categorical", _as_category_text(column), None
    distinct = pd.Series(pd.unique(non_null.astype(str)))
    if _is_bool_text(distinct):
        return "categorical", _as_category_text(column), None
    numbers = _mostly_numeric(name, column, distinct, warnings)
    if numbers is not None:
        return "numeric", numbers, None
    reason = _text_drop_reason(non_null.astype(str), distinct, len(column))
    return "categorical", None if reason else _as_category_text(column), reason


def _mostly_numeric(name: str, column: pd.Series, distinct: pd.Series, warnings: list[str]):
    """A text column whose values are nearly all numbers, as numbers (the rest missing)."""
    parsed = pd.to_numeric(distinct.str.strip(), errors="coerce").notna()
    if not parsed.any() or parsed.mean() < MIXED_NUMERIC_SHARE:
        return None
    numbers = pd.to_numeric(column.astype(str).str.strip(), errors="coerce")
    unparsed = column.notna() & numbers.isna()
    if unparsed.mean() > 1 - MIXED_NUMERIC_SHARE:
        return None
    if not unparsed.any():  # numbers stored as text (e.g. padded with spaces): nothing lost
        return numbers
    examples = ", ".join(repr(v) for v in distinct[~parsed.to_numpy()].head(5))
    warnings.append(
        f"Column '{name}': {int(unparsed.sum())} non-numeric value(s) ({examples}) treated as "
        "missing in an otherwise numeric column."
    )
    return numbers


def _as_float_column(column: pd.Series) -> pd.Series:
    """The column as float64 with missing values as NaN: the column itself if it already is."""
    if isinstance(column.dtype, np.dtype) and column.dtype == np.float64:
        return column
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(values, index=column.index, name=column.name, copy=False)


def _classify_numbers(columns: dict[str, pd.Series], warnings: list[str]) -> dict:
    """(kind, values, drop reason) for every numeric (float64) column.

    A kept column comes back as itself when it needs no change (so ``X`` shares its memory),
    else as a new array: with infinite values made missing, or rescaled.
    """
    own_values = {name: column.to_numpy() for name, column in columns.items()}
    values = dict(own_values)
    infinite = {name: int(np.count_nonzero(np.isinf(array))) for name, array in values.items()}
    for name, count in infinite.items():
        if count:
            warnings.append(f"Column '{name}': {count} infinite value(s) treated as missing.")
            values[name] = np.where(np.isinf(values[name]), np.nan, values[name])
    outcomes = {}
    for name, array in values.items():
        # np.nanmin and np.nanmax, without their warning for a column with no values
        low, high = np.fmin.reduce(array), np.fmax.reduce(array)
        reason = _number_drop_reason(name, array, low, high, infinite[name])
        if reason:
            outcomes[name] = ("numeric", None, reason)
            continue
        tamed = _tame_magnitude(name, array, max(-low, high), warnings)
        outcomes[name] = ("numeric", columns[name] if tamed is own_values[name] else tamed, None)
    return outcomes


def _number_drop_reason(
    name: str, values: np.ndarray, low: float, high: float, infinite: int
) -> str | None:
    """Why a numeric column is dropped, or None; ``low`` and ``high`` ignore missing values."""
    if np.isnan(low):
        return "all values missing or infinite" if infinite else "all values missing"
    if low == high:
        return "constant"
    if _looks_like_identifier(name, values):
        return "unique per row: looks like a row identifier (possible leakage)"
    return None


def _looks_like_identifier(name: str, values: np.ndarray) -> bool:
    """Integers, one per row, that count up or down, or sit in a column named like an id and
    never repeat. A column ruled out by its first rows is not scanned in full."""
    n_rows = len(values)
    if n_rows < 20 or np.isnan(values).any():
        return False
    if not (_integral(values[:SNIFF_ROWS]) and _integral(values)):
        return False
    steps = np.diff(values)
    if np.all(steps > 0) or np.all(steps < 0):
        return True
    return bool(_ID_NAME.search(name)) and len(np.unique(values)) == n_rows


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.mod(values, 1) == 0))


def _tame_magnitude(name: str, values: np.ndarray, largest: float, warnings: list[str]):
    """Values so large (or small) that squaring them overflows, rescaled by a power of ten.

    Every model standardises or splits numeric columns, so a constant factor changes no result;
    it only keeps ``StandardScaler`` from overflowing to NaN.
    """
    exponent = int(np.floor(np.log10(largest))) if largest > 0 else 0
    if abs(exponent) < MAX_MAGNITUDE_EXPONENT:
        return values
    warnings.append(
        f"Column '{name}': values of magnitude up to {largest:.3g} were rescaled by "
        f"1e{-exponent} so that models can handle them (a constant factor changes no result)."
    )
    return values / 10.0**exponent


def _text_drop_reason(text: pd.Series, distinct: pd.Series, n_rows: int) -> str | None:
    if len(distinct) <= 1:
        return "constant"
    if _looks_like_dates(text):
        return "dates are not used as features"
    if len(distinct) == n_rows and n_rows >= 20:
        if distinct.str.len().mean() > 30:
            return "free text is not used as a feature"
        return "unique per row: looks like a row identifier (possible leakage)"
    if len(distinct) > 0.5 * len(text) and text.str.len().mean() > 50:
        return "free text is not used as a feature"
    return None


def _as_category_text(column: pd.Series) -> pd.Series:
    text = column.astype(str).astype(object)
    text[column.isna().to_numpy()] = np.nan
    return text


def _is_bool_text(distinct: pd.Series) -> bool:
    return set(distinct.str.strip().str.lower()) <= {"true", "false"}


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
    return X, y[chosen], keep_negatives / len(negatives), chosen
