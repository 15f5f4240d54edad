"""Scheduled audits (issue #6): outputs, exit codes, gates, comparison, config files, schema,
byte-identical reruns and atomic writes.

Two real runs of the engine (module-scoped, on the bundled article data with three strategies
and 100 bootstrap resamples); every other CLI test reuses the first run's ``Results`` through
a patched ``evaluate``, so it only loads the CSV and renders.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from click.testing import CliRunner

import imbreport.api
import imbreport.evaluate
from imbreport.cli import STRATEGIES, main
from imbreport.compare import compare_reports, significant
from imbreport.errors import ConfigError
from imbreport.gates import evaluate_gates, parse_gate
from imbreport.model import SCHEMA_VERSION, Metric
from imbreport.render import markdown_escape, render_markdown

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "imbreport" / "datasets" / "article_dataset.csv"
FAST = ["--target", "label", "--strategies", "logreg,balanced,xgboost"]
FAST += ["--bootstrap", "100", "--n-jobs", "1"]
ALL_FORMATS = ["-o", "out/r.html", "-o", "out/r.json", "-o", "out/r.md", "-o", "out/r.pdf"]
NO_DATE = {"SOURCE_DATE_EPOCH": None}


def invoke(args: list[str], env: dict | None = None):
    return CliRunner().invoke(main, args, env={**NO_DATE, **(env or {})})


def real_run(folder: Path, outputs: list[str]) -> SimpleNamespace:
    """A full run in ``folder`` on its own copy of the data, named ``data.csv``."""
    captured = {}
    build_report = imbreport.api.build_report

    def spy(results, config, **kwargs):
        captured["report"] = build_report(results, config, **kwargs)
        return captured["report"]

    cwd = os.getcwd()
    try:
        os.chdir(folder)
        shutil.copy(ARTICLE, "data.csv")
        os.makedirs("out", exist_ok=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(imbreport.api, "build_report", spy)
            result = invoke(["analyze", "data.csv", *FAST, "--no-timings", *outputs])
    finally:
        os.chdir(cwd)
    report = captured.get("report")
    return SimpleNamespace(folder=folder, result=result, report=report)


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> SimpleNamespace:
    return real_run(tmp_path_factory.mktemp("first"), ALL_FORMATS)


@pytest.fixture
def cached(monkeypatch, first, tmp_path):
    """Make ``evaluate`` return the first run's results and work in a fresh folder with data.csv."""

    def fake_evaluate(dataset, config, progress=None):
        return dataclasses.replace(first.report.results, dataset=dataset)

    monkeypatch.setattr(imbreport.evaluate, "evaluate", fake_evaluate)
    monkeypatch.chdir(tmp_path)
    shutil.copy(ARTICLE, "data.csv")
    return tmp_path


def analyze(*args: str, env: dict | None = None):
    return invoke(["analyze", "data.csv", *FAST, *args], env)


