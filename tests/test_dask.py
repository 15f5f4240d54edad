"""The Dask engine (``--engine dask``, issue #16): a local cluster, a scheduler and a worker started
as separate processes, results beside the pandas engine's, folds independent of partitioning,
and the errors a user can make."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")

from imbreport import distributed as engine  # noqa: E402
from imbreport.cli import main  # noqa: E402
from imbreport.options import Config, make_config  # noqa: E402
from imbreport.splits import Split  # noqa: E402

FAST = {"bootstrap": 200, "n_jobs": 2}


def _fraud_like(rows: int, seed: int = 7) -> pd.DataFrame:
    """A learnable table (PR-AUC about 0.6, so that the engines' different folds move it little
    on few rows): 6 numeric columns, one categorical, about 4 % positives."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.04).astype(int)
    frame = pd.DataFrame({f"v{i}": rng.normal(size=rows) + (1.5 - 0.25 * i) * y for i in range(6)})
    frame["shop"] = rng.choice(["a", "b", "c", "d"], size=rows)
    frame.loc[rng.random(rows) < 0.01, "v2"] = np.nan
    frame["label"] = np.where(y == 1, "fraud", "ok")
    return frame


@pytest.fixture(scope="module")
def moderate_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dask") / "moderate.csv"
    _fraud_like(20_000).to_csv(path, index=False)
    return path


def _pr_auc(results, name: str) -> float:
    return results.strategy(name).metrics["pr_auc"].value


