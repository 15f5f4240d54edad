"""The Dask engine (``--engine dask``): tables too large for one process, same protocol, same report.

What runs where. The cluster (``--scheduler ADDRESS``, ``DASK_SCHEDULER_ADDRESS``, or a
``LocalCluster`` started and stopped with the run) reads the data in partitions (CSV in blocks,
Parquet by row groups), counts the classes, missing and infinite values with the loader's label
rules, and later scores every row. The driver (this process) holds only a sample: every positive
and a hash-chosen share of the negatives. On it the loader's own rules decide the columns
(``data.build_dataset``), and the pandas engine's own functions fit each strategy on each training
part (``fitting.run_all``) with the case-control corrections of ``--sample`` (probabilities
corrected for the sampling rate, negatives weighted in the threshold objective).

Folds come from a keyed hash of each row's feature values (the key derived from ``--seed``), so
they do not depend on how the file is partitioned: positives are dealt evenly to the folds by a
seeded shuffle of their sorted hashes (exact stratification), negatives by hash modulo the number of folds (stratified up to sampling
noise), and identical feature rows share a fold. The fitted models are broadcast to the workers;
every row is scored by the model of the one fold that held it out, and only labels, folds and
float32 scores come back. Up to ``EXACT_ROWS`` labelled rows every score comes back and the
figures are those of every row; above it the driver keeps every positive's score and a hash-chosen
share of the negatives' (each counting for the negatives it stands for), and the cluster also
returns score histograms of every row, from which each strategy's PR-AUC over all rows is computed
and its difference from the reported figure stated in the protocol notes.

The result is an ordinary ``Results`` (its ``dataset`` the driver's sample, with the whole file's
class counts and its ``sampling_rate``), so judging, deploying and every output format work
unchanged. Start the engine under a ``if __name__ == "__main__":`` guard: a local cluster starts
worker processes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings as pywarnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from imbreport import metrics as m
from imbreport import workers
from imbreport.data import (
    _as_category_text,
    _check_class_sizes,
    _check_target_kind,
    _choose_positive,
    _choose_target,
    _delimiter_options,
    _head,
    _is_plain_number,
    _parquet_parts,
    _parts_sha256,
    _sniff_separator,
    _target_classes,
    _to_utf8,
    _where_chosen,
    build_dataset,
    is_parquet,
)
from imbreport.errors import ConfigError, InputError, short_error
from imbreport.evaluate import (
    IN_PROCESS_CELLS,
    _fit_plan,
    _fitting_notes,
    _interval_method,
    _out_of_bag_note,
    _strategy_notes,
    _unrunnable,
    _warnings,
)
from imbreport.fitting import (
    MIN_FIT_NEGATIVES,
    NEGATIVES_PER_POSITIVE,
    FoldOutcome,
    FrameToMatrix,
    fit_negatives,
    model_matrix,
    run_all,
)
from imbreport.measure import EvaluatedRows, measure
from imbreport.model import Dataset, Protocol, Results
from imbreport.options import AnalysisOptions
from imbreport.registry import select_strategies
from imbreport.splits import Split, with_validation
from imbreport.versions import library_versions

#: Up to this many labelled rows every score comes back to the driver (exact figures; about
#: 40 bytes a row and strategy there). Above it, every positive's score and a share of the
#: negatives' come back, so that the driver holds about this many rows whatever the file's size.
#: Measured (40,000 positives, 9 strategies, the measure step alone): 400,000 rows +0.43 GB,
#: 1,000,000 rows +0.57 GB; 2,000,000 rows kept the driver at 1.4 GB after measuring. 400,000
#: rows of the 1M-row benchmark file (40 % of its negatives, each counted 2.5 times) moved
#: PR-AUC by up to 0.021 from that of all rows; at 20M rows (1.8 % kept) by up to 0.008.
EXACT_ROWS = 1_000_000
#: Above ``EXACT_ROWS`` the measure step runs in one thread, its bootstrap in resamples of at
#: most this many cells (resamples × positives): with many positives ``metrics.bootstrap``'s
#: interval mode holds about a dozen float64 arrays of resamples × 2·positives per thread, so
#: its default 20M-cell chunks took the driver from 0.9 to 5.0 GB at 40,000 positives (two
#: threads); with 1M-cell chunks in one thread the bootstrap adds 0.25 GB. Chunking changes
#: which resamples are drawn, not how many.
MEASURE_CELLS = 1_000_000
#: The most rows the driver's sample holds (every positive and a share of the negatives): up to
#: it, the pandas engine's case-control rule (``NEGATIVES_PER_POSITIVE`` per positive, at least
#: ``MIN_FIT_NEGATIVES`` per training part); beyond it (over about 19,000 positives), fewer
#: negatives per positive. Measured: 1.04M sample rows (20M-row benchmark file, 25 per
#: positive) took the driver to 2.0 GB while fitting.
DRIVER_ROWS = 500_000
#: Bins of the score histograms the cluster returns for every row (logit scale for
#: probabilities), from which PR-AUC over all rows is computed.
HISTOGRAM_BINS = 1 << 14
LOGIT_LIMIT = 20.0
#: CSV blocks read by one task (gzip, bzip2 and xz files cannot be split: one task each).
CSV_BLOCK = "64MB"
#: Seconds to wait for a scheduler given by --scheduler.
CONNECT_TIMEOUT = 10
#: Rows read to choose the target column and to sniff the delimiter.
HEAD_ROWS = 1_000
_COMPRESSION = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
#: One INFO line as each stage of the driver ends (``benchmarks/dask_bench.py`` adds its memory).
log = logging.getLogger(__name__)


# --- the cluster ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInfo:
    """What the run's cluster was, in words and numbers (for the protocol notes)."""

    where: str
    workers: int
    threads: int
    memory: int


