"""Segments (``--segment``, issue #15): figures per group of rows, the "distinguishably lower"
flag, gates on a segment, and how HTML, PDF, JSON and Markdown show them.

One real run of the engine (module-scoped: logistic regression only, 100 bootstrap resamples)
on synthetic data with a planted harder segment; the interval and escaping checks build their
``Results`` by hand, and the CLI's bad-gate checks stop before any data is read.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import jsonschema
import numpy as np
import pandas as pd
import pytest
import report_factory
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

import imbreport
from imbreport.cli import main
from imbreport.errors import ConfigError
from imbreport.gates import parse_gate
from imbreport.inference import exact_binomial
from imbreport.model import Draws, RoleColumns
from imbreport.render import render_html, render_markdown
from imbreport.segments import MAX_SEGMENTS, segment_figures

HOSTILE = "<script>alert(1)</script> @user | `x`"
FAST = {"strategies": ("logreg",), "bootstrap": 100, "n_jobs": 1}


def planted_frame(seed: int = 3, n: int = 2400) -> pd.DataFrame:
    """10 % positives; in region 'east' the positives barely differ from the negatives (a
    harder segment); 'shuffled' is a 4-group column unrelated to anything; a small group with a
    hostile name."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.10).astype(int)
    region = rng.choice(["north", "south", "east"], size=n, p=[0.4, 0.35, 0.25]).astype(object)
    region[rng.random(n) < 0.015] = HOSTILE
    shift = np.where(region == "east", 0.4, 2.5)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n) + shift * y,
            "x2": rng.normal(size=n),
            "region": region,
            "shuffled": rng.choice(["a", "b", "c", "d"], size=n),
            "label": y,
        }
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segments")
    path = folder / "planted.csv"
    planted_frame().to_csv(path, index=False)
    report = imbreport.analyze(
        str(path),
        target="label",
        segment=("region", "shuffled"),
        fail_under=("recall[region=north]=0.5", "recall[region=*]=0.99", "pr_auc[shuffled=a]=0.2"),
        **FAST,
    )
    return path, report


def table(report, column: str):
    return next(t for t in report.verdict.segments.tables if t.column == column)


def row(report, column: str, value: str):
    return next(r for r in table(report, column).rows if r.value == value)


# --- figures --------------------------------------------------------------------------------


def test_figures_equal_a_hand_count_from_the_pooled_decisions(planted):
    _, report = planted
    draws = report.results.draws
    y = np.asarray(draws.labels).astype(bool)
    decided = np.asarray(draws.pooled_decisions["logreg"]).astype(bool)
    scores = draws.pooled_scores["logreg"]
    values = np.asarray(report.results.dataset.roles.segments["region"])[draws.rows]
    for found in table(report, "region").rows:
        inside = values == found.value
        tp = int((inside & y & decided).sum())
        fp = int((inside & ~y & decided).sum())
        positives = int((inside & y).sum())
        assert (found.rows, found.positives) == (int(inside.sum()), positives)
        assert found.recall.value == pytest.approx(tp / positives)
        assert found.recall.ci == pytest.approx(exact_binomial(tp, positives))
        assert found.precision.value == pytest.approx(tp / (tp + fp))
        assert found.precision.ci == pytest.approx(exact_binomial(tp, tp + fp))
        assert found.prevalence == pytest.approx(positives / inside.sum())
        assert found.pr_auc.value == pytest.approx(
            average_precision_score(y[inside], scores[inside])
        )


def test_the_planted_harder_segment_is_flagged_and_the_random_one_is_not(planted):
    _, report = planted
    east = row(report, "region", "east")
    assert "recall" in east.lower
    assert east.tests["recall"].adjusted <= 0.05
    assert east.recall.value < east.tests["recall"].rest
    assert not any(r.lower for r in table(report, "shuffled").rows)
    flagged = report.verdict.segments.flagged
    assert any(
        line.startswith("Recall is distinguishably lower in region = east:") for line in flagged
    )
    assert not any("shuffled" in line for line in flagged)
    # Holm over every test of the run: each adjusted p-value is at least its raw one
    tests = [
        t for tb in report.verdict.segments.tables for r in tb.rows for t in r.tests.values() if t
    ]
    assert len(tests) == report.verdict.segments.tests
    assert all(t.adjusted >= t.p_value for t in tests)


