"""The peer: the reference article's notebook, run by hand on a card-fraud-like CSV.

This is what a data scientist would write without imbreport, and what the benchmark compares
against. It is deliberately plain: ``pandas.read_csv`` with its default engine, median imputation
and ``pandas.get_dummies`` for the categorical column, one stratified 70/30 split
(``random_state=42``), ``StandardScaler``, library defaults everywhere (``n_jobs`` included), and
the article's figures saved as PNG files:

- logistic regression (default), SMOTE + logistic regression, balanced logistic regression,
  XGBoost with ``scale_pos_weight``, Isolation Forest;
- a threshold sweep on the test set;
- figures: class counts, metrics comparison, ROC and PR curves, confusion matrices, sweep.

    python benchmarks/peer.py benchmarks/out/fraud_200k.csv --out-dir benchmarks/out/peer_200k
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from imblearn.over_sampling import SMOTE  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from xgboost import XGBClassifier  # noqa: E402

TARGET = "Class"
CATEGORICAL = "merchant_category"


def load(path: str) -> tuple[pd.DataFrame, pd.Series]:
    """Read the CSV, fill missing values, one-hot the categorical column."""
    df = pd.read_csv(path)
    y = df[TARGET]
    X = df.drop(columns=[TARGET])
    X[CATEGORICAL] = X[CATEGORICAL].fillna("missing")
    X = pd.get_dummies(X, columns=[CATEGORICAL], dtype=float)
    X = X.fillna(X.median())
    return X, y


def split_and_scale(X: pd.DataFrame, y: pd.Series):
    """One stratified 70/30 split and a scaler fitted on the training part."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=42
    )
    scaler = StandardScaler()
    X_train_s = scaler.fit_transform(X_train)
    X_test_s = scaler.transform(X_test)
    return X_train_s, X_test_s, y_train.to_numpy(), y_test.to_numpy()


def fit_models(X_train, y_train) -> dict:
    """The article's four probabilistic models."""
    models = {}
    models["Logistic regression"] = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    X_sm, y_sm = SMOTE(random_state=42).fit_resample(X_train, y_train)
    models["SMOTE + LR"] = LogisticRegression(max_iter=1000).fit(X_sm, y_sm)
    models["Balanced LR"] = LogisticRegression(max_iter=1000, class_weight="balanced").fit(
        X_train, y_train
    )
    ratio = (y_train == 0).sum() / (y_train == 1).sum()
    models["XGBoost"] = XGBClassifier(scale_pos_weight=ratio, eval_metric="logloss").fit(
        X_train, y_train
    )
    return models


def isolation_forest(X_train, y_train, X_test):
    """Isolation Forest on the training rows; anomaly score and labels on the test rows."""
    forest = IsolationForest(contamination=float(y_train.mean()), random_state=42)
    forest.fit(X_train)
    scores = -forest.score_samples(X_test)
    predicted = (forest.predict(X_test) == -1).astype(int)
    return scores, predicted


def scores_table(y_test, scores: dict, predictions: dict) -> pd.DataFrame:
    """Accuracy, precision, recall, F1, ROC-AUC, PR-AUC per model."""
    rows = {}
    for name, score in scores.items():
        pred = predictions[name]
        rows[name] = {
            "accuracy": accuracy_score(y_test, pred),
            "precision": precision_score(y_test, pred, zero_division=0),
            "recall": recall_score(y_test, pred),
            "f1": f1_score(y_test, pred),
            "roc_auc": roc_auc_score(y_test, score),
            "pr_auc": average_precision_score(y_test, score),
        }
    return pd.DataFrame(rows).T


def threshold_sweep(y_test, score) -> pd.DataFrame:
    """Precision, recall and F1 at thresholds 0.05, 0.10, …, 0.95 (on the test set)."""
    rows = []
    for t in np.arange(0.05, 1.0, 0.05):
        pred = (score >= t).astype(int)
        rows.append(
            {
                "threshold": t,
                "precision": precision_score(y_test, pred, zero_division=0),
                "recall": recall_score(y_test, pred),
                "f1": f1_score(y_test, pred),
            }
        )
    return pd.DataFrame(rows)


def plot_class_counts(y: pd.Series, out: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 4))
    y.value_counts().sort_index().plot.bar(ax=ax)
    ax.set_title("Class counts")
    fig.savefig(os.path.join(out, "class_counts.png"), dpi=100)
    plt.close(fig)


def plot_metrics(table: pd.DataFrame, out: str) -> None:
    fig, ax = plt.subplots(figsize=(10, 5))
    table[["precision", "recall", "f1", "pr_auc"]].plot.bar(ax=ax)
    ax.set_title("Metrics by model")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "metrics.png"), dpi=100)
    plt.close(fig)


def plot_curves(y_test, scores: dict, out: str) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y_test, score)
        left.plot(fpr, tpr, label=name)
        precision, recall, _ = precision_recall_curve(y_test, score)
        right.plot(recall, precision, label=name)
    left.set(title="ROC", xlabel="False positive rate", ylabel="True positive rate")
    right.set(title="Precision-recall", xlabel="Recall", ylabel="Precision")
    left.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=100)
    plt.close(fig)


def plot_confusions(y_test, predictions: dict, out: str) -> None:
    fig, axes = plt.subplots(1, len(predictions), figsize=(4 * len(predictions), 4))
    for ax, (name, pred) in zip(axes, predictions.items(), strict=True):
        ConfusionMatrixDisplay.from_predictions(y_test, pred, ax=ax, colorbar=False)
        ax.set_title(name)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "confusion.png"), dpi=100)
    plt.close(fig)


def plot_sweep(sweep: pd.DataFrame, out: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 5))
    sweep.plot(x="threshold", y=["precision", "recall", "f1"], ax=ax)
    ax.set_title("Threshold sweep (XGBoost)")
    fig.savefig(os.path.join(out, "threshold_sweep.png"), dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The article's notebook as a plain script.")
    parser.add_argument("csv")
    parser.add_argument("--out-dir", default="peer_out")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    timings = {}
    started = time.perf_counter()

    X, y = load(args.csv)
    timings["load"] = time.perf_counter() - started
    X_train, X_test, y_train, y_test = split_and_scale(X, y)
    mark = time.perf_counter()
    models = fit_models(X_train, y_train)
    scores = {name: model.predict_proba(X_test)[:, 1] for name, model in models.items()}
    predictions = {name: model.predict(X_test) for name, model in models.items()}
    timings["fit"] = time.perf_counter() - mark
    mark = time.perf_counter()
    scores["Isolation Forest"], predictions["Isolation Forest"] = isolation_forest(
        X_train, y_train, X_test
    )
    timings["isolation_forest"] = time.perf_counter() - mark
    table = scores_table(y_test, scores, predictions)
    sweep = threshold_sweep(y_test, scores["XGBoost"])
    print(table.round(3).to_string())
    best = sweep.loc[sweep["f1"].idxmax()]
    print(f"best threshold for XGBoost on the test set: {best['threshold']:.2f}")
    mark = time.perf_counter()
    plot_class_counts(y, args.out_dir)
    plot_metrics(table, args.out_dir)
    plot_curves(y_test, scores, args.out_dir)
    plot_confusions(y_test, predictions, args.out_dir)
    plot_sweep(sweep, args.out_dir)
    timings["plots"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    with open(os.path.join(args.out_dir, "peer.json"), "w") as stream:
        json.dump({"metrics": table.to_dict(orient="index"), "timings": timings}, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
