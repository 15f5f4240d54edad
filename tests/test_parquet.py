"""Parquet input (issue #16, its first part): a ``.parquet`` file or a folder of them gives the same
report as the CSV of the same table, apart from the input's description, with the same errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport.cli import main

FAST = ("--bootstrap", "200", "--n-jobs", "1", "--strategies", "logreg,smote,xgboost")
INPUT_DESCRIPTION = ("source", "path", "sha256")


def run(*args: str):
    return CliRunner().invoke(main, ["analyze", *args])


def report_of(data: Path, out: Path, *extra: str) -> dict:
    result = run(str(data), "-o", str(out), "--no-timings", *FAST, *extra)
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text())
    for key in INPUT_DESCRIPTION:
        report["dataset"].pop(key)
    report.pop("command")
    return report


@pytest.mark.parametrize("name", ["article_dataset.csv", "car_vgood.csv"])
def test_parquet_file_and_folder_give_the_csv_report(name, tmp_path, article_csv, shared_datasets):
    csv = article_csv if name == "article_dataset.csv" else shared_datasets / name
    table = pd.read_csv(csv)
    table.to_parquet(tmp_path / "table.parquet")
    (tmp_path / "parts" / "year=2026").mkdir(parents=True)
    half = len(table) // 2
    table.iloc[:half].to_parquet(tmp_path / "parts" / "year=2026" / "a.parquet")
    table.iloc[half:].to_parquet(tmp_path / "parts" / "year=2026" / "b.parquet")
    target = ("--target", table.columns[-1])
    from_csv = report_of(csv, tmp_path / "csv.json", *target)
    from_file = report_of(tmp_path / "table.parquet", tmp_path / "file.json", *target)
    assert from_file == from_csv
    # a hive-partitioned folder adds its partition column (here a constant): the rest is equal
    from_folder = report_of(tmp_path / "parts", tmp_path / "folder.json", *target)
    assert from_folder["strategies"] == from_csv["strategies"]
    assert from_folder["recommended"] == from_csv["recommended"]


def test_a_corrupt_parquet_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    result = run(str(bad), "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot be read as Parquet" in result.stderr


def test_the_size_limit_and_csv_options_apply_sensibly(tmp_path, article_csv):
    table = pd.read_csv(article_csv)
    table.to_parquet(tmp_path / "t.parquet")
    result = run(str(tmp_path / "t.parquet"), "--max-input-size", "1K")
    assert result.exit_code == 2 and "larger than the input size limit" in result.stderr
    out = tmp_path / "r.json"
    result = run(str(tmp_path / "t.parquet"), "--sep", ";", "-o", str(out), *FAST)
    assert result.exit_code in (0, 1), result.output
    warnings = json.loads(out.read_text())["warnings"]
    assert any("--sep applies to CSV files" in w for w in warnings)


def test_a_folder_without_parquet_files_is_still_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(str(tmp_path / "empty"))
    assert result.exit_code == 2 and "is a folder" in result.stderr
