"""Shared pytest fixtures: paths to the bundled and shared datasets, small in-memory data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "imbreport" / "datasets"
SHARED = Path(os.environ.get("IMBREPORT_SHARED", ROOT.parent / "shared")) / "datasets"


@pytest.fixture
def article_csv() -> Path:
    return BUNDLED / "article_dataset.csv"


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED.exists():
        pytest.skip(f"shared datasets not found at {SHARED}")
    return SHARED


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """300 rows, 2 numeric + 1 categorical feature, 30 positives, learnable signal."""
    rng = np.random.default_rng(0)
    n, positives = 300, 30
    y = np.zeros(n, dtype=int)
    y[:positives] = 1
    rng.shuffle(y)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n) + 2.0 * y,
            "b": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "target": y,
        }
    )
