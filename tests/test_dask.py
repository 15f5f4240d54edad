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

from imbreport import analyze  # noqa: E402
from imbreport import distributed as engine  # noqa: E402
from imbreport.cli import main  # noqa: E402
from imbreport.options import Config, make_config  # noqa: E402

FAST = {"bootstrap": 200, "n_jobs": 2}


def _fraud_like(rows: int, seed: int = 7) -> pd.DataFrame:
    """A learnable table: 6 numeric columns, one categorical, about 4 % positives."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.04).astype(int)
    frame = pd.DataFrame({f"v{i}": rng.normal(size=rows) + (0.9 - 0.15 * i) * y for i in range(6)})
    frame["shop"] = rng.choice(["a", "b", "c", "d"], size=rows)
    frame.loc[rng.random(rows) < 0.01, "v2"] = np.nan
    frame["label"] = np.where(y == 1, "fraud", "ok")
    return frame


@pytest.fixture(scope="module")
def moderate_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dask") / "moderate.csv"
    _fraud_like(20_000).to_csv(path, index=False)
    return path


def _pr_auc(report, name: str) -> float:
    return report.results.strategy(name).metrics["pr_auc"].value


def test_local_cluster_matches_the_pandas_engine(moderate_csv):
    """A LocalCluster started and stopped with the run; PR-AUC within ±0.01 of the pandas path."""
    strategies = ("logreg", "balanced", "xgboost")
    on_dask = analyze(moderate_csv, engine="dask", strategies=strategies, **FAST)
    on_pandas = analyze(moderate_csv, strategies=strategies, **FAST)
    for name in strategies:
        assert _pr_auc(on_dask, name) == pytest.approx(_pr_auc(on_pandas, name), abs=0.01)
    dataset = on_dask.results.dataset
    assert dataset.class_counts == on_pandas.results.dataset.class_counts
    assert dataset.missing == on_pandas.results.dataset.missing
    assert dataset.positive_label == "fraud"
    notes = " ".join(on_dask.results.protocol.notes)
    assert "local cluster started for this run" in notes
    assert "Every score came back to the driver" in notes
    assert on_dask.results.protocol.evaluated_rows == 20_000
    data = on_dask.to_dict()
    assert data["config"]["engine"] == "dask"
    assert "engine" not in on_pandas.to_dict()["config"]  # the default run's JSON is unchanged


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
        [dask_command, "worker", address, "--nworkers", "1", "--nthreads", "2", "--no-dashboard"],
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
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


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
    assert "scheduler" not in report["config"] or report["config"]["scheduler"]
    assert report["strategies"][1]["metrics"]["pr_auc"]["value"] > 0.1


def test_folds_do_not_depend_on_partitioning(scheduler_address, tmp_path):
    """One table as one Parquet file and as four: the same folds, samples and figures."""
    frame = _fraud_like(4_000, seed=5)
    whole = tmp_path / "whole.parquet"
    frame.to_parquet(whole, index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False)
    options = {"engine": "dask", "scheduler": scheduler_address, "strategies": ("logreg",)}
    first = analyze(whole, **options, **FAST)
    second = analyze(parts, **options, **FAST)
    assert "in 1 partition(s)" in first.results.protocol.notes[0]
    assert "in 4 partition(s)" in second.results.protocol.notes[0]
    for key in ("pr_auc", "roc_auc", "recall"):
        assert (
            first.results.strategy("logreg").metrics[key]
            == (second.results.strategy("logreg").metrics[key])
        )
    assert first.results.protocol.notes[1] == second.results.protocol.notes[1]


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
