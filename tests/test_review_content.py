"""What a reviewer still missed (issue #18): the recommended strategy fold by fold, its workload
at the threshold and in the top scores, what drives its model, the hint that a column of a few
whole numbers may hold category codes, and the Markdown summary carrying the warnings."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import jsonschema
import numpy as np
import pandas as pd
import pytest
from report_factory import make_report

from imbreport import analyze, evaluate
from imbreport.data import MAX_CODE_VALUES, build_dataset, integer_codes
from imbreport.model import TOP_FEATURES, Draws
from imbreport.options import make_config
from imbreport.recommend import workload
from imbreport.render import render_html, render_json, render_markdown

HOSTILE_COLUMN = "<script>alert(1)</script> & co"
FAST = {"bootstrap": 100, "n_jobs": 1, "seed": 3}


def review_frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A learnable label (``signal`` is the label plus noise), a 4-valued integer column, a
    categorical column named by hostile text, a continuous whole-number-free column, and some
    exact copies of rows."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.12).astype(int)
    frame = pd.DataFrame(
        {
            "signal": y + rng.normal(0, 0.35, rows),
            "noise": rng.normal(size=rows),
            "suit": rng.integers(1, 5, rows),
            HOSTILE_COLUMN: rng.choice(["red", "green", "blue"], rows),
            "label": y,
        }
    )
    return pd.concat([frame, frame.iloc[:20]], ignore_index=True)  # 20 exact copies


@pytest.fixture(scope="module")
def report():
    return analyze(
        review_frame(),
        target="label",
        strategies=("majority", "logreg", "smote"),
        display_name="review.csv",
        **FAST,
    )


@pytest.fixture(scope="module")
def as_json(report) -> dict:
    return json.loads(render_json(report))


# --- per-fold figures --------------------------------------------------------------------------


def test_the_fold_table_has_one_row_per_split_and_its_spread(report):
    folds = report.verdict.folds
    chosen = report.results.strategy(report.verdict.recommended.strategy)
    assert folds is not None and folds.strategy == chosen.name == "logreg"
    assert len(folds.rows) == report.results.protocol.folds == 5
    assert [row.fold for row in folds.rows] == [0, 1, 2, 3, 4]
    # every evaluated row and positive is held out exactly once
    assert sum(row.rows for row in folds.rows) == report.results.protocol.evaluated_rows
    assert sum(row.positives for row in folds.rows) == report.results.dataset.positives
    pr_aucs = [row.pr_auc for row in folds.rows]
    spread = folds.spread["pr_auc"]
    assert spread.low == min(pr_aucs) and spread.high == max(pr_aucs)
    assert spread.low <= spread.mean <= spread.high
    assert spread.mean == pytest.approx(np.mean(pr_aucs))
    assert spread.sd == pytest.approx(np.std(pr_aucs, ddof=1))
    # the thresholds are each split's own, the ones the leaderboard's spread is made of
    thresholds = [row.threshold for row in folds.rows]
    assert sorted(thresholds) == sorted(chosen.fold_thresholds)
    assert folds.spread["threshold"].low == chosen.threshold_spread[0]


def test_the_fold_table_is_in_the_html_markdown_and_json(report, as_json):
    html, markdown = render_html(report), render_markdown(report)
    section = html[html.index('<section id="folds">') : html.index('<section id="workload">')]
    assert section.count('<tr><th scope="row">fold ') == 5
    assert "pooled, 95% interval" in section and "range across splits" in section
    assert markdown.count("\n| fold ") == 5 and "\n| range |" in markdown
    per_fold = as_json["recommended"]["folds"]["per_fold"]
    assert len(per_fold) == 5 and {"pr_auc", "recall", "precision", "threshold"} <= set(per_fold[0])


def test_a_single_holdout_has_no_fold_table():
    single = analyze(review_frame(), target="label", strategies=("logreg",), holdout=0.3, **FAST)
    assert single.verdict.folds is None
    assert "A single holdout split was evaluated" in render_html(single)


# --- workload ----------------------------------------------------------------------------------


def test_top_shares_catch_more_positives_as_they_grow_never_more_than_there_are(report):
    work = report.verdict.workload
    assert work is not None and work.strategy == "logreg"
    assert [t.share for t in work.top] == [0.01, 0.05, 0.10]
    caught = [t.positives for t in work.top]
    assert caught == sorted(caught) and caught[-1] <= work.positives
    for t in work.top:
        assert t.rows >= t.share * work.rows  # ties at the cut can only add rows
        assert t.precision == pytest.approx(t.positives / t.rows)
        assert t.recall == pytest.approx(t.positives / work.positives)


def test_flagged_rows_per_thousand_at_the_deployed_threshold(report):
    work, verdict = report.verdict.workload, report.verdict
    assert work.threshold == verdict.recommended.threshold  # the threshold to deploy
    scores = report.results.draws.pooled_scores["logreg"]
    labels = report.results.draws.labels
    flagged = scores >= work.threshold
    assert work.flagged == int(flagged.sum())
    assert work.caught == int((flagged & (labels == 1)).sum()) <= work.positives
    assert work.per_1000 == pytest.approx(1000 * work.flagged / work.rows)
    low, high = work.per_1000_ci
    assert low <= work.per_1000 <= high
    assert f"{work.per_1000:.1f} per 1,000" in render_html(report)


def workload_of(scores, labels, sampling_rate: float = 1.0):
    base = make_report()
    dataset = dataclasses.replace(base.results.dataset, sampling_rate=sampling_rate)
    draws = Draws(pooled_scores={"logreg": np.asarray(scores, float)}, labels=np.asarray(labels))
    results = dataclasses.replace(base.results, dataset=dataset, draws=draws)
    return workload(results, "logreg", 0.5)


def test_tied_scores_are_taken_together_and_a_perfect_ranking_finds_every_positive():
    labels = np.r_[np.ones(30, int), np.zeros(970, int)]
    tied = workload_of(np.full(1000, 0.2), labels)
    assert [t.rows for t in tied.top] == [1000, 1000, 1000]  # one score: no row before another
    spread = np.random.default_rng(0).random(1000) / 2  # no ties; positives above negatives
    perfect = workload_of(labels + spread, labels)
    assert [t.positives for t in perfect.top] == [10, 30, 30]
    assert [t.rows for t in perfect.top] == [10, 50, 100]
    assert perfect.top[0].precision == 1.0 and perfect.top[2].recall == 1.0
    assert perfect.flagged == 30 + int((spread[30:] >= 0.5).sum()) and perfect.caught == 30


def test_under_sample_the_kept_negatives_count_for_the_ones_they_stand_for():
    labels = np.r_[np.ones(30, int), np.zeros(170, int)]
    scores = np.r_[np.full(30, 0.9), np.full(10, 0.8), np.full(160, 0.1)]
    work = workload_of(scores, labels, sampling_rate=0.1)
    assert work.rows == 30 + 1700
    assert work.flagged == 30 + 100 and work.caught == 30
    assert work.per_1000_ci is None  # no exact interval for weighted counts


# --- features ----------------------------------------------------------------------------------


def test_coefficients_rank_the_feature_that_is_the_label_plus_noise_first(report):
    features = report.verdict.features
    assert features.strategy == "logreg" and features.method == "standardised coefficient"
    assert features.weights[0].feature == "signal" and features.weights[0].value > 0
    assert len(features.weights) <= TOP_FEATURES
    # numeric inputs by name, each category of the one-hot column as "column = category"
    names = {w.feature for w in features.weights}
    assert {f"{HOSTILE_COLUMN} = {c}" for c in ("red", "green", "blue")} <= names
    assert features.inputs == 3 + 3
    assert "not what causes" in features.caveat


def test_gain_ranks_it_first_for_xgboost_and_a_detector_is_skipped_with_its_reason():
    config = make_config(target="label", n_jobs=1)
    dataset = build_dataset(review_frame(), config.analysis)
    gain = evaluate.deploy(dataset, config.analysis, "xgboost").features
    assert gain.method == "share of the total gain"
    assert gain.weights[0].column == "signal"
    assert sum(w.value for w in gain.weights) == pytest.approx(1.0)
    forest = evaluate.deploy(dataset, config.analysis, "isolation_forest").features
    assert forest.weights == () and "no per-feature weights" in forest.skipped


def test_smote_with_categories_names_its_inputs_through_every_encoding():
    config = make_config(target="label", n_jobs=1)
    dataset = build_dataset(review_frame(), config.analysis)
    found = evaluate.deploy(dataset, config.analysis, "smote").features
    assert found.skipped is None and found.weights[0].feature == "signal"
    assert any(w.feature == f"{HOSTILE_COLUMN} = green" for w in found.weights)


def test_permutation_importance_only_on_rows_the_fit_held_out(report, monkeypatch):
    assert report.verdict.features.permutation == ()
    assert "fitted on every row" in report.verdict.features.permutation_note
    # a "large" file: the fit on all rows holds a validation share out, and shuffles there
    monkeypatch.setattr(evaluate, "LARGE_TRAINING_PART", 100)
    config = make_config(target="label", n_jobs=1)
    dataset = build_dataset(review_frame(), config.analysis)
    found = evaluate.deploy(dataset, config.analysis, "logreg").features
    assert found.permutation and found.permutation[0].feature == "signal"
    assert found.permutation[0].value > 0 and "held out" in found.permutation_note


def test_hostile_feature_names_stay_escaped_in_the_html(report):
    html = render_html(report)
    section = html[html.index('<section id="features">') : html.index('<section id="resampling">')]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co = red" in section
    assert "<script>" not in html


# --- hints -------------------------------------------------------------------------------------


def test_the_hint_fires_for_a_four_valued_integer_column_only():
    rng = np.random.default_rng(1)
    n = 5000
    frame = pd.DataFrame(
        {
            "suit": rng.integers(1, 5, n).astype(float),
            "amount": rng.normal(100, 20, n),
            "flag": rng.integers(0, 2, n),
            "age": rng.integers(18, 90, n),
            "late_codes": np.r_[np.ones(1000), rng.integers(1, 40, n - 1000)],
        }
    )
    found = integer_codes(frame, list(frame.columns))
    assert found == {"suit": (1.0, 2.0, 3.0, 4.0)}
    assert 2 < len(found["suit"]) <= MAX_CODE_VALUES


def test_the_hint_is_in_the_dataset_section_json_and_markdown(report, as_json):
    hints = as_json["dataset"]["hints"]
    assert hints == [{"column": "suit", "distinct_values": 4, "option": "--categorical suit"}]
    html = render_html(report)
    dataset = html[html.index('<section id="dataset">') : html.index('<section id="protocol">')]
    assert "<code>--categorical suit</code>" in dataset
    assert 'Column "suit" holds only 4 whole numbers' in render_markdown(report)


def test_a_column_given_as_categorical_gets_no_hint():
    config = make_config(target="label", categorical=("suit",))
    assert build_dataset(review_frame(), config.analysis).integer_codes == {}


def test_a_hostile_column_name_in_a_hint_is_quoted_and_escaped():
    frame = review_frame().rename(columns={"suit": "$(rm -rf ~) <b>|"})
    config = make_config(target="label")
    dataset = build_dataset(frame, config.analysis)
    assert dataset.summary()["hints"][0]["option"] == "--categorical '$(rm -rf ~) <b>|'"
    base = make_report()
    results = dataclasses.replace(base.results, dataset=dataset)
    report = dataclasses.replace(base, results=results)
    assert "&lt;b&gt;" in render_html(report) and "<b>|" not in render_html(report)
    markdown = render_markdown(report)
    # a code span (issue #14 review): copied as typed, and GitHub renders nothing inside it
    span = "` --categorical '$(rm -rf ~) <b>|' `"
    assert span in markdown and "<b>" not in markdown.replace(span, "")


# --- the Markdown carries the warnings ---------------------------------------------------------


def test_the_markdown_carries_the_duplicates_small_data_and_skipped_warnings():
    rng = np.random.default_rng(2)
    n = 300
    y = np.zeros(n, int)
    y[:20] = 1
    frame = pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n), "label": y})
    frame = pd.concat([frame, frame.iloc[20:35]], ignore_index=True)  # copies of negatives
    small = analyze(frame, target="label", strategies=("logreg", "smote"), folds=3, **FAST)
    markdown = render_markdown(small)
    warnings = markdown[markdown.index("## Warnings") :]
    assert "repeat another row's features exactly" in warnings  # duplicates
    assert "20 evaluated positives (fewer than 30)" in warnings  # small data
    skipped = render_markdown(make_report())  # its Isolation Forest was skipped
    assert "Skipped: Isolation Forest (not enough negatives in one fold)" in skipped


def test_the_json_validates_against_the_schema(as_json):
    schema = json.loads((resources.files("imbreport") / "schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(as_json)
    recommended = as_json["recommended"]
    assert recommended["folds"] and recommended["workload"] and recommended["features"]
    assert recommended["features"]["top"][0]["feature"] == "signal"
