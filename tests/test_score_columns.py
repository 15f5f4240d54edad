"""Score columns (--score, --only-scores): an existing model's scores beside the strategies."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

from imbreport.api import analyze
from imbreport.cli import main
from imbreport.fitting import threshold_for_scores
from imbreport.render import render_html, render_markdown
from imbreport.splits import make_splits
from imbreport.thresholds import parse_objective

FAST = {"strategies": ("logreg",), "bootstrap": 200, "n_jobs": 1, "seed": 3}


def frame(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Two weak features, a near-perfect score (a noisy copy of the label), a useless score, and
    a score on a logit scale (not probabilities)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(int)
    strong = np.clip(0.55 * y + rng.normal(0.2, 0.12, n), 0, 1)
    return pd.DataFrame(
        {
            "a": rng.normal(0.4 * y, 1.0),
            "b": rng.normal(0.2 * y, 1.0),
            "strong": strong,
            "useless": rng.random(n),
            "logit": np.log(strong + 0.01) - np.log(1.01 - strong),
            "label": y,
        }
    )


@pytest.fixture(scope="module")
def report():
    return analyze(frame(), target="label", score=("strong", "useless", "logit"), **FAST)


def test_score_columns_are_rows_of_the_leaderboard_and_never_features(report):
    ds = report.results.dataset
    assert set(ds.numeric) == {"a", "b"}
    names = [s.name for s in report.results.strategies]
    assert names[-3:] == ["strong", "useless", "logit"]
    assert all(report.results.strategy(n).existing for n in ("strong", "useless", "logit"))
    assert not report.results.strategy("logreg").existing


def test_a_noisy_copy_of_the_label_ranks_first_and_noise_does_not_beat_chance(report):
    ranking = report.verdict.ranking
    assert ranking[0] in ("strong", "logit")  # the same ranking, on two scales
    assert ranking.index("useless") > ranking.index("logreg")
    assert report.verdict.chance["strong"].beats_chance
    assert not report.verdict.chance["useless"].beats_chance
    # the recommendation stays among the strategies (a model to take away)
    assert report.verdict.recommended.strategy in (None, "logreg")


def test_a_score_column_is_measured_on_the_same_rows_as_the_strategies(report):
    data = frame()
    strong = report.results.strategy("strong")
    # 5-fold CV evaluates every row once: PR-AUC is the average precision of the column itself
    expected = average_precision_score(data["label"], data["strong"])
    assert strong.metrics["pr_auc"].value == pytest.approx(expected, abs=1e-9)
    assert len(report.results.draws.pooled_scores["strong"]) == len(data)


def test_each_split_threshold_is_tuned_on_its_training_rows_only(report):
    data = frame()
    y = data["label"].to_numpy()
    options = report.config.analysis
    splits, _ = make_splits(y, options, report.results.dataset.group_ids)
    objective = parse_objective(options.threshold_objective, None, None)
    expected = [
        threshold_for_scores(data["strong"].to_numpy()[s.train], y[s.train], objective)
        for s in splits
    ]
    assert report.results.strategy("strong").fold_thresholds == pytest.approx(expected)


def test_non_probability_scores_skip_calibration_with_a_message(report):
    logit = report.results.strategy("logit")
    assert logit.score_kind == "score"
    assert "calibration" not in logit.curves
    assert logit.metrics["brier"].value is None
    assert any("not probabilities" in note for note in logit.notes)
    strong = report.results.strategy("strong")
    assert strong.score_kind == "probability" and "calibration" in strong.curves
    html = render_html(report)
    assert "read as ranking scores" in html


def test_score_columns_are_compared_with_the_recommendation_in_json_and_summary(report):
    out = report.to_dict()
    assert {c["second"] for c in out["score_columns"]} >= {"useless"}
    assert {s["name"]: s["column"] for s in out["strategies"]}["strong"] == "strong"
    assert {s["name"]: s["column"] for s in out["strategies"]}["logreg"] is None
    markdown = render_markdown(report)
    assert "Existing model 'useless'" in markdown


def test_scores_that_separate_the_labels_are_suspected_to_be_in_sample():
    data = frame()
    data["perfect"] = data["label"] * 0.5 + 0.25 + np.random.default_rng(1).random(len(data)) * 0.2
    report = analyze(
        data, target="label", score=("perfect",), only_scores=True, bootstrap=200, n_jobs=1
    )
    assert any("perfect" in w and "learned from these very rows" in w for w in report.warnings)


def test_only_scores_fits_nothing_and_says_so(tmp_path):
    path = tmp_path / "d.csv"
    frame().to_csv(path, index=False)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main,
        [
            "analyze", str(path), "--score", "strong", "--only-scores", "-o", str(out),
            "--fail-under", "recall=0.5", "--fail-under", "strong.pr_auc=0.9999",
            "--bootstrap", "200", "--no-timings",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the second gate fails
    report = json.loads(out.read_text())
    assert [s["name"] for s in report["strategies"]] == ["strong"]
    assert report["recommended"]["strategy"] is None
    assert "--only-scores" in report["recommended"]["reason"]
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["--fail-under recall=0.5"]["passed"]  # a bare gate reads the one score column
    assert gates["--fail-under recall=0.5"]["strategy"] == "strong"
    assert "the score column 'strong'" in gates["--fail-under recall=0.5"]["message"]
    assert "Existing model 'strong' beats chance" in result.output
    assert not gates["--fail-under strong.pr_auc=0.9999"]["passed"]
    assert "fold_thresholds" not in report  # nothing about fitted models
    assert report["dataset"]["features"] == {"numeric": [], "categorical": []}  # not read


@pytest.mark.parametrize(
    "args, message",
    [
        (["--score", "nope"], "Column 'nope' is not in the data"),
        (["--score", "word"], "not numbers"),
        (["--score", "gap"], "no score on 1 row"),
        (["--score", "label"], "is the target column"),
        (["--only-scores"], "--only-scores evaluates score columns"),
        (["--score", "strong", "--segment", "strong"], "one role"),
        (["--score", "flat"], "one value (0.3) on every row"),
        (["--score", "strong", "--only-scores", "--strategies", "logreg"], "nothing to choose"),
        (["--score", "strong", "--only-scores", "--save-model", "m.skops"], "no model to save"),
        (["--score", "strong", "--fail-under", "strnog.recall=0.5"], "Did you mean 'strong'"),
        (
            [
                "--score",
                "strong",
                "--score",
                "logit",
                "--only-scores",
                "--fail-under",
                "recall=0.5",
            ],
            "names no score column",
        ),
    ],
)
def test_bad_score_options_exit_2_with_one_clear_line(tmp_path, args, message):
    data = frame(300)
    data["word"] = ["x"] * len(data)
    data["gap"] = data["strong"]
    data["flat"] = 0.3
    data.loc[5, "gap"] = np.nan
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    result = CliRunner().invoke(
        main, ["analyze", str(path), "--target", "label", *args, "-o", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()


def test_a_score_column_named_like_a_strategy_is_refused():
    data = frame(300).rename(columns={"strong": "logreg"})
    with pytest.raises(Exception, match="strategy's name"):
        analyze(data, target="label", score=("logreg",), **FAST)


def test_a_score_column_is_not_widened_for_refitting_it_never_had(report):
    """PR-AUC of a score column: the bootstrap of the evaluated rows alone (nothing refitted)."""
    from imbreport.metrics import interval

    strong = report.results.strategy("strong")
    draws = report.results.draws.bootstrap["strong"]["pr_auc"]
    assert strong.metrics["pr_auc"].ci == pytest.approx(interval(draws))
    logreg = report.results.strategy("logreg")  # a strategy's is widened (never narrower)
    low, high = interval(report.results.draws.bootstrap["logreg"]["pr_auc"])
    assert logreg.metrics["pr_auc"].ci[0] <= low and logreg.metrics["pr_auc"].ci[1] >= high


def test_a_better_existing_model_is_kept_not_replaced():
    data = frame(1500, seed=4).drop(columns=["logit"])  # else a copy of it is a feature
    data["a"] += 1.2 * data["label"]  # logreg learns something, strong knows nearly all
    report = analyze(data, target="label", score=("strong",), **FAST)
    (versus,) = report.verdict.existing
    assert versus.distinguishable and versus.difference < 0  # logreg − strong
    assert "of the strategies fitted here" in report.verdict.recommended.reason
    assert report.advice[0].title == "Keep the existing model 'strong'"
    assert report.advice[1].title.startswith("Or use ")
    (sentence,) = __import__("imbreport.view", fromlist=["x"]).existing_sentences(
        report.results, report.verdict
    )
    assert "strong − logreg: +" in sentence  # the score column's side, not the strategy's


def test_scores_constant_in_a_training_part_fall_back_to_the_default_threshold():
    data = frame(1000, seed=2)
    data["early"] = np.r_[np.zeros(400), data["strong"].to_numpy()[400:]]
    data["t"] = np.arange(len(data))
    report = analyze(data, target="label", score=("early",), time="t", only_scores=True,
                     bootstrap=200, n_jobs=1)  # fmt: skip
    early = report.results.strategy("early")
    assert early.ok and any("Threshold tuning failed in 2 of 5 splits" in n for n in early.notes)


def test_only_scores_advice_is_about_the_audit_not_about_deploying(tmp_path):
    report = analyze(frame(), target="label", score=("strong",), only_scores=True,
                     bootstrap=200, n_jobs=1)  # fmt: skip
    titles = [a.title for a in report.advice]
    assert titles[0] == "'strong' still ranks the positives"
    assert not any("Do not deploy" in t for t in titles)
    assert "nothing was fitted" in render_markdown(report)