def test_local_cluster_matches_the_pandas_engine(moderate_csv, monkeypatch):
    """A LocalCluster started and stopped with the run; PR-AUC within ±0.01 of the pandas path
    (a linear model and XGBoost, whose models travel to the workers differently). Compared on
    the evaluations (the report built from them is the same code for both engines)."""
    from imbreport.data import load_dataset
    from imbreport.evaluate import evaluate

    strategies = ("logreg", "xgboost")
    # the driver fits in this process, as the pandas engine does on so few rows (no joblib
    # workers to start: the fits are the same); both engines tune thresholds on a validation
    # share of each training part, as on large files (one fit a part instead of five)
    monkeypatch.setattr(engine, "IN_PROCESS_CELLS", 10**7)
    monkeypatch.setattr("imbreport.evaluate.LARGE_TRAINING_PART", 5_000)
    # one worker process: the cluster's start is the heaviest part of so small a run
    config = make_config(engine="dask", strategies=strategies, bootstrap=200, n_jobs=1)
    on_dask = engine.evaluate_on_dask(str(moderate_csv), config.analysis)
    analysis = make_config(strategies=strategies, **FAST).analysis
    on_pandas = evaluate(load_dataset(str(moderate_csv), analysis), analysis)
    for name in strategies:
        assert _pr_auc(on_dask, name) == pytest.approx(_pr_auc(on_pandas, name), abs=0.01)
    dataset = on_dask.dataset
    assert dataset.class_counts == on_pandas.dataset.class_counts
    assert dataset.missing == on_pandas.dataset.missing
    assert dataset.positive_label == "fraud"
    notes = " ".join(on_dask.protocol.notes)
    assert "local cluster started for this run" in notes
    assert "Every score came back to the driver" in notes
    assert on_dask.protocol.evaluated_rows == 20_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_address():
    """``dask scheduler`` and ``dask worker`` as separate processes on localhost."""
    dask_command = shutil.which("dask", path=os.path.dirname(sys.executable))
    if dask_command is None:
        pytest.skip("the 'dask' command is not installed beside this Python")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask_command, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        **quiet,
    )
    worker = subprocess.Popen(
        [dask_command, "worker", address, "--nthreads", "2", "--no-nanny", "--no-dashboard"],
        **quiet,
    )
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        try:  # the cluster's own shutdown: the scheduler stops its workers, then itself
            with Client(address, timeout="5s") as client:
                client.shutdown()
        except (OSError, TimeoutError):
            pass
        for process in (worker, scheduler):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_separate_scheduler_and_worker(scheduler_address, tmp_path):
    """``--scheduler tcp://127.0.0.1:PORT`` through the command line: a report, and the protocol
    says where it ran."""
    data = tmp_path / "small.csv"
    _fraud_like(3_000, seed=3).to_csv(data, index=False)
    out = tmp_path / "result.json"
    result = CliRunner().invoke(
        main,
        [
            "analyze", str(data), "--engine", "dask", "--scheduler", scheduler_address,
            "--strategies", "majority,logreg", "--bootstrap", "200", "-o", str(out), "-q",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    notes = " ".join(report["protocol"]["notes"])
    assert f"the Dask cluster at {scheduler_address} (1 worker(s), 2 thread(s)" in notes
    assert report["config"]["engine"] == "dask"
    assert "scheduler" not in report["config"] or report["config"]["scheduler"]
    assert report["strategies"][1]["metrics"]["pr_auc"]["value"] > 0.1


def test_folds_do_not_depend_on_partitioning(scheduler_address, tmp_path, monkeypatch):
    """One table as one Parquet file and as four: the same folds, samples and figures, also
    where only a hash-chosen share of the negatives' scores comes back to the driver (above
    ``EXACT_ROWS``: measured in one thread, in small bootstrap chunks)."""
    from imbreport import metrics

    monkeypatch.setattr(engine, "EXACT_ROWS", 2_500)
    frame = _fraud_like(4_000, seed=5)
    whole = tmp_path / "whole.parquet"
    frame.to_parquet(whole, index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False)
    options = make_config(
        engine="dask", scheduler=scheduler_address, strategies=("logreg",), **FAST
    ).analysis
    first = engine.evaluate_on_dask(str(whole), options)
    second = engine.evaluate_on_dask(str(parts), options)
    assert "in 1 partition(s)" in first.protocol.notes[0]
    assert "in 4 partition(s)" in second.protocol.notes[0]
    for key in ("pr_auc", "roc_auc", "recall"):
        assert first.strategy("logreg").metrics[key] == second.strategy("logreg").metrics[key]
    assert first.protocol.notes[1] == second.protocol.notes[1]
    assert (
        "Above 2,500 labelled rows the driver keeps the scores of every positive"
        in (first.protocol.notes[3])
    )
    assert first.protocol.notes[3] == second.protocol.notes[3]
    assert metrics.CHUNK_CELLS == 20_000_000  # restored after the measure step


def test_bad_scheduler_address_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", 1)
    data = tmp_path / "small.csv"
    _fraud_like(500).to_csv(data, index=False)
    runner = CliRunner()
    port = _free_port()  # nothing listens there
    result = runner.invoke(
        main,
        ["analyze", str(data), "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}"],
    )
    assert result.exit_code == 2
    assert "Error: Cannot reach the Dask scheduler at tcp://127.0.0.1:" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["analyze", str(data), "--engine", "dask", "--scheduler", "nope"])
    assert result.exit_code == 2
    assert "--scheduler must be a Dask scheduler address" in result.output
    result = runner.invoke(main, ["analyze", str(data), "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "it needs --engine dask" in result.output
    result = runner.invoke(main, ["analyze", str(data), "--engine", "dask", "--holdout", "0.3"])
    assert result.exit_code == 2
    assert "--engine dask does not support --holdout" in result.output


def test_engine_options_leave_the_default_config_unchanged():
    assert "engine" not in Config().to_dict() and "scheduler" not in Config().to_dict()
    config = make_config(engine="DASK", scheduler="tcp://h:1")
    assert config.analysis.engine == "dask"
    assert config.to_dict()["scheduler"] == "tcp://h:1"


def test_histogram_pr_auc_matches_average_precision():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(1)
    y = rng.random(50_000) < 0.02
    scores = 1 / (1 + np.exp(-(rng.normal(size=len(y)) + 2 * y - 4)))
    bins = engine._bins(scores, "probability")
    histogram = np.stack(
        [
            np.bincount(bins[~y], minlength=engine.HISTOGRAM_BINS),
            np.bincount(bins[y], minlength=engine.HISTOGRAM_BINS),
        ]
    )
    assert engine._histogram_pr_auc(histogram) == pytest.approx(
        average_precision_score(y, scores), abs=1e-3
    )


def test_anomaly_detector_is_fitted_at_the_files_prevalence():
    """The driver's sample holds every positive but a share of the negatives; the Isolation
    Forest's training parts keep every sampled negative and only the file's share of positives
    (hash-chosen, at least 2), so that its default cut flags the file's prevalence."""
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(500), np.zeros(5_000)].astype(np.int8)  # 500 of 100,500 negatives kept
    hashes = rng.integers(0, 2**63, len(y), dtype=np.uint64)
    folds = rng.permutation(len(y)) % 5
    splits = [Split(0, k, np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]
    found = engine._prevalence_splits(splits, y, hashes, positives=500, negatives=100_000)
    for split, forest in zip(splits, found, strict=True):
        negatives = split.train[y[split.train] == 0]
        assert np.array_equal(forest.train[y[forest.train] == 0], negatives)
        assert y[forest.train].sum() == round(len(negatives) * 500 / 100_000)  # about 20
        assert np.array_equal(forest.test, split.test)
    few = engine._prevalence_splits(splits, y, hashes, positives=500, negatives=10**9)
    assert all(y[s.train].sum() == 2 for s in few)  # never fewer than 2 where there are 2
