"""The evaluation engine: strategies, the no-leakage protocol, threshold objectives, intervals,
the recommendation rule, and the article's printed figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imblearn import FunctionSampler
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from imbreport import fitting, splits
from imbreport import metrics as m
from imbreport.api import analyze
from imbreport.data import build_dataset
from imbreport.errors import ConfigError
from imbreport.evaluate import evaluate
from imbreport.fitting import FitPlan, Tuning, fit_one
from imbreport.model import Dataset, Draws, Metric, Protocol, Results, StrategyResult
from imbreport.options import AnalysisOptions
from imbreport.recommend import judge
from imbreport.registry import STRATEGIES, Role, StrategySpec, select_strategies
from imbreport.splits import Split, make_splits
from imbreport.strategies import FeatureLayout, build_pipeline
from imbreport.thresholds import parse_objective

TABLE = Path(__file__).resolve().parent / "data" / "article_table.json"
FAST = {"bootstrap": 200, "n_jobs": 1}


# --- strategies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_fits_and_scores_mixed_data(name, small_frame):
    X = small_frame.drop(columns="target")
    X["colour"] = X["colour"].astype(object)
    X.loc[::17, "a"] = np.nan  # missing values are imputed inside the pipeline
    y = small_frame["target"].to_numpy()
    spec = STRATEGIES[name]
    model = build_pipeline(spec, FeatureLayout(("a", "b"), ("colour",), seed=1)).fit(X, y)
    if spec.response_method == "decision_function":
        scores = model.decision_function(X)
    else:
        scores = model.predict_proba(X)[:, 1]
    assert scores.shape == (len(y),)
    assert np.isfinite(scores).all()
    if name not in ("majority",):
        assert roc_auc_score(y, scores) > 0.6


def test_smote_uses_smoten_for_all_categorical_data():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"c1": rng.choice(list("abc"), 200), "c2": rng.choice(list("xy"), 200)})
    y = ((X["c1"] == "a") & (X["c2"] == "x")).astype(int).to_numpy()
    model = build_pipeline(STRATEGIES["smote"], FeatureLayout((), ("c1", "c2"))).fit(X, y)
    assert model.predict_proba(X).shape == (200, 2)


def test_unknown_strategy_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown strategy name"):
        select_strategies(("smote", "nope"))


def test_xgboost_weight_comes_from_the_training_part(small_frame):
    X, y = small_frame.drop(columns="target"), small_frame["target"].to_numpy()
    model = build_pipeline(STRATEGIES["xgboost"], FeatureLayout(("a", "b"), ("colour",))).fit(X, y)
    assert model[-1].scale_pos_weight_ == pytest.approx((y == 0).sum() / (y == 1).sum())


# --- no leakage ---------------------------------------------------------------------------------


class _RecordRows(BaseEstimator, TransformerMixin):
    """A transformer that records the row ids (last column) it was fitted on."""

    fitted_on: list = []

    def fit(self, X, y=None):
        type(self).fitted_on.append(set(X[:, -1].astype(int)))
        return self

    def transform(self, X):
        return X[:, :-1]


_RESAMPLED_ON: list = []


def _record_resample(X, y):
    _RESAMPLED_ON.append(len(y))
    return X, y


def _recording_pipeline(layout):
    return Pipeline(
        [
            ("record", _RecordRows()),
            ("resample", FunctionSampler(func=_record_resample, validate=False)),
            ("model", LogisticRegression()),
        ]
    )


def _recording_builder_in_strategies(monkeypatch):
    """Make the recording pipeline reachable as a builder of ``imbreport.strategies``."""
    from imbreport import strategies

    monkeypatch.setattr(strategies, "build_recorder", _recording_pipeline, raising=False)


def _recorder() -> StrategySpec:
    return StrategySpec(
        "recorder", "Recorder", "", "probability", Role.SUPERVISED, "build_recorder", "#000"
    )


def _plan(layout: FeatureLayout, tuning: Tuning) -> FitPlan:
    return FitPlan(layout, parse_objective("f1"), tuning)


@pytest.fixture(autouse=True)
def recording_builder(monkeypatch):
    _recording_builder_in_strategies(monkeypatch)


def test_preprocessing_resampling_and_tuning_see_only_the_training_part(small_frame):
    y = small_frame["target"].to_numpy()
    X = np.column_stack([small_frame["a"], small_frame["b"], np.arange(len(y)) + 0.5])
    spec = _recorder()
    for split in make_splits(y, AnalysisOptions(seed=0))[0]:
        _RecordRows.fitted_on.clear()
        _RESAMPLED_ON.clear()
        outcome = fit_one(spec, _plan(FeatureLayout((0, 1), ()), Tuning(3)), X, y, split)
        assert outcome.error is None
        test_ids = set(X[split.test, -1].astype(int))
        train_ids = set(X[split.train, -1].astype(int))
        # three inner fits for threshold tuning, one refit on the whole training part
        assert len(_RecordRows.fitted_on) == 4
        for seen in _RecordRows.fitted_on:
            assert seen <= train_ids
            assert not seen & test_ids
        assert max(_RESAMPLED_ON) == len(split.train)
        assert len(outcome.scores) == len(split.test)


def test_cross_validation_scores_every_row_exactly_once(small_frame):
    y = small_frame["target"].to_numpy()
    splits, _ = make_splits(y, AnalysisOptions(folds=5, seed=3))
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested) == list(range(len(y)))
    for s in splits:
        assert not set(s.train) & set(s.test)


def test_folds_shrink_when_positives_are_fewer_than_folds():
    y = np.array([1, 1, 1] + [0] * 60)
    splits, notes = make_splits(y, AnalysisOptions(folds=5))
    assert len(splits) == 3
    assert "3 folds" in notes[0]


# --- threshold objectives -----------------------------------------------------------------------


def test_objectives_parse_and_score():
    y = np.array([1, 1, 0, 0, 0, 0])
    predicted = np.array([1, 0, 1, 0, 0, 0])
    assert parse_objective("f1").score(y, predicted) == pytest.approx(0.5)
    assert parse_objective("fbeta:2").score(y, predicted) == pytest.approx(0.5)
    # precision 0.5 < 0.9: infeasible, scored below any feasible threshold
    assert parse_objective("precision>=0.9").score(y, predicted) < 0
    assert parse_objective("recall>=0.5").score(y, predicted) == pytest.approx(0.5)
    cost = parse_objective("cost", cost_fp=1, cost_fn=10)
    assert cost.score(y, predicted) == pytest.approx(-(1 * 1 + 10 * 1) / 6)


@pytest.mark.parametrize("text", ["f2", "precision>=2", "cost", "fbeta:-1", ""])
def test_bad_objectives_are_config_errors(text):
    with pytest.raises(ConfigError):
        parse_objective(text)


def test_cost_objective_moves_the_threshold_towards_recall(small_frame):
    f1 = analyze(small_frame, strategies="logreg", **FAST)
    costly_misses = analyze(
        small_frame,
        strategies="logreg",
        threshold_objective="cost",
        cost_fp=1,
        cost_fn=50,
        **FAST,
    )
    f1_result = f1.results.strategy("logreg")
    cost_result = costly_misses.results.strategy("logreg")
    assert cost_result.threshold < f1_result.threshold
    assert cost_result.tuned_metrics["recall"].value >= f1_result.tuned_metrics["recall"].value


# --- intervals ----------------------------------------------------------------------------------


def test_exact_bootstrap_matches_sklearn_on_a_weighted_resample():
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.2
    scores = np.round(rng.random(200) + 0.4 * y, 2)  # rounded: ties included
    weights = rng.integers(0, 3, size=(1, 200)).astype(float)
    inp = m.BootstrapInput(scores[None, :], (scores > 0.7)[None, :], (scores > 0.5)[None, :], True)
    table = {"default": {}, "tuned": {}}
    m._accumulate(table, weights, y, inp, m._ranking(inp.scores, y))
    repeated = np.repeat(np.arange(200), weights[0].astype(int))
    expected_ap = average_precision_score(y[repeated], scores[repeated])
    expected_auc = roc_auc_score(y[repeated], scores[repeated])
    assert table["default"]["pr_auc"][0][0] == pytest.approx(expected_ap)
    assert table["default"]["roc_auc"][0][0] == pytest.approx(expected_auc)
    expected_recall = (scores[repeated] > 0.7)[y[repeated]].mean()
    assert table["default"]["recall"][0][0] == pytest.approx(expected_recall)


def test_interval_bootstrap_for_many_negatives_agrees_with_the_exact_one(monkeypatch):
    rng = np.random.default_rng(1)
    y = rng.random(30000) < 0.02
    scores = np.round(rng.random(30000) * 0.7 + 0.3 * y, 3)
    inputs = {
        "a": m.BootstrapInput(
            scores[None, :], (scores > 0.6)[None, :], (scores > 0.5)[None, :], True
        )
    }
    monkeypatch.setattr(m, "LARGE_NEGATIVES", 10**9)
    exact = m.bootstrap(y, inputs, 400, 0)["a"]["default"]
    monkeypatch.setattr(m, "LARGE_NEGATIVES", 10)
    fast = m.bootstrap(y, inputs, 400, 0)["a"]["default"]
    for key in ("pr_auc", "roc_auc", "recall", "precision", "brier"):
        low_e, high_e = m.interval(exact[key])
        low_f, high_f = m.interval(fast[key])
        width = high_e - low_e
        assert abs(low_e - low_f) < 0.25 * width + 1e-4, key
        assert abs(high_e - high_f) < 0.25 * width + 1e-4, key


def test_intervals_cover_the_estimate_and_shrink_with_more_positives():
    widths = []
    for n in (300, 3000):
        rng = np.random.default_rng(2)
        y = rng.random(n) < 0.1
        scores = rng.random(n) + 0.5 * y
        inp = {
            "a": m.BootstrapInput(
                scores[None, :], (scores > 0.8)[None, :], (scores > 0.8)[None, :], False
            )
        }
        dist = m.bootstrap(y, inp, 500, 0)["a"]["default"]["pr_auc"]
        low, high = m.interval(dist)
        assert low < average_precision_score(y, scores) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_paired_difference_of_a_strategy_with_itself_is_exactly_zero():
    rng = np.random.default_rng(4)
    y = rng.random(500) < 0.1
    scores = rng.random(500) + 0.3 * y
    same = m.BootstrapInput(
        scores[None, :], (scores > 0.8)[None, :], (scores > 0.8)[None, :], False
    )
    dist = m.bootstrap(y, {"a": same, "b": same}, 300, 0)
    diff = dist["a"]["default"]["pr_auc"] - dist["b"]["default"]["pr_auc"]
    assert np.all(diff == 0)


# --- recommendation -----------------------------------------------------------------------------


def _result(name, pr_auc, ci, threshold=0.5, roc=0.9):
    return StrategyResult(
        name=name,
        label=name,
        description="",
        status="ok",
        metrics={"pr_auc": Metric(pr_auc, ci), "roc_auc": Metric(roc, (roc - 0.05, roc + 0.05))},
        tuned_metrics={"f1": Metric(0.5, (0.4, 0.6))},
        threshold=threshold,
    )


def _results(strategies, spread: dict[str, float] | None = None, prevalence=0.05) -> Results:
    """Hand-made results with known draws: each strategy's bootstrap PR-AUC is its value plus
    independent noise of the given spread (0.01 by default), so paired differences have known
    intervals; its chance null is PR-AUC ≈ the prevalence (spread 0.01) under permutation."""
    rng = np.random.default_rng(0)
    spread = spread or {}

    def around(value, width):
        return value + rng.normal(0, width, 2000)

    bootstrap = {
        s.name: {
            "pr_auc": around(s.metrics["pr_auc"].value, spread.get(s.name, 0.01)),
            "roc_auc": around(0.9, 0.01),
            **{key: around(0.5, 0.01) for key in ("recall", "precision", "f1")},
        }
        for s in strategies
    }
    null = {
        s.name: {"pr_auc": around(prevalence, 0.01), "roc_auc": around(0.5, 0.02)}
        for s in strategies
    }
    y = np.r_[np.ones(50), np.zeros(950)]
    dataset = Dataset(
        X=None, y=y, source_name="t", target="y", target_chosen_by="", positive_label="1",
        negative_label="0", class_counts={}, rows_read=1000, rows_dropped={}, numeric=(),
        categorical=(), dropped_columns={}, missing={}, sha256="",
    )  # fmt: skip
    protocol = Protocol(
        "cv", 5, 1, None, 0, "maximise F1", 3, "bootstrap", 500, 1000, tuned_metric="f1"
    )
    return Results(
        dataset, protocol, tuple(strategies), (), {}, {}, evaluated_prevalence=prevalence,
        draws=Draws(bootstrap=bootstrap, chance_null=null),
    )  # fmt: skip


def test_a_simpler_strategy_shown_equivalent_is_recommended():
    results = [_result("xgboost", 0.80, (0.7, 0.9)), _result("balanced", 0.795, (0.7, 0.9))]
    verdict = judge(_results(results, {"xgboost": 0.004, "balanced": 0.004}))
    (comparison,) = verdict.comparisons
    assert comparison.equivalent and not comparison.distinguishable
    assert verdict.recommended.strategy == "balanced"
    assert "practically equivalent" in verdict.recommended.reason
    assert verdict.undecided == ()


def test_a_simpler_strategy_not_shown_equivalent_is_named_undecided_not_crowned():
    # the interval of the difference covers zero, but is far wider than the margin
    results = [_result("xgboost", 0.8, (0.7, 0.9)), _result("balanced", 0.75, (0.65, 0.85))]
    verdict = judge(_results(results, {"xgboost": 0.05, "balanced": 0.05}))
    (comparison,) = verdict.comparisons
    assert not comparison.distinguishable and not comparison.equivalent
    assert verdict.recommended.strategy == "xgboost"
    assert verdict.undecided == ("balanced",)
    assert "cannot tell it apart from balanced" in verdict.recommended.reason
    assert verdict.positives_to_settle > 50  # more positives than there are


def test_leader_is_recommended_when_clearly_better():
    results = [_result("xgboost", 0.8, (0.7, 0.9)), _result("logreg", 0.5, (0.4, 0.6))]
    verdict = judge(_results(results))
    assert verdict.comparisons[0].distinguishable
    assert verdict.recommended.strategy == "xgboost" and verdict.focus == "xgboost"
    assert "distinguishably better" in verdict.recommended.reason


def test_nothing_is_crowned_when_nothing_beats_chance():
    results = [
        _result("logreg", 0.06, (0.03, 0.09), roc=0.51),
        _result("isolation_forest", 0.05, (0.03, 0.08), roc=0.5),
    ]
    verdict = judge(_results(results))
    assert verdict.recommended.strategy is None and not verdict.beats_chance
    assert not any(test.beats_chance for test in verdict.chance.values())
    assert "better than chance" in verdict.recommended.reason
    assert verdict.focus == verdict.top == "logreg"  # the sections still show the best learner


def test_isolation_forest_only_when_it_alone_beats_chance():
    results = [
        _result("logreg", 0.06, (0.03, 0.09), roc=0.51),
        _result("isolation_forest", 0.3, (0.2, 0.4)),
    ]
    verdict = judge(_results(results))
    assert verdict.recommended.strategy == "isolation_forest" and verdict.beats_chance
    assert verdict.chance["isolation_forest"].beats_chance
    assert not verdict.chance["logreg"].beats_chance
    assert verdict.top == "isolation_forest" and verdict.leader == "logreg"


def test_a_runner_up_that_beats_chance_is_not_hidden_by_a_noisy_leader():
    # the supervised leader fails the chance test; the runner-up passes and is recommended
    leader = _result("xgboost", 0.30, (0.01, 0.6), roc=0.52)
    runner_up = _result("logreg", 0.25, (0.15, 0.35))
    results = _results([leader, runner_up])
    results.draws.chance_null["xgboost"]["pr_auc"] = np.random.default_rng(1).normal(0.2, 0.1, 2000)
    verdict = judge(results)
    assert not verdict.chance["xgboost"].beats_chance and verdict.chance["logreg"].beats_chance
    assert verdict.recommended.strategy == "logreg" and verdict.leader == "logreg"


def test_an_anomaly_detector_worse_than_random_is_flagged():
    forest = _result("isolation_forest", 0.03, (0.02, 0.05))
    forest.metrics["roc_auc"] = Metric(0.31, (0.19, 0.44))
    verdict = judge(_results([_result("logreg", 0.5, (0.4, 0.6)), forest]))
    assert verdict.chance["isolation_forest"].worse_than_random
    assert not verdict.chance["logreg"].worse_than_random


def test_tie_rule_holds_when_the_isolation_forest_leads():
    results = [
        _result("xgboost", 0.8, (0.7, 0.9)),
        _result("logreg", 0.79, (0.69, 0.89)),
        _result("isolation_forest", 0.9, (0.85, 0.95)),
    ]
    verdict = judge(_results(results, {"logreg": 0.05}))
    assert {c.first for c in verdict.comparisons} == {"xgboost"}  # the supervised leader
    assert verdict.top == "isolation_forest" and verdict.leader == "xgboost"
    against_logreg = next(c for c in verdict.comparisons if c.second == "logreg")
    assert not against_logreg.distinguishable


def test_random_labels_do_not_produce_a_winner():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    frame["target"] = (rng.random(600) < 0.1).astype(int)
    report = analyze(frame, strategies="logreg,balanced", **FAST)
    assert report.verdict.recommended.strategy is None
    assert report.to_dict()["recommended"]["strategy"] is None


# --- the article and the real datasets ----------------------------------------------------------


def test_holdout_reproduces_the_article_table(article_csv):
    table = json.loads(TABLE.read_text())["holdout_metrics"]
    report = analyze(article_csv, target="label", holdout=0.3, seed=42, **FAST)
    data = report.to_dict()
    assert data["protocol"]["kind"] == "holdout"
    assert data["protocol"]["evaluated_rows"] == 300
    by_name = {s["name"]: s for s in data["strategies"]}
    for name, expected in table.items():
        for metric, value in expected.items():
            if name == "logreg" and metric not in ("roc_auc", "pr_auc"):
                continue  # standardized features change logreg's thresholded figures only
            got = by_name[name]["metrics"][metric]["value"]
            assert got == pytest.approx(value, abs=0.005), (name, metric)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["page_blocks0", "abalone19", "car_vgood"])
def test_real_datasets_run_every_strategy(name, shared_datasets):
    report = analyze(shared_datasets / f"{name}.csv", bootstrap=200)
    data = report.to_dict()
    rows = data["dataset"]["rows_used"]
    assert data["dataset"]["rows_read"] == rows + sum(data["dataset"]["rows_dropped"].values())
    for strategy in data["strategies"]:
        assert strategy["status"] == "ok", (strategy["name"], strategy["reason"])
        assert sum(strategy["confusion_matrix"].values()) == rows
        assert sum(strategy["tuned_confusion_matrix"].values()) == rows
        for key in ("pr_auc", "roc_auc", "recall", "precision", "f1"):
            metric = strategy["metrics"][key]
            low, high = metric["ci"]
            assert low - 1e-9 <= metric["value"] <= high + 1e-9, (strategy["name"], key)


def test_few_positives_adapt_folds_and_warn():
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    frame["target"] = 0
    frame.loc[:3, "target"] = 1
    frame.loc[:3, "a"] += 4
    dataset = build_dataset(frame, AnalysisOptions())
    results = evaluate(dataset, AnalysisOptions(strategies=("logreg", "smote"), **FAST))
    assert results.protocol.folds == 4
    assert any("few" in w.lower() or "fewer than 30" in w for w in results.warnings)
    smote = results.strategy("smote")
    assert smote.ok and any("k_neighbors" in note for note in smote.notes)


def test_split_dataclass_is_plain():
    split = Split(0, 1, np.array([0, 1]), np.array([2]))
    assert split.fold == 1 and list(split.test) == [2]


def test_reweighted_negatives_recover_full_data_metrics():
    rng = np.random.default_rng(7)
    y = rng.random(200_000) < 0.01
    scores = rng.random(200_000) + 0.6 * y
    keep = y | (rng.random(200_000) < 0.1)  # every positive, 10% of negatives
    full = m.point_metrics(y, scores, scores > 0.9, probabilistic=False)
    naive = m.point_metrics(y[keep], scores[keep], scores[keep] > 0.9, probabilistic=False)
    weighted = m.point_metrics(
        y[keep], scores[keep], scores[keep] > 0.9, probabilistic=False, negative_weight=10.0
    )
    for key in ("pr_auc", "precision", "accuracy"):
        assert abs(weighted[key] - full[key]) < abs(naive[key] - full[key]) / 3, key
    assert weighted["recall"] == naive["recall"]


def test_sample_option_reports_the_reweighting():
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    frame["target"] = (rng.random(3000) < 0.03).astype(int)
    frame.loc[frame["target"] == 1, "a"] += 2
    results = analyze(frame, sample=600, strategies="logreg", bootstrap=200, n_jobs=1).results
    assert results.dataset.rows_used == 600
    assert results.dataset.rows_read == 3000
    assert any("--sample" in note for note in results.protocol.notes)
    # prevalence, imbalance ratio and the chance level describe the whole file, like the metrics
    full = frame["target"].mean()
    assert results.dataset.prevalence == pytest.approx(full, rel=0.02)
    assert results.dataset.positives / 600 > 3 * full  # the sample itself is much richer
    summary = results.dataset.summary()
    assert summary["imbalance_ratio"] == pytest.approx((1 - full) / full, rel=0.02)
    assert "of the whole file" in results.dataset.describe_positives()


def test_median_imputer_fills_with_training_medians():
    from imbreport.strategies import MedianImputer

    train = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan], [5.0, np.nan]])
    imputer = MedianImputer().fit(train)
    out = imputer.transform(np.array([[np.nan, np.nan], [2.0, 7.0]]))
    assert out.tolist() == [[3.0, 0.0], [2.0, 7.0]]


def test_negative_sampling_keeps_ranking_and_corrects_probabilities():
    from imbreport.strategies import NegativeSampleClassifier

    rng = np.random.default_rng(9)
    X = rng.normal(size=(60_000, 3))
    y = (rng.random(60_000) < 1 / (1 + np.exp(-(X[:, 0] * 2 - 5)))).astype(int)
    full = LogisticRegression().fit(X, y)
    sampled = NegativeSampleClassifier(
        LogisticRegression(), max_negatives=5_000, correct_probabilities=True
    ).fit(X, y)
    assert sampled.rate_ < 0.1
    p_full = full.predict_proba(X)[:, 1]
    p_sampled = sampled.predict_proba(X)[:, 1]
    assert roc_auc_score(y, p_sampled) == pytest.approx(roc_auc_score(y, p_full), abs=0.005)
    # corrected probabilities keep the full data's prevalence (uncorrected ones would not)
    assert p_sampled.mean() == pytest.approx(y.mean(), rel=0.15)
    raw = sampled.estimator_.predict_proba(X)[:, 1]
    assert raw.mean() > 3 * y.mean()


def test_validation_split_tuning_fits_each_model_once(small_frame):
    y = small_frame["target"].to_numpy()
    X = np.column_stack([small_frame["a"], small_frame["b"], np.arange(len(y)) + 0.5])
    split = make_splits(y, AnalysisOptions(seed=0))[0][0]
    _RecordRows.fitted_on.clear()
    outcome = fit_one(_recorder(), _plan(FeatureLayout((0, 1), ()), Tuning(3, 0.2)), X, y, split)
    assert outcome.error is None and outcome.threshold is not None
    (seen,) = _RecordRows.fitted_on  # one fit, on 80% of the training part
    assert len(seen) == round(0.8 * len(split.train))
    assert seen <= set(X[split.train, -1].astype(int))


def test_interval_bootstrap_with_identical_repeats_matches_one_repeat(monkeypatch):
    monkeypatch.setattr(m, "LARGE_NEGATIVES", 10)
    rng = np.random.default_rng(3)
    y = rng.random(3000) < 0.2
    scores = rng.random(3000) + 0.3 * y
    one = m.BootstrapInput(scores[None, :], (scores > 0.8)[None, :], (scores > 0.9)[None, :], True)
    five = m.BootstrapInput(
        np.repeat(scores[None, :], 5, 0),
        np.repeat((scores > 0.8)[None, :], 5, 0),
        np.repeat((scores > 0.9)[None, :], 5, 0),
        True,
    )
    a = m.bootstrap(y, {"a": one}, 300, 0)["a"]["default"]
    b = m.bootstrap(y, {"a": five}, 300, 0)["a"]["default"]
    for key in ("pr_auc", "roc_auc", "precision", "brier"):
        assert np.allclose(a[key], b[key]), key


def test_curves_reweight_sampled_negatives():
    rng = np.random.default_rng(7)
    y = rng.random(200_000) < 0.01
    scores = rng.random(200_000) + 0.6 * y
    keep = y | (rng.random(200_000) < 0.1)
    full = m.threshold_sweep(y, scores)
    weighted = m.threshold_sweep(y[keep], scores[keep], negative_weight=10.0)
    naive = m.threshold_sweep(y[keep], scores[keep])
    at = len(full["precision"]) // 2
    target = np.interp(weighted["threshold"][at], full["threshold"], full["precision"])
    assert abs(weighted["precision"][at] - target) < abs(naive["precision"][at] - target) / 3
    # at full recall, precision is the prevalence: the full data's (≈0.01), not the sample's (≈0.09)
    assert m.pr_points(y[keep], scores[keep], 10.0)["precision"][-1] < 0.02


def test_out_of_bag_scores_follow_the_forests_own_formula():
    from imbreport.strategies import MajorityIsolationForest, _path_lengths

    rng = np.random.default_rng(3)
    X = rng.normal(size=(900, 4))
    y = (rng.random(900) < 0.05).astype(int)
    model = MajorityIsolationForest(random_state=0).fit(X, y)
    forest = model.forest_
    # every tree, the same formula: exactly the forest's own anomaly score
    mean_length = np.mean([_path_lengths(t, X.astype(np.float32)) for t in forest.estimators_], 0)
    everything = 2.0 ** (-mean_length / _average_c(forest.max_samples_))
    np.testing.assert_allclose(everything, model.decision_function(X), rtol=1e-12)
    # out of bag: positives (never drawn) keep every tree; a drawn negative gets a different score
    oob = model.out_of_bag_scores(X, y)
    np.testing.assert_allclose(oob[y == 1], model.decision_function(X)[y == 1], rtol=1e-12)
    assert not np.allclose(oob[y == 0], model.decision_function(X)[y == 0])
    # in-sample scores of the drawn negatives look less anomalous than out-of-bag ones
    assert oob[y == 0].mean() > model.decision_function(X)[y == 0].mean()
    # the default cut flags the training prevalence of the out-of-bag scores
    np.testing.assert_array_equal(model.oob_scores_, oob)
    assert model.cut_ == pytest.approx(np.quantile(oob, 1 - y.mean()))


def _average_c(n: int) -> float:
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n


def test_small_majority_has_no_out_of_bag_scores_and_falls_back_to_inner_cv(small_frame):
    from imbreport.strategies import MajorityIsolationForest

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(200, 3)), np.r_[np.ones(20, int), np.zeros(180, int)]
    assert MajorityIsolationForest(random_state=0).fit(X, y).out_of_bag_scores(X, y) is None
    report = analyze(small_frame, target="target", strategies=["isolation_forest"], n_jobs=1)
    forest = report.results.strategy("isolation_forest")
    assert forest.ok and len(forest.fold_thresholds) == 5  # tuned by the inner CV instead
    assert not any("out-of-bag" in note for note in report.results.protocol.notes)


def test_isolation_forest_threshold_is_tuned_out_of_bag_and_said_so(article_csv):
    report = analyze(article_csv, target="label", strategies=["isolation_forest"], n_jobs=1)
    forest = report.results.strategy("isolation_forest")
    assert forest.ok and len(forest.fold_thresholds) == 5
    assert any("out-of-bag" in note for note in report.results.protocol.notes)


def test_large_training_parts_tune_the_forest_out_of_bag_on_a_stratified_sample(monkeypatch):
    y = np.r_[np.ones(50, int), np.zeros(950, int)]
    rows = np.arange(1000)
    sample = splits.stratified_sample(rows, y, 400, seed=1)
    assert len(sample) == len(np.unique(sample)) == 400
    assert y[sample].sum() == 20  # the prevalence of the rows it was drawn from

    monkeypatch.setattr(fitting, "FOREST_FIT_ROWS", 1500)
    rng = np.random.default_rng(5)
    frame_y = (rng.random(3000) < 0.05).astype(int)
    X = rng.normal(size=(3000, 2)) + frame_y[:, None]
    split = make_splits(frame_y, AnalysisOptions(seed=0))[0][0]
    plan = _plan(FeatureLayout((0, 1), ()), Tuning(3, 0.2))
    outcome = fit_one(STRATEGIES["isolation_forest"], plan, X, frame_y, split)
    assert outcome.error is None and outcome.out_of_bag and outcome.threshold is not None


def test_case_control_note_counts_the_rows_models_are_fitted_on():
    from imbreport.evaluate import _case_control_note

    y = np.r_[np.ones(100, int), np.zeros(24_000, int)]
    whole = Split(0, 0, np.arange(len(y)), np.array([], dtype=int))
    # the training part alone would be sampled (24,000 > 20,000 negatives) ...
    assert _case_control_note(y, [whole])
    # ... but models learn from its 80 % fitting share (19,200 negatives): nothing is sampled
    shared = splits.with_validation(whole, y, 0.2, seed=0)
    assert (y[shared.fit] == 0).sum() < fitting.MIN_FIT_NEGATIVES
    assert _case_control_note(y, [shared]) == []
    y_big = np.r_[np.ones(1_000, int), np.zeros(60_000, int)]
    big = splits.with_validation(
        Split(0, 0, np.arange(len(y_big)), np.array([], int)), y_big, 0.2, 0
    )
    (note,) = _case_control_note(y_big, [big])
    assert "up to 20,000 of 48,000" in note  # 25 × 800 positives, of the fitting share's negatives


@pytest.mark.parametrize("case_control", [False, True])
def test_strategies_sharing_their_preprocessing_get_the_same_results_as_alone(
    case_control, monkeypatch
):
    if case_control:  # models fitted on every positive and a sample of negatives
        monkeypatch.setattr(fitting, "MIN_FIT_NEGATIVES", 500)
        monkeypatch.setattr(fitting, "NEGATIVES_PER_POSITIVE", 5)

    rng = np.random.default_rng(6)
    n = 4000
    y = (rng.random(n) < 0.03).astype(int)
    X = np.column_stack(
        [rng.normal(size=n) + y, rng.normal(size=n), rng.integers(0, 4, n).astype(float)]
    )
    X[rng.random(X.shape) < 0.01] = np.nan
    plan = _plan(FeatureLayout((0, 1), (2,), seed=3), Tuning(3, 0.2))
    split = splits.with_validation(make_splits(y, AnalysisOptions(seed=0))[0][0], y, 0.2, 3)
    specs = select_strategies(("logreg", "undersample", "oversample", "balanced", "smote"))
    groups = fitting.groups_sharing_rows(specs, plan)
    assert ("logreg", "undersample", "oversample", "balanced") in [
        tuple(s.name for s in g) for g in groups
    ]
    together = fitting.fit_group(specs, plan, X, y, split)
    for spec, shared in zip(specs, together, strict=True):
        alone = fit_one(spec, plan, X, y, split)
        assert shared.error is None and alone.error is None
        np.testing.assert_array_equal(shared.scores, alone.scores)
        assert shared.threshold == alone.threshold


# --- dependent rows -----------------------------------------------------------------------------


def _noise_frame(seed: int, rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["target"] = (rng.random(rows) < 0.08).astype(int)
    return frame


def test_copies_of_a_row_stay_in_one_fold_and_are_reported():
    frame = _noise_frame(1)
    tripled = pd.concat([frame] * 3, ignore_index=True)
    tripled.loc[0, "target"] = 1 - tripled.loc[0, "target"]  # one copy with the other label
    dataset = build_dataset(tripled, AnalysisOptions())
    assert dataset.duplicate_rows == 600 and dataset.conflicting_copies == 1
    assert any("repeat another row's features exactly" in w for w in dataset.warnings)
    assert any("carry both labels" in w for w in dataset.warnings)
    splits, _ = make_splits(dataset.y, AnalysisOptions(), dataset.group_ids)
    for split in splits:
        learned = set(dataset.group_ids[split.train])
        assert not learned & set(dataset.group_ids[split.test])


def test_a_groups_column_is_not_a_feature_and_no_group_is_on_both_sides():
    frame = _noise_frame(2)
    frame["customer"] = np.arange(len(frame)) // 4
    dataset = build_dataset(frame, AnalysisOptions(groups="customer"))
    assert "customer" not in dataset.numeric and dataset.group_column == "customer"
    for split in make_splits(dataset.y, AnalysisOptions(repeats=2), dataset.group_ids)[0]:
        assert not set(frame["customer"][split.train]) & set(frame["customer"][split.test])
    with pytest.raises(Exception, match="--groups column 'nope' is not in the data"):
        build_dataset(frame, AnalysisOptions(groups="nope"))


def test_tripled_noise_is_evaluated_by_group_and_warned_about():
    tripled = pd.concat([_noise_frame(3)] * 3, ignore_index=True)
    report = analyze(tripled, strategies="logreg,xgboost", **FAST)
    data = report.to_dict()
    assert data["protocol"]["grouped_by"] == "identical feature rows (exact copies)"
    assert data["dataset"]["duplicate_rows"] == 600
    xgboost = next(s for s in data["strategies"] if s["name"] == "xgboost")
    assert xgboost["metrics"]["pr_auc"]["value"] < 0.5  # copies cannot be recalled