def test_a_tiny_segment_says_so_and_is_not_tested(planted):
    _, report = planted
    hostile = row(report, "region", HOSTILE)
    assert hostile.positives < 10 and hostile.size == "tiny"
    assert hostile.tests == {"recall": None, "precision": None}
    assert hostile.pr_auc.ci is None  # a bootstrap of a few positives says nothing honest


def results_with_segment(values: np.ndarray, y: np.ndarray, decided: np.ndarray, scores=None):
    """The hand-built report's results with a segment column and the draws it reads."""
    report = report_factory.make_report()
    results = report.results
    n = len(y)
    dataset = dataclasses.replace(
        results.dataset,
        y=y,
        roles=RoleColumns(segments={"zone": values}, segment_kinds={"zone": "values"}),
    )
    scores = np.where(decided, 0.9, 0.1) if scores is None else scores
    draws = Draws(
        pooled_scores={"logreg": scores},
        pooled_decisions={"logreg": decided},
        labels=y,
        rows=np.arange(n),
    )
    return dataclasses.replace(results, dataset=dataset, draws=draws)


def test_a_small_segments_intervals_are_wider_than_a_large_ones_at_the_same_rates():
    # 'big': 200 positives, 'small': 20, both with recall 0.8 and precision 0.8
    parts = []
    for name, positives in (("big", 200), ("small", 20)):
        found, false_alarms = int(0.8 * positives), int(0.2 * positives)
        y = [1] * positives + [0] * (10 * positives)
        decided = [1] * found + [0] * (positives - found) + [1] * false_alarms
        decided += [0] * (10 * positives - false_alarms)
        parts.append((np.array([name] * len(y), dtype=object), np.array(y), np.array(decided)))
    values, y, decided = (np.concatenate(p) for p in zip(*parts, strict=True))
    scores = np.random.default_rng(0).random(len(y)) + 0.5 * y  # overlapping: PR-AUC < 1
    found = segment_figures(results_with_segment(values, y, decided.astype(bool), scores), "logreg")
    big, small = (next(r for r in found.tables[0].rows if r.value == v) for v in ("big", "small"))
    assert big.recall.value == small.recall.value == pytest.approx(0.8)
    assert big.precision.value == small.precision.value == pytest.approx(0.8)
    for key in ("recall", "precision", "pr_auc"):
        width = {r.value: getattr(r, key).ci[1] - getattr(r, key).ci[0] for r in (big, small)}
        assert width["small"] > width["big"], key
    assert (big.size, small.size) == ("ok", "small")
    assert not big.lower and not small.lower  # the same rates: nothing to flag


def test_a_high_cardinality_column_shows_the_largest_groups_and_pools_the_rest():
    rng = np.random.default_rng(1)
    n = 3000
    y = (rng.random(n) < 0.2).astype(int)
    values = np.array([f"id{i % 60}" for i in range(n)], dtype=object)
    found = segment_figures(results_with_segment(values, y, y.astype(bool)), "logreg")
    rows = found.tables[0].rows
    assert len(rows) == MAX_SEGMENTS + 1 and rows[-1].other
    assert rows[-1].value == f"other ({60 - MAX_SEGMENTS} values)"
    assert rows[-1].tests == {"recall": None, "precision": None}
    assert sum(r.rows for r in rows) == n


def test_no_segment_option_leaves_the_json_block_null(planted):
    report = report_factory.make_report()
    assert report.to_dict()["segments"] is None


# --- outputs --------------------------------------------------------------------------------