def read_json(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((resources.files("imbreport") / "schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".imbreport-")]


# --- outputs and exit code 0 ------------------------------------------------------------------


def test_every_format_is_written_and_exit_code_is_0(first):
    assert first.result.exit_code == 0, first.result.output
    assert first.result.stdout == ""  # messages go to stderr only
    out = first.folder / "out"
    html = (out / "r.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()
    assert 'id="summary"' in html and 'id="changes"' not in html
    assert read_json(out / "r.json")["dataset"]["source"] == "data.csv"
    markdown = (out / "r.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Class-imbalance report: data.csv")
    assert "| Strategy | PR-AUC |" in markdown and "## Recommendations" in markdown
    pdf = (out / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-1024:]
    assert temp_files(first.folder) == []


def test_json_of_real_runs_validates_against_the_shipped_schema(first, cached):
    validator = schema_validator()
    validator.validate(read_json(first.folder / "out" / "r.json"))
    previous = first.folder / "out" / "r.json"
    result = analyze(
        "--fail-under", "pr_auc=0.99", "--fail-over", "brier=0.2", "--compare", str(previous),
        "-o", "r.json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = read_json("r.json")
    assert data["gates"] and data["changes"] and "timings" in data
    validator.validate(data)


def test_schema_version_matches_and_changes_only_with_a_migration_note():
    schema = json.loads((resources.files("imbreport") / "schema.json").read_text("utf-8"))
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert "migration note" in schema["description"]
    notes = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    assert f"\n#### {SCHEMA_VERSION}\n" in notes  # every schema_version has its migration note
    assert '"imbreport" = ["*.json"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_dash_output_writes_only_the_json_to_stdout(cached):
    result = analyze("-o", "-", "-o", "r.md")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == SCHEMA_VERSION
    assert "Wrote r.md" in result.stderr and "Recommended" in result.stderr
    assert Path("r.md").exists()


def test_no_timings_removes_timings_and_source_date_epoch_sets_the_date(first, cached):
    assert "timings" not in read_json(first.folder / "out" / "r.json")
    assert "Timings" not in (first.folder / "out" / "r.html").read_text(encoding="utf-8")
    result = analyze("-o", "r.json", "-o", "r.md", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert result.exit_code == 0, result.output
    data = read_json("r.json")
    assert "timings" in data and data["created"] == "2023-11-14"
    assert "2023-11-14" in Path("r.md").read_text(encoding="utf-8")


# --- reproducibility -------------------------------------------------------------------------


def test_reruns_in_another_folder_are_byte_identical(first, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    second = real_run(folder, ["-o", "out/r.html", "-o", "out/r.json", "-o", "out/r.md"])
    assert second.result.exit_code == 0, second.result.output
    for name in ("r.json", "r.md", "r.html"):
        before = (first.folder / "out" / name).read_bytes()
        after = (folder / "out" / name).read_bytes()
        assert before == after, f"{name} differs between two identical runs"
        for absolute in (str(first.folder), str(folder), str(ROOT)):
            assert absolute.encode() not in after, f"{name} contains an absolute path"


# --- gates -----------------------------------------------------------------------------------


def test_failed_gate_exits_1_writes_everything_and_reports_it(cached):
    result = analyze(
        "--fail-under", "pr_auc=0.99", "--fail-under", "xgboost.recall=0.5",
        "-o", "r.json", "-o", "r.md", "-o", "r.html",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Gate failed: --fail-under pr_auc=0.99" in result.stderr
    gates = read_json("r.json")["gates"]
    assert [(g["gate"], g["passed"]) for g in gates] == [
        ("--fail-under pr_auc=0.99", False),
        ("--fail-under xgboost.recall=0.5", True),
    ]
    assert gates[0]["limit"] == 0.99 and 0 < gates[0]["value"] < 0.99
    assert gates[1]["strategy"] == "xgboost"
    markdown = Path("r.md").read_text(encoding="utf-8")
    assert markdown.split("\n")[2] == "> **Quality gate failed.**"
    html = Path("r.html").read_text(encoding="utf-8")
    assert html.index("Quality gate failed") < html.index('id="summary"')


def test_passing_gates_exit_0(cached):
    result = analyze("--fail-under", "recall=0.5", "--fail-over", "log_loss=1", "-o", "r.json")
    assert result.exit_code == 0, result.output
    assert all(g["passed"] for g in read_json("r.json")["gates"])


def test_thresholded_metrics_are_read_at_the_tuned_threshold(first):
    results = first.report.results
    xgboost = results.strategy("xgboost")
    spec = parse_gate("xgboost.recall=0", "under", STRATEGIES)
    recommended = first.report.verdict.recommended.strategy
    (gate,) = evaluate_gates(results, recommended, [spec])
    assert gate.value == xgboost.metric("recall", tuned=True).value
    pr_auc_gate = parse_gate("xgboost.pr_auc=0", "under", STRATEGIES)
    (gate,) = evaluate_gates(results, recommended, [pr_auc_gate])
    assert gate.value == xgboost.metrics["pr_auc"].value


def test_a_gate_on_the_recommended_strategy_fails_when_none_is_recommended(first):
    specs = [parse_gate("pr_auc=0.1", "under", STRATEGIES)]
    specs.append(parse_gate("logreg.pr_auc=0.1", "under", STRATEGIES))
    on_recommended, on_named = evaluate_gates(first.report.results, None, specs)
    assert not on_recommended.passed and "no strategy is recommended" in on_recommended.message
    assert on_named.passed


@pytest.mark.parametrize(
    ("option", "spec", "expected"),
    [
        ("--fail-under", "prauc=0.6", "Did you mean 'pr_auc'"),
        ("--fail-under", "xgb.recall=0.8", "Unknown strategy 'xgb'"),
        ("--fail-under", "pr_auc=high", "is not a number"),
        ("--fail-under", "pr_auc", "METRIC=VALUE"),
        ("--fail-under", "pr_auc=60", "outside the range"),
        ("--fail-under", "brier=0.1", "use --fail-over brier"),
        ("--fail-over", "recall=0.1", "use --fail-under recall"),
        ("--fail-under", "smote.recall=0.5", "--strategies leaves out"),
    ],
)
def test_a_bad_gate_exits_2_before_any_computation(monkeypatch, tmp_path, option, spec, expected):
    def must_not_run(*args, **kwargs):
        raise AssertionError("evaluate ran despite a bad gate")

    monkeypatch.setattr(imbreport.evaluate, "evaluate", must_not_run)
    monkeypatch.chdir(tmp_path)
    result = invoke(["analyze", str(ARTICLE), *FAST, option, spec, "-o", "r.json"])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert not Path("r.json").exists()


# --- exit codes 2 and 3 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "missing.csv", "-o", "r.json"],
        ["analyze", str(ARTICLE), "-o", "r.docx"],
        ["analyze", str(ARTICLE), "-o", "-", "-o", "-"],
        ["analyze", str(ARTICLE), "--fail-if-worse", "-o", "r.json"],
        ["analyze", str(ARTICLE), "--folds", "1", "-o", "r.json"],
    ],
    ids=["missing data", "bad extension", "two stdout", "fail-if-worse alone", "bad folds"],
)
def test_bad_usage_or_input_exits_2_and_writes_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_internal_error_exits_3_and_writes_nothing(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(imbreport.evaluate, "evaluate", broken)
    monkeypatch.chdir(tmp_path)
    result = invoke(["analyze", str(ARTICLE), *FAST, "-o", "r.json"])
    assert result.exit_code == 3, result.output
    assert "internal error (RuntimeError: boom)" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- comparison with a previous run ----------------------------------------------------------


def test_comparing_with_the_same_run_finds_no_change(first, cached):
    previous = first.folder / "out" / "r.json"
    result = analyze("--compare", str(previous), "--fail-if-worse", "-o", "r.json", "-o", "r.html")
    assert result.exit_code == 0, result.output
    changes = read_json("r.json")["changes"]
    assert changes["highlights"] == [] and not changes["worse"] and not changes["failed"]
    assert changes["recommendation"]["changed"] is False
    assert not changes["prevalence"]["significant"]
    assert any("identical" in note for note in changes["notes"])
    html = Path("r.html").read_text(encoding="utf-8")
    assert '<section id="changes">' in html and "No change beyond the intervals" in html


def lowered_results(first, dataset):
    """The first run's results with every strategy's PR-AUC 0.1 lower and sure of it (interval
    ±0.01): a run clearly worse than the first."""

    def lowered(strategy):
        if not strategy.ok:
            return strategy
        value = strategy.metrics["pr_auc"].value - 0.1
        metric = Metric(value, (value - 0.01, value + 0.01))
        return dataclasses.replace(
            strategy,
            metrics={**strategy.metrics, "pr_auc": metric},
            tuned_metrics={**strategy.tuned_metrics, "pr_auc": metric},
        )

    results = dataclasses.replace(first.report.results, dataset=dataset)
    return dataclasses.replace(results, strategies=tuple(map(lowered, results.strategies)))


def test_fail_if_worse_turns_a_significant_drop_into_exit_1(first, cached, monkeypatch):
    monkeypatch.setattr(
        imbreport.evaluate, "evaluate", lambda dataset, *a, **k: lowered_results(first, dataset)
    )
    previous = str(first.folder / "out" / "r.json")
    result = analyze("--compare", previous, "-o", "r.json", "-o", "r.md")
    assert result.exit_code == 0, result.output  # reported, but not a failure without the flag
    assert read_json("r.json")["changes"]["worse"] is True
    result = analyze("--compare", previous, "--fail-if-worse", "-o", "r.json", "-o", "r.md")
    assert result.exit_code == 1, result.output
    changes = read_json("r.json")["changes"]
    assert changes["failed"] and changes["primary"]["significant_drop"]
    assert "Worse than the previous run" in result.stderr
    assert "PR-AUC dropped significantly" in Path("r.md").read_text(encoding="utf-8")


def test_changes_are_flagged_only_beyond_their_intervals(first):
    current = first.report.to_dict()
    previous = json.loads(json.dumps(current))
    logreg = next(s for s in previous["strategies"] if s["name"] == "logreg")
    pr_auc = logreg["metrics"]["pr_auc"]
    pr_auc["value"] = (pr_auc["value"] + pr_auc["ci"][1]) / 2  # moved, within the intervals
    changes = compare_reports(previous, current)
    change = next(s for s in changes.strategies if s.name == "logreg").metrics[0]
    assert change.metric == "pr_auc" and change.difference < 0
    assert not change.significant and change.direction == "within_intervals"
    assert significant({"value": 0.9, "ci": [0.85, 0.95]}, {"value": 0.7, "ci": [0.6, 0.8]})
    assert not significant({"value": 0.9, "ci": [0.7, 0.95]}, {"value": 0.8, "ci": [0.6, 0.85]})
    # z = 0.12 / √(0.0255² + 0.0255²) = 3.3: significant, though each interval holds the other
    # run's value in the old "outside each other's interval" reading it would be too
    assert significant({"value": 0.5, "ci": [0.45, 0.55]}, {"value": 0.38, "ci": [0.33, 0.43]})
    # z = 0.07 / 0.036 = 1.94 < 1.96: not significant (the old rule called this one a change)
    assert not significant({"value": 0.5, "ci": [0.45, 0.55]}, {"value": 0.43, "ci": [0.38, 0.48]})


def test_prevalence_threshold_and_recommendation_changes(first):
    current = first.report.to_dict()
    previous = json.loads(json.dumps(current))
    previous["dataset"]["positives"] = 150
    current_name = current["recommended"]["strategy"]
    other = "balanced" if current_name != "balanced" else "logreg"
    previous["recommended"] = {"strategy": other, "threshold": 0.9, "reason": "…"}
    xgboost = next(s for s in previous["strategies"] if s["name"] == "xgboost")
    xgboost["threshold"]["value"], xgboost["threshold"]["spread"] = 0.05, [0.01, 0.06]
    changes = compare_reports(previous, current, fail_if_worse=True)
    assert changes.prevalence.significant and changes.prevalence.previous == 0.15
    recommendation = changes.recommendation
    assert recommendation.changed and recommendation.previous == other
    xgboost_change = next(s for s in changes.strategies if s.name == "xgboost")
    assert xgboost_change.threshold.outside_previous_spread
    assert any("recommendation changed" in line for line in changes.highlights)
    assert any("Prevalence shifted" in line for line in changes.highlights)
    as_json = changes.to_dict()
    assert as_json["prevalence"]["significant"] and isinstance(as_json["strategies"], list)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not valid JSON"),
        ('{"schema_version": "1.0"}', "has no valid 'dataset.rows_used'"),
        (None, "uses schema_version 2.0"),
    ],
)
def test_an_invalid_previous_report_exits_2(first, cached, content, expected):
    if content is None:
        data = read_json(first.folder / "out" / "r.json")
        data["schema_version"] = "2.0"
        content = json.dumps(data)
    Path("previous.json").write_text(content, encoding="utf-8")
    result = analyze("--compare", "previous.json", "-o", "r.json")
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and not Path("r.json").exists()


# --- configuration files ---------------------------------------------------------------------

CONFIG = """
target = "label"
strategies = ["logreg", "balanced", "xgboost"]
bootstrap = 100
n-jobs = 1
no_timings = true
seed = 5
output = ["from-config.json"]
fail_under = ["pr_auc=0.5"]
"""


def test_config_file_options_with_command_line_overrides(cached):
    Path("imbreport.toml").write_text(CONFIG, encoding="utf-8")
    result = invoke(["analyze", "data.csv", "--config", "imbreport.toml", "-v"])
    assert result.exit_code == 0, result.output
    assert "Options read from imbreport.toml" in result.stderr
    data = read_json("from-config.json")
    assert data["config"]["seed"] == 5 and data["config"]["bootstrap"] == 100
    assert data["config"]["strategies"] == ["logreg", "balanced", "xgboost"]
    assert [g["gate"] for g in data["gates"]] == ["--fail-under pr_auc=0.5"]
    args = ["analyze", "data.csv", "--config", "imbreport.toml", "--seed", "7", "-o", "cli.json"]
    result = invoke(args + ["--fail-under", "pr_auc=0.99"])
    assert result.exit_code == 1, result.output
    data = read_json("cli.json")
    assert data["config"]["seed"] == 7 and data["config"]["timings"] is False
    assert [g["gate"] for g in data["gates"]] == ["--fail-under pr_auc=0.99"]


def test_analyze_reads_tool_imbreport_from_pyproject(cached):
    Path("pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.imbreport]\n' + CONFIG, encoding="utf-8"
    )
    result = invoke(["analyze", "data.csv", "-o", "r.json"])
    assert result.exit_code == 0, result.output
    assert read_json("r.json")["config"]["seed"] == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("fold = 3", "unknown key 'fold'. Did you mean 'folds'?"),
        ('folds = "five"', "'folds' must be an integer, got a string"),
        ("folds = 50", "'folds': 50 is not in the range"),
        ("quiet = 1", "'quiet' must be a boolean"),
        ('fail_under = ["pr_auc=2"]', "outside the range"),
        ("folds = [", "not valid TOML"),
    ],
)
def test_a_bad_config_file_exits_2_naming_the_key(tmp_path, monkeypatch, content, expected):
    monkeypatch.chdir(tmp_path)
    Path("imbreport.toml").write_text(content, encoding="utf-8")
    result = invoke(["analyze", str(ARTICLE), "--config", "imbreport.toml", "-o", "r.json"])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "imbreport.toml" in result.stderr
    assert not Path("r.json").exists()


def test_demo_shares_a_config_file_and_says_which_data_keys_it_leaves_aside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("imbreport.toml").write_text(
        'target = "Class"\npositive-label = "yes"\nbootstrap = 200\nstrategies = ["logreg"]\n',
        encoding="utf-8",
    )
    result = invoke(["demo", "--config", "imbreport.toml", "-o", "r.json"])
    assert result.exit_code == 0, result.output
    assert "positive-label, target in imbreport.toml" in result.stderr
    report = json.loads(Path("r.json").read_text(encoding="utf-8"))
    assert report["config"]["bootstrap"] == 200  # the keys that apply to demo still do
    assert report["dataset"]["target"] == "label"
    Path("imbreport.toml").write_text('targett = "Class"\n', encoding="utf-8")
    result = invoke(["demo", "--config", "imbreport.toml", "-o", "r.json"])
    assert result.exit_code == 2 and "unknown key 'targett'" in result.stderr


# --- atomic output ---------------------------------------------------------------------------


def test_a_failing_render_leaves_earlier_files_untouched(cached, monkeypatch):
    Path("r.json").write_text("earlier report", encoding="utf-8")

    def broken(report):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("imbreport.render.render_markdown", broken)
    result = analyze("-o", "r.json", "-o", "r.md")
    assert result.exit_code == 3, result.output
    assert Path("r.json").read_text(encoding="utf-8") == "earlier report"
    assert not Path("r.md").exists() and temp_files(cached) == []


def test_a_write_failing_midway_leaves_the_earlier_file_and_no_temp_file(cached, monkeypatch):
    Path("r.json").write_text("earlier report", encoding="utf-8")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = analyze("-o", "r.json")
    assert result.exit_code == 4, result.output  # the machine, not a bug (issue #14)
    assert "'r.json': the disk is full" in result.stderr
    assert Path("r.json").read_text(encoding="utf-8") == "earlier report"
    assert temp_files(cached) == []


KILLED_WRITER = """
import os, sys, time
from imbreport.cli import install_signal_handlers
from imbreport.render import write_atomic

def slow_disk(fd):
    open("writing", "w").close()
    time.sleep(60)

os.fsync = slow_disk
install_signal_handlers()
write_atomic("r.json", b"new report" * 100000)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_a_run_killed_mid_write_leaves_the_earlier_file_intact(tmp_path, signum):
    (tmp_path / "r.json").write_text("earlier report", encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "writing").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "writing").exists(), "the writer never started"
        child.send_signal(signum)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert child.returncode != 0
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == "earlier report"
    if signum == signal.SIGTERM:  # SIGKILL cannot be caught: its temp file may stay behind
        assert temp_files(tmp_path) == []


# --- interaction -----------------------------------------------------------------------------


def test_quiet_prints_nothing_but_errors_and_verbose_prints_details(cached):
    result = analyze("-q", "-o", "r.json")
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""
    result = analyze("-q", "--fail-under", "pr_auc=0.99", "-o", "r.json")
    assert result.exit_code == 1
    assert result.stderr.startswith("Gate failed:") and result.stderr.count("\n") == 1
    result = analyze("-v", "--fail-under", "pr_auc=0.1", "-o", "r.json")
    assert "Gate passed: --fail-under pr_auc=0.1" in result.stderr
    assert "fitting strategies" not in result.stderr  # progress only on a terminal


def test_help_lists_options_defaults_and_exit_codes():
    result = invoke(["analyze", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--fail-under", "--fail-over", "--compare", "--fail-if-worse", "--config"):
        assert option in text
    assert "Exit codes:" in text and "3 internal error" in text
    assert text.count("[default:") >= 20


def test_the_cli_knows_the_registry_and_imports_no_heavy_library():
    from imbreport.registry import STRATEGIES as REGISTRY

    assert tuple(REGISTRY) == STRATEGIES
    code = "import sys, imbreport.cli; print(sorted({'sklearn', 'matplotlib'} & set(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "[]"


# --- Markdown summary ------------------------------------------------------------------------


def test_markdown_escape_neutralises_data_but_leaves_sentences_alone():
    assert markdown_escape("Logistic regression (0.924 [0.862, 0.974])") == (
        "Logistic regression (0.924 [0.862, 0.974])"
    )
    assert markdown_escape("a|b`c`<img src=x>&") == "a\\|b\\`c\\`&lt;img src=x&gt;&amp;"
    # the word joiner after "https:" keeps GitHub from autolinking the URL (issue #14)
    assert markdown_escape("[click](https://evil)") == "\\[click]\\(https:\u2060//evil)"
    assert markdown_escape("# heading\n- item") == "\\# heading - item"
    assert markdown_escape("1. first") == "1\\. first"
    assert markdown_escape("back\\|slash") == "back\\\\\\|slash"


def test_summary_keeps_its_table_with_hostile_data(first):
    results = first.report.results
    hostile = "evil|name`<script>`\n## injected"
    strategies = tuple(dataclasses.replace(s, label=hostile) for s in results.strategies)
    dataset = dataclasses.replace(results.dataset, source_name=hostile)
    results = dataclasses.replace(results, dataset=dataset, strategies=strategies)
    markdown = render_markdown(dataclasses.replace(first.report, results=results))
    assert "<script>" not in markdown and "\n## injected" not in markdown
    assert markdown.startswith("# Class-imbalance report: evil\\|name\\`&lt;script&gt;\\`")
    leaderboard = markdown[markdown.index("| Strategy |") :].split("\n\n")[0]
    rows = [line for line in leaderboard.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(strategies)
    assert all(line.count(" | ") == 7 for line in rows)


def test_parse_gate_reports_what_was_expected():
    with pytest.raises(ConfigError, match="Choose from: majority, logreg"):
        parse_gate("svm.recall=0.5", "under", STRATEGIES)
    spec = parse_gate(" recommended . pr_auc = 0.6 ", "under", STRATEGIES)
    assert (spec.strategy, spec.metric, spec.limit) == (None, "pr_auc", 0.6)
    assert spec.option == "--fail-under recommended.pr_auc=0.6"


def test_prevalence_shift_compares_whole_files_when_negatives_were_sampled():
    from imbreport.compare import prevalence_shift

    full = {"rows_used": 100_000, "positives": 200, "sampling_rate": 1.0}
    sampled = {"rows_used": 20_160, "positives": 200, "sampling_rate": 0.2}  # same file, --sample
    shift = prevalence_shift(full, sampled)
    assert shift.current == pytest.approx(0.002) and not shift.significant
    assert shift.current_rows == 100_000 and shift.difference == 0
    older = {"rows_used": 100_000, "positives": 200}  # a report without sampling_rate
    assert prevalence_shift(older, full).difference == 0


def test_a_lost_recommendation_fails_only_if_the_model_in_use_got_worse(first):
    previous = first.report.to_dict()
    current = json.loads(json.dumps(previous))
    current["recommended"] = {"strategy": None, "threshold": None, "reason": "…"}
    changes = compare_reports(previous, current, fail_if_worse=True)
    # same figures: nothing beats chance in this run, but the model in use is as good as before
    assert changes.primary.recommendation_lost and not changes.failed
    assert changes.primary.current_strategy == previous["recommended"]["strategy"]
    name = previous["recommended"]["strategy"]
    gone = next(s for s in current["strategies"] if s["name"] == name)
    gone["status"] = "skipped"
    assert compare_reports(previous, current, fail_if_worse=True).failed  # it vanished


def test_a_prevalence_dependent_change_carries_the_prevalence_s_sampling_variation():
    from imbreport.compare import significant

    before, after = {"value": 0.48, "ci": [0.44, 0.52]}, {"value": 0.40, "ci": [0.36, 0.44]}
    small = {"rows_used": 5_000, "positives": 50}  # π = 1%: π itself varies by ±0.28 points
    assert significant(before, after)  # intervals alone: z = 2.8
    assert not significant(before, after, "pr_auc", (small, small))
    assert significant(before, after, "roc_auc", (small, small))  # ROC-AUC ignores π