@contextmanager
def cluster_client(address: str | None, n_jobs: int = -1) -> Iterator[tuple[Any, ClusterInfo]]:
    """A ``distributed.Client`` of the cluster at ``address`` (or ``DASK_SCHEDULER_ADDRESS``), or
    of a ``LocalCluster`` started here (one single-threaded worker process per core) and stopped
    when the block ends."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ConfigError("--engine dask needs Dask: pip install 'imbreport[dask]'.") from None
    address = address or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers.count(n_jobs),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never a clash with a running cluster
            silence_logs=logging.ERROR,
        )
        client = Client(cluster, set_as_default=False)
        try:
            yield client, _describe(client, "a local cluster started for this run")
        finally:
            client.close()
            cluster.close()
        return
    client = _connect(Client, address)
    try:
        yield client, _describe(client, f"the Dask cluster at {address}")
    finally:
        client.close()


def _connect(Client, address: str):
    if "://" not in address and address.count(":") != 1:
        raise ConfigError(
            f"--scheduler must be a Dask scheduler address such as tcp://10.0.0.5:8786; got "
            f"{address!r}."
        )
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"Cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
            f"({short_error(exc)}). Check the address and that 'dask scheduler' runs there, or "
            "leave out --scheduler (and DASK_SCHEDULER_ADDRESS) to start a local cluster."
        ) from None


def _describe(client, where: str) -> ClusterInfo:
    info = client.scheduler_info()
    found = list(info.get("workers", {}).values())
    if not found:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT * 3)
        found = list(client.scheduler_info().get("workers", {}).values())
    return ClusterInfo(
        where,
        len(found),
        sum(int(w.get("nthreads", 1)) for w in found),
        sum(int(w.get("memory_limit") or 0) for w in found),
    )


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """The data as a Dask DataFrame, and what the reading said."""

    frame: Any
    kind: str  # "Parquet" | "CSV"
    notes: tuple[str, ...]


def read_table(path: str, options: AnalysisOptions) -> Table:
    """A Dask DataFrame of the CSV (in blocks; compressed files whole) or Parquet data."""
    import dask.dataframe as dd

    if not os.path.exists(path):
        raise InputError(f"The data file '{path}' does not exist.")
    if is_parquet(path):
        try:
            frame = dd.read_parquet(path)
        except Exception as exc:
            raise InputError(f"'{path}' cannot be read as Parquet ({short_error(exc)}).") from None
        ignored = tuple(
            f"--{name} applies to CSV files; it was ignored for this Parquet data."
            for name, value in (("sep", options.sep), ("encoding", options.encoding))
            if value is not None
        )
        return Table(frame, "Parquet", ignored)
    sep, decimal = _delimiter_options(options.sep, options.decimal)
    with open(path, "rb") as handle:
        magic = handle.read(6)
    compression = next((c for k, c in _COMPRESSION.items() if magic.startswith(k)), None)
    head_bytes = _first_bytes(path, compression)
    text, notes = _to_utf8(head_bytes, options.encoding)
    sep = sep or _sniff_separator(_head(text), decimal)
    encoding = (options.encoding or "utf-8") if not notes else "latin-1"
    notes = list(notes)
    if compression is not None:
        notes.append(
            f"The {compression} file cannot be split into blocks: one worker read it whole "
            "(store it uncompressed or as Parquet to read it in parallel)."
        )
    frame = dd.read_csv(
        path,
        sep=sep,
        decimal=decimal,
        encoding=encoding,
        blocksize=None if compression else CSV_BLOCK,
        compression=compression,
        assume_missing=True,  # integers with a missing value in a later block stay numbers
        sample=4 << 20,
        skipinitialspace=False,
    )
    frame = frame.rename(
        columns={c: str(c).strip().lstrip("\ufeff").strip() for c in frame.columns}
    )
    return Table(frame, "CSV", tuple(notes))


def _first_bytes(path: str, compression: str | None, size: int = 1 << 16) -> bytes:
    import bz2
    import gzip
    import lzma

    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(compression, open)
    with opener(path, "rb") as handle:
        return handle.read(size)


# --- what runs on the workers -------------------------------------------------------------------


def _labels(part: pd.DataFrame, target: str, positive: str) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are labelled, and which of them are positive (the loader's label rules)."""
    codes, names, _ = _target_classes(part[target], None, target)
    labelled = codes >= 0
    y = codes == names.index(positive) if positive in names else np.zeros(len(codes), bool)
    return labelled, y


