"""Deterministic generator of card-fraud-like CSVs for the benchmark suite.

The table imitates the public credit-card fraud data: a ``Time`` column (seconds over two days,
sorted), 28 PCA-like numeric columns ``V1``..``V28`` with decreasing variance, a right-skewed
``Amount``, one categorical column ``merchant_category`` (12 levels), a few missing values and a
``Class`` target with about 0.2 % positives. Positives are shifted on a handful of components and
categories, with per-row noise, so the signal is learnable but not clean (PR-AUC well below 1).

``--features N`` replaces the 28 ``V`` columns by N of them (wide-data benchmarks).

    python benchmarks/generate.py --rows 200000 --out benchmarks/out/fraud_200k.csv
    python benchmarks/generate.py --rows 5000 --features 1500 --out benchmarks/out/wide_1500.csv

Same arguments, same bytes: every random draw comes from one seeded ``numpy`` generator.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

SEED = 20240601
POSITIVE_RATE = 0.002
MISSING_RATE = 0.001
TWO_DAYS = 172_800
CATEGORIES = (
    "grocery",
    "fuel",
    "restaurant",
    "online_retail",
    "travel",
    "electronics",
    "pharmacy",
    "entertainment",
    "utilities",
    "clothing",
    "jewelry",
    "cash_advance",
)
#: Relative fraud propensity of each category (same order as ``CATEGORIES``).
CATEGORY_RISK = (0.6, 0.8, 0.7, 2.0, 1.5, 2.2, 0.5, 0.9, 0.3, 1.0, 3.0, 2.5)
#: Component index (0-based) → mean shift of positives, in units of that component's spread.
SIGNAL = {0: -1.2, 2: -1.6, 3: 1.4, 9: -1.8, 10: 1.3, 11: -2.0, 13: -2.3, 15: -1.2, 16: -1.9}


def component_scales(n_features: int) -> np.ndarray:
    """Spread of each PCA-like component: decreasing, like explained variance."""
    return 2.0 * np.exp(-np.arange(n_features) / max(n_features / 3.0, 1.0)) + 0.3


def make_labels(rng: np.random.Generator, rows: int, rate: float) -> np.ndarray:
    """Exactly ``round(rows * rate)`` positives (at least 2) at random rows."""
    positives = max(2, round(rows * rate))
    y = np.zeros(rows, dtype=np.int8)
    y[rng.choice(rows, positives, replace=False)] = 1
    return y


def make_components(rng: np.random.Generator, y: np.ndarray, n_features: int) -> np.ndarray:
    """Gaussian components; positives shifted by a per-row random strength (noisy signal)."""
    scales = component_scales(n_features).astype(np.float32)
    X = rng.standard_normal((len(y), n_features), dtype=np.float32) * scales
    pos = np.flatnonzero(y == 1)
    strength = rng.uniform(0.0, 1.6, size=len(pos)).astype(np.float32)  # some look normal
    for column, shift in SIGNAL.items():
        if column < n_features:
            X[pos, column] += shift * scales[column] * strength
    # heavier tails for the fraud rows on the leading component
    X[pos, 0] += rng.standard_t(3, size=len(pos)).astype(np.float32) * scales[0] * 0.5
    return X


def make_time(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Seconds since the first transaction, sorted, two daily peaks."""
    hours = np.concatenate([rng.normal(13, 4, rows // 2), rng.normal(37, 4, rows - rows // 2)])
    seconds = np.clip(hours * 3600, 0, TWO_DAYS - 1)
    return np.sort(np.floor(seconds))


def make_amount(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Right-skewed amounts (log-normal), fraud slightly more spread, two decimals."""
    sigma = np.where(y == 1, 1.6, 1.3)
    mu = np.where(y == 1, 3.2, 3.0)
    return np.round(np.exp(rng.normal(mu, sigma)), 2)


def make_category(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Category codes; positives drawn with risk-weighted probabilities."""
    base = np.full(len(CATEGORIES), 1.0 / len(CATEGORIES))
    risky = np.asarray(CATEGORY_RISK) * base
    codes = rng.choice(len(CATEGORIES), size=len(y), p=base)
    pos = np.flatnonzero(y == 1)
    codes[pos] = rng.choice(len(CATEGORIES), size=len(pos), p=risky / risky.sum())
    return codes


def punch_missing(rng: np.random.Generator, frame: pd.DataFrame, columns: list[str]) -> None:
    """Blank about ``MISSING_RATE`` of the cells of ``columns`` (in place)."""
    for name in columns:
        holes = rng.random(len(frame)) < MISSING_RATE
        frame.loc[holes, name] = None


def generate(
    rows: int, n_features: int = 28, seed: int = SEED, rate: float = POSITIVE_RATE
) -> pd.DataFrame:
    """The whole table, deterministic in (rows, n_features, seed, rate)."""
    rng = np.random.default_rng(seed)
    y = make_labels(rng, rows, rate)
    components = np.round(make_components(rng, y, n_features), 6)
    frame = pd.DataFrame(components, columns=[f"V{i + 1}" for i in range(n_features)])
    frame.insert(0, "Time", make_time(rng, rows))
    frame["Amount"] = make_amount(rng, y)
    categories = np.asarray(CATEGORIES, dtype=object)[make_category(rng, y)]
    frame["merchant_category"] = pd.Series(categories, dtype=object)
    punch_missing(rng, frame, ["V3", "Amount", "merchant_category"])
    frame["Class"] = y
    return frame


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Write with pyarrow's CSV writer (fast); missing cells are empty fields."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    options = pacsv.WriteOptions(include_header=True, quoting_style="none")
    temp = path + ".tmp"
    pacsv.write_csv(table, temp, write_options=options)
    os.replace(temp, path)


def parse_rows(text: str) -> int:
    """``10k`` → 10000, ``1m`` → 1000000, ``5000`` → 5000."""
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=parse_rows, required=True, help="e.g. 10000, 200k, 1m")
    parser.add_argument("--out", required=True, help="CSV path to write")
    parser.add_argument("--features", type=int, default=28, help="number of V columns")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--positive-rate", type=float, default=POSITIVE_RATE)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = generate(args.rows, args.features, args.seed, args.positive_rate)
    write_csv(frame, args.out)
    positives = int(frame["Class"].sum())
    print(
        f"wrote {args.out}: {len(frame):,} rows, {frame.shape[1] - 1} features, "
        f"{positives} positives, {os.path.getsize(args.out) / 1e6:.1f} MB "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
