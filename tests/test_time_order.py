"""Time order (--time): no model learns from a row later than one it is evaluated on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport.api import analyze
from imbreport.cli import main
from imbreport.errors import InputError
from imbreport.options import AnalysisOptions
from imbreport.splits import make_splits

FAST = {"strategies": ("logreg",), "bootstrap": 200, "n_jobs": 1, "seed": 5}


def events(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Events over a year; ties (several rows a day); the signal fades with time."""
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, 365, n))
    y = (rng.random(n) < 0.07).astype(int)
    fading = 1.5 * (1 - day / 365)
    rows = rng.permutation(n)  # rows not stored in time order
    return (
        pd.DataFrame(
            {
                "when": (pd.Timestamp("2025-01-01") + pd.to_timedelta(day, unit="D")).strftime(
                    "%Y-%m-%d"
                ),
                "x": rng.normal(fading * y, 1.0),
                "z": rng.normal(0, 1, n),
                "score": np.clip(0.4 * y + rng.normal(0.2, 0.15, n), 0, 1),
                "label": y,
            }
        )
        .iloc[rows]
        .reset_index(drop=True)
    )


def test_every_evaluated_row_is_later_than_every_row_its_model_learned_from():
    rng = np.random.default_rng(1)
    order = rng.integers(0, 50, 600).astype(float)  # many ties
    y = (rng.random(600) < 0.1).astype(np.int8)
    splits, _ = make_splits(y, AnalysisOptions(folds=4), order=order)
    assert len(splits) == 4
    seen = set()
    for s in splits:
        assert order[s.train].max() < order[s.test].min()  # strictly earlier: ties kept whole
        assert y[s.test].sum() >= 1 and y[s.train].sum() >= 2
        assert not seen & set(s.test.tolist())  # each row evaluated once
        seen |= set(s.test.tolist())
    # expanding window: each training part holds the previous one and its held-out block
    for before, after in zip(splits, splits[1:], strict=False):
        assert set(after.train.tolist()) == set(before.train.tolist()) | set(before.test.tolist())


def test_a_time_holdout_evaluates_the_latest_rows():
    order = np.arange(1000, dtype=float)[::-1]  # stored latest first
    y = np.zeros(1000, dtype=np.int8)
    y[::17] = 1
    (split,), _ = make_splits(y, AnalysisOptions(holdout=0.25), order=order)
    assert len(split.test) == 250
    assert order[split.test].min() > order[split.train].max()


def test_too_few_positives_for_a_time_split_is_a_clear_error():
    order = np.arange(100, dtype=float)
    y = np.zeros(100, dtype=np.int8)
    y[[97, 98, 99]] = 1  # every positive at the very end
    with pytest.raises(InputError, match="too few positives for a time split"):
        make_splits(y, AnalysisOptions(folds=5), order=order)


def test_fewer_folds_when_a_block_would_hold_no_positive():
    order = np.arange(300, dtype=float)
    y = np.zeros(300, dtype=np.int8)
    y[[1, 2, 3, 150, 160, 290]] = 1
    splits, notes = make_splits(y, AnalysisOptions(folds=5), order=order)
    assert 1 <= len(splits) < 5
    assert any("forward-chaining folds instead of 5" in n for n in notes)


@pytest.fixture(scope="module")
def report():
    return analyze(events(), target="label", time="when", score=("score",), **FAST)


def test_the_report_follows_time_and_shows_the_trend(report):
    ds = report.results.dataset
    assert "when" not in ds.numeric + ds.categorical and "score" not in ds.numeric
    protocol = report.results.protocol
    assert protocol.ordered_by == "when"
    assert any("forward-chaining" in n for n in protocol.notes)
    trend = report.verdict.trend
    assert trend is not None and trend.column == "when"
    assert len(trend.periods) == protocol.folds == 5
    assert sum(p.rows for p in trend.periods) == protocol.evaluated_rows < ds.rows_used
    assert set(trend.subjects) == {"logreg", "score"}
    starts = [p.label.split(" – ")[0] for p in trend.periods]
    assert starts == sorted(starts)  # periods in time order (ISO dates sort as text)
    for p in trend.periods:
        figure = p.figures["logreg"]["recall"]
        assert figure.ci[0] <= figure.value <= figure.ci[1]
    # no warning suggesting --time when it was given
    assert not any("--time" in w for w in report.warnings)
    out = report.to_dict()
    assert out["protocol"]["ordered_by"] == "when"
    assert len(out["trend"]["periods"]) == 5


def test_a_date_column_without_time_gets_a_warning_that_names_the_option():
    report = analyze(events(600), target="label", **FAST)
    assert any("--time when" in w for w in report.warnings)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--time", "when", "--groups", "z"], "cannot be combined"),
        (["--time", "when", "--repeats", "2"], "--repeats needs random splits"),
        (["--time", "nope"], "Column 'nope' is not in the data"),
        (["--time", "word"], "neither dates nor numbers"),
        (["--time", "mixed"], "mixes date formats"),
        (["--time", "same"], "Every row has the same time"),
    ],
)
def test_bad_time_options_exit_2(tmp_path, args, message):
    data = events(300)
    data["word"] = "soon"
    data["mixed"] = ["2025-01-05" if i % 2 else "13/01/2025" for i in range(len(data))]
    data["same"] = 7
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    result = CliRunner().invoke(
        main, ["analyze", str(path), "--target", "label", *args, "-o", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "r.json").exists()


def test_thresholds_are_tuned_on_the_latest_rows_of_each_training_part():
    """Under --time no threshold is chosen by a model that learned from later rows: each
    training part is cut into earlier fitting rows and its latest rows for validation."""
    from imbreport.splits import with_validation

    rng = np.random.default_rng(3)
    order = rng.integers(0, 80, 800).astype(float)
    y = (rng.random(800) < 0.1).astype(np.int8)
    splits, _ = make_splits(y, AnalysisOptions(folds=3), order=order)
    for s in splits:
        cut = with_validation(s, y, 0.2, 0, order=order)
        assert order[cut.fit].max() < order[cut.validation].min()
        assert set(cut.fit.tolist()) | set(cut.validation.tolist()) == set(s.train.tolist())
        assert y[cut.validation].sum() >= 1
    report = analyze(events(), target="label", time="when", **FAST)
    assert "latest 20% of each training part" in report.results.protocol.threshold_tuning