def _row_hash(part: pd.DataFrame, columns: tuple[str, ...], key: str) -> np.ndarray:
    """A 64-bit keyed hash of each row's values in ``columns``, the same in any partition: numbers
    as float64 (an integer column read as float in one block hashes alike), the rest as text."""
    normal = {}
    for name in columns:
        column = part[name]
        if _is_plain_number(column.dtype):
            normal[name] = column.astype("float64")
        else:
            text = column.astype(str).astype(object)
            text[column.isna().to_numpy()] = "\0missing"  # NaN, None, <NA>: one spelling
            normal[name] = text
    frame = pd.DataFrame(normal, index=part.index)
    return pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy(np.uint64)


def _uniform(hashes: np.ndarray, mix: int = 0) -> np.ndarray:
    """Each hash as a number in [0, 1); ``mix`` 1 gives a second, independent-looking draw."""
    if mix:
        with np.errstate(over="ignore"):
            hashes = hashes * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)
    return (hashes >> np.uint64(11)).astype(np.float64) * 2.0**-53


def partition_facts(part: pd.DataFrame, target: str) -> dict:
    """One partition's rows, class counts (the loader's label texts), and per feature column its
    missing and infinite values and finite range, over labelled rows."""
    codes, names, _ = _target_classes(part[target], None, target)
    labelled = codes >= 0
    counts = np.bincount(codes[labelled], minlength=len(names))
    features = part.drop(columns=[target]).loc[labelled]
    missing = features.isna().sum().to_dict()
    infinite, low, high = {}, {}, {}
    for name, dtype in features.dtypes.items():
        if _is_plain_number(dtype):
            values = features[name].to_numpy(dtype=np.float64, na_value=np.nan)
            inf = np.isinf(values)
            infinite[name] = int(inf.sum())
            finite = values[~inf & ~np.isnan(values)]
            if len(finite):
                low[name], high[name] = float(finite.min()), float(finite.max())
    return {
        "rows": len(part),
        "unlabelled": int((~labelled).sum()),
        "counts": dict(zip(names, counts.tolist(), strict=True)),
        "missing": {k: int(v) for k, v in missing.items()},
        "infinite": infinite,
        "low": low,
        "high": high,
    }


