"""The recommended model to take away (issue #15, its last part): ``Report.model`` predicts on a
new frame at the deployed threshold, and ``--save-model`` writes it with skops, reproducibly."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from imbreport.api import analyze
from imbreport.cli import main
from imbreport.takeaway import UnseenCategoryWarning, load

FAST = {"bootstrap": 100, "n_jobs": 1, "strategies": ("logreg", "balanced", "xgboost")}


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.12).astype(int)
    return pd.DataFrame(
        {
            "amount": rng.normal(size=n) + 2.0 * y,
            "noise": rng.normal(size=n),
            "channel": rng.choice(["web", "shop", "phone"], size=n),
            "label": y,
        }
    )


@pytest.fixture(scope="module")
def report():
    return analyze(frame(), target="label", **FAST)


def test_the_model_decides_at_the_deployed_threshold(report):
    model, data = report.model, frame(300, seed=1)
    assert report.verdict.recommended.strategy is not None
    assert model.threshold == pytest.approx(report.verdict.recommended.threshold)
    scores = model.predict_proba(data)[:, 1]
    assert np.array_equal(model.predict(data), (scores >= model.threshold).astype(int))
    assert 0 < model.predict(data).sum() < len(data)  # it flags some rows, not all


def test_the_model_takes_a_frame_by_column_names(report):
    data = frame(200, seed=2)
    shuffled = data[["channel", "label", "noise", "amount"]]  # other order, target still there
    assert np.array_equal(report.model.predict(data), report.model.predict(shuffled))


def test_a_missing_column_is_named_and_an_unseen_category_is_missing(report):
    data = frame(50, seed=3)
    with pytest.raises(ValueError, match="amount"):
        report.model.predict(data.drop(columns="amount"))
    unseen = data.assign(channel="carrier pigeon")
    missing = data.assign(channel=None)
    with pytest.warns(UnseenCategoryWarning, match="50 value"):
        from_unseen = report.model.predict_proba(unseen)
    assert np.allclose(from_unseen, report.model.predict_proba(missing))


def test_save_model_writes_a_reproducible_skops_file_the_json_names(tmp_path):
    data = tmp_path / "data.csv"
    frame().to_csv(data, index=False)
    digests = []
    for run in ("a", "b"):
        result = CliRunner().invoke(
            main,
            [
                "analyze",
                str(data),
                "-o",
                str(tmp_path / f"{run}.json"),
                "--no-timings",
                "--save-model",
                str(tmp_path / f"{run}.skops"),
                "--bootstrap",
                "100",
                "--n-jobs",
                "1",
                "--strategies",
                "logreg,balanced,xgboost",
            ],
        )
        assert result.exit_code == 0, result.output
        saved = json.loads((tmp_path / f"{run}.json").read_text())["saved_model"]
        blob = (tmp_path / f"{run}.skops").read_bytes()
        assert saved == {"file": f"{run}.skops", "sha256": hashlib.sha256(blob).hexdigest()}
        digests.append(saved["sha256"])
    assert digests[0] == digests[1]  # the same data and seed give the same bytes
    reloaded = load(str(tmp_path / "a.skops"))
    in_memory = analyze(frame(), target="label", **FAST).model
    new = frame(200, seed=4)
    assert np.array_equal(reloaded.predict(new), in_memory.predict(new))
    assert np.allclose(reloaded.predict_proba(new), in_memory.predict_proba(new))


def test_save_model_needs_a_skops_name_and_a_recommendation(tmp_path):
    data = tmp_path / "data.csv"
    frame().to_csv(data, index=False)
    result = CliRunner().invoke(main, ["analyze", str(data), "--save-model", "m.pkl"])
    assert result.exit_code == 2 and ".skops" in result.stderr
    rng = np.random.default_rng(5)
    noise = pd.DataFrame({"x": rng.normal(size=300), "label": (rng.random(300) < 0.1).astype(int)})
    noise.to_csv(data, index=False)
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(data),
            "-o",
            str(tmp_path / "n.json"),
            "--save-model",
            str(tmp_path / "n.skops"),
            "--bootstrap",
            "100",
            "--n-jobs",
            "1",
            "--strategies",
            "logreg,balanced",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no model was saved" in result.stderr and not (tmp_path / "n.skops").exists()
    assert json.loads((tmp_path / "n.json").read_text())["saved_model"] is None


def test_any_evaluated_strategy_on_request(report):
    name = "xgboost" if report.verdict.recommended.strategy != "xgboost" else "logreg"
    other = report.model_for(name)
    data = frame(100, seed=6)
    assert other is not None and other.threshold != pytest.approx(report.model.threshold)
    scores = other.predict_proba(data)[:, 1]
    assert np.array_equal(other.predict(data), (scores >= other.threshold).astype(int))
    from imbreport.errors import ConfigError

    with pytest.raises(ConfigError):
        report.model_for("random_forest")
