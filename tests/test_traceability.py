"""What a reviewer files and reruns (issue #18): help that reads whole, the run's date, the data
file by name, the command line that reproduces the run, readable configuration values."""

from __future__ import annotations

import datetime
import json
import os
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport.cli import main
from imbreport.registry import METRIC_KEYS


def test_the_command_list_is_not_cut_mid_word():
    text = CliRunner().invoke(main, ["--help"]).output
    commands = text.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 2
    for line in commands:
        assert not line.rstrip().endswith("..."), line


def test_the_gate_help_lists_every_metric_name():
    text = " ".join(CliRunner().invoke(main, ["analyze", "--help"]).output.split())
    gate_help = text.split("--fail-under")[1].split("--fail-over")[0]
    for metric in METRIC_KEYS:
        assert metric in gate_help, metric


# --- the run's date, the file's name, the command that reproduces it -----------------------

FAST = ("--bootstrap", "100", "--n-jobs", "1", "--strategies", "logreg,balanced")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A small CSV one folder down, analysed from a sibling folder with a relative path."""
    root = tmp_path_factory.mktemp("trace")
    (root / "data").mkdir()
    (root / "work").mkdir()
    rng = np.random.default_rng(5)
    y = (np.arange(200) % 8 == 0).astype(int)
    frame = pd.DataFrame(
        {"amount": rng.normal(size=200) + 1.5 * y, "suit": rng.integers(1, 5, 200)}
    )
    frame["fraud"] = np.where(y == 1, "yes", "no")
    frame.to_csv(root / "data" / "claims 2026.csv", index=False)
    return root


def analyze_in(folder: Path, *args: str, env: dict | None = None):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(main, ["analyze", *args], env=env)
    finally:
        os.chdir(previous)


def test_the_report_names_the_file_shows_the_path_and_dates_the_run(run_folder):
    work = run_folder / "work"
    result = analyze_in(
        work, "../data/claims 2026.csv", "-o", "r.json", "-o", "r.html", "-o", "r.md", *FAST
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((work / "r.json").read_text())
    assert report["dataset"]["source"] == "claims 2026.csv"
    assert report["dataset"]["path"] == "../data/claims 2026.csv"
    today = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")
    assert report["created"] == today
    html = (work / "r.html").read_text()
    title = html.split("<title>")[1].split("</title>")[0]
    assert "claims 2026.csv" in title and "../data" not in title
    assert "<code>../data/claims 2026.csv</code>" in html  # the appendix keeps the path
    assert today in html
    summary = (work / "r.md").read_text()
    assert summary.splitlines()[0].endswith("claims 2026.csv") and "../data" not in summary


def test_no_timings_leaves_the_date_out_and_source_date_epoch_fixes_it(run_folder):
    work = run_folder / "work"
    analyze_in(work, "../data/claims 2026.csv", "-o", "a.json", "--no-timings", *FAST)
    assert json.loads((work / "a.json").read_text())["created"] is None
    env = {"SOURCE_DATE_EPOCH": "0"}
    analyze_in(work, "../data/claims 2026.csv", "-o", "b.json", *FAST, env=env)
    assert json.loads((work / "b.json").read_text())["created"] == "1970-01-01"


def test_the_printed_command_reproduces_the_numbers(run_folder):
    work = run_folder / "work"
    analyze_in(
        work, "../data/claims 2026.csv", "-o", "first.json", "--no-timings", *FAST, "--seed", "7"
    )
    first = json.loads((work / "first.json").read_text())
    words = shlex.split(first["command"])
    assert words[:3] == ["imbreport", "analyze", "../data/claims 2026.csv"]
    assert ["--positive-label", "yes"] == words[words.index("--positive-label") :][:2]
    assert "--seed" in words and words[words.index("--seed") + 1] == "7"
    result = analyze_in(work, *words[2:], "-o", "second.json", "--no-timings", "--n-jobs", "1")
    assert result.exit_code in (0, 1), result.output
    second = json.loads((work / "second.json").read_text())
    first["dataset"].pop("target_chosen_by")  # "last column" then "--target"
    second["dataset"].pop("target_chosen_by")
    for key in ("dataset", "protocol", "strategies", "recommended", "comparisons"):
        assert first[key] == second[key], key


def test_the_configuration_table_reads_as_words(run_folder):
    work = run_folder / "work"
    analyze_in(
        work,
        "../data/claims 2026.csv",
        "-o",
        "c.html",
        "--n-jobs",
        "-1",
        *FAST[:2],
        "--strategies",
        "logreg",
    )
    html = (work / "c.html").read_text()
    table = html.split("<h3>Configuration</h3>")[1].split("</table>")[0]
    cells = [part.split("</td>")[0] for part in table.split("<td>")[1:]]
    assert cells, table
    for raw in ("True", "False", "None", "-1"):
        assert raw not in cells, (raw, cells)
    assert "all cores" in cells and "yes" in cells


def test_a_dataframe_gets_a_digest_of_its_contents():
    from imbreport.data import frame_sha256

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    digest = frame_sha256(frame)
    assert len(digest) == 64 and digest == frame_sha256(frame.copy())
    changed = frame.copy()
    changed.loc[1, "a"] = 2.5
    assert frame_sha256(changed) != digest
    assert frame_sha256(frame.rename(columns={"a": "b"})) != digest


def test_the_appendix_command_breaks_only_between_options():
    from imbreport.view import _command_lines

    command = (
        "imbreport analyze '../my data.csv' --target label --positive-label 'yes please' "
        "--categorical a --folds 5 --strategies logreg,smote"
    )
    shown = _command_lines(command)
    lines = shown.split("\n")
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert all(line.lstrip().startswith("--") for line in lines[1:])
    assert shlex.split(shown.replace("\\\n", " ")) == shlex.split(command)  # still runs as is