def schema_validator():
    schema = json.loads((resources.files("imbreport") / "schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_json_has_the_segments_block_and_validates_against_the_schema(planted):
    _, report = planted
    data = json.loads(json.dumps(report.to_dict()))
    schema_validator().validate(data)
    block = data["segments"]
    assert block["tests"] > 0 and block["family_wise_error"] == 0.05
    east = next(
        s
        for t in block["tables"]
        if t["column"] == "region"
        for s in t["segments"]
        if s["value"] == "east"
    )
    assert "recall" in east["lower"] and east["tests"]["recall"]["lower"] is True
    assert [g["segment"] for g in data["gates"]][0] == {"column": "region", "value": "north"}


def test_html_pdf_and_markdown_show_the_section_with_hostile_values_escaped(planted):
    _, report = planted
    html = render_html(report)
    section = html[html.index('<section id="segments">') :]
    section = section[: section.index("</section>")]
    assert "Recall is distinguishably lower in region = east" in section
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; @user | `x`" in section
    assert '<a href="#segments">Segments</a>' in html
    markdown = render_markdown(report)
    part = markdown[markdown.index("## Segments") :]
    assert "> **Lower in a segment.** Recall is distinguishably lower in region = east" in part
    assert "&lt;script&gt;alert(1)&lt;/script&gt; @\u2060user \\| \\`x\\`" in part
    assert "<script>" not in markdown and "@user" not in markdown
    pdf = report_pdf_text(report)
    assert "Segments" in pdf and "region — Logistic regression" in pdf


def report_pdf_text(report) -> str:
    from imbreport.render import render_pdf

    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF")
    try:
        from pypdf import PdfReader
    except ImportError:  # no text extractor: the rendered HTML stands for the PDF's content
        return render_html(report)
    import io

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- gates ----------------------------------------------------------------------------------


def test_segment_gates_pass_and_fail_on_the_segment_figures(planted):
    _, report = planted
    north, every, shuffled = report.gates
    assert north.passed and north.value == pytest.approx(
        row(report, "region", "north").recall.value
    )
    assert "in region = north meets the limit 0.5" in north.message
    assert not every.passed and "under the limit 0.99 in region = " in every.message
    assert "smaller segment(s) not checked" in every.message  # the tiny hostile group
    assert shuffled.passed and shuffled.value == pytest.approx(
        row(report, "shuffled", "a").pr_auc.value
    )
    assert report.return_code == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("recall[region=north]=0.7", (None, "recall", ("region", "north"))),
        ("logreg.precision[region=*]=0.5", ("logreg", "precision", ("region", "*"))),
        ("pr_auc[amount=(3.5, 7]]=0.4", (None, "pr_auc", ("amount", "(3.5, 7]"))),
    ],
)
def test_segment_gate_syntax(text, expected):
    spec = parse_gate(text, "under", None)
    assert (spec.strategy, spec.metric, spec.segment) == expected
    assert spec.option == f"--fail-under {text}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("recall[region]=0.7", "METRIC[COLUMN=VALUE]=LIMIT"),
        ("recall[region=north=0.7", "METRIC[COLUMN=VALUE]=LIMIT"),
        ("recall[=north]=0.7", "METRIC[COLUMN=VALUE]=LIMIT"),
        ("f1[region=north]=0.7", "a segment gate reads recall, precision, pr_auc"),
        ("recall[region=north]=70", "outside the range of recall"),
    ],
)
def test_bad_segment_gates_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        parse_gate(text, "under", None)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fail-under", "recall[region=north]=0.7"], "not given to --segment"),
        (
            ["--segment", "shuffled", "--fail-under", "recall[regio=north]=0.7"],
            "names column 'regio'",
        ),
        (
            ["--segment", "region", "--fail-under", "recall[region]=0.7"],
            "METRIC[COLUMN=VALUE]=LIMIT",
        ),
        (
            ["--segment", "region", "--fail-under", "recall[region=nort]=0.7"],
            "which no row holds. Did you mean 'north'?",
        ),
        (["--segment", "serial"], "looks like an identifier"),
    ],
)
def test_a_bad_segment_gate_exits_2_with_an_error_and_writes_nothing(tmp_path, args, message):
    data = tmp_path / "d.csv"
    frame = planted_frame(n=300)
    frame["serial"] = [f"s{i}" for i in range(len(frame))]
    frame.to_csv(data, index=False)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["analyze", str(data), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    assert "Error" in result.output and message in result.output
    assert not out.exists()


def test_cli_exit_codes_and_flag_lines_on_stderr(planted, tmp_path):
    path, _ = planted
    common = ["analyze", str(path), "--target", "label", "--strategies", "logreg"]
    common += [
        "--bootstrap",
        "100",
        "--n-jobs",
        "1",
        "--segment",
        "region",
        "-o",
        str(tmp_path / "r.md"),
    ]
    runner = CliRunner()
    passed = runner.invoke(main, [*common, "--fail-under", "recall[region=north]=0.5"])
    assert passed.exit_code == 0, passed.output
    assert "Segment: Recall is distinguishably lower in region = east" in passed.output
    failed = runner.invoke(main, [*common, "--fail-under", "recall[region=east]=0.9"])
    assert failed.exit_code == 1, failed.output
    assert "Gate failed: --fail-under recall[region=east]=0.9" in failed.output