def partition_sample(
    part: pd.DataFrame, target: str, positive: str, columns: tuple, key: str, rate: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every positive row of the partition and the negatives whose hash falls below ``rate``,
    with their row hashes."""
    labelled, y = _labels(part, target, positive)
    hashes = _row_hash(part, columns, key)
    keep = labelled & (y | (_uniform(hashes) < rate))
    return part.loc[keep], hashes[keep]


@dataclass(frozen=True)
class ScoringPlan:
    """What a worker needs to score its partitions (broadcast once with the models)."""

    target: str
    positive: str
    hash_columns: tuple[str, ...]
    key: str
    folds: int
    positive_hashes: np.ndarray  # sorted
    positive_folds: np.ndarray
    keep_rate: float  # share of negatives whose scores come back
    encoder: FrameToMatrix
    strategies: tuple[tuple[str, str, str], ...]  # (name, response method, score kind)


def fold_of(hashes: np.ndarray, y: np.ndarray, plan: ScoringPlan) -> np.ndarray:
    """Each row's fold: a positive's from the driver's deal, a negative's from its hash."""
    folds = (hashes % np.uint64(plan.folds)).astype(np.int8)
    positive = np.flatnonzero(y)
    if len(positive):
        at = np.searchsorted(plan.positive_hashes, hashes[positive])
        at = np.minimum(at, len(plan.positive_hashes) - 1)
        folds[positive] = plan.positive_folds[at]
    return folds


def encode(part: pd.DataFrame, encoder: FrameToMatrix) -> np.ndarray:
    """The partition's feature matrix, encoded as the driver's sample was."""
    frame = part[[*encoder.numeric, *encoder.categorical]].copy()
    for name in encoder.categorical:
        frame[name] = _as_category_text(part[name])
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")  # categories the sample never held: missing values
        matrix = encoder.transform(frame)
    matrix[np.isinf(matrix)] = np.nan
    return matrix


def _bins(scores: np.ndarray, kind: str) -> np.ndarray:
    """Histogram bin of each score (rank-preserving: logit of a probability, else the score)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "probability":
            p = np.clip(scores.astype(np.float64), 1e-300, 1 - 1e-16)
            t = np.clip(np.log(p) - np.log1p(-p), -LOGIT_LIMIT, LOGIT_LIMIT) / LOGIT_LIMIT
        else:
            t = np.clip(scores.astype(np.float64), -1.0, 1.0)
    t = np.nan_to_num(t, nan=-1.0)
    return np.minimum(((t + 1.0) / 2.0 * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)


def score_partition(part: pd.DataFrame, shared: tuple[ScoringPlan, dict]) -> tuple[dict, dict]:
    """Score every labelled row of the partition with the model of its fold, for every strategy.

    Returns the rows that go back to the driver (labels, folds, float32 scores) and the counts
    the driver sums: rows per fold and class, and per strategy the score histograms per class.
    """
    plan, models = shared
    labelled, y = _labels(part, plan.target, plan.positive)
    part, y = part.loc[labelled], y[labelled]
    hashes = _row_hash(part, plan.hash_columns, plan.key)
    folds = fold_of(hashes, y, plan)
    X = encode(part, plan.encoder)
    scores = np.zeros((len(plan.strategies), len(y)), np.float32)
    histograms = np.zeros((len(plan.strategies), 2, HISTOGRAM_BINS), np.int64)
    by_fold = [np.flatnonzero(folds == k) for k in range(plan.folds)]
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        for i, (name, method, kind) in enumerate(plan.strategies):
            for k, rows in enumerate(by_fold):
                if len(rows):
                    model = models[name][k]
                    found = getattr(model, method)(X[rows])
                    scores[i, rows] = found[:, 1] if method == "predict_proba" else found
            bins = _bins(scores[i], kind)
            histograms[i, 0] = np.bincount(bins[~y], minlength=HISTOGRAM_BINS)
            histograms[i, 1] = np.bincount(bins[y], minlength=HISTOGRAM_BINS)
    keep = y | (_uniform(hashes, mix=1) < plan.keep_rate)
    fold_counts = np.zeros((plan.folds, 2), np.int64)
    np.add.at(fold_counts, (folds, y.astype(np.int64)), 1)
    rows = {"y": y[keep].astype(np.int8), "fold": folds[keep], "scores": scores[:, keep]}
    return rows, {"histograms": histograms, "folds": fold_counts}


def sum_counts(*parts: dict) -> dict:
    """Element-wise sum of ``score_partition``'s count dictionaries."""
    return {key: sum(p[key] for p in parts) for key in parts[0]}


# --- the conductor -------------------------------------------------------------------------------


def evaluate_on_dask(
    path: str,
    options: AnalysisOptions,
    display_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """Evaluate every selected strategy on the data at ``path`` with a Dask cluster doing the
    reading, counting and scoring (see the module's docstring)."""
    _check_supported(options)
    started = time.perf_counter()
    path = os.path.abspath(path)
    with cluster_client(options.scheduler, options.n_jobs) as (client, cluster):
        with ThreadPoolExecutor(max_workers=1) as background:
            table = read_table(path, options)
            digest = background.submit(_file_sha256, path)
            return _run(
                client, cluster, table, path, options, display_name, progress, digest, started
            )


def _check_supported(options: AnalysisOptions) -> None:
    unsupported = [
        (options.holdout is not None, "--holdout"),
        (options.repeats > 1, "--repeats above 1"),
        (options.groups is not None, "--groups"),
        (options.sample is not None, "--sample (the engine samples negatives itself)"),
        (bool(options.score), "--score"),
        (bool(options.segment), "--segment"),
        (options.time is not None, "--time"),
    ]
    named = [text for found, text in unsupported if found]
    if named:
        raise ConfigError(
            f"--engine dask does not support {', '.join(named)} yet; use the default engine "
            "for these, or drop them (the Dask engine runs K-fold cross-validation)."
        )


def _file_sha256(path: str) -> str:
    parts = _parquet_parts(path) if os.path.isdir(path) else [path]
    return _parts_sha256(path, parts)


def _compute(client, collections: list, what: str) -> list:
    """``collections`` computed on the cluster; a failure reading the data is an ``InputError``."""
    try:
        return client.gather(client.compute(collections))
    except InputError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(
            f"The cluster could not {what}: {short_error(exc)}. If the column types differ "
            "between parts of a CSV file, convert it to Parquet (or use --engine pandas)."
        ) from None


def _run(client, cluster, table, path, options, display_name, progress, digest, started):
    import dask

    frame = table.frame
    columns = [str(c) for c in frame.columns]
    if len(columns) < 2:
        raise InputError(
            f"The data has {len(columns)} column(s); at least one feature column and one target "
            "column are needed. If the file uses another delimiter, pass --sep."
        )
    head = _compute(client, [frame.head(HEAD_ROWS, npartitions=1, compute=False)], "read")[0]
    target, chosen_by = _choose_target(head, options.target)
    parts = frame.to_delayed()
    load_started = time.perf_counter()

    # 1. counts on the cluster
    facts = _combine(
        _compute(
            client, [dask.delayed(partition_facts)(p, target) for p in parts], "count the rows"
        )
    )
    where = _where_chosen(chosen_by)
    counts = {k: v for k, v in facts["counts"].items() if v}
    if not counts:
        raise InputError(f"Every value of the target column '{target}' is missing{where}.")
    _check_target_kind(list(counts), counts, target, where)
    positive, negative = _choose_positive(counts, options.positive_label, target, where)
    positives = counts[positive]
    negatives = sum(counts.values()) - positives
    _check_class_sizes(
        np.array([1] * min(positives, 2) + [0] * min(negatives, 2), np.int8),
        positive,
        target,
        counts,
    )

    # 2. the driver's sample: every positive, a hash-chosen share of the negatives
    folds_asked = options.folds
    per_part = fit_negatives(round(positives * (folds_asked - 1) / folds_asked))
    rate = min(1.0, per_part / max(negatives * (folds_asked - 1) / folds_asked, 1))
    capped = positives + rate * negatives > DRIVER_ROWS
    if capped:  # many positives: fewer negatives per positive, so that the driver's memory holds
        rate = max(DRIVER_ROWS - positives, MIN_FIT_NEGATIVES) / negatives
    hash_columns = tuple(c for c in columns if c != target)
    key = hashlib.sha256(f"imbreport-folds-{options.seed}".encode()).hexdigest()[:16]
    picked = _compute(
        client,
        [
            dask.delayed(partition_sample)(p, target, positive, hash_columns, key, rate)
            for p in parts
        ],
        "sample the rows",
    )
    sample = pd.concat([f for f, _ in picked], ignore_index=True)
    sample_hashes = np.concatenate([h for _, h in picked]) if picked else np.zeros(0, np.uint64)
    del picked
    log.info("read, counted and sampled: %d sample rows", len(sample))
    load_seconds = time.perf_counter() - load_started
    analysis = replace(options, target=target, positive_label=positive, sample=None)
    dataset = build_dataset(
        sample,
        analysis,
        source_name=display_name
        if display_name is not None
        else os.path.basename(path.rstrip("/")),
        warnings=list(table.notes),
    )
    del sample
    dataset = _whole_file_dataset(dataset, facts, counts, chosen_by, digest.result())

    # 3. folds: positives dealt in hash order, negatives by hash
    y = dataset.y
    positive_hashes = np.unique(sample_hashes[y == 1])
    folds = min(folds_asked, len(positive_hashes))
    if folds < 2:
        raise InputError(
            f"Only {len(positive_hashes)} distinct positive row(s): cross-validation needs at "
            "least 2."
        )
    deal = np.random.default_rng(options.seed).permutation(len(positive_hashes)) % folds
    plan_folds = deal.astype(np.int8)
    scoring = ScoringPlan(
        target,
        positive,
        hash_columns,
        key,
        folds,
        positive_hashes,
        plan_folds,
        1.0,
        FrameToMatrix.of(dataset),
        (),
    )
    sample_folds = fold_of(sample_hashes, y == 1, scoring)
    splits = [
        Split(0, k, np.flatnonzero(sample_folds != k), np.flatnonzero(sample_folds == k))
        for k in range(folds)
    ]

    # 4. fitting on the driver, with the pandas engine's functions
    fit_started = time.perf_counter()
    specs = select_strategies(options.strategies)
    n_jobs = workers.count(options.n_jobs)
    features = max(len(dataset.numeric) + len(dataset.categorical), 1)
    in_process = len(y) * features * folds <= IN_PROCESS_CELLS
    processes = 1 if in_process else n_jobs
    # as the pandas engine: one thread a fit, unless one process fits large parts on its own
    # (all of a core's threads for each of many small XGBoost fits made them 5 times slower)
    plan = _fit_plan(dataset, options, splits, threads_per_fit=1 if n_jobs > 1 or in_process else 0)
    plan = replace(plan, keep_models=True)
    if plan.tuning.possible and plan.tuning.validation_fraction is not None:
        splits = [
            with_validation(s, y, plan.tuning.validation_fraction, options.seed, dataset.group_ids)
            for s in splits
        ]
    notes = _fitting_notes(y, splits, plan.tuning, specs)
    unrunnable = _unrunnable(specs, y, splits)
    runnable = [spec for spec in specs if spec.name not in unrunnable]
    # an anomaly detector is fitted at the file's own prevalence (see ``_prevalence_splits``)
    anomalous = [spec for spec in runnable if spec.anomaly]
    supervised = [spec for spec in runnable if not spec.anomaly]
    forest_splits = _prevalence_splits(splits, y, sample_hashes, positives, negatives)
    if anomalous:
        kept = sum(int(y[s.train].sum()) for s in forest_splits) / len(forest_splits)
        notes.append(
            f"{', '.join(s.label for s in anomalous)}: fitted on the sampled negatives of each "
            f"training part and a hash-chosen share of its positives (about {kept:,.0f}) at the "
            "file's own prevalence, so that its default cut and out-of-bag threshold see the "
            "file's mix of classes, not the driver's sample enriched in positives."
        )
    total = len(runnable) * folds
    X = model_matrix(dataset)
    try:
        outcomes = run_all(
            supervised,
            plan,
            X,
            y,
            splits,
            processes,
            progress and (lambda done, _: progress(done, total)),
        )
        first = len(outcomes)
        outcomes += run_all(
            anomalous,
            replace(plan, objective=replace(plan.objective, negative_weight=1.0)),
            X,
            y,
            forest_splits,
            processes,
            progress and (lambda done, _: progress(first + done, total)),
        )
    finally:
        if processes > 1:
            workers.release()
    del X
    log.info("fitted %d strategies x %d folds", len(runnable), folds)
    notes += _out_of_bag_note(outcomes)
    fit_seconds = time.perf_counter() - fit_started

    # 5. every row scored on the cluster by the model that never saw it
    score_started = time.perf_counter()
    fitted = {}
    for o in outcomes:
        if o.error is None:
            fitted.setdefault(o.strategy, {})[o.split.fold] = o
    fitted = {name: found for name, found in fitted.items() if len(found) == folds}
    scored_specs = [s for s in runnable if s.name in fitted]
    labelled_rows = positives + negatives
    keep_rate = 1.0 if labelled_rows <= EXACT_ROWS else (EXACT_ROWS - positives) / negatives
    scoring = replace(
        scoring,
        keep_rate=max(keep_rate, 0.0),
        strategies=tuple((s.name, s.response_method, s.score_kind) for s in scored_specs),
    )
    models = {name: [found[k].model for k in range(folds)] for name, found in fitted.items()}
    for outcome in outcomes:  # the sample's held-out scores: the cluster scores every row
        outcome.scores = outcome.default_pred = outcome.model = None
    shared = client.scatter((scoring, models), broadcast=True, hash=False)
    scored = [dask.delayed(score_partition, nout=2)(p, shared) for p in parts]
    total = _tree_sum([c for _, c in scored])
    gathered = _compute(client, [*(r for r, _ in scored), total], "score the rows")
    counts_all = gathered.pop()
    ev_y = np.concatenate([r["y"] for r in gathered]) if gathered else np.zeros(0, np.int8)
    ev_fold = np.concatenate([r["fold"] for r in gathered])
    ev_scores = np.concatenate([r["scores"] for r in gathered], axis=1)
    del gathered, shared, models
    log.info("scored: %d rows' scores back", len(ev_y))
    score_seconds = time.perf_counter() - score_started

    # 6. measured on the driver, as the pandas engine measures
    measure_started = time.perf_counter()
    evaluated, fold_outcomes = _evaluated(
        ev_y, ev_fold, ev_scores, scored_specs, fitted, folds, negatives, plan
    )
    del ev_scores
    sampled = keep_rate < 1
    strategies, draws = measure(
        specs,
        fold_outcomes,
        {**unrunnable, **_failed(runnable, outcomes)},
        evaluated,
        _strategy_notes(specs, y, splits, plan.tuning.inner_folds),
        resamples=options.bootstrap,
        seed=options.seed,
        n_jobs=1 if sampled else n_jobs,
        chunk_cells=MEASURE_CELLS if sampled else None,
    )
    del fold_outcomes
    histogram_pr_auc = {
        name: _histogram_pr_auc(counts_all["histograms"][i])
        for i, (name, _, _) in enumerate(scoring.strategies)
    }
    evaluated_positives = int(evaluated.y.sum())
    represented = evaluated_positives + round(
        (len(evaluated.y) - evaluated_positives) * evaluated.weight
    )
    random_level = m.random_ranking_pr_auc(evaluated_positives, represented, seed=options.seed)
    measure_seconds = time.perf_counter() - measure_started
    log.info("measured")

    notes = (
        _engine_notes(
            cluster,
            frame.npartitions,
            table.kind,
            dataset,
            folds,
            counts_all["folds"],
            labelled_rows,
            keep_rate,
            evaluated,
            strategies,
            histogram_pr_auc,
            (load_seconds, fit_seconds, score_seconds),
            capped,
        )
        + notes
    )
    protocol = Protocol(
        kind="cv",
        folds=folds,
        repeats=1,
        test_fraction=None,
        seed=options.seed,
        threshold_objective=plan.objective.text,
        inner_folds=plan.tuning.inner_folds,
        interval_method=_interval_method(options, options.bootstrap, negatives),
        bootstrap=options.bootstrap,
        evaluated_rows=labelled_rows,
        notes=tuple(notes),
        threshold_tuning=plan.tuning.describe(),
        grouped_by=None,
        tuned_metric=plan.objective.tuned_metric,
    )
    versions = library_versions()
    versions.update(_dask_versions())
    return Results(
        dataset=dataset,
        protocol=protocol,
        strategies=strategies,
        warnings=_warnings(dataset, evaluated_positives, strategies),
        versions=versions,
        timings={
            "fit_seconds": round(fit_seconds, 3),
            "measure_seconds": round(measure_seconds + score_seconds, 3),
            "evaluate_seconds": round(time.perf_counter() - started, 3),
            "strategies": {r.name: round(r.seconds, 3) for r in strategies},
        },
        evaluated_prevalence=evaluated_positives / max(represented, 1),
        random_pr_auc=random_level,
        draws=draws,
    )


def _combine(facts: list[dict]) -> dict:
    """The partitions' facts added up (ranges: the lowest low, the highest high)."""
    total: dict[str, Any] = {"rows": 0, "unlabelled": 0, "counts": {}, "missing": {}}
    total.update(infinite={}, low={}, high={})
    for part in facts:
        total["rows"] += part["rows"]
        total["unlabelled"] += part["unlabelled"]
        for key in ("counts", "missing", "infinite"):
            for name, n in part[key].items():
                total[key][name] = total[key].get(name, 0) + n
        for name, value in part["low"].items():
            total["low"][name] = min(value, total["low"].get(name, value))
        for name, value in part["high"].items():
            total["high"][name] = max(value, total["high"].get(name, value))
    return total


def _whole_file_dataset(dataset: Dataset, facts: dict, counts: dict, chosen_by, sha256: str):
    """The driver's sample described as what it stands for: the whole file's class counts, rows
    and missing values, and the share of negatives it holds (``sampling_rate``)."""
    positives = dataset.positives
    file_negatives = sum(counts.values()) - counts[dataset.positive_label]
    kept_negatives = dataset.rows_used - positives
    rate = kept_negatives / max(file_negatives, 1)
    missing = {
        name: facts["missing"].get(name, 0) + facts["infinite"].get(name, 0)
        for name in dataset.X.columns
    }
    warnings = list(dataset.warnings)
    for name, reason in dataset.dropped_columns.items():
        low, high = facts["low"].get(name), facts["high"].get(name)
        if reason == "constant" and low is not None and low < high:
            warnings.append(
                f"Column '{name}' is constant on the driver's sample but not on the whole file "
                f"(from {low:g} to {high:g}); it was dropped."
            )
    warnings.append(
        f"--engine dask: the driver holds every positive and {rate:.2%} of the negatives "
        f"({dataset.rows_used:,} rows), chosen by a hash of their values; column kinds were "
        "decided on them, class counts and missing values on the whole file, and every row was "
        "scored on the cluster."
    )
    dropped = {}
    if facts["unlabelled"]:
        dropped["missing label"] = facts["unlabelled"]
    on_cluster = facts["rows"] - facts["unlabelled"] - dataset.rows_used
    if on_cluster:
        dropped["kept on the cluster (--engine dask)"] = on_cluster
    return replace(
        dataset,
        class_counts=dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        rows_read=facts["rows"],
        rows_dropped=dropped,
        missing={k: int(v) for k, v in missing.items() if v},
        sha256=sha256,
        warnings=tuple(warnings),
        sampling_rate=min(rate, 1.0),
        target_chosen_by=chosen_by,
    )


def _tree_sum(items: list, width: int = 16):
    """One delayed sum of ``items`` (count dictionaries), added in a tree on the cluster."""
    import dask

    level = list(items)
    while len(level) > 1:
        level = [
            dask.delayed(sum_counts)(*level[i : i + width]) for i in range(0, len(level), width)
        ]
    return level[0]


def _evaluated(y, fold, scores, specs, fitted, folds, negatives, plan):
    """The evaluated rows and each strategy's outcome on each fold, as the measure step takes
    them (a split's ``train`` is only a length there: the other folds' evaluated rows)."""
    evaluated_negatives = int((y == 0).sum())
    weight = negatives / max(evaluated_negatives, 1)
    tests = [np.flatnonzero(fold == k) for k in range(folds)]
    splits = [
        Split(0, k, np.broadcast_to(np.int64(0), (len(y) - len(t),)), t)
        for k, t in enumerate(tests)
    ]
    outcomes = []
    for i, spec in enumerate(specs):
        for k, split in enumerate(splits):
            fit = fitted[spec.name][k]
            mine = scores[i, split.test].astype(np.float64)
            outcomes.append(
                FoldOutcome(
                    spec.name,
                    split,
                    scores=mine,
                    default_pred=mine >= fit.default_threshold,
                    threshold=fit.threshold,
                    default_threshold=fit.default_threshold,
                    seconds=fit.seconds,
                    out_of_bag=fit.out_of_bag,
                    tuning_failed=fit.tuning_failed,
                )
            )
    evaluated = EvaluatedRows(
        y.astype(np.int8), np.arange(len(y)), 1, splits, weight if weight > 1 else 1.0,
        plan.objective,
    )  # fmt: skip
    return evaluated, outcomes


def _prevalence_splits(splits, y, hashes, positives: int, negatives: int) -> list[Split]:
    """The training parts an anomaly detector is fitted on: each part's sampled negatives and a
    hash-chosen share of its positives, as many as the file's prevalence gives beside that many
    negatives (at least 2 where the part holds 2), so that the part has the file's mix of classes.

    The pandas engine fits the Isolation Forest on a training part at the file's prevalence (a
    stratified sample of it): the forest learns from its negatives only, but its default cut
    flags the training part's share of positives, and its threshold is tuned on out-of-bag
    scores of both classes. The driver's sample holds every positive, about 25 times their share.
    """
    order = _uniform(hashes, mix=1)
    found = []
    for split in splits:
        train = split.train
        held_positives = train[y[train] == 1]
        held_negatives = train[y[train] == 0]
        wanted = round(len(held_negatives) * positives / max(negatives, 1))
        wanted = min(len(held_positives), max(wanted, min(2, len(held_positives))))
        chosen = held_positives[np.argsort(order[held_positives], kind="stable")[:wanted]]
        train = np.sort(np.concatenate([held_negatives, chosen]))
        found.append(Split(split.repeat, split.fold, train, split.test))
    return found


def _failed(specs, outcomes: list[FoldOutcome]) -> dict[str, str]:
    """Strategies that failed to fit on some split: skipped, with the first error."""
    found = {}
    for o in outcomes:
        if o.error and o.strategy not in found:
            found[o.strategy] = o.error
    return {s.name: found[s.name] for s in specs if s.name in found}


def _histogram_pr_auc(histogram: np.ndarray) -> float | None:
    """Average precision from per-class score histograms (rows in one bin count as tied)."""
    negatives, positives = histogram[0][::-1].astype(np.float64), histogram[1][::-1]
    total = positives.sum()
    if total == 0:
        return None
    tp, fp = np.cumsum(positives), np.cumsum(negatives)
    seen = (tp + fp) > 0
    precision = np.where(seen, tp / np.where(seen, tp + fp, 1), 0.0)
    return float(np.sum(positives / total * precision))


def _engine_notes(
    cluster: ClusterInfo,
    partitions: int,
    kind: str,
    dataset: Dataset,
    folds: int,
    fold_counts: np.ndarray,
    labelled_rows: int,
    keep_rate: float,
    evaluated: EvaluatedRows,
    strategies,
    histogram_pr_auc: dict,
    seconds: tuple[float, float, float],
    capped: bool = False,
) -> list[str]:
    """The protocol notes that say what ran where (cluster, partitions, sample sizes)."""
    load, fit, score = seconds
    gigabytes = f", {cluster.memory / 2**30:.1f} GB" if cluster.memory else ""
    negatives_per_fold = fold_counts[:, 0]
    notes = [
        f"Dask engine: {cluster.where} ({cluster.workers} worker(s), {cluster.threads} "
        f"thread(s){gigabytes}) read the {kind} data in {partitions} partition(s), counted the "
        f"classes and missing values of all {dataset.rows_read:,} rows, and scored every one of "
        f"the {labelled_rows:,} labelled rows with the model of the fold that held it out "
        f"(models broadcast to the workers; reading and counting {load:.0f} s, scoring "
        f"{score:.0f} s).",
        f"Folds from a keyed hash of each row's values (key from --seed), the same however the "
        f"file is partitioned: the {int(fold_counts[:, 1].sum()):,} positives dealt evenly to "
        f"{folds} folds, negatives by hash ({int(negatives_per_fold.min()):,} to "
        f"{int(negatives_per_fold.max()):,} per fold); identical rows share a fold.",
        f"The driver fitted every strategy on every positive and {dataset.sampling_rate:.2%} of "
        f"the negatives ({dataset.rows_used:,} rows in all, chosen by hash; "
        + (
            f"capped at {DRIVER_ROWS:,} rows: about "
            f"{(dataset.rows_used - dataset.positives) / max(dataset.positives, 1):.0f} "
            "negatives per positive"
            if capped
            else f"about {NEGATIVES_PER_POSITIVE} negatives per positive, at least "
            f"{MIN_FIT_NEGATIVES:,} per training part"
        )
        + "): probabilities corrected for the sampling rate, and each negative "
        f"counted {1 / dataset.sampling_rate:.1f} times in the threshold objective ({fit:.0f} s).",
    ]
    differences = {}
    for result in strategies:
        value = result.metrics.get("pr_auc")
        whole = histogram_pr_auc.get(result.name)
        if result.ok and value is not None and value.value is not None and whole is not None:
            differences[result.label] = whole - value.value
    largest = max(differences.items(), key=lambda kv: abs(kv[1]), default=None)
    if keep_rate >= 1:
        notes.append(
            f"Every score came back to the driver: the figures are those of all "
            f"{labelled_rows:,} rows."
            + (
                f" (PR-AUC from {HISTOGRAM_BINS:,}-bin score histograms differs from them by at "
                f"most {abs(largest[1]):.4f}.)"
                if largest
                else ""
            )
        )
    else:
        evaluated_negatives = int((evaluated.y == 0).sum())
        notes.append(
            f"Above {EXACT_ROWS:,} labelled rows the driver keeps the scores of every positive "
            f"and of {evaluated_negatives:,} negatives ({keep_rate:.2%}, chosen by hash; each "
            f"counts {evaluated.weight:.1f} times): the figures and intervals rest on them. "
            f"Approximation: PR-AUC over all {labelled_rows:,} scores, from {HISTOGRAM_BINS:,}-"
            "bin score histograms the cluster returned, differs from the reported figure by "
            + (
                f"at most {abs(largest[1]):.4f} ({largest[0]})"
                + "; "
                + ", ".join(f"{k} {v:+.4f}" for k, v in differences.items())
                + "."
                if largest
                else "an unknown amount (no strategy was measured)."
            )
        )
    return notes


def _dask_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("dask", "distributed"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover
            pass
    return found
